"""SAC with CSF's successor-feature critic (Zheng, Tuyls, Peng, Eysenbach 2025, "Can a MISL Fly?";
reference code Princeton-RL/contrastive-successor-features, ``--algo metra_sf``).

The last ``skill_dim`` inputs are the skill z, and each of the twin critic heads outputs successor
features ψ_i(s, a, z) ∈ R^D with Q_i = ψ_iᵀz. The "reward" the trainer passes to :meth:`update` is the
vector cumulant c = Δφ [B, D] of the CSF reward module, and

    y_ψ = c + γ ψ̄_j(s', a'),   j = argmin_i ψ̄_iᵀz,   a' ~ π(·|s')
    L_ψ = ½ Σ_i E[‖ψ_i(s, a) − y_ψ‖²]

as in the paper and its code: the entropy bonus enters the actor loss only, and termination is
ignored (the reference runs with ``turn_off_dones``: every target bootstraps; an unsupervised skill
episode has no task end). ``turn_off_dones=False`` bootstraps with γ (1 − terminated) instead.
``soft_target=True`` adds − α log π(a'|s') · z/‖z‖² inside the bracket, so that zᵀy_ψ equals SAC's soft
target for the scalar reward r = Δφᵀz (our option, not the paper's). The actor and temperature are
SAC's, on Q = ψᵀz. ``skill_dim`` comes from the run's skill space (the build passes it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.agents.sac import SAC


class SuccessorFeatureSAC(SAC):
    """SAC whose twin critics learn successor features ψ(s, a, z) ∈ R^D by TD on a vector cumulant."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        *args: Any,
        skill_dim: int,
        soft_target: bool = False,
        turn_off_dones: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(skill_dim, bool) or not isinstance(skill_dim, int) or not 1 <= skill_dim < obs_dim:
            raise ValueError(f"SuccessorFeatureSAC needs 1 <= skill_dim < obs_dim={obs_dim}, got {skill_dim}")
        super().__init__(obs_dim, action_dim, *args, critic_outputs=skill_dim, **kwargs)
        self.skill_dim = skill_dim
        self.soft_target, self.turn_off_dones = bool(soft_target), bool(turn_off_dones)

    def q_values(self, critic: nn.Module, obs: Tensor, action: Tensor) -> Tensor:
        """[2, B]: Q_i = ψ_i(s, a, z)ᵀz, z the last ``skill_dim`` inputs."""
        psi = critic(torch.cat([obs, action], dim=-1))
        return (psi * obs[:, -self.skill_dim :]).sum(-1)

    @torch.no_grad()
    def target(
        self, cumulant: Tensor, next_obs: Tensor, terminated: Tensor, discount: Tensor | None = None
    ) -> Tensor:
        """y_ψ [B, D] (see the module docstring)."""
        if cumulant.dim() != 2 or cumulant.shape[-1] != self.skill_dim:
            raise ValueError(
                f"SuccessorFeatureSAC: the reward must be the cumulant [B, {self.skill_dim}], "
                f"got shape {tuple(cumulant.shape)}"
            )
        next_action, next_log_prob = self.actor.sample(next_obs)
        z = next_obs[:, -self.skill_dim :]
        psi_next = self.critic_target(torch.cat([next_obs, next_action], dim=-1))  # [2, B, D]
        j = (psi_next * z).sum(-1).argmin(dim=0)  # the head with the smaller Q, per sample
        psi_min = psi_next[j, torch.arange(len(j), device=j.device)]
        if self.soft_target:
            z_dir = z / z.pow(2).sum(-1, keepdim=True).clamp_min(1e-8)
            psi_min = psi_min - self.alpha * next_log_prob.unsqueeze(-1) * z_dir
        alive = torch.ones_like(terminated, dtype=torch.float32)
        if not self.turn_off_dones:
            alive = (~terminated).float()
        bootstrap = (self.gamma if discount is None else discount) * alive
        return cumulant + bootstrap.unsqueeze(-1) * psi_min

    def critic_loss(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> Tensor:
        """L_ψ = ½ Σ_i E[‖ψ_i(s, a) − y_ψ‖²] on the vector cumulant ``reward`` [B, D]."""
        target = self.target(reward, next_obs, terminated, discount)
        psi = self.critic(torch.cat([obs, action], dim=-1))
        return 0.5 * ((psi - target.unsqueeze(0)) ** 2).sum(-1).mean(dim=1).sum()
