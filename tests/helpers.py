"""Helpers shared by several test files (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import torch

from rlinfo.types import Batch


def skill_batch(obs, next_obs, skill) -> Batch:
    """A Batch of hand-written transitions with skills (zero actions, no termination)."""
    obs, next_obs = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(next_obs, dtype=torch.float32)
    return Batch(
        obs=obs,
        action=torch.zeros(len(obs), 1),
        next_obs=next_obs,
        terminated=torch.zeros(len(obs), dtype=torch.bool),
        skill=torch.as_tensor(skill, dtype=torch.float32),
    )
