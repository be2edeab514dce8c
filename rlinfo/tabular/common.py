"""Shared pieces of the tabular explorers: counts, backward induction, rollouts, entropies.

Every explorer (EntGame, UCBVI-Ent, the random baseline) is a *planner*: before each episode
``plan(counts, horizon)`` turns the data gathered so far into a policy π[h, s, a]; :func:`run`
rolls that policy out for H steps, adds the transitions to the counts and logs the visitation
entropy. Reference: Tiapkin et al. (2023), *Fast Rates for Maximum Entropy Exploration* (ICML).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rlinfo.rewards.base import check_int
from rlinfo.tabular.mdp import FiniteMDP


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats, −Σ_x p(x) log p(x), of (unnormalised) non-negative weights along ``axis``.

    Zero weights contribute 0 (0 log 0 = 0). Example: entropy([1, 1, 2]) = 1.5 log 2.
    """
    w = np.asarray(p, dtype=np.float64)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("entropy: weights must be finite and non-negative")
    total = w.sum(axis=axis, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("entropy: weights must have a positive sum")
    q = w / total
    return -np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=axis)


def visitation_entropy(state_counts: np.ndarray) -> float:
    """Entropy of the empirical state visitation d(s) = N(s) / (N·H): N(s) visits in N episodes of H steps."""
    return float(entropy(state_counts))


