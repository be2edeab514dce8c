"""Tests for rlinfo.rewards: METRA and DIAYN formulas, training behaviour, API and checkpoints."""

from __future__ import annotations

import inspect
import io
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import skill_batch

from rlinfo.rewards import DIAYN, METRA, REWARDS, RND, IntrinsicReward, make_reward
from rlinfo.types import Batch


def _linear_metra(W, b=None, **kwargs) -> METRA:
    """METRA whose φ is the linear map s -> W s + b (num_layers=0 gives one nn.Linear)."""
    W = torch.as_tensor(W, dtype=torch.float32)
    m = METRA(obs_dim=W.shape[1], action_dim=1, skill_dim=W.shape[0], num_layers=0, **kwargs)
    with torch.no_grad():
        m.phi_net[0].weight.copy_(W)
        m.phi_net[0].bias.copy_(torch.zeros(W.shape[0]) if b is None else torch.as_tensor(b))
    return m


# 3 transitions, φ(s) = W s + b with W = [[1, 2], [0, -1]]: Δφ = W (s' - s), bias cancels.
W3 = [[1.0, 2.0], [0.0, -1.0]]
OBS3 = [[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]]
NEXT3 = [[0.5, 0.0], [1.0, 1.5], [1.0, -1.0]]  # s' - s = (.5, 0), (0, .5), (-1, 0)
Z3 = [[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]]
DPHI3 = [[0.5, 0.0], [1.0, -0.5], [-1.0, 0.0]]  # W (s' - s) by hand
R3 = [0.5, 0.6 * 1.0 + 0.8 * -0.5, 0.0]  # Δφᵀz = [0.5, 0.2, 0.0]


def test_metra_reward_matches_hand_computation():
    m = _linear_metra(W3, b=[3.0, -7.0])
    r = m.reward(skill_batch(OBS3, NEXT3, Z3))
    assert r.shape == (3,) and not r.requires_grad
    torch.testing.assert_close(r, torch.tensor(R3))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_metra_losses_match_hand_formula(reduction):
    lam0, eps = 30.0, 1e-3
    m = _linear_metra(W3, constraint_reduction=reduction, dual_lambda_init=lam0, dual_slack=eps)
    sq = [sum(x * x for x in d) for d in DPHI3]  # ‖Δφ‖² = [0.25, 1.25, 1.0]
    c = sq if reduction == "sum" else [s / 2 for s in sq]
    pen = [min(eps, 1.0 - ci) for ci in c]
    loss_phi = -sum(r + lam0 * p for r, p in zip(R3, pen, strict=True)) / 3
    loss_lambda = math.log(lam0) * sum(pen) / 3
    stats = m.update(skill_batch(OBS3, NEXT3, Z3))
    assert set(stats) == {
        "loss_phi",
        "loss_lambda",
        "dual_lambda",
        "constraint",
        "constraint_slack",
        "constraint_violated",
        "delta_phi_norm",
        "delta_phi_norm_max",
        "reward_mean",
        "reward_std",
    }
    for v in stats.values():
        assert isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad
    torch.testing.assert_close(stats["loss_phi"], torch.tensor(loss_phi))
    torch.testing.assert_close(stats["loss_lambda"], torch.tensor(loss_lambda))
    torch.testing.assert_close(stats["constraint"], torch.tensor(sum(c) / 3))
    torch.testing.assert_close(stats["reward_mean"], torch.tensor(sum(R3) / 3))
    # diagnostics: ‖Δφ‖ = [0.5, √1.25, 1]; slack 1 − c; c > 1 only for ‖Δφ‖² = 1.25 under "sum"
    norms = [0.5, math.sqrt(1.25), 1.0]
    torch.testing.assert_close(stats["delta_phi_norm"], torch.tensor(sum(norms) / 3))
    torch.testing.assert_close(stats["delta_phi_norm_max"], torch.tensor(math.sqrt(1.25)))
    torch.testing.assert_close(stats["constraint_slack"], torch.tensor(1.0 - sum(c) / 3))
    assert stats["constraint_violated"].item() == pytest.approx(1 / 3 if reduction == "sum" else 0.0)
    r_mean = sum(R3) / 3  # [0.5, 0.2, 0.0]: population std √(((.5−m)² + (.2−m)² + m²) / 3)
    r_std = math.sqrt(sum((r - r_mean) ** 2 for r in R3) / 3)
    torch.testing.assert_close(stats["reward_std"], torch.tensor(r_std))
    torch.testing.assert_close(stats["dual_lambda"], torch.tensor(lam0))


