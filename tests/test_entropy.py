"""Entropy controllers: coefficients move toward the target, EPO's band penalty, the peak mask."""

from __future__ import annotations

import math

import pytest
import torch

from rlinfo.agents.entropy import EPO, build_controller, peak_mask, phase_weight


def grad_of(ctrl, entropy):
    h = entropy.clone().requires_grad_(True)
    ctrl.loss(h).backward()
    return h.grad


def test_fixed_bonus_is_minus_beta_mean_entropy():
    ctrl = build_controller({"name": "fixed", "coef": 0.5})
    h = torch.tensor([1.0, 2.0, 3.0])
    assert ctrl.loss(h).item() == pytest.approx(-1.0)
    torch.testing.assert_close(grad_of(ctrl, h), torch.full((3,), -0.5 / 3))
    ctrl.update(10.0)  # a fixed bonus never moves
    assert ctrl.coef.item() == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["target", "aepo"])
def test_coefficient_rises_below_target_and_falls_above(name):
    ctrl = build_controller({"name": name, "target": 1.0, "coef": 0.1})
    ctrl.update(0.5)  # entropy below target: push entropy up (larger coefficient of −H)
    low = ctrl.coef.item()
    assert low >= 0.1 - 1e-7
    ctrl.update(0.5)
    assert ctrl.coef.item() >= low and ctrl.coef.item() > 0
    ctrl.update(2.0)
    ctrl.update(2.0)
    assert ctrl.coef.item() < low
    if name == "aepo":  # above target the bonus turns into a penalty
        assert ctrl.coef.item() == pytest.approx(-0.1)


def test_target_controller_dual_step_value():
    ctrl = build_controller({"name": "target", "target": 1.0, "coef": 0.1, "lr": 0.5})
    ctrl.update(0.2)  # log α ← log 0.1 − 0.5 (0.2 − 1.0) = log 0.1 + 0.4
    assert ctrl.coef.item() == pytest.approx(0.1 * math.exp(0.4), rel=1e-5)


def test_target_scale_uses_log_num_actions():
    ctrl = build_controller({"name": "target", "target_scale": 0.5}, max_entropy=math.log(4))
    assert ctrl.target == pytest.approx(0.5 * math.log(4))
    with pytest.raises(ValueError, match="target_scale needs discrete"):
        build_controller({"name": "target", "target_scale": 0.5})


def test_epo_penalty_zero_gradient_inside_band_nonzero_outside():
    ctrl = EPO(coef=0.0, penalty=1.0, band="additive", delta=0.2, phase=False, penalty_times_coef=False)
    ctrl.update(1.0)  # history: average 1.0, band [0.8, 1.2]
    inside = grad_of(ctrl, torch.tensor([0.9, 1.1]))
    assert torch.all(inside == 0)
    above = grad_of(ctrl, torch.tensor([1.5, 1.5]))  # penalty pushes entropy down
    below = grad_of(ctrl, torch.tensor([0.1, 0.3]))  # ... and up
    torch.testing.assert_close(above, torch.full((2,), 0.5))
    torch.testing.assert_close(below, torch.full((2,), -0.5))
    assert ctrl.loss(torch.tensor([1.5, 1.5])).item() == pytest.approx(0.3)


def test_epo_penalty_weight_is_coef_times_penalty_as_the_reference():
    # reference: L = L_PG − c_H (H − c_s·w·P), so term = −β H + β λ w P with β = c_H, λ = c_s
    beta, lam = 0.1, 2.0
    ctrl = EPO(coef=beta, penalty=lam, band="additive", delta=0.2, phase=False)
    ctrl.update(1.0)  # band [0.8, 1.2]
    h = torch.tensor([1.5, 1.5])  # P = 0.3
    assert ctrl.loss(h).item() == pytest.approx(-beta * 1.5 + beta * lam * 0.3)
    torch.testing.assert_close(grad_of(ctrl, h), torch.full((2,), (-beta + beta * lam) / 2))
    old = EPO(coef=beta, penalty=lam, band="additive", delta=0.2, phase=False, penalty_times_coef=False)
    old.update(1.0)
    assert old.loss(h).item() == pytest.approx(-beta * 1.5 + lam * 0.3)


def test_epo_additive_band_works_for_negative_entropy_and_relative_refuses_it():
    add = EPO(coef=0.0, band="additive", delta=0.1, phase=False)
    add.update(-2.0)
    lo, hi = add.bounds()
    assert (lo.item(), hi.item()) == pytest.approx((-2.1, -1.9))
    rel = EPO(coef=0.0, band="relative", phase=False)
    with pytest.raises(ValueError, match="band=additive"):
        rel.update(-2.0)


def test_epo_relative_band_and_history_average():
    ctrl = EPO(coef=0.0, band="relative", kappa_low=0.5, kappa_high=1.5, phase=False)
    ctrl.update(1.0)
    ctrl.update(3.0)  # average 2.0 -> band [1.0, 3.0]
    lo, hi = ctrl.bounds()
    assert (lo.item(), hi.item()) == pytest.approx((1.0, 3.0))


