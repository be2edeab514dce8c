"""rlinfo.envs: environment registry, 2-D point mazes, MuJoCo locomotion and dm_control tasks.

``make(name, **kwargs)`` builds one gymnasium env, ``make_vec(name, num_envs, seed=None, **kwargs)`` a
gymnasium vector env (NEXT_STEP autoreset), ``list_envs()`` lists the names and ``maze_layout(env)``
returns a maze's ``MazeLayout`` (None for other envs). Every env reports the agent's planar position
as ``info["xy"]``. MuJoCo and dm_control are imported lazily, when such an env is built.
"""

from .maze import LayoutError, MazeEnv, MazeLayout, MazeVectorEnv
from .registry import EnvArgumentError, UnknownEnvError, list_envs, make, make_vec, maze_layout

__all__ = [
    "EnvArgumentError",
    "LayoutError",
    "MazeEnv",
    "MazeLayout",
    "MazeVectorEnv",
    "UnknownEnvError",
    "list_envs",
    "make",
    "make_vec",
    "maze_layout",
]
