"""How large φ's steps get: a real run's logged ‖Δφ‖ binned into the CSV, its table and its figure."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import phi_scale
from benchmarks.results import segments


def test_a_run_is_binned_into_the_csv_table_and_figure(tmp_path):
    from rlinfo.run.cli import main

    args = ["metra_ant", "total_steps=4824", "train.learning_starts=201", "train.grad_steps=2",
            "train.log_every=1608", "agent.hidden_dim=32", "reward.params.hidden_dim=32",
            "eval.num_rollouts=2", "eval.max_steps=20", "train.progress=false",
            f"run_root={tmp_path / 'runs'}", "run_name=seed=0__metra_ant"]  # fmt: skip
    assert main(["train", *args]) == 0
    run = tmp_path / "runs" / "seed=0__metra_ant"
    tag = "metra/delta_phi_norm"
    logged = {step: v for events in segments(run) for _, step, t, v in events if t == tag}
    assert len(logged) >= 3
    rows = phi_scale.run_rows(run, bin_steps=3216)  # two bins: steps below 3216 and the rest
    early = {s: v for s, v in logged.items() if s < 3216}
    assert [r["step"] for r in rows] == [max(early), max(logged)]
    assert rows[0]["delta_phi_norm"] == pytest.approx(np.mean(list(early.values())))
    settings = {(r["method"], r["seed"], r["agent_init"], r["reward_init"], r["warmup"]) for r in rows}
    assert settings == {("metra", 0, "garage", "garage", "policy")}  # the preset's reference settings
    assert phi_scale.run_rows(run, env="half_cheetah") == []

    out = tmp_path / "scale.csv"
    stale = {**rows[0], "run": "runs/seed=0__metra_ant", "step": 999, "machine": "m", "date": "d"}
    other = {**stale, "run": "elsewhere/run"}
    phi_scale.write_csv(out, phi_scale.COLUMNS, [stale, other])  # an earlier collect of a shorter run
    assert phi_scale.collect([tmp_path / "runs"], out) == 0
    assert phi_scale.collect([tmp_path / "runs"], out) == 0  # idempotent
    kept, row = phi_scale.load(out)  # the run's old rows replaced, another run's kept
    assert kept["run"] == "elsewhere/run"
    assert row["run"] == "runs/seed=0__metra_ant" and row["machine"] and row["date"]
    assert row["delta_phi_norm"] == pytest.approx(np.mean(list(logged.values())))
    lines = phi_scale.table([row])
    assert lines[2].startswith("| runs/seed=0__metra_ant | metra | 0 | garage | policy | ")
    mixed = {"agent_init": "garage", "reward_init": "torch"}
    assert phi_scale.inits(mixed) == "init garage (agent), torch (reward)"
    assert phi_scale.figure(out, tmp_path / "scale.png").stat().st_size > 10_000
