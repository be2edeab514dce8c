"""SAC: batched twin critics, bootstrapping on truncation only, tanh log-probabilities, learning."""

from __future__ import annotations

import math

import pytest
import torch

from rlinfo.agents.multi_critic import MultiCriticSAC
from rlinfo.agents.ppo import PPO
from rlinfo.agents.sac import SAC
from rlinfo.agents.successor_features import SuccessorFeatureSAC
from rlinfo.nn import EnsembleLinear, adam


@pytest.mark.parametrize("out_dim", [3, 1])  # 1: the multiply-and-sum head
@pytest.mark.parametrize("shared_input", [True, False])  # [B, in] broadcast, or [E, B, in]
def test_ensemble_linear_equals_separate_layers(out_dim, shared_input):
    torch.manual_seed(0)
    layer = EnsembleLinear(2, 4, out_dim)
    x = torch.randn(5, 4) if shared_input else torch.randn(2, 5, 4)
    x.requires_grad_(True)
    out = layer(x)
    assert out.shape == (2, 5, out_dim)
    grad_out = torch.randn_like(out)
    out.backward(grad_out)
    for e in range(2):
        w = layer.weight[e].detach().requires_grad_(True)
        xe = (x if shared_input else x[e]).detach().requires_grad_(True)
        expected = xe @ w + layer.bias[e].detach()
        assert torch.allclose(out[e], expected, atol=1e-6)
        expected.backward(grad_out[e])
        assert torch.allclose(layer.weight.grad[e], w.grad, atol=1e-5)
        assert torch.allclose(layer.bias.grad[e, 0], grad_out[e].sum(0), atol=1e-5)
        if not shared_input:
            assert torch.allclose(x.grad[e], xe.grad, atol=1e-5)


def test_critic_target_bootstraps_only_without_termination():
    torch.manual_seed(0)
    agent = SAC(obs_dim=2, action_dim=1, hidden_dim=8, gamma=0.9)
    obs = torch.zeros(2, 2)
    action = torch.zeros(2, 1)
    reward = torch.tensor([1.0, 1.0])
    next_obs = torch.ones(2, 2)
    terminated = torch.tensor([True, False])
    captured = {}

    def fake_q(critic, o, a):
        if critic is agent.critic_target:
            return torch.full((2, len(o)), 10.0)
        captured["q"] = torch.zeros(2, len(o), requires_grad=True)
        return captured["q"]

    agent.q_values = fake_q  # type: ignore[method-assign]
    agent.actor.sample = lambda o: (torch.zeros(len(o), 1), torch.zeros(len(o)))  # type: ignore
    loss = agent.critic_loss(obs, action, reward, next_obs, terminated)
    # targets: terminated -> 1; truncated/ongoing -> 1 + 0.9 * (10 - alpha * 0) = 10
    expected = 0.5 * 2 * ((1.0**2 + 10.0**2) / 2)
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_tanh_log_prob_matches_density_of_the_squashed_gaussian():
    # action box [−3, 1]: a = 2 tanh(u) − 1, so log π carries −log 2 (−Σ log scale)
    torch.manual_seed(0)
    agent = SAC(obs_dim=1, action_dim=1, hidden_dim=8, action_low=torch.tensor([-3.0]),
                action_high=torch.tensor([1.0]))  # fmt: skip
    obs = torch.zeros(200_000, 1)
    with torch.no_grad():
        action, log_prob = agent.actor.sample(obs)
    # histogram estimate of the density at a few points against exp(log_prob)
    hist = torch.histc(action.squeeze(1), bins=20, min=-3, max=1) / (len(action) * 0.2)
    centres = torch.linspace(-2.9, 0.9, 20)
    order = action.squeeze(1).argsort()
    a_sorted, lp_sorted = action.squeeze(1)[order], log_prob[order]
    idx = torch.searchsorted(a_sorted, centres).clamp(max=len(a_sorted) - 1)
    density = lp_sorted[idx].exp()
    interior = slice(1, -1)  # the edge bins average a steep density; compare the rest
    assert torch.allclose(hist[interior], density[interior], rtol=0.05)


