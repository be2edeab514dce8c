"""rlinfo.tabular: hand-computed backups and metrics, the paper's environments, bad input, learning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlinfo.tabular import (
    EntGame,
    FiniteMDP,
    ModelCounts,
    RandomPolicy,
    UCBVIEnt,
    backward_induction,
    double_chain,
    entropy,
    gridworld,
    mtee_oracle_policy,
    mvee_oracle,
    policy_visitation,
    run,
    trajectory_entropy,
    visitation_entropy,
)
from rlinfo.tabular.entgame import entgame_beta
from rlinfo.tabular.mdp import DOWN, LEFT, RIGHT, UP
from rlinfo.tabular.ucbvi_ent import ucbvi_ent_bonus


def two_state_mdp(horizon: int = 2) -> FiniteMDP:
    """a0 stays; a1 from s0 goes to s0/s1 with 1/2 each, from s1 to s0."""
    p = np.zeros((2, 2, 2))
    p[0, 0] = [1.0, 0.0]
    p[1, 0] = [0.0, 1.0]
    p[0, 1] = [0.5, 0.5]
    p[1, 1] = [1.0, 0.0]
    return FiniteMDP(p, 0, horizon)


R2 = np.array([[1.0, 0.0], [0.0, 2.0]])


def test_backward_induction_hard_by_hand():
    mdp = two_state_mdp()
    q, v = backward_induction(R2, mdp.transitions, 2)
    # h = 1: Q_1 = r, V_1 = [1, 2];  h = 0: Q_0(s0) = [1 + 1, 0 + (1 + 2)/2], Q_0(s1) = [0 + 2, 2 + 1]
    np.testing.assert_allclose(q[1], R2)
    np.testing.assert_allclose(v[1], [1.0, 2.0])
    np.testing.assert_allclose(q[0], [[2.0, 1.5], [2.0, 3.0]])
    np.testing.assert_allclose(v[0], [2.0, 3.0])
    np.testing.assert_allclose(v[2], [0.0, 0.0])
    # bonus b_h(s, a) added to every Q_h, clip V_h at v_clip[h]
    q, v = backward_induction(R2, mdp.transitions, 2, bonus=0.5, v_clip=np.array([10.0, 2.0]))
    np.testing.assert_allclose(v[1], [1.5, 2.0])  # V_1(s1) = min(2.5, 2)
    np.testing.assert_allclose(q[0], [[3.0, 0.5 + 1.75], [2.5, 2.5 + 1.5]])


def test_soft_backup_by_hand():
    mdp = two_state_mdp()
    q, v = backward_induction(R2, mdp.transitions, 2, soft=True)
    v1 = [math.log(math.e + 1.0), math.log(1.0 + math.e**2)]
    np.testing.assert_allclose(v[1], v1)
    q0 = [[1 + v1[0], 0.5 * (v1[0] + v1[1])], [0 + v1[1], 2 + v1[0]]]
    np.testing.assert_allclose(q[0], q0)
    np.testing.assert_allclose(v[0], [math.log(math.exp(a) + math.exp(b)) for a, b in q0])


def test_entropy_and_visitation_entropy_by_hand():
    assert entropy(np.array([1.0, 1.0, 2.0])) == pytest.approx(1.5 * math.log(2))
    assert entropy(np.array([0.0, 3.0])) == pytest.approx(0.0)
    # 2 episodes of H = 2 visiting states 0, 0, 1, 2: d = (1/2, 1/4, 1/4, 0)
    assert visitation_entropy(np.array([2, 1, 1, 0])) == pytest.approx(1.5 * math.log(2))
    assert visitation_entropy(np.ones(441)) == pytest.approx(math.log(441))


def test_policy_visitation_and_trajectory_entropy_by_hand():
    mdp = two_state_mdp(horizon=3)
    pi = np.zeros((2, 2))
    pi[:, 1] = 1.0  # always a1: s0 -> (s0, s1) w.p. 1/2, s1 -> s0
    d = policy_visitation(mdp, pi)
    np.testing.assert_allclose(d, [[1.0, 0.0], [0.5, 0.5], [0.75, 0.25]])
    # deterministic π: TE = Σ_h d_h(s0) H(1/2, 1/2) = (1 + 1/2 + 3/4) log 2
    assert trajectory_entropy(mdp, pi) == pytest.approx(2.25 * math.log(2))


def test_mtee_oracle_maximises_trajectory_entropy():
    mdp = two_state_mdp(horizon=3)
    oracle = mtee_oracle_policy(mdp)
    zero = np.zeros((2, 2))
    _, v = backward_induction(zero, mdp.transitions, 3, bonus=entropy(mdp.transitions), soft=True)
    assert trajectory_entropy(mdp, oracle) == pytest.approx(v[0, 0])
    assert trajectory_entropy(mdp, oracle) > trajectory_entropy(mdp, np.full((2, 2), 0.5)) + 0.05


def test_mvee_oracle_by_hand():
    """Chain 0-1-2 from 1, H = 2: d̄ = (δ_1 + d_1)/2, best d_1 = (1/2, 0, 1/2) mixing left and right."""
    d, gap = mvee_oracle(double_chain(length=3, horizon=2), n_iter=200)
    np.testing.assert_allclose(d, [0.25, 0.5, 0.25], atol=0.01)
    assert entropy(d) == pytest.approx(1.5 * math.log(2), abs=1e-3)
    assert 0 <= gap < 0.01


def test_gridworld_transitions():
    mdp = gridworld()
    assert (mdp.n_states, mdp.n_actions, mdp.horizon) == (441, 4, 20)
    assert mdp.initial_state == 10 * 21 + 10
    np.testing.assert_allclose(mdp.transitions.sum(axis=-1), 1.0)
    p, s = mdp.transitions, 10 * 21 + 10
    # interior: 0.95 to the intended neighbour, 0.05/3 to each other neighbour, never stay
    assert p[s, UP, s - 21] == pytest.approx(0.95)
    for a, s2 in ((LEFT, s - 1), (RIGHT, s + 1), (DOWN, s + 21)):
        assert p[s, UP, s2] == pytest.approx(0.05 / 3)
        assert p[s, a, s2] == pytest.approx(0.95)
    assert p[s, UP, s] == 0.0
    # top edge (0, 5): moving up stays; moving left succeeds w.p. 0.95, 0.025 to right and down
    e = 5
    assert p[e, UP, e] == 1.0
    assert p[e, LEFT, e - 1] == pytest.approx(0.95)
    assert p[e, LEFT, e + 1] == pytest.approx(0.025) and p[e, LEFT, e + 21] == pytest.approx(0.025)


def test_double_chain_transitions():
    mdp = double_chain()
    assert (mdp.n_states, mdp.n_actions, mdp.initial_state, mdp.horizon) == (31, 2, 15, 20)
    p = mdp.transitions
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    assert p[15, 0, 14] == pytest.approx(0.9) and p[15, 0, 16] == pytest.approx(0.1)
    assert p[15, 1, 16] == pytest.approx(0.9) and p[15, 1, 14] == pytest.approx(0.1)
    assert p[0, 0, 0] == pytest.approx(0.9) and p[0, 0, 1] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: FiniteMDP(np.full((3, 2, 3), 0.5), 0, 5),  # rows sum to 1.5
        lambda: FiniteMDP(np.full((3, 2), 0.5), 0, 5),  # wrong rank
        lambda: FiniteMDP(np.full((3, 2, 3), 1 / 3), 3, 5),  # initial state out of range
        lambda: FiniteMDP(np.full((3, 2, 3), 1 / 3), 0, 0),  # horizon 0
        lambda: FiniteMDP(np.full((4, 3, 2, 3), 1 / 3), 0, 5),  # 4 steps for H = 5
        lambda: gridworld(success_prob=1.5),
        lambda: gridworld(start=(21, 0)),
        lambda: double_chain(length=1),
        lambda: EntGame(delta=1.5),
        lambda: UCBVIEnt(kappa=-1.0),
        lambda: entropy(np.array([-1.0, 2.0])),
        lambda: run(RandomPolicy(), double_chain(), 0),
    ],
)
def test_bad_input_raises_one_line_value_error(make):
    with pytest.raises(ValueError) as info:
        make()
    assert "\n" not in str(info.value)


def test_counts_model_and_bonus_formulas():
    c = ModelCounts(3, 2)
    np.testing.assert_allclose(c.p_hat[1, 1], [1 / 3] * 3)
    c.add(np.array([0, 0, 0]), np.array([1, 1, 1]), np.array([2, 2, 1]))
    np.testing.assert_allclose(c.p_hat[0, 1], [0.0, 1 / 3, 2 / 3])
    assert c.next_entropy[0, 1] == pytest.approx(entropy(np.array([1.0, 2.0])))
    assert c.next_entropy[2, 0] == pytest.approx(math.log(3))
    np.testing.assert_allclose(c.n_s, [3, 0, 0])
    # EntGame: r = log(n + SA) − log(N + 1), β(N) = log(4SAH/δ) + (S − 1) log(e(1 + N/(S − 1)))
    r = EntGame().reward(c)
    assert r[0, 1] == pytest.approx(math.log(3 + 6) - math.log(4))
    assert r[1, 0] == pytest.approx(math.log(9))
    beta = entgame_beta(c.n_sa, 3, 2, 5, 0.1)
    assert beta[0, 1] == pytest.approx(math.log(4 * 3 * 2 * 5 / 0.1) + 2 * math.log(math.e * 2.5))
    scaled, unscaled = ucbvi_ent_bonus(c.n_sa, 3, 2, 5, 0.1)
    log_c = math.log(4 * 3 * 2 * 5 / 0.1)
    assert scaled[0, 1] == pytest.approx(math.sqrt((log_c + math.log(4 * math.e * 3 * 7)) / 3))
    ent1 = log_c + math.log(3) ** 2 * math.log(2 * 3 * 4)
    assert unscaled[0, 1] == pytest.approx(math.sqrt(ent1 / 3) + (2 * math.log(math.e * 2.5) + 1) / 3)


def test_entgame_explores_far_more_uniformly_than_random():
    mdp = gridworld(n_rows=9, n_cols=9, horizon=10)
    ent = run(EntGame(), mdp, 200, seed=0, exact=False)
    rnd = run(RandomPolicy(), mdp, 200, seed=0, exact=False)
    assert ent.entropy[-1] > rnd.entropy[-1] + 0.4
    assert ent.entropy[-1] > 0.85 * math.log(mdp.n_states)
    assert ent.entropy[-1] > ent.entropy[len(ent.entropy) // 2]  # still rising with more data


def test_ucbvi_ent_approaches_the_trajectory_entropy_optimum():
    """One stay action (no entropy) and one uniform jump: the optimum prefers the jump."""
    p = np.zeros((4, 2, 4))
    p[np.arange(4), 0, np.arange(4)] = 1.0
    p[:, 1, :] = 0.25
    mdp = FiniteMDP(p, 0, 4)
    best = trajectory_entropy(mdp, mtee_oracle_policy(mdp))
    uniform = trajectory_entropy(mdp, np.full((4, 2), 0.5))
    learned = trajectory_entropy(mdp, run(UCBVIEnt(), mdp, 300, seed=0, exact=False).policy)
    assert best - learned < 0.5 * (best - uniform)
