"""Baseline explorer: the uniformly random policy π_h(a|s) = 1/A (Tiapkin et al., 2023, "Random")."""

from __future__ import annotations

import numpy as np

from rlinfo.tabular.common import ModelCounts, RunResult, run
from rlinfo.tabular.mdp import FiniteMDP


class RandomPolicy:
    """Planner that ignores the data and always plays uniformly random actions."""

    name = "Random"
    output = "last"

    def plan(self, counts: ModelCounts, horizon: int) -> np.ndarray:
        n_states, n_actions = counts.n_sa.shape
        return np.full((horizon, n_states, n_actions), 1.0 / n_actions)


def run_random(mdp: FiniteMDP, n_episodes: int, seed: int = 0, **kwargs: object) -> RunResult:
    """:func:`rlinfo.tabular.common.run` with :class:`RandomPolicy` (same logging and metrics)."""
    return run(RandomPolicy(), mdp, n_episodes, seed=seed, **kwargs)  # type: ignore[arg-type]
