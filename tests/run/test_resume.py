"""Resume: a killed run continues exactly (CPU), incremental buffer chunks, TensorBoard without gaps."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rlinfo.buffer_chunks as buffer_chunks
from rlinfo.buffer_chunks import BufferChunks
from rlinfo.buffers import ReplayBuffer
from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.errors import CheckpointError, RlinfoError
from rlinfo.run.loop import Trainer
from rlinfo.run.rundir import create_run_dir

TINY = [
    "agent.hidden_dim=32",
    "reward.params.hidden_dim=32",
    "agent.batch_size=64",
    "env.num_envs=4",
    "train.progress=false",
    "eval.num_rollouts=4",
    "eval.figure=false",
    "train.learning_starts=200",
    "train.grad_steps=4",
    "train.log_every=200",
    "train.checkpoint_every=400",
    "train.buffer_size=1000",  # < total_steps: the circular buffer wraps
]


class Crash(Exception):
    """Stands in for a kill right after a checkpoint."""


class CrashingTrainer(Trainer):
    crash_at = 800

    def save(self) -> Path:
        path = super().save()
        if self.global_step >= self.crash_at:
            raise Crash
        return path


def make(tmp_path: Path, name: str, *overrides: str) -> tuple[Trainer, Path]:
    cfg = load_config("metra_maze", [*TINY, f"run_root={tmp_path}", f"run_name={name}", *overrides])
    cfg, run_dir = create_run_dir(cfg)
    return Trainer(cfg, run_dir), run_dir


def filled(buffer: ReplayBuffer) -> dict[str, torch.Tensor]:
    names = ("obs", "next_obs", "action", "reward", "terminated", "skill")
    return {k: getattr(buffer, k)[: buffer.size].cpu() for k in names}


def assert_same_buffer(a: ReplayBuffer, b: ReplayBuffer) -> None:
    assert (a.pos, a.size, a.added) == (b.pos, b.size, b.added)
    for (name, x), y in zip(filled(a).items(), filled(b).values(), strict=True):
        assert torch.equal(x, y), name


@pytest.mark.parametrize(("env", "extra"), [("maze:square", []), ("half_cheetah", []),
                                            ("maze:square", ["train.skill_every=7"])])  # fmt: skip
def test_resumed_run_equals_uninterrupted_run_on_cpu(tmp_path, monkeypatch, env, extra):
    """SAC killed after a checkpoint mid-episode and resumed equals the uninterrupted run: on the maze and on
    MuJoCo, whose physics state (qpos, qvel, solver warm start), time limit and RNG are restored; with
    skills redrawn within episodes, the skills of the steps after the kill too (the buffer's ``skill``)."""
    monkeypatch.setattr(buffer_chunks, "CHUNK_ROWS", 256)
    full, _ = make(tmp_path, "a", "total_steps=1400", f"env.name={env}", *extra)
    result_a = full.train()
    crashed, run_dir = make(tmp_path, "b", "total_steps=1400", f"env.name={env}", *extra)
    crashed.__class__ = CrashingTrainer
    with pytest.raises(Crash):
        crashed.train()
    state = load_checkpoint(latest_checkpoint(run_dir))
    manifest = json.loads(state["buffer"])
    assert state["step"] == crashed.global_step >= 800 and len(manifest["files"]) == 4
    # incremental: the chunk of rows 0..255 was written at the first checkpoint and not rewritten since
    first = int(manifest["files"][0].split("_")[2][:-3])
    assert manifest["files"][0].startswith("chunk_000000_") and 400 <= first < state["step"]
    assert sorted(p.name for p in (run_dir / "checkpoints" / "buffer").iterdir()) == manifest["files"]
    resumed = Trainer.resume(run_dir)
    assert resumed.global_step == state["step"] and resumed.learner.num_updates == crashed.learner.num_updates
    assert resumed.env_restored
    result_b = resumed.train()
    assert resumed.global_step == full.global_step >= 1400
    assert resumed.learner.num_updates == full.learner.num_updates
    assert crashed.history + resumed.history == full.history
    assert_same_buffer(resumed.buffer, full.buffer)
    assert result_b["coverage"] == result_a["coverage"]
    for k, v in full.agent.state_dict().items():
        assert torch.equal(v, resumed.agent.state_dict()[k]), k


def test_an_env_that_cannot_be_restored_resumes_at_an_episode_boundary_and_says_so(tmp_path, capsys):
    from rlinfo.run.cli import main

    args = [*TINY, "env.name=dmc:point_mass-easy", "env.num_envs=2", "total_steps=400",
            "train.rollout_steps=2", f"run_root={tmp_path}", "run_name=d"]  # fmt: skip
    assert main(["train", "metra_maze", *args]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "d"), "total_steps=600"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if "cannot be restored mid-episode" in x]
    assert len(line) == 1 and "dmc:point_mass-easy" in line[0] and "episode boundary" in line[0]
    assert json.loads((tmp_path / "d" / "eval.json").read_text())["steps"] == 600


