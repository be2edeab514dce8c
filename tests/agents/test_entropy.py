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


# ---------------------------------------------------------------------------- SIREN's entropy anchor


def test_siren_anchor_is_the_first_batch_then_a_squared_pull_toward_it():
    # peak_fraction 0.4 of 5 states: the 2 highest entropies enter H̄_B
    ctrl = build_controller({"name": "siren", "coef": 0.5, "peak_fraction": 0.4})
    first = torch.tensor([0.1, 0.9, 0.5, 0.7, 0.2])  # H̄_B = (0.9 + 0.7) / 2 = 0.8 -> the anchor
    assert ctrl.loss(first).item() == 0.0 and ctrl.anchor.item() == pytest.approx(0.8)
    h = torch.tensor([0.1, 0.5, 0.3, 0.4, 0.2])  # H̄_B = 0.45: term = 0.5 (0.45 − 0.8)² = 0.06125
    assert ctrl.loss(h).item() == pytest.approx(0.06125)
    # ∂/∂H_i = 2 c (H̄_B − H_a) / 2 = −0.175 on the two peak states, 0 elsewhere
    torch.testing.assert_close(grad_of(ctrl, h), torch.tensor([0.0, -0.175, 0.0, -0.175, 0.0]))
    ctrl.update(0.45)
    ctrl.update(5.0)  # the anchor never moves and c is fixed
    assert ctrl.anchor.item() == pytest.approx(0.8) and ctrl.coef.item() == pytest.approx(0.5)
    above = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0])  # above the anchor: pulled down, 0.5 · 0.2² = 0.02
    assert ctrl.loss(above).item() == pytest.approx(0.02)
    g = grad_of(ctrl, above)  # 2 c (H̄_B − H_a) / 2 = 0.1 on the two (tied) states the mask picks
    assert sorted(g.tolist()) == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.1])


def test_siren_defaults_are_the_reference_and_observe_anchors_once():
    ctrl = build_controller({"name": "siren"})
    assert ctrl.coef.item() == pytest.approx(0.005) and ctrl.peak_fraction == pytest.approx(0.2)
    ctrl.observe(torch.arange(1.0, 11.0))  # top 20% of 1..10: (9 + 10) / 2
    assert ctrl.anchor.item() == pytest.approx(9.5)
    ctrl.observe(torch.zeros(10))  # later rollouts leave it alone
    assert ctrl.anchor.item() == pytest.approx(9.5)
    fixed = build_controller({"name": "siren", "anchor": 1.0})  # the reference's entropy_anchor
    fixed.observe(torch.full((10,), 3.0))
    assert fixed.anchor.item() == pytest.approx(1.0)
    assert fixed.loss(torch.full((10,), 3.0)).item() == pytest.approx(0.005 * 4.0)
    restored = build_controller({"name": "siren"})
    restored.load_state_dict(ctrl.state_dict())  # the anchor is checkpointed
    assert restored.anchor.item() == pytest.approx(9.5) and restored.has_anchor.item() == 1.0


def test_siren_adaptive_coefficient_moves_by_lr_times_anchor_gap_and_stays_nonnegative():
    ctrl = build_controller({"name": "siren_adaptive", "coef": 0.1, "lr": 0.5})
    assert ctrl.peak_fraction == 1.0  # the reference's adaptive baseline: all tokens
    ctrl.observe(torch.tensor([1.0, 1.0]))  # H_a = 1.0
    h = torch.tensor([0.5, 0.7])
    assert ctrl.loss(h).item() == pytest.approx(-0.1 * 0.6)  # −c H̄_B
    torch.testing.assert_close(grad_of(ctrl, h), torch.full((2,), -0.05))
    ctrl.update(0.6)  # c ← 0.1 + 0.5 (1.0 − 0.6) = 0.3: below the anchor the bonus grows
    assert ctrl.coef.item() == pytest.approx(0.3)
    ctrl.update(1.5)  # c ← 0.3 + 0.5 (1.0 − 1.5) = 0.05
    assert ctrl.coef.item() == pytest.approx(0.05)
    ctrl.update(2.0)  # 0.05 − 0.5 = −0.45 -> clamped at 0
    assert ctrl.coef.item() == 0.0 and ctrl.loss(h).item() == 0.0
    fresh = build_controller({"name": "siren_adaptive", "coef": 0.1, "lr": 0.5})
    fresh.update(0.0)  # no anchor yet: no gradient on c, as the reference
    assert fresh.coef.item() == pytest.approx(0.1)


