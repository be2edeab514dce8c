"""Failures stop a run cleanly: NaN guard, full disk, unwritable dirs, broken envs, fuzzed CLI input."""

from __future__ import annotations

import errno
import math
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlinfo.run.loop as trainer_mod
from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.errors import NonFiniteError
from rlinfo.run.cli import main
from rlinfo.run.offpolicy import OffPolicy

TINY = [
    "total_steps=800",
    "env.num_envs=4",
    "agent.hidden_dim=32",
    "reward.params.hidden_dim=32",
    "agent.batch_size=64",
    "train.learning_starts=200",
    "train.grad_steps=4",
    "train.log_every=200",
    "train.checkpoint_every=200",
    "train.progress=false",
    "eval.num_rollouts=4",
    "eval.figure=false",
]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_nan_loss_stops_run_with_name_step_and_resume_hint(tmp_path, monkeypatch, capsys):
    update = OffPolicy.update

    def poisoned(self):
        stats = update(self)
        if self.buffer.size >= 500:
            stats["metra/loss_phi"] = stats["metra/loss_phi"] * float("nan")
        return stats

    monkeypatch.setattr(OffPolicy, "update", poisoned)
    code = main(["train", *TINY, f"run_root={tmp_path}", "run_name=nan"])
    err = one_line_error(capsys)
    run_dir = tmp_path / "nan"
    assert code == 2 and "non-finite metra/loss_phi (nan) at step" in err
    assert f"rlinfo train --resume {run_dir}" in err and "is intact" in err
    state = load_checkpoint(latest_checkpoint(run_dir))  # the last good checkpoint still loads
    assert 200 <= state["step"] < 500
    monkeypatch.setattr(OffPolicy, "update", update)
    resumed = trainer_mod.Trainer.resume(run_dir)
    assert resumed.global_step == state["step"]


def test_non_finite_observation_from_env_stops_run():
    trainer = trainer_mod.Trainer(load_config("metra_maze", TINY))
    step = trainer.envs.step

    def bad_step(action):
        obs, *rest = step(action)
        if trainer.global_step >= 100:
            obs = obs.copy()
            obs[1, 0] = np.inf
        return (obs, *rest)

    trainer.envs.step = bad_step
    with pytest.raises(
        NonFiniteError, match="non-finite observation from env 'maze:square' \\(inf\\) at step 1"
    ):
        trainer.train()


def test_full_disk_keeps_previous_checkpoint(tmp_path, monkeypatch, capsys):
    assert main(["train", *TINY, "train.checkpoint_every=0", f"run_root={tmp_path}", "run_name=d"]) == 0
    run_dir = tmp_path / "d"
    before = load_checkpoint(latest_checkpoint(run_dir))["step"]

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    code = main(["train", "--resume", str(run_dir), "total_steps=1200"])
    err = one_line_error(capsys)
    assert code == 2 and "disk full" in err and f"previous checkpoint (step {before}) is intact" in err
    monkeypatch.undo()
    assert load_checkpoint(latest_checkpoint(run_dir))["step"] == before
    assert main(["train", "--resume", str(run_dir), "total_steps=1200"]) == 0


def test_unwritable_root_missing_run_dir_and_broken_env(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["train", *TINY, f"run_root={blocker}"]) == 2
    assert "cannot create run directory" in one_line_error(capsys)
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "run directory not found" in one_line_error(capsys)

    def broken(*args, **kwargs):
        raise ImportError("libGL.so.1: cannot open shared object file\nmore detail")

    monkeypatch.setattr("rlinfo.envs.make_vec", broken)
    assert main(["train", *TINY, f"run_root={tmp_path}"]) == 2
    assert "cannot make env 'maze:square': ImportError: libGL.so.1" in one_line_error(capsys)


class _FakeTrainer:
    """Stands in for the trainer so that fuzzed, valid configs never train."""

    def __init__(self, cfg, run_dir=None):
        self.cfg = cfg

    def train(self):
        return {"coverage": 0.0, "coverage_cells": 1}

    @classmethod
    def resume(cls, run_dir, overrides=()):
        raise AssertionError("unreachable: fuzzed --resume paths never exist")


KEYS = [
    "seed",
    "total_steps",
    "device",
    "env.name",
    "env.num_envs",
    "env.kwargs.max_episode_steps",
    "agent.lr",
    "agent.hidden_dim",
    "agent.batch_size",
    "reward.name",
    "reward.params.skill_dim",
    "train.grad_steps",
    "train.buffer_size",
    "train.log_every",
    "eval.num_rollouts",
    "agent.lrr",
    "reward.params.skil_dim",
    "train",
    "env.kwargs.layout",
]
VALUES = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["true", "no", "null", "[1, 2]", "{a: 1}", "", "cuda:7", "maze:tre", "metra", "x: [", "'"]
    ),
    st.text(max_size=8),
)
TOKEN = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), VALUES),
    st.sampled_from(["metra_maz", "nonexistent.yaml", "--resume", "--bogus", "eval", "=", "a=b=c", "-x"]),
    st.text(max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(TOKEN, max_size=5))
def test_fuzzed_cli_arguments_fail_in_one_line(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(trainer_mod, "Trainer", _FakeTrainer)
    code = main(["train", *argv, f"run_root={tmp_path}/runs"])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith("rlinfo: error: ")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), edits=st.integers(1, 6))
def test_mutated_yaml_configs_fail_in_one_line(seed, edits, tmp_path, monkeypatch, capsys):
    from importlib import resources

    monkeypatch.setattr(trainer_mod, "Trainer", _FakeTrainer)
    text = list(resources.files("rlinfo.configs").joinpath("metra_maze.yaml").read_text())
    rng = random.Random(seed)
    for _ in range(edits):
        i = rng.randrange(len(text) + 1)
        op = rng.choice(["delete", "insert", "replace"])
        char = rng.choice(":-[]{}'\"#\t\n 0123456789abcxyz.=!&*|>%@`")
        if op == "delete" and i < len(text):
            del text[i]
        elif op == "insert":
            text.insert(i, char)
        elif i < len(text):
            text[i] = char
    path = tmp_path / f"mutated_{seed}.yaml"
    path.write_text("".join(text))
    code = main(["train", str(path), f"run_root={tmp_path}/runs"])
    err = capsys.readouterr().err
    assert code in (0, 2) and not math.isnan(code)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
