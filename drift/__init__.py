"""training-drift: gate machine-learning training runs on their loss curves."""

__version__ = "0.1.0"
