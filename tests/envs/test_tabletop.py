"""The tabletop env and its stateless reward modules (tabletop_reach, tabletop_safety, tabletop_metra)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlinfo.envs import list_envs, make
from rlinfo.rewards import REWARDS
from rlinfo.rewards.tabletop import MAX_JOINT_VEL, OBS_DIM, TabletopMETRA, safety_cost
from rlinfo.types import Batch


def rollout(env, actions, seed=0):
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, info)]
    for a in actions:
        obs, r, term, trunc, info = env.step(np.asarray(a, dtype=np.float32))
        out.append((obs, r, term, info))
        if term or trunc:
            break
    return out


def test_registered_and_bad_kwarg():
    assert "tabletop" in list_envs()
    assert {"tabletop_reach", "tabletop_safety", "tabletop_metra"} <= set(REWARDS)
    with pytest.raises(TypeError, match="frame_skp"):
        make("tabletop", frame_skp=3)
    with pytest.raises(ValueError, match="max_episode_steps"):
        make("tabletop", max_episode_steps=0)


def test_object_moves_only_when_pushed_and_info_matches_obs():
    env = make("tabletop", reset_noise=0.0)
    still = rollout(env, [np.zeros(2)] * 50)  # the arm starts away from the puck and does not move it
    xy0 = still[0][3]["object_xy"]
    for obs, _, _, info in still:
        np.testing.assert_allclose(info["object_xy"], xy0)
        np.testing.assert_allclose(info["object_xy"], obs[:2])
        np.testing.assert_allclose(info["xy"], obs[:2])
    pushed = rollout(env, [np.array([1.0, 0.0])] * 100)  # shoulder sweeps through the puck
    for obs, _, _, info in pushed:
        np.testing.assert_allclose(info["object_xy"], obs[:2])
    assert np.linalg.norm(pushed[-1][3]["object_xy"] - xy0) > 0.1


def test_reach_reward_and_safety_module_match_env():
    env = make("tabletop")
    rng = np.random.default_rng(0)
    steps = rollout(env, rng.uniform(-1, 1, (100, 2)), seed=3)
    obs = torch.tensor(np.stack([s[0] for s in steps]), dtype=torch.float32)
    batch = Batch(obs=obs[:-1], action=torch.zeros(len(obs) - 1, 2), next_obs=obs[1:],
                  terminated=torch.zeros(len(obs) - 1, dtype=torch.bool))  # fmt: skip
    env_reward = np.array([s[1] for s in steps[1:]])
    hand = 1 - np.tanh(np.linalg.norm(obs[1:, 2:4].numpy() - obs[1:, 0:2].numpy(), axis=-1) / 0.25)
    np.testing.assert_allclose(env_reward, hand, atol=1e-5)
    reach = REWARDS["tabletop_reach"](obs_dim=OBS_DIM, action_dim=2)
    safety = REWARDS["tabletop_safety"](obs_dim=OBS_DIM, action_dim=2)
    np.testing.assert_allclose(reach.reward(batch).numpy(), env_reward, atol=1e-5)
    np.testing.assert_allclose(safety.reward(batch).numpy(), [s[3]["cost"] for s in steps[1:]])
    with pytest.raises(ValueError, match="obs_dim=12"):
        REWARDS["tabletop_safety"](obs_dim=5, action_dim=2)


def test_safety_cost_parts_on_hand_made_observations():
    obs = np.zeros((4, OBS_DIM))
    obs[:, 1] = 0.3  # puck on the table
    obs[1, 5] = -2.58  # elbow within the 0.05 margin of its −2.6 limit
    obs[2, 6] = MAX_JOINT_VEL + 1.0  # shoulder too fast
    obs[3, 0] = 0.5  # puck beyond x = 0.45
    parts = safety_cost(obs)
    np.testing.assert_array_equal(parts["joint_limit"], [0, 1, 0, 0])
    np.testing.assert_array_equal(parts["joint_velocity"], [0, 0, 1, 0])
    np.testing.assert_array_equal(parts["off_table"], [0, 0, 0, 1])


def test_joint_limit_and_falling_off_in_the_env():
    env = make("tabletop", reset_noise=0.0)
    limit = rollout(env, [np.array([-1.0, 1.0])] * 100)
    assert any(s[3].get("joint_limit", 0) == 1 for s in limit) and sum(s[3]["cost"] for s in limit) > 10
    env.reset(seed=0)
    env.unwrapped.data.qpos[2] = 0.6  # push the puck's slide joint beyond the table edge
    _, _, term, _, info = env.step(np.zeros(2))
    assert term and info["off_table"] == 1 and info["cost"] >= 1


def test_reach_reward_in_unit_interval_so_falling_off_is_not_a_reward():
    # r = 1 − tanh(d / 0.25): 1 at contact, 1 − tanh(1) at one link length, → 0 far away
    obs = torch.zeros(3, OBS_DIM)
    obs[:, 2] = torch.tensor([0.0, 0.25, 10.0])  # ee x; the puck at the origin
    batch = Batch(
        obs=obs, action=torch.zeros(3, 2), next_obs=obs, terminated=torch.zeros(3, dtype=torch.bool)
    )
    reach = REWARDS["tabletop_reach"](obs_dim=OBS_DIM, action_dim=2).reward(batch)
    torch.testing.assert_close(reach, torch.tensor([1.0, 1 - np.tanh(1.0), 0.0], dtype=torch.float32))
    # every step of an episode that ends by pushing the puck off the table earns r >= 0, so the
    # discounted return of ending it (0 from then on) never beats continuing: no reward for leaving
    env = make("tabletop", reset_noise=0.0)
    env.reset(seed=0)
    rewards = [env.step(np.array([1.0, 0.0]))[1] for _ in range(5)]
    env.unwrapped.data.qpos[2] = 0.6  # the puck beyond the table edge
    _, r, term, _, _ = env.step(np.zeros(2))
    assert term and 0 <= r <= 1 and all(0 < x <= 1 for x in rewards)


def test_tabletop_metra_phi_sees_only_the_object():
    metra = TabletopMETRA(obs_dim=OBS_DIM, action_dim=2, skill_dim=2, hidden_dim=16)
    a, b = torch.randn(5, OBS_DIM), torch.randn(5, OBS_DIM)
    b[:, :2] = a[:, :2]
    torch.testing.assert_close(metra.phi(a), metra.phi(b))
    b[:, 0] += 1.0
    assert not torch.allclose(metra.phi(a), metra.phi(b))
