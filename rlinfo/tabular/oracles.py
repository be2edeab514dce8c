"""Planning oracles on the *true* model: the optima EntGame and UCBVI-Ent learn towards.

Tiapkin et al. (2023), *Fast Rates for Maximum Entropy Exploration* (ICML), experiments: "MTEE"
and "MVEE" oracles (the reference code solves MVEE with cvxpy; here Frank–Wolfe, numpy only).
"""

from __future__ import annotations

import numpy as np

from rlinfo.rewards.base import check_int
from rlinfo.tabular.common import (
    backward_induction,
    entropy,
    greedy_policy,
    policy_visitation,
    softmax_policy,
)
from rlinfo.tabular.mdp import FiniteMDP


def mtee_oracle_policy(mdp: FiniteMDP) -> np.ndarray:
    """Maximum trajectory entropy policy: soft VI with r_h(s, a) = H(P_h(·|s, a)), π = softmax Q.

    Its value V_0(s_0) is the largest trajectory entropy (see ``trajectory_entropy``).
    """
    reward = entropy(mdp.transitions)  # [S, A] or [H, S, A]: passed as the step-indexed "bonus"
    zero = np.zeros((mdp.n_states, mdp.n_actions))
    q, _ = backward_induction(zero, mdp.transitions, mdp.horizon, bonus=reward, soft=True)
    return softmax_policy(q)


def mvee_oracle(mdp: FiniteMDP, n_iter: int = 500) -> tuple[np.ndarray, float]:
    """Maximum visitation entropy of d̄ = (1/H) Σ_h d_h over mixtures of policies, by Frank–Wolfe.

        g_k(s)   = −log d̄_k(s) − 1                          (gradient of H at d̄_k)
        π'_k     = argmax_π E_π[Σ_h g_k(s_h)]                 (greedy VI on the true model)
        d̄_{k+1}  = (1 − γ_k) d̄_k + γ_k d̄^{π'_k},  γ_k = 2/(k + 2), from d̄_0 of the uniform policy

    Returns (d̄, gap) with gap = ⟨g_k, d̄^{π'_k} − d̄_k⟩ of the last step, an upper bound on
    max H − H(d̄) (concavity). This is EntGame's objective on the true model, on states.
    """
    check_int("mvee_oracle", "n_iter", n_iter, 1)
    uniform = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    d = policy_visitation(mdp, uniform).mean(axis=0)
    gap = float("inf")
    for k in range(n_iter):
        g = -np.log(np.maximum(d, 1e-12)) - 1.0
        reward = np.broadcast_to(g[:, None], (mdp.n_states, mdp.n_actions))
        q, _ = backward_induction(np.ascontiguousarray(reward), mdp.transitions, mdp.horizon)
        d_new = policy_visitation(mdp, greedy_policy(q)).mean(axis=0)
        gap = float(g @ (d_new - d))
        d = d + 2.0 / (k + 2.0) * (d_new - d)
    return d, gap
