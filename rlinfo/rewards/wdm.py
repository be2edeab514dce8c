"""Wasserstein-dependency skill rewards: the pieces METRA, LSD and CSF share.

All three learn a representation φ: S → R^D and reward a transition (s, s') with skill z by

    r = Δφᵀ z,   Δφ = φ(s') − φ(s),

the per-step (telescoped) form of the Wasserstein dependency measure I_W(S; Z) with critic
f(s, z) = φ(s)ᵀz (Ozair et al. 2019, "Wasserstein Dependency Measure for Representation
Learning"). They differ only in how φ is kept from growing without bound: METRA's ‖Δφ‖ ≤ 1 on
replay transitions (temporal distance), LSD's 1-Lipschitz φ (Euclidean distance), CSF's
contrastive log-sum-exp over other skills. The zero-shot skill that moves from s to a goal g is

    z = E‖z‖ · (φ(g) − φ(s)) / ‖φ(g) − φ(s)‖      (discrete skills: the centred one-hot of the argmax),

scaled to the prior's mean skill length as the CSF reference's goal evaluation (``mean_length``):
E‖z‖ = 1 for unit-sphere skills and √2 Γ((D+1)/2) / Γ(D/2) for z ~ N(0, I_D) (√(π/2) ≈ 1.25 at
D = 2), so a Gaussian-skill policy is asked for a skill of the length it was trained on.
``unit_goal_skill = True`` keeps ‖z‖ = 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rlinfo.rewards.base import SkillReward, check_int
from rlinfo.skills import ContinuousSkills, DiscreteSkills, SkillSpace
from rlinfo.types import Batch


def phi_stats(delta_phi: Tensor, r: Tensor) -> dict[str, Tensor]:
    """Learning diagnostics of a batch (detached scalars): is φ moving, are rewards spreading?

    ``delta_phi_norm`` = mean ‖Δφ‖, ``delta_phi_norm_max`` = max ‖Δφ‖, ``reward_mean`` = mean r,
    ``reward_std`` = std r (population). Skills are forming when ‖Δφ‖ grows from ~0 towards the
    constraint (METRA: 1) and rewards spread; ‖Δφ‖ stuck near 0 means φ sees no motion.
    """
    norm = delta_phi.detach().norm(dim=-1)
    r = r.detach()
    return {
        "delta_phi_norm": norm.mean(),
        "delta_phi_norm_max": norm.max(),
        "reward_mean": r.mean(),
        "reward_std": r.std(unbiased=False) if r.numel() > 1 else torch.zeros((), device=r.device),
    }


def wdm_skills(owner: str, skill_dim: int, discrete: bool, skill_dist: str) -> SkillSpace:
    """Zero-centred one-hots (``discrete``) or ``ContinuousSkills(skill_dim, skill_dist)``."""
    check_int(owner, "skill_dim", skill_dim, 2 if discrete else 1)
    if discrete:
        return DiscreteSkills(skill_dim, zero_centered=True)
    if skill_dist not in ("gaussian", "sphere"):
        raise ValueError(f"{owner}: skill_dist must be gaussian or sphere, got {skill_dist!r}")
    return ContinuousSkills(skill_dim, skill_dist)


class WDMSkillReward(SkillReward):
    """Base class: subclasses set ``phi_net``, ``skill_space``, ``skill_dim``, ``discrete``."""

    phi_net: nn.Module
    skill_dim: int
    discrete: bool
    unit_goal_skill: bool = False  # True: zero-shot goal skills of norm 1 instead of E‖z‖

    def goal_skill_length(self) -> float:
        """‖z‖ of a continuous zero-shot goal skill: E‖z‖ under the prior (1 with ``unit_goal_skill``)."""
        space = self.skill_space
        if self.unit_goal_skill or not isinstance(space, ContinuousSkills) or space.dist != "gaussian":
            return 1.0
        d = space.dim  # E‖z‖ of N(0, I_d): the chi distribution's mean
        return math.sqrt(2.0) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2))

    def phi(self, obs: Tensor) -> Tensor:
        """The learned representation φ(s) ∈ R^skill_dim (differentiable), shape [..., skill_dim]."""
        return self.phi_net(obs.float())

    def delta_phi(self, batch: Batch) -> Tensor:
        """Δφ = φ(s') − φ(s), shape [B, skill_dim] (differentiable)."""
        return self.phi(batch.next_obs) - self.phi(batch.obs)

    def reward(self, batch: Batch) -> Tensor:
        """r = (φ(s') − φ(s))ᵀ z, shape [B], without gradient."""
        z = self.batch_skill(batch)
        with torch.no_grad():
            return (self.delta_phi(batch) * z).sum(-1)

    def skill_for_goal(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """z = E‖z‖ · normalise(φ(g) − φ(s)); discrete: the zero-centred one-hot of argmax(φ(g) − φ(s))."""
        with torch.no_grad():
            direction = self.phi(goal_obs) - self.phi(obs)
            if self.discrete:
                assert isinstance(self.skill_space, DiscreteSkills)
                return self.skill_space.from_index(direction.argmax(-1)).to(direction.device)
            unit = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-8)
            return self.goal_skill_length() * unit
