"""Variational empowerment (Mohamed & Rezende 2015, "Variational Information Maximisation for
Intrinsically Motivated Reinforcement Learning", NeurIPS 2015; latent form as the empowerment term
I(A_{t−1}; Z_t | Z_{t−1}) of Bharadhwaj et al. 2022, "INFOrmation Prioritization through EmPOWERment
in Visual Model-Based RL" (InfoPower)).

Empowerment is the channel capacity from actions to next states, E(s) = max_ω I(A; S′ | s). The
Barber–Agakov bound with an inverse-dynamics model q(a | s, s′) gives, for actions a ~ ω(·|s),

    I(A; S′ | s) ≥ E_{a∼ω, s′∼p(·|s,a)}[ log q(a | s, s′) − log ω(a | s) ],

tight when q is the true posterior p(a | s, s′). The reward of a transition is the integrand

    r = log q(a | s, s′) − log ω(a | s).

The module cannot see the agent, so ω is a **learned source model**: the behaviour policy's density
estimated by maximum likelihood on the replay actions (a Gaussian / categorical MLP of s). With the
agent as the source (ω ≈ π) the expected reward is the bound on I(A; S′ | s) under π, so maximising
it drives the agent to states where its actions have distinguishable effects. q is trained by
maximum likelihood too (that maximises the bound over q).

Distributions: continuous actions use diagonal Gaussians N(μ(·), diag σ(·)²) for q and ω (log σ
clamped to [−5, 2]); ``discrete=True`` uses categoricals over ``action_dim`` actions, with
``batch.action`` of shape [B] (integers).

``latent=True``: q and ω act on learned features z = f(s) (Linear → LayerNorm → Tanh,
``latent_dim``): r = log q(a | z, z′) − log ω(a | sg(z)), the InfoPower term; f is trained by q's
likelihood, i.e. to keep what the actions control.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import IntrinsicReward, check_int, check_net_args
from rlinfo.types import Batch

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class _ActionHead(nn.Module):
    """log density of an action under a Gaussian (mean, log σ) or categorical (logits) MLP head."""

    def __init__(
        self, in_dim: int, action_dim: int, hidden_dim: int, num_layers: int, discrete: bool
    ) -> None:
        super().__init__()
        self.discrete, self.action_dim = discrete, action_dim
        self.net = mlp(in_dim, action_dim if discrete else 2 * action_dim, hidden_dim, num_layers)

    def log_prob(self, x: Tensor, action: Tensor) -> Tensor:
        out = self.net(x)
        if self.discrete:
            return -F.cross_entropy(out, action.long().reshape(-1), reduction="none")
        mean, log_std = out.chunk(2, dim=-1)
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        a = action.float().reshape(mean.shape)
        z = (a - mean) * torch.exp(-log_std)
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class Empowerment(IntrinsicReward):
    """Variational empowerment r = log q(a | s, s′) − log ω(a | s) (optionally on learned features z)."""

    name = "empowerment"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        discrete: bool = False,
        latent: bool = False,
        latent_dim: int = 32,
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
    ) -> None:
        super().__init__()
        check_net_args("Empowerment", obs_dim, action_dim, hidden_dim, num_layers, lr, 2 if discrete else 1)
        check_int("Empowerment", "latent_dim", latent_dim, 1)
        self.obs_dim, self.action_dim, self.discrete, self.latent = obs_dim, action_dim, discrete, latent
        feat = latent_dim if latent else obs_dim
        self.encoder: nn.Module = (
            nn.Sequential(nn.Linear(obs_dim, latent_dim), nn.LayerNorm(latent_dim), nn.Tanh())
            if latent
            else nn.Identity()
        )
        self.inverse = _ActionHead(2 * feat, action_dim, hidden_dim, num_layers, discrete)  # q(a | s, s′)
        self.source = _ActionHead(feat, action_dim, hidden_dim, num_layers, discrete)  # ω(a | s)
        self.optimizers["empowerment"] = adam(self.parameters(), lr)

    def log_probs(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(log q(a | s, s′), log ω(a | s)), each [B] and differentiable (ω sees sg(z) in latent mode)."""
        z, z_next = self.encoder(batch.obs.float()), self.encoder(batch.next_obs.float())
        log_q = self.inverse.log_prob(torch.cat([z, z_next], -1), batch.action)
        log_omega = self.source.log_prob(z.detach(), batch.action)
        return log_q, log_omega

    def reward(self, batch: Batch) -> Tensor:
        """r = log q(a | s, s′) − log ω(a | s), shape [B], without gradient."""
        with torch.no_grad():
            log_q, log_omega = self.log_probs(batch)
            return log_q - log_omega

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One maximum-likelihood step of q (and the encoder) and ω on the batch's actions.

        Returns ``loss_inverse`` (−E log q), ``loss_source`` (−E log ω) and ``reward_mean``, the
        current bound estimate E[log q − log ω] in nats.
        """
        log_q, log_omega = self.log_probs(batch)
        loss_q, loss_omega = -log_q.mean(), -log_omega.mean()
        self.optimizer_step((loss_q + loss_omega), "empowerment")
        return {
            "loss_inverse": loss_q.detach(),
            "loss_source": loss_omega.detach(),
            "reward_mean": (log_q - log_omega).detach().mean(),
        }
