"""Replay buffer: storage, the autoreset mask, wrap-around and sample-time relabelling."""

from __future__ import annotations

import torch

from rlinfo.buffers import ReplayBuffer
from rlinfo.rewards import METRA
from rlinfo.types import Batch


def _batch(n: int, start: float = 0.0, skill_dim: int = 2) -> Batch:
    obs = torch.arange(n, dtype=torch.float32).unsqueeze(1).repeat(1, 3) + start
    return Batch(
        obs=obs,
        action=torch.full((n, 2), 0.5),
        next_obs=obs + 1,
        terminated=torch.zeros(n, dtype=torch.bool),
        skill=torch.ones(n, skill_dim),
        reward=torch.arange(n, dtype=torch.float32),
    )


def test_keep_mask_drops_autoreset_steps():
    buf = ReplayBuffer(10, obs_dim=3, action_dim=2, skill_dim=2)
    buf.add(_batch(4), keep=torch.tensor([True, False, True, False]))
    assert len(buf) == 2
    assert buf.obs[:2, 0].tolist() == [0.0, 2.0]
    assert buf.reward[:2].tolist() == [0.0, 2.0]


def test_wraps_around_and_keeps_capacity():
    buf = ReplayBuffer(5, obs_dim=3, action_dim=2, skill_dim=2)
    buf.add(_batch(4))
    buf.add(_batch(3, start=100.0))
    assert len(buf) == 5 and buf.pos == 2
    assert sorted(buf.obs[:, 0].tolist()) == [2.0, 3.0, 100.0, 101.0, 102.0]


def test_sample_is_seeded_and_from_stored_rows():
    buf = ReplayBuffer(100, obs_dim=3, action_dim=2, skill_dim=2)
    buf.add(_batch(50))
    a = buf.sample(16, torch.Generator().manual_seed(0))
    b = buf.sample(16, torch.Generator().manual_seed(0))
    assert torch.equal(a.obs, b.obs)
    assert torch.equal(a.next_obs, a.obs + 1)  # rows stay aligned
    assert a.obs[:, 0].max() < 50


def test_rewards_are_relabelled_from_current_weights():
    torch.manual_seed(0)
    module = METRA(obs_dim=3, action_dim=2, skill_dim=2, hidden_dim=16)
    buf = ReplayBuffer(100, obs_dim=3, action_dim=2, skill_dim=2)
    buf.add(_batch(50))
    before = buf.sample(32, torch.Generator().manual_seed(1), relabel=module.reward).reward.clone()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(2.0)
    after = buf.sample(32, torch.Generator().manual_seed(1), relabel=module.reward).reward
    assert not torch.allclose(before, after)
    # the stored extrinsic rewards are untouched by relabelling
    assert buf.reward[:50].tolist() == list(range(50))


def test_state_dict_round_trip():
    buf = ReplayBuffer(20, obs_dim=3, action_dim=2, skill_dim=2)
    buf.add(_batch(7))
    other = ReplayBuffer(20, obs_dim=3, action_dim=2, skill_dim=2)
    other.load_state_dict(buf.state_dict())
    assert len(other) == 7 and other.pos == 7
    assert torch.equal(other.obs[:7], buf.obs[:7]) and torch.equal(other.skill[:7], buf.skill[:7])