def test_metra_dual_lambda_rises_when_violated_and_falls_when_slack():
    big = _linear_metra([[10.0, 0.0], [0.0, 10.0]], lr=1e-2)  # ‖Δφ‖² up to 100 ≫ 1: violated
    lam = big.dual_lambda.clone()
    for _ in range(3):
        big.update(skill_batch(OBS3, NEXT3, Z3))
    assert big.dual_lambda > lam
    small = _linear_metra([[0.01, 0.0], [0.0, 0.01]], lr=1e-2)  # ‖Δφ‖² ≈ 0: slack ε > 0
    lam = small.dual_lambda.clone()
    for _ in range(3):
        small.update(skill_batch(OBS3, NEXT3, Z3))
    assert small.dual_lambda < lam


def test_metra_training_enforces_constraint_and_grows_reward():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n = 300  # random 2-D walk steps of length 0.1, direction correlated with the skill
    m = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=64, lr=1e-3)
    z = m.skill_space.sample(n, generator=g)
    obs = 2.0 * torch.randn(n, 2, generator=g)
    step = z + 0.5 * torch.randn(n, 2, generator=g)
    step = 0.1 * step / step.norm(dim=-1, keepdim=True)
    batch = skill_batch(obs, obs + step, z)
    r0 = m.reward(batch).mean()
    for _ in range(400):
        m.update(batch)
    with torch.no_grad():
        sq = (m.phi(batch.next_obs) - m.phi(batch.obs)).pow(2).sum(-1)
    # Tolerance: max ‖Δφ‖² ≤ 1.05 (1 + ε plus slack for the dual's finite convergence).
    assert sq.max() <= 1.05
    r1 = m.reward(batch).mean()
    assert r0.abs() < 0.05 and r1 > 0.6  # optimum here is E[cos(z, step)] ≈ 0.8


def test_metra_skill_for_goal_points_from_phi_s_to_phi_g():
    W = [[2.0, 0.0, 1.0], [0.0, -1.0, 0.5]]
    m = _linear_metra(W, b=[1.0, 1.0])
    g = torch.Generator().manual_seed(1)
    s, goal = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    z = m.skill_for_goal(s, goal)
    d = (goal - s) @ torch.tensor(W).T
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(z, d / d.norm(dim=-1, keepdim=True))
    md = _linear_metra(W, discrete=True)
    zd = md.skill_for_goal(s, goal)
    torch.testing.assert_close(zd, md.skill_space.from_index(d.argmax(-1)))
    assert torch.allclose(zd.sum(-1), torch.zeros(5), atol=1e-6)  # zero-centred


def test_metra_discrete_reward_equals_reference_centering():
    # Reference code: r = Δφᵀ (e_k − mean e_k)·D/(D−1) on plain one-hots; ours: Δφᵀz, z centred.
    torch.manual_seed(0)
    m = METRA(obs_dim=3, action_dim=1, skill_dim=4, discrete=True, hidden_dim=16)
    idx = torch.tensor([0, 3, 1, 2, 2])
    obs, nxt = torch.randn(5, 3), torch.randn(5, 3)
    onehot = F.one_hot(idx, 4).float()
    ref_z = (onehot - onehot.mean(-1, keepdim=True)) * 4 / 3
    with torch.no_grad():
        ref = ((m.phi(nxt) - m.phi(obs)) * ref_z).sum(-1)
    torch.testing.assert_close(m.reward(skill_batch(obs, nxt, m.skill_space.from_index(idx))), ref)