def test_tanh_log_prob_change_of_variables_with_box_bounds():
    """log π(a|s) = log N(u; μ, σ) − Σ log(1 − tanh² u) − Σ log scale, a = scale · tanh(u) + bias."""
    low, high = torch.tensor([-3.0, 0.0]), torch.tensor([1.0, 0.5])  # scales 2, 0.25; biases −1, 0.25
    torch.manual_seed(0)
    agent = SAC(obs_dim=3, action_dim=2, hidden_dim=8, action_low=low, action_high=high)
    obs = torch.randn(64, 3)
    with torch.no_grad():
        action, log_prob = agent.actor.sample(obs)
        mean, log_std = agent.actor(obs)
    scale, bias = (high - low) / 2, (high + low) / 2
    t = ((action - bias) / scale).double()
    u = torch.atanh(t)
    gauss = torch.distributions.Normal(mean.double(), log_std.double().exp()).log_prob(u).sum(-1)
    expected = gauss - torch.log(1 - t**2).sum(-1) - torch.log(scale.double()).sum()
    torch.testing.assert_close(log_prob.double(), expected, rtol=1e-4, atol=1e-3)


def test_action_bounds_are_respected():
    agent = SAC(
        obs_dim=3, action_dim=2, action_low=torch.tensor([0.0, -2.0]), action_high=torch.tensor([1.0, 2.0])
    )
    a = agent.act(torch.randn(1000, 3) * 10)
    assert (a[:, 0] >= 0).all() and (a[:, 0] <= 1).all() and (a[:, 1].abs() <= 2).all()


def test_temperature_moves_towards_target_entropy():
    torch.manual_seed(0)
    agent = SAC(obs_dim=1, action_dim=1, hidden_dim=8, alpha_init=1.0)
    high_entropy_logp = torch.full((64,), -5.0)  # entropy 5 > target -1: alpha must fall
    loss = agent.alpha_loss(high_entropy_logp)
    loss.backward()
    assert agent.log_alpha.grad > 0  # gradient descent lowers log alpha


def test_update_is_a_critic_step_then_the_actor_and_temperature_steps_of_their_own_losses():
    torch.manual_seed(0)
    agent, by_hand = SAC(4, 2, hidden_dim=32, alpha_init=0.5), SAC(4, 2, hidden_dim=32, alpha_init=0.5)
    by_hand.load_state_dict(agent.state_dict())
    gen = torch.Generator().manual_seed(1)
    obs, next_obs = torch.randn(64, 4, generator=gen), torch.randn(64, 4, generator=gen)
    action, reward = torch.rand(64, 2, generator=gen) * 2 - 1, torch.randn(64, generator=gen)
    done = torch.zeros(64, dtype=torch.bool)

    def step(name: str, loss: torch.Tensor) -> None:
        by_hand.optimizers[name].zero_grad()
        loss.backward()
        by_hand.optimizers[name].step()

    for k in range(3):
        torch.manual_seed(k)
        agent.update(obs, action, reward, next_obs, done)
        torch.manual_seed(k)  # the same draws; each loss with its own backward and step
        step("critic", by_hand.critic_loss(obs, action, reward, next_obs, done))
        loss_pi, log_prob = by_hand.actor_loss(obs)
        step("actor", loss_pi)
        step("alpha", by_hand.alpha_loss(log_prob))
        with torch.no_grad():
            pairs = zip(by_hand.critic_target.parameters(), by_hand.critic.parameters(), strict=True)
            for target, online in pairs:
                target.lerp_(online, by_hand.tau)
    for (name, a), b in zip(agent.state_dict().items(), by_hand.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
    assert not torch.allclose(agent.log_alpha, torch.tensor(math.log(0.5)))  # the temperature moved


def test_sac_learns_a_one_step_bandit():
    """Reward -(a - 0.5)^2, episodes of one step: the greedy action must approach 0.5."""
    torch.manual_seed(0)
    agent = SAC(obs_dim=1, action_dim=1, hidden_dim=32, lr=3e-3, alpha_init=0.01, learn_alpha=False)
    obs = torch.zeros(256, 1)
    done = torch.ones(256, dtype=torch.bool)
    for _ in range(300):
        action = torch.rand(256, 1) * 2 - 1
        reward = -((action.squeeze(1) - 0.5) ** 2)
        agent.update(obs, action, reward, obs, done)
    assert abs(agent.act(torch.zeros(1, 1), deterministic=True).item() - 0.5) < 0.1


def test_adam_is_torch_adam_with_the_fused_kernel():
    """rlinfo.nn.adam: the same update rule as torch's per-tensor Adam (eps passed through), fused."""
    torch.manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(4))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    opt_ours = adam(ours, 1e-2, eps=1e-5)
    opt_theirs = torch.optim.Adam(theirs, lr=1e-2, eps=1e-5, foreach=False)
    assert opt_ours.param_groups[0]["fused"] and opt_ours.param_groups[0]["eps"] == 1e-5
    for k in range(5):
        for p, q in zip(ours, theirs, strict=True):
            p.grad = torch.full_like(p, float(k + 1)) * torch.arange(p.numel()).reshape(p.shape)
            q.grad = p.grad.clone()
        opt_ours.step()
        opt_theirs.step()
    for p, q in zip(ours, theirs, strict=True):
        assert torch.allclose(p, q, atol=1e-6)
        assert not torch.equal(p, p.new_zeros(p.shape))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SAC(4, 2, hidden_dim=8),
        lambda: SuccessorFeatureSAC(4, 2, hidden_dim=8, skill_dim=2),
        lambda: MultiCriticSAC(4, 2, channel_weights=(1.0, 0.5), hidden_dim=8),
        lambda: PPO(4, 2, hidden_dim=8),
    ],
)
def test_every_agent_optimiser_is_fused(make):
    agent = make()
    assert all(g["fused"] for opt in agent.optimizers.values() for g in opt.param_groups)


