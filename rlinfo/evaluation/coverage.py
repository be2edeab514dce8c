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
    return rollout_paths(envs, policy, skills, steps, seed)["xy"]


def rollout_paths(
    envs: Any,
    policy: Policy,
    skills: np.ndarray,
    steps: int,
    seed: int,
    on_step: Callable[[], object] | None = None,
) -> dict[str, np.ndarray]:
    """:func:`rollout_xy`'s episodes, recording every per-env info key among ``"xy"`` [N, steps + 1, 2]
    and ``"upright"`` [N, steps + 1] (locomotion envs: cos of the torso's tilt) that the env reports.
    A sub-env that terminates early keeps its last values. Also each episode's ``"return"`` [N] (its
    rewards up to its end), ``"ended"`` [N] (whether it ended within ``steps``) and, where the env
    reports it, ``"success"`` [N] (whether it succeeded at some step). ``on_step()`` is called after
    every vector step (a progress bar)."""
    obs, info = envs.reset(seed=seed)
    keys = [k for k in ("xy", "upright") if k in info]
    paths = {k: [np.asarray(info[k], dtype=np.float64)] for k in keys}
    alive = np.ones(len(skills), dtype=bool)
    returns, success, has_success = np.zeros(len(skills)), np.zeros(len(skills), dtype=bool), False
    for _ in range(steps):
        if alive.any():
            obs, reward, terminated, truncated, info = envs.step(policy(obs, skills))
            if on_step is not None:
                on_step()
            for k in keys:
                new, last = np.asarray(info[k], dtype=np.float64), paths[k][-1]
                paths[k].append(np.where(alive.reshape(-1, *[1] * (new.ndim - 1)), new, last))
            returns += np.where(alive, reward, 0.0)
            if "success" in info:
                has_success = True
                success |= np.asarray(info["success"], dtype=bool) & alive
            alive &= ~(np.asarray(terminated) | np.asarray(truncated))
        else:
            for k in keys:
                paths[k].append(paths[k][-1])
    out = {k: np.stack(v, axis=1) for k, v in paths.items()}
    out.update({"return": returns, "ended": ~alive} | ({"success": success} if has_success else {}))
    return out


UPRIGHT_COS = 0.5  # upright: the torso's up axis within 60° of vertical


def upright_fraction(upright: np.ndarray) -> float:
    """Fraction of recorded steps [N, T] whose torso tilt is within 60° of vertical (cos ≥ 0.5): a walking
    Ant or running HalfCheetah stays near 1, one that flips and slides on its back or side near 0."""
    return float((np.asarray(upright) >= UPRIGHT_COS).mean())
