"""Proximal policy optimisation with an entropy controller, for discrete and continuous actions.

Schulman et al. (2017), "Proximal Policy Optimization Algorithms"; GAE from Schulman et al. (2016),
"High-Dimensional Continuous Control Using Generalized Advantage Estimation":

    δ_t   = r_t + γ (1 − terminated_t) V(s'_t) − V(s_t)
    Â_t   = δ_t + γ λ (1 − done_t) Â_{t+1},          done = terminated or truncated
    ρ_t   = π(a_t|s_t) / π_old(a_t|s_t)
    L_π   = −E[min(ρ_t Â_t, clip(ρ_t, 1 − ε, 1 + ε) Â_t)] + controller.loss(H(π(·|s_t)))
            (``lpreg``: the first term is the controller's Lp-Reg loss instead)
    L_V   = ½ E[(V(s_t) − R_t)²],  R_t = Â_t + V_old(s_t)
            (value clipping: ½ E[max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²)])
    L     = L_π + c_V L_V

Truncation bootstraps from V(s'_t); only termination zeroes it. Actions: a Categorical over logits
(discrete) or a Gaussian N(μ(s), σ²) with a state-independent log σ (continuous; as in the paper's
MuJoCo setup and CleanRL), sampled unsquashed, the env clips. ``state_dependent_std`` makes σ an
output of the actor (then per-state entropies differ and the controller's peak mask means something).
Observations are normalised with running mean/std (the skill columns appended by the trainer are
not), the running stats living in the agent so that ``act`` takes raw observations. The entropy term
comes from :mod:`rlinfo.agents.entropy`, updated once per :meth:`PPO.update` with the batch entropy.
Controllers that need the old policy (``siren``, ``siren_adaptive``: the anchor from the first rollout;
``lpreg``: the proxy π_proxy of π_old) get it over the whole rollout before the first gradient step of
each update, from one forward pass of the not-yet-updated actor (π_old itself).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Normal

from rlinfo.agents.entropy import build_controller
from rlinfo.nn import adam, initialize, mlp
from rlinfo.running_stats import RunningMeanStd

OBS_CLIP = 10.0


def gae(
    rewards: Tensor, values: Tensor, terminated: Tensor, done: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """(advantages, returns) [T, N] from rewards, ``values`` [T + 1, N] of s_0..s_T (s_{t+1} = s'_t).

    ``terminated`` zeroes the bootstrap V(s'_t); ``done`` (terminated or truncated, or a step to
    ignore) stops the recursion. Returns R_t = Â_t + V(s_t).
    """
    not_term, not_done = 1.0 - terminated.float(), 1.0 - done.float()
    deltas = rewards + gamma * not_term * values[1:] - values[:-1]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        last = deltas[t] + gamma * lam * not_done[t] * last
        adv[t] = last
    return adv, adv + values[:-1]


def clipped_policy_loss(log_prob: Tensor, old_log_prob: Tensor, adv: Tensor, clip: float) -> Tensor:
    """−E[min(ρ Â, clip(ρ, 1 − ε, 1 + ε) Â)] with ρ = exp(log π − log π_old)."""
    ratio = (log_prob - old_log_prob).exp()
    return -torch.min(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv).mean()


def value_loss(value: Tensor, old_value: Tensor, ret: Tensor, clip: float | None) -> Tensor:
    """½ E[(V − R)²], or with clipping ½ E[max((V − R)², (V_old + clip(V − V_old, ±ε) − R)²)]."""
    err = (value - ret) ** 2
    if clip is not None:
        clipped = old_value + (value - old_value).clamp(-clip, clip)
        err = torch.max(err, (clipped - ret) ** 2)
    return 0.5 * err.mean()


class PPO(nn.Module):
    """Actor, critic, observation normaliser, entropy controller, optimiser and :meth:`update`."""

    loss_names = ("policy", "value", "entropy_term")  # the statistics of :meth:`update` that are losses

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        discrete: bool = False,
        skill_dim: int = 0,
        hidden_dim: int = 64,
        num_layers: int = 2,
        lr: float = 3e-4,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_coef: float = 0.2,
        clip_value: bool = False,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        update_epochs: int = 4,
        num_minibatches: int = 4,
        norm_adv: bool = True,
        norm_obs: bool = True,
        norm_return: bool = False,
        log_std_init: float = 0.0,
        state_dependent_std: bool = False,
        anneal_lr: bool = False,
        entropy: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= skill_dim < obs_dim:
            raise ValueError(f"PPO: need 0 <= skill_dim < obs_dim={obs_dim}, got {skill_dim}")
        if update_epochs < 1 or num_minibatches < 1:
            raise ValueError("PPO: update_epochs and num_minibatches must be >= 1")
        self.discrete, self.action_dim, self.skill_dim = discrete, action_dim, skill_dim
        self.gamma, self.gae_lambda, self.clip_coef = gamma, gae_lambda, clip_coef
        self.clip_value, self.vf_coef, self.max_grad_norm = clip_value, vf_coef, max_grad_norm
        self.update_epochs, self.num_minibatches, self.norm_adv = update_epochs, num_minibatches, norm_adv
        self.norm_obs, self.norm_return = norm_obs, norm_return
        self.lr, self.anneal_lr = lr, anneal_lr
        self.state_dependent_std = state_dependent_std and not discrete
        out = action_dim * (2 if self.state_dependent_std else 1)
        act = nn.Tanh
        # CleanRL's: orthogonal weights, gain √2 (the policy's output 0.01, the value's 1), zero biases
        self.actor = initialize(
            mlp(obs_dim, out, hidden_dim, num_layers, activation=act), "orthogonal_sqrt2", "orthogonal_0.01"
        )
        self.critic = initialize(
            mlp(obs_dim, 1, hidden_dim, num_layers, activation=act), "orthogonal_sqrt2", "orthogonal"
        )
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        self.log_std.requires_grad_(not discrete and not self.state_dependent_std)
        self.obs_rms = RunningMeanStd((obs_dim - skill_dim,))
        self.ret_rms = RunningMeanStd(())  # of the discounted return, for reward scaling
        max_entropy = math.log(action_dim) if discrete else None
        try:
            self.controller = build_controller(entropy, max_entropy)
        except ValueError as e:
            raise ValueError(f"PPO: {e}") from None
        params = [p for p in self.parameters() if p.requires_grad]
        self.optimizers = {"ppo": adam(params, lr, eps=1e-5)}

    # ------------------------------------------------------------------ policy
    def normalize(self, x: Tensor) -> Tensor:
        """Normalised observation columns (clipped ±10), skill columns unchanged."""
        if not self.norm_obs:
            return x
        d = x.shape[-1] - self.skill_dim
        obs = ((x[..., :d] - self.obs_rms.mean) / self.obs_rms.std).clamp(-OBS_CLIP, OBS_CLIP)
        return torch.cat([obs, x[..., d:]], dim=-1) if self.skill_dim else obs

    def dist(self, x: Tensor) -> Categorical | Normal:
        """π(·|s) for raw inputs [B, obs_dim] (normalised here)."""
        out = self.actor(self.normalize(x))
        if self.discrete:
            return Categorical(logits=out)
        if self.state_dependent_std:
            mean, log_std = out.chunk(2, dim=-1)
            return Normal(mean, log_std.clamp(-5.0, 2.0).exp())
        return Normal(out, self.log_std.exp().expand_as(out))

    def value(self, x: Tensor) -> Tensor:
        return self.critic(self.normalize(x)).squeeze(-1)

    def log_prob_entropy(self, x: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        """log π(a|s) [B] and per-state entropy H(π(·|s)) [B] (Gaussian: summed over action dims)."""
        d = self.dist(x)
        if self.discrete:
            return d.log_prob(action.long()), d.entropy()
        return d.log_prob(action).sum(-1), d.entropy().sum(-1)

    def entropy_of(self, d: Categorical | Normal) -> Tensor:
        """Per-state entropy [B] of π(·|s) (Gaussian: summed over action dims)."""
        return d.entropy() if self.discrete else d.entropy().sum(-1)

    @torch.inference_mode()
    def act(self, x: Tensor, deterministic: bool = False) -> Tensor:
        d = self.dist(x)
        if deterministic:
            return d.probs.argmax(-1) if self.discrete else d.mean
        return d.sample()

    @torch.inference_mode()
    def act_value(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(action, log π(action|s), V(s)) for collection."""
        d = self.dist(x)
        a = d.sample()
        logp = d.log_prob(a) if self.discrete else d.log_prob(a).sum(-1)
        return a, logp, self.value(x)

    # ------------------------------------------------------------------ update
    def update(self, data: dict[str, Tensor], progress: float = 0.0) -> dict[str, Tensor]:
        """Clipped-surrogate epochs over a flat rollout ``data`` (obs, action, log_prob, value, adv, ret).

        Rows with ``data["mask"]`` False (reset steps) are dropped. ``progress`` ∈ [0, 1] feeds the
        controller's phase schedule and, with ``anneal_lr``, sets lr = lr₀ (1 − progress). Returns mean
        losses, entropy, KL estimate and clip fraction.
        """
        if self.anneal_lr:  # linear decay to 0 over training, as in CleanRL
            for group in self.optimizers["ppo"].param_groups:
                group["lr"] = self.lr * max(1.0 - progress, 0.0)
        keep = data["mask"]
        obs, action, old_logp = data["obs"][keep], data["action"][keep], data["log_prob"][keep]
        old_v, adv_all, ret = data["value"][keep], data["adv"][keep], data["ret"][keep]
        n = obs.shape[0]
        mb = max(1, n // self.num_minibatches)
        proxy = None  # log π_proxy(a|s) of the rollout's actions (lpreg), else None
        if self.controller.needs_old_policy and n > 0:
            with torch.no_grad():  # the actor has not moved since collection: this is π_old
                old = self.dist(obs)
                self.controller.observe(self.entropy_of(old))
                proxy = self.controller.proxy_log_prob(old, action)
        sums: dict[str, Tensor] = {}
        count = 0
        gen = data.get("generator")
        for _ in range(self.update_epochs):
            perm = (
                torch.randperm(n, generator=gen, device=obs.device) if gen is not None else torch.randperm(n)
            )
            for start in range(0, n - mb + 1, mb):
                idx = perm[start : start + mb]
                stats = self._minibatch(
                    obs[idx],
                    action[idx],
                    old_logp[idx],
                    old_v[idx],
                    adv_all[idx],
                    ret[idx],
                    None if proxy is None else proxy[idx],
                )
                for k, v in stats.items():
                    sums[k] = sums[k] + v if k in sums else v
                count += 1
        if count == 0:  # every row of the rollout was a reset step: nothing to learn from
            return {}
        out = {k: v / count for k, v in sums.items()}
        out.update(self.controller.update(out.pop("controlled_entropy"), progress))
        out["entropy_coef"] = self.controller.coef
        return out

    def _minibatch(
        self,
        obs: Tensor,
        action: Tensor,
        old_logp: Tensor,
        old_v: Tensor,
        adv: Tensor,
        ret: Tensor,
        proxy: Tensor | None = None,
    ) -> dict[str, Tensor]:
        if self.norm_adv and adv.numel() > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        logp, entropy = self.log_prob_entropy(obs, action)
        extra: dict[str, Tensor] = {}
        if proxy is None:
            loss_pi = clipped_policy_loss(logp, old_logp, adv, self.clip_coef)
        else:  # Lp-Reg: the controller's policy loss
            loss_pi, extra = self.controller.policy_loss(logp, old_logp, adv, self.clip_coef, proxy)
        loss_ent = self.controller.loss(entropy)
        loss_v = value_loss(self.value(obs), old_v, ret, self.clip_coef if self.clip_value else None)
        loss = loss_pi + loss_ent + self.vf_coef * loss_v
        opt = self.optimizers["ppo"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], self.max_grad_norm)
        opt.step()
        with torch.no_grad():
            log_ratio = logp - old_logp
            return {
                "policy": loss_pi.detach(),
                "value": loss_v.detach(),
                "entropy_term": loss_ent.detach(),
                "entropy": entropy.mean().detach(),
                "controlled_entropy": self.controller.batch_entropy(entropy).detach(),  # what it regulates
                "approx_kl": ((log_ratio.exp() - 1) - log_ratio).mean(),
                "clip_frac": ((log_ratio.exp() - 1.0).abs() > self.clip_coef).float().mean(),
                **extra,
            }
