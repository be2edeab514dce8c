"""Soft actor-critic with twin critics run as one batched ensemble and automatic temperature.

Haarnoja et al. (2018), "Soft Actor-Critic Algorithms and Applications":

    y        = r + γ (1 − terminated) (min_i Q̄_i(s', a') − α log π(a'|s')),   a' ~ π(·|s')
    L_Q      = ½ Σ_i E[(Q_i(s, a) − y)²]
    L_π      = E[α log π(ã|s) − min_i Q_i(s, ã)],                               ã ~ π(·|s)
    L_α      = E[−log α · (log π(ã|s) + H̄)],   H̄ = −target_entropy_scale · |A|

Truncated episodes bootstrap (only ``terminated`` zeroes the target). ``update(..., discount=d)``
replaces γ by a per-sample factor d [B] (γ^k for URLB-style k-step pairs (s, s_{t+k}), see
``train.n_step``); the default ``None`` is the paper's one-step γ. The two critics are one
``ensemble_mlp`` with weights [2, in, out]: a single batched matmul per layer.

The successor-feature critic of CSF is its own agent, :class:`rlinfo.agents.SuccessorFeatureSAC`.

``actor_activation="tanh"`` gives the actor tanh hidden layers (the METRA reference's policy; default
ReLU as in the SAC paper); the critics keep ReLU. ``init="garage"`` draws the weights as the METRA
trainer's garage networks do (actor: Xavier-uniform hidden layers, Xavier-normal ×0.1 output heads;
critics: Xavier-normal; zero biases) instead of PyTorch's default.

``entropy={"name": ...}`` replaces the learned temperature by an entropy controller shared with PPO
(:mod:`rlinfo.agents.entropy`: fixed, target, EPO, AEPO, peak mask; SIREN and Lp-Reg are PPO-only,
refused here): the actor loss becomes E[−Q(s, ã)] + controller.loss(H(s)) with the per-state
entropy estimate H(s) = −log π(ã|s), the soft targets use α = max(controller.coef, 0), and the
controller is updated with the batch mean entropy after every actor step (``progress``, set by the
trainer, drives EPO's phase schedule).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlinfo.agents.entropy import EntropyController, build_controller
from rlinfo.nn import adam, check_init, ensemble_mlp, initialize, mlp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
# the actor's hidden activation: ReLU (SAC's paper), or tanh (the METRA reference's policy: garage's
# default hidden nonlinearity, which its commands keep)
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


class TanhGaussianActor(nn.Module):
    """π(a|s): a Gaussian squashed by tanh, then scaled to the action box [low, high]."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        low: Tensor,
        high: Tensor,
        hidden_dim: int,
        num_layers: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"actor_activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.net = mlp(obs_dim, 2 * action_dim, hidden_dim, num_layers, activation=ACTIVATIONS[activation])
        self.register_buffer("scale", (high - low) / 2.0)
        self.register_buffer("bias", (high + low) / 2.0)
        # log|da/dtanh(u)| of the affine map to the box, a constant of every log-probability
        self.register_buffer("log_scale_sum", torch.log(self.scale).sum(), persistent=False)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Reparameterised action and its log-probability (with the tanh change of variables); the noise
        comes from ``generator`` (None: torch's global generator)."""
        mean, log_std = self(obs)
        eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        u = mean + log_std.exp() * eps
        # log N(u; mean, std) with (u − mean)/std = ε, summed over the action dimensions
        log_prob = (-0.5 * eps**2 - log_std).sum(-1) - 0.5 * math.log(2 * math.pi) * u.shape[-1]
        # log|d tanh(u)/du| = 2 (log 2 − u − softplus(−2u)), numerically stable
        log_prob = log_prob - (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return torch.tanh(u) * self.scale + self.bias, log_prob - self.log_scale_sum

    def mode(self, obs: Tensor) -> Tensor:
        mean, _ = self(obs)
        return torch.tanh(mean) * self.scale + self.bias


class SAC(nn.Module):
    """The agent: networks, optimisers and :meth:`update`. Inputs are flat tensors.

    Skill-conditioned use concatenates the skill to the observation before calling (the trainer
    does this), so SAC itself knows nothing about skills or intrinsic rewards.
    """

    loss_names = ("critic", "actor", "alpha_loss")  # the statistics of :meth:`update` that are losses

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        action_low: Tensor | None = None,
        action_high: Tensor | None = None,
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
        gamma: float = 0.99,
        tau: float = 5e-3,
        alpha_init: float = 0.1,
        learn_alpha: bool = True,
        target_entropy_scale: float = 1.0,
        entropy: dict[str, Any] | None = None,
        critic_outputs: int = 1,
        actor_activation: str = "relu",
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_init(type(self).__name__, init)
        low = torch.full((action_dim,), -1.0) if action_low is None else torch.as_tensor(action_low).float()
        high = torch.full((action_dim,), 1.0) if action_high is None else torch.as_tensor(action_high).float()
        self.gamma, self.tau, self.learn_alpha = gamma, tau, learn_alpha
        self.target_entropy = -target_entropy_scale * action_dim
        try:
            sizes = (hidden_dim, num_layers)
            self.actor = TanhGaussianActor(obs_dim, action_dim, low, high, *sizes, actor_activation)
        except ValueError as e:
            raise ValueError(f"SAC: {e}") from None
        # critic_outputs: 1 value per head; a subclass may widen it (successor features: the skill's dim)
        self.critic = ensemble_mlp(2, obs_dim + action_dim, critic_outputs, hidden_dim, num_layers)
        if init == "garage":  # the METRA trainer's garage networks
            initialize(self.actor.net, "xavier_uniform", output="xavier_normal_0.1")
            initialize(self.critic, "xavier_normal")
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha_init)))
        self.optimizers = {
            "actor": adam(self.actor.parameters(), lr),
            "critic": adam(self.critic.parameters(), lr),
            "alpha": adam([self.log_alpha], lr),
        }
        self.entropy_controller: EntropyController | None = None
        if entropy is not None:
            try:
                self.entropy_controller = build_controller(entropy)
            except ValueError as e:
                raise ValueError(f"SAC: {e}") from None
            if self.entropy_controller.needs_old_policy:  # an anchor from a rollout, a proxy of π_old
                raise ValueError(f"SAC: entropy({self.entropy_controller.name}) applies to PPO only")
        self.progress = 0.0  # fraction of training done, for phase-scheduled entropy controllers

    @property
    def alpha(self) -> Tensor:
        """Temperature of the soft targets: exp(log α), or the entropy controller's coefficient (≥ 0)."""
        if self.entropy_controller is not None:
            return self.entropy_controller.coef.detach().clamp_min(0.0)
        return self.log_alpha.exp().detach()

    def entropy_term(self, log_prob: Tensor) -> Tensor:
        """The actor loss's entropy part: E[α log π(ã|s)], or the controller's term on H(s) = −log π."""
        if self.entropy_controller is not None:
            return self.entropy_controller.loss(-log_prob)
        return (self.alpha * log_prob).mean()

    @torch.inference_mode()
    def act(self, obs: Tensor, deterministic: bool = False) -> Tensor:
        return self.actor.mode(obs) if deterministic else self.actor.sample(obs)[0]

    def q_values(self, critic: nn.Module, obs: Tensor, action: Tensor) -> Tensor:
        """[2, B] values of both ensemble members."""
        return critic(torch.cat([obs, action], dim=-1)).squeeze(-1)

    def critic_loss(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> Tensor:
        gamma = self.gamma if discount is None else discount  # [B] for n-step pairs
        with torch.no_grad():
            next_action, next_log_prob = self.actor.sample(next_obs)
            next_q = self.q_values(self.critic_target, next_obs, next_action).min(dim=0).values
            target = reward + gamma * (~terminated).float() * (next_q - self.alpha * next_log_prob)
        q = self.q_values(self.critic, obs, action)
        return 0.5 * ((q - target.unsqueeze(0)) ** 2).mean(dim=1).sum()

    def actor_loss(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        action, log_prob = self.actor.sample(obs)
        self.critic.requires_grad_(False)  # gradients flow through the action only
        q = self.q_values(self.critic, obs, action).min(dim=0).values
        self.critic.requires_grad_(True)
        return self.entropy_term(log_prob) - q.mean(), log_prob.detach()

    def alpha_loss(self, log_prob: Tensor) -> Tensor:
        return -(self.log_alpha * (log_prob + self.target_entropy)).mean()

    def update(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """One gradient step of critics, actor and temperature, then the Polyak target update.

        ``reward`` is [B] (a subclass may take another target: the cumulant of successor features);
        ``discount`` [B] replaces γ per sample (n-step pairs), ``None`` keeps γ.
        """
        loss_q = self.critic_loss(obs, action, reward, next_obs, terminated, discount)
        self._step(loss_q, "critic")
        loss_pi, log_prob = self.actor_loss(obs)
        stats = {"critic": loss_q.detach(), "actor": loss_pi.detach(), "entropy": -log_prob.mean()}
        if self.entropy_controller is None and self.learn_alpha:
            # one backward for both: L_π reads α detached and L_α reads log π detached, so the sum
            # gives each its own loss's gradient (the same step as two separate backwards)
            loss_alpha = self.alpha_loss(log_prob)
            self._step(loss_pi + loss_alpha, "actor", "alpha")
            stats["alpha_loss"] = loss_alpha.detach()
        else:
            self._step(loss_pi, "actor")
        if self.entropy_controller is not None:
            entropy = self.entropy_controller.batch_entropy(-log_prob)
            entropy_stats = self.entropy_controller.update(entropy, self.progress)
            stats.update({f"entropy_{k}": v for k, v in entropy_stats.items()})
        stats["alpha"] = self.alpha
        with torch.no_grad():
            torch._foreach_lerp_(
                list(self.critic_target.parameters()), list(self.critic.parameters()), self.tau
            )
        return stats

    def _step(self, loss: Tensor, *names: str) -> None:
        """One backward of ``loss``, then a step of each named optimiser."""
        optimizers = [self.optimizers[name] for name in names]
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in optimizers:
            opt.step()
