"""DADS: Dynamics-Aware Discovery of Skills (Sharma, Gu, Levine, Kumar, Hausman 2020, "Dynamics-Aware
Unsupervised Discovery of Skills", ICLR 2020; reference code google-research/dads).

DADS maximises I(S'; Z | S) with a learned *skill dynamics* q_φ(Δ | s, z), Δ = s' − s, a mixture of
K diagonal Gaussians (a mixture of experts; K = 4 here, as in the paper) trained by maximum likelihood:

    L_q = −E[ log q_φ(Δ | s, z) ],
    log q_φ(Δ | s, z) = log Σ_k π_k(s, z) N(Δ; μ_k(s, z), diag σ_k²).

The intrinsic reward compares the transition's likelihood under its own skill with L skills
z_1..z_L drawn from the prior p(z) (L = ``num_prior_samples`` = 100, drawn afresh per transition):

    r = log q(Δ | s, z) − log( (1 / (L + 1)) · (q(Δ | s, z) + Σ_{i ≤ L} q(Δ | s, z_i)) )

(``include_positive=True``, default: the reference code's form, log(L+1) − log(1 + Σ_i exp(log q_i −
log q)); it is bounded above by log(L + 1)). **Deviation option** ``include_positive=False``: the
paper's equation, whose denominator (1/L) Σ_i q(Δ | s, z_i) leaves the positive out (unbounded above).
All L + 1 likelihoods are one batched network call ([B, L+1, ·] inputs), no Python loop over L.

Variance: fixed σ_k = 1 in the normalised Δ space (``learn_variance=False``, the paper's and the
reference configs' choice; the means then carry all the information). ``learn_variance=True``
predicts σ_k = clip(softplus(·), 0.3, 10) per component and dimension, as the reference code does
when ``fix_variance`` is off. Normalisation (``normalize=True``, the reference ``normalize_data``):
s is standardised by running mean/std before entering the network and Δ is standardised by its own
running mean/std (the reference uses batch normalisation layers; running statistics here, updated in
:meth:`update`, so :meth:`reward` is pure). The Jacobian of the Δ standardisation is the same for
every z and cancels in r. Not implemented: the reference's importance-sampling correction of
off-policy data and the Ant "x-y prior" (dynamics on the x, y coordinates only).
``mask_terminal=True`` leaves terminated transitions out of L_q, as the METRA repository's DADS does with
its path ends (a mean over the rest, −Σ (1 − d) log q / Σ (1 − d)); path ends are terminations only with
``train.time_limit_bootstrap: false``, as the DADS presets set. The default keeps every transition.

Skills: continuous z ~ U[−1, 1]^D (``skill_dist="cube"``, DADS's Ant setting, D = 2) or one-hot
(``discrete=True``). The reward depends on states only; termination enters only L_q's ``mask_terminal``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import SkillReward, check_int, check_net_args
from rlinfo.running_stats import RunningMeanStd
from rlinfo.skills import ContinuousSkills, DiscreteSkills
from rlinfo.types import Batch

STD_MIN, STD_MAX = 0.3, 10.0  # the reference code's clip of a learned σ


def mixture_log_prob(x: Tensor, logits: Tensor, means: Tensor, log_std: Tensor | None = None) -> Tensor:
    """log Σ_k softmax(logits)_k N(x; μ_k, diag σ_k²) for x [..., D], logits [..., K], means [..., K, D].

    ``log_std`` [..., K, D] (None: σ = 1). Leading dimensions broadcast. Returns [...].
    """
    if log_std is None:
        log_std = torch.zeros_like(means)
    u = (x.unsqueeze(-2) - means) * torch.exp(-log_std)  # [..., K, D]
    d = x.shape[-1]
    log_comp = -0.5 * u.pow(2).sum(-1) - log_std.sum(-1) - 0.5 * d * math.log(2 * math.pi)
    return torch.logsumexp(F.log_softmax(logits, dim=-1) + log_comp, dim=-1)


def dads_reward(log_q: Tensor, log_q_prior: Tensor, include_positive: bool = True) -> Tensor:
    """r = log q − log((q + Σ_i q_i)/(L+1)) (``include_positive``) or log q − log(Σ_i q_i / L).

    ``log_q`` [B]: log q(Δ|s,z) of the transition's own skill; ``log_q_prior`` [B, L]: log q(Δ|s,z_i).
    """
    num = log_q_prior.shape[-1]
    if include_positive:
        all_log_q = torch.cat([log_q.unsqueeze(-1), log_q_prior], dim=-1)
        return log_q - (torch.logsumexp(all_log_q, dim=-1) - math.log(num + 1))
    return log_q - (torch.logsumexp(log_q_prior, dim=-1) - math.log(num))


class DADS(SkillReward):
    """DADS skill reward: log-likelihood ratio of the skill dynamics q(s'−s | s, z) against L prior skills."""

    name = "dads"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 2,
        discrete: bool = False,
        skill_dist: str = "cube",
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 3e-4,
        num_components: int = 4,
        learn_variance: bool = False,
        normalize: bool = True,
        num_prior_samples: int = 100,
        include_positive: bool = True,
        mask_terminal: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("DADS", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        check_int("DADS", "skill_dim", skill_dim, 2 if discrete else 1)
        check_int("DADS", "num_components", num_components, 1)
        check_int("DADS", "num_prior_samples", num_prior_samples, 1)
        if skill_dist not in ("cube", "box", "gaussian", "sphere"):
            raise ValueError(f"DADS: skill_dist must be cube, box, gaussian or sphere, got {skill_dist!r}")
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.skill_space = DiscreteSkills(skill_dim) if discrete else ContinuousSkills(skill_dim, skill_dist)
        self.num_components, self.learn_variance = num_components, learn_variance
        self.normalize, self.num_prior_samples = normalize, num_prior_samples
        self.include_positive, self.mask_terminal = include_positive, bool(mask_terminal)
        heads = num_components * (1 + obs_dim * (2 if learn_variance else 1))  # logits, means, (stds)
        self.dynamics = mlp(obs_dim + skill_dim, heads, hidden_dim, num_layers, init=init)
        self.obs_rms = RunningMeanStd((obs_dim,))
        self.delta_rms = RunningMeanStd((obs_dim,))
        self.optimizers["dynamics"] = adam(self.dynamics.parameters(), lr)

    # ------------------------------------------------------------------ skill dynamics q(Δ | s, z)
    def _normalized(self, obs: Tensor, next_obs: Tensor) -> tuple[Tensor, Tensor]:
        """(standardised s, standardised Δ = s' − s); identity when ``normalize`` is off.

        Before the first update the batch's own statistics (what the first update would set)."""
        obs, delta = obs.float(), next_obs.float() - obs.float()
        if not self.normalize:
            return obs, delta
        obs_mean, obs_std = self.obs_rms.mean_std(obs)
        delta_mean, delta_std = self.delta_rms.mean_std(delta)
        return (obs - obs_mean) / obs_std, (delta - delta_mean) / delta_std

    def mixture(self, obs_n: Tensor, z: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Mixture parameters of q(·|s, z): logits [..., K], means [..., K, D], log σ [..., K, D] or None."""
        out = self.dynamics(torch.cat([obs_n, z], dim=-1))
        k, d = self.num_components, self.obs_dim
        logits, means = out[..., :k], out[..., k : k + k * d].unflatten(-1, (k, d))
        if not self.learn_variance:
            return logits, means, None
        std = F.softplus(out[..., k + k * d :].unflatten(-1, (k, d))).clamp(STD_MIN, STD_MAX)
        return logits, means, std.log()

    def log_q(self, obs_n: Tensor, z: Tensor, delta_n: Tensor) -> Tensor:
        """log q(Δ | s, z) on standardised inputs (differentiable); leading dims broadcast."""
        return mixture_log_prob(delta_n, *self.mixture(obs_n, z))

    # ------------------------------------------------------------------ reward and update
    def reward(self, batch: Batch) -> Tensor:
        """r = log q(Δ|s,z) − log((q(Δ|s,z) + Σ_{i≤L} q(Δ|s,z_i)) / (L+1)), z_i ~ p(z), shape [B]."""
        z = self.batch_skill(batch)
        with torch.no_grad():
            obs_n, delta_n = self._normalized(batch.obs, batch.next_obs)
            b, num = len(batch), self.num_prior_samples
            z_prior = self.skill_space.sample(b * num).to(obs_n.device).view(b, num, -1)
            log_q = self.log_q(obs_n, z, delta_n)  # [B]
            obs_rep = obs_n.unsqueeze(1).expand(b, num, self.obs_dim)
            log_q_prior = self.log_q(obs_rep, z_prior, delta_n.unsqueeze(1))  # [B, L]: one batched call
            return dads_reward(log_q, log_q_prior, self.include_positive)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """Fold the batch into the running statistics, then one max-likelihood step of q.

        Returns ``loss`` (−mean log q, standardised Δ space) measured before the step.
        """
        z = self.batch_skill(batch)
        if self.normalize:
            self.obs_rms.update(batch.obs.float())
            self.delta_rms.update(batch.next_obs.float() - batch.obs.float())
        obs_n, delta_n = self._normalized(batch.obs, batch.next_obs)
        log_q = self.log_q(obs_n, z, delta_n)
        if self.mask_terminal:  # a mean over the transitions that did not terminate
            keep = 1.0 - batch.terminated.float().reshape(-1)
            loss = -(log_q * keep).sum() / (keep.sum() + 1e-12)
        else:
            loss = -log_q.mean()
        self.optimizer_step(loss, "dynamics")
        return {"loss": loss.detach()}
