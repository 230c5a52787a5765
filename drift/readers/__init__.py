"""Readers turn log files into curves; they know formats, nothing about thresholds."""
