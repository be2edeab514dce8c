"""Empowerment: r = log q(a|s,s') − log ω(a|s) by hand, and the behavioural test: controllable > inert."""

import math

import numpy as np
import pytest
import torch

from rlinfo.rewards import Empowerment
from rlinfo.types import Batch


def test_discrete_reward_formula():
    emp = Empowerment(obs_dim=2, action_dim=3, discrete=True, num_layers=0)
    bq, bw = torch.tensor([2.0, 0.0, -1.0]), torch.tensor([0.0, 1.0, 0.0])
    with torch.no_grad():  # constant heads: q = softmax(bq), ω = softmax(bw)
        for head, bias in ((emp.inverse, bq), (emp.source, bw)):
            head.net[0].weight.zero_()
            head.net[0].bias.copy_(bias)
    a = torch.tensor([0, 1, 2, 0])
    b = Batch(torch.randn(4, 2), a, torch.randn(4, 2), torch.zeros(4, dtype=torch.bool))
    log_sm = lambda v: v - np.log(np.exp(v).sum())  # noqa: E731
    expected = log_sm(bq.numpy())[a.numpy()] - log_sm(bw.numpy())[a.numpy()]
    np.testing.assert_allclose(emp.reward(b).numpy(), expected, rtol=1e-6)


def test_gaussian_reward_formula():
    emp = Empowerment(obs_dim=1, action_dim=2, num_layers=0)
    with (
        torch.no_grad()
    ):  # q: mean (0.5, −1), log σ (−1, 0); ω: mean 0, log σ (0.5, 0.5); weights act on s only
        emp.inverse.net[0].weight.zero_()
        emp.inverse.net[0].weight[0, 0] = 1.0  # μ_q,0 = s + 0.5
        emp.inverse.net[0].bias.copy_(torch.tensor([0.5, -1.0, -1.0, 0.0]))
        emp.source.net[0].weight.zero_()
        emp.source.net[0].bias.copy_(torch.tensor([0.0, 0.0, 0.5, 0.5]))
    s = np.array([[0.0], [1.0]])
    a = np.array([[0.3, -0.5], [1.0, 2.0]])

    def log_normal(x, mu, log_std):
        return (-0.5 * ((x - mu) / np.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    mu_q = np.stack([s[:, 0] + 0.5, -np.ones(2)], axis=1)
    expected = log_normal(a, mu_q, np.array([-1.0, 0.0])) - log_normal(a, 0.0, np.array([0.5, 0.5]))
    t = lambda x: torch.tensor(x, dtype=torch.float32)  # noqa: E731
    b = Batch(t(s), t(a), t(s + 1), torch.zeros(2, dtype=torch.bool))
    np.testing.assert_allclose(emp.reward(b).numpy(), expected, rtol=1e-5)


def _transitions(n: int, gen: torch.Generator, region: str | None = None) -> Batch:
    """2-D points in [−1, 1]²: for x < 0 actions have no effect (s' = s); for x > 0, s' = s + 0.2 a."""
    s = torch.rand(n, 2, generator=gen) * 2 - 1
    if region == "inert":
        s[:, 0] = -s[:, 0].abs()
    elif region == "controllable":
        s[:, 0] = s[:, 0].abs()
    a = torch.rand(n, 2, generator=gen) * 2 - 1  # a uniformly random behaviour policy
    moves = (s[:, :1] > 0).float()
    return Batch(s, a, s + 0.2 * moves * a, torch.zeros(n, dtype=torch.bool))


@pytest.mark.parametrize("latent", [False, True])
def test_empowerment_is_higher_where_actions_matter(latent):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    emp = Empowerment(obs_dim=2, action_dim=2, latent=latent, latent_dim=16, hidden_dim=64, lr=3e-3)
    for _ in range(400):
        emp.update(_transitions(256, gen))
    inert = emp.reward(_transitions(2000, gen, "inert")).mean().item()
    controllable = emp.reward(_transitions(2000, gen, "controllable")).mean().item()
    # inert: q(a|s,s') can do no better than ω(a|s), r ≈ 0; controllable: a = (s' − s)/0.2 is recoverable
    assert abs(inert) < 0.3
    assert controllable > inert + 2.0
