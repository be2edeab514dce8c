"""DIAYN: Diversity is All You Need (Eysenbach, Gupta, Ibarz, Levine 2019, "Diversity is All You
Need: Learning Skills without a Reward Function", ICLR 2019).

DIAYN maximises I(S; Z) − I(A; Z | S) + H(A | S) with a learned skill posterior q_φ(z | s′) on the
next observation s′. Two skill spaces, each as a reference codes it:

* ``discrete=True`` (URLB, rll-research/url_benchmark): z uniform over n one-hot vectors, q_φ a
  categorical over the n skills (logits), trained by cross-entropy, and the reward

      r = log q_φ(z | s′) − log p(z) = log_softmax(q_φ(s′))_z − log(1/n)

  (0 means chance, log n is the maximum).
* ``discrete=False`` (the METRA paper's DIAYN baseline, seohongpark/METRA with ``--inner 0
  --unit_length 0 --dual_reg 0``): z ~ N(0, I_D) and q_φ(z | s′) = N(z; μ_φ(s′), diag σ_φ(s′)²), the
  mean and the log-std from two separate MLPs (σ ≥ 1e-6, σ = 1 at initialisation), trained by maximum
  likelihood, and the reward

      r = log N(z; μ_φ(s′), diag σ_φ(s′)²)

  (the reference's reward: no − log p(z) term; it shifts r by a z-dependent baseline only).
  Zero-shot goal skill: z = μ_φ(g), the posterior's mean at the goal.

Both losses are L_q = −E[log q_φ(z | s′)], so the reward is the negative per-transition loss.
Termination is ignored: the reward depends on states only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import SkillReward, check_int, check_net_args
from rlinfo.skills import ContinuousSkills, DiscreteSkills
from rlinfo.types import Batch

LOG_STD_MIN = math.log(1e-6)  # the reference's min_std of the Gaussian posterior


class DIAYN(SkillReward):
    """DIAYN skill reward r = log q(z|s′) (− log p(z) for one-hot skills) with a max-likelihood q."""

    name = "diayn"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 16,
        discrete: bool = True,
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("DIAYN", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        check_int("DIAYN", "skill_dim", skill_dim, 2 if discrete else 1)
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.discrete = bool(discrete)
        if self.discrete:
            self.skill_space: DiscreteSkills | ContinuousSkills = DiscreteSkills(skill_dim)
            self.log_p_z = -math.log(skill_dim)  # log p(z) = log(1/n), uniform prior
        else:
            self.skill_space = ContinuousSkills(skill_dim, "gaussian")
            self.log_p_z = 0.0  # the reference's reward has no prior term
        # categorical: logits; Gaussian: μ_φ(s′), with σ_φ(s′) from a second network
        self.discriminator = mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init)
        params = list(self.discriminator.parameters())
        if not self.discrete:
            self.log_std_net = mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init)
            torch.nn.init.zeros_(self.log_std_net[-1].bias)  # σ starts near 1
            params += list(self.log_std_net.parameters())
        self.optimizers["discriminator"] = adam(params, lr)

    def logits(self, obs: Tensor) -> Tensor:
        """Discriminator output at ``obs``: logits (discrete) or the posterior mean μ_φ (continuous)."""
        return self.discriminator(obs.float())

    def log_q(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(discriminator output at s′, log q_φ(z | s′) per transition [B]), both differentiable."""
        out = self.logits(batch.next_obs)
        if self.discrete:
            z_idx = self.batch_skill(batch, index=True)
            return out, F.log_softmax(out, dim=-1).gather(-1, z_idx.unsqueeze(-1)).squeeze(-1)
        z = self.batch_skill(batch)
        log_std = self.log_std_net(batch.next_obs.float()).clamp_min(LOG_STD_MIN)
        u = (z - out) * torch.exp(-log_std)
        log_q = -0.5 * u.pow(2).sum(-1) - log_std.sum(-1) - 0.5 * self.skill_dim * math.log(2 * math.pi)
        return out, log_q

    def reward(self, batch: Batch) -> Tensor:
        """r = log q_φ(z | s′) − log p(z) (continuous: log p(z) term 0), shape [B], without gradient."""
        with torch.no_grad():
            return self.log_q(batch)[1] - self.log_p_z

    @property
    def has_goal_skill(self) -> bool:
        return not self.discrete

    def skill_for_goal(self, obs: Tensor, goal_obs: Tensor) -> Tensor:
        """Continuous skills: z = μ_φ(g), the skill the posterior assigns to the goal observation."""
        if self.discrete:
            return super().skill_for_goal(obs, goal_obs)
        with torch.no_grad():
            return self.logits(goal_obs)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One maximum-likelihood step of q_φ.

        Returns detached scalars measured before the step: ``loss`` (−E log q), ``reward_mean`` and,
        for one-hot skills, ``accuracy`` (argmax q(·|s′) = z).
        """
        out, log_q = self.log_q(batch)
        loss = -log_q.mean()
        self.optimizer_step(loss, "discriminator")
        stats = {"loss": loss.detach(), "reward_mean": log_q.detach().mean() - self.log_p_z}
        if self.discrete:
            z_idx = self.batch_skill(batch, index=True)
            stats["accuracy"] = (out.detach().argmax(-1) == z_idx).float().mean()
        return stats
