"""A sparse-reward goal task on the 2-D point mazes (continuous actions), wrapping :class:`MazeEnv`.

Reward 1 and termination when the point comes within ``goal_radius`` of ``goal``; else reward 0;
truncation after ``max_episode_steps``. The default goal on ``maze:square`` is the top-left corner
(1.5, 10.5), ≈ 6.4 cells from the start (6.5, 5.5): at ``max_step`` 0.5 at least 11 steps, while
uniform random actions rarely get there. ``info["success"]`` marks the goal step.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .maze import MazeEnv, MazeLayout


class MazeGoalEnv(MazeEnv):
    """``MazeEnv`` plus a goal disc: reward 1 and termination inside it."""

    def __init__(
        self,
        layout: str | os.PathLike[str] | MazeLayout = "square",
        goal: tuple[float, float] | list[float] | None = None,
        goal_radius: float = 1.0,
        max_step: float = 0.5,
        max_episode_steps: int | None = 100,
        start_noise: float = 0.0,
        substeps: int = 1,
    ) -> None:
        super().__init__(layout, max_step, max_episode_steps, start_noise, substeps)
        g = np.asarray(goal if goal is not None else (1.5, self.layout.height - 1.5), dtype=np.float64)
        if g.shape != (2,) or not bool(self.layout.is_free(g[None])[0]):
            raise ValueError(f"maze goal must be a free (x, y) point of the layout, got {goal!r}")
        if not goal_radius > 0:
            raise ValueError(f"maze goal_radius must be > 0, got {goal_radius!r}")
        self.goal, self.goal_radius = g, float(goal_radius)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, _, _, truncated, info = super().step(action)
        success = bool(np.linalg.norm(self.position - self.goal) <= self.goal_radius)
        info["success"] = success
        return obs, float(success), success, truncated and not success, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        info["success"] = False
        return obs, info
