"""MuJoCo locomotion with METRA-style observations (gymnasium[mujoco] 1.x v5 envs).

- ``ant``: Ant-v5 with obs = qpos[:15] ⊕ qvel[:14] (29-d: x, y included, no contact forces), frame skip 5,
  200-step episodes (time-limit truncation), no termination when unhealthy (Park et al. 2024, METRA).
- ``half_cheetah``: HalfCheetah-v5 with x included (18-d), 200-step episodes.

Both add ``info["xy"]`` (float64 [2]): the torso's planar position from ``qpos`` (HalfCheetah: (x, 0)),
and ``info["upright"]``: the cosine of the torso's tilt from vertical.
The task reward of the gymnasium env is kept (forward velocity etc.); skill discovery ignores it.
Rendering is not needed for stepping; pass ``render_mode="rgb_array"`` for videos.

``normalize_obs=True`` applies METRA's preset observation normaliser (``envs/normalize.py``):
ŝ = (s − μ) / (σ + 1e-8) with the shipped statistics, or with explicit ``obs_mean``/``obs_std``
lists. ``info["xy"]`` stays in world coordinates.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np

from rlinfo.errors import keyword_names

from .arguments import reject_unknown_kwargs
from .mujoco_warnings import route_mujoco_warnings
from .normalize import wrap_normalizer

ANT_DEFAULTS: dict[str, Any] = {
    "exclude_current_positions_from_observation": False,
    "include_cfrc_ext_in_observation": False,
    "terminate_when_unhealthy": False,
    "frame_skip": 5,
}
HALF_CHEETAH_DEFAULTS: dict[str, Any] = {
    "exclude_current_positions_from_observation": False,
    "frame_skip": 5,
}
NORMALIZER_KWARGS = ("normalize_obs", "obs_mean", "obs_std")  # envs/normalize.py


class XYInfo(gym.Wrapper):
    """Adds ``info["xy"]``: ``qpos[:2]`` (``planar=False``) or ``(qpos[0], 0)`` (``planar=True``), and
    ``info["upright"]``: cos of the torso's tilt, the world-z component of the torso's up axis (1 standing
    level, 0 on its side, −1 on its back)."""

    def __init__(self, env: gym.Env, planar: bool = False) -> None:
        super().__init__(env)
        self.planar = planar

    def _add(self, info: dict[str, Any]) -> dict[str, Any]:
        data = self.env.unwrapped.data
        info["xy"] = np.array([data.qpos[0], 0.0 if self.planar else data.qpos[1]], dtype=np.float64)
        info["upright"] = float(data.body("torso").xmat[8])  # row-major 3×3: element (z, z)
        return info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset and add ``info["xy"]`` and ``info["upright"]``."""
        obs, info = self.env.reset(**kwargs)
        return obs, self._add(info)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step and add ``info["xy"]`` and ``info["upright"]``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._add(info)


def accepted_kwargs(env_cls: type) -> list[str]:
    """Keywords a gymnasium MuJoCo env class accepts (its own, ``MujocoEnv``'s, which its ``**kwargs``
    reach, and ``max_episode_steps``)."""
    names = keyword_names(env_cls, exclude=("kwargs", "model_path", "observation_space"))
    return ["max_episode_steps", *NORMALIZER_KWARGS, *names]


def _make(name: str, env_id: str, defaults: dict[str, Any], planar: bool, kwargs: dict[str, Any]) -> gym.Env:
    env_cls = gym.spec(env_id).entry_point
    if isinstance(env_cls, str):
        module, _, attr = env_cls.partition(":")
        env_cls = getattr(importlib.import_module(module), attr)
    reject_unknown_kwargs(name, kwargs, accepted_kwargs(env_cls))
    max_episode_steps = kwargs.pop("max_episode_steps", 200)
    if not isinstance(max_episode_steps, int) or isinstance(max_episode_steps, bool) or max_episode_steps < 1:
        raise ValueError(f"{name}: max_episode_steps must be an int >= 1, got {max_episode_steps!r}")
    norm = {k: kwargs.pop(k) for k in NORMALIZER_KWARGS if k in kwargs}
    route_mujoco_warnings()
    env = gym.make(env_id, max_episode_steps=max_episode_steps, **{**defaults, **kwargs})
    return wrap_normalizer(name, XYInfo(env, planar=planar), norm.pop("normalize_obs", False), **norm)


def make_ant(**kwargs: Any) -> gym.Env:
    """Ant-v5, 29-d METRA observation, 200-step episodes; kwargs override ``ANT_DEFAULTS``, go to Ant-v5."""
    return _make("ant", "Ant-v5", ANT_DEFAULTS, False, kwargs)


def make_half_cheetah(**kwargs: Any) -> gym.Env:
    """HalfCheetah-v5 with x in the observation (18-d), 200-step episodes; kwargs pass to HalfCheetah-v5."""
    return _make("half_cheetah", "HalfCheetah-v5", HALF_CHEETAH_DEFAULTS, True, kwargs)
