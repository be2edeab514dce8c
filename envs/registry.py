"""The environment registry: ``make``, ``make_vec``, ``list_envs`` and ``maze_layout``.

Names: ``maze:square``, ``maze:tree`` (alias ``maze:square_tree``), ``maze:corridor``, ``maze:custom``
(needs ``layout=``: ASCII text or a .txt path), ``ant``, ``half_cheetah``, ``tabletop`` and
``dmc:<domain>-<task>`` for any dm_control suite task, ``urlb:<domain>_<task>`` for the 12 URLB tasks
(``envs/urlb.py``), ``keydoor`` and ``maze_goal`` (sparse-reward tasks) and ``gym:<id>`` (any gymnasium
id, e.g. ``gym:CartPole-v1``).
MuJoCo and dm_control are imported only when such an env is built.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv

from rlinfo.errors import RlinfoError, did_you_mean

from .arguments import EnvArgumentError, check_kwargs
from .dmc import FEATURED_TASKS
from .maze import MazeEnv, MazeLayout, MazeVectorEnv
from .urlb import URLB_NAMES

BUILTIN_MAZES = {"maze:square": "square", "maze:tree": "tree", "maze:corridor": "corridor"}
ALIASES = {"maze:square_tree": "maze:tree"}
LOCOMOTION = ("ant", "half_cheetah")
MANIPULATION = ("tabletop",)  # planar arm pushing a puck (envs/tabletop.py)
SPARSE = ("keydoor", "maze_goal")  # envs/keydoor.py (discrete), envs/goal.py (continuous)


class UnknownEnvError(RlinfoError, ValueError):
    """An environment name that the registry does not know."""


def list_envs() -> list[str]:
    """Known environment names (dm_control: the featured tasks; any suite ``dmc:<domain>-<task>`` works)."""
    return [
        *BUILTIN_MAZES,
        "maze:custom",
        *LOCOMOTION,
        *MANIPULATION,
        *SPARSE,
        *(f"dmc:{t}" for t in FEATURED_TASKS),
        *URLB_NAMES,
        "gym:<id>",
    ]


def _unknown(name: str) -> UnknownEnvError:
    known = list_envs()
    hint = did_you_mean(name, known + list(ALIASES), cutoff=0.5)
    hint = f" ({hint})" if hint else ""
    return UnknownEnvError(
        f"unknown environment {name!r}{hint}; known: {', '.join(known)} "
        "(and dmc:<domain>-<task> for any dm_control suite task)"
    )


def _maze_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    if name in BUILTIN_MAZES:
        if "layout" in kwargs:
            raise EnvArgumentError(f"{name} has a fixed layout; use 'maze:custom' with layout=... instead")
        check_kwargs(name, kwargs, MazeEnv.__init__, exclude=("layout",))
        return {**kwargs, "layout": BUILTIN_MAZES[name]}
    if "layout" not in kwargs:
        raise EnvArgumentError("maze:custom needs layout=<ASCII string or path to a .txt file>")
    check_kwargs(name, kwargs, MazeEnv.__init__)
    return dict(kwargs)


def _canonical(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"environment name must be a str, got {type(name).__name__}")
    key = name.strip()
    return ALIASES.get(key, key)


def make(name: str, **kwargs: Any) -> gym.Env:
    """Build one environment by name (see the module docstring); every env reports ``info["xy"]``.

    Mazes take ``max_step`` (0.5), ``max_episode_steps`` (square 25, tree/corridor/custom 50),
    ``start_noise`` (0), ``substeps`` (1) and, for ``maze:custom``, ``layout``.
    ``ant``/``half_cheetah`` take ``max_episode_steps`` (200) and any gymnasium v5 keyword.
    ``dmc:*`` take ``max_episode_steps``, ``time_limit`` (s), ``render_mode``, ``task_kwargs``,
    ``environment_kwargs``. ``urlb:*`` take ``max_episode_steps`` (walker, quadruped 1000, jaco 250),
    ``time_limit`` (s) and ``render_mode``.
    """
    key = _canonical(name)
    if key in BUILTIN_MAZES or key == "maze:custom":
        return MazeEnv(**_maze_kwargs(key, kwargs))
    if key in LOCOMOTION:
        from .locomotion import make_ant, make_half_cheetah

        return make_ant(**kwargs) if key == "ant" else make_half_cheetah(**kwargs)
    if key == "tabletop":
        from .tabletop import TabletopEnv

        check_kwargs(key, kwargs, TabletopEnv.__init__)
        return TabletopEnv(**kwargs)
    if key == "keydoor":
        from .keydoor import KeyDoorEnv

        check_kwargs(key, kwargs, KeyDoorEnv.__init__)
        return KeyDoorEnv(**kwargs)
    if key == "maze_goal":
        from .goal import MazeGoalEnv

        check_kwargs(key, kwargs, MazeGoalEnv.__init__)
        return MazeGoalEnv(**kwargs)
    if key.startswith("gym:"):  # any registered gymnasium id, e.g. gym:CartPole-v1
        try:
            return gym.make(key[4:], **kwargs)
        except gym.error.Error as e:
            raise UnknownEnvError(f"gymnasium cannot make {key[4:]!r}: {str(e).splitlines()[0]}") from None
    if key.startswith("urlb:"):
        from .urlb import check_urlb_name, make_urlb

        check_urlb_name(key)
        check_kwargs(key, kwargs, make_urlb, exclude=("task",))
        return make_urlb(key, **kwargs)
    if key.startswith("dmc:"):
        from .dmc import DMCEnv, make_dmc

        check_kwargs(key, kwargs, DMCEnv.__init__, exclude=("domain", "task"))
        return make_dmc(key[4:], **kwargs)
    raise _unknown(str(name))


def make_vec(name: str, num_envs: int, seed: int | None = None, **kwargs: Any) -> VectorEnv:
    """``num_envs`` copies of ``make(name, **kwargs)`` as a gymnasium vector env (NEXT_STEP autoreset).

    Mazes get the numpy-batched ``MazeVectorEnv``; other envs a ``SyncVectorEnv``. If ``seed`` is given
    the vector env is reset once with it (SyncVectorEnv: sub-env i gets ``seed + i``) and its action
    space is seeded, so later un-seeded resets are reproducible too.
    """
    if not isinstance(num_envs, (int, np.integer)) or isinstance(num_envs, bool) or num_envs < 1:
        raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    key = _canonical(name)
    env: VectorEnv
    if key in BUILTIN_MAZES or key == "maze:custom":
        env = MazeVectorEnv(int(num_envs), **_maze_kwargs(key, kwargs))
    else:
        first = make(key, **kwargs)  # validates the name and kwargs before building the rest
        fns = [lambda: first] + [lambda: make(key, **dict(kwargs)) for _ in range(int(num_envs) - 1)]
        env = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)
    if seed is not None:
        env.reset(seed=int(seed))
        env.action_space.seed(int(seed))
        env.single_action_space.seed(int(seed))
    return env


def maze_layout(env: Any) -> MazeLayout | None:
    """The ``MazeLayout`` of a maze env (single or vector, wrapped or not), else None."""
    base = getattr(env, "unwrapped", env)
    layout = getattr(base, "layout", None)
    if isinstance(layout, MazeLayout):
        return layout
    subs = getattr(base, "envs", None)  # e.g. a SyncVectorEnv of MazeEnv
    if isinstance(subs, (list, tuple)) and subs:
        return maze_layout(subs[0])
    return None