def test_diayn_reward_matches_hand_computation():
    m = DIAYN(obs_dim=2, action_dim=1, skill_dim=3, num_layers=0)
    with torch.no_grad():  # logits q(s') = A s', A chosen by hand
        m.discriminator[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        m.discriminator[0].bias.zero_()
    nxt = [[1.0, 0.0], [0.0, 2.0]]
    skill = F.one_hot(torch.tensor([0, 2]), 3).float()
    r = m.reward(skill_batch([[9.0, 9.0], [9.0, 9.0]], nxt, skill))  # obs is ignored
    # row 0: logits (1, 0, -1); row 1: logits (0, 2, -2); r = logit_z − logsumexp + log 3
    lse0 = math.log(math.e + 1 + math.exp(-1))
    lse1 = math.log(1 + math.exp(2) + math.exp(-2))
    expected = torch.tensor([1.0 - lse0 + math.log(3), -2.0 - lse1 + math.log(3)])
    torch.testing.assert_close(r, expected)
    assert not r.requires_grad


def test_diayn_accuracy_rises_on_separable_skills():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n_skills, n = 4, 256
    m = DIAYN(obs_dim=2, action_dim=1, skill_dim=n_skills, hidden_dim=64, lr=1e-3)
    idx = torch.randint(n_skills, (n,), generator=g)
    centres = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0], [0.0, -3.0]])
    nxt = centres[idx] + 0.3 * torch.randn(n, 2, generator=g)
    batch = skill_batch(torch.zeros(n, 2), nxt, m.skill_space.from_index(idx))
    first = m.update(batch)
    assert first["accuracy"] < 0.6 and first["loss"] > 0.9  # near chance (0.25, ln 4 ≈ 1.39)
    for _ in range(150):
        stats = m.update(batch)
    assert stats["accuracy"] > 0.9
    assert stats["reward_mean"] > first["reward_mean"] + 0.5
    assert set(stats) == {"loss", "accuracy", "reward_mean"}


def test_diayn_gaussian_reward_matches_hand_computation():
    # METRA paper's DIAYN: q(z|s') = N(μ(s'), diag σ(s')²), μ(s') = A s', log σ(s') = C s' + b
    m = DIAYN(obs_dim=2, action_dim=1, skill_dim=2, discrete=False, num_layers=0)
    with torch.no_grad():
        m.discriminator[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        m.discriminator[0].bias.zero_()
        m.log_std_net[0].weight.zero_()
        m.log_std_net[0].bias.copy_(torch.tensor([0.0, math.log(2.0)]))
    nxt, z = [[1.0, 1.0]], [[0.0, 0.0]]  # μ = (1, 2), σ = (1, 2)
    r = m.reward(skill_batch([[5.0, 5.0]], nxt, z))
    # log N(0; (1, 2), diag(1, 4)) = −½(1 + 1) − log 2 − log 2π
    expected = -1.0 - math.log(2.0) - math.log(2 * math.pi)
    torch.testing.assert_close(r, torch.tensor([expected]))
    assert not r.requires_grad
    assert m.skill_space.dist == "gaussian" and not m.skill_space.discrete
    goal_skill = m.skill_for_goal(torch.zeros(1, 2), torch.tensor(nxt))
    torch.testing.assert_close(goal_skill, torch.tensor([[1.0, 2.0]]))


def test_diayn_gaussian_posterior_learns_the_skill():
    torch.manual_seed(0)
    m = DIAYN(obs_dim=2, action_dim=1, skill_dim=2, discrete=False, hidden_dim=64, lr=1e-3)
    z = m.skill_space.sample(256, generator=torch.Generator().manual_seed(0))
    batch = skill_batch(torch.zeros(256, 2), 3.0 * z, z)  # s' reveals z
    first = m.update(batch)
    for _ in range(300):
        stats = m.update(batch)
    assert stats["reward_mean"] > first["reward_mean"] + 2.0  # σ shrinks around the right mean
    assert set(stats) == {"loss", "reward_mean"}
    err = (m.skill_for_goal(torch.zeros(256, 2), 3.0 * z) - z).abs().mean()
    assert err < 0.1


def test_plain_pytorch_loop_with_metra():
    torch.manual_seed(0)
    metra = METRA(obs_dim=5, action_dim=2, skill_dim=2, hidden_dim=32)
    before = [p.clone() for p in metra.phi_net.parameters()]
    for _ in range(3):
        z = metra.skill_space.sample(16)
        obs = torch.randn(16, 5)
        batch = Batch(obs, torch.randn(16, 2), obs + 0.1, torch.zeros(16, dtype=torch.bool), skill=z)
        r = metra.reward(batch)
        assert r.shape == (16,) and torch.isfinite(r).all() and not r.requires_grad
        stats = metra.update(batch)
        assert all(torch.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, metra.phi_net.parameters(), strict=True))
    assert isinstance(metra, IntrinsicReward) and set(metra.optimizers) == {"phi", "dual_lambda"}


