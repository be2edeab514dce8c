"""ICM: Intrinsic Curiosity Module (Pathak, Agrawal, Efros, Darrell 2017, "Curiosity-driven
Exploration by Self-supervised Prediction", ICML 2017; URLB reference code rll-research/url_benchmark).

An encoder e: S → R^rep_dim, an inverse model g(e(s), e(s′)) → â and a forward model
f(e(s), a) → ê(s′) are trained together on

    L = (1 − β) L_I + β L_F,     L_F = ½ ‖f(e(s), a) − e(s′)‖²,
    L_I = ½ ‖g(e(s), e(s′)) − a‖²   (continuous actions)  or  −log g(a | e(s), e(s′))  (discrete),

β = 0.2 (paper). The inverse loss makes e keep only what the agent's actions can affect. The
curiosity reward is the forward model's error on the transition, ε = ‖f(e(s), a) − e(s′)‖₂:

    reward_type="squared":  r = (η/2) ε²           (the paper, default)
    reward_type="log":      r = log(1 + η ε)        (URLB's ``icm_scale`` c = η; L2 norm, not squared)

**Deviations** available as options: ``rep_dim=0`` uses identity features e(s) = s, as URLB does
on state observations (its encoder is the identity there, so only f and g are trained); URLB sums
the unsquared errors with equal weights instead of (1 − β) L_I + β L_F. Discrete actions
(``discrete=True``, ``action_dim`` = number of actions, ``batch.action`` [B] ints) enter f one-hot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import IntrinsicReward, check_float, check_int, check_net_args
from rlinfo.types import Batch

REWARD_TYPES = ("squared", "log")


def action_input(action: Tensor, action_dim: int, discrete: bool) -> Tensor:
    """Actions as network input: one-hot [B, n] for discrete ([B] ints), float [B, action_dim] otherwise."""
    if discrete:
        return F.one_hot(action.long().reshape(-1), action_dim).float()
    return action.float().reshape(action.shape[0], -1)


class ICM(IntrinsicReward):
    """ICM curiosity r = (η/2)‖f(e(s), a) − e(s′)‖² (or log(1 + η‖·‖)) with inverse + forward losses."""

    name = "icm"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        rep_dim: int = 64,
        hidden_dim: int = 256,
        num_layers: int = 1,
        beta: float = 0.2,
        eta: float = 1.0,
        reward_type: str = "squared",
        discrete: bool = False,
        lr: float = 1e-4,
    ) -> None:
        super().__init__()
        check_net_args("ICM", obs_dim, action_dim, hidden_dim, num_layers, lr, 2 if discrete else 1)
        check_int("ICM", "rep_dim", rep_dim, 0)
        check_float("ICM", "beta", beta, positive=False)
        if beta > 1:
            raise ValueError(f"ICM: beta must be in [0, 1], got {beta!r}")
        check_float("ICM", "eta", eta)
        if reward_type not in REWARD_TYPES:
            raise ValueError(
                f"ICM: reward_type must be one of {', '.join(REWARD_TYPES)}, got {reward_type!r}"
            )
        self.obs_dim, self.action_dim, self.discrete = obs_dim, action_dim, discrete
        self.beta, self.eta, self.reward_type = float(beta), float(eta), reward_type
        feat = rep_dim or obs_dim
        self.rep_dim = feat
        # URLB icm_apt trunk: Linear -> LayerNorm -> Tanh; identity when rep_dim = 0
        self.encoder: nn.Module = (
            nn.Sequential(nn.Linear(obs_dim, rep_dim), nn.LayerNorm(rep_dim), nn.Tanh())
            if rep_dim
            else nn.Identity()
        )
        self.forward_model = mlp(feat + action_dim, feat, hidden_dim, num_layers)
        inverse = mlp(2 * feat, action_dim, hidden_dim, num_layers)
        self.inverse_model = inverse if discrete else nn.Sequential(inverse, nn.Tanh())
        self.optimizers["icm"] = adam(self.parameters(), lr)

    def encode(self, obs: Tensor) -> Tensor:
        """Features e(s), shape [B, rep_dim] (differentiable)."""
        return self.encoder(obs.float())

    def errors(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(ε = ‖f(e(s), a) − e(s′)‖₂ [B], L_I per sample [B]), both differentiable."""
        e_s, e_next = self.encode(batch.obs), self.encode(batch.next_obs)
        a = action_input(batch.action, self.action_dim, self.discrete)
        forward_err = (self.forward_model(torch.cat([e_s, a], -1)) - e_next).norm(dim=-1)
        out = self.inverse_model(torch.cat([e_s, e_next], -1))
        if self.discrete:
            inverse_loss = F.cross_entropy(out, batch.action.long().reshape(-1), reduction="none")
        else:
            inverse_loss = 0.5 * (out - a).pow(2).sum(-1)
        return forward_err, inverse_loss

    def curiosity(self, forward_err: Tensor) -> Tensor:
        """r from the forward error ε: (η/2)ε² or log(1 + ηε)."""
        if self.reward_type == "squared":
            return 0.5 * self.eta * forward_err.pow(2)
        return torch.log1p(self.eta * forward_err)

    def reward(self, batch: Batch) -> Tensor:
        with torch.no_grad():
            return self.curiosity(self.errors(batch)[0])

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One step on (1 − β) L_I + β L_F; returns the three losses and ``reward_mean``."""
        forward_err, inverse_loss = self.errors(batch)
        forward_loss = 0.5 * forward_err.pow(2).mean()
        inverse_loss = inverse_loss.mean()
        loss = (1 - self.beta) * inverse_loss + self.beta * forward_loss
        self.optimizer_step(loss, "icm")
        return {
            "loss": loss.detach(),
            "forward_loss": forward_loss.detach(),
            "inverse_loss": inverse_loss.detach(),
            "reward_mean": self.curiosity(forward_err.detach()).mean(),
        }
