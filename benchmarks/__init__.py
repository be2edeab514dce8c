"""Benchmarks: sweep specs for learning benchmarks (run by ``rlinfo sweep``), and the tools that turn
their runs into the committed CSVs under ``docs/results/`` and the results pages built from them."""
