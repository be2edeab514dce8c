"""UCBVI-Ent: maximum *trajectory* entropy exploration (Tiapkin et al., 2023, Algorithm 2).

Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko, Ménard (2023),
*Fast Rates for Maximum Entropy Exploration* (ICML); sample complexity Õ(poly(S, A, H)/ε).

Objective: the entropy of the whole trajectory (s_0, a_0, …, s_H) under π. By the chain rule it
is an entropy-regularised MDP with reward H(P_h(·|s, a)), the entropy of the next state, and soft
(log-sum-exp) Bellman backups, solved optimistically with the empirical model P̂:

    r(s, a)   = H(P̂(·|s, a)) = −Σ_s' P̂(s'|s, a) log P̂(s'|s, a)
    v_h       = (H − h) log(SA)                                   (the largest trajectory entropy left)
    n         = max(1, N(s, a))
    β_conc    = log(4SAH/δ) + log(4e · n · (2N + 1))
    β_ent1    = log(4SAH/δ) + (log n)² · log(2n(N + 1))
    β_ent2    = (S − 1) log(e (1 + N/(S − 1))) + 1
    b_h(s, a) = κ (v_h √(β_conc/n) + √(β_ent1/n) + β_ent2/n)
    Q_h(s, a) = r(s, a) + b_h(s, a) + Σ_s' P̂(s'|s, a) V_{h+1}(s')
    V_h(s)    = min(log Σ_a exp Q_h(s, a), v_h),     π_h(a|s) = softmax_a Q_h(s, a)

Defaults follow the reference code (d-tiapkin/max-entropy-exploration, ``agents/ucbvi_ent.py``):
δ = 0.1, clipping always on, counts pooled over steps h. κ scales all three bonus terms (κ = 1 is
the reference code, κ = 0 its "no bonus" variant). The output policy is the last one (``"last"``).
"""

from __future__ import annotations

import math

import numpy as np

from rlinfo.rewards.base import check_float
from rlinfo.tabular.common import ModelCounts, backward_induction, softmax_policy


def ucbvi_ent_bonus(
    n_sa: np.ndarray, n_states: int, n_actions: int, horizon: int, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    """The bonus split as b_h = v_h · scaled + unscaled: returns (√(β_conc/n), √(β_ent1/n) + β_ent2/n)."""
    s, a = n_states, n_actions
    n = np.maximum(1.0, n_sa)
    log_c = math.log(4 * s * a * horizon / delta)
    beta_conc = log_c + np.log(4 * math.e * n * (2 * n_sa + 1))
    beta_ent1 = log_c + np.log(n) ** 2 * np.log(2 * n * (n_sa + 1))
    beta_ent2 = (s - 1) * np.log(math.e * (1 + n_sa / (s - 1))) + 1
    return np.sqrt(beta_conc / n), np.sqrt(beta_ent1 / n) + beta_ent2 / n


class UCBVIEnt:
    """UCBVI-Ent planner: optimistic soft value iteration on the next-state-entropy reward.

    Use with :func:`rlinfo.tabular.common.run`::

        result = run(UCBVIEnt(), gridworld(), n_episodes=5000, seed=0)
    """

    name = "UCBVI-Ent"
    output = "last"

    def __init__(self, kappa: float = 1.0, delta: float = 0.1) -> None:
        check_float("UCBVIEnt", "kappa", kappa, positive=False)
        check_float("UCBVIEnt", "delta", delta)
        if delta >= 1:
            raise ValueError(f"UCBVIEnt: delta must be in (0, 1), got {delta!r}")
        self.kappa, self.delta = float(kappa), float(delta)
        self.values: np.ndarray | None = None

    def plan(self, counts: ModelCounts, horizon: int) -> np.ndarray:
        """The softmax policy π[h, s, a] of the optimistic soft Q for the next episode."""
        n_states, n_actions = counts.n_sa.shape
        v_max = math.log(n_states * n_actions) * (horizon - np.arange(horizon, dtype=np.float64))
        scaled, unscaled = ucbvi_ent_bonus(counts.n_sa, n_states, n_actions, horizon, self.delta)
        bonus = self.kappa * (v_max[:, None, None] * scaled + unscaled)
        q, v = backward_induction(counts.next_entropy, counts.p_hat, horizon, bonus, v_max, soft=True)
        self.values = v
        return softmax_policy(q)