class ModelCounts:
    """Stage-independent counts N(s, a), N(s, a, s'), N(s) and the empirical model P̂.

    P̂(s'|s, a) = N(s, a, s') / N(s, a), uniform 1/S while N(s, a) = 0 (as the reference code);
    ``next_entropy[s, a]`` = H(P̂(·|s, a)) (log S while unvisited), refreshed with the rows of P̂.
    The paper's analysis uses per-step counts N_h; the reference code pools the steps (recorded
    deviation, see docs).
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        check_int("ModelCounts", "n_states", n_states, 2)
        check_int("ModelCounts", "n_actions", n_actions, 1)
        self.n_sa = np.zeros((n_states, n_actions))
        self.n_sas = np.zeros((n_states, n_actions, n_states))
        self.n_s = np.zeros(n_states)
        self.p_hat = np.full((n_states, n_actions, n_states), 1.0 / n_states)
        self.next_entropy = np.full((n_states, n_actions), np.log(n_states))

    @property
    def n_samples(self) -> int:
        return int(self.n_s.sum())

    def add(self, states: np.ndarray, actions: np.ndarray, next_states: np.ndarray) -> None:
        """Add transitions (s_i, a_i, s'_i) and refresh the rows of P̂ they touch."""
        np.add.at(self.n_sa, (states, actions), 1.0)
        np.add.at(self.n_sas, (states, actions, next_states), 1.0)
        np.add.at(self.n_s, states, 1.0)
        rows = np.unique(np.stack([states, actions]), axis=1)
        s, a = rows[0], rows[1]
        self.p_hat[s, a] = self.n_sas[s, a] / self.n_sa[s, a, None]
        self.next_entropy[s, a] = entropy(self.n_sas[s, a])


def backward_induction(
    reward: np.ndarray,
    transitions: np.ndarray,
    horizon: int,
    bonus: np.ndarray | float = 0.0,
    v_clip: np.ndarray | None = None,
    soft: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Finite-horizon (soft) value iteration with γ = 1.

        Q_h(s, a) = r(s, a) + b_h(s, a) + Σ_s' P_h(s'|s, a) V_{h+1}(s'),     V_H = 0
        V_h(s)    = max_a Q_h(s, a)                 (soft=False: optimistic VI, EntGame)
        V_h(s)    = log Σ_a exp Q_h(s, a)           (soft=True: soft Bellman backup, UCBVI-Ent)
        V_h(s)    ← min(V_h(s), v_clip[h])          when v_clip is given

    reward [S, A]; transitions [S, A, S] or [H, S, A, S]; bonus broadcastable to [H, S, A].
    Returns Q [H, S, A] and V [H + 1, S].
    """
    n_states, n_actions = reward.shape
    b = np.broadcast_to(np.asarray(bonus, dtype=np.float64), (horizon, n_states, n_actions))
    q = np.zeros((horizon, n_states, n_actions))
    v = np.zeros((horizon + 1, n_states))
    for h in range(horizon - 1, -1, -1):
        p = transitions if transitions.ndim == 3 else transitions[h]
        q[h] = reward + b[h] + (p.reshape(-1, n_states) @ v[h + 1]).reshape(n_states, n_actions)
        if soft:
            m = q[h].max(axis=1)
            v[h] = m + np.log(np.exp(q[h] - m[:, None]).sum(axis=1))
        else:
            v[h] = q[h].max(axis=1)
        if v_clip is not None:
            v[h] = np.minimum(v[h], v_clip[h])
    return q, v


def greedy_policy(q: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """π_h(a|s) uniform over argmax_a Q_h(s, a) (ties broken uniformly at random when sampled)."""
    best = q >= q.max(axis=-1, keepdims=True) - atol
    return best / best.sum(axis=-1, keepdims=True)


def softmax_policy(q: np.ndarray) -> np.ndarray:
    """π_h(a|s) = exp(Q_h(s, a) − V_h(s)) with V_h = logsumexp_a Q_h (unclipped)."""
    z = np.exp(q - q.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def policy_visitation(mdp: FiniteMDP, policy: np.ndarray) -> np.ndarray:
    """Exact state distributions d_h(s) = P^π(s_h = s), h = 0, …, H − 1, by forward dynamic programming.

        d_0 = δ_{s_0},   d_{h+1}(s') = Σ_{s, a} d_h(s) π_h(a|s) P_h(s'|s, a)

    policy [H, S, A] (or [S, A], stationary). Returns d [H, S].
    """
    pi = np.broadcast_to(policy, (mdp.horizon, mdp.n_states, mdp.n_actions))
    d = np.zeros((mdp.horizon, mdp.n_states))
    d[0, mdp.initial_state] = 1.0
    for h in range(mdp.horizon - 1):
        d[h + 1] = (d[h][:, None] * pi[h]).reshape(-1) @ mdp.p(h).reshape(-1, mdp.n_states)
    return d


def trajectory_entropy(mdp: FiniteMDP, policy: np.ndarray) -> float:
    """Exact trajectory entropy of π (the UCBVI-Ent objective), by the chain rule:

        TE(π) = Σ_h Σ_s d_h(s) Σ_a π_h(a|s) [−log π_h(a|s) + H(P_h(·|s, a))]
    """
    pi = np.broadcast_to(policy, (mdp.horizon, mdp.n_states, mdp.n_actions))
    d = policy_visitation(mdp, pi)
    total = 0.0
    for h in range(mdp.horizon):
        step = entropy(pi[h]) + np.sum(pi[h] * entropy(mdp.p(h)), axis=-1)
        total += float(d[h] @ step)
    return total


class Planner(Protocol):
    """An explorer: maps the counts so far to the policy π[h, s, a] of the next episode."""

    name: str
    output: str  # "mixture": output policy = uniform mixture of all played policies; "last": the final one

    def plan(self, counts: ModelCounts, horizon: int) -> np.ndarray: ...


@dataclass
class RunResult:
    """Per-logged-episode statistics of one run.

    ``entropy[i]`` is the visitation entropy of all samples up to ``samples[i]`` = episodes · H;
    ``exact_entropy`` is the entropy of (1/H) Σ_h d_h of the output policy (NaN if not computed);
    ``policy`` [H, S, A] is the policy planned from all the data (the output when ``output="last"``).
    """

    name: str
    samples: np.ndarray
    entropy: np.ndarray
    state_counts: np.ndarray
    policy: np.ndarray
    exact_visitation: np.ndarray | None = None
    exact_entropy: float = float("nan")


def _sample(cdf: np.ndarray, u: float) -> int:
    return min(int(np.searchsorted(cdf, u, side="right")), cdf.shape[0] - 1)


def rollout(mdp: FiniteMDP, policy: np.ndarray, rng: np.random.Generator, p_cdf: np.ndarray) -> np.ndarray:
    """One episode of π in ``mdp``; returns the [H, 3] integer array of (s_h, a_h, s_{h+1}).

    ``p_cdf`` is ``np.cumsum(mdp.transitions, axis=-1)``, computed once per run.
    """
    pi_cdf = np.cumsum(policy, axis=-1)
    u = rng.random((mdp.horizon, 2))
    out = np.zeros((mdp.horizon, 3), dtype=np.int64)
    s = mdp.initial_state
    for h in range(mdp.horizon):
        a = _sample(pi_cdf[h, s], u[h, 0])
        cdf = p_cdf[s, a] if p_cdf.ndim == 3 else p_cdf[h, s, a]
        s2 = _sample(cdf, u[h, 1])
        out[h] = (s, a, s2)
        s = s2
    return out


def log_points(n_episodes: int, n_logs: int) -> np.ndarray:
    """Episode numbers (1-based) at which :func:`run` logs: geometric spacing, always the last one."""
    if n_logs >= n_episodes:
        return np.arange(1, n_episodes + 1)
    pts = np.unique(np.geomspace(1, n_episodes, n_logs).round().astype(int))
    return np.union1d(pts, [n_episodes])


def run(
    planner: Planner,
    mdp: FiniteMDP,
    n_episodes: int,
    seed: int = 0,
    n_logs: int = 40,
    exact: bool = True,
    progress: bool = False,
) -> RunResult:
    """Play ``n_episodes`` episodes of ``planner`` in ``mdp`` and log the visitation entropy.

    Logs after ``n_logs`` geometrically spaced episodes (``n_logs = n_episodes``: every episode).

    With ``exact``, the output policy's visitation is computed by :func:`policy_visitation`: the
    uniform mixture of all played policies (``planner.output == "mixture"``, averaged episode by
    episode) or the policy planned from all the data (``"last"``).
    """
    check_int("run", "n_episodes", n_episodes, 1)
    check_int("run", "n_logs", n_logs, 1)
    if planner.output not in ("mixture", "last"):
        raise ValueError(f"run: planner.output must be 'mixture' or 'last', got {planner.output!r}")
    rng = np.random.default_rng(seed)
    counts = ModelCounts(mdp.n_states, mdp.n_actions)
    p_cdf = np.cumsum(mdp.transitions, axis=-1)
    logs = set(log_points(n_episodes, n_logs).tolist())
    samples, ent = [], []
    mixture = np.zeros((mdp.horizon, mdp.n_states))
    episodes = range(1, n_episodes + 1)
    if progress:
        from tqdm import tqdm

        episodes = tqdm(episodes, desc=f"{planner.name} {mdp.name} seed {seed}", leave=False)
    for t in episodes:
        policy = planner.plan(counts, mdp.horizon)
        if exact and planner.output == "mixture":
            mixture += policy_visitation(mdp, policy)
        traj = rollout(mdp, policy, rng, p_cdf)
        counts.add(traj[:, 0], traj[:, 1], traj[:, 2])
        if t in logs:
            samples.append(counts.n_samples)
            ent.append(visitation_entropy(counts.n_s))
    final = planner.plan(counts, mdp.horizon)
    result = RunResult(planner.name, np.array(samples), np.array(ent), counts.n_s.copy(), final)
    if exact:
        d = mixture / n_episodes if planner.output == "mixture" else policy_visitation(mdp, final)
        result.exact_visitation = d.mean(axis=0)
        result.exact_entropy = float(entropy(result.exact_visitation))
    return result
