"""The exploration benchmark: its specs give every method its preset's or listed reward; runs of the real
specs are measured as the page says (policy, replay data and the run's own evaluation) and turned into
the table and figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import exploration
from rlinfo.run.sweep_spec import read_spec


@pytest.mark.parametrize(
    "spec, env, steps", [(exploration.SPECS[0], "maze:tree", 20_000), (exploration.SPECS[1], "ant", 30_000)]
)
def test_specs_train_every_method_alone_for_the_same_budget(spec, env, steps):
    trials = read_spec(spec).trials
    assert len(trials) == len(exploration.METHODS) * 3
    for trial in trials:
        cfg = trial.config(Path("sweeps"))
        method = trial.name.split("__")[0]
        assert method in exploration.METHODS and (cfg.env.name, cfg.total_steps) == (env, steps)
        assert cfg.reward.name == ("none" if method == "random" else method)
        if method == "random":  # uniform actions for the whole budget: no update ever happens
            assert cfg.train.learning_starts == steps and cfg.reward.params == {}


def test_buffer_xy_is_the_world_position_of_every_stored_state(tmp_path):
    """Ant's observations are normalised, ŝ = (s − μ) / (σ + ε); the collected x, y are the simulator's.
    With μ_xy = (10, −10) every stored ŝ_xy is near (−15.6, 15.7), while Ant starts at the origin."""
    from envs.normalize import preset_stats
    from rlinfo.run.cli import main
    from rlinfo.run.rundir import load_run_config

    stats = preset_stats("ant")
    mean = [10.0, -10.0, *stats["mean"][2:]]
    trial = next(t for t in read_spec(exploration.SPECS[1]).trials if t.name == "random__seed=0")
    assert (
        main(
            [
                "train",
                *trial.train_args(tmp_path),
                "total_steps=400",
                "train.learning_starts=400",
                f"env.kwargs.obs_mean={mean}",
                f"env.kwargs.obs_std={stats['std']}",
            ]
        )
        == 0
    )
    run_dir = tmp_path / "random__seed=0"
    cfg = load_run_config(run_dir)
    assert cfg.env.kwargs["obs_mean"][:2] == [10.0, -10.0]
    xy = exploration.buffer_xy(run_dir, cfg)
    assert xy.shape == (400, 2)
    assert np.abs(xy[:4]).max() < 0.2  # the 4 envs' first states: the reset noise of ±0.1 around the origin
    assert np.abs(xy).max() < 5.0  # 100 random steps of each env


def test_runs_of_the_real_spec_are_measured_and_paged(tmp_path):
    """APT and random actions on the maze, trained as the sweep trains them, at 3,000 steps."""
    from rlinfo.run.cli import main

    sweep = tmp_path / "runs"
    for trial in read_spec(exploration.SPECS[0]).trials:
        if trial.name in ("apt__seed=0", "random__seed=0", "random__seed=1"):
            steps = ["total_steps=3000"] + (["train.learning_starts=3000"] if "random" in trial.name else [])
            assert main(["train", *trial.train_args(sweep), *steps]) == 0
    out = tmp_path / "results"
    assert exploration.collect([sweep], out) == 0
    rows = exploration.load(out)
    assert sorted((r["method"], r["seed"]) for r in rows) == [("apt", 0), ("random", 0), ("random", 1)]
    for r in rows:
        assert r["env"] == "maze:tree" and r["steps"] >= 3000 and r["machine"] and r["date"]
        assert 0 < r["policy_coverage"] <= 1 and r["policy_coverage"] == pytest.approx(
            r["policy_cells"] / 62, abs=1e-6
        )
        assert 0 < r["data_coverage"] <= 1 and r["data_coverage"] == pytest.approx(
            r["data_cells"] / 62, abs=1e-6
        )
    apt = next(r for r in rows if r["method"] == "apt")
    result = json.loads((sweep / "apt__seed=0" / "eval.json").read_text())
    assert apt["det_policy_coverage"] == pytest.approx(result["coverage"], abs=1e-6)
    assert all(np.isnan(r["det_policy_coverage"]) for r in rows if r["method"] == "random")
    assert exploration.collect([sweep], out) == 0  # again: the same rows, none doubled
    again = exploration.load(out)
    same = ("method", "seed", "steps", "policy_cells", "data_cells")
    assert [[r[k] for k in same] for r in again] == [[r[k] for k in same] for r in rows]
    xy = exploration.read_csv(out / "exploration_xy.csv")
    assert {r["method"] for r in xy} == {"apt", "random"} and all(r["seed"] == "0" for r in xy)
    lines = exploration.block(out)
    assert lines[2].startswith("| maze:tree | apt | 3,") and "| maze:tree | random | 3" in lines[3]
    assert "| 2 |" in lines[3]  # two seeds of random actions
    assert exploration.figure(out, tmp_path / "fig.png").stat().st_size > 10_000


def test_summary_against_hand_computed_values():
    rows = [
        {
            "env": "maze:tree",
            "method": m,
            "seed": s,
            "steps": 100,
            "policy_coverage": p,
            "data_coverage": d,
            "det_policy_coverage": q,
            "wall_s": 10.0,
        }
        for m, s, p, d, q in [
            ("apt", 0, 0.4, 0.6, 0.2),
            ("apt", 1, 0.6, 0.8, 0.4),
            ("random", 0, 0.2, 0.3, np.nan),
            ("random", 1, 0.3, 0.3, np.nan),
        ]
    ]
    apt, random = exploration.summarise(rows)
    assert (apt["method"], random["method"]) == ("apt", "random")
    assert apt["policy_coverage_mean"] == pytest.approx(0.5)
    assert apt["policy_coverage_std"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert apt["vs_random"] == pytest.approx(0.5 / 0.25)
    line = exploration.table(rows)[2]
    assert line == "| maze:tree | apt | 100 | 2 | 0.500 ± 0.141 | 2.00 | 0.700 ± 0.141 | 0.300 ± 0.141 | 10 |"
    assert exploration.table(rows)[3].endswith("| — | 0.300 ± 0.000 | — | 10 |")
