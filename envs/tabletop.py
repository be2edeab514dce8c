"""``tabletop``: a planar 2-link arm pushing a puck on a table (MuJoCo, our own small MJCF).

A fast stand-in for SLIM's tabletop manipulation (Emukpere et al. 2024 use a 7-DoF arm): the arm's
base is at the origin, links of 0.25 m each; a puck (radius 0.04 m) starts at (0, 0.3) on a table
x ∈ [−0.45, 0.45], y ∈ [−0.05, 0.6]. Everything lies in the horizontal plane (no gravity); the puck
slides on two damped slide joints, so it moves only when the arm pushes it.

Observation (12-d, layout ``OBJ``/``EE``/``QPOS``/``QVEL``/``OBJ_VEL`` in
``rlinfo.rewards.tabletop``): ``[obj_x, obj_y, ee_x, ee_y, q1, q2, q̇1, q̇2, obj_vx, obj_vy, cos q1,
cos q2]``. Action: two joint torques in [−1, 1]. Frame skip 5 of 0.01 s, 100-step episodes.

Reward (reach): r = 1 − tanh(‖ee − obj‖ / 0.25) ∈ (0, 1], positive so that falling off (which
terminates) is never a way out of a negative reward. Safety cost ``info["cost"]``: (joint within
``LIMIT_MARGIN`` of its range) + (any |q̇| > ``MAX_JOINT_VEL``) + (object off the table); the
episode terminates when the object leaves the table. ``info["object_xy"]`` and ``info["xy"]`` are
the puck's position. Reward and cost are the stateless ``tabletop_reach`` / ``tabletop_safety``
modules applied to (obs, action, next_obs), so a learner can relabel them from its replay buffer.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlinfo.rewards.tabletop import reach_reward, safety_cost

XML = """
<mujoco model="tabletop">
  <compiler angle="radian"/>
  <option timestep="0.01" gravity="0 0 0" integrator="implicitfast"/>
  <default><geom contype="1" conaffinity="1" friction="0.5 0.005 0.0001" density="500"/></default>
  <visual><headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5"/></visual>
  <worldbody>
    <light pos="0 0.275 1.5" dir="0 0 -1" diffuse="0.7 0.7 0.7"/>
    <geom name="table" type="box" pos="0 0.275 -0.05" size="0.45 0.325 0.01" contype="0" conaffinity="0"
          rgba="0.75 0.68 0.55 1"/>
    <body name="link1" pos="0 0 0">
      <joint name="j1" type="hinge" axis="0 0 1" range="-2.6 2.6" limited="true" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.02" rgba="0.2 0.4 0.8 1"/>
      <body name="link2" pos="0.25 0 0">
        <joint name="j2" type="hinge" axis="0 0 1" range="-2.6 2.6" limited="true" damping="0.05"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.02" rgba="0.3 0.6 0.95 1"/>
        <site name="ee" pos="0.25 0 0" size="0.01"/>
      </body>
    </body>
    <body name="puck" pos="0 0.3 0">
      <joint name="px" type="slide" axis="1 0 0" damping="2.0"/>
      <joint name="py" type="slide" axis="0 1 0" damping="2.0"/>
      <geom type="cylinder" size="0.04 0.02" mass="0.2" rgba="0.85 0.2 0.2 1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="j1" gear="0.6" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="j2" gear="0.4" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>
"""
PUCK_START = np.array([0.0, 0.3])


class TabletopEnv(gym.Env):
    """Planar arm + puck; see the module docstring for observation, reward, cost and termination."""

    metadata = {"render_modes": []}

    def __init__(self, max_episode_steps: int = 100, frame_skip: int = 5, reset_noise: float = 0.05) -> None:
        import mujoco

        for key, v in (("max_episode_steps", max_episode_steps), ("frame_skip", frame_skip)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"tabletop: {key} must be an int >= 1, got {v!r}")
        if not isinstance(reset_noise, (int, float)) or isinstance(reset_noise, bool) or reset_noise < 0:
            raise ValueError(f"tabletop: reset_noise must be a float >= 0, got {reset_noise!r}")
        self._mj = mujoco
        self.model = mujoco.MjModel.from_xml_string(XML)
        self.data = mujoco.MjData(self.model)
        self.max_episode_steps, self.frame_skip, self.reset_noise = max_episode_steps, frame_skip, reset_noise
        self.ee_site = self.model.site("ee").id
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (12,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.t = 0

    def _obs(self) -> np.ndarray:
        qpos, qvel = self.data.qpos, self.data.qvel
        ee = self.data.site_xpos[self.ee_site][:2]
        obj = PUCK_START + qpos[2:4]
        return np.concatenate([obj, ee, qpos[:2], qvel[:2], qvel[2:4], np.cos(qpos[:2])])

    def object_xy(self) -> np.ndarray:
        return (PUCK_START + self.data.qpos[2:4]).astype(np.float64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._mj.mj_resetData(self.model, self.data)
        self.data.qpos[:2] = np.array([0.6, 1.2]) + self.np_random.uniform(-1, 1, 2) * self.reset_noise
        self._mj.mj_forward(self.model, self.data)
        self.t = 0
        obj = self.object_xy()
        return self._obs(), {"object_xy": obj, "xy": obj.copy(), "cost": 0.0}

    def extra_state(self) -> dict[str, int]:
        """What an exact resume needs besides the physics (``envs/state.py``): the episode's step count."""
        return {"t": int(self.t)}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self.t = int(state["t"])

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.data.ctrl[:] = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self._mj.mj_step(self.model, self.data, nstep=self.frame_skip)
        self.t += 1
        next_obs = self._obs()
        reward = float(reach_reward(torch.as_tensor(next_obs[None], dtype=torch.float64))[0])
        parts = safety_cost(next_obs[None])
        cost = float(sum(p[0] for p in parts.values()))
        terminated = bool(parts["off_table"][0] > 0)
        truncated = self.t >= self.max_episode_steps
        obj = self.object_xy()
        info = {
            "object_xy": obj,
            "xy": obj.copy(),
            "cost": cost,
            **{k: float(v[0]) for k, v in parts.items()},
        }
        return next_obs, reward, terminated, truncated, info


def make_tabletop(**kwargs: Any) -> gym.Env:
    """The tabletop env; kwargs: ``max_episode_steps`` (100), ``frame_skip`` (5), ``reset_noise`` (0.05)."""
    return TabletopEnv(**kwargs)
