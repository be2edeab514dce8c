"""Stateless rewards of the ``tabletop`` env, computed from (obs, action, next_obs) (no env import).

The observation layout of ``envs/tabletop.py`` is fixed here as constants::

    [obj_x, obj_y, ee_x, ee_y, q1, q2, q̇1, q̇2, obj_vx, obj_vy, cos q1, cos q2]

- ``tabletop_reach``:  r = 1 − tanh(‖ee(s') − obj(s')‖ / ``REACH_SCALE``) ∈ (0, 1]  (the env's own
  reward; robosuite's reaching-reward shape). It is positive, so ending the episode (pushing the puck
  off the table terminates) forfeits reward instead of escaping a negative one: with r = −‖ee − obj‖
  (≈ −0.41 per step for random actions) termination was worth ≈ +20 at γ = 0.99.
- ``tabletop_safety``: c = 1[|q_j| > q_max − margin for some j] + 1[|q̇_j| > q̇_max for some j]
  + 1[obj(s') off the table]  (the env's ``info["cost"]``; use it with a negative weight).
- ``tabletop_metra``:  METRA (Park et al. 2024) with φ applied to the object position obj(s) only,
  r = (φ(obj(s')) − φ(obj(s)))ᵀ z, so skills are rewarded for moving the puck, not the arm.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rlinfo.rewards.base import IntrinsicReward, check_int
from rlinfo.rewards.metra import METRA
from rlinfo.types import Batch

OBS_DIM = 12
OBJ, EE, QPOS, QVEL, OBJ_VEL = slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8), slice(8, 10)
JOINT_LIMIT, LIMIT_MARGIN, MAX_JOINT_VEL = 2.6, 0.05, 8.0
TABLE_X, TABLE_Y = (-0.45, 0.45), (-0.05, 0.6)
REACH_SCALE = 0.25  # m (one link length): r = 1 − tanh(1) ≈ 0.24 at this distance


def safety_cost(obs: Any) -> dict[str, Any]:
    """Indicator costs [B] of the observations ``obs`` [B, 12] (numpy array or tensor)."""
    q, qd, obj = obs[:, QPOS], obs[:, QVEL], obs[:, OBJ]
    x, y = obj[:, 0], obj[:, 1]
    off = (x < TABLE_X[0]) | (x > TABLE_X[1]) | (y < TABLE_Y[0]) | (y > TABLE_Y[1])
    return {
        "joint_limit": (abs(q) > JOINT_LIMIT - LIMIT_MARGIN).any(-1) * 1.0,
        "joint_velocity": (abs(qd) > MAX_JOINT_VEL).any(-1) * 1.0,
        "off_table": off * 1.0,
    }


def reach_reward(obs: Any) -> Any:
    """r = 1 − tanh(‖ee − obj‖ / REACH_SCALE) ∈ (0, 1] of observations ``obs`` [B, 12] (tensor)."""
    distance = (obs[:, EE] - obs[:, OBJ]).norm(dim=-1)
    return 1.0 - (distance / REACH_SCALE).tanh()


def _check_obs_dim(owner: str, obs_dim: int) -> None:
    check_int(owner, "obs_dim", obs_dim, 1)
    if obs_dim != OBS_DIM:
        raise ValueError(
            f"{owner}: needs the tabletop observation (obs_dim={OBS_DIM}), got obs_dim={obs_dim}"
        )


class _TabletopTaskReward(IntrinsicReward):
    """A stateless per-step reward of the tabletop observation: nothing to learn, ``update`` is a no-op."""

    per_step = True

    def __init__(self, obs_dim: int, action_dim: int) -> None:
        super().__init__()
        _check_obs_dim(type(self).__name__, obs_dim)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        return {}


class TabletopReach(_TabletopTaskReward):
    """r = 1 − tanh(‖ee(s') − obj(s')‖ / REACH_SCALE) ∈ (0, 1] from the tabletop observation layout."""

    name = "tabletop_reach"

    def reward(self, batch: Batch) -> Tensor:
        return reach_reward(batch.next_obs.float())


class TabletopSafety(_TabletopTaskReward):
    """c = Σ of the three indicator costs of :func:`safety_cost` on s' (a cost: weight it negatively)."""

    name = "tabletop_safety"

    def reward(self, batch: Batch) -> Tensor:
        return sum(safety_cost(batch.next_obs.float()).values())


class TabletopMETRA(METRA):
    """METRA whose φ sees only the object position obs[:, 0:2] (same hyperparameters as METRA)."""

    name = "tabletop_metra"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        skill_dim: int = 2,
        discrete: bool = False,
        hidden_dim: int = 256,
        num_layers: int = 2,
        lr: float = 1e-4,
        dual_lambda_init: float = 30.0,
        dual_slack: float = 1e-3,
        constraint_reduction: str = "sum",
    ) -> None:
        _check_obs_dim("TabletopMETRA", obs_dim)
        super().__init__(
            obs_dim=2,
            action_dim=action_dim,
            skill_dim=skill_dim,
            discrete=discrete,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            lr=lr,
            dual_lambda_init=dual_lambda_init,
            dual_slack=dual_slack,
            constraint_reduction=constraint_reduction,
        )

    def phi(self, obs: Tensor) -> Tensor:
        return self.phi_net(obs[..., OBJ].float())