@pytest.mark.parametrize("cls", [DIAYN, METRA])
def test_constructor_signature_is_simple_and_annotated(cls):
    sig = inspect.signature(cls.__init__, eval_str=True)
    params = [p for name, p in sig.parameters.items() if name != "self"]
    assert [p.name for p in params[:3]] == ["obs_dim", "action_dim", "skill_dim"]
    for p in params:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.annotation in (int, float, bool, str)
        if p.name not in ("obs_dim", "action_dim"):
            assert isinstance(p.default, p.annotation) or (
                p.annotation is float and isinstance(p.default, int)
            )


@pytest.mark.parametrize(
    "cls, kwargs, words",
    [
        (METRA, {"obs_dim": 0}, "obs_dim"),
        (METRA, {"skill_dim": 2.5}, "skill_dim"),
        (METRA, {"lr": -1.0}, "lr"),
        (METRA, {"dual_lambda_init": 0.0}, "dual_lambda_init"),
        (METRA, {"constraint_reduction": "max"}, "constraint_reduction must be one of sum, mean"),
        (METRA, {"discrete": True, "skill_dim": 1}, "skill_dim"),
        (DIAYN, {"skill_dim": 1}, "skill_dim"),
        (DIAYN, {"lr": float("nan")}, "lr"),
    ],
)
def test_bad_constructor_args_give_clear_errors(cls, kwargs, words):
    kwargs = {"obs_dim": 3, "action_dim": 1, **kwargs}
    with pytest.raises(ValueError, match=words) as info:
        cls(**kwargs)
    assert "\n" not in str(info.value)


def test_missing_skill_is_a_clear_error():
    b = skill_batch(OBS3, NEXT3, Z3)
    b.skill = None
    for m in (METRA(obs_dim=2, action_dim=1, hidden_dim=8), DIAYN(obs_dim=2, action_dim=1, hidden_dim=8)):
        with pytest.raises(ValueError, match="batch.skill"):
            m.reward(b)


def test_make_reward_registry():
    assert {"diayn": DIAYN, "metra": METRA, "rnd": RND}.items() <= REWARDS.items()
    m = make_reward("metra", obs_dim=3, action_dim=1, skill_dim=4, discrete=True, hidden_dim=8)
    assert isinstance(m, METRA) and m.skill_space.dim == 4 and m.skill_space.discrete
    with pytest.raises(ValueError, match="unknown reward 'nope'; known: .*diayn, .*metra, .*rnd") as info:
        make_reward("nope")
    assert "\n" not in str(info.value)


def _small_module(name: str, seed: int) -> IntrinsicReward:
    """A small instance of registry entry ``name`` (12-d observations: the tabletop layout fits all)."""
    accepted = inspect.signature(REWARDS[name].__init__).parameters
    kw = {"obs_dim": 12, "action_dim": 2}
    kw.update({k: v for k, v in {"skill_dim": 4, "hidden_dim": 16, "lr": 1e-2}.items() if k in accepted})
    torch.manual_seed(seed)
    return make_reward(name, **kw)


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_save_load_round_trip(name):
    """Every registry entry: state_dict + optimiser state restore the rewards, the next update and
    the parameters exactly (running statistics, queues, duals, target networks included)."""
    a = _small_module(name, seed=0)
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(48, 12, generator=g)
    next_obs = obs + 0.3 * torch.randn(48, 12, generator=g)
    skill = a.skill_space.sample(48, generator=g) if hasattr(a, "skill_space") else None
    action, done = torch.randn(48, 2, generator=g).clamp(-1, 1), torch.zeros(48, dtype=torch.bool)
    batch = Batch(obs, action, next_obs, done, skill=skill, reward=torch.randn(48, generator=g))

    def seeded(fn):  # DADS, ProtoRL and others draw random numbers inside reward/update
        torch.manual_seed(7)
        return fn(batch)

    for _ in range(3):
        seeded(a.update)
    buf = io.BytesIO()
    torch.save({"module": a.state_dict(), "optim": a.optimizer_state()}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    b = _small_module(name, seed=123)  # different initial weights
    b.load_state_dict(state["module"])
    b.load_optimizer_state(state["optim"])
    assert torch.equal(seeded(a.reward), seeded(b.reward))
    sa, sb = seeded(a.update), seeded(b.update)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert torch.equal(seeded(a.reward), seeded(b.reward))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka
