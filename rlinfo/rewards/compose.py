"""Reward plumbing: normalisation, weighted sums and named channels, composable around any module.

Every piece is itself an :class:`IntrinsicReward`, so it plugs in wherever a single module does:

    explore = Normalized(APT(obs_dim=29, action_dim=8), mode="std")
    total = WeightedSum({"skill": METRA(...), "explore": explore}, {"skill": 1.0, "explore": 0.5})
    r = total.reward(batch)            # [B]: r = Σ_c w_c r_c
    stats = total.update(batch)        # every child updated; stats prefixed "skill/", "explore/"

    channels = RewardChannels({"skill": METRA(...), "task": ExtrinsicReward()})
    R = channels.rewards(batch)        # [B, C], one column per channel in ``channels.names`` order

Running statistics are updated in :meth:`update` only (after the child's own update, on the same
batch), so :meth:`reward` stays a pure function of the module's state, like every rlinfo module;
they are buffers and travel with ``state_dict()``. A composite whose children contain exactly one
:class:`SkillReward` is itself a :class:`SkillReward` (``skill_space`` and ``skill_for_goal`` are the
child's), so trainers, evaluation and the SB3 adapter condition the agent on skills through the
usual ``isinstance(module, SkillReward)`` check. Two skill rewards in one composite are an error.
The children's optimisers appear in ``optimizers`` under ``"<channel>/<name>"`` keys, so
``optimizer_state()`` saves them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.rewards.base import IntrinsicReward, SkillReward, check_float
from rlinfo.running_stats import fold_moments
from rlinfo.skills import SkillSpace
from rlinfo.types import Batch

NORMALIZE_MODES = ("std", "meanstd")


class ExtrinsicReward(IntrinsicReward):
    """The environment's task reward as a reward module: r = batch.reward (registry name ``extrinsic``).

    Lets the task reward be one channel of a :class:`WeightedSum` or :class:`RewardChannels`.
    ``obs_dim`` and ``action_dim`` are accepted (and ignored) so it is built like every module.
    """

    name = "extrinsic"
    per_step = True

    def __init__(self, obs_dim: int = 0, action_dim: int = 0) -> None:
        super().__init__()

    def reward(self, batch: Batch) -> Tensor:
        if batch.reward is None:
            raise ValueError("ExtrinsicReward needs batch.reward (the environment's reward); got None")
        return batch.reward.detach().float()

    def update(self, batch: Batch) -> dict[str, Tensor]:
        return {}


def _skill_child(modules: Mapping[str, IntrinsicReward]) -> str | None:
    """Name of the single SkillReward among ``modules`` (None if there is none)."""
    names = [n for n, m in modules.items() if isinstance(m, SkillReward)]
    if len(names) > 1:
        raise ValueError(f"at most one skill reward can be composed, got {', '.join(names)}")
    return names[0] if names else None


class _SkillDelegate:
    """Mixin for the skill variants: skill space and goal skill of the single skill child."""

    _skill_module: Any  # method of the composite: the skill child

    @property
    def skill_space(self) -> SkillSpace:
        return self._skill_module().skill_space

    @property
    def has_goal_skill(self) -> bool:
        return self._skill_module().has_goal_skill

    def skill_for_goal(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        return self._skill_module().skill_for_goal(obs, goal_obs)


class Normalized(IntrinsicReward):
    """A module's reward divided by its running scale.

        mode="std":      r̃ = r / (σ_r + eps)               (RND / RLLTE: no mean subtraction, keeps the sign)
        mode="meanstd":  r̃ = (r − μ_r) / (σ_r + eps)

    (μ_r, σ_r) are running statistics of the child's rewards on the batches passed to :meth:`update`
    (computed right after the child's update). ``momentum = 0`` gives the exact statistics of all
    rewards seen (parallel Welford update); ``0 < momentum <= 1`` an exponential moving average
    μ ← (1 − m)μ + m·mean_batch (likewise the variance), which tracks non-stationary rewards. Before
    the first update the statistics are those of the scored rewards themselves (what the first update
    would set), so rewards scored before any update are already on the normalised scale.
    """

    def __new__(cls, module: IntrinsicReward | None = None, *args: Any, **kwargs: Any) -> Normalized:
        if cls is Normalized and isinstance(module, SkillReward):
            cls = SkillNormalized
        return super().__new__(cls)

    def __init__(
        self, module: IntrinsicReward, mode: str = "std", momentum: float = 0.0, eps: float = 1e-8
    ) -> None:
        super().__init__()
        if not isinstance(module, IntrinsicReward):
            raise ValueError(f"Normalized: module must be an IntrinsicReward, got {type(module).__name__}")
        if mode not in NORMALIZE_MODES:
            raise ValueError(f"Normalized: mode must be one of {', '.join(NORMALIZE_MODES)}, got {mode!r}")
        check_float("Normalized", "momentum", momentum, positive=False)
        if momentum > 1:
            raise ValueError(f"Normalized: momentum must be in [0, 1], got {momentum!r}")
        check_float("Normalized", "eps", eps, positive=False)
        self.module, self.mode, self.momentum, self.eps = module, mode, float(momentum), float(eps)
        self.name = module.name
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("var", torch.ones(()))
        self.register_buffer("count", torch.zeros(()))
        self.optimizers = module.optimizers

    @property
    def std(self) -> Tensor:
        return self.var.sqrt()

    def normalize(self, r: Tensor) -> Tensor:
        """Apply the current statistics to raw rewards ``r`` (r's own while no update has run)."""
        mean, std = self.mean, self.std
        if self.count == 0:  # statistics start from the first batch
            mean, std = r.mean(), r.var(unbiased=False).sqrt()
        if self.mode == "meanstd":
            r = r - mean
        return r / (std + self.eps)

    @torch.no_grad()
    def update_stats(self, r: Tensor) -> None:
        """Fold the rewards ``r`` into (μ_r, σ_r²)."""
        r = r.detach().float().reshape(-1)
        n = r.shape[0]
        if n == 0:
            return
        b_mean, b_var = r.mean(), r.var(unbiased=False)
        if self.momentum > 0:
            first = (self.count == 0).float()  # the first batch sets the statistics
            m = first + (1 - first) * self.momentum
            self.var.copy_((1 - m) * self.var + m * b_var + m * (1 - m) * (b_mean - self.mean) ** 2)
            self.mean.copy_((1 - m) * self.mean + m * b_mean)
            self.count.add_(n)
            return
        fold_moments(self.mean, self.var, self.count, b_mean, b_var, n)

    def reward(self, batch: Batch) -> Tensor:
        return self.normalize(self.module.reward(batch))

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """The child's update, then the statistics from the child's (post-update) rewards on ``batch``."""
        stats = dict(self.module.update(batch))
        self.update_stats(self.module.reward(batch))
        stats.update(norm_mean=self.mean.clone(), norm_std=self.std.clone())
        return stats


class SkillNormalized(_SkillDelegate, Normalized, SkillReward):
    """:class:`Normalized` around a :class:`SkillReward` (built automatically by ``Normalized``)."""

    def _skill_module(self) -> SkillReward:
        assert isinstance(self.module, SkillReward)
        return self.module


class RewardChannels(IntrinsicReward):
    """Named reward channels, kept separate for a multi-critic agent (one critic per channel).

    ``names`` is the channel order; :meth:`rewards` returns ``[B, C]`` in that order. ``weights``
    (default 1 for every channel) define the scalar :meth:`reward` r = Σ_c w_c r_c, so a set of
    channels is also usable as one summed reward. :meth:`update` updates every child and returns
    its statistics as ``"<channel>/<stat>"``.
    """

    name = "channels"

    def __new__(cls, modules: Mapping[str, IntrinsicReward] | None = None, *args: Any, **kwargs: Any) -> Any:
        if modules is not None and _skill_child(modules) is not None and not issubclass(cls, SkillReward):
            cls = {RewardChannels: SkillRewardChannels, WeightedSum: SkillWeightedSum}[cls]
        return super().__new__(cls)

    def __init__(
        self, modules: Mapping[str, IntrinsicReward], weights: Mapping[str, float] | None = None
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not modules:
            raise ValueError(f"{owner}: needs at least one module")
        for key, m in modules.items():
            if (
                not isinstance(key, str)
                or not key
                or "/" in key
                or "." in key
                or hasattr(nn.ModuleDict(), key)
            ):
                raise ValueError(
                    f"{owner}: channel names must be non-empty strings without '/' or '.' and not an "
                    f"nn.Module attribute, got {key!r}"
                )
            if not isinstance(m, IntrinsicReward):
                raise ValueError(
                    f"{owner}: channel {key!r} must be an IntrinsicReward, got {type(m).__name__}"
                )
        weights = {k: 1.0 for k in modules} if weights is None else dict(weights)
        if set(weights) != set(modules):
            raise ValueError(
                f"{owner}: weights must name exactly the channels {sorted(modules)}, got {sorted(weights)}"
            )
        for key, w in weights.items():
            ok = isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w)
            if not ok:
                raise ValueError(f"{owner}: weight of {key!r} must be a finite number, got {w!r}")
        self.channels = nn.ModuleDict(dict(modules))
        self.names: list[str] = list(modules)
        self.weights: dict[str, float] = {k: float(weights[k]) for k in self.names}
        self.register_buffer(
            "weight_vector", torch.tensor([self.weights[k] for k in self.names]), persistent=False
        )
        self._skill_name = _skill_child(modules)
        self.optimizers = {
            f"{c}/{k}": opt for c, m in self.channels.items() for k, opt in m.optimizers.items()
        }

    def _skill_module(self) -> SkillReward:
        module = self.channels[self._skill_name]
        assert isinstance(module, SkillReward)
        return module

    def rewards(self, batch: Batch) -> Tensor:
        """One column per channel, ``[B, C]`` in ``names`` order, without gradient."""
        with torch.no_grad():
            return torch.stack([self.channels[c].reward(batch).float() for c in self.names], dim=-1)

    def reward(self, batch: Batch) -> Tensor:
        """r = Σ_c w_c r_c, shape [B]."""
        return self.rewards(batch) @ self.weight_vector.to(batch.obs.device)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        stats: dict[str, Tensor] = {}
        for c in self.names:
            stats.update({f"{c}/{k}": v for k, v in self.channels[c].update(batch).items()})
        return stats


class WeightedSum(RewardChannels):
    """r = Σ_c w_c r_c over named modules; ``weights`` must name every module (a scalar reward for SAC)."""

    name = "sum"

    def __init__(self, modules: Mapping[str, IntrinsicReward], weights: Mapping[str, float]) -> None:
        if weights is None:
            raise ValueError("WeightedSum: weights are required (use RewardChannels for unweighted channels)")
        super().__init__(modules, weights)


class SkillRewardChannels(_SkillDelegate, RewardChannels, SkillReward):
    """:class:`RewardChannels` with one skill channel (built automatically by ``RewardChannels``)."""


class SkillWeightedSum(_SkillDelegate, WeightedSum, SkillReward):
    """:class:`WeightedSum` with one skill channel (built automatically by ``WeightedSum``)."""
