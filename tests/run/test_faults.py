"""Failures a run must survive, and how it stops when it cannot: divergence, refused resumes, full disks and
file-size limits, concurrent writers, oversized and fuzzed input, unwritable directories, broken envs."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import random
import resource
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlinfo.run.loop as trainer_mod
from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.errors import CheckpointError, ConfigError, NonFiniteError, RlinfoError
from rlinfo.run.cli import main
from rlinfo.run.loop import Trainer
from rlinfo.run.offpolicy import OffPolicy

FAST = ["env.num_envs=4", "eval.num_rollouts=4", "train.learning_starts=200", "train.progress=false"]


def train(tmp_path: Path, name: str, *overrides: str) -> Path:
    assert main(["train", "metra_maze", *FAST, *overrides, f"run_root={tmp_path}", f"run_name={name}"]) == 0
    return tmp_path / name


def one_line(capsys: pytest.CaptureFixture) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("rlinfo: error")]
    assert len(err) == 1, err
    return err[0]


def finite(state: dict) -> bool:
    tensors = [v for v in state["agent"].values()] + [v for v in state["reward"].values()]
    return all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())


def test_divergence_never_reaches_a_checkpoint_and_resume_with_a_lower_lr_continues(tmp_path, capsys):
    """checkpoint_every < log_every: the NaN is caught at the checkpoint, not at the (later) log."""
    overrides = [*FAST, "total_steps=3000", "train.learning_starts=400", "train.checkpoint_every=100"]
    overrides += ["train.log_every=5000", "reward.params.lr=1e8", f"run_root={tmp_path}", "run_name=d"]
    assert main(["train", "metra_maze", *overrides]) == 2
    err = one_line(capsys)
    assert "non-finite" in err and "is intact" in err and "rlinfo train --resume" in err
    run_dir = tmp_path / "d"
    state = load_checkpoint(latest_checkpoint(run_dir))
    assert finite(state) and 300 <= state["step"] < 3000
    assert main(["train", "--resume", str(run_dir), "reward.params.lr=3e-4"]) == 0
    assert json.loads((run_dir / "eval.json").read_text())["steps"] >= 3000
    history = [json.loads(line) for line in (run_dir / "resume_history.jsonl").read_text().splitlines()]
    assert (
        history[-1]["changes"] == {"reward.params.lr": [1e8, 3e-4]} and history[-1]["step"] == state["step"]
    )


def test_a_refused_resume_writes_nothing(tmp_path, capsys):
    run_dir = train(tmp_path, "r", "total_steps=600", "eval.num_rollouts=8")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != ".lock"}
    for overrides in (["total_steps=100", "eval.num_rollouts=3"], ["total_steps=900", "device=cuda:7"],
                      ["total_steps=900", "agent.hidden_dim=64"], ["total_steps=900", "seed=5"]):  # fmt: skip
        if overrides[1] == "device=cuda:7" and torch.cuda.device_count() > 7:
            continue
        assert main(["train", "--resume", str(run_dir), *overrides]) == 2
        one_line(capsys)
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before  # config.yaml keeps eval.num_rollouts=8: a later `rlinfo eval` is unchanged
    assert not (run_dir / "resume_history.jsonl").exists()


def test_identity_keys_edited_in_config_yaml_are_refused(tmp_path, capsys):
    run_dir = train(tmp_path, "e", "total_steps=600")
    path = run_dir / "config.yaml"
    path.write_text(path.read_text().replace("seed: 0", "seed: 3"))
    assert main(["train", "--resume", str(run_dir), "total_steps=900"]) == 2
    assert "cannot change seed since the checkpoint of step" in one_line(capsys)


def test_a_real_file_size_limit_gives_one_line_and_keeps_the_previous_checkpoint(tmp_path):
    """RLIMIT_FSIZE (the kernel's per-process file-size limit, EFBIG) stands in for a full disk."""
    run_dir = train(tmp_path, "f", "total_steps=600")
    step = load_checkpoint(latest_checkpoint(run_dir))["step"]

    def limit() -> None:  # in the child: files above 256 KiB fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    cmd = [sys.executable, "-m", "rlinfo.run.cli", "train", "--resume", str(run_dir), "total_steps=1200"]
    done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and err[-1].startswith("rlinfo: error: cannot write "), done.stderr
    assert "file too large" in err[-1] and f"the previous checkpoint (step {step}) is intact" in err[-1]
    assert f"cannot write {run_dir}/checkpoints/" in err[-1]  # the file that did not fit is named
    assert "Traceback" not in done.stderr
    assert load_checkpoint(latest_checkpoint(run_dir))["step"] == step  # still loads, still the latest
    assert not list(run_dir.rglob(".*.tmp-*"))  # the half-written file was removed
    assert main(["train", "--resume", str(run_dir), "total_steps=1200"]) == 0


def test_one_writer_per_run_directory(tmp_path, capsys):
    run_dir = train(tmp_path, "w", "total_steps=600")
    first = Trainer.resume(run_dir, ["total_steps=900"])
    try:
        with pytest.raises(
            RlinfoError, match=f"is being written by another rlinfo process \\(pid {os.getpid()}\\)"
        ):
            Trainer.resume(run_dir, ["total_steps=900"])
        assert main(["eval", str(run_dir), "--no-figure"]) == 0  # readers need no lock
    finally:
        first.close()
    Trainer.resume(run_dir, ["total_steps=900"]).close()  # released: the next writer may start


def test_sigterm_checkpoints_and_prints_the_resume_command(tmp_path):
    run_dir = tmp_path / "s"
    cmd = [sys.executable, "-m", "rlinfo.run.cli", "train", "metra_maze", *FAST, "total_steps=200000",
           "train.checkpoint_every=0", f"run_root={tmp_path}", "run_name=s"]  # fmt: skip
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    while not list(run_dir.glob("events.out.tfevents.*")) and child.poll() is None:
        time.sleep(0.2)  # the run writes its events: training is starting
    time.sleep(2.0)  # training is under way
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate()
    assert child.returncode == 128 + signal.SIGTERM, err
    last = err.strip().splitlines()[-1]
    assert (
        last.startswith("rlinfo: error: stopped by SIGTERM at step ")
        and f"rlinfo train --resume {run_dir}" in last
    )
    step = int(last.split("at step ")[1].split(";")[0])
    assert load_checkpoint(latest_checkpoint(run_dir))["step"] == step
    assert main(["train", "--resume", str(run_dir), f"total_steps={step + 400}"]) == 0


def test_corrupted_or_mismatched_checkpoints_are_refused_in_one_line(tmp_path, capsys):
    run_dir = train(tmp_path, "c", "total_steps=600")
    path = latest_checkpoint(run_dir)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit inside tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is corrupted"):
        latest_checkpoint(run_dir)
    other = train(tmp_path, "o", "total_steps=600", "agent.hidden_dim=64")
    cfg = load_config(run_dir / "config.yaml")
    trainer = Trainer(cfg)
    try:
        with pytest.raises(
            CheckpointError, match="agent 'actor.net.0.weight' has shape \\(64, 4\\), this run has"
        ):
            trainer.load_networks(load_checkpoint(latest_checkpoint(other)))
    finally:
        trainer.close()


def test_figures_never_write_through_a_symlink_and_kill_leftovers_are_cleaned(tmp_path):
    run_dir = train(
        tmp_path, "l", "total_steps=600", "train.checkpoint_every=100", "train.keep_checkpoints=2"
    )
    assert len(list((run_dir / "checkpoints").glob("step_*.pt"))) == 2  # older ones pruned
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    (run_dir / "skills.png").unlink()
    (run_dir / "skills.png").symlink_to(outside)
    assert main(["eval", str(run_dir)]) == 0
    assert outside.read_text() == "keep me" and not (run_dir / "skills.png").is_symlink()
    stale = run_dir / "checkpoints" / ".step_000000700.pt.tmp-abc123"
    stale.write_bytes(b"")  # what a kill during a write leaves
    assert main(["train", "--resume", str(run_dir), "total_steps=800"]) == 0
    assert not stale.exists()


def test_oversized_inputs_are_refused_before_use(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    pairs = zip("abcdefgh", "bcdefghi", strict=True)  # level c repeats level p six times: 9 * 6^8 leaves
    levels += [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in pairs]
    bomb.write_text("\n".join(levels) + "\n")
    with pytest.raises(ConfigError, match="anchor or alias at line 1"):
        load_config(bomb)  # refused at the first alias, before any expansion
    with pytest.raises(ConfigError, match="eval.num_rollouts=1000000000 is above the limit"):
        load_config("metra_maze", ["eval.num_rollouts=1000000000"])
    with pytest.raises(
        RlinfoError, match="train.buffer_size=.* GiB .* more than the .* GiB of memory available"
    ):
        Trainer(load_config("metra_ant", ["train.buffer_size=900000000", "env.num_envs=1"]))


def test_nan_actions_stop_with_their_name_and_step():
    trainer = Trainer(load_config("metra_maze", [*FAST, "total_steps=600"]))
    sample = trainer.agent.actor.sample  # what the collector acts with
    trainer.agent.actor.sample = lambda x, generator=None: [v * float("nan") for v in sample(x, generator)]
    with pytest.raises(NonFiniteError, match="non-finite action from the policy \\(nan\\) at step \\d+"):
        trainer.train()


KEYS = ["seed", "device", "eval.num_rollouts", "eval.max_steps", "agent.lr", "agent.hidden_dim", "env.name"]
KEYS += ["env.num_envs", "reward.name", "reward.params.lr", "reward.params.skill_dim", "train.buffer_size"]
KEYS += ["train.threads", "train.log_every", "run_name", "nonsense.key", "agent.params.x"]
VALUES = ["0", "-1", "1e9", "3", "cuda", "cpu", "maze:tree", "nan", "[1, 2]", "{a: 1}", "''", "metra"]
VALUES += ["x" * 300]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    overrides=st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=4),
    edit=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(["seed: 0", "name: metra", "lr: 0.0003", "num_envs: 4", "hidden_dim: 128"]),
                  st.sampled_from(VALUES)),  # fmt: skip
        st.binary(max_size=64),
    ),
)
def test_fuzzed_resumes_that_are_refused_write_nothing(finished_run, overrides, edit):
    """Resume with fuzzed overrides and fuzzed edits of config.yaml: every outcome here is a refusal (the
    budget is already reached), in one line, and the run directory is left byte for byte as it was."""
    run_dir, original = finished_run
    config = run_dir / "config.yaml"
    text = original
    if isinstance(edit, tuple):
        key, value = edit
        text = original.replace(key, f"{key.split(':')[0]}: {value}", 1)
    elif isinstance(edit, bytes):
        text = original + edit.decode("latin-1")
    config.write_text(text)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != ".lock"}
    args = [f"{k}={v}" for k, v in overrides] + ["total_steps=600"]
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = main(["train", "--resume", str(run_dir), *args])
    lines = stderr.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("rlinfo: error: "), stderr.getvalue()
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before
    config.write_text(original)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    run_dir = train(root, "z", "total_steps=600")
    return run_dir, (run_dir / "config.yaml").read_text()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["train.n_step=1000000"], "train.n_step=1000000 is above the limit"),
        (["agent.batch_size=1000000"], "agent.batch_size=1000000 is above the limit"),
        (["eval.max_steps=1000000000"], "eval.max_steps=1000000000 is above the limit"),
        (["train.threads=100000"], "train.threads=100000 is above the limit"),
        (["agent.hidden_dim=16384", "agent.num_layers=64"], "GiB (agent.hidden_dim × agent.num_layers)"),
        (["agent.lr=inf"], "agent.lr must be a finite number"),
        (["agent.gamma=nan"], "agent.gamma must be a finite number"),
    ],
)
def test_unbounded_inputs_are_refused_before_the_run_directory_exists(tmp_path, capsys, overrides, words):
    assert main(["train", *overrides, f"run_root={tmp_path}", "run_name=r"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_deeply_nested_yaml_is_refused_at_its_first_levels(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")  # 100 KB, 50,000 levels
    assert main(["train", str(deep), f"run_root={tmp_path}", "run_name=r"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nests deeper than 32 levels at line 1" in err and "\n" not in err
    run = tmp_path / "run"
    tiny = ["total_steps=300", "train.learning_starts=100", "env.num_envs=4", "eval.num_rollouts=2"]
    tiny += ["train.progress=false", f"run_root={tmp_path}", "run_name=run"]
    assert main(["train", "metra_maze", *tiny]) == 0
    (run / "config.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")  # a planted config
    capsys.readouterr()
    assert main(["eval", str(run)]) == 2
    assert "nests deeper than 32 levels" in capsys.readouterr().err


def test_raw_messages_are_rewritten_as_one_plain_line(tmp_path, capsys):
    from rlinfo.errors import one_line

    assert one_line("\x1b[31mWeights only load failed\x1b[0m.\nTraceback ...") == "Weights only load failed."
    assert one_line("[Errno 2] No such file: b'/tmp/a b'") == "[Errno 2] No such file: '/tmp/a b'"
    assert len(one_line("word " * 100)) <= 202 and one_line("word " * 100).endswith(" …")
    run_dir = train(tmp_path, "m", "total_steps=600")
    path = latest_checkpoint(run_dir)
    state = torch.load(path, weights_only=True)
    for broken, words in [
        ({k: v for k, v in state["state"].items() if k != "meta"}, "lacks 'meta'"),
        ({**state["state"], "meta": "[1, 2]"}, "its 'meta' is not a JSON object"),
    ]:
        torch.save({**state, "state": broken}, path)
        (run_dir / "checkpoints" / "latest.json").write_text(
            json.dumps({**json.loads((run_dir / "checkpoints" / "latest.json").read_text()), "sha256": None})
        )
        capsys.readouterr()
        assert main(["train", "--resume", str(run_dir), "total_steps=900"]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and str(path) in err and "\n" not in err, err
    torch.save({"format": "something-else", "state": {}}, path)
    assert main(["train", "--resume", str(run_dir), "total_steps=900"]) == 2
    assert "is not an rlinfo checkpoint file" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--reps", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected an integer >= 1, got 0" in err and "\n" not in err


# -----------------------------------------------------------------------------
# Failures stop a run cleanly: NaN guard, full disk, unwritable dirs, broken envs, fuzzed CLI input.
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


CLI_KEYS = [
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
CLI_VALUES = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["true", "no", "null", "[1, 2]", "{a: 1}", "", "cuda:7", "maze:tre", "metra", "x: [", "'"]
    ),
    st.text(max_size=8),
)
TOKEN = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(CLI_KEYS), CLI_VALUES),
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
