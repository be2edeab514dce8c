"""LSD, CSF and the successor-feature SAC critic: formulas against hand computations, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import skill_batch

from rlinfo.agents.sac import SAC
from rlinfo.agents.successor_features import SuccessorFeatureSAC
from rlinfo.rewards import CSF, LSD, REWARDS


def _set_linear(module, W) -> None:
    """φ(s) = W s (+ 0) for a module built with num_layers=0 (LSD: the weight before normalisation)."""
    layer = module.phi_net[0]
    W = torch.as_tensor(W, dtype=torch.float32)
    with torch.no_grad():
        if hasattr(layer, "parametrizations"):
            layer.parametrizations.weight.original.copy_(W)
        else:
            layer.weight.copy_(W)
        layer.bias.zero_()


W3 = np.array([[1.0, 2.0], [0.0, -1.0]])
OBS3 = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
NEXT3 = np.array([[0.5, 0.0], [1.0, 1.5], [1.0, -1.0]])
Z3 = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]])


def test_registry_names():
    assert REWARDS["lsd"] is LSD and REWARDS["csf"] is CSF


def test_lsd_reward_is_delta_phi_z_with_spectrally_normalised_weight():
    m = LSD(obs_dim=2, action_dim=1, skill_dim=2, num_layers=0)
    _set_linear(m, W3)
    m.phi_net.train()
    for _ in range(30):  # power iterations (one per training forward) converge to σ_max(W)
        m.phi(torch.zeros(1, 2))
    m.phi_net.eval()
    state = {k: v.clone() for k, v in m.state_dict().items()}
    W_sn = W3 / np.linalg.svd(W3, compute_uv=False)[0]  # W / σ_max, σ_max ≈ 2.29
    expected = (((NEXT3 - OBS3) @ W_sn.T) * Z3).sum(-1)
    r = m.reward(skill_batch(OBS3, NEXT3, Z3))
    assert r.shape == (3,) and not r.requires_grad
    np.testing.assert_allclose(r.numpy(), expected, rtol=1e-4, atol=1e-5)
    loss, _ = m.loss(skill_batch(OBS3, NEXT3, Z3))
    assert loss.item() == pytest.approx(-expected.mean(), rel=1e-4)
    for k, v in m.state_dict().items():  # reward() has no side effects on the σ estimates
        torch.testing.assert_close(v, state[k])


def test_lsd_learns_and_phi_stays_1_lipschitz():
    torch.manual_seed(0)
    m = LSD(obs_dim=4, action_dim=1, skill_dim=2, hidden_dim=32, lr=3e-3)
    obs = torch.randn(256, 4)
    z = m.skill_space.sample(256)
    step = torch.zeros(256, 4)
    step[:, :2] = z  # s' − s = (z, 0, 0): Δφᵀz is maximised by φ(s) = s[:2]
    batch = skill_batch(obs, obs + step, z)
    before = m.reward(batch).mean().item()
    for _ in range(150):
        m.update(batch)
    after = m.reward(batch).mean().item()
    assert after > before + 0.3
    x, y = torch.randn(2000, 4) * 3, torch.randn(2000, 4) * 3
    with torch.no_grad():
        ratio = (m.phi(x) - m.phi(y)).norm(dim=-1) / (x - y).norm(dim=-1)
        ratio_steps = (m.phi(obs + step) - m.phi(obs)).norm(dim=-1) / step.norm(dim=-1)
    assert ratio.max().item() <= 1.0 + 1e-3
    assert 0.7 < ratio_steps.max().item() <= 1.0 + 1e-3  # the objective pushes φ towards the bound
    assert after <= (step.norm(dim=-1) * z.norm(dim=-1)).mean().item()  # Cauchy–Schwarz bound


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0]


@pytest.mark.parametrize("xi", [5.0, 0.5])
def test_csf_loss_matches_numpy(xi):
    m = CSF(obs_dim=2, action_dim=1, skill_dim=2, num_layers=0, xi=xi)
    _set_linear(m, W3)
    z_neg = np.array([[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8], [0.0, -1.0]])
    out = m.losses(skill_batch(OBS3, NEXT3, Z3), torch.as_tensor(z_neg, dtype=torch.float32))
    dphi = (NEXT3 - OBS3) @ W3.T  # [[.5, 0], [1, -.5], [-1, 0]]
    pos = (dphi * Z3).sum(-1)
    lse = _logsumexp(dphi @ z_neg.T)
    assert out["loss_phi"].item() == pytest.approx(-(pos.mean() - xi * lse.mean()), rel=1e-5)
    np.testing.assert_allclose(m.reward(skill_batch(OBS3, NEXT3, Z3)).numpy(), pos, rtol=1e-6)
    np.testing.assert_allclose(m.cumulant(skill_batch(OBS3, NEXT3, Z3)).numpy(), dphi, rtol=1e-6)


def test_csf_negatives_prior_and_batch():
    batch = skill_batch(OBS3, NEXT3, Z3)
    prior = CSF(obs_dim=2, action_dim=1, skill_dim=3, hidden_dim=8)
    batch3 = skill_batch(OBS3, NEXT3, np.eye(3))
    z_neg = prior.negative_skills(batch3)
    assert z_neg.shape == (256, 3)
    torch.testing.assert_close(z_neg.norm(dim=-1), torch.ones(256))  # unit-sphere prior
    own = CSF(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=8, negatives="batch")
    torch.testing.assert_close(own.negative_skills(batch), batch.skill)
    with pytest.raises(ValueError, match="CSF: negatives must be one of prior, batch, got 'other'"):
        CSF(obs_dim=2, action_dim=1, negatives="other")


def test_csf_learns_to_tell_skills_apart():
    torch.manual_seed(0)
    m = CSF(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=32, lr=3e-3)
    obs = torch.randn(256, 2)
    z = m.skill_space.sample(256)
    batch = skill_batch(obs, obs + 0.5 * z, z)  # each skill moves along its own direction
    first = m.update(batch)
    for _ in range(150):
        last = m.update(batch)
    assert last["loss_phi"].item() < first["loss_phi"].item() - 0.2
    assert last["reward_mean"].item() > first["reward_mean"].item() + 0.2
    # small-Δφ optimum of the ξ-weighted log-sum-exp: Δφ ≈ (D/ξ) z, i.e. ‖Δφ‖ ≈ 2/5 per unit-z step
    assert 0.3 < m.cumulant(batch).norm(dim=-1).mean().item() < 0.5


@pytest.mark.parametrize("cls", [LSD, CSF])
def test_goal_skill_points_from_phi_s_to_phi_g(cls):
    W = np.array([[2.0, 0.0], [0.0, 1.0]])
    m = cls(obs_dim=2, action_dim=1, skill_dim=2, num_layers=0)
    _set_linear(m, W)
    if cls is LSD:
        W = W / 2.0  # spectral normalisation: σ_max = 2, reached by power iterations in training mode
        m.phi_net.train()
        for _ in range(30):
            m.phi(torch.zeros(1, 2))
        m.phi_net.eval()
    s, g = torch.tensor([[1.0, 1.0], [0.0, 0.0]]), torch.tensor([[2.0, 3.0], [-1.0, 0.0]])
    d = (g - s).numpy() @ W.T
    # ‖z‖ = E‖z‖ under the prior, as the CSF reference: √(π/2) for LSD's 2-D Gaussian skills, 1 on
    # CSF's unit sphere; unit_goal_skill=True gives ‖z‖ = 1
    length = np.sqrt(np.pi / 2) if cls is LSD else 1.0
    z = m.skill_for_goal(s, g)
    np.testing.assert_allclose(z.numpy(), length * d / np.linalg.norm(d, axis=1, keepdims=True), rtol=1e-4)
    m.unit_goal_skill = True
    z = m.skill_for_goal(s, g)
    np.testing.assert_allclose(z.numpy(), d / np.linalg.norm(d, axis=1, keepdims=True), rtol=1e-4)


def test_gaussian_goal_skill_length_is_the_prior_mean_norm():
    for dim in (1, 2, 3):
        m = CSF(obs_dim=2, action_dim=1, skill_dim=dim, skill_dist="gaussian", hidden_dim=8)
        z = m.skill_space.sample(200_000, generator=torch.Generator().manual_seed(0))
        assert m.goal_skill_length() == pytest.approx(z.norm(dim=-1).mean().item(), rel=5e-3)
    assert m.goal_skill_length() == pytest.approx(2 * np.sqrt(2 / np.pi))  # E‖z‖, 3-D: 2√(2/π)


def test_lsd_discrete_goal_skill_and_bad_args():
    m = LSD(obs_dim=2, action_dim=4, skill_dim=4, discrete=True, num_layers=0)
    _set_linear(m, [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, 0.5]])
    m.phi_net.train()
    for _ in range(30):  # power iterations: φ = W s / σ_max(W), the same argmax as W s
        m.phi(torch.zeros(1, 2))
    m.phi_net.eval()
    s = torch.zeros(3, 2)
    g = torch.tensor([[1.0, 0.2], [0.1, 1.0], [-2.0, 0.0]])  # argmax of φ(g) − φ(s): skills 0, 1, 2
    z = m.skill_for_goal(s, g)
    expected = (torch.eye(4)[[0, 1, 2]] - 0.25) * 4 / 3  # the zero-centred one-hots (e_k − 𝟙/D)·D/(D−1)
    torch.testing.assert_close(z, expected)
    with pytest.raises(ValueError, match="LSD: skill_dist must be gaussian or sphere, got 'box'"):
        LSD(obs_dim=2, action_dim=1, skill_dist="box")
    with pytest.raises(ValueError, match="LSD: lr must be a finite number > 0"):
        LSD(obs_dim=2, action_dim=1, lr=0.0)


# ---------------------------------------------------------------- successor-feature critic


def _sf_agent(seed: int = 0, soft: bool = False) -> SuccessorFeatureSAC:
    torch.manual_seed(seed)
    return SuccessorFeatureSAC(obs_dim=3 + 2, action_dim=1, hidden_dim=32, skill_dim=2, soft_target=soft)


def test_sf_critic_q_is_psi_dot_z():
    agent = _sf_agent()
    obs = torch.cat([torch.randn(5, 3), torch.randn(5, 2)], dim=-1)
    action = torch.rand(5, 1) * 2 - 1
    psi = agent.critic(torch.cat([obs, action], dim=-1))
    assert psi.shape == (2, 5, 2)
    expected = (psi * obs[:, -2:]).sum(-1)
    torch.testing.assert_close(agent.q_values(agent.critic, obs, action), expected)


@pytest.mark.parametrize("soft", [False, True])
def test_sf_critic_td_step_reduces_loss_and_target_matches_bellman(soft):
    agent = _sf_agent(soft=soft)
    gen = torch.Generator().manual_seed(1)
    obs, next_obs = torch.randn(64, 5, generator=gen), torch.randn(64, 5, generator=gen)
    next_obs[:, -2:] = obs[:, -2:]  # the skill stays fixed within an episode
    action = torch.rand(64, 1, generator=gen) * 2 - 1
    cumulant = torch.randn(64, 2, generator=gen)
    done = torch.zeros(64, dtype=torch.bool)

    def loss():
        torch.manual_seed(7)  # the same next actions a' ~ π(·|s') every time
        return agent.critic_loss(obs, action, cumulant, next_obs, done)

    before = loss()
    agent._step(before, "critic")
    assert loss().item() < before.item()
    # zᵀy_ψ = r + γ min_i Q̄_i(s', a') with r = Δφᵀz (paper), soft: − γ α log π(a'|s') too
    torch.manual_seed(7)
    y_psi = agent.target(cumulant, next_obs, done)
    torch.manual_seed(7)
    a2, logp = agent.actor.sample(next_obs)
    with torch.no_grad():
        q_next = agent.q_values(agent.critic_target, next_obs, a2).min(0).values
    z = obs[:, -2:]
    y = (cumulant * z).sum(-1) + agent.gamma * (q_next - soft * agent.alpha * logp.detach())
    torch.testing.assert_close((y_psi * z).sum(-1), y, rtol=1e-5, atol=1e-5)


def test_sf_target_ignores_termination_as_the_reference_turn_off_dones():
    agent = _sf_agent()
    gen = torch.Generator().manual_seed(2)
    next_obs, cumulant = torch.randn(4, 5, generator=gen), torch.randn(4, 2, generator=gen)
    done = torch.tensor([True, False, True, False])

    def target(**kw):
        torch.manual_seed(7)
        return agent.target(cumulant, next_obs, done, **kw)

    # default: y_ψ = c + γ ψ̄(s', a') on every row, terminated or not
    torch.manual_seed(7)
    live = agent.target(cumulant, next_obs, torch.zeros(4, dtype=torch.bool))
    torch.testing.assert_close(target(), live)
    assert not torch.allclose(target()[done], cumulant[done])
    agent.turn_off_dones = False  # the option: termination zeroes the bootstrap
    torch.testing.assert_close(target()[done], cumulant[done])
    torch.testing.assert_close(target()[~done], live[~done])


def test_sf_critic_bad_input():
    with pytest.raises(ValueError, match="needs 1 <= skill_dim < obs_dim=4, got 0"):
        SuccessorFeatureSAC(obs_dim=4, action_dim=1, skill_dim=0)
    with pytest.raises(TypeError):
        SAC(obs_dim=4, action_dim=1, critic="successor_features")  # plain SAC has one critic kind
    agent = _sf_agent()
    x = torch.randn(4, 5)
    with pytest.raises(ValueError, match=r"must be the cumulant \[B, 2\], got shape \(4,\)"):
        agent.update(x, torch.zeros(4, 1), torch.zeros(4), x, torch.zeros(4, dtype=torch.bool))
