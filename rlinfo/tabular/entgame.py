"""EntGame: maximum *visitation* entropy exploration as a game (Tiapkin et al., 2023, Algorithm 1).

Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko, Ménard (2023),
*Fast Rates for Maximum Entropy Exploration* (ICML); sample complexity Õ(H³S²A/ε²).

Objective: max_π H(d^π), the entropy of the visitation distribution. Writing
H(d) = min_{d̄} Σ d log(1/d̄) turns it into a game between

* a **forecaster** that plays the smoothed empirical visitation of the n samples so far,
      d̄(s, a) = (N(s, a) + n₀) / (n + n₀·SA),   n₀ = 1  (add-one smoothing; n₀SA = SA for n₀ = 1),
* a **sampler** that best-responds by optimistic value iteration on the reward −log d̄:

      r(s, a)   = log(n + SA) − log(N(s, a) + 1)
      β(N)      = log(4SAH/δ) + (S − 1) log(e (1 + N/(S − 1)))
      b(s, a)   = √(β(N(s, a)) / max(1, N(s, a)))
      Q_h(s, a) = r(s, a) + κ · v_h · b(s, a) + Σ_s' P̂(s'|s, a) V_{h+1}(s'),   v_h = log(n + SA)(H − h)
      V_h(s)    = max_a Q_h(s, a)   (optionally clipped at v_h)

  and plays greedily in Q (uniform tie-break) in the next episode.

Defaults follow the reference code (d-tiapkin/max-entropy-exploration, ``agents/entgame.py``):
δ = 0.1, κ = 1, counts pooled over steps h (the paper's are per h), no clipping on the grid world
(``clip: true`` on the double chain). The output policy is the uniform mixture of the played
sampler policies (``output = "mixture"``); ``values`` holds the optimistic V [H + 1, S] of the last plan.
"""

from __future__ import annotations

import math

import numpy as np

from rlinfo.rewards.base import check_float
from rlinfo.tabular.common import ModelCounts, backward_induction, greedy_policy


def entgame_beta(n_sa: np.ndarray, n_states: int, n_actions: int, horizon: int, delta: float) -> np.ndarray:
    """β(N) = log(4SAH/δ) + (S − 1) log(e (1 + N/(S − 1))), the KL-concentration threshold."""
    s, a = n_states, n_actions
    return math.log(4 * s * a * horizon / delta) + (s - 1) * np.log(math.e * (1 + n_sa / (s - 1)))


class EntGame:
    """EntGame planner: smoothed-visitation forecaster vs optimistic (UCB) sampler.

    Use with :func:`rlinfo.tabular.common.run`::

        result = run(EntGame(), gridworld(), n_episodes=5000, seed=0)
    """

    name = "EntGame"
    output = "mixture"

    def __init__(self, kappa: float = 1.0, delta: float = 0.1, clip: bool = False) -> None:
        check_float("EntGame", "kappa", kappa, positive=False)
        check_float("EntGame", "delta", delta)
        if delta >= 1:
            raise ValueError(f"EntGame: delta must be in (0, 1), got {delta!r}")
        self.kappa, self.delta, self.clip = float(kappa), float(delta), bool(clip)
        self.values: np.ndarray | None = None

    def reward(self, counts: ModelCounts) -> np.ndarray:
        """r(s, a) = −log d̄(s, a) = log(n + SA) − log(N(s, a) + 1)."""
        n_states, n_actions = counts.n_sa.shape
        return math.log(counts.n_samples + n_states * n_actions) - np.log(counts.n_sa + 1.0)

    def plan(self, counts: ModelCounts, horizon: int) -> np.ndarray:
        """The sampler's greedy policy π[h, s, a] for the next episode."""
        n_states, n_actions = counts.n_sa.shape
        scale = math.log(counts.n_samples + n_states * n_actions)
        v_max = scale * (horizon - np.arange(horizon, dtype=np.float64))
        beta = entgame_beta(counts.n_sa, n_states, n_actions, horizon, self.delta)
        bonus = np.sqrt(beta / np.maximum(1.0, counts.n_sa))
        q, v = backward_induction(
            self.reward(counts),
            counts.p_hat,
            horizon,
            bonus=self.kappa * v_max[:, None, None] * bonus,
            v_clip=v_max if self.clip else None,
        )
        self.values = v
        return greedy_policy(q)