def test_epo_no_penalty_before_history_and_phase_schedule():
    ctrl = EPO(coef=0.0, penalty=1.0)
    assert grad_of(ctrl, torch.tensor([100.0])).abs().sum() == 0
    assert phase_weight(0.0) == pytest.approx(1.0)
    assert phase_weight(0.49) == pytest.approx(1 - 0.2 * (1 - math.exp(-2 * 0.98)))
    assert phase_weight(0.5) == pytest.approx(0.8)
    assert phase_weight(1.0) == pytest.approx(0.8 * math.exp(-3))


def test_peak_mask_selects_top_fraction():
    h = torch.tensor([0.1, 0.9, 0.5, 0.7, 0.2])
    assert peak_mask(h, 0.4).tolist() == [False, True, False, True, False]
    assert peak_mask(h, 1.0).all()
    ctrl = build_controller({"name": "fixed", "coef": 1.0, "peak_fraction": 0.4})
    assert ctrl.loss(h).item() == pytest.approx(-0.8)
    g = grad_of(ctrl, h)
    assert (g != 0).tolist() == [False, True, False, True, False]


def test_builder_errors_are_one_line():
    with pytest.raises(ValueError, match="name must be one of"):
        build_controller({"name": "bogus"})
    with pytest.raises(ValueError, match="unknown key 'cof'"):
        build_controller({"name": "fixed", "cof": 0.1})
    with pytest.raises(ValueError, match="needs target"):
        build_controller({"name": "aepo"})
    with pytest.raises(ValueError, match="peak_fraction"):
        build_controller({"name": "fixed", "peak_fraction": 0.0})
    assert build_controller(None).loss(torch.ones(3)).item() == 0.0


def test_controller_state_round_trips():
    a = build_controller({"name": "target", "target": 1.0})
    a.update(0.0)
    b = build_controller({"name": "target", "target": 1.0})
    b.load_state_dict(a.state_dict())
    assert b.coef.item() == pytest.approx(a.coef.item())


def _sac_batch(n: int = 64, obs_dim: int = 3, action_dim: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    obs, next_obs = torch.randn(n, obs_dim, generator=g), torch.randn(n, obs_dim, generator=g)
    action = torch.rand(n, action_dim, generator=g) * 2 - 1
    return obs, action, torch.randn(n, generator=g), next_obs, torch.zeros(n, dtype=torch.bool)


def test_sac_with_fixed_controller_equals_sac_with_fixed_alpha():
    """SAC(entropy=fixed β) has exactly SAC's losses with a frozen temperature α = β."""
    from rlinfo.agents.sac import SAC

    obs, action, reward, next_obs, term = _sac_batch()
    torch.manual_seed(0)
    plain = SAC(3, 2, hidden_dim=16, alpha_init=0.05, learn_alpha=False)
    torch.manual_seed(0)
    ctrl = SAC(3, 2, hidden_dim=16, entropy={"name": "fixed", "coef": 0.05})
    for seed in (1, 2):
        torch.manual_seed(seed)
        expected = plain.actor_loss(obs)[0]
        torch.manual_seed(seed)
        torch.testing.assert_close(ctrl.actor_loss(obs)[0], expected)
        torch.manual_seed(seed)
        expected = plain.critic_loss(obs, action, reward, next_obs, term)
        torch.manual_seed(seed)
        torch.testing.assert_close(ctrl.critic_loss(obs, action, reward, next_obs, term), expected)


def test_sac_target_controller_moves_alpha_toward_the_target():
    """With a target far above the policy's entropy the controller's α grows during SAC updates."""
    from rlinfo.agents.sac import SAC

    torch.manual_seed(0)
    agent = SAC(3, 2, hidden_dim=16, entropy={"name": "target", "target": 10.0, "coef": 0.01, "lr": 0.1})
    before = float(agent.alpha)
    for seed in range(5):
        stats = agent.update(*_sac_batch(seed=seed))
    assert float(agent.alpha) > before * 1.5
    assert "entropy_coef" in stats and "alpha_loss" not in stats
    with pytest.raises(ValueError, match="SAC: entropy"):
        SAC(3, 2, entropy={"name": "nope"})


def test_epo_with_peak_mask_is_silent_when_the_controlled_entropy_is_steady():
    """The band history and the bounded quantity are the same statistic (the peak-state mean)."""
    ctrl = EPO(coef=0.0, delta=0.1, phase=False, peak_fraction=0.2, penalty_times_coef=False)
    entropy = torch.linspace(0.0, 2.0, 100, requires_grad=True)
    for _ in range(3):
        ctrl.update(ctrl.batch_entropy(entropy.detach()))
    term = ctrl.loss(entropy)
    term.backward()
    assert float(term.detach()) == 0.0 and float(entropy.grad.abs().sum()) == 0.0
    assert float(ctrl.batch_entropy(entropy.detach())) == pytest.approx(float(entropy.detach()[80:].mean()))
