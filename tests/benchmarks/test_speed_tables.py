"""The speed and precision tables of docs/benchmarks.md from hand-built CSVs: medians with their ranges,
ratios within one run, and per-seed finals."""

from __future__ import annotations

from helpers import write_csv

from benchmarks import speed_tables


def test_speed_table_ratio_and_matmul_share_come_from_the_same_run(tmp_path):
    medians = {
        "matmul GFLOP/s": 200.0,
        "rlinfo SAC steps_per_s": 150.0,
        "SB3 SAC steps_per_s": 100.0,
        "metra_ant update_gflops": 150.0,
    }
    rows = [
        {"measure": m, "threads": 2, "median": v, "min": v - 1, "max": v + 1, "rounds": 2}
        for m, v in medians.items()
    ]
    lines = speed_tables.speed_block(write_csv(tmp_path / "speed_benchmark.csv", rows))
    assert lines[0] == "| measure | 2 threads |"
    assert "| rlinfo SAC, env steps/s | 150.0 (149.0–151.0) |" in lines
    assert "| matmul rate, 1024³ bfloat16 (GFLOP/s) | — |" in lines  # not measured in this run
    assert "| rlinfo SAC ÷ stable-baselines3 SAC (medians) | 1.50× |" in lines
    assert lines[-3].endswith("| 150.0 (0.75) |")
    assert lines[-1] == "Data: [docs/results/speed_benchmark.csv](results/speed_benchmark.csv)."


def test_update_table_gain_and_faults(tmp_path):
    rows = [
        {
            "hidden": 256,
            "precision": "float32",
            "variant": v,
            "threads": 1,
            "ms_per_update": ms,
            "min": ms - 1,
            "max": ms + 1,
            "faults_per_update": f,
        }
        for v, ms, f in [("bmm", 10.0, 60.3), ("head", 9.0, 70.0), ("head+kept", 8.0, 0.4)]
    ]
    lines = speed_tables.update_block(write_csv(tmp_path / "update_benchmark.csv", rows))
    assert lines[2] == (
        "| 256 units (sac_half_cheetah) | float32 | 10.00 (9.00–11.00) | 9.00 (8.00–10.00) | "
        "8.00 (7.00–9.00) | 1.25× | 60 → 0 |"
    )


def test_precision_table_finals_and_mean_of_the_last_five(tmp_path):
    rows = [
        {
            "experiment": "metra_ant coverage_cells",
            "variant": "float32",
            "seed": seed,
            "step": 64_000 * (i + 1),
            "wall_s": 1.0,
            "value": 10.0 * (i + 1) + seed,
        }
        for seed in (0, 1)
        for i in range(6)
    ]
    lines = speed_tables.precision_block(write_csv(tmp_path / "precision_benchmark.csv", rows))
    # seed 0's last five: 20..60, mean 40; seed 1's: 41; the mean over seeds 40.5
    assert (
        lines[2]
        == "| METRA on Ant, policy state coverage (cells) | float32 | 0, 1 | 384,000 | 60, 61 | 40.5 |"
    )


def test_rounding_table_ratio(tmp_path):
    rows = [
        {
            "run": "runs/x",
            "transitions": 1600,
            "step": 1000,
            "reward mean": 0.1,
            "reward std": 0.4,
            "error, every layer bfloat16": 0.06,
            "error, hidden layers bfloat16": 0.006,
        }
    ]
    lines = speed_tables.rounding_block(write_csv(tmp_path / "precision_rounding.csv", rows))
    assert lines[2] == "| runs/x | 1,000 | 1600 | 0.100 ± 0.400 | 0.0600 | 0.0060 | 10.0× |"
