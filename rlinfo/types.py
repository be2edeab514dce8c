"""The one data structure every reward module and agent exchanges: a batch of transitions."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor


@dataclass
class Batch:
    """A batch of B transitions on one device (leading dimension B everywhere).

    ``terminated`` marks true terminal states only; a time-limit truncation is *not*
    termination and must bootstrap. ``skill`` is the skill the transition was collected
    with (``None`` for skill-free agents) and ``reward`` the extrinsic reward, if any. ``steps`` is
set only for n-step pairs (``train.n_step > 1``): ``next_obs`` is then s_{t+k}, k = ``steps``.
    """

    obs: Tensor  # [B, obs_dim]
    action: Tensor  # [B, act_dim] (continuous) or [B] (discrete)
    next_obs: Tensor  # [B, obs_dim]
    terminated: Tensor  # [B] bool
    skill: Tensor | None = None  # [B, skill_dim]
    reward: Tensor | None = None  # [B]
    steps: Tensor | None = None  # [B] long: env steps k from obs to next_obs (n-step pairs; None: 1)

    def __len__(self) -> int:
        return self.obs.shape[0]

    def to(self, device: torch.device | str) -> Batch:
        """Return a copy with every tensor moved to ``device``."""
        moved = {
            f.name: (getattr(self, f.name).to(device) if getattr(self, f.name) is not None else None)
            for f in fields(self)
        }
        return Batch(**moved)

    def with_skill(self, skill: Tensor) -> Batch:
        """Return a copy whose ``skill`` is replaced (used for relabelling with other skills)."""
        return replace(self, skill=skill)