def test_resume_errors_are_clear(tmp_path):
    with pytest.raises(CheckpointError, match="run directory not found"):
        Trainer.resume(tmp_path / "missing")
    trainer, run_dir = make(tmp_path, "done", "total_steps=400")
    trainer.train()
    with pytest.raises(RlinfoError, match="already reached total_steps=400"):
        Trainer.resume(run_dir)
    with pytest.raises(RlinfoError, match="cannot change agent.hidden_dim"):
        Trainer.resume(run_dir, ["agent.hidden_dim=64", "total_steps=800"])
    (run_dir / "checkpoints" / "latest.json").unlink()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Trainer.resume(run_dir, ["total_steps=800"])


def test_continuing_a_finished_run_keeps_the_evaluation_schedule(tmp_path):
    """The final evaluation of a finished run stands for the periodic one due there: continuing the run
    to a larger total_steps evaluates next one interval later, not at once."""
    trainer, run_dir = make(tmp_path, "done", "total_steps=400", "train.eval_every=200")
    trainer.train()
    Trainer.resume(run_dir, ["total_steps=800"]).train()
    assert scalar_steps(run_dir, "eval/coverage") == [200, 400, 600, 800]


def test_evaluations_turned_on_at_resume_start_one_interval_later(tmp_path):
    trainer, run_dir = make(tmp_path, "off", "total_steps=1000", "train.eval_every=0")
    learn = trainer.learner.learn

    def learn_then_stop(step, progress, collector):  # type: ignore[no-untyped-def]
        if step >= 400:
            trainer.stop_signal = signal.SIGINT  # what the SIGINT handler sets
        return learn(step, progress, collector)

    trainer.learner.learn = learn_then_stop
    with pytest.raises(RlinfoError, match="stopped by SIGINT"):
        trainer.train()
    stopped_at = trainer.global_step
    Trainer.resume(run_dir, ["train.eval_every=200"]).train()
    evals = scalar_steps(run_dir, "eval/coverage")
    assert evals[-1] == 1000 and len(evals) == 3  # two periodic evaluations, then the final one
    assert stopped_at + 200 <= evals[0] < stopped_at + 400


def read_buffer(run_dir: Path, like: ReplayBuffer) -> tuple[int, ReplayBuffer]:
    state = load_checkpoint(latest_checkpoint(run_dir))
    buffer = ReplayBuffer(like.capacity, like.obs.shape[1], like.action.shape[1], like.skill.shape[1])
    BufferChunks(run_dir / "checkpoints" / "buffer").load(buffer, json.loads(state["buffer"]))
    return state["step"], buffer