def test_ppo_sets_the_siren_anchor_from_the_first_rollout_under_the_old_policy():
    from rlinfo.agents.ppo import PPO

    torch.manual_seed(0)
    agent = PPO(3, 4, discrete=True, hidden_dim=16, entropy={"name": "siren", "peak_fraction": 0.5})
    with torch.no_grad():  # a policy whose entropy differs between states
        agent.actor[-1].weight.normal_(0.0, 1.0)
    data = _rollout(agent, torch.randn(64, 3), lambda a: (a == 0).float())
    with torch.no_grad():
        h = agent.entropy_of(agent.dist(data["obs"]))
    expected = h.topk(32).values.mean().item()
    stats = agent.update(data)
    assert agent.controller.anchor.item() == pytest.approx(expected, rel=1e-5)
    assert stats["anchor"].item() == pytest.approx(expected, rel=1e-5)
    agent.update(_rollout(agent, torch.randn(64, 3), lambda a: (a == 0).float()))
    assert agent.controller.anchor.item() == pytest.approx(expected, rel=1e-5)  # set once


def _rollout(agent, obs, reward_of, adv=None):
    """A one-step-episode batch from the agent's own policy (advantage r − V unless given)."""
    with torch.no_grad():
        d = agent.dist(obs)
        action = d.sample()
        log_prob, value = d.log_prob(action), agent.value(obs)
    r = reward_of(action)
    return {
        "obs": obs,
        "action": action,
        "log_prob": log_prob,
        "value": value,
        "adv": r - value if adv is None else adv,
        "ret": r,
        "mask": torch.ones(obs.shape[0], dtype=torch.bool),
        "generator": torch.Generator().manual_seed(0),
    }


def _bandit_masked_entropy(spec, updates=30, n=512, seed=0):
    """Peak-masked (top 20%) batch entropy before each update: PPO on a 4-action bandit paying 1 for action 0.

    States are random 4-d vectors, so the per-state entropies differ and the peak mask selects. A plain
    policy gradient drives every state's policy to action 0.
    """
    from rlinfo.agents.ppo import PPO

    torch.manual_seed(seed)
    agent = PPO(4, 4, discrete=True, hidden_dim=32, lr=3e-3, num_minibatches=1, norm_obs=False, entropy=spec)
    g = torch.Generator().manual_seed(seed)
    masked, rewards = [], []
    for _ in range(updates):
        obs = torch.randn(n, 4, generator=g)
        with torch.no_grad():
            h = agent.entropy_of(agent.dist(obs))
        masked.append(h[peak_mask(h, 0.2)].mean().item())
        data = _rollout(agent, obs, lambda a: (a == 0).float())
        rewards.append(data["ret"].mean().item())
        agent.update(data)
    return masked, rewards, agent


def test_siren_anchor_holds_the_masked_entropy_where_plain_ppo_collapses_it():
    """30 PPO updates on the bandit: `none` drives the top-20% entropy to ~0; the anchor keeps it ±10%.

    c = 50, not the reference's 0.005: there c multiplies a token-mean loss of an LLM; here the
    normalised-advantage policy gradient is O(1) per sample and the anchor's gradient is 2c(H − H_a).
    The peak mask leaves the other 80% of the states free: the policy still learns (reward rises).
    """
    plain, _, _ = _bandit_masked_entropy({"name": "none"})
    assert plain[0] == pytest.approx(math.log(4), abs=1e-3)
    assert plain[-1] < 0.1 * plain[0]  # collapsed (measured: 0.0025 nats from 1.386)
    anchored, rewards, agent = _bandit_masked_entropy({"name": "siren", "coef": 50.0})
    anchor = agent.controller.anchor.item()
    assert anchor == pytest.approx(anchored[0], rel=1e-3)
    deviation = max(abs(h / anchor - 1.0) for h in anchored)
    assert deviation < 0.10  # measured: 6.5% at worst (1.296 nats), 1.360 at the end
    assert rewards[-1] > rewards[0] + 0.3  # measured: 0.23 -> 0.79


