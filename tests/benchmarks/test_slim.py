"""The SLIM benchmark: the spec trains the three presets; a run of the real spec is measured (16 skills,
puck bins, moving skills, cost) and turned into the table and figure; the numbers against hand-computed
paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import slim
from rlinfo.run.sweep_spec import read_spec


def test_spec_trains_the_three_presets_at_one_budget():
    trials = read_spec(slim.SPEC).trials
    assert sorted(t.name for t in trials) == sorted(
        f"{m}_tabletop__seed={s}" for m in slim.METHODS for s in range(3)
    )
    assert {t.config(Path("sweeps")).total_steps for t in trials} == {20_000}
    assert {slim.method_of(Path(t.name)) for t in trials} == set(slim.METHODS)


def test_metrics_against_hand_computed_paths():
    # skill 0 pushes the puck 0.1 m along x through 3 cells; skill 1 leaves it where it was
    xy = np.zeros((2, 3, 2))
    xy[0, :, 0] = [0.01, 0.06, 0.11]
    xy[1, :] = [0.01, 0.01]
    out = slim.metrics(xy, np.array([1.0, 3.0]))
    assert out == {
        "object_bins": 3.0,
        "moving_fraction": 0.5,
        "mean_displacement": pytest.approx(0.05),
        "cost_per_episode": 2.0,
    }


def test_a_run_of_the_real_spec_is_measured_and_paged(tmp_path):
    from rlinfo.run.cli import main

    sweep = tmp_path / "runs"
    trial = next(t for t in read_spec(slim.SPEC).trials if t.name == "slim_tabletop__seed=0")
    assert main(["train", *trial.train_args(sweep), "total_steps=2500"]) == 0
    out = tmp_path / "results"
    assert slim.collect([sweep], out) == 0
    (row,) = slim.load(out)
    assert (row["method"], row["seed"]) == ("slim", 0) and row["steps"] >= 2500
    assert row["object_bins"] >= 1 and 0 <= row["moving_fraction"] <= 1 and row["cost_per_episode"] >= 0
    paths = slim.read_csv(out / "slim_tabletop_paths.csv", ints=("skill", "t"))
    assert len(paths) == slim.SKILLS * 101 and {r["skill"] for r in paths} == set(range(slim.SKILLS))
    assert slim.collect([sweep], out) == 0  # again: one row, one set of paths
    assert len(slim.load(out)) == 1 and len(slim.read_csv(out / "slim_tabletop_paths.csv")) == len(paths)
    lines = slim.block(out)
    assert lines[2].startswith("| slim | 2,5") and lines[-1].startswith("Mean ± std over seeds")
    assert slim.figure(out, tmp_path / "fig.png").stat().st_size > 10_000
