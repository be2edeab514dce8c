"""URLB tasks (envs/urlb.py): rewards against formulas written here from raw MuJoCo data, episode lengths,
shapes, seeding, names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlinfo.envs import list_envs, make, make_vec
from rlinfo.envs.state import get_state
from rlinfo.envs.urlb import PRETRAIN_TASKS, URLB_NAMES, URLB_TASKS

pytest.importorskip("dm_control")
mujoco = pytest.importorskip("mujoco")

N_STATES = 1000
SHAPES = {"walker": (24, 6), "quadruped": (78, 12), "jaco": (55, 9)}  # URLB's state obs / action dims
STEPS = {"walker": 1000, "quadruped": 1000, "jaco": 250}
GAUSS = math.sqrt(-2 * math.log(0.1))  # dm_control's gaussian: value 0.1 at one margin


# ------------------------------------------------------------------ URLB's rewards from raw MuJoCo data
def above_linear(x: float, lower: float, margin: float, at_margin: float) -> float:
    """1 for x >= lower, falling linearly to ``at_margin`` at lower - margin, then on to 0."""
    d = max(lower - x, 0.0) / margin * (1 - at_margin)
    return 1.0 - d if d < 1 else 0.0


def gaussian_tail(distance_outside: float, margin: float) -> float:
    """1 inside the bounds; exp(-(d · s)² / 2) outside, s such that the value is 0.1 at d = margin."""
    return math.exp(-0.5 * (max(distance_outside, 0.0) / margin * GAUSS) ** 2)


def raw(env):
    physics = env.unwrapped.physics
    return physics, physics.model.ptr, physics.data.ptr


def body(m, name: str) -> int:
    return mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name)


def task_reward(env) -> float:
    return float(env.unwrapped.dm_env.task.get_reward(env.unwrapped.physics))


def walker_flip_formula(m, d) -> float:
    t = body(m, "torso")
    stand = (3 * gaussian_tail(1.2 - d.xpos[t, 2], 0.6) + (1 + d.xmat[t, 8]) / 2) / 4
    spin = above_linear(d.subtree_angmom[t, 1], 5.0, 5.0, 0.0)
    return stand * (5 * spin + 1) / 6


def com_height(m, d) -> float:
    """Mass-weighted height of every body under the torso (the whole quadruped)."""
    under = m.body_rootid == body(m, "torso")
    return float(m.body_mass[under] @ d.xipos[under, 2] / m.body_mass[under].sum())


def quadruped_formula(task: str, m, d) -> float:
    upright = above_linear(d.xmat[body(m, "torso"), 8], 1.0, 2.0, 0.0)
    return upright if task == "stand" else upright * above_linear(com_height(m, d), 1.0, 1.0, 0.5)


def jaco_formula(m, d) -> float:
    hand = d.site_xpos[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "jaco_arm/jaco_hand/pinchsite")]
    brick = d.xpos[body(m, "duplo2x4/")]
    return gaussian_tail(float(np.linalg.norm(hand - brick)) - 0.05, 0.05)


# ---------------------------------------------------------------------------- (a) rewards on 1,000 states
def check_rewards(env, set_state, formula, probe, n: int = N_STATES) -> tuple[np.ndarray, np.ndarray]:
    """Set ``n`` seeded states, compare the task's reward with ``formula``; then 30 random steps, compare
    each step's reward with ``formula`` of the data after it. Returns the rewards and ``probe`` (the
    quantity whose branches the states should cover) of the ``n`` states."""
    env.reset(seed=0)
    _, m, d = raw(env)  # after the reset: a composer env (jaco) compiles a new physics every episode
    rng = np.random.default_rng(0)
    rewards, probes = np.empty(n), []
    for i in range(n):
        set_state(rng, m, d)
        mujoco.mj_forward(m, d)
        rewards[i] = task_reward(env)
        assert rewards[i] == pytest.approx(formula(m, d), abs=1e-6)
        probes.append(probe(m, d))
    env.reset(seed=1)
    _, m, d = raw(env)
    for _ in range(30):
        reward = env.step(rng.uniform(-1, 1, env.action_space.shape))[1]
        assert reward == pytest.approx(formula(m, d), abs=1e-6)
    return rewards, np.array(probes)


def hinges_in_range(rng, m, d) -> None:
    """Every hinge uniform in its range (unlimited ones in [-π, π])."""
    for j in range(m.njnt):
        if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE:
            lo, hi = m.jnt_range[j] if m.jnt_limited[j] else (-np.pi, np.pi)
            d.qpos[m.jnt_qposadr[j]] = rng.uniform(lo, hi)


def covers(values: np.ndarray, *edges: float) -> bool:
    """At least 5% of ``values`` in each interval that ``edges`` cut the line into."""
    bins = np.digitize(values, edges)
    return all((bins == k).mean() > 0.05 for k in range(len(edges) + 1))


def test_walker_flip_reward() -> None:
    env = make("urlb:walker_flip")

    def set_state(rng, m, d):
        hinges_in_range(rng, m, d)
        d.qpos[:3] = rng.uniform([-0.9, -2, -np.pi], [0.5, 2, np.pi])  # rootz, rootx, rooty
        d.qvel[:] = rng.normal(0, 3, m.nv)

    def probe(m, d):
        t = body(m, "torso")
        return d.subtree_angmom[t, 1], d.xpos[t, 2], d.xmat[t, 8]

    rewards, probes = check_rewards(env, set_state, walker_flip_formula, probe)
    assert covers(probes[:, 0], 0, 5) and covers(probes[:, 1], 1.2) and covers(probes[:, 2], 0)


@pytest.mark.parametrize("task", ["stand", "jump"])
def test_quadruped_rewards(task: str) -> None:
    env = make(f"urlb:quadruped_{task}")

    def set_state(rng, m, d):
        d.qpos[:3] = rng.uniform([-1, -1, -1.5], [1, 1, 2])
        quat = rng.normal(size=4)
        d.qpos[3:7] = quat / np.linalg.norm(quat)
        hinges_in_range(rng, m, d)
        d.qvel[:] = rng.normal(0, 1, m.nv)

    def probe(m, d):
        return d.xmat[body(m, "torso"), 8], com_height(m, d)

    rewards, probes = check_rewards(env, set_state, lambda m, d: quadruped_formula(task, m, d), probe)
    assert covers(probes[:, 0], 0) and covers(probes[:, 1], -1, 1)


@pytest.mark.parametrize("name", URLB_TASKS["jaco"])
def test_jaco_reach_reward_and_target(name: str) -> None:
    env = make(f"urlb:{name}")
    corner = np.array([-0.09 if "left" in name else 0.09, 0.09 if "top" in name else -0.09])
    for seed in range(3):  # the brick starts on the table at its corner (settled, random yaw)
        env.reset(seed=seed)
        _, m, d = raw(env)
        brick = body(m, "duplo2x4/")
        np.testing.assert_allclose(d.xpos[brick, :2], corner, atol=2e-3)
        assert abs(d.xpos[brick, 2]) < 2e-3
    free = m.jnt_qposadr[m.body_jntadr[brick]]
    pinch = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "jaco_arm/jaco_hand/pinchsite")

    def set_state(rng, m, d):
        hinges_in_range(rng, m, d)
        mujoco.mj_kinematics(m, d)  # where the hand is, then the brick near it
        direction = rng.normal(size=3)
        offset = direction / np.linalg.norm(direction) * rng.uniform(0, 0.15)  # distance uniform on [0, 0.15]
        d.qpos[free : free + 3] = d.site_xpos[pinch] + offset
        d.qpos[free + 3 : free + 7] = (1, 0, 0, 0)
        d.qvel[:] = rng.normal(0, 0.5, m.nv)

    def probe(m, d):
        return np.linalg.norm(d.site_xpos[pinch] - d.xpos[brick])

    n = N_STATES if name == "jaco_reach_top_left" else 100  # the corners differ only in the brick's start
    _, distance = check_rewards(env, set_state, jaco_formula, probe, n)
    assert covers(distance, 0.05, 0.1)


# ---------------------------------------------------------------------------- (b) episode lengths
@pytest.mark.parametrize("name", URLB_NAMES)
def test_episode_length_and_truncation(name: str) -> None:
    env = make(name)
    domain = name[5:].partition("_")[0]
    env.reset(seed=0)
    zeros = np.zeros(env.action_space.shape, dtype=np.float32)
    flags = [env.step(zeros)[2:4] for _ in range(STEPS[domain])]
    assert flags[-1] == (False, True) and not any(any(f) for f in flags[:-1])  # never terminates


def test_episode_length_overrides() -> None:
    env = make("urlb:walker_flip", max_episode_steps=5)  # the dm_control limit is lifted, ours truncates
    env.reset(seed=0)
    assert [env.step(np.zeros(6))[3] for _ in range(5)] == [False] * 4 + [True]
    env = make("urlb:jaco_reach_top_left", time_limit=0.2)  # 5 control steps of 0.04 s
    env.reset(seed=0)
    assert [env.step(np.zeros(9))[3] for _ in range(5)] == [False] * 4 + [True]
    with pytest.raises(ValueError, match="max_episode_steps"):
        make("urlb:quadruped_jump", max_episode_steps=0)


# ---------------------------------------------------------------------------- (c) shapes, spaces, seeding
def test_task_lists() -> None:
    assert list(URLB_TASKS) == ["walker", "quadruped", "jaco"]
    assert [len(t) for t in URLB_TASKS.values()] == [4, 4, 4] and len(URLB_NAMES) == 12
    assert PRETRAIN_TASKS == {
        "walker": "walker_stand",
        "quadruped": "quadruped_walk",
        "jaco": "jaco_reach_top_left",
    }
    assert all(PRETRAIN_TASKS[d] in URLB_TASKS[d] for d in URLB_TASKS)
    assert set(URLB_NAMES) <= set(list_envs())


@pytest.mark.parametrize("name", URLB_NAMES)
def test_shapes_and_seeding(name: str) -> None:
    env = make(name)
    obs_dim, act_dim = SHAPES[name[5:].partition("_")[0]]
    assert env.observation_space.shape == (obs_dim,) and env.action_space.shape == (act_dim,)
    assert (env.action_space.low == -1).all() and (env.action_space.high == 1).all()  # as URLB rescales
    first, info = env.reset(seed=7)
    assert first.shape == (obs_dim,) and first.dtype == np.float32 and info["xy"].shape == (2,)
    obs, reward, *_ = env.step(np.full(act_dim, 0.5, dtype=np.float32))
    assert obs.shape == (obs_dim,) and 0 <= reward <= 1
    np.testing.assert_array_equal(env.reset(seed=7)[0], first)


def test_suite_tasks_equal_dmc_up_to_the_action_scale() -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, (20, 12))
    for urlb, dmc in (("urlb:walker_run", "dmc:walker-run"), ("urlb:quadruped_walk", "dmc:quadruped-walk")):
        a, b = make(urlb), make(dmc)
        spec = b.unwrapped.dm_env.action_spec()
        low, high = spec.minimum * np.ones(spec.shape), spec.maximum * np.ones(spec.shape)
        np.testing.assert_array_equal(a.reset(seed=3)[0], b.reset(seed=3)[0])
        for act in actions[:, : low.size]:
            out_a, out_b = a.step(act), b.step(low + (act + 1) * (high - low) / 2)  # URLB's [-1, 1] map
            np.testing.assert_array_equal(out_a[0], out_b[0])
            assert out_a[1:4] == out_b[1:4]


def test_custom_tasks_share_the_suite_model_start_and_observations() -> None:
    for urlb, dmc in (("urlb:walker_flip", "dmc:walker-walk"), ("urlb:quadruped_jump", "dmc:quadruped-walk")):
        a, b = make(urlb), make(dmc)
        np.testing.assert_array_equal(a.reset(seed=5)[0], b.reset(seed=5)[0])
        ma, mb = raw(a)[1], raw(b)[1]
        for field in ("geom_size", "geom_pos", "body_mass", "actuator_ctrlrange", "opt.timestep"):
            obj_a, obj_b = ma, mb
            for part in field.split("."):
                obj_a, obj_b = getattr(obj_a, part), getattr(obj_b, part)
            np.testing.assert_array_equal(obj_a, obj_b)
        assert a.unwrapped.dm_env.control_timestep() == b.unwrapped.dm_env.control_timestep()


def test_jaco_actions_map_onto_the_spec_and_xy_is_the_hand() -> None:
    env = make("urlb:jaco_reach_bottom_right")
    env.reset(seed=0)
    spec = env.unwrapped.dm_env.action_spec()
    _, _, _, _, info = env.step(np.ones(9))
    physics, m, d = raw(env)
    np.testing.assert_allclose(d.ctrl, spec.maximum)
    env.step(np.full(9, -3.0))  # clipped to -1 first
    np.testing.assert_allclose(d.ctrl, spec.minimum)
    pinch = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "jaco_arm/jaco_hand/pinchsite")
    np.testing.assert_array_equal(env.step(np.zeros(9))[4]["xy"], d.site_xpos[pinch, :2])


def test_state_is_not_saved() -> None:
    envs = make_vec("urlb:walker_flip", num_envs=1, seed=0)
    try:
        assert get_state(envs) is None  # dm_control: a resume starts new episodes, as for dmc:*
    finally:
        envs.close()


# ---------------------------------------------------------------------------- (d) names
def test_unknown_names_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="did you mean 'urlb:walker_flip'") as err:
        make("urlb:walker_flp")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="did you mean 'urlb:jaco_reach_top_left'") as err:
        make("urlb:jaco_reach_topleft")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown URLB task 'urlb:cheetah_run'"):
        make("urlb:cheetah_run")
    with pytest.raises(TypeError, match="did you mean 'max_episode_steps'"):
        make("urlb:walker_flip", max_episode_step=3)