# ---------------------------------------------------------------------------- Lp-Reg


def test_lpreg_proxy_removes_actions_below_kappa_max_and_renormalises():
    from torch.distributions import Categorical, Normal

    from rlinfo.agents.entropy import proxy_log_prob

    probs = torch.tensor([[0.5, 0.3, 0.195, 0.005]])  # κ · max = 0.01: action 3 goes, Z = 0.995
    d = Categorical(probs=probs.expand(4, 4))
    proxy = proxy_log_prob(d, torch.arange(4), 0.02)
    torch.testing.assert_close(proxy[:3], torch.log(torch.tensor([0.5, 0.3, 0.195]) / 0.995))
    assert proxy[3].item() == -math.inf
    assert proxy_log_prob(d, torch.arange(4), 0.001)[3].item() == pytest.approx(math.log(0.005))  # kept
    # Gaussian: kept where the density is ≥ κ × its peak, i.e. ‖z‖² ≤ −2 ln κ; mass P(χ²_D ≤ −2 ln κ)
    g = Normal(torch.zeros(3, 2), torch.tensor([1.0, 2.0]).expand(3, 2))
    a = torch.tensor([[1.0, 2.0], [2.0, 3.8], [2.0, 4.0]])  # ‖z‖² = 2, 7.61, 8 (r² = 7.824)
    proxy = proxy_log_prob(g, a, 0.02)
    logp = g.log_prob(a).sum(-1)
    torch.testing.assert_close(proxy[:2], logp[:2] - math.log(1 - 0.02))  # D = 2: mass 1 − κ
    assert proxy[2].item() == -math.inf
    g1 = Normal(torch.zeros(1, 1), torch.ones(1, 1))  # D = 1: mass erf(√(−ln κ))
    one = proxy_log_prob(g1, torch.tensor([[0.5]]), 0.02)
    expected = g1.log_prob(torch.tensor([[0.5]])).sum() - math.log(math.erf(math.sqrt(-math.log(0.02))))
    assert one.item() == pytest.approx(expected.item(), rel=1e-5)


def _lpreg_batch():
    """8 samples: (log π, log π_old, log π_proxy, Â), built so that exactly sample 0 is regularised."""
    lp = torch.log
    log_prob = lp(torch.tensor([0.1, 0.05, 0.02, 0.5, 0.5, 0.5, 0.5, 0.5]))
    old = lp(torch.tensor([0.2, 0.05, 0.02, 0.5, 0.5, 0.5, 0.5, 0.5]))
    proxy = lp(torch.tensor([0.2, 0.04, 0.025, 0.55, 0.55, 0.55, 0.55, 0.55]))
    adv = torch.tensor([-1.0, -2.0, 1.0, -0.5, -0.5, -0.5, -0.5, -0.5])
    return log_prob, old, proxy, adv


def test_lpreg_selects_the_lowest_probability_negatives_below_their_proxy():
    log_prob, old, proxy, adv = _lpreg_batch()
    # 7 negatives, f⁻ = 0.3: k = ⌊2.1⌋ = 2 -> samples 1 (π = 0.05) and 0 (π = 0.1); sample 1 has
    # log π ≥ log π_proxy (0.05 > 0.04) and drops out; sample 2 (π = 0.02, the lowest) is positive
    ctrl = build_controller({"name": "lpreg", "neg_fraction": 0.3})
    assert ctrl.selected(log_prob, adv, proxy).tolist() == [True] + [False] * 7
    with_pos = build_controller(
        {"name": "lpreg", "neg_fraction": 0.3, "pos_fraction": 1.0, "min_selected": 1}
    )
    assert with_pos.selected(log_prob, adv, proxy).tolist() == [True, False, True] + [False] * 5
    # the reference's k = max(1, ⌊f n⁻⌋) applies only from k = 2: 199 negatives select nothing at f⁻ = 1%
    ref = build_controller({"name": "lpreg"})
    for n_neg, count in ((199, 0), (200, 2)):
        lp = torch.linspace(-6.0, -1.0, n_neg)
        assert int(ref.selected(lp, -torch.ones(n_neg), torch.zeros(n_neg)).sum()) == count
    one = build_controller({"name": "lpreg", "min_selected": 1})
    lp = torch.linspace(-6.0, -1.0, 199)
    assert one.selected(lp, -torch.ones(199), torch.zeros(199)).tolist() == [True] + [False] * 198


