"""A fuzz suite for training-drift: every log reader, the config loader, the workflow-command and
output writers, and the whole action end to end.

- ``engine``: one deterministic input per (seed, target, index), a time limit per input,
  failures deduplicated by signature, reproducer files, a minimiser and a replayer.
- ``mutate``: byte-level damage (flips, truncations, splices, control characters, ``::``, ``%``,
  CR/LF/NUL, huge numbers, deep nesting, long lines).
- ``formats``: structure-aware generators for each log format and for YAML configs.
- ``corpus``: seed files: ``../shared/real-logs/formats/**``, the examples, and logs written by
  ``tests/writers.py`` (tensorboardX, MLflow and the rest).
- ``targets``: what is fed where, and the properties checked.

``tests/test_fuzz.py`` is the short CI run; ``tools/fuzz.py`` the long one (a million inputs).
"""
