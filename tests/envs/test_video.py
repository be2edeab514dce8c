"""Videos of skills (rlinfo/evaluation/video.py): a real headless render to mp4, tiling, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rlinfo.evaluation import video
from rlinfo.evaluation.video import (
    RenderingUnavailable,
    grid_columns,
    select_gl_backend,
    skill_label,
    skill_videos,
    tile,
)

RENDER = """
import json, sys
import numpy as np
from rlinfo.evaluation.video import select_gl_backend, skill_videos
backend = select_gl_backend()  # before MuJoCo is imported
from rlinfo.envs import make, make_vec
import imageio.v2 as iio
out = {"backend": backend}
policy = lambda obs, z: np.tile(z[:, :1], (1, 8))  # skill k: every joint at torque z_0
ant = make_vec("ant", 2, seed=0, max_episode_steps=50)
paths = skill_videos(ant, policy, np.array([[1.0, 0.0], [-1.0, 0.0]]), 6, 0, sys.argv[1] + "/ant", every=2,
                     per_skill=True, width=64, height=48)
ant.close()
walker = make("dmc:walker-walk")
paths += skill_videos(walker, lambda o, z: np.zeros((1, 6)), np.zeros((1, 2)), 3, 0, sys.argv[1] + "/dmc",
                      width=64, height=48)
walker.close()
table = make("tabletop")
paths += skill_videos(table, lambda o, z: np.ones((1, 2)), np.zeros((1, 2)), 2, 0, sys.argv[1] + "/tabletop",
                      width=64, height=48)
table.close()
for p in paths:
    frames = [f for f in iio.get_reader(p)]
    last = frames[-1]
    out[p.parent.name + "/" + p.name] = [len(frames), list(frames[0].shape), float(np.std(last)),
                                         float(np.mean(last))]
print(json.dumps(out))
"""


def test_ant_and_dm_control_render_to_mp4(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] in ("egl", "osmesa")
    # 6 steps rendered every 2nd: states 0, 2, 4, 6 → 4 frames; two 64x48 skills side by side in the grid
    assert out["ant/grid.mp4"][:2] == [4, [48, 128, 3]]
    assert out["ant/skill_0.mp4"][:2] == out["ant/skill_1.mp4"][:2] == [4, [48, 64, 3]]
    assert out["dmc/grid.mp4"][:2] == [3, [48, 64, 3]]  # 3 steps every 2nd: states 0, 2 and the last, 3
    assert all(v[2] > 5.0 for k, v in out.items() if k != "backend")  # real images, not blank frames
    assert out["tabletop/grid.mp4"][3] > 60  # lit (mean brightness 37 of 255 before the scene had a light)


def test_tile_places_skill_i_at_row_i_div_cols() -> None:
    frames = [np.full((2, 3, 3), i, dtype=np.uint8) for i in range(1, 7)]
    grid = tile(frames, cols=3)
    assert grid.shape == (4, 9, 3)
    assert grid[0, 0, 0] == 1 and grid[0, 3, 0] == 2 and grid[0, 6, 0] == 3
    assert grid[2, 0, 0] == 4 and grid[2, 3, 0] == 5 and grid[2, 6, 0] == 6


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (6, (2, 3)),
                                          (7, (1, 7)), (9, (3, 3)), (12, (3, 4)), (16, (4, 4))])  # fmt: skip
def test_the_grid_has_no_empty_tile(n, shape) -> None:
    cols = grid_columns(n)
    assert (n // cols, cols) == shape and n % cols == 0


def test_each_tile_is_labelled_with_its_skill() -> None:
    from PIL import Image, ImageDraw

    frames = [np.full((40, 120, 3), 90, dtype=np.uint8) for _ in range(3)]
    centred = np.array([1.0] + [-1 / 15] * 15)  # METRA's zero-centred one-hot of skill 0
    labels = [skill_label(z) for z in (np.eye(16)[5], np.array([0.7071, -0.7071]), centred)]
    assert labels == ["skill 5", "z = (0.71, -0.71)", "skill 0"]
    grid = tile(frames, grid_columns(3), labels)
    for i, text in enumerate(labels):
        cell = grid[:, i * 120 : (i + 1) * 120]
        expected = Image.fromarray(np.full((40, 120, 3), 90, dtype=np.uint8))
        draw = ImageDraw.Draw(expected)
        box = draw.textbbox((3, 2), text)
        assert (cell[box[1] : box[3], box[0] : box[2]] > 200).any()  # white text drawn there
        assert (cell[30:, :] == 90).all()  # the rest of the frame untouched


def test_env_without_mujoco_scene_is_a_one_line_error(tmp_path) -> None:
    from rlinfo.envs import make

    with pytest.raises(ValueError, match="videos need a MuJoCo env") as e:
        skill_videos(make("maze:square"), lambda o, z: np.zeros((1, 2)), np.zeros((1, 2)), 2, 0, tmp_path)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="even"):
        skill_videos(make("maze:square"), lambda o, z: o, np.zeros((1, 2)), 2, 0, tmp_path, width=65)


def test_no_backend_names_the_package_to_install(monkeypatch) -> None:
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(video, "BACKENDS", ("no-such-backend",))
    with pytest.raises(RenderingUnavailable) as e:
        select_gl_backend()
    assert "apt-get install" in str(e.value) and "libosmesa6" in str(e.value) and "\n" not in str(e.value)
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert select_gl_backend() == "osmesa"  # a user's choice is kept


def test_periodic_skill_videos_reach_tensorboard(tmp_path) -> None:
    """``eval.tensorboard_video=N``: every evaluation logs the first N skills as one animated GIF."""
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    args = ["metra_half_cheetah", "total_steps=600", "train.learning_starts=200", "env.num_envs=2",
            "train.rollout_steps=100", "train.grad_steps=2", "agent.hidden_dim=32",
            "reward.params.hidden_dim=32", "train.eval_every=400", "eval.num_rollouts=2", "eval.max_steps=20",
            "eval.tensorboard_video=3", f"run_root={tmp_path}", "run_name=v", "train.progress=false"]
    cmd = [sys.executable, "-m", "rlinfo.run.cli", "train", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = EventAccumulator(str(tmp_path / "v"), size_guidance={"images": 0})
    events.Reload()
    images = events.Images("eval/skills_video")
    assert [im.step for im in images] == [400, 600]  # the periodic evaluation and the final one
    gif = Image.open(io.BytesIO(images[-1].encoded_image_string))
    assert gif.format == "GIF" and gif.n_frames == 6  # states 0, 4, ..., 20 of the 20-step rollouts
    assert gif.size == (3 * 96, 72)  # 3 skills tiled 1 x 3: no empty tile


def test_periodic_videos_of_an_env_that_does_not_render_are_refused_before_the_run(tmp_path) -> None:
    from rlinfo.run.cli import main

    assert main(["train", "eval.tensorboard_video=4", f"run_root={tmp_path}"]) == 2
    assert not any(tmp_path.iterdir())  # nothing written
