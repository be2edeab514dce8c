"""Save and restore a vector env mid-episode, so a resumed run continues exactly where it stopped.

``get_state(envs)`` returns ``(arrays, json)`` (numpy arrays for a checkpoint's tensors, plain values for
its JSON), or None when some sub-env holds state this module cannot read; ``set_state(envs, arrays,
json)`` puts it back. What is saved:

* the maze vector env (``MazeVectorEnv``): its own ``get_state`` / ``set_state``;
* a ``SyncVectorEnv``: which sub-envs autoreset next, and per sub-env
  - the time limit's elapsed steps and the env's random generator,
  - gymnasium classic control (CartPole, Pendulum, MountainCar, Acrobot): ``state`` and the few
    counters beside it (``steps_beyond_terminated``, ``last_u``),
  - MuJoCo envs (``ant``, ``half_cheetah``, gymnasium's MuJoCo tasks, ``tabletop``): the physics state
    qpos, qvel, act, time, the solver's warm start and the body kinematics the next step reads
    before recomputing them, plus an env's own counters where it defines ``extra_state`` /
    ``set_extra_state`` (tabletop's step count), so the next step is bit-identical.

dm_control tasks and any other env return None: such a run resumes at an episode boundary.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

CLASSIC_EXTRAS = ("steps_beyond_terminated", "last_u")  # JSON-able counters beside ``state``
PHYSICS = ("qpos", "qvel", "act", "qacc_warmstart")
# derived kinematics the next step reads before it recomputes them (Ant's reward reads the torso's xpos
# before stepping): restored after mj_forward, so the first step after a resume is bit-identical too
KINEMATICS = ("xpos", "xquat", "xmat", "xipos", "ximat")


def _chain(env: gym.Env) -> list[gym.Env]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def _sub_state(env: gym.Env) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    for w in _chain(env):
        if isinstance(w, gym.wrappers.TimeLimit):
            meta["elapsed_steps"] = w._elapsed_steps
    u = env.unwrapped
    if getattr(u, "_np_random", None) is not None:
        meta["np_random"] = u.np_random.bit_generator.state
    data = getattr(u, "data", None)
    if data is not None and hasattr(data, "qpos") and hasattr(u, "model"):  # MuJoCo
        for key in PHYSICS + KINEMATICS:
            arrays[key] = np.array(getattr(data, key), dtype=np.float64)
        meta["time"] = float(data.time)
        if callable(getattr(u, "extra_state", None)):  # an env's own counters (tabletop: its step)
            meta["extra"] = u.extra_state()
        return arrays, meta
    if isinstance(getattr(u, "state", None), (np.ndarray, tuple, list)) and type(u).__module__.startswith(
        "gymnasium.envs.classic_control"
    ):
        arrays["state"] = np.array(u.state, dtype=np.float64)
        meta["state_dtype"] = str(np.asarray(u.state).dtype)
        for key in CLASSIC_EXTRAS:
            if hasattr(u, key):
                value = getattr(u, key)
                if value is not None:  # JSON keeps ints as ints (a step counter) and floats as floats
                    value = int(value) if isinstance(value, (int, np.integer)) else float(value)
                meta[key] = value
        return arrays, meta
    return None


def get_state(envs: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Everything the next steps of ``envs`` depend on, or None if it cannot be saved (see the module)."""
    if hasattr(envs, "get_state"):  # the maze vector env
        state = envs.get_state()
        arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
        return arrays, {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    if not isinstance(envs, gym.vector.SyncVectorEnv):
        return None
    arrays = {"autoreset": np.array(envs._autoreset_envs, dtype=bool)}
    meta: dict[str, Any] = {"kind": "sync", "subs": []}
    for i, sub in enumerate(envs.envs):
        state = _sub_state(sub)
        if state is None:
            return None
        sub_arrays, sub_meta = state
        arrays.update({f"{i}.{k}": v for k, v in sub_arrays.items()})
        meta["subs"].append(sub_meta)
    return arrays, meta


def set_state(envs: Any, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Restore a :func:`get_state` into ``envs`` (built from the same config)."""
    if hasattr(envs, "set_state"):
        envs.set_state({**arrays, **meta})
        return
    subs = meta["subs"]
    if len(subs) != len(envs.envs):
        raise ValueError(f"saved env state is for {len(subs)} envs, this vector env has {len(envs.envs)}")
    envs._autoreset_envs = np.asarray(arrays["autoreset"], dtype=bool).copy()
    for i, (sub, sub_meta) in enumerate(zip(envs.envs, subs, strict=True)):
        for w in _chain(sub):
            if isinstance(w, gym.wrappers.TimeLimit) and "elapsed_steps" in sub_meta:
                w._elapsed_steps = sub_meta["elapsed_steps"]
        u = sub.unwrapped
        if "np_random" in sub_meta:
            u.np_random.bit_generator.state = sub_meta["np_random"]
        if f"{i}.qpos" in arrays:
            import mujoco

            data = u.data
            for key in PHYSICS:
                getattr(data, key)[:] = arrays[f"{i}.{key}"]
            data.time = sub_meta["time"]
            mujoco.mj_forward(u.model, data)
            for key in ("qacc_warmstart", *KINEMATICS):
                if f"{i}.{key}" in arrays:
                    getattr(data, key)[:] = arrays[f"{i}.{key}"]
            if "extra" in sub_meta:
                u.set_extra_state(sub_meta["extra"])
        else:
            state = np.asarray(arrays[f"{i}.state"], dtype=sub_meta.get("state_dtype", "float64"))
            u.state = state if isinstance(u.state, np.ndarray) else tuple(state.tolist())
            for key in CLASSIC_EXTRAS:
                if key in sub_meta:
                    setattr(u, key, sub_meta[key])
