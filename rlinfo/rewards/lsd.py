"""LSD: Lipschitz-constrained Skill Discovery (Park, Choi, Kim, Lee, Kim 2022, "Lipschitz-constrained
Unsupervised Skill Discovery", ICLR 2022; reference code seohongpark/LSD).

A representation φ: S → R^D, 1-Lipschitz in the Euclidean norm (‖φ(s) − φ(s')‖ ≤ ‖s − s'‖), is
trained to maximise

    L_φ = −E[(φ(s') − φ(s))ᵀ z],

and the intrinsic reward of a transition is the same quantity, r = Δφᵀz (see ``wdm.py``). The
Lipschitz constraint is enforced by spectral normalisation of every linear layer of φ (Miyato et
al. 2018): each weight is divided by its largest singular value, estimated by power iteration: one
per training forward pass (two per :meth:`update`: φ(s) and φ(s′); none in :meth:`reward`), after
torch's 15 at construction (the METRA reference: one per train-mode forward, four per update with its
relabel, from random vectors), so every layer, and with 1-Lipschitz ReLUs the whole network, is
1-Lipschitz. This is LSD = the Wasserstein dependency measure with the Euclidean metric; METRA
replaces it by the temporal distance.

Skills: continuous z ~ N(0, I) (the paper's 2-D / 3-D Ant skills, ``skill_dist="gaussian"``;
``"sphere"`` gives METRA's unit-norm skills), or ``discrete=True``: the zero-centred one-hot
(e_k − 𝟙/D)·D/(D−1). Zero-shot goal skill: z = E‖z‖ · normalise(φ(g) − φ(s)) (discrete: argmax),
as the CSF reference's evaluation (E‖z‖ = √(π/2) for 2-D Gaussian skills; ``unit_goal_skill=True``:
‖z‖ = 1). Paper hyperparameters: φ lr 3e-5, width 1024 (2 hidden layers), SAC with fixed α (0.01 Ant).
"""

from __future__ import annotations

from torch import Tensor

from rlinfo.nn import adam, spectral_mlp
from rlinfo.rewards.base import check_net_args
from rlinfo.rewards.wdm import WDMSkillReward, phi_stats, wdm_skills
from rlinfo.types import Batch


class LSD(WDMSkillReward):
    """LSD skill reward r = (φ(s') − φ(s))ᵀ z with a 1-Lipschitz (spectrally normalised) φ."""

    name = "lsd"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 2,
        discrete: bool = False,
        skill_dist: str = "gaussian",
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 3e-5,
        unit_goal_skill: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        check_net_args("LSD", obs_dim, action_dim, hidden_dim, num_layers, lr, init=init)
        self.skill_space = wdm_skills("LSD", skill_dim, discrete, skill_dist)
        self.unit_goal_skill = bool(unit_goal_skill)
        self.obs_dim, self.action_dim, self.skill_dim = obs_dim, action_dim, skill_dim
        self.discrete = discrete
        # eval mode outside update(): reward() and skill_for_goal() use the current σ estimates
        # and leave the power-iteration vectors alone (no side effects); update() iterates once
        self.phi_net = spectral_mlp(obs_dim, skill_dim, hidden_dim, num_layers, init=init).eval()
        self.optimizers["phi"] = adam(self.phi_net.parameters(), lr)

    def loss(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(L_φ = −E[Δφᵀz] (differentiable), r = Δφᵀz per transition [B])."""
        loss, r, _ = self._loss_terms(batch)
        return loss, r

    def _loss_terms(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        delta_phi = self.delta_phi(batch)
        r = (delta_phi * self.batch_skill(batch)).sum(-1)
        return -r.mean(), r, delta_phi

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One φ step (a power iteration per layer in each forward pass); returns ``loss_phi`` and
        :func:`~rlinfo.rewards.wdm.phi_stats` (‖Δφ‖, reward mean and std) measured before it."""
        self.phi_net.train()
        loss, r, delta_phi = self._loss_terms(batch)
        self.phi_net.eval()
        self.optimizer_step(loss, "phi")
        return {"loss_phi": loss.detach(), **phi_stats(delta_phi, r)}
