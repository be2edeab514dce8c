"""RND (Burda et al. 2019): the reward formula on a tiny batch, the running statistics, the update."""

import pytest
import torch

from rlinfo.rewards import REWARDS, RND, make_reward
from rlinfo.running_stats import RunningMeanStd
from rlinfo.types import Batch


def _batch(next_obs: torch.Tensor) -> Batch:
    n = next_obs.shape[0]
    return Batch(
        obs=torch.zeros_like(next_obs),
        action=torch.zeros(n, 1),
        next_obs=next_obs,
        terminated=torch.zeros(n, dtype=torch.bool),
    )


def test_reward_formula_tiny_batch():
    torch.manual_seed(0)
    m = RND(obs_dim=2, action_dim=1, hidden_dim=8, rep_dim=3)
    m.obs_rms.mean.copy_(torch.tensor([1.0, -1.0]))
    m.obs_rms.var.copy_(torch.tensor([4.0, 0.25]))
    m.err_rms.var.fill_(9.0)
    m.obs_rms.count.fill_(10.0)  # statistics that have seen data (not the empty initial state)
    m.err_rms.count.fill_(10.0)
    s2 = torch.tensor([[3.0, -1.5], [100.0, 0.0]])
    x = torch.tensor([[1.0, -1.0], [5.0, 2.0]])  # (s' - mu) / sigma, second row clipped at +5
    err = (m.predictor(x) - m.target(x)).pow(2).mean(-1)
    expected = err / 3.0
    r = m.reward(_batch(s2))
    assert r.shape == (2,) and not r.requires_grad
    torch.testing.assert_close(r, expected.detach(), rtol=1e-4, atol=1e-6)


def test_running_mean_std_matches_batch_statistics():
    rms = RunningMeanStd((2,), epsilon=1e-12)
    data = torch.randn(100, 2) * 3 + 1
    rms.update(data[:30])
    rms.update(data[30:])
    torch.testing.assert_close(rms.mean, data.mean(0), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rms.var, data.var(0, unbiased=False), rtol=1e-4, atol=1e-4)


def test_update_trains_predictor_only_and_lowers_error():
    torch.manual_seed(0)
    m = RND(obs_dim=3, action_dim=1, hidden_dim=32, rep_dim=8, lr=1e-2)
    target_before = [p.clone() for p in m.target.parameters()]
    b = _batch(torch.randn(64, 3))
    first = m.update(b)["loss"]
    for _ in range(100):
        stats = m.update(b)
    assert stats["loss"] < 0.5 * first
    assert all(not s.requires_grad for s in stats.values())
    for p, q in zip(m.target.parameters(), target_before, strict=True):
        assert torch.equal(p, q)
    assert m.obs_rms.count > 100


def test_registered_and_validated():
    assert REWARDS["rnd"] is RND
    assert isinstance(make_reward("rnd", obs_dim=2, action_dim=2, hidden_dim=8), RND)
    with pytest.raises(ValueError, match="rep_dim"):
        RND(obs_dim=2, action_dim=1, rep_dim=0)


def test_running_statistics_start_from_the_first_batch():
    """A batch scored before the first update uses the statistics that update would set
    (CIC/APT with knn_rms gave log(1 + d / 0) ≈ 16 on a first rollout scored before training)."""
    from rlinfo.rewards import APT, Normalized

    torch.manual_seed(0)
    b = _batch(torch.randn(64, 3) * 5 + 2)
    apt = APT(obs_dim=3, action_dim=1, k=4, knn_rms=True)
    fresh = apt.reward(b)
    apt.update(b)  # representation "obs": the update only folds the kNN distances into m
    torch.testing.assert_close(fresh, apt.reward(b), rtol=1e-4, atol=1e-5)
    assert float(fresh.max()) < 3  # log(1 + d/m) with m the batch's mean distance, not m = 0
    for mode in ("std", "meanstd"):
        norm = Normalized(APT(obs_dim=3, action_dim=1, k=4), mode=mode)
        fresh = norm.reward(b)
        norm.update(b)
        torch.testing.assert_close(fresh, norm.reward(b), rtol=1e-4, atol=1e-5)
    rnd = RND(obs_dim=3, action_dim=1, hidden_dim=8, rep_dim=3)
    fresh = rnd.reward(b)
    x = (b.next_obs - b.next_obs.mean(0)) / b.next_obs.std(0, unbiased=False)
    err = (rnd.predictor(x) - rnd.target(x)).pow(2).mean(-1).detach()
    torch.testing.assert_close(fresh, err / err.std(unbiased=False), rtol=1e-4, atol=1e-5)
