"""The speed and precision tables of docs/benchmarks.md from hand-built CSVs: medians with their ranges,
ratios within one run, and per-seed finals."""

from __future__ import annotations

from functools import partial

from helpers import write_csv

from benchmarks import speed_tables, timing


def harness_csv(path, values, rounds):
    """``values`` {(contender, measure): [one value per round]} as the harness's per-round CSV."""
    runs = timing.Timing(tuple(dict.fromkeys(c for c, _ in values)), timing.orders(
        list(dict.fromkeys(c for c, _ in values)), rounds), dict(values))
    timing.write_csv(path, timing.per_round(runs), command="python scripts/x.py")
    return path


def speed_values():
    """A whole speed run on 1 and 2 threads, two rounds (what scripts/speed_benchmark.py records)."""
    rate, v = speed_tables.RATE, {}
    for t in (1, 2):
        named = partial(speed_tables.named, threads=t)
        v[named("matmul float32"), "GFLOP/s"] = [100.0 * t, 110.0 * t]
        v[named("matmul bfloat16"), "GFLOP/s"] = [400.0 * t, 400.0 * t]
        for name, speed, ms in (("rlinfo SAC", 1.0, 4.0), ("rlinfo SAC overlapped", 0.9, 4.0),
                                ("rlinfo SAC bfloat16", 2.0, 1.0)):  # fmt: skip
            v[named(name), rate] = [speed * 100.0, speed * 120.0] if t == 1 else [speed * 150.0] * 2
            v[named(name), "GFLOP per update"] = [0.5, 0.5]
            v[named(name), "matmul ms per update"] = [ms / t, ms / t]
        v[named("SB3 SAC"), rate] = [100.0, 100.0]
        for name in ("metra_ant", "metra_ant overlapped", "metra_ant bfloat16"):
            v[named(name), rate] = [200.0 * t, 200.0 * t]
            v[named(name), "GFLOP per update"] = [13.0, 13.0]
            v[named(name), "update GFLOP/s"] = [80.0 * t, 80.0 * t]
    return v


def test_speed_table_reads_the_rounds_and_takes_ratios_within_each_round(tmp_path):
    path = harness_csv(tmp_path / "speed_benchmark.csv", speed_values(), rounds=2)
    lines = speed_tables.speed_block(path)
    assert lines[0] == "| measure | 1 thread | 2 threads |"
    assert "| rlinfo SAC, env steps/s | 110.0 (100.0–120.0) | 150.0 (150.0–150.0) |" in lines
    assert "| rlinfo SAC ÷ SB3 SAC, per round | 1.10 (1.00–1.20)× | 1.50 (1.50–1.50)× |" in lines
    assert "| rlinfo SAC bfloat16 ÷ SB3 SAC, per round | 2.20 (2.00–2.40)× | 3.00 (3.00–3.00)× |" in lines
    summary = speed_tables.speed_summary(timing.read_rounds(path))
    ceiling, floor = list(summary.values())[2], list(summary.values())[4]
    assert ceiling == 210.0 / 0.5  # the best float32 matmul rate over one update's FLOPs
    assert floor == 1e3 / 2.0  # the quickest replay of the update's matmuls, 2 ms on 2 threads
    assert list(summary.values())[0] == 1.5  # rlinfo's best (150, 2 threads) over SB3's best (100)
    assert list(summary.values())[6] == 160.0 / 210.0  # metra_ant at 2 threads, its matmul rate there
    assert lines[-1].startswith("Data: [docs/results/speed_benchmark.csv](results/speed_benchmark.csv) · "
                                "`python scripts/x.py` · ")  # fmt: skip
    assert lines[-1].endswith(" · 2 rounds, alternating.")
    image = speed_tables.speed_figure(path, tmp_path / "speed.png")
    assert image.stat().st_size > 10_000


def test_update_table_speed_up_is_the_median_of_per_round_ratios(tmp_path):
    ms = {"bmm": [10.0, 12.0, 16.0], "head": [9.0] * 3, "head+kept": [8.0] * 3}
    faults = {"bmm": [60.3] * 3, "head": [70.0] * 3, "head+kept": [0.4] * 3}
    values = {(f"256 float32 {v}", k): t[v] for k, t in (("ms", ms), ("faults", faults)) for v in ms}
    path = harness_csv(tmp_path / "update_benchmark.csv", values, rounds=3)
    lines = speed_tables.update_block(path)
    assert lines[2] == (
        "| 256 units (sac_half_cheetah) | float32 | 12.00 (10.00–16.00) | 9.00 (9.00–9.00) | "
        "8.00 (8.00–8.00) | 1.50 (1.25–2.00)× | 60 → 0 |"
    )
    assert speed_tables.update_figure(path, tmp_path / "update.png").stat().st_size > 10_000


def test_overhead_table_shows_ranges_where_measured_over_rounds(tmp_path):
    rows = [{"section": "step", "precision": p, "measure": "collect", "unit": "ms per env step", "threads": 2,
             "rounds": 3, "median": m, "min": m - 0.1, "max": m + 0.2, "spread": 0.3} for p, m in
            (("float32", 1.0), ("bfloat16", 1.5))]  # fmt: skip
    rows.append({"section": "step", "precision": "float32", "measure": "aten ops per update", "unit": "ops",
                 "threads": 2, "median": 781.6})  # fmt: skip
    path = tmp_path / "overhead_benchmark.csv"
    timing.write_csv(path, rows, command="python scripts/overhead_benchmark.py")
    lines = speed_tables.overhead_block(path)
    assert lines[2] == ("| step | collect (act, env step, store) | ms per env step | 1.00 (0.90–1.20) | "
                        "1.50 (1.40–1.70) |")  # fmt: skip
    assert lines[3] == "| step | aten ops dispatched per update | ops | 782 | — |"
    assert "`python scripts/overhead_benchmark.py`" in lines[-1] and lines[-1].endswith("2 threads.")
    assert speed_tables.overhead_figure(path, tmp_path / "overhead.png").stat().st_size > 10_000


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


def test_a_speed_run_without_bfloat16_still_makes_its_table_and_figure(tmp_path):
    """On a CPU that emulates bfloat16 the benchmark leaves it out: those rows read "—", no bfloat16
    summary line, and the figure's reference lines are still the ceiling and the matmul floor."""
    values = {k: v for k, v in speed_values().items() if "bfloat16" not in k[0]}
    path = harness_csv(tmp_path / "speed_benchmark.csv", values, 2)
    block = "\n".join(speed_tables.speed_block(path))
    assert "| matmul rate, 1024³ bfloat16 (GFLOP/s) | — | — |" in block
    assert "rlinfo SAC bfloat16 / SB3" not in block and "rlinfo SAC / SB3 SAC env steps/s" in block
    with_bf16 = "\n".join(speed_tables.speed_block(harness_csv(tmp_path / "all.csv", speed_values(), 2)))
    assert "rlinfo SAC bfloat16 / SB3 SAC env steps/s" in with_bf16
    image = speed_tables.speed_figure(path, tmp_path / "speed.png")
    assert image.stat().st_size > 10_000
