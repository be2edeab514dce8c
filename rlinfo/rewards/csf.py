"""CSF: Contrastive Successor Features (Zheng, Tuyls, Peng, Eysenbach 2025, "Can a MISL Fly?
Analysis and Ingredients for Mutual Information Skill Learning", ICLR 2025; reference code
Princeton-RL/contrastive-successor-features).

φ: S → R^D is trained with a contrastive lower bound on I(S, S'; Z) instead of METRA's constraint:

    L_φ = −( E[Δφᵀz] − ξ · E[ log Σ_{z' ∈ Z_neg} exp(Δφᵀz') ] ),   Δφ = φ(s') − φ(s),

with ξ = 5 and Z_neg = 256 skills drawn from the prior p(z) for every update (``negatives="prior"``,
the paper; one set shared by the batch). ``negatives="batch"`` uses the batch's own skills
instead (all B of them, the positive included, as in InfoNCE). The intrinsic reward is r = Δφᵀz
(``wdm.py``), and the policy's critic is a successor-feature critic: ψ(s, a, z) ∈ R^D learned by TD
on the vector cumulant Δφ, Q = ψᵀz (``rlinfo.agents.SuccessorFeatureSAC``, ``agent.name=sf_sac``; the trainer
feeds it :meth:`CSF.cumulant`). Skills: unit sphere (default) or N(0, I), or zero-centred one-hots.
Zero-shot goal skill z = E‖z‖ · normalise(φ(g) − φ(s)) (``wdm.py``). Termination is ignored, as the reference
(``turn_off_dones``): the successor-feature target bootstraps on every transition
(``turn_off_dones=True``, the default; ``agent.params.turn_off_dones=false`` zeroes it
at termination).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import check_float, check_int, check_net_args
from rlinfo.rewards.wdm import WDMSkillReward, phi_stats, wdm_skills
from rlinfo.types import Batch

NEGATIVES = ("prior", "batch")


class CSF(WDMSkillReward):
    """CSF skill reward r = (φ(s') − φ(s))ᵀ z with φ trained by a ξ-weighted contrastive loss."""

    name = "csf"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 2,
        discrete: bool = False,
        skill_dist: str = "sphere",
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 1e-4,
        xi: float = 5.0,
        num_negatives: int = 256,
        negatives: str = "prior",
        unit_goal_skill: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("CSF", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        check_int("CSF", "num_negatives", num_negatives, 1)
        check_float("CSF", "xi", xi, positive=False)
        if negatives not in NEGATIVES:
            raise ValueError(f"CSF: negatives must be one of {', '.join(NEGATIVES)}, got {negatives!r}")
        self.skill_space = wdm_skills("CSF", skill_dim, discrete, skill_dist)
        self.unit_goal_skill = bool(unit_goal_skill)
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.discrete, self.xi = discrete, float(xi)
        self.num_negatives, self.negatives = num_negatives, negatives
        self.phi_net = mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init)
        self.optimizers["phi"] = adam(self.phi_net.parameters(), lr)

    def cumulant(self, batch: Batch) -> Tensor:
        """The successor-feature cumulant Δφ = φ(s') − φ(s), shape [B, D], without gradient."""
        self.batch_skill(batch)
        with torch.no_grad():
            return self.delta_phi(batch)

    def negative_skills(self, batch: Batch) -> Tensor:
        """Z_neg [N, D]: ``num_negatives`` fresh prior samples, or the batch's skills."""
        if self.negatives == "batch":
            return self.batch_skill(batch)
        return self.skill_space.sample(self.num_negatives).to(self.device)

    def losses(self, batch: Batch, z_neg: Tensor | None = None) -> dict[str, Tensor]:
        """L_φ (differentiable) and its parts: the positive term E[Δφᵀz] and the log-sum-exp term."""
        z = self.batch_skill(batch)
        z_neg = self.negative_skills(batch) if z_neg is None else z_neg
        delta_phi = self.delta_phi(batch)
        r = (delta_phi * z).sum(-1)
        lse = torch.logsumexp(delta_phi @ z_neg.T, dim=-1)  # [B]: log Σ_{z'} exp(Δφᵀz')
        loss_phi = -(r.mean() - self.xi * lse.mean())
        return {"loss_phi": loss_phi, "reward": r, "logsumexp": lse, "delta_phi": delta_phi}

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One φ step; returns ``loss_phi``, ``logsumexp`` and :func:`~rlinfo.rewards.wdm.phi_stats`
        (‖Δφ‖, reward mean and std), measured before the step."""
        out = self.losses(batch)
        self.optimizer_step(out["loss_phi"], "phi")
        return {
            "loss_phi": out["loss_phi"].detach(),
            "logsumexp": out["logsumexp"].detach().mean(),
            **phi_stats(out["delta_phi"], out["reward"]),
        }