def test_actor_activation_tanh_is_the_metra_reference_policy():
    """``actor_activation="tanh"``: every hidden activation of the actor is tanh, the critics keep ReLU;
    an unknown name is one line."""
    agent = SAC(6, 2, actor_activation="tanh")
    kinds = {type(m) for m in agent.actor.net if not isinstance(m, torch.nn.Linear)}
    assert kinds == {torch.nn.Tanh}
    assert any(isinstance(m, torch.nn.ReLU) for m in agent.critic.modules())
    assert {type(m) for m in SAC(6, 2).actor.net if not isinstance(m, torch.nn.Linear)} == {torch.nn.ReLU}
    with pytest.raises(ValueError, match="^SAC: actor_activation must be one of relu, tanh, got 'gelu'$"):
        SAC(6, 2, actor_activation="gelu")


def linears(net: torch.nn.Module) -> list[torch.nn.Module]:
    from rlinfo.nn import EnsembleLinear

    return [m for m in net.modules() if isinstance(m, torch.nn.Linear | EnsembleLinear)]


def test_garage_init_draws_the_metra_trainers_weights():
    """``init="garage"``: actor hidden layers Xavier-uniform (|w| ≤ √(6/(in+out)), std = bound/√3), its
    output Xavier-normal × 0.1 (std 0.1·√(2/(in+out)), tails past that uniform bound), each critic member
    Xavier-normal, every bias zero, and the target critic a copy; PyTorch's default has non-zero biases."""
    torch.manual_seed(0)
    agent = SAC(200, 8, hidden_dim=400, init="garage")
    *hidden, out = linears(agent.actor.net)
    for layer in hidden:
        n_in, n_out = layer.in_features, layer.out_features
        bound = (6.0 / (n_in + n_out)) ** 0.5
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.99 * bound
        assert layer.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.02)
    std = 0.1 * (2.0 / (400 + 16)) ** 0.5  # garage's xavier_normal_ex: Xavier-normal × 0.1
    assert out.weight.std().item() == pytest.approx(std, rel=0.05)
    assert out.weight.abs().max() > 3**0.5 * std  # normal, not uniform
    for layer in linears(agent.critic):
        n_in, n_out = layer.weight.shape[1:]
        for member in layer.weight:
            assert member.std().item() == pytest.approx((2.0 / (n_in + n_out)) ** 0.5, rel=0.1)
    assert all(not layer.bias.any() for layer in linears(agent.actor.net) + linears(agent.critic))
    for p, q in zip(agent.critic.parameters(), agent.critic_target.parameters(), strict=True):
        assert torch.equal(p, q)
    assert all(layer.bias.any() for layer in linears(SAC(200, 8, hidden_dim=400).actor.net))
    message = r"^SAC: init must be one of torch, garage \(garage: .*\), got 'xavier'$"
    with pytest.raises(ValueError, match=message):
        SAC(6, 2, init="xavier")
