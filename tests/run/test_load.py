"""rlinfo.load(run_dir): a trained run in one's own code (policy, reward module, skill space)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rlinfo
from rlinfo import Batch
from rlinfo.errors import RlinfoError
from rlinfo.run.cli import main


def test_load_gives_the_trained_policy_reward_and_skills(tmp_path):
    overrides = ["total_steps=600", "train.learning_starts=200", "env.num_envs=4", "eval.num_rollouts=4"]
    assert main(["train", "metra_maze", *overrides, f"run_root={tmp_path}", "run_name=m"]) == 0
    run = rlinfo.load(tmp_path / "m")
    assert run.step >= 600 and run.config.reward.name == "metra" and run.skill_space.dim == 2
    z = run.skill_space.sample(1, generator=torch.Generator().manual_seed(0))[0].numpy()
    obs = np.array([5.5, 5.5], dtype=np.float32)
    action = run.policy.act(obs, skill=z)
    assert action.shape == (2,) and np.all(np.abs(action) <= 1.0)
    batch_actions = run.policy.act(np.stack([obs, obs + 1]), skill=z)  # one skill for a batch of obs
    assert batch_actions.shape == (2, 2) and np.allclose(batch_actions[0], action)
    # the same weights as the run's own rollouts: deterministic actions match the trained agent
    from rlinfo.checkpoint import latest_checkpoint, load_checkpoint

    state = load_checkpoint(latest_checkpoint(tmp_path / "m"))
    assert all(torch.equal(v, state["agent"][k]) for k, v in run.policy.agent.state_dict().items())
    batch = Batch(torch.randn(8, 2), torch.rand(8, 2), torch.randn(8, 2), torch.zeros(8, dtype=torch.bool),
                  skill=run.skill_space.sample(8))
    assert run.reward_module.reward(batch).shape == (8,)
    with pytest.raises(RlinfoError, match="skill-conditioned: pass skill="):
        run.policy.act(obs)
    with pytest.raises(RlinfoError, match="obs has 3 dimensions; this policy takes 2"):
        run.policy.act(np.zeros(3), skill=z)


def test_load_a_run_without_skills(tmp_path):
    overrides = ["total_steps=256", "train.rollout_steps=32", "eval.num_rollouts=2"]
    assert main(["train", "ppo_cartpole", *overrides, f"run_root={tmp_path}", "run_name=p"]) == 0
    run = rlinfo.load(tmp_path / "p")
    assert run.skill_space is None and run.reward_module is None
    action = run.policy.act(np.zeros(4, dtype=np.float32))
    assert action.shape == () and int(action) in (0, 1)


def test_load_of_a_missing_run_is_one_line(tmp_path):
    with pytest.raises(RlinfoError, match="run directory not found") as e:
        rlinfo.load(tmp_path / "nope")
    assert "\n" not in str(e.value)
