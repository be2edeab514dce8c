"""BeCL: Behavior Contrastive Learning (Yang, Bai, Guo, Li, Zhao, Wang, Liu, Li 2023, "Behavior
Contrastive Learning for Unsupervised Skill Discovery", ICML 2023; reference code Rooshy-yang/BeCL).

BeCL maximises the mutual information between two behaviours (next states) of the same skill, an
upper bound of I(S; Z), with a contrastive loss among the next-state features f(s') of a batch:
transitions collected with the same skill are positives, those of other skills negatives. With
cosine similarities s_ij = cos(f(s'_i), f(s'_j)) / τ (τ = 0.5), P(i) = {j ≠ i : z_j = z_i}:

    ℓ_i = −log( Σ_{j ∈ P(i)} exp(s_ij) / Σ_{j ≠ i} exp(s_ij) ),     L = mean_i ℓ_i,

and the intrinsic reward is the same contrastive score, r_i = exp(−ℓ_i) ∈ (0, 1] (the share of
i's similarity mass that falls on its own skill; the reference code's reward). ``positives="all"``
(default, the paper's multi-positive form): rows without a same-skill partner in the batch are left
out of the loss and get reward 0. **Deviation option** ``positives="single"`` (the reference code):
only the *first* same-skill column (in batch order, diagonal removed) is the positive, and a row
without any same-skill partner takes column 0 of the diagonal-removed matrix (a negative) instead.
The reference's 1e-6 stabilisers are dropped (log-space computation).

Network (reference): f = projection ∘ embedding, obs → hidden → hidden → feature_dim, then
feature_dim → hidden → feature_dim, feature_dim = skill_dim (16). Skills: 16 one-hot vectors.
The reward depends on the whole batch (its companions with the same skill). Termination is ignored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import SkillReward, check_float, check_int, check_net_args
from rlinfo.skills import DiscreteSkills
from rlinfo.types import Batch

POSITIVES = ("all", "single")


def becl_loss(
    features: Tensor, labels: Tensor, temperature: float, positives: str = "all"
) -> tuple[Tensor, Tensor]:
    """Per-sample contrastive loss ℓ [B] and the mask [B] of rows that enter the loss.

    ``features`` [B, F] (cosine similarity is used), ``labels`` [B] integer skills. With
    ``positives="all"`` a row without a same-skill partner is masked out (its ℓ is a placeholder).
    """
    f = F.normalize(features, dim=-1)
    b = f.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=f.device)
    sim = (f @ f.T / temperature).masked_fill(eye, float("-inf"))  # s_ij, diagonal removed
    same = (labels.unsqueeze(0) == labels.unsqueeze(1)) & ~eye
    has_pos = same.any(-1)
    log_den = torch.logsumexp(sim, dim=-1)
    if positives == "all":  # rows without a positive get a finite placeholder (masked out by the caller)
        pos_sim = torch.where(has_pos.unsqueeze(-1), sim.masked_fill(~same, float("-inf")), sim)
        return log_den - torch.logsumexp(pos_sim, dim=-1), has_pos
    # reference: first same-skill column; none -> column 0 of the diagonal-removed row (j = 0, or 1 for i = 0)
    rows = torch.arange(b, device=f.device)
    fallback = (rows == 0).long()
    idx = torch.where(has_pos, same.long().argmax(-1), fallback)
    return log_den - sim[rows, idx], torch.ones_like(has_pos)


def becl_accuracy(features: Tensor, labels: Tensor) -> Tensor:
    """Fraction of rows whose most similar other row (cosine) has the same skill (rows with a partner)."""
    f = F.normalize(features, dim=-1)
    sim = (f @ f.T).fill_diagonal_(float("-inf"))
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    same.fill_diagonal_(False)
    has_pos = same.any(-1)
    hit = (labels[sim.argmax(-1)] == labels) & has_pos
    return hit.sum() / has_pos.sum().clamp_min(1)


class BeCL(SkillReward):
    """BeCL skill reward r = exp(−ℓ), ℓ the contrastive loss of f(s') against same-skill positives."""

    name = "becl"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 16,
        feature_dim: int | None = None,
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 1e-4,
        temperature: float = 0.5,
        positives: str = "all",
    ) -> None:
        super().__init__()
        check_net_args("BeCL", obs_dim, action_dim, hidden_dim, num_layers, lr)
        check_int("BeCL", "skill_dim", skill_dim, 2)
        feature_dim = skill_dim if feature_dim is None else feature_dim
        check_int("BeCL", "feature_dim", feature_dim, 1)
        check_float("BeCL", "temperature", temperature)
        if positives not in POSITIVES:
            raise ValueError(f"BeCL: positives must be one of {', '.join(POSITIVES)}, got {positives!r}")
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.temperature, self.positives = float(temperature), positives
        self.skill_space = DiscreteSkills(skill_dim)
        self.net = nn.Sequential(
            mlp(obs_dim, feature_dim, hidden_dim, num_layers),  # embedding
            mlp(feature_dim, feature_dim, hidden_dim, 1),  # projection head
        )
        self.optimizers["becl"] = adam(self.net.parameters(), lr)

    def features(self, next_obs: Tensor) -> Tensor:
        """f(s') [B, feature_dim] (differentiable)."""
        return self.net(next_obs.float())

    def reward(self, batch: Batch) -> Tensor:
        """r_i = exp(−ℓ_i) ∈ [0, 1], shape [B] (0 for a row without a positive, ``positives="all"``)."""
        labels = self.batch_skill(batch, index=True)
        with torch.no_grad():
            loss, valid = becl_loss(self.features(batch.next_obs), labels, self.temperature, self.positives)
            return torch.where(valid, torch.exp(-loss), torch.zeros_like(loss))

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One contrastive step; returns ``loss``, ``accuracy`` (nearest other row has the same skill)
        and ``reward_mean``, measured before the step."""
        labels = self.batch_skill(batch, index=True)
        feats = self.features(batch.next_obs)
        per_sample, valid = becl_loss(feats, labels, self.temperature, self.positives)
        per_sample = torch.where(valid, per_sample, torch.zeros_like(per_sample))  # rows w/o positive: NaN
        loss = per_sample.sum() / valid.sum().clamp_min(1)
        self.optimizer_step(loss, "becl")
        return {
            "loss": loss.detach(),
            "accuracy": becl_accuracy(feats.detach(), labels),
            "reward_mean": torch.where(valid, torch.exp(-per_sample.detach()), 0.0).mean(),
        }
