"""Zero-shot goal reaching: goal sampling and the metrics on hand-made maze cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlinfo.envs import make, make_vec, maze_layout
from rlinfo.evaluation import goal_reaching, sample_goals
from rlinfo.rewards import LSD


def _identity_lsd() -> LSD:
    """LSD with φ(s) = s (a spectrally normalised identity is the identity): z = normalise(g − s)."""
    m = LSD(obs_dim=2, action_dim=2, skill_dim=2, num_layers=0)
    with torch.no_grad():
        m.phi_net[0].parametrizations.weight.original.copy_(torch.eye(2))
        m.phi_net[0].bias.zero_()
    m.phi_net.train()  # power iterations on the new weight (the constructor's were on the random one)
    for _ in range(5):
        m.phi(torch.zeros(1, 2))
    m.phi_net.eval()
    return m


class Scripted:
    """A policy on [obs, z]: moves along z (``sign`` +1) or stays put; turns back after ``turn`` steps."""

    def __init__(self, sign: float = 1.0, turn: int | None = None) -> None:
        self.sign, self.turn, self.calls = sign, turn, 0

    def act(self, x: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        assert deterministic
        self.calls += 1
        sign = -self.sign if self.turn is not None and self.calls > self.turn else self.sign
        return sign * x[:, -2:]


def test_sample_goals_ranges_and_maze_cells():
    rng = np.random.default_rng(0)
    ant = sample_goals("ant", 500, rng)
    cheetah = sample_goals("half_cheetah", 500, rng)
    assert ant.shape == (500, 2) and np.abs(ant).max() <= 50 and np.abs(ant).max() > 45
    assert cheetah.shape == (500, 1) and np.abs(cheetah).max() <= 100 and np.abs(cheetah).max() > 90
    layout = maze_layout(make("maze:tree"))
    goals = sample_goals("maze:tree", 200, rng, layout)
    assert np.allclose(goals % 1.0, 0.5) and layout.is_free(goals).all()
    with pytest.raises(ValueError, match="goal reaching needs the agent's position"):
        sample_goals("dmc:walker-run", 3, rng)


def reach(agent, num_goals=16, seed=3, **env_kwargs):
    """goal_reaching on ``num_goals`` maze:square envs (closed afterwards)."""
    envs = make_vec("maze:square", num_envs=num_goals, seed=seed, **env_kwargs)
    try:
        return goal_reaching(agent, _identity_lsd(), envs, "maze:square", maze_layout(envs), seed=seed)
    finally:
        envs.close()


def test_goal_reaching_standing_still_matches_hand_distances():
    res = reach(Scripted(sign=0.0))
    layout = maze_layout(make("maze:square"))
    goals = sample_goals("maze:square", 16, np.random.default_rng(3), layout)
    d = np.linalg.norm(goals - layout.start, axis=1)  # the point never moves from the start
    assert res["final_distance"] == pytest.approx(d.mean())
    assert res["EndSuccess3"] == pytest.approx((d <= 3).mean())
    assert res["HitSuccess3"] == pytest.approx((d <= 3).mean())
    assert res["EndSuccess1"] == pytest.approx((d <= 1).mean())
    assert 0 < res["EndSuccess3"] < 1 and res["steps"] == 25  # the square's episode length


def test_goal_reaching_scripted_policy_reaches_every_goal():
    res = reach(Scripted(), max_episode_steps=40)
    assert res["EndSuccess3"] == 1.0 and res["HitSuccess3"] == 1.0 and res["EndSuccess1"] == 1.0
    assert res["final_distance"] <= 0.5  # steps of 0.5 cells towards the goal, then hovering on it
    # turning back after 25 steps: every goal was hit, fewer are held at the end
    res = reach(Scripted(turn=25), max_episode_steps=40)
    assert res["HitSuccess3"] == 1.0 and res["EndSuccess3"] < 0.5
