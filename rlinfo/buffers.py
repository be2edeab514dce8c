"""Replay storage: preallocated tensors on the training device, rewards relabelled at sample time.

The buffer stores *raw* transitions (obs, action, next_obs, terminated, skill, extrinsic reward),
never intrinsic rewards: those are recomputed from the current reward networks every time a batch
is sampled (METRA, CIC, BeCL and CSF all need this), see :meth:`ReplayBuffer.sample`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlinfo.types import Batch

RewardFn = Callable[[Batch], Tensor]


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
        self.pos = 0  # next write index
        self.size = 0
        self.added = 0  # transitions ever added (chunked checkpoints save what changed since the last)

    def __len__(self) -> int:
        return self.size

    def add(self, batch: Batch, keep: Tensor | None = None) -> None:
        """Append the transitions of ``batch`` whose ``keep`` flag is True (all if ``keep`` is None).

        Vector envs with next-step autoreset return a reset step that is not a transition; pass
        ``keep = ~autoreset`` so it is never stored.
        """
        if keep is not None:
            idx_keep = keep.nonzero().squeeze(-1)
            batch = Batch(
                obs=batch.obs[idx_keep],
                action=batch.action[idx_keep],
                next_obs=batch.next_obs[idx_keep],
                terminated=batch.terminated[idx_keep],
                skill=None if batch.skill is None else batch.skill[idx_keep],
                reward=None if batch.reward is None else batch.reward[idx_keep],
            )
        n = len(batch)
        if n == 0:
            return
        if n > self.capacity:
            raise ValueError(f"cannot add {n} transitions to a buffer of capacity {self.capacity}")
        idx = (torch.arange(n, device=self.device) + self.pos) % self.capacity
        self.obs[idx] = batch.obs.to(self.device, torch.float32)
        self.next_obs[idx] = batch.next_obs.to(self.device, torch.float32)
        self.action[idx] = batch.action.to(self.device, torch.float32).reshape(n, -1)
        self.terminated[idx] = batch.terminated.to(self.device, torch.bool)
        self.reward[idx] = 0.0 if batch.reward is None else batch.reward.to(self.device, torch.float32)
        if self.skill is not None:
            if batch.skill is None:
                raise ValueError("this buffer stores skills but the batch has none")
            self.skill[idx] = batch.skill.to(self.device, torch.float32)
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        self.added += n

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, relabel: RewardFn | None = None
    ) -> Batch:
        """A uniform batch (indices drawn on the buffer's device).

        With ``relabel``, ``batch.reward`` is replaced by ``relabel(batch)``: the reward from the
        *current* networks, computed now rather than at insertion time.
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.randint(self.size, (batch_size,), device=self.device, generator=generator)
        batch = Batch(
            obs=self.obs[idx],
            action=self.action[idx],
            next_obs=self.next_obs[idx],
            terminated=self.terminated[idx],
            skill=None if self.skill is None else self.skill[idx],
            reward=self.reward[idx],
        )
        if relabel is not None:
            batch.reward = relabel(batch)
        return batch

    def state_dict(self) -> dict[str, Tensor | int]:
        """Tensors of the filled part plus the write position (for checkpoints)."""
        state: dict[str, Tensor | int] = {"pos": self.pos, "size": self.size, "added": self.added}
        for name in ("obs", "next_obs", "action", "reward", "terminated", "skill"):
            value = getattr(self, name)
            if value is not None:
                state[name] = value[: self.size].clone()
        return state

    def load_state_dict(self, state: dict[str, Tensor | int]) -> None:
        size = int(state["size"])
        if size > self.capacity:
            raise ValueError(f"saved buffer holds {size} transitions, capacity is {self.capacity}")
        for name in ("obs", "next_obs", "action", "reward", "terminated", "skill"):
            target = getattr(self, name)
            if target is not None:
                target[:size] = typing_tensor(state[name]).to(self.device)
        self.pos, self.size = int(state["pos"]), size
        self.added = int(state.get("added", size))  # type: ignore[arg-type]


def typing_tensor(value: Tensor | int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"expected a tensor in the buffer state, got {type(value).__name__}")
    return value
