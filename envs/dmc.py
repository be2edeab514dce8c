"""dm_control suite tasks as gymnasium envs with flat float32 observations (own small adapter, no shimmy).

- Observation: the timestep's observation dict flattened and concatenated in the task's own key order
  (the order of ``observation_spec()``, as URLB does); ``obs_keys`` / ``obs_slices`` tell the layout.
- Action: Box from the action spec (float32); actions are clipped to the spec bounds.
- ``reset(seed=s)`` reseeds the task's ``RandomState``, so equal seeds give equal episodes.
- A last timestep with discount 0 is a termination; the dm_control time limit (default 1000 steps) and
  ``max_episode_steps`` are truncations (as in Shimmy's ``DmControlCompatibilityV0``).
- ``info["xy"]``: the torso's world (x, y) where the model has a body named ``torso`` (walker, cheetah,
  hopper: planar, so (x, 0); quadruped, humanoid: (x, y)), otherwise zeros.

``DMCEnv.from_environment(env, name)`` wraps an environment built elsewhere the same way (URLB's custom
tasks, ``envs/urlb.py``, a ``composer.Environment`` included; ``unit_actions`` maps ``[-1, 1]`` onto the
action spec's bounds, as URLB does).

dm_control is imported lazily; on a headless Linux machine ``MUJOCO_GL`` is set (only when unset) to
``egl``, else ``osmesa``, else ``disable``; stepping never needs rendering.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlinfo.errors import RlinfoError, did_you_mean

from .mujoco_warnings import route_mujoco_warnings

FEATURED_TASKS = (
    "walker-stand",
    "walker-walk",
    "walker-run",
    "quadruped-walk",
    "quadruped-run",
    "cheetah-run",
    "hopper-hop",
    "humanoid-run",
)


def ensure_mujoco_gl() -> None:
    """Set a safe ``MUJOCO_GL`` default on headless Linux if unset (egl > osmesa > disable)."""
    if "MUJOCO_GL" in os.environ or not sys.platform.startswith("linux") or os.environ.get("DISPLAY"):
        return
    if ctypes.util.find_library("EGL"):
        os.environ["MUJOCO_GL"] = "egl"
    elif ctypes.util.find_library("OSMesa"):
        os.environ["MUJOCO_GL"] = "osmesa"
    else:
        os.environ["MUJOCO_GL"] = "disable"


def suite_tasks() -> list[str]:
    """All dm_control suite tasks as ``"domain-task"`` strings (imports dm_control)."""
    ensure_mujoco_gl()
    from dm_control import suite

    return [f"{d}-{t}" for d, t in suite.ALL_TASKS]


class UnknownTaskError(RlinfoError, ValueError):
    """An unknown dm_control domain-task name."""


def check_options(
    name: str, max_episode_steps: int | None, time_limit: float | None, render_mode: str | None
) -> None:
    """One-line ``ValueError`` for a bad episode length, time limit or render mode."""
    mes = max_episode_steps
    if mes is not None and (not isinstance(mes, int) or isinstance(mes, bool) or mes < 1):
        raise ValueError(f"{name}: max_episode_steps must be an int >= 1, got {max_episode_steps!r}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"{name}: time_limit must be > 0 seconds, got {time_limit!r}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"{name}: render_mode must be None or 'rgb_array', got {render_mode!r}")


class DMCEnv(gym.Env[np.ndarray, np.ndarray]):
    """A dm_control suite task as a gymnasium env with flat float32 observations."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        domain: str,
        task: str,
        max_episode_steps: int | None = None,
        time_limit: float | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (84, 84),
        camera_id: int = 0,
        task_kwargs: dict[str, Any] | None = None,
        environment_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Load ``domain-task``; ``time_limit`` in seconds (dm_control), ``max_episode_steps`` in steps."""
        check_options("dmc", max_episode_steps, time_limit, render_mode)
        ensure_mujoco_gl()
        from dm_control import suite

        route_mujoco_warnings()  # after dm_control's import, which installs its own handler
        if (domain, task) not in suite.ALL_TASKS:
            known = [f"{d}-{t}" for d, t in suite.ALL_TASKS]
            hint = did_you_mean(f"{domain}-{task}", known, prefix="dmc:")
            hint = f" ({hint})" if hint else ""
            raise UnknownTaskError(
                f"unknown dm_control task 'dmc:{domain}-{task}'{hint}; known: {', '.join(known)}"
            )
        tk = dict(task_kwargs or {})
        if time_limit is not None:
            tk["time_limit"] = float(time_limit)
        elif max_episode_steps is not None:
            tk["time_limit"] = float("inf")  # our step counter truncates
        env = suite.load(domain, task, task_kwargs=tk, environment_kwargs=environment_kwargs)
        self._wrap(
            env, f"dmc:{domain}-{task}", domain, task, max_episode_steps, render_mode, render_size, camera_id
        )

    @classmethod
    def from_environment(
        cls,
        env: Any,
        name: str,
        *,
        domain: str = "",
        task: str = "",
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (84, 84),
        camera_id: int = 0,
        unit_actions: bool = False,
        xy: Callable[[Any], np.ndarray] | None = None,
    ) -> DMCEnv:
        """Wrap an already-built dm_control environment (a suite-style ``control.Environment`` or a
        ``composer.Environment``); its own time limit stays, ``max_episode_steps`` truncates earlier.

        ``name`` is used in messages. ``unit_actions``: the action space is ``[-1, 1]`` and an action
        is clipped there and mapped affinely onto the spec's bounds (a spec already ``[-1, 1]`` is left
        untouched). ``xy(physics)`` overrides the torso (x, y) of ``info["xy"]``.
        """
        check_options(name, max_episode_steps, None, render_mode)
        self = cls.__new__(cls)
        self._wrap(
            env, name, domain, task, max_episode_steps, render_mode, render_size, camera_id, unit_actions, xy
        )
        return self

    def _wrap(
        self,
        env: Any,
        name: str,
        domain: str,
        task: str,
        max_episode_steps: int | None,
        render_mode: str | None,
        render_size: tuple[int, int],
        camera_id: int,
        unit_actions: bool = False,
        xy: Callable[[Any], np.ndarray] | None = None,
    ) -> None:
        self._env = env
        self.name = name
        self.domain, self.task = domain, task
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.render_size = render_size
        self.camera_id = camera_id
        self._xy_fn = xy

        obs_spec = self._env.observation_spec()
        self.obs_keys: tuple[str, ...] = tuple(obs_spec)
        self.obs_slices: dict[str, slice] = {}
        start = 0
        for k, spec in obs_spec.items():
            n = int(np.prod(spec.shape, dtype=np.int64))
            self.obs_slices[k] = slice(start, start + n)
            start += n
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(start,), dtype=np.float32)
        act = self._env.action_spec()
        self._act_low = np.asarray(act.minimum, dtype=np.float64) * np.ones(act.shape)
        self._act_high = np.asarray(act.maximum, dtype=np.float64) * np.ones(act.shape)
        unit = (self._act_low == -1).all() and (self._act_high == 1).all()
        self._rescale = bool(unit_actions and not unit)
        low, high = (
            (-np.ones(act.shape), np.ones(act.shape)) if self._rescale else (self._act_low, self._act_high)
        )
        self.action_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        physics = self._env.physics
        try:
            self._torso: int | None = int(physics.model.name2id("torso", "body"))
        except Exception:  # no torso body: xy = zeros
            self._torso = None
        self._t = 0

    @property
    def dm_env(self) -> Any:
        """The wrapped ``dm_control.rl.control.Environment``."""
        return self._env

    @property
    def physics(self) -> Any:
        """The task's ``Physics``."""
        return self._env.physics

    def _flatten(self, observation: dict[str, Any]) -> np.ndarray:
        out = np.empty(self.observation_space.shape, dtype=np.float32)
        for k, sl in self.obs_slices.items():
            out[sl] = np.asarray(observation[k]).reshape(-1)
        return out

    def _xy(self) -> np.ndarray:
        if self._xy_fn is not None:
            return np.array(self._xy_fn(self._env.physics), dtype=np.float64)
        if self._torso is None:
            return np.zeros(2)
        return np.array(self._env.physics.data.xpos[self._torso, :2], dtype=np.float64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``seed`` reseeds the task's RandomState (deterministic initial state)."""
        super().reset(seed=seed)
        if seed is not None:  # composer envs hold the episode RandomState, suite envs their task
            random = getattr(self._env, "random_state", None)
            (self._env.task.random if random is None else random).seed(seed)
        ts = self._env.reset()
        self._t = 0
        return self._flatten(ts.observation), {"xy": self._xy()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` (clipped to the spec); a discount-0 last step terminates, time limits truncate."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self._act_low.shape:
            raise ValueError(f"{self.name}: action shape {a.shape}, expected {self._act_low.shape}")
        if self._rescale:  # [-1, 1] -> [low, high]
            a = self._act_low + (np.clip(a, -1.0, 1.0) + 1.0) * (self._act_high - self._act_low) / 2
        ts = self._env.step(np.clip(a, self._act_low, self._act_high))
        self._t += 1
        terminated = bool(ts.last() and ts.discount == 0)
        truncated = bool(ts.last() and not terminated)
        if self.max_episode_steps is not None and self._t >= self.max_episode_steps and not terminated:
            truncated = True
        reward = 0.0 if ts.reward is None else float(ts.reward)
        return self._flatten(ts.observation), reward, terminated, truncated, {"xy": self._xy()}

    def render(self) -> np.ndarray | None:
        """An RGB frame when ``render_mode == "rgb_array"`` (needs an OpenGL backend), else None."""
        if self.render_mode != "rgb_array":
            return None
        h, w = self.render_size
        return self._env.physics.render(height=h, width=w, camera_id=self.camera_id)

    def close(self) -> None:
        """Release the dm_control environment."""
        close = getattr(self._env, "close", None)
        if callable(close):
            close()


def make_dmc(spec: str, **kwargs: Any) -> DMCEnv:
    """``make_dmc("walker-run", ...)``: split ``domain-task`` at the first ``-`` and build a ``DMCEnv``."""
    domain, sep, task = spec.partition("-")
    if not sep or not domain or not task:
        raise UnknownTaskError(
            f"dm_control env names look like 'dmc:<domain>-<task>' (e.g. dmc:walker-run), got 'dmc:{spec}'"
        )
    return DMCEnv(domain, task, **kwargs)
