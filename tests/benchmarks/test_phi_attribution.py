"""What φ responds to: the linearised split of Δφ over Ant's observation groups, against a hand-computed
linear φ, and a real run's checkpoint measured into the CSV and the page's table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import phi_attribution


def test_a_linear_phi_splits_by_its_weights_times_the_state_changes():
    torch.manual_seed(0)
    w = torch.zeros(2, 29)
    w[0, 0], w[1, 1] = 3.0, -1.0  # x, y
    w[0, 8] = 1.0  # a joint angle
    states = torch.randn(11, 4, 29)
    shares, state_change, phi_change = phi_attribution.attribute(lambda s: s @ w.T, states)
    ds = (states[1:] - states[:-1]).reshape(-1, 29).numpy()
    xy = np.abs(3 * ds[:, 0]).mean() + np.abs(-ds[:, 1]).mean()
    joint = np.abs(ds[:, 8]).mean()
    assert shares["xy"] == pytest.approx(xy / (xy + joint), rel=1e-5)
    assert shares["joint_angles"] == pytest.approx(joint / (xy + joint), rel=1e-5)
    assert shares["velocities"] == shares["height_orientation"] == 0
    assert state_change == pytest.approx(np.linalg.norm(ds, axis=-1).mean(), rel=1e-5)
    assert phi_change == pytest.approx(np.linalg.norm(ds @ w.numpy().T, axis=-1).mean(), rel=1e-5)


def test_a_run_is_measured_into_the_csv_and_its_table(tmp_path):
    from rlinfo.run.cli import main

    args = ["metra_ant", "total_steps=402", "train.learning_starts=201", "train.grad_steps=2",
            "agent.hidden_dim=32", "reward.params.hidden_dim=32", "eval.num_rollouts=2", "eval.max_steps=20",
            "train.progress=false", f"run_root={tmp_path / 'runs'}", "run_name=seed=0__metra_ant"]
    assert main(["train", *args]) == 0
    out = tmp_path / "phi.csv"
    assert phi_attribution.collect(tmp_path / "runs", out) == 0
    (row,) = phi_attribution.load(out)
    assert (row["method"], row["seed"]) == ("metra", 0) and row["step"] >= 402  # whole epochs of 8 envs
    assert sum(row[s] for s in phi_attribution.SHARES) == pytest.approx(1, abs=1e-3)
    assert row["mean_state_change"] > 0 and row["machine"] and row["date"]
    lines = phi_attribution.table([row])
    assert lines[2].startswith(f"| metra | 0 | {row['step']:,} | ")
    assert phi_attribution.summary([row]).startswith(f"Largest share: metra at {row['step']:,}: ")
