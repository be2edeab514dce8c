"""The precision benchmark: its SAC runs are a sweep spec (float32 and bfloat16, two seeds), and the
script turns a sweep folder's finished runs into the curves CSV and figure."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from rlinfo.run.sweep_spec import read_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "benchmarks" / "precision_sac.yaml"


def test_spec_runs_both_precisions_on_the_same_seeds():
    trials = read_spec(SPEC).trials
    configs = [t.config(Path("sweeps")) for t in trials]
    assert sorted((c.train.precision, c.seed) for c in configs) == [
        ("bfloat16", 0), ("bfloat16", 1), ("float32", 0), ("float32", 1)]  # fmt: skip
    assert {(c.total_steps, c.train.threads) for c in configs} == {(30_000, 1)}


def test_a_sweep_folder_becomes_the_curves_csv_and_figure(tmp_path):
    from rlinfo.run.cli import main

    sweep = tmp_path / "runs"
    trial = next(t for t in read_spec(SPEC).trials if t.name == "train.precision=float32__seed=0")
    assert main(["train", *trial.train_args(sweep), "total_steps=1500", "train.learning_starts=500"]) == 0
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "scripts" / "precision_benchmark.py"), "--sac-sweep", str(sweep),
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    with (out / "precision.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and {(r["experiment"], r["variant"], r["seed"]) for r in rows} == {
        ("sac_half_cheetah episodic_return", "float32", "0")}  # fmt: skip
    assert (out / "precision.png").stat().st_size > 10_000