def scalar_steps(run_dir: Path, tag: str) -> list[int]:
    """The steps of ``tag`` over every events file, sorted (file order depends on the writers' names: a
    process's 10th writer sorts before its 9th), duplicates kept."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return sorted(e.step for e in events.Scalars(tag))


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path):
    exe = shutil.which("rlinfo")
    assert exe is not None
    args = [*TINY, "train.grad_steps=16", f"run_root={tmp_path}", "run_name=k"]
    proc = subprocess.Popen([exe, "train", *args, "total_steps=100000"], stdout=subprocess.DEVNULL)
    run_dir, latest = tmp_path / "k", tmp_path / "k" / "checkpoints" / "latest.json"
    while not latest.exists() and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # let it run on past the checkpoint, writing events that must be dropped
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(latest.read_text())["step"]
    total = killed_at + 800
    out = subprocess.run(
        [exe, "train", "--resume", str(run_dir), f"total_steps={total}"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert f"resuming {run_dir} at step {killed_at}" in out.stdout
    reference = Trainer(
        load_config("metra_maze", [*args[:-2], "train.grad_steps=16", f"total_steps={total}"])
    )
    reference.train()
    step, buffer = read_buffer(run_dir, reference.buffer)
    assert step == reference.global_step >= total
    assert_same_buffer(buffer, reference.buffer)
    expected = [int(r["step"]) for r in reference.history]  # one row per log interval
    assert len(expected) >= total // 200 - 1 and len(set(expected)) == len(expected)
    assert scalar_steps(run_dir, "charts/sps") == expected
    assert scalar_steps(run_dir, "losses/critic") == expected


def test_checkpoints_from_before_the_run_layer_resume(tmp_path):
    """A checkpoint in the old flat loop layout (one trainer per agent, before rlinfo/run/) resumes: the
    collector, the sampling generator and the update count are regrouped under their owners."""
    from rlinfo.checkpoint import save_checkpoint

    trainer, run_dir = make(tmp_path, "old", "total_steps=400")
    trainer.train()
    state = load_checkpoint(latest_checkpoint(run_dir))
    loop, meta = state["loop"], json.loads(state["meta"])
    old_loop = {  # the layout agents/trainer.py wrote before the run layer
        "rng": {**loop["rng"], "sample_gen": loop["learner"]["gen"]},
        "metric_sums": loop["metric_sums"],
        "episodes": {k: loop["collector"][k] for k in ("obs", "skills", "autoreset", "ep_return")},
        "env": loop["env"],
    }
    old_loop["episodes"]["ep_length"] = loop["collector"]["ep_length"]
    old_meta = {"global_step": meta["global_step"], "num_updates": meta["learner"]["num_updates"]}
    old_meta |= {"marks": meta["marks"], "rng": {"action_space": meta["action_space_rng"]}}
    old_meta |= {"metrics": meta["metrics"], "env": meta["env"]}
    old_meta["finished"] = [[r, n] for r, n, _ in meta["collector"]["finished"]]
    state["loop"], state["meta"] = old_loop, json.dumps(old_meta)
    save_checkpoint(run_dir, state["step"], state)
    resumed = Trainer.resume(run_dir, ["total_steps=600"])
    assert resumed.global_step == state["step"]
    assert resumed.learner.num_updates == meta["learner"]["num_updates"]
    assert torch.equal(resumed.learner.gen.get_state(), loop["learner"]["gen"])
    assert resumed.train()["steps"] >= 600


def test_a_signal_stop_off_the_log_schedule_logs_the_same_curves(tmp_path):
    """SIGTERM at a step between two logs: the checkpoint keeps the steps whose intrinsic rewards are not
    summed yet, so the resumed run logs exactly what the uninterrupted one logs (history and events)."""
    import signal

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlinfo.run.loop import Stopped

    full, full_dir = make(tmp_path, "a", "total_steps=1400")
    full.train()
    stopped, run_dir = make(tmp_path, "b", "total_steps=1400")
    collect = stopped.learner.collect

    def collect_then_signal(collector, step, total):
        new = collect(collector, step, total)
        rows = sum(len(s.obs) for s in stopped.learner.unscored)
        if new >= 650 and 0 < rows < 64:  # steps whose intrinsic rewards the update will not sum yet
            stopped.stop_signal = signal.SIGTERM  # as the handler does
        return new

    stopped.learner.collect = collect_then_signal
    with pytest.raises(Stopped):
        stopped.train()
    state = load_checkpoint(latest_checkpoint(run_dir))
    assert state["step"] % 200 and "unscored" in state["loop"]["learner"]  # off the 200-step log schedule
    resumed = Trainer.resume(run_dir)
    resumed.train()
    assert stopped.history + resumed.history == full.history

    def curve(path, tag):
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    for tag in ("charts/intrinsic_return", "charts/episodic_return"):
        assert curve(run_dir, tag) == curve(full_dir, tag), tag


def test_a_kill_during_the_final_evaluation_is_redone_by_rlinfo_eval(tmp_path, capsys):
    """The final checkpoint is written before the final evaluation: after a kill there, --resume points
    to `rlinfo eval RUN_DIR`, which writes eval.json and the eval/* TensorBoard scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlinfo.run.cli import main

    trainer, run_dir = make(tmp_path, "k", "total_steps=600")
    trainer.evaluate = lambda figure_path: (_ for _ in ()).throw(KeyboardInterrupt)  # the kill
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    trainer.close()
    assert latest_checkpoint(run_dir).name.endswith("600.pt") and not (run_dir / "eval.json").exists()
    assert main(["train", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"`rlinfo eval {run_dir}` redoes it" in err and "\n" not in err
    assert main(["eval", str(run_dir)]) == 0
    assert json.loads((run_dir / "eval.json").read_text())["steps"] == 600
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("eval/coverage")] == [600]


def test_a_resume_that_starts_new_episodes_scores_the_saved_unscored_steps_first(tmp_path):
    """An env that cannot be restored (maze_goal) stopped off the log schedule: the checkpoint's unscored
    steps are summed into their episodes before new episodes start, and training goes on."""
    import signal

    from rlinfo.run.loop import Stopped

    stopped, run_dir = make(tmp_path, "g", "total_steps=1400", "env.name=maze_goal")
    collect = stopped.learner.collect

    def collect_then_signal(collector, step, total):
        new = collect(collector, step, total)
        if new >= 650 and 0 < sum(len(s.obs) for s in stopped.learner.unscored) < 64:
            stopped.stop_signal = signal.SIGTERM
        return new

    stopped.learner.collect = collect_then_signal
    with pytest.raises(Stopped):
        stopped.train()
    assert "unscored" in load_checkpoint(latest_checkpoint(run_dir))["loop"]["learner"]
    resumed = Trainer.resume(run_dir)
    assert not resumed.env_restored and resumed.learner.unscored == [] and resumed.collector.pending == []
    assert resumed.train()["steps"] >= 1400


def test_a_checkpoint_written_before_a_config_section_existed_still_resumes():
    """Checkpoints carry their config; one from before ``finetune`` existed lacks the section, and the
    run ran as its defaults do: no identity change."""
    from rlinfo.config import load_config, to_dict
    from rlinfo.run.resume import check_against_checkpoint

    cfg = load_config("metra_maze")
    saved = to_dict(cfg)
    del saved["finetune"]
    check_against_checkpoint(cfg, saved, 100)  # no error
    saved["agent"]["hidden_dim"] = 7
    with pytest.raises(RlinfoError, match="cannot change agent.hidden_dim since the checkpoint of step 100"):
        check_against_checkpoint(cfg, saved, 100)
