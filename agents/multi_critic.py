"""SLIM: multi-critic soft actor-critic, one twin critic per reward channel.

Emukpere et al. (2024), "SLIM: Skill Learning with Multiple Critics". With reward channels
r_c (c = 1..C, e.g. skill, reach, safety) and weights w_c, each channel has its own twin critic
Q_{c,1}, Q_{c,2}; all 2C critics are one ``ensemble_mlp`` of 2C members (member 2c+i is Q_{c,i}),
evaluated in one batched matmul per layer:

    y_c  = r_c + γ (1 − terminated) (min_i Q̄_{c,i}(s', a') − [c = c_H] α log π(a'|s')),  a' ~ π(·|s')
    L_Q  = ½ Σ_c Σ_i E[(Q_{c,i}(s, a) − y_c)²]
    A_c  = min_i Q_{c,i}(s, ã) − sg(min_i Q_{c,i}(s, â)),     ã, â ~ π(·|s) (â: a second, detached sample)
    Â_c  = A_c / sg(σ_c),   σ_c ← (1 − m) σ_c + m · E|A_c|   (EMA of the mean absolute advantage)
    L_π  = E[α log π(ã|s) − Σ_c w_c Â_c]
    L_α  = E[−log α · (log π(ã|s) + H̄)]

Entropy: the actor's α log π carries the entropy bonus; in the targets it enters exactly once, in the
channel ``c_H = soft_channel`` (default 0, the first channel; ``soft_channel=-1`` makes every critic
"hard"), so entropy is not counted C times. Baseline â: a second policy sample (``baseline="sample"``,
default) or none (``baseline="none"``: A_c = min_i Q_{c,i}(s, ã)). ``normalize_advantage=False``
uses σ_c = 1. With C = 1, w = 1, ``normalize_advantage=False``, ``baseline="none"`` and
``soft_channel=0`` every loss equals SAC's (:class:`rlinfo.agents.sac.SAC`); with ``baseline="sample"``
the actor loss differs from SAC's only by the constant E[sg Q(s, â)], so the gradients are equal.
σ_c is a buffer (saved by checkpoints); it starts at the first batch's E|A_c|.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from rlinfo.agents.sac import SAC
from rlinfo.nn import adam, ensemble_mlp

BASELINES = ("sample", "none")


class MultiCriticSAC(SAC):
    """SLIM's agent; :meth:`update` takes the per-channel rewards ``[B, C]``.

    Actor, temperature, ``act``, the optimiser steps and the Polyak update are SAC's; this class
    replaces the twin critic by 2C members and the actor's Q by the weighted normalised advantages.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        action_low: Tensor | None = None,
        action_high: Tensor | None = None,
        channel_weights: Sequence[float] = (1.0,),
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
        gamma: float = 0.99,
        tau: float = 5e-3,
        alpha_init: float = 0.1,
        learn_alpha: bool = True,
        target_entropy_scale: float = 1.0,
        normalize_advantage: bool = True,
        adv_momentum: float = 0.01,
        baseline: str = "sample",
        soft_channel: int = 0,
        entropy: dict[str, Any] | None = None,
    ) -> None:
        weights = [float(w) for w in channel_weights]
        if not weights or not all(math.isfinite(w) for w in weights):
            raise ValueError(
                f"MultiCriticSAC: channel_weights must be finite numbers, got {channel_weights!r}"
            )
        C = len(weights)
        if baseline not in BASELINES:
            raise ValueError(
                f"MultiCriticSAC: baseline must be one of {', '.join(BASELINES)}, got {baseline!r}"
            )
        if not 0.0 < adv_momentum <= 1.0:
            raise ValueError(f"MultiCriticSAC: adv_momentum must be in (0, 1], got {adv_momentum!r}")
        if not isinstance(soft_channel, int) or not -1 <= soft_channel < C:
            raise ValueError(
                f"MultiCriticSAC: soft_channel must be -1 or a channel index < {C}, got {soft_channel!r}"
            )
        super().__init__(
            obs_dim, action_dim, action_low, action_high, hidden_dim, num_layers, lr, gamma, tau,
            alpha_init, learn_alpha, target_entropy_scale, entropy=entropy,
        )  # fmt: skip
        self.num_channels = C
        self.normalize_advantage, self.adv_momentum = normalize_advantage, adv_momentum
        self.baseline, self.soft_channel = baseline, soft_channel
        self.critic = ensemble_mlp(2 * C, obs_dim + action_dim, 1, hidden_dim, num_layers)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.optimizers["critic"] = adam(self.critic.parameters(), lr)
        self.register_buffer("weights", torch.tensor(weights))
        self.register_buffer("adv_scale", torch.ones(C))
        self.register_buffer("adv_count", torch.zeros(()))

    def q_values(self, critic: torch.nn.Module, obs: Tensor, action: Tensor) -> Tensor:
        """[C, 2, B]: both twins of every channel from one batched ensemble call."""
        out = critic(torch.cat([obs, action], dim=-1)).squeeze(-1)  # [2C, B]
        return out.view(self.num_channels, 2, -1)

    def critic_loss(
        self,
        obs: Tensor,
        action: Tensor,
        rewards: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> Tensor:
        if rewards.dim() != 2 or rewards.shape[-1] != self.num_channels:
            raise ValueError(
                f"MultiCriticSAC: rewards must be [B, {self.num_channels}] (one column per channel), "
                f"got shape {tuple(rewards.shape)}"
            )
        with torch.no_grad():
            next_action, next_log_prob = self.actor.sample(next_obs)
            next_q = self.q_values(self.critic_target, next_obs, next_action).min(dim=1).values  # [C, B]
            if self.soft_channel >= 0:
                next_q[self.soft_channel] -= self.alpha * next_log_prob
            gamma = self.gamma if discount is None else discount  # [B] for n-step pairs
            target = rewards.T + gamma * (~terminated).float() * next_q  # [C, B]
        q = self.q_values(self.critic, obs, action)  # [C, 2, B]
        return 0.5 * ((q - target.unsqueeze(1)) ** 2).mean(dim=-1).sum()

    def advantages(self, obs: Tensor, action: Tensor, update_scale: bool = True) -> Tensor:
        """Â_c [C, B] of the (differentiable) actions ``action``; updates σ_c when asked."""
        q = self.q_values(self.critic, obs, action).min(dim=1).values  # [C, B]
        adv = q
        if self.baseline == "sample":
            with torch.no_grad():
                base_action, _ = self.actor.sample(obs)
                base = self.q_values(self.critic, obs, base_action).min(dim=1).values
            adv = q - base
        if not self.normalize_advantage:
            return adv
        if update_scale:
            with torch.no_grad():
                batch_scale = adv.abs().mean(dim=-1)
                m = torch.where(self.adv_count == 0, 1.0, self.adv_momentum)  # first batch sets σ_c
                self.adv_scale.copy_((1 - m) * self.adv_scale + m * batch_scale)
                self.adv_count.add_(1)
        return adv / self.adv_scale.clamp_min(1e-6).unsqueeze(-1)

    def actor_loss(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        action, log_prob = self.actor.sample(obs)
        self.critic.requires_grad_(False)  # gradients flow through the action only
        adv = self.advantages(obs, action)
        self.critic.requires_grad_(True)
        return self.entropy_term(log_prob) - (self.weights @ adv).mean(), log_prob.detach()

    def update(
        self,
        obs: Tensor,
        action: Tensor,
        rewards: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """SAC's update (critics, actor, temperature, Polyak) with ``rewards`` [B, C]."""
        stats = super().update(obs, action, rewards, next_obs, terminated, discount)
        for c in range(self.num_channels):
            stats[f"adv_scale_{c}"] = self.adv_scale[c].clone()
        return stats
