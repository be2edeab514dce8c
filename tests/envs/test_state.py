"""A vector env's mid-episode state saved and restored into a fresh env continues bit-identically
(observations, rewards, terminations, truncations), time limits and env counters included."""

from __future__ import annotations

import numpy as np
import pytest

from rlinfo.envs import make_vec
from rlinfo.envs.state import get_state, set_state


@pytest.mark.parametrize("name", ["ant", "half_cheetah", "tabletop", "gym:CartPole-v1", "gym:Pendulum-v1",
                                  "maze:square"])  # fmt: skip
def test_restored_env_continues_exactly(name):
    a, b = make_vec(name, num_envs=2, seed=0), make_vec(name, num_envs=2, seed=123)
    try:
        actions = [a.action_space.sample() for _ in range(130)]
        for action in actions[:7]:  # mid-episode
            a.step(action)
        arrays, meta = get_state(a)
        set_state(b, {k: v.copy() for k, v in arrays.items()}, meta)
        for action in actions[7:]:  # past tabletop's 100-step episode end, CartPole's falls
            out_a, out_b = a.step(action), b.step(action)
            for x, y in zip(out_a[:4], out_b[:4], strict=True):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    finally:
        a.close()
        b.close()


def test_an_env_without_saveable_state_says_so():
    envs = make_vec("dmc:point_mass-easy", num_envs=1, seed=0)
    try:
        assert get_state(envs) is None  # dm_control: a resume starts new episodes (and says so)
    finally:
        envs.close()
