"""Replay storage: preallocated tensors on the training device, rewards relabelled at sample time.

The buffer stores *raw* transitions (obs, action, next_obs, terminated, skill, extrinsic reward),
never intrinsic rewards: those are recomputed from the current reward networks every time a batch
is sampled (METRA, CIC, BeCL and CSF all need this), see :meth:`ReplayBuffer.sample`.

n-step pairs (URLB's ``nstep=3``, off by default): every stored transition keeps ``next_index``, the
buffer index of the same env's next stored transition (−1 when none is stored yet or the episode ended
there). ``sample(n_step=n)`` follows it up to n − 1 times and returns the pair (s_t, s_{t+k}),
k = min(n, steps to the episode end), with ``batch.steps = k``; with ``gamma`` its extrinsic reward is
URLB's n-step return Σ_{i<k} γ^i r_{t+i}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rlinfo.types import Batch

RewardFn = Callable[[Batch], Tensor]
FIELDS = ("obs", "next_obs", "action", "reward", "terminated", "skill", "next_index")  # per-row tensors


class ReplayBuffer:
    """A circular buffer of ``capacity`` transitions held as tensors on ``device``."""

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        if capacity <= 0:
            raise ValueError(f"buffer capacity must be positive, got {capacity}")
        self.capacity, self.device = capacity, torch.device(device)
        self.obs = torch.zeros(capacity, obs_dim, device=self.device)
        self.next_obs = torch.zeros(capacity, obs_dim, device=self.device)
        self.action = torch.zeros(capacity, action_dim, device=self.device)
        self.reward = torch.zeros(capacity, device=self.device)
        self.terminated = torch.zeros(capacity, dtype=torch.bool, device=self.device)
        self.skill = torch.zeros(capacity, skill_dim, device=self.device) if skill_dim else None
        long = {"dtype": torch.long, "device": self.device}
        self.next_index = torch.full((capacity,), -1, **long)  # same env's next transition (−1: none)
        self.last_index = torch.full((0,), -1, **long)  # per env: its latest row while the episode runs
        self.pos = 0  # next write index
        self.size = 0
        self.added = 0  # transitions ever added (chunked checkpoints save what changed since the last)

    def __len__(self) -> int:
        return self.size

    @staticmethod
    def bytes_per_row(obs_dim: int, action_dim: int, skill_dim: int = 0) -> int:
        """Memory of one stored transition: obs and next_obs, action, skill, reward (float32), terminated
        (bool) and the n-step link (int64)."""
        return 4 * (2 * obs_dim + action_dim + skill_dim + 1) + 1 + 8

    def add(
        self,
        batch: Batch,
        keep: Tensor | None = None,
        env_ids: Tensor | None = None,
        done: Tensor | None = None,
    ) -> None:
        """Append the transitions of ``batch`` whose ``keep`` flag is True (all if ``keep`` is None).

        Vector envs with next-step autoreset return a reset step that is not a transition; pass
        ``keep = ~autoreset`` so it is never stored. ``env_ids`` (one row per env) and ``done``
        (terminated or truncated), given before ``keep`` filtering, link each row to the same env's
        previous row for n-step sampling; without them rows are not linked.
        """
        if keep is not None and not bool(keep.all()):
            idx_keep = keep.nonzero().squeeze(-1)
            batch = Batch(
                obs=batch.obs[idx_keep],
                action=batch.action[idx_keep],
                next_obs=batch.next_obs[idx_keep],
                terminated=batch.terminated[idx_keep],
                skill=None if batch.skill is None else batch.skill[idx_keep],
                reward=None if batch.reward is None else batch.reward[idx_keep],
            )
            env_ids = None if env_ids is None else env_ids.to(self.device)[idx_keep]
            done = None if done is None else done.to(self.device)[idx_keep]
        n = len(batch)
        if n == 0:
            return
        if n > self.capacity:
            raise ValueError(f"cannot add {n} transitions to a buffer of capacity {self.capacity}")
        idx = (torch.arange(n, device=self.device) + self.pos) % self.capacity
        rows = slice(self.pos, self.pos + n) if self.pos + n <= self.capacity else idx  # a view if no wrap
        self.obs[rows] = batch.obs.to(self.device, torch.float32)
        self.next_obs[rows] = batch.next_obs.to(self.device, torch.float32)
        self.action[rows] = batch.action.to(self.device, torch.float32).reshape(n, -1)
        self.terminated[rows] = batch.terminated.to(self.device, torch.bool)
        self.reward[rows] = 0.0 if batch.reward is None else batch.reward.to(self.device, torch.float32)
        if self.skill is not None:
            if batch.skill is None:
                raise ValueError("this buffer stores skills but the batch has none")
            self.skill[rows] = batch.skill.to(self.device, torch.float32)
        self.link(idx, env_ids, done, overwrites=self.size + n > self.capacity or self.pos != self.size)
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        self.added += n

    def link(self, idx: Tensor, env_ids: Tensor | None, done: Tensor | None, overwrites: bool = True) -> None:
        """next_index[previous row of env e] = new row of env e; a done row ends its env's chain.

        ``overwrites``: some rows of ``idx`` held transitions before (False while the buffer fills)."""
        if overwrites:
            self.last_index[torch.isin(self.last_index, idx)] = -1  # an env's latest row is being replaced
        self.next_index[idx] = -1
        if env_ids is None:
            return
        env_ids = env_ids.to(self.device, torch.long)
        if len(env_ids) > 1 and env_ids.unique().numel() != len(env_ids):
            raise ValueError("add: env_ids must hold one row per env")
        if int(env_ids.max()) >= len(self.last_index):  # first time this env is seen
            grown = torch.full((int(env_ids.max()) + 1,), -1, dtype=torch.long, device=self.device)
            grown[: len(self.last_index)] = self.last_index
            self.last_index = grown
        prev = self.last_index[env_ids]
        linked = prev >= 0
        self.next_index[prev[linked]] = idx[linked]
        ended = torch.zeros_like(idx, dtype=torch.bool) if done is None else done.to(self.device, torch.bool)
        self.last_index[env_ids] = torch.where(ended, -1, idx)

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        relabel: RewardFn | None = None,
        n_step: int = 1,
        gamma: float | None = None,
    ) -> Batch:
        """A uniform batch (indices drawn on the buffer's device).

        With ``relabel``, ``batch.reward`` is replaced by ``relabel(batch)``: the reward from the
        *current* networks, computed now rather than at insertion time.

        With ``n_step > 1`` each sampled transition t is followed along its env's chain up to
        n − 1 times, stopping at the episode end: ``next_obs`` and ``terminated`` are those of the
        last transition t + k − 1 reached and ``batch.steps = k`` (1 ≤ k ≤ n). ``reward`` is the
        extrinsic reward of step t, or with ``gamma`` the discounted sum over the pair's k steps,
        Σ_{i<k} γ^i r_{t+i} (URLB's n-step return; the agent bootstraps with γ^k). ``n_step = 1`` draws the
        same indices and returns ``steps=None``.
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        idx = torch.randint(self.size, (batch_size,), device=self.device, generator=generator)
        last, steps, reward = idx, None, self.reward[idx]
        if n_step > 1:
            steps = torch.ones_like(idx)
            for i in range(1, n_step):
                nxt = self.next_index[last]
                go = (nxt >= 0) & ~self.terminated[last]  # once false, false for the rest of the chain
                last, steps = torch.where(go, nxt, last), steps + go.long()
                if gamma is not None:
                    reward = reward + go.float() * gamma**i * self.reward[last]
        batch = Batch(
            obs=self.obs[idx],
            action=self.action[idx],
            next_obs=self.next_obs[last],
            terminated=self.terminated[last],
            skill=None if self.skill is None else self.skill[idx],
            reward=reward,
            steps=steps,
        )
        if relabel is not None:
            batch.reward = relabel(batch)
        return batch

    # ------------------------------------------------------------------ saved state (the one get/set pair)

    def rows(self, lo: int, hi: int) -> dict[str, Tensor]:
        """CPU copies of the per-row tensors of rows ``[lo, hi)``."""
        return {
            n: getattr(self, n)[lo:hi].detach().cpu().clone() for n in FIELDS if getattr(self, n) is not None
        }

    def set_rows(self, lo: int, rows: dict[str, Tensor]) -> int:
        """Write per-row tensors (from :meth:`rows`) at ``lo``; returns the number of rows written."""
        n = len(rows["obs"])
        if lo + n > self.capacity:
            raise ValueError(f"cannot write rows {lo}..{lo + n} into a buffer of capacity {self.capacity}")
        for name in FIELDS:
            target = getattr(self, name)
            if name == "next_index" and name not in rows:  # saved before n-step links: none
                target[lo : lo + n] = -1
            elif target is not None:
                target[lo : lo + n] = typing_tensor(rows[name]).to(target.device, target.dtype)
        return n

    def counters(self) -> dict[str, Any]:
        """JSON: capacity, write position, size, transitions ever added and each env's latest row."""
        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "size": self.size,
            "added": self.added,
            "last_index": self.last_index.tolist(),
        }

    def set_counters(self, counters: dict[str, Any]) -> None:
        if int(counters["capacity"]) != self.capacity or int(counters["size"]) > self.capacity:
            raise ValueError(
                f"saved buffer has capacity {counters['capacity']} and {counters['size']} transitions; "
                f"this buffer has capacity {self.capacity}"
            )
        self.pos, self.size = int(counters["pos"]), int(counters["size"])
        self.added = int(counters.get("added", self.size))
        last = [int(i) for i in counters.get("last_index", [])]
        self.last_index = torch.tensor(last, dtype=torch.long, device=self.device)

    def state_dict(self) -> dict[str, Any]:
        """Everything in memory at once: the filled rows plus the counters."""
        return {"rows": self.rows(0, self.size), "counters": self.counters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.set_rows(0, state["rows"])
        self.set_counters(state["counters"])


def typing_tensor(value: Tensor | int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"expected a tensor in the buffer state, got {type(value).__name__}")
    return value
