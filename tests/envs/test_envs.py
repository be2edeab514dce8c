"""Tests for rlinfo.envs: point mazes, registry, MuJoCo locomotion and the dm_control adapter."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rlinfo.envs import (
    LayoutError,
    MazeEnv,
    MazeLayout,
    MazeVectorEnv,
    list_envs,
    make,
    make_vec,
    maze_layout,
)
from rlinfo.envs.maze import EPS

CORRIDOR_ROOM = """
######
#....#
#S...#
######
"""


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch) -> None:
    """MuJoCo writes compiler warnings to ./MUJOCO_LOG.TXT; keep them out of the repository."""
    monkeypatch.chdir(tmp_path)


def run(env: gym.Env, actions: list) -> np.ndarray:
    """Step ``env`` with each action; return the observations [T, 2]."""
    return np.stack([env.step(np.asarray(a, dtype=np.float32))[0] for a in actions])


# ---------------------------------------------------------------------------- maze layouts
def test_layout_orientation_free_cells_and_start() -> None:
    lay = MazeLayout.from_text("#S.\n..#")
    assert (lay.width, lay.height, lay.free_cells) == (3, 2, 4)
    # y grows upward: the first text line is the top row (iy = 1)
    assert lay.walls[1, 0] and lay.walls[0, 2] and not lay.walls[1, 1]
    np.testing.assert_array_equal(lay.start, [1.5, 1.5])
    assert lay.start_cell == (1, 1)
    assert MazeLayout.load("square").free_cells == 100


def test_custom_layout_from_string_and_file(tmp_path) -> None:
    f = tmp_path / "room.txt"
    f.write_text(CORRIDOR_ROOM.strip() + "\n")
    for spec in (CORRIDOR_ROOM, str(f), f):
        env = make("maze:custom", layout=spec)
        assert env.layout.free_cells == 8
        obs, info = env.reset(seed=0)
        np.testing.assert_array_equal(obs, [1.5, 1.5])
        np.testing.assert_array_equal(info["xy"], obs)
    assert make("maze:custom", layout=str(f)).layout.name == "room"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("#S.#\n#..", "ragged rows, line 2 has 3"),
        ("#S.#\n#.x#", "unknown character 'x' at line 2, column 3"),
        ("#..#\n#..#", "exactly one start 'S', found 0"),
        ("#SS#", "exactly one start 'S', found 2"),
        ("/no/such/maze.txt", "file not found"),
        ("   ", "empty"),
    ],
)
def test_malformed_layouts_fail_with_one_line(text: str, phrase: str) -> None:
    with pytest.raises(LayoutError, match=phrase) as err:
        make("maze:custom", layout=text)
    assert isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)


def test_builtin_layout_sizes() -> None:
    sizes = {n: make(n).layout.free_cells for n in ("maze:square", "maze:tree", "maze:corridor")}
    assert sizes == {"maze:square": 100, "maze:tree": 62, "maze:corridor": 80}
    assert make("maze:square_tree").layout.name == "tree"


def test_draw_walls_in_env_coordinates() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lay = make("maze:tree").layout
    fig, ax = plt.subplots()
    lay.draw(ax)
    (coll,) = ax.collections
    boxes = np.array([np.r_[p.vertices.min(0), p.vertices.max(0)] for p in coll.get_paths()])
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum()
    assert area == lay.walls.sum() and len(boxes) < lay.walls.sum()  # horizontal runs are merged
    # every rectangle covers wall cells only (cells indexed by floor of its centre)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert lay.walls[np.floor(centres[:, 1]).astype(int), np.floor(boxes[:, 0]).astype(int)].all()
    assert ax.get_xlim() == (0, lay.width) and ax.get_ylim() == (0, lay.height)
    plt.close(fig)


# ---------------------------------------------------------------------------- maze dynamics
def test_walls_block_motion_and_point_slides_along_wall() -> None:
    env = make("maze:custom", layout=CORRIDOR_ROOM, max_episode_steps=1000)
    env.reset(seed=0)
    # push down-right: the floor (y = 1) blocks y, x keeps moving by max_step = 0.5 per step
    obs = run(env, [(1, -1)] * 2)
    np.testing.assert_allclose(obs, [[2.0, 1.0 + EPS], [2.5, 1.0 + EPS]], atol=1e-6)
    # keep pushing: stops just short of the right wall (x = 5)
    obs = run(env, [(1, -1)] * 10)
    np.testing.assert_allclose(obs[-1], [5.0 - EPS, 1.0 + EPS], atol=1e-6)
    obs = run(env, [(1, 1)] * 10)  # slide up along the right wall to the ceiling (y = 3)
    np.testing.assert_allclose(obs[-1], [5.0 - EPS, 3.0 - EPS], atol=1e-6)
    assert env.layout.is_free(obs).all()


def test_no_corner_cutting_and_grid_edge_is_a_wall() -> None:
    # two free cells touching only diagonally: the point can never cross
    env = make("maze:custom", layout="####\n#.##\n##S#\n####", max_episode_steps=1000)
    env.reset()
    obs = run(env, [(-1, 1)] * 20 + [(-1, 0.3)] * 20 + [(-0.3, 1)] * 20)
    assert (np.floor(obs) == [2, 1]).all()
    # no border walls: the grid boundary still confines the point
    env = make("maze:custom", layout="S..", max_episode_steps=1000)
    env.reset()
    obs = run(env, [(-1, -1)] * 5 + [(1, 1)] * 10)
    assert (obs >= 0).all() and (obs[:, 0] < 3).all() and (obs[:, 1] < 1).all()


@pytest.mark.parametrize("substeps", [1, 3])
def test_random_motion_never_enters_walls(substeps: int) -> None:
    env = make_vec("maze:tree", 32, seed=0, max_episode_steps=10_000, max_step=0.9, substeps=substeps)
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs, *_ = env.step(rng.uniform(-3, 3, size=(32, 2)))
        assert env.layout.is_free(obs).all()
    assert env.layout.visited_cells(obs) > 1  # it does move


def test_vector_maze_matches_single_envs() -> None:
    kw = {"layout": "tree", "max_episode_steps": 7, "max_step": 0.3}
    vec = MazeVectorEnv(5, **kw)
    ref = SyncVectorEnv([lambda: MazeEnv(**kw) for _ in range(5)], autoreset_mode=AutoresetMode.NEXT_STEP)
    singles = [MazeEnv(**kw) for _ in range(5)]
    o1, _ = vec.reset(seed=1)
    o2, _ = ref.reset(seed=1)
    np.testing.assert_array_equal(o1, o2)
    for s in singles:
        s.reset()
    rng = np.random.default_rng(0)
    for t in range(40):
        if t == 10:  # partial reset desynchronises the episode clocks
            mask = np.array([True, False, True, False, False])
            o1, _ = vec.reset(options={"reset_mask": mask})
            o2, _ = ref.reset(options={"reset_mask": mask.copy()})
            np.testing.assert_array_equal(o1, o2)
        a = rng.uniform(-1.5, 1.5, size=(5, 2)).astype(np.float32)
        r1, r2 = vec.step(a), ref.step(a)
        for x, y in zip(r1[:4], r2[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(r1[4]["xy"], r2[4]["xy"])
        if t < 7:  # before any autoreset the plain single envs agree too
            np.testing.assert_array_equal(r1[0], np.stack([s.step(a[i])[0] for i, s in enumerate(singles)]))


def test_next_step_autoreset() -> None:
    env = make_vec("maze:square", 3, max_episode_steps=4)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    start, info = env.reset(seed=0)
    assert info["xy"].shape == (3, 2)
    for t in range(4):
        obs, rew, term, trunc, info = env.step(np.ones((3, 2)))
        assert not term.any() and trunc.all() == (t == 3)
    assert not np.allclose(obs, start)
    obs, rew, term, trunc, info = env.step(np.ones((3, 2)))  # the reset step ignores the action
    np.testing.assert_array_equal(obs, start)
    np.testing.assert_array_equal(info["xy"], start)
    assert (rew == 0).all() and not term.any() and not trunc.any()
    obs, *_ = env.step(np.ones((3, 2)))
    np.testing.assert_allclose(obs, start + 0.5)


def test_single_maze_truncates_and_rejects_bad_actions() -> None:
    env = make("maze:corridor", max_episode_steps=3)
    env.reset()
    flags = [env.step(np.zeros(2))[3] for _ in range(3)]
    assert flags == [False, False, True]
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        make_vec("maze:corridor", 4).step(np.zeros((3, 2)))


def test_maze_seeding_is_deterministic() -> None:
    env = make("maze:square", start_noise=0.3)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and np.abs(a - env.layout.start).max() <= 0.3
    v1 = make_vec("maze:square", 8, seed=3, start_noise=0.3)
    v2 = make_vec("maze:square", 8, seed=3, start_noise=0.3)
    acts = np.random.default_rng(0).uniform(-1, 1, size=(60, 8, 2))
    np.testing.assert_array_equal(run(v1, acts), run(v2, acts))  # includes an autoreset with noise
    o1, _ = v1.reset(seed=9)
    o2, _ = v2.reset(seed=9)
    np.testing.assert_array_equal(o1, o2)
    assert len(np.unique(o1, axis=0)) == 8


def test_straight_lines_cover_far_more_than_random_walks() -> None:
    # the design target of the built-in layouts at their default horizon (METRA-like skills vs noise)
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    lines = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for name in ("maze:square", "maze:tree", "maze:corridor"):
        env = make_vec(name, 48, seed=0)
        start, _ = env.reset()
        horizon = env.max_episode_steps
        straight = np.concatenate([start[None], run(env, [lines] * (horizon - 1))])
        env.reset()
        walk = np.concatenate([start[None], run(env, list(rng.uniform(-1, 1, (horizon - 1, 48, 2))))])
        assert env.layout.coverage(straight) > 2 * env.layout.coverage(walk), name


def test_maze_layout_helper() -> None:
    single = make("maze:tree")
    vec = make_vec("maze:tree", 2)
    assert maze_layout(single) is single.layout
    assert maze_layout(gym.wrappers.TimeLimit(single, 10)) is single.layout
    assert maze_layout(gym.wrappers.vector.RecordEpisodeStatistics(vec)) is vec.layout
    sync = SyncVectorEnv([lambda: MazeEnv("corridor")])
    assert maze_layout(sync).name == "corridor"
    assert maze_layout(gym.make("CartPole-v1")) is None


# ---------------------------------------------------------------------------- registry
def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="did you mean 'maze:tree'") as err:
        make("maze:tre")
    msg = str(err.value)
    assert "\n" not in msg and all(n in msg for n in list_envs())
    with pytest.raises(ValueError, match="did you mean 'dmc:walker-walk'"):
        make("dmc:walker-wlak")
    with pytest.raises(ValueError, match="unknown environment"):
        make_vec("pong", 2)


def test_bad_kwargs_are_one_line_errors() -> None:
    with pytest.raises(TypeError, match="did you mean 'max_step'"):
        make("maze:square", max_stepp=0.3)
    with pytest.raises(TypeError, match="maze:custom"):
        make("maze:square", layout="S..")
    with pytest.raises(TypeError, match="needs layout"):
        make("maze:custom")
    with pytest.raises(ValueError, match="max_step"):
        make("maze:square", max_step=1.5)  # would jump over 1-cell walls
    with pytest.raises(TypeError, match="did you mean 'ctrl_cost_weight'"):
        make("ant", ctrl_cost=0.1)
    with pytest.raises(ValueError, match="num_envs"):
        make_vec("maze:square", 0)


def test_import_is_lazy() -> None:
    code = "import sys, rlinfo.envs; print(any(m in sys.modules for m in ('mujoco', 'dm_control')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- MuJoCo locomotion
def test_ant_metra_observation_and_time_limit() -> None:
    env = make("ant")
    obs, info = env.reset(seed=0)
    assert obs.shape == (29,) and env.observation_space.shape == (29,)
    np.testing.assert_array_equal(obs[:2], info["xy"])
    rng = np.random.default_rng(0)
    for t in range(200):
        obs, _, term, trunc, info = env.step(rng.uniform(-1, 1, 8))
        assert not term and trunc == (t == 199)
    np.testing.assert_array_equal(obs[:2], info["xy"])
    assert np.abs(info["xy"]).max() > 0.05  # x, y move with the torso


def test_half_cheetah_includes_x() -> None:
    env = make("half_cheetah", max_episode_steps=20)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (18,)
    for _ in range(20):
        obs, _, _, trunc, info = env.step(np.ones(6))
    assert trunc and info["xy"][1] == 0 and obs[0] == info["xy"][0] != 0


def test_make_vec_sync_for_mujoco() -> None:
    env = make_vec("half_cheetah", 2, seed=0, max_episode_steps=2)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    for _ in range(2):
        *_, trunc, info = env.step(np.zeros((2, 6)))
    assert trunc.all() and info["xy"].shape == (2, 2)
    _, rew, _, trunc, _ = env.step(np.zeros((2, 6)))
    assert (rew == 0).all() and not trunc.any()


# ---------------------------------------------------------------------------- dm_control
def test_dmc_walker_flat_obs_truncation_and_seeding() -> None:
    env = make("dmc:walker-walk", max_episode_steps=5)
    spec = env.unwrapped.dm_env.observation_spec()
    dim = sum(int(np.prod(s.shape)) for s in spec.values())
    obs, info = env.reset(seed=3)
    assert obs.shape == (dim,) == env.observation_space.shape and obs.dtype == np.float32
    assert env.action_space.shape == (6,) and info["xy"].shape == (2,)
    actions = np.random.default_rng(0).uniform(-1, 1, (5, 6))
    flags = [env.step(a)[2:4] for a in actions]
    assert flags == [(False, False)] * 4 + [(False, True)]
    traj = []
    for _ in range(2):
        traj.append([env.reset(seed=3)[0]] + [env.step(a)[0] for a in actions])
    np.testing.assert_array_equal(np.stack(traj[0]), np.stack(traj[1]))
    assert not np.array_equal(env.reset(seed=4)[0], traj[0][0])
    _, _, _, _, info = env.step(np.ones(6))
    assert info["xy"][0] != 0 and info["xy"][1] == 0  # walker is planar: (x, 0)


def test_dmc_default_time_limit_is_truncation() -> None:
    env = make("dmc:cheetah-run", time_limit=0.05)  # 5 control steps of 0.01 s
    env.reset(seed=0)
    out = [env.step(np.zeros(6))[2:4] for _ in range(5)]
    assert out[-1] == (False, True) and not any(any(o) for o in out[:-1])
