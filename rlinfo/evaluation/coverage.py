"""Policy state coverage (Park et al. 2024, METRA, ``MjNumUniqueCoords``).

Coverage is the number of distinct 1×1 cells (⌊x⌋, ⌊y⌋) visited by N deterministic rollouts with
random skills (METRA: N = 48, 200 steps). For a maze it is reported as the fraction of the maze's
free cells; for open worlds (Ant, HalfCheetah) as the raw cell count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs [N, o], skills [N, d]) -> actions


class Layout(Protocol):
    free_cells: int


def unique_cells(xy: np.ndarray) -> int:
    """Number of distinct (⌊x⌋, ⌊y⌋) cells among points ``xy`` of shape [..., 2]."""
    cells = np.floor(np.asarray(xy, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    return int(np.unique(cells, axis=0).shape[0])


def policy_state_coverage(xy: np.ndarray, layout: Layout | None = None) -> dict[str, float]:
    """Coverage of trajectories ``xy`` [N, T, 2]: the cell count, and the free-cell fraction in a maze."""
    cells = unique_cells(xy)
    result: dict[str, float] = {"coverage_cells": float(cells)}
    result["coverage"] = cells / layout.free_cells if layout is not None else float(cells)
    return result


def rollout_xy(envs: Any, policy: Policy, skills: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """Run one episode of at most ``steps`` steps in each sub-env; return xy [N, steps + 1, 2].

    ``envs`` is a gymnasium vector env whose infos carry ``"xy"``; sub-env i follows skill i. A
    sub-env that terminates early keeps its last position (its autoreset is never recorded).
    """
    obs, info = envs.reset(seed=seed)
    xy = [np.asarray(info["xy"], dtype=np.float64)]
    alive = np.ones(len(skills), dtype=bool)
    for _ in range(steps):
        if alive.any():
            obs, _, terminated, truncated, info = envs.step(policy(obs, skills))
            current = np.where(alive[:, None], np.asarray(info["xy"], dtype=np.float64), xy[-1])
            alive &= ~(np.asarray(terminated) | np.asarray(truncated))
        else:
            current = xy[-1]
        xy.append(current)
    return np.stack(xy, axis=1)