def test_lpreg_loss_is_unclipped_pg_plus_k3_on_selected_and_ppo_elsewhere():
    log_prob, old, proxy, adv = _lpreg_batch()
    logp = log_prob.clone().requires_grad_(True)
    ctrl = build_controller({"name": "lpreg", "neg_fraction": 0.3})
    loss, stats = ctrl.policy_loss(logp, old, adv, 0.2, proxy)
    # sample 0: ρ = 0.5, −Âρ = 0.5 (unclipped; PPO's would be 0.8), x = log π_proxy − log π = log 2,
    # k3 = e^x − x − 1 = 1 − ln 2 = 0.306853; ℓ_0 = 0.806853
    # others (ρ = 1): 2.0, −1.0, 5 × 0.5 -> L = (0.806853 + 2 − 1 + 2.5) / 8 = 0.538357
    assert loss.item() == pytest.approx(0.5383566, rel=1e-6)
    assert stats["lpreg_selected"].item() == pytest.approx(1 / 8)
    loss.backward()
    # ∂ℓ_0/∂log π = −Âρ + (1 − e^x) = 0.5 + 1 − 2 = −0.5, /8: the proxy pulls log π up
    assert logp.grad[0].item() == pytest.approx(-0.0625)
    assert logp.grad[1].item() == pytest.approx(2.0 / 8)  # PPO: −Âρ, unclipped at ρ = 1
    from rlinfo.agents.ppo import clipped_policy_loss

    plain = clipped_policy_loss(log_prob, old, adv, 0.2)
    assert plain.item() == pytest.approx((0.8 + 2 - 1 + 2.5) / 8)  # sample 0 clipped at 1 − ε
    no_kl = build_controller({"name": "lpreg", "neg_fraction": 0.3, "kl_coef": 0.0})
    assert no_kl.policy_loss(log_prob, old, adv, 0.2, proxy)[0].item() == pytest.approx(4.0 / 8)
    naive = build_controller({"name": "lpreg", "neg_fraction": 0.3, "kl": "kl"})  # log π − log π_proxy
    assert naive.policy_loss(log_prob, old, adv, 0.2, proxy)[0].item() == pytest.approx(
        (0.5 - math.log(2) + 3.5) / 8
    )
    nothing = build_controller({"name": "lpreg"})  # 7 negatives at 1%: k = 1 < 2, so plain PPO
    assert nothing.policy_loss(log_prob, old, adv, 0.2, proxy)[0].item() == pytest.approx(plain.item())


