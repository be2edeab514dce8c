"""The reward-module contract every intrinsic reward in rlinfo follows.

A module is an ``nn.Module`` holding its own networks and optimisers. Any training loop
(rlinfo's trainer, stable-baselines3, a user's own) uses it the same way:

    r = module.reward(batch)      # [B] rewards from the *current* networks, no gradient
    stats = module.update(batch)  # one optimisation step of the module's own networks

Rewards are recomputed whenever a batch is sampled (relabelled at sample time), so a replay
buffer stores raw transitions and skills, never intrinsic rewards. Modules never touch an
environment or an agent.

Pieces every module shares are written here once: the constructor checks (``check_int``,
``check_float``, ``check_net_args``), the optimiser step (:meth:`IntrinsicReward.optimizer_step`) and
reading the skill out of a batch (:meth:`SkillReward.batch_skill`). Running statistics live in
``rlinfo.running_stats``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.nn import check_init
from rlinfo.optim import Optimizer
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


def check_net_args(
    owner: str,
    obs_dim: int,
    action_dim: int,
    hidden_dim: int,
    num_layers: int,
    lr: float,
    min_action_dim: int = 0,
    init: str = "torch",
) -> None:
    """One-line ``ValueError`` for a bad network argument of a reward module: obs_dim ≥ 1, action_dim ≥
    ``min_action_dim`` (0: actions unused; 1: continuous actions; 2: discrete ones, one action is no
    choice), hidden_dim ≥ 1, num_layers ≥ 0 (0: one linear layer), lr a finite number > 0, init one of
    :data:`rlinfo.nn.NET_INITS`."""
    check_int(owner, "obs_dim", obs_dim, 1)
    check_int(owner, "action_dim", action_dim, min_action_dim)
    check_int(owner, "hidden_dim", hidden_dim, 1)
    check_int(owner, "num_layers", num_layers, 0)
    check_float(owner, "lr", lr, positive=True)
    check_init(owner, init)


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
        self.optimizers: dict[str, Optimizer] = {}

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

    def optimizer_step(self, loss: Tensor, name: str) -> None:
        """One step of ``self.optimizers[name]`` on ``loss``: zero the gradients (to None), ∇loss, step."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

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
    skill_dim: int

    def batch_skill(self, batch: Batch, index: bool = False) -> Tensor:
        """The skill z of each transition, from ``batch.skill``, with a one-line error if it is missing.

        ``index=False``: z as float [B, skill_dim]. ``index=True`` (discrete skills): the integer skill
        [B], argmax of a one-hot [B, skill_dim] or the indices [B] themselves.
        """
        owner, z = type(self).__name__, batch.skill
        if z is None:
            kind = "[B, skill_dim] one-hot" if index else "[B, skill_dim]"
            raise ValueError(f"{owner} needs batch.skill ({kind}); got None")
        if index and z.dim() == 1:
            return z.long()
        if z.shape[-1] != self.skill_dim:
            raise ValueError(f"{owner}: batch.skill has dim {z.shape[-1]}, expected {self.skill_dim}")
        return z.argmax(-1) if index else z.float()

    @property
    def has_goal_skill(self) -> bool:
        """Whether :meth:`skill_for_goal` is defined (zero-shot goal reaching is evaluated)."""
        return type(self).skill_for_goal is not SkillReward.skill_for_goal

    def skill_for_goal(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """Zero-shot skill that moves from ``obs`` towards ``goal_obs`` (where defined)."""
        raise NotImplementedError(f"{type(self).__name__} has no zero-shot goal skill")
