"""The MI-estimator benchmark (scripts/mi_benchmark.py) writes its numbers to two CSVs, and its two tables
(docs/benchmarks.md, "MI estimators: Gaussian staircase") are made from those CSVs by benchmarks/mi.py."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

from helpers import write_csv

from benchmarks import mi, pages
from benchmarks.machine import describe

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mi_benchmark.py"
COMMAND = "python scripts/mi_benchmark.py"
MACHINE = "AMD EPYC, 2 cores"


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_script_writes_both_csvs_at_a_tiny_budget(tmp_path):
    out = tmp_path / "out"
    args = ["--steps-per-level", "20", "--levels", "2", "4", "--consistency-steps", "20", "--workers", "1"]
    cmd = [sys.executable, str(SCRIPT), *args, "--out", str(out)]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]

    columns, rows = read(out / "mi_staircase.csv")
    assert tuple(columns) == mi.STAIRCASE_COLUMNS == (
        "estimator", "critic", "true_mi", "mean", "variance", "steps", "batch", "seed", "command", "machine",
        "date",
    )  # fmt: skip
    pairs = [(r["estimator"], r["critic"]) for r in rows]
    assert len(rows) == 2 * (7 + 3) and len(set(pairs)) == 10  # 7 separable and 3 joint critics, 2 levels
    assert pairs[:4] == [("infonce", "joint")] * 2 + [("infonce", "separable")] * 2
    assert [float(r["true_mi"]) for r in rows[:2]] == [2.0, 4.0]
    assert {(r["steps"], r["batch"], r["seed"]) for r in rows} == {("20", "64", "0")}
    command = f"python {SCRIPT} {' '.join(args)} --out {out}"
    assert {(r["command"], r["machine"]) for r in rows} == {(command, describe())}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["date"]) for r in rows)

    columns, cons = read(out / "mi_consistency.csv")
    assert tuple(columns) == mi.CONSISTENCY_COLUMNS == (
        "estimator", "estimate", "data_processing_ratio", "additivity_ratio", "true_mi", "steps", "command",
        "machine", "date"
    )  # fmt: skip
    assert [r["estimator"] for r in cons] == ["infonce", "nwj", "smile_5"]
    assert {(r["true_mi"], r["steps"], r["command"]) for r in cons} == {("2.0", "20", command)}

    assert (out / "mi_staircase.png").stat().st_size > 0  # with another --out, the figure goes there too
    assert (out / "traces.npz").stat().st_size > 0
    assert not (tmp_path / "docs").exists()
    # what it prints is the generated blocks, made from the CSVs it wrote
    blocks = mi.staircase_block(out / "mi_staircase.csv"), mi.consistency_block(out / "mi_consistency.csv")
    for block in blocks:
        assert "\n".join(block) in done.stdout
        assert block[-1].startswith(f"Data: {out / 'mi_'}")


def staircase_rows() -> list[dict[str, object]]:
    run = {"command": COMMAND, "machine": MACHINE, "date": "2026-12-06"}
    return [
        {"estimator": "smile_5", "critic": "joint", "true_mi": 2.0, "mean": 1.95396, "variance": 0.066312,
         "steps": 4000, "batch": 64, "seed": 0, **run},
        {"estimator": "smile_5", "critic": "joint", "true_mi": 10.0, "mean": -710.8149, "variance": 5.1234e8,
         "steps": 4000, "batch": 64, "seed": 0, **run},
    ]  # fmt: skip


def consistency_rows() -> list[dict[str, object]]:
    run = {"command": COMMAND, "machine": MACHINE, "date": "2026-12-06"}
    return [
        {"estimator": "infonce", "estimate": 1.7468, "data_processing_ratio": 0.99104,
         "additivity_ratio": 1.66849, "true_mi": 2.0, "steps": 3000, **run},
        {"estimator": "nwj", "estimate": 1.78312, "data_processing_ratio": 0.9894,
         "additivity_ratio": 1.5302, "true_mi": 2.0, "steps": 3000, **run},
    ]  # fmt: skip


def test_staircase_table_from_a_hand_built_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(mi, "RESULTS", tmp_path)  # as if it were docs/results/
    path = write_csv(tmp_path / "mi_staircase.csv", staircase_rows())
    assert mi.staircase_block(path) == [
        "| estimator | critic | I = 2 | I = 10 |",
        "|---|---|---|---|",
        "| SMILE (τ=5) | joint | 1.95 (0.066) | -710.81 (5.1e+08) |",
        "",
        "Data: [docs/results/mi_staircase.csv](results/mi_staircase.csv) · "
        "`python scripts/mi_benchmark.py` · AMD EPYC, 2 cores · 2026-12-06.",
    ]
    rows = mi.read_staircase(path)
    assert rows[1]["variance"] == 5.1234e8 and rows[0]["steps"] == 4000
    assert mi.staircase_block(path)[-1] == pages.data_line("mi_staircase", rows)


def test_consistency_table_from_a_hand_built_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(mi, "RESULTS", tmp_path)
    path = write_csv(tmp_path / "mi_consistency.csv", consistency_rows())
    assert mi.consistency_block(path) == [
        "| estimator | Î(X;Y) (true 2) | data processing ratio (ideal 1) | additivity ratio (ideal 2) |",
        "|---|---|---|---|",
        "| InfoNCE | 1.75 | 0.991 | 1.668 |",
        "| NWJ | 1.78 | 0.989 | 1.530 |",
        "",
        "Data: [docs/results/mi_consistency.csv](results/mi_consistency.csv) · "
        "`python scripts/mi_benchmark.py` · AMD EPYC, 2 cores · 2026-12-06.",
    ]
    assert mi.consistency_block(path)[-1] == pages.data_line("mi_consistency", mi.read_consistency(path))


def test_a_csv_outside_docs_results_is_named_by_its_path(tmp_path):
    path = write_csv(tmp_path / "mi_consistency.csv", consistency_rows())
    assert mi.consistency_block(path)[-1] == (
        f"Data: {path} · `python scripts/mi_benchmark.py` · AMD EPYC, 2 cores · 2026-12-06."
    )


def test_the_committed_csvs_give_the_documented_tables():
    staircase = mi.staircase_block()
    assert staircase[0] == "| estimator | critic | I = 2 | I = 4 | I = 6 | I = 8 | I = 10 |"
    assert len(staircase) == 2 + 10 + 2
    assert staircase[-1].startswith("Data: [docs/results/mi_staircase.csv](results/mi_staircase.csv) · `")
    consistency = mi.consistency_block()
    assert [line.split(" | ")[0] for line in consistency[2:5]] == ["| InfoNCE", "| NWJ", "| SMILE (τ=5)"]
    assert consistency[-1].startswith("Data: [docs/results/mi_consistency.csv](results/mi_consistency.csv)")


def test_log_ratio_is_the_gaussian_log_density_ratio():
    import math

    import torch

    torch.manual_seed(0)
    d, rho = 3, 0.8
    x, y = torch.randn(5, d, dtype=torch.float64), torch.randn(7, d, dtype=torch.float64)
    cond = torch.distributions.Normal(rho * x[:, None], math.sqrt(1 - rho**2))
    marginal = torch.distributions.Normal(torch.zeros(()), torch.ones(()))
    expected = cond.log_prob(y[None]).sum(-1) - marginal.log_prob(y).sum(-1)[None]
    assert torch.allclose(mi.log_ratio(x[:, None], y[None], rho), expected, atol=1e-10)


def test_exact_critic_bounds_sit_where_theory_puts_them():
    """At I = 2 nats DV and NWJ at the exact critic are unbiased, InfoNCE is below I and log B, and clipping
    at τ = 5 barely matters (bias ≥ 0, small); the table prints each as mean (variance)."""
    import math

    (row,) = mi.exact_critic_rows(levels=(2.0,), batches=60, pairs=40_000)
    assert abs(row["dv_mean"] - 2) < 0.15 and abs(row["nwj_mean"] - 2) < 0.15
    assert row["infonce_mean"] < 2 and row["infonce_mean"] < math.log(64)
    assert 0 <= row["clip_bias_5"] < row["clip_bias_1"] < 1
    assert all(row[f"{k}_variance"] > 0 for k, _ in mi.EXACT_BOUNDS)
    line = mi.exact_lines([row])[2]
    assert line.startswith(f"| 2 | {row['dv_mean']:.2f} ({row['dv_variance']:.2g}) |")
