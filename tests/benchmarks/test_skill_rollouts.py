"""A finished run's evaluation rollouts, repeated from its checkpoint into the CSV, are the rollouts its
final evaluation measured (the coverage they give equals eval.json's), and the figure is drawn from the
CSV alone."""

from __future__ import annotations

import json

import numpy as np

from benchmarks import skill_rollouts
from rlinfo.evaluation import policy_state_coverage


def test_the_csv_repeats_the_final_evaluation_and_draws_its_figure(tmp_path):
    from rlinfo.run.cli import main

    args = ["metra_ant", "total_steps=402", "train.learning_starts=201", "train.grad_steps=2",
            "agent.hidden_dim=32", "reward.params.hidden_dim=32", "eval.num_rollouts=4", "eval.max_steps=30",
            "train.progress=false", f"run_root={tmp_path / 'runs'}", "run_name=seed=0__metra_ant"]
    assert main(["train", *args]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    rows = skill_rollouts.rollout_rows(run, every=1)  # every step: the coverage can be recomputed
    assert {r["method"] for r in rows} == {"metra"} and len(rows) == 4 * 31  # the start and 30 steps
    xy = np.array([(r["x"], r["y"]) for r in rows]).reshape(4, 31, 2)
    final = json.loads((run / "eval.json").read_text())
    assert policy_state_coverage(xy, None)["coverage_cells"] == final["coverage_cells"]

    out = tmp_path / "rollouts.csv"
    assert skill_rollouts.collect(tmp_path / "runs", out) == 0  # kept: t = 0, 10, 20, 30
    (seed, step, kept, skills, discrete) = skill_rollouts.runs_of(skill_rollouts.load(out))["metra"]
    assert (seed, kept.shape, skills.shape, discrete) == (0, (4, 4, 2), (4, 2), False)
    assert step == final["steps"]
    np.testing.assert_allclose(kept[:, -1], xy[:, -1], atol=1e-3)  # the rollouts' ends
    image = skill_rollouts.figure(out, tmp_path / "rollouts.png")
    assert image.stat().st_size > 10_000
