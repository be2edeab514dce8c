"""CIC: Contrastive Intrinsic Control (Laskin, Liu, Peng, Yarats, Rajeswaran, Abbeel 2022, "CIC:
Contrastive Intrinsic Control for Unsupervised Skill Discovery"; reference code rll-research/cic).

CIC maximises I(τ; Z) = H(τ) − H(τ | Z) over transitions τ = (s, s'). A state encoder g: S → R^D, a
transition embedding k = h([g(s), g(s')]) (the key) and a skill projection q = p(z) (the query)
are trained with a CPC / InfoNCE loss over the batch, q and k L2-normalised, temperature T = 0.5:

    ℓ_i = −log( exp(q_i·k_i / T) / Σ_j exp(q_i·k_j / T) ),     L = mean_i ℓ_i   (lowers H(τ | Z)).

**Deviation option** ``subtract_positive=True`` (the reference code): the denominator becomes
max(Σ_j exp(q_i·k_j/T) − e^{1/T}, 1e-6) + 1e-6, removing the positive term as if its cosine were 1.

The intrinsic reward estimates H(τ) with the particle (kNN) entropy of an embedding within the
batch, k = 16 (``rlinfo.estimators.particle_entropy_reward``):

    r_i = log(1 + (1/k) Σ_{j ≤ k} ‖e_i − e_j^{(kNN)}‖),

with e = g(s') (``reward="knn"``, default: what the reference code computes; its CPC reward is
never used) or e = k(s, s'), the transition embedding (``reward="knn_transition"``: the paper's
entropy over transitions), or (``reward="knn_cross"``, the CIC baseline of the CSF reference code,
Princeton-RL/contrastive-successor-features ``iod/cic.py``) the distances from g(s_i) to the k nearest
of all g(s'_j) in the batch, j = i included. Further reference-code options of the estimator:
``knn_rms`` (divide the distances by a running statistic of all of them, updated in :meth:`update`:
``knn_rms_stat="mean"``, or ``"variance"``, what both reference codes' RMS divides by), ``knn_clip``
(reference 5e-4) and ``include_self`` (the URLB reference's top-k includes the point itself).

Skills: z ~ U[0, 1]^64 (``skill_dist="box"``, the paper); fine-tuning in the paper fixes z = 0.5·𝟙. The
CSF reference's CIC draws z ~ N(0, I_64) once per trajectory (``skill_dist="gaussian"``) and spectrally
normalises the skill projection p (``skill_spectral_norm=True``).
Networks (reference): g, h, p are MLPs with two hidden layers of 1024 units, all outputs of dim 64.
The reward depends on the whole batch and does not depend on z. Termination is ignored.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rlinfo.estimators.knn import particle_entropy_reward
from rlinfo.nn import adam, mlp, spectral_mlp
from rlinfo.rewards.base import SkillReward, check_float, check_int, check_net_args
from rlinfo.running_stats import RunningMean, RunningMeanStd
from rlinfo.skills import ContinuousSkills
from rlinfo.types import Batch

REWARD_KINDS = ("knn", "knn_transition", "knn_cross")
RMS_STATS = ("mean", "variance")


def cpc_loss(query: Tensor, key: Tensor, temperature: float, subtract_positive: bool = False) -> Tensor:
    """Per-sample CPC loss ℓ [B] of queries and keys [B, D] (normalised here; key i is row i's positive)."""
    q, k = F.normalize(query, dim=-1), F.normalize(key, dim=-1)
    logits = q @ k.T / temperature  # [B, B]
    pos = logits.diagonal()
    if not subtract_positive:
        return torch.logsumexp(logits, dim=-1) - pos
    neg = (logits.exp().sum(-1) - math.exp(1.0 / temperature)).clamp_min(1e-6)  # reference code
    return torch.log(neg + 1e-6) - pos


class CIC(SkillReward):
    """CIC: InfoNCE-trained transition/skill embeddings; reward = kNN particle entropy of g(s')."""

    name = "cic"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 64,
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 1e-4,
        temperature: float = 0.5,
        subtract_positive: bool = False,
        reward: str = "knn",
        knn_k: int = 16,
        knn_rms: bool = False,
        knn_clip: float = 0.0,
        include_self: bool = False,
        knn_rms_stat: str = "mean",
        skill_dist: str = "box",
        skill_spectral_norm: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("CIC", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        check_int("CIC", "skill_dim", skill_dim, 1)
        check_int("CIC", "knn_k", knn_k, 1)
        check_float("CIC", "temperature", temperature)
        check_float("CIC", "knn_clip", knn_clip, positive=False)
        if reward not in REWARD_KINDS:
            raise ValueError(f"CIC: reward must be one of {', '.join(REWARD_KINDS)}, got {reward!r}")
        if knn_rms_stat not in RMS_STATS:
            raise ValueError(f"CIC: knn_rms_stat must be one of {', '.join(RMS_STATS)}, got {knn_rms_stat!r}")
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.temperature, self.subtract_positive = float(temperature), subtract_positive
        self.reward_kind, self.knn_k, self.knn_rms = reward, knn_k, knn_rms
        self.knn_clip, self.include_self, self.knn_rms_stat = float(knn_clip), include_self, knn_rms_stat
        self.skill_space = ContinuousSkills(skill_dim, skill_dist)
        self.state_net = mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init)  # g
        self.pred_net = mlp(2 * skill_dim, skill_dim, hidden_dim, num_layers, init=init)  # h: key
        skill_mlp = spectral_mlp if skill_spectral_norm else mlp
        self.skill_net = skill_mlp(skill_dim, skill_dim, hidden_dim, num_layers, init=init)  # p: query
        self.rms = RunningMeanStd() if knn_rms_stat == "variance" else RunningMean()
        self.optimizers["cic"] = adam(self.parameters(), lr)

    def key(self, obs: Tensor, next_obs: Tensor) -> Tensor:
        """Transition embedding k = h([g(s), g(s')]) [B, skill_dim] (differentiable)."""
        return self.pred_net(torch.cat([self.state_net(obs.float()), self.state_net(next_obs.float())], -1))

    def query(self, z: Tensor) -> Tensor:
        """Skill projection q = p(z) [B, skill_dim] (differentiable)."""
        return self.skill_net(z)

    def losses(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(mean CPC loss, contrastive accuracy: argmax_j q_i·k_j = i), the loss differentiable."""
        q, k = self.query(self.batch_skill(batch)), self.key(batch.obs, batch.next_obs)
        loss = cpc_loss(q, k, self.temperature, self.subtract_positive).mean()
        with torch.no_grad():
            scores = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).T
            accuracy = (scores.argmax(-1) == torch.arange(len(q), device=q.device)).float().mean()
        return loss, accuracy

    def embedding(self, batch: Batch) -> Tensor:
        """The embedding whose entropy is rewarded: g(s') (``knn``, and the targets of ``knn_cross``) or
        k(s, s') (``knn_transition``)."""
        if self.reward_kind in ("knn", "knn_cross"):
            return self.state_net(batch.next_obs.float())
        return self.key(batch.obs, batch.next_obs)

    def _reward(self, batch: Batch, update_rms: bool) -> Tensor:
        if len(batch) <= self.knn_k - int(self.include_self or self.reward_kind == "knn_cross"):
            raise ValueError(f"CIC: batch of {len(batch)} is too small for knn_k={self.knn_k} neighbours")
        cross = self.reward_kind == "knn_cross"
        return particle_entropy_reward(
            self.state_net(batch.obs.float()) if cross else self.embedding(batch),
            k=self.knn_k,
            normalizer=self.rms if self.knn_rms else None,
            update_normalizer=update_rms,
            clip=self.knn_clip,
            include_self=self.include_self,
            y=self.embedding(batch) if cross else None,
            scale=self.knn_rms_stat,
        )

    def reward(self, batch: Batch) -> Tensor:
        """r = log(1 + mean kNN distance of the embedding within the batch), shape [B]."""
        self.batch_skill(batch)
        with torch.no_grad():
            return self._reward(batch, update_rms=False)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One CPC step (then, with ``knn_rms``, fold the batch's kNN distances into the running mean).

        Returns ``loss`` and ``accuracy`` measured before the step.
        """
        loss, accuracy = self.losses(batch)
        self.optimizer_step(loss, "cic")
        if self.knn_rms:
            with torch.no_grad():
                self._reward(batch, update_rms=True)
        return {"loss": loss.detach(), "accuracy": accuracy}
