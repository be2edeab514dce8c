"""Sparse-reward tasks: key-door gridworld dynamics and the maze goal."""

from __future__ import annotations

import numpy as np
import pytest

from rlinfo.envs import make, make_vec
from rlinfo.envs.keydoor import KeyDoorEnv, shortest_path_length

UP, RIGHT, DOWN, LEFT = range(4)


def run(env: KeyDoorEnv, actions: list[int]) -> tuple[float, bool]:
    total, done = 0.0, False
    for a in actions:
        _, r, term, trunc, _ = env.step(a)
        total += r
        done = term or trunc
        if done:
            break
    return total, done


def optimal_actions(size: int) -> list[int]:
    n = size
    to_key = [RIGHT] * (n - 1) + [UP] * (n - 1)
    to_door = [DOWN] * (n - 1) + [RIGHT]
    to_goal = [RIGHT] * n + [UP] * (n - 1)
    return to_key + to_door + to_goal


def test_optimal_path_is_at_least_30_steps_and_reaches_the_goal():
    env = make("keydoor")
    assert shortest_path_length(env) == env.optimal_steps == 32
    env.reset(seed=0)
    actions = optimal_actions(7)
    assert len(actions) == 32
    total, done = run(env, actions)
    assert total == 1.0 and done and env.pos == env.goal


def test_door_is_closed_without_the_key():
    env = make("keydoor", size=4)
    obs, _ = env.reset()
    run(env, [DOWN] * 3)  # bottom row already (start is bottom-left): stays put
    run(env, [RIGHT] * 3)  # to (3, 3), next to the door at (4, 3)
    assert env.pos == (3, 3) and not env.has_key
    env.step(RIGHT)
    assert env.pos == (3, 3)  # blocked by the closed door
    run(env, [UP] * 3)  # the key at (3, 0)
    assert env.has_key
    obs, *_ = env.step(DOWN)
    assert obs[2] == 1.0
    run(env, [DOWN] * 2 + [RIGHT])
    assert env.pos == (4, 3)  # through the door with the key


def test_goal_without_key_is_impossible_and_walls_block():
    env = make("keydoor", size=3)
    env.reset()
    env.step(LEFT)
    assert env.pos == env.start  # outer boundary
    assert shortest_path_length(env) == 5 * 3 - 3


def test_truncation_at_the_step_limit_is_not_termination():
    env = make("keydoor", max_episode_steps=10)
    env.reset()
    for t in range(10):
        _, r, term, trunc, _ = env.step(LEFT)
        assert r == 0.0 and not term and trunc == (t == 9)
    with pytest.raises(ValueError, match="size"):
        make("keydoor", size=1)


def test_keydoor_vector_env_reports_success():
    envs = make_vec("keydoor", 2, seed=0, size=2)  # optimum 7 steps: R, U, D, R, R, R, U
    actions = [RIGHT, UP, DOWN, RIGHT, RIGHT, RIGHT, UP]
    for a in actions:
        obs, rew, term, trunc, info = envs.step(np.array([a, LEFT]))
    assert rew.tolist() == [1.0, 0.0] and term.tolist() == [True, False]
    assert info["success"].tolist() == [True, False]


def test_maze_goal_reward_and_termination():
    env = make("maze_goal", layout="square", goal=(6.5, 7.5), goal_radius=0.6)
    env.reset()
    _, r, term, _, info = env.step(np.array([0.0, 1.0]))  # y 5.5 -> 6.0: 1.5 from the goal
    assert r == 0.0 and not term and not info["success"]
    _, r, term, _, info = env.step(np.array([0.0, 1.0]))  # y 6.5 -> 1.0 away
    _, r, term, _, info = env.step(np.array([0.0, 1.0]))  # y 7.0 -> 0.5 away: inside
    assert r == 1.0 and term and info["success"]
    with pytest.raises(ValueError, match="free"):
        make("maze_goal", goal=(0.5, 0.5))  # a wall cell
