"""Overlapped collection (``train.overlap``): the worker's rollouts reach the replay buffer whole.

With a frozen policy the overlapped loop stores exactly the transitions of the plain loop (it acts
with the same actor and the same noise generator; only *when* the rollout runs changes); with a
learning policy every episode in the buffer keeps its chain of steps and its one skill, the run is
deterministic at a fixed seed and resumes exactly.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

import rlinfo.buffer_chunks as buffer_chunks
from rlinfo.buffers import ReplayBuffer
from rlinfo.config import load_config
from rlinfo.errors import RlinfoError
from rlinfo.run.collect import Collector
from rlinfo.run.loop import Trainer
from rlinfo.run.rundir import create_run_dir
from tests.run.test_resume import TINY, Crash, CrashingTrainer, assert_same_buffer


def make(tmp_path: Path, name: str, *overrides: str) -> tuple[Trainer, Path]:
    cfg = load_config("metra_maze", [*TINY, f"run_root={tmp_path}", f"run_name={name}", *overrides])
    cfg, run_dir = create_run_dir(cfg)
    return Trainer(cfg, run_dir), run_dir


def record_collecting_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread of every policy-driven ``Collector.step`` call."""
    names: list[str] = []
    step = Collector.step

    def recording(self: Collector, policy):  # type: ignore[no-untyped-def]
        if policy is not None:
            names.append(threading.current_thread().name)
        return step(self, policy)

    monkeypatch.setattr(Collector, "step", recording)
    return names


def episodes(buffer: ReplayBuffer) -> list[list[int]]:
    """The buffer's rows as episodes: chains of ``next_index`` links from rows no other row points to."""
    size = buffer.size
    nxt = buffer.next_index[:size].tolist()
    has_parent = set(j for j in nxt if j >= 0)
    chains = []
    for start in range(size):
        if start in has_parent:
            continue
        chain = [start]
        while nxt[chain[-1]] >= 0:
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    return chains


def test_frozen_policy_overlapped_stores_the_plain_loops_transitions(tmp_path, monkeypatch):
    frozen = ["total_steps=1200", "agent.lr=1e-30"]  # steps below float32 resolution: a fixed actor
    plain, _ = make(tmp_path, "plain", *frozen)
    plain.train()
    threads = record_collecting_threads(monkeypatch)
    overlapped, _ = make(tmp_path, "overlap", *frozen, "train.overlap=true")
    overlapped.train()
    # every policy-driven rollout after the first update phase ran on the worker thread (the main
    # thread acts only where the random phase ends inside a rollout)
    worker = [name.startswith("rlinfo-collect") for name in threads]
    first = worker.index(True)
    assert all(worker[first:]) and first < plain.cfg.train.rollout_steps
    assert overlapped.global_step == plain.global_step >= 1200
    assert overlapped.learner.num_updates == plain.learner.num_updates > 0
    assert_same_buffer(overlapped.buffer, plain.buffer)
    assert torch.equal(overlapped.buffer.next_index, plain.buffer.next_index)  # the same episode links


def test_overlapped_buffer_keeps_episode_boundaries_and_skills(tmp_path):
    trainer, _ = make(tmp_path, "a", "total_steps=900", "train.buffer_size=2000", "train.overlap=true")
    trainer.train()
    buffer = trainer.buffer
    assert buffer.size == trainer.global_step  # every real transition once, none of the reset steps
    chains = episodes(buffer)
    running = trainer.cfg.env.num_envs  # the episodes still open at the end (one per env)
    lengths = sorted(len(c) for c in chains)
    horizon = lengths[-1]
    assert lengths[: len(lengths) - running].count(horizon) >= len(chains) - 2 * running
    assert sum(lengths) == buffer.size
    for chain in chains:
        rows = torch.tensor(chain)
        assert torch.equal(buffer.next_obs[rows[:-1]], buffer.obs[rows[1:]])  # s'_t = s_{t+1}
        skills = buffer.skill[rows]
        assert torch.equal(skills, skills[:1].expand_as(skills))  # one skill per episode
    starts = torch.stack([buffer.skill[c[0]] for c in chains])
    assert len(torch.unique(starts, dim=0)) == len(chains)  # every episode drew its own skill


def test_overlapped_run_is_deterministic_and_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer_chunks, "CHUNK_ROWS", 256)
    full, _ = make(tmp_path, "a", "total_steps=1400", "train.overlap=true")
    full.train()
    again, _ = make(tmp_path, "b", "total_steps=1400", "train.overlap=true")
    again.train()
    assert again.history == full.history
    crashed, run_dir = make(tmp_path, "c", "total_steps=1400", "train.overlap=true")
    crashed.__class__ = CrashingTrainer
    with pytest.raises(Crash):
        crashed.train()
    assert crashed.learner.ahead > 0  # the checkpoint holds a stored rollout the loop has not counted
    resumed = Trainer.resume(run_dir)
    resumed.train()
    assert resumed.global_step == full.global_step
    assert crashed.history + resumed.history == full.history
    assert_same_buffer(resumed.buffer, full.buffer)
    for trainer in (again, resumed):
        for k, v in full.agent.state_dict().items():
            assert torch.equal(v, trainer.agent.state_dict()[k]), k


def test_overlap_refuses_ppo():
    with pytest.raises(RlinfoError, match="train.overlap=true needs an off-policy agent"):
        load_config("ppo_cartpole", ["train.overlap=true"])  # refused with the config, before building
