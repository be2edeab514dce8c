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

    args = [
        "metra_ant",
        "total_steps=402",
        "train.learning_starts=201",
        "train.grad_steps=2",
        "agent.hidden_dim=32",
        "reward.params.hidden_dim=32",
        "eval.num_rollouts=2",
        "eval.max_steps=20",
        "train.progress=false",
        f"run_root={tmp_path / 'runs'}",
        "run_name=seed=0__metra_ant",
    ]
    assert main(["train", *args]) == 0
    out = tmp_path / "phi.csv"
    assert phi_attribution.collect(tmp_path / "runs", out) == 0
    (row,) = phi_attribution.load(out)
    assert (row["method"], row["seed"]) == ("metra", 0) and row["step"] >= 402  # whole epochs of 8 envs
    assert sum(row[s] for s in phi_attribution.SHARES) == pytest.approx(1, abs=1e-3)
    assert row["mean_state_change"] > 0 and row["machine"] and row["date"]
    lines = phi_attribution.table([row])
    assert lines[2].startswith(f"| metra | 0 | {row['step']:,} | ")
    first = f"Largest share: metra seed {row['seed']} at {row['step']:,}: "
    assert phi_attribution.summary([row]).startswith(first)


def test_the_page_shows_each_runs_latest_measurement():
    share = dict.fromkeys(phi_attribution.SHARES, 0.25)
    rows = [{"method": "csf", "seed": 0, "step": 1_000_000, **share, "mean_state_change": 0.1,
             "mean_phi_change": 0.0}, {"method": "csf", "seed": 0, "step": 32_000, **share,
             "mean_state_change": 0.2, "mean_phi_change": 0.002}, {"method": "csf", "seed": 1, "step": 64_000,
             **share, "mean_state_change": 0.3, "mean_phi_change": 0.01}]  # fmt: skip
    assert [(r["seed"], r["step"]) for r in phi_attribution.latest(rows)] == [(0, 1_000_000), (1, 64_000)]
    body = phi_attribution.table(rows)[2:]
    assert len(body) == 2 and "| csf | 0 | 1,000,000 |" in body[0] and "32,000" not in "".join(body)
