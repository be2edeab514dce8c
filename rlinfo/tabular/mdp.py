"""Finite-horizon tabular MDPs and the environments of Tiapkin et al. (2023).

Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko, Ménard (2023),
*Fast Rates for Maximum Entropy Exploration* (ICML); reference code d-tiapkin/max-entropy-exploration
(configs ``gridworld.json`` and ``double_chain.json``).

An episode starts in ``initial_state``; at steps h = 0, …, H − 1 the agent picks a ~ π_h(·|s_h) and
the next state is drawn from s_{h+1} ~ P_h(·|s_h, a). ``transitions`` is either stationary
P[s, a, s'] (shape [S, A, S]) or step-dependent P[h, s, a, s'] (shape [H, S, A, S]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlinfo.rewards.base import check_float, check_int

LEFT, RIGHT, UP, DOWN = 0, 1, 2, 3
_MOVES = {LEFT: (0, -1), RIGHT: (0, 1), UP: (-1, 0), DOWN: (1, 0)}


@dataclass(frozen=True, eq=False)
class FiniteMDP:
    """A reward-free finite MDP with horizon H and a deterministic initial state.

    ``grid_shape`` (rows, cols) is set for grid worlds, whose state index is row * cols + col;
    it is only used to draw visitation heat maps.
    """

    transitions: np.ndarray
    initial_state: int
    horizon: int
    name: str = "mdp"
    grid_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name in ("initial_state", "horizon"):  # accept numpy integers
            if isinstance(getattr(self, name), np.integer):
                object.__setattr__(self, name, int(getattr(self, name)))
        p = np.asarray(self.transitions, dtype=np.float64)
        if p.ndim not in (3, 4):
            raise ValueError(f"FiniteMDP: transitions must be [S, A, S] or [H, S, A, S], got {p.shape}")
        if p.shape[-1] != p.shape[-3] or p.shape[-1] < 2 or p.shape[-2] < 1:
            raise ValueError(f"FiniteMDP: transitions must be [.., S, A, S], S >= 2, A >= 1; got {p.shape}")
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError("FiniteMDP: transitions must be finite and non-negative")
        if not np.allclose(p.sum(axis=-1), 1.0, atol=1e-8):
            raise ValueError("FiniteMDP: every transitions[.., s, a, :] row must sum to 1")
        check_int("FiniteMDP", "horizon", self.horizon, 1)
        if p.ndim == 4 and p.shape[0] != self.horizon:
            raise ValueError(f"FiniteMDP: {p.shape[0]} transition steps for horizon {self.horizon}")
        check_int("FiniteMDP", "initial_state", self.initial_state, 0)
        if self.initial_state >= p.shape[-1]:
            raise ValueError(f"FiniteMDP: initial_state must be < S={p.shape[-1]}, got {self.initial_state}")
        if self.grid_shape is not None and int(np.prod(self.grid_shape)) != p.shape[-1]:
            raise ValueError(f"FiniteMDP: grid_shape {self.grid_shape} does not hold S={p.shape[-1]}")
        object.__setattr__(self, "transitions", p)

    @property
    def n_states(self) -> int:
        return int(self.transitions.shape[-1])

    @property
    def n_actions(self) -> int:
        return int(self.transitions.shape[-2])

    def p(self, h: int) -> np.ndarray:
        """P_h[s, a, s'] at step h (the same array for every h when stationary)."""
        return self.transitions if self.transitions.ndim == 3 else self.transitions[h]


def gridworld(
    n_rows: int = 21,
    n_cols: int = 21,
    start: tuple[int, int] | None = None,
    success_prob: float = 0.95,
    horizon: int = 20,
) -> FiniteMDP:
    """The paper's grid world: 21 × 21 cells, start in the centre (10, 10), 4 actions, H = 20.

    Actions are left, right, up, down (0, 1, 2, 3). Transition rule of the reference code (its
    ``GridWorld`` follows rlberry's), with N(s) the in-grid neighbours of s:

    * intended neighbour outside the grid:     stay in s with probability 1;
    * otherwise:  P(intended) = p_success and P(n) = (1 − p_success) / (|N(s)| − 1) for every other
      n ∈ N(s) (never stay); when |N(s)| = 1 the move succeeds with probability 1.

    p_success = 0.95 in the paper. No walls (the reference config passes none): S = rows · cols.
    """
    check_int("gridworld", "n_rows", n_rows, 1)
    check_int("gridworld", "n_cols", n_cols, 1)
    check_int("gridworld", "horizon", horizon, 1)
    if n_rows * n_cols < 2:
        raise ValueError(f"gridworld: needs at least 2 cells, got {n_rows}x{n_cols}")
    check_float("gridworld", "success_prob", success_prob)
    if success_prob > 1:
        raise ValueError(f"gridworld: success_prob must be in (0, 1], got {success_prob!r}")
    start = (n_rows // 2, n_cols // 2) if start is None else tuple(start)
    if len(start) != 2 or not (0 <= start[0] < n_rows and 0 <= start[1] < n_cols):
        raise ValueError(f"gridworld: start must be a (row, col) inside {n_rows}x{n_cols}, got {start!r}")
    n_states = n_rows * n_cols
    p = np.zeros((n_states, 4, n_states))
    for r in range(n_rows):
        for c in range(n_cols):
            s = r * n_cols + c
            nbr = {}
            for a, (dr, dc) in _MOVES.items():
                if 0 <= r + dr < n_rows and 0 <= c + dc < n_cols:
                    nbr[a] = (r + dr) * n_cols + (c + dc)
            for a in _MOVES:
                if a not in nbr:
                    p[s, a, s] = 1.0
                elif len(nbr) == 1:
                    p[s, a, nbr[a]] = 1.0
                else:
                    for b, s2 in nbr.items():
                        p[s, a, s2] = success_prob if b == a else (1 - success_prob) / (len(nbr) - 1)
    s0 = int(start[0]) * n_cols + int(start[1])
    return FiniteMDP(p, s0, horizon, name=f"gridworld{n_rows}x{n_cols}", grid_shape=(n_rows, n_cols))


def double_chain(length: int = 31, fail_prob: float = 0.1, horizon: int = 20) -> FiniteMDP:
    """The paper's double chain: states 0, …, L − 1 (L = 31), start in the middle ⌊L/2⌋, H = 20.

    Actions left (0) and right (1) move one state in the chosen direction with probability
    1 − p_fail and in the opposite direction with probability p_fail (p_fail = 0.1); a move past
    an end stays at that end.
    """
    check_int("double_chain", "length", length, 2)
    check_int("double_chain", "horizon", horizon, 1)
    check_float("double_chain", "fail_prob", fail_prob, positive=False)
    if fail_prob > 1:
        raise ValueError(f"double_chain: fail_prob must be in [0, 1], got {fail_prob!r}")
    p = np.zeros((length, 2, length))
    for s in range(length):
        left, right = max(s - 1, 0), min(s + 1, length - 1)
        p[s, 0, left] += 1 - fail_prob
        p[s, 0, right] += fail_prob
        p[s, 1, right] += 1 - fail_prob
        p[s, 1, left] += fail_prob
    return FiniteMDP(p, length // 2, horizon, name=f"double_chain{length}")
