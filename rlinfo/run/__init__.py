"""The top layer: build a run from a config, train it (one loop for every agent), resume, evaluate and
load it, and the ``rlinfo`` command. Nothing below this package imports it (tests/run/test_layers.py)."""
