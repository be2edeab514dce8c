"""The preset observation normaliser (envs/normalize.py): wrapper, statistics, kwargs, goals, runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlinfo.envs import make, make_vec
from rlinfo.envs.normalize import EPS, find_obs_normalizer, freeze_obs_stats, preset_stats
from rlinfo.envs.obs_stats import compute_obs_stats
from rlinfo.evaluation.goals import goal_normalizer, goal_reaching


def test_wrapper_is_the_affine_map_of_the_raw_observation_and_keeps_world_xy() -> None:
    mean, std = np.arange(29) * 0.1, np.full(29, 2.0)
    raw, norm = make("ant"), make("ant", normalize_obs=True, obs_mean=mean.tolist(), obs_std=std.tolist())
    o_raw, i_raw = raw.reset(seed=3)
    o_norm, i_norm = norm.reset(seed=3)
    np.testing.assert_allclose(o_norm, (o_raw - mean) / (2.0 + EPS), rtol=1e-12)
    a = np.full(8, 0.5, dtype=np.float32)
    for _ in range(3):
        o_raw, *_, i_raw = raw.step(a)
        o_norm, *_, i_norm = norm.step(a)
    np.testing.assert_allclose(o_norm, (o_raw - mean) / (2.0 + EPS), rtol=1e-12)
    np.testing.assert_array_equal(i_norm["xy"], i_raw["xy"])  # coverage stays in world coordinates
    np.testing.assert_array_equal(i_norm["xy"], o_raw[:2])


def test_preset_is_on_only_when_asked_and_used_by_default() -> None:
    assert find_obs_normalizer(make("half_cheetah")) is None
    w = find_obs_normalizer(make_vec("half_cheetah", 2, seed=0, normalize_obs=True))
    assert w is not None and w.mean.shape == (18,)
    np.testing.assert_array_equal(w.mean, preset_stats("half_cheetah")["mean"])
    np.testing.assert_array_equal(w.std, preset_stats("half_cheetah")["std"])


def test_shipped_statistics_look_like_random_ant_rollouts() -> None:
    stats = preset_stats("ant")
    assert len(stats["mean"]) == len(stats["std"]) == 29
    small = compute_obs_stats("ant", num_rollouts=40, rollout_steps=50, seed=1)
    # torso height ~0.7 m; x, y spread well under a metre in 50 random steps; velocities of order 1–5
    assert 0.5 < stats["mean"][2] < 0.9 and 0.2 < stats["std"][0] < 1.5
    np.testing.assert_allclose(small["std"], stats["std"], rtol=0.5)


def test_compute_obs_stats_is_the_mean_and_std_of_all_rollout_observations() -> None:
    stats = compute_obs_stats("half_cheetah", num_rollouts=3, rollout_steps=4, seed=7)
    env = make("half_cheetah", max_episode_steps=4)
    rng = np.random.default_rng(7)
    rows = []
    for i in range(3):  # the same protocol written out: reset obs + 4 next observations per rollout
        obs, _ = env.reset(seed=7 if i == 0 else None)
        rows.append(obs)
        for _ in range(4):
            obs, *_ = env.step(rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32))
            rows.append(obs)
    x = np.stack(rows)
    assert x.shape == (15, 18)
    np.testing.assert_allclose(stats["mean"], x.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats["std"], x.std(axis=0), rtol=1e-8, atol=1e-12)
    assert compute_obs_stats("half_cheetah", num_rollouts=3, rollout_steps=4, seed=7) == stats


def test_freeze_writes_the_preset_numbers_into_the_kwargs() -> None:
    frozen = freeze_obs_stats("ant", {"normalize_obs": True, "max_episode_steps": 50})
    assert frozen["obs_mean"] == preset_stats("ant")["mean"] and frozen["max_episode_steps"] == 50
    assert freeze_obs_stats("ant", {"normalize_obs": False}) == {"normalize_obs": False}
    explicit = {"normalize_obs": True, "obs_mean": [0.0] * 29, "obs_std": [1.0] * 29}
    assert freeze_obs_stats("ant", explicit) == explicit
    a, b = make("ant", **frozen), make("ant", normalize_obs=True, max_episode_steps=50)
    np.testing.assert_array_equal(a.reset(seed=0)[0], b.reset(seed=0)[0])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"normalize_obs": "yes"}, "normalize_obs must be true or false"),
        ({"obs_mean": [0.0] * 18, "obs_std": [1.0] * 18}, "normalize_obs is false"),
        ({"normalize_obs": True, "obs_mean": [0.0] * 18}, "give both obs_mean and obs_std"),
        ({"normalize_obs": True, "obs_mean": [0.0] * 3, "obs_std": [1.0] * 3}, "need 18 numbers each"),
        ({"normalize_obs": True, "obs_mean": [0.0] * 18, "obs_std": [-1.0] * 18}, "finite and >= 0"),
        ({"normalize_ob": True}, "did you mean 'normalize_obs'"),
    ],
)
def test_bad_normaliser_kwargs_are_one_line_errors(kwargs, fragment) -> None:
    with pytest.raises((ValueError, TypeError)) as e:
        make("half_cheetah", **kwargs)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_goal_observation_is_normalised_like_the_observation() -> None:
    mean, std = [1.0, -2.0] + [0.0] * 27, [0.5, 4.0] + [1.0] * 27
    envs = make_vec("ant", 2, seed=0, normalize_obs=True, obs_mean=mean, obs_std=std, max_episode_steps=3)
    to_obs = goal_normalizer(envs)
    np.testing.assert_allclose(to_obs(np.array([[2.0, 2.0]])), [[1 / (0.5 + EPS), 4 / (4 + EPS)]])
    assert goal_normalizer(make_vec("ant", 1, seed=0, max_episode_steps=3)) is None

    seen = []

    class Module:  # records the goal observation it is given
        def skill_for_goal(self, s, g):
            seen.append(g[:, :2].clone())
            return torch.zeros(len(s), 2)

    class Agent:
        def act(self, x, deterministic):
            return torch.zeros(len(x), 8)

    result = goal_reaching(Agent(), Module(), envs, "ant", seed=0)
    expected = (np.asarray(result["goals"]) - [1.0, -2.0]) / (np.array([0.5, 4.0]) + EPS)
    np.testing.assert_allclose(seen[0].numpy(), expected, rtol=1e-6)


def test_frozen_statistics_survive_the_run_config_round_trip(tmp_path) -> None:
    """What eval and resume rebuild from: config.yaml with the frozen numbers gives the same ŝ."""
    from rlinfo.config import load_config, to_yaml

    cfg = load_config("metra_ant")
    assert cfg.env.kwargs == {"normalize_obs": True}  # the preset turns the normaliser on
    cfg.env.kwargs = freeze_obs_stats(cfg.env.name, dict(cfg.env.kwargs))  # at run start
    (tmp_path / "config.yaml").write_text(to_yaml(cfg))
    again = load_config(str(tmp_path / "config.yaml"))
    assert again.env.kwargs["obs_mean"] == preset_stats("ant")["mean"]  # floats exact through YAML
    assert again.env.kwargs["obs_std"] == preset_stats("ant")["std"]
    a = make_vec(again.env.name, 1, seed=5, **again.env.kwargs)
    b = make_vec("ant", 1, seed=5, normalize_obs=True)
    np.testing.assert_array_equal(a.reset(seed=5)[0], b.reset(seed=5)[0])