def test_ppo_with_lpreg_equals_plain_ppo_when_no_sample_is_selected():
    from rlinfo.agents.ppo import PPO

    agents = []
    for spec in ({"name": "none"}, {"name": "lpreg"}):
        torch.manual_seed(0)
        agents.append(PPO(3, 4, discrete=True, hidden_dim=16, entropy=spec))
    torch.manual_seed(1)
    data = _rollout(agents[0], torch.randn(64, 3), lambda a: (a == 0).float())
    stats = [agent.update(dict(data, generator=torch.Generator().manual_seed(0))) for agent in agents]
    assert stats[1]["lpreg_selected"].item() == 0.0  # 16-sample minibatches: k = 1
    for p, q in zip(agents[0].parameters(), agents[1].parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert agents[1].controller.loss(torch.ones(3)).item() == 0.0  # no entropy term


def _spark_bandit(spec, spark_high, updates=15, n=4096, seed=0):
    """p(spark) before each update and at the end: PPO on a 43-action bandit, a rare good action among noise.

    π_0: a0 0.5, spark 0.02, a2 0.24, 40 noise actions of 0.006 (below κ · max = 0.01, so π_proxy drops
    them and renormalises by Z = 0.76). Rewards alternate within each action's samples: a0 and a2 pay
    2 / 0, the spark ``spark_high`` / 0, noise 1; the exact baseline is 1, so Â = r − 1 (noise: 0).
    Actions are drawn in exact proportions (counts ⌊π(a) n⌋), so the runs are deterministic.
    """
    from rlinfo.agents.ppo import PPO

    torch.manual_seed(seed)
    agent = PPO(2, 43, discrete=True, hidden_dim=16, lr=3e-3, norm_obs=False, norm_adv=False, entropy=spec)
    with torch.no_grad():
        agent.actor[-1].bias.copy_(torch.tensor([0.5, 0.02, 0.24] + [0.006] * 40).log())
    obs = torch.zeros(n, 2)
    spark = []
    for _ in range(updates):
        with torch.no_grad():
            d = agent.dist(obs[:1])
            probs = d.probs[0]
            counts = torch.floor(probs * n).long()
            counts[0] += n - counts.sum()
            action = torch.repeat_interleave(torch.arange(43), counts)
        spark.append(probs[1].item())
        r = torch.ones(n)
        for a, high in ((0, 2.0), (2, 2.0), (1, spark_high)):
            idx = (action == a).nonzero().squeeze(-1)
            r[idx] = 0.0
            r[idx[::2]] = high
        data = {
            "obs": obs,
            "action": action,
            "log_prob": d.log_prob(action),  # one state: [1] broadcasts over the n actions
            "value": torch.zeros(n),
            "adv": r - 1.0,
            "ret": r,
            "mask": torch.ones(n, dtype=torch.bool),
            "generator": torch.Generator().manual_seed(seed),
        }
        agent.update(data)
    with torch.no_grad():
        spark.append(agent.dist(obs[:1]).probs[0, 1].item())
    return spark


@pytest.mark.parametrize("spark_high", [2.0, 1.8])
def test_lpreg_keeps_a_rare_good_action_more_probable_than_plain_ppo(spark_high):
    """15 PPO updates (4 epochs × 4 minibatches of 1,024) of the constructed bandit, reference Lp-Reg.

    Spark paying 2 / 0 (mean 1, as good as the best): its positive and negative samples cancel under
    PPO, which leaves it at 0.0206 after 15 updates; Lp-Reg pulls its selected negative samples toward
    π_proxy = π_old/Z and lifts it to 0.0698. Spark paying 1.8 / 0 (mean 0.9): PPO collapses it
    (0.020 -> 0.0014); Lp-Reg keeps it at 0.0131.
    """
    plain = _spark_bandit({"name": "none"}, spark_high)
    lpreg = _spark_bandit({"name": "lpreg"}, spark_high)
    assert plain[0] == lpreg[0] == pytest.approx(0.02, rel=1e-4)
    assert lpreg[-1] > 2.0 * plain[-1]
    if spark_high == 2.0:
        assert lpreg[-1] > 2.0 * lpreg[0] and plain[-1] < 1.2 * plain[0]
    else:
        assert plain[-1] < 0.25 * plain[0] and lpreg[-1] > 0.5 * lpreg[0]


def test_ppo_only_controllers_and_bad_options_are_one_line_errors():
    from rlinfo.agents.sac import SAC

    for name in ("siren", "siren_adaptive", "lpreg"):
        with pytest.raises(ValueError, match=f"SAC: entropy\\({name}\\) applies to PPO only"):
            SAC(3, 2, entropy={"name": name})
    bad = [
        ({"name": "lpreg", "kappa": 0.0}, "kappa"),
        ({"name": "lpreg", "neg_fraction": 1.5}, "neg_fraction"),
        ({"name": "lpreg", "kl": "full"}, "kl must be one of"),
        ({"name": "lpreg", "min_selected": 0}, "min_selected"),
        ({"name": "lpreg", "kl_coef": -1.0}, "kl_coef"),
        ({"name": "lpreg", "peak_fraction": 0.2}, "unknown key 'peak_fraction'"),
        ({"name": "siren", "coef": -0.1}, "coef must be >= 0"),
        ({"name": "siren", "lr": 0.1}, "unknown key 'lr'"),
        ({"name": "siren_adaptive", "lr": -0.1}, "lr must be >= 0"),
        ({"name": "siren", "target_scale": 0.5}, "target_scale applies to target and aepo only"),
    ]
    for spec, message in bad:
        with pytest.raises(ValueError, match=message) as info:
            build_controller(spec)
        assert "\n" not in str(info.value) and spec["name"] in str(info.value)
