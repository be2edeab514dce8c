"""METRA: Metric-Aware Abstraction (Park, Rybkin, Levine 2024, "METRA: Scalable Unsupervised RL
with Metric-Aware Abstraction", ICLR 2024; reference code seohongpark/METRA).

A representation φ: S → R^D is trained to maximise the Wasserstein dependency between states and
skills under the temporal distance:

    max_φ  E[(φ(s') − φ(s))ᵀ z]   s.t.   ‖φ(s) − φ(s')‖² ≤ 1  for every replay transition (s, s').

With Δφ = φ(s') − φ(s) the intrinsic reward of a transition is

    r = Δφᵀ z.

The constraint is enforced by dual gradient descent with slack ε, λ = exp(log λ), log λ₀ = log λ_init:

    L_φ = −E[ r + sg(λ) · min(ε, 1 − c(Δφ)) ]
    L_λ = log λ · E[ sg(min(ε, 1 − c(Δφ))) ]        (own Adam, same lr: λ grows while violated)

where c(Δφ) = Σ_d Δφ_d² (``constraint_reduction="sum"``, the paper's ‖Δφ‖² ≤ 1, default).
**Deviation** (``constraint_reduction="mean"``): the reference code uses c = mean_d Δφ_d², so the
effective constraint there is ‖Δφ‖² ≤ D.

Skills: continuous z uniform on the unit sphere, or (``discrete=True``) the zero-centred one-hot
(e_k − 𝟙/D)·D/(D−1); the reference code stores plain one-hots and centres them inside the reward,
here the skill space already yields centred vectors, so r = Δφᵀz holds for both. Zero-shot goal
skill: z = (φ(g) − φ(s)) / ‖φ(g) − φ(s)‖ (discrete: the centred one-hot of its argmax).

φ here is a deterministic MLP (the reference code uses the mean of a Gaussian MLP, 2 × 1024 ReLU).
Like the reference code, the λ step uses the constraint values computed before the φ step.
Termination is ignored: the reward depends on states only.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import check_float, check_net_args
from rlinfo.rewards.wdm import WDMSkillReward, phi_stats, wdm_skills
from rlinfo.types import Batch

CONSTRAINT_REDUCTIONS = ("sum", "mean")


class METRA(WDMSkillReward):
    """METRA skill reward r = (φ(s') − φ(s))ᵀ z with φ trained under ‖Δφ‖² ≤ 1 by dual descent."""

    name = "metra"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 2,
        discrete: bool = False,
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 1e-4,
        dual_lambda_init: float = 30.0,
        dual_slack: float = 1e-3,
        constraint_reduction: str = "sum",
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("METRA", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        check_float("METRA", "dual_lambda_init", dual_lambda_init, positive=True)
        check_float("METRA", "dual_slack", dual_slack, positive=False)
        if constraint_reduction not in CONSTRAINT_REDUCTIONS:
            raise ValueError(
                f"METRA: constraint_reduction must be one of {', '.join(CONSTRAINT_REDUCTIONS)}, "
                f"got {constraint_reduction!r}"
            )
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.discrete = discrete
        self.epsilon = float(dual_slack)
        self.constraint_reduction = constraint_reduction
        self.skill_space = wdm_skills("METRA", skill_dim, discrete, "sphere")
        self.phi_net = mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init)
        self.log_lambda = nn.Parameter(torch.tensor(math.log(dual_lambda_init)))
        self.optimizers["phi"] = adam(self.phi_net.parameters(), lr)
        self.optimizers["dual_lambda"] = adam([self.log_lambda], lr)

    # ------------------------------------------------------------------ representation (φ: wdm.py)
    @property
    def dual_lambda(self) -> Tensor:
        """Current Lagrange multiplier λ = exp(log λ) (detached scalar)."""
        return self.log_lambda.detach().exp()

    def constraint(self, delta_phi: Tensor) -> Tensor:
        """c(Δφ) per transition: Σ_d Δφ_d² (``sum``) or mean_d Δφ_d² (``mean``), shape [B]."""
        sq = delta_phi.pow(2)
        return sq.sum(-1) if self.constraint_reduction == "sum" else sq.mean(-1)

    # ------------------------------------------------------------------ losses (reward r = Δφᵀz: wdm.py)
    def losses(self, batch: Batch) -> dict[str, Tensor]:
        """L_φ and L_λ on ``batch`` (both differentiable) plus the quantities they are built from.

        ``loss_phi`` = −E[r + sg(λ)·min(ε, 1 − c)], ``loss_lambda`` = log λ · E[sg(min(ε, 1 − c))].
        """
        z = self.batch_skill(batch)
        delta_phi = self.delta_phi(batch)
        r = (delta_phi * z).sum(-1)
        c = self.constraint(delta_phi)
        penalty = torch.clamp(1.0 - c, max=self.epsilon)  # min(ε, 1 − c)
        loss_phi = -(r + self.log_lambda.detach().exp() * penalty).mean()
        loss_lambda = self.log_lambda * penalty.detach().mean()
        return {
            "loss_phi": loss_phi,
            "loss_lambda": loss_lambda,
            "reward": r,
            "constraint": c,
            "delta_phi": delta_phi,
        }

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One φ step, then one λ step (λ step uses the pre-step constraint, as the reference code).

        Returns detached scalars measured before the steps: ``loss_phi``, ``loss_lambda``,
        ``dual_lambda`` (the λ used in L_φ), ``constraint`` (mean c(Δφ)), ``constraint_slack``
        (mean 1 − c: > 0 satisfied on average), ``constraint_violated`` (fraction with c > 1), and
        :func:`~rlinfo.rewards.wdm.phi_stats` (‖Δφ‖ mean and max, reward mean and std).
        """
        out = self.losses(batch)
        lam = self.dual_lambda
        self.optimizer_step(out["loss_phi"], "phi")
        self.optimizer_step(out["loss_lambda"], "dual_lambda")
        c = out["constraint"].detach()
        return {
            "loss_phi": out["loss_phi"].detach(),
            "loss_lambda": out["loss_lambda"].detach(),
            "dual_lambda": lam,
            "constraint": c.mean(),
            "constraint_slack": (1.0 - c).mean(),
            "constraint_violated": (c > 1.0).float().mean(),
            **phi_stats(out["delta_phi"], out["reward"]),
        }
