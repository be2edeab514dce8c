"""The reward-module contract every intrinsic reward in rlinfo follows.

A module is an ``nn.Module`` holding its own networks and optimisers. Any training loop
(rlinfo's trainer, stable-baselines3, a user's own) uses it the same way:

    r = module.reward(batch)      # [B] rewards from the *current* networks, no gradient
    stats = module.update(batch)  # one optimisation step of the module's own networks

Rewards are recomputed whenever a batch is sampled (relabelled at sample time), so a replay
buffer stores raw transitions and skills, never intrinsic rewards. Modules never touch an
environment or an agent.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.skills import SkillSpace
from rlinfo.types import Batch


def check_int(owner: str, name: str, value: object, minimum: int) -> None:
    """One-line ``ValueError`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")


def check_float(owner: str, name: str, value: object, positive: bool = True) -> None:
    """One-line ``ValueError`` unless ``value`` is a finite number > 0 (``positive``) or >= 0."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{owner}: {name} must be a finite number {bound}, got {value!r}")


class IntrinsicReward(nn.Module):
    """Base class: subclasses set ``name`` and implement :meth:`reward` and :meth:`update`.

    Optimisers are registered in ``self.optimizers`` (name -> optimiser) so that checkpoints
    can save and restore them alongside ``state_dict()``.
    """

    name: str = "intrinsic"
    #: True for a reward of one env step (a task reward or cost: ``extrinsic``, ``tabletop_reach``, …).
    #: An n-step pair (s_t, s_{t+k}) carries one reward, so it would drop r_{t+1}, …, r_{t+k−1} of such
    #: a reward: ``train.n_step > 1`` refuses them (URLB's n-step pairs are for intrinsic rewards).
    per_step: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def reward(self, batch: Batch) -> Tensor:  # pragma: no cover - interface
        """Intrinsic reward of each transition, shape [B], computed without gradient."""
        raise NotImplementedError

    def update(self, batch: Batch) -> dict[str, Tensor]:  # pragma: no cover - interface
        """One optimisation step; returns detached scalar tensors for logging (no ``.item()``)."""
        raise NotImplementedError

    def optimizer_state(self) -> dict[str, Any]:
        return {k: opt.state_dict() for k, opt in self.optimizers.items()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        missing = set(self.optimizers) - set(state)
        if missing:
            raise KeyError(f"optimizer state missing for {sorted(missing)}")
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state[k])


class SkillReward(IntrinsicReward):
    """A reward that depends on a skill z ~ p(z); the agent is conditioned on z."""

    skill_space: SkillSpace

    def skill_for_goal(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """Zero-shot skill that moves from ``obs`` towards ``goal_obs`` (where defined)."""
        raise NotImplementedError(f"{type(self).__name__} has no zero-shot goal skill")
