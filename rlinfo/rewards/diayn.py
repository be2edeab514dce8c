"""DIAYN: Diversity is All You Need (Eysenbach, Gupta, Ibarz, Levine 2019, "Diversity is All You
Need: Learning Skills without a Reward Function", ICLR 2019; URLB variant, rll-research/url_benchmark).

DIAYN maximises I(S; Z) − I(A; Z | S) + H(A | S) with a learned categorical discriminator
q_φ(z | s'). With skills z uniform over n one-hot vectors, p(z) = 1/n and the reward is

    r = log q_φ(z | s') − log p(z) = log_softmax(q_φ(s'))_z − log(1/n).

The discriminator (logits over the n skills, on the next observation s' as in URLB) is trained
by cross-entropy: L_q = −E[log q_φ(z | s')]. A reward of 0 means chance; log n is the maximum.
Termination is ignored: the reward depends on states only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import SkillReward, check_int, check_net_args
from rlinfo.skills import DiscreteSkills
from rlinfo.types import Batch


class DIAYN(SkillReward):
    """DIAYN skill reward r = log q(z|s') − log(1/n) with a cross-entropy-trained discriminator."""

    name = "diayn"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 16,
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
    ) -> None:
        super().__init__()
        check_net_args("DIAYN", obs_dim, action_dim, hidden_dim, num_layers, lr)
        check_int("DIAYN", "skill_dim", skill_dim, 2)
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.skill_space = DiscreteSkills(skill_dim)
        self.log_p_z = -math.log(skill_dim)  # log p(z) = log(1/n), uniform prior
        self.discriminator = mlp(obs_dim, skill_dim, hidden_dim, num_layers)
        self.optimizers["discriminator"] = adam(self.discriminator.parameters(), lr)

    def logits(self, obs: Tensor) -> Tensor:
        """Discriminator logits q_φ(· | s), shape [..., skill_dim] (differentiable)."""
        return self.discriminator(obs.float())

    def _log_q(self, batch: Batch, z_idx: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.logits(batch.next_obs)
        log_q = F.log_softmax(logits, dim=-1).gather(-1, z_idx.unsqueeze(-1)).squeeze(-1)
        return logits, log_q

    def reward(self, batch: Batch) -> Tensor:
        """r = log_softmax(q(s'))_z − log(1/n), shape [B], without gradient."""
        z_idx = self.batch_skill(batch, index=True)
        with torch.no_grad():
            _, log_q = self._log_q(batch, z_idx)
            return log_q - self.log_p_z

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One cross-entropy step of the discriminator.

        Returns detached scalars measured before the step: ``loss`` (cross-entropy),
        ``accuracy`` (argmax q(·|s') = z) and ``reward_mean``.
        """
        z_idx = self.batch_skill(batch, index=True)
        logits, log_q = self._log_q(batch, z_idx)
        loss = -log_q.mean()
        self.optimizer_step(loss, "discriminator")
        log_q = log_q.detach()
        return {
            "loss": loss.detach(),
            "accuracy": (logits.detach().argmax(-1) == z_idx).float().mean(),
            "reward_mean": (log_q - self.log_p_z).mean(),
        }
