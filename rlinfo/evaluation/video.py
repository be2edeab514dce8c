"""Videos of skills: render evaluation rollouts of a (vector) MuJoCo env to mp4 (imageio-ffmpeg).

    paths = skill_videos(envs, policy, skills, steps, seed, out_dir)   # grid.mp4 (+ skill_<i>.mp4)
    gif = grid_gif(envs, policy, skills, steps, seed)                   # the grid for TensorBoard

Every sub-env of ``envs`` (a gymnasium vector env, or one env) follows one skill; each step all
sub-envs are rendered and tiled into one grid frame (row-major, skill i at row i // cols, column
i % cols), written to ``grid.mp4``; ``per_skill=True`` also writes ``skill_<i>.mp4``. A sub-env whose
episode ends early keeps its last frame. The envs need no ``render_mode``: frames come straight from
the simulator state, so the vector env built for evaluation renders as it is.

- gymnasium MuJoCo envs (``ant``, ``half_cheetah``) and ``tabletop``: a ``mujoco.Renderer`` on the
  env's ``model``/``data``; locomotion uses a camera that tracks the torso (Ant from above at an
  angle, HalfCheetah from the side), tabletop a fixed top-down view;
- ``dmc:*``: ``physics.render`` with the task's camera 0 (the suite's tracking camera).

Headless rendering: :func:`select_gl_backend` keeps a user's ``MUJOCO_GL``, else picks the first of
EGL, OSMesa that can make an OpenGL context (probed in a subprocess, before MuJoCo is imported);
when neither works it raises :class:`RenderingUnavailable` with one line naming the system package.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlinfo.errors import RlinfoError
from rlinfo.files import atomic_path

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs [N, o], skills [N, d]) -> actions [N, a]
BACKENDS = ("egl", "osmesa")
RENDERED_ENVS = ("ant", "half_cheetah", "tabletop", "dmc:")  # names (prefixes) of the envs that render
INSTALL_HINT = "install one: apt-get install -y libegl1 libgl1 (EGL), or apt-get install -y libosmesa6"
# free camera tracking body 1 (the torso): distance, elevation, azimuth (degrees)
TRACKING_CAMERAS = {"ant": (7.0, -35.0, 90.0), "half_cheetah": (5.0, -10.0, 90.0)}
TABLETOP_CAMERA = ((0.0, 0.275, 0.0), 1.3, -89.0, 90.0)  # lookat, distance, elevation, azimuth
_PROBE = (
    "import os, sys; os.environ['MUJOCO_GL'] = os.environ['PYOPENGL_PLATFORM'] = sys.argv[1]; "
    "import mujoco; c = mujoco.GLContext(8, 8); c.make_current(); c.free()"
)


class RenderingUnavailable(RlinfoError, RuntimeError):
    """No headless OpenGL backend (EGL or OSMesa) can render on this machine."""


def renders(env_name: str) -> bool:
    """True for the envs :func:`frame_source` can render."""
    return env_name.startswith(RENDERED_ENVS)


def select_gl_backend(timeout: float = 60.0) -> str:
    """Choose and set ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) for offscreen rendering; return it.

    Call before MuJoCo or dm_control is imported. A ``MUJOCO_GL`` already set is kept.
    """
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        return chosen
    for backend in BACKENDS:
        env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
        try:
            probe = subprocess.run(
                [sys.executable, "-c", _PROBE, backend], env=env, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            continue
        if probe.returncode == 0:
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
    raise RenderingUnavailable(f"cannot render offscreen: neither EGL nor OSMesa works; {INSTALL_HINT}")


def _tracking_camera(mujoco: Any, spec: tuple[float, float, float]) -> Any:
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    cam.trackbodyid = 1
    cam.distance, cam.elevation, cam.azimuth = spec
    return cam


def _fixed_camera(mujoco: Any) -> Any:
    cam = mujoco.MjvCamera()
    lookat, cam.distance, cam.elevation, cam.azimuth = TABLETOP_CAMERA
    cam.lookat[:] = lookat
    return cam


def frame_source(env: Any, width: int, height: int) -> Callable[[], np.ndarray]:
    """A function returning the current RGB frame [height, width, 3] uint8 of one (wrapped) env."""
    base = getattr(env, "unwrapped", env)
    physics = getattr(base, "physics", None)
    if physics is not None and hasattr(physics, "render"):  # dm_control (envs/dmc.py)
        camera = int(getattr(base, "camera_id", 0))
        return lambda: np.asarray(physics.render(height=height, width=width, camera_id=camera))
    model, data = getattr(base, "model", None), getattr(base, "data", None)
    if model is None or data is None or type(model).__name__ != "MjModel":
        raise ValueError(
            f"cannot render {type(base).__name__}: videos need a MuJoCo env (ant, half_cheetah, "
            "tabletop, dmc:*)"
        )
    import mujoco

    name = type(base).__name__.lower()
    key = "half_cheetah" if "cheetah" in name else "ant" if "ant" in name else None
    camera = _tracking_camera(mujoco, TRACKING_CAMERAS[key]) if key else _fixed_camera(mujoco)
    try:
        renderer = mujoco.Renderer(model, height=height, width=width)
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0  # 5x faster in software GL
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
    except Exception as e:  # no GL context: the backend is missing or broken
        raise RenderingUnavailable(
            f"cannot render offscreen with MUJOCO_GL={os.environ.get('MUJOCO_GL', '(unset)')} "
            f"({type(e).__name__}); {INSTALL_HINT}"
        ) from None

    def render() -> np.ndarray:
        renderer.update_scene(data, camera=camera)
        return renderer.render().copy()

    render.close = renderer.close  # type: ignore[attr-defined]
    return render


def sub_envs(envs: Any) -> list[Any]:
    """The sub-envs of a gymnasium vector env, or ``[envs]`` for a single env."""
    return list(getattr(envs, "envs", [envs]))


def grid_columns(n: int) -> int:
    """Columns of the grid that tiles ``n`` skills with no empty cell: the smallest divisor of n that is
    at least √n (4 → 2 × 2, 3 → 1 × 3, 6 → 2 × 3, 7 → 1 × 7)."""
    return next(c for c in range(int(np.ceil(np.sqrt(n))), n + 1) if n % c == 0)


def is_one_hot(z: np.ndarray) -> bool:
    """A (possibly zero-centred) one-hot skill: one largest entry and every other entry equal, in at
    least 3 dimensions or with entries 0 and 1."""
    z = np.asarray(z, dtype=np.float64).ravel()
    top = z == z.max()
    rest = np.unique(z[~top])
    return bool(top.sum() == 1 and rest.size == 1 and (z.size >= 3 or set(z.tolist()) == {0.0, 1.0}))


def skill_label(z: np.ndarray) -> str:
    """A tile's label: ``skill k`` for a one-hot, ``z = (0.71, -0.70)`` for a continuous skill."""
    z = np.asarray(z, dtype=np.float64).ravel()
    if z.size == 0:
        return ""
    if is_one_hot(z):
        return f"skill {int(z.argmax())}"
    shown = ", ".join(f"{v:.2f}" for v in z[:3]) + (", …" if z.size > 3 else "")
    return f"z = ({shown})"


def label(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` written in its top-left corner (white on a dark box)."""
    if not text:
        return frame
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((3, 2), text)
    draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
    draw.text((3, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def tile(frames: Sequence[np.ndarray], cols: int, labels: Sequence[str] | None = None) -> np.ndarray:
    """Tile N frames [H, W, 3] row-major into one [rows·H, cols·W, 3] image, frame i labelled ``labels[i]``
    (cells past N stay black: :func:`grid_columns` picks a layout without them)."""
    n, (h, w, c) = len(frames), frames[0].shape
    rows = -(-n // cols)
    out = np.zeros((rows * h, cols * w, c), dtype=frames[0].dtype)
    for i, f in enumerate(frames):
        r, q = divmod(i, cols)
        out[r * h : (r + 1) * h, q * w : (q + 1) * w] = label(f, labels[i]) if labels else f
    return out


def _frame_period(env: Any) -> float | None:
    base = getattr(env, "unwrapped", env)
    dt = getattr(base, "dt", None)
    if dt is None and hasattr(base, "dm_env"):
        dt = base.dm_env.control_timestep()
    if dt is None and hasattr(base, "model") and hasattr(base, "frame_skip"):
        dt = base.model.opt.timestep * base.frame_skip
    return float(dt) if dt else None


def skill_frames(
    envs: Any,
    policy: Policy,
    skills: np.ndarray,
    steps: int,
    seed: int,
    width: int = 192,
    height: int = 144,
    every: int = 2,
) -> Iterator[list[np.ndarray]]:
    """Roll out one skill per sub-env for ``steps`` steps; yield every ``every``-th step's frames (one per
    sub-env; the first and the last state always). A sub-env whose episode ended keeps its last frame.
    Bad sizes are refused here, before any frame is rendered."""
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ValueError(f"video: width and height must be even and >= 16, got {width}x{height}")
    if steps < 1 or every < 1:
        raise ValueError(f"video: steps and every must be >= 1, got {steps} and {every}")
    return _rollout_frames(envs, policy, skills, steps, seed, width, height, every)


def _rollout_frames(
    envs: Any, policy: Policy, skills: np.ndarray, steps: int, seed: int, width: int, height: int, every: int
) -> Iterator[list[np.ndarray]]:
    subs = sub_envs(envs)
    vector = hasattr(envs, "num_envs")
    skills = np.asarray(skills, dtype=np.float32).reshape(len(subs), -1)
    sources = [frame_source(e, width, height) for e in subs]
    try:
        obs, _ = envs.reset(seed=seed)
        alive = np.ones(len(subs), dtype=bool)
        frames = [s() for s in sources]
        for t in range(steps + 1):
            if t % every == 0 or t == steps or not alive.any():
                yield frames
            if t == steps or not alive.any():
                break
            action = policy(np.asarray(obs)[None] if not vector else obs, skills)
            obs, _, terminated, truncated, _ = envs.step(action if vector else action[0])
            if not vector:
                obs = np.asarray(obs)
            ended = np.atleast_1d(np.asarray(terminated) | np.asarray(truncated))
            frames = [s() if a else f for s, a, f in zip(sources, alive, frames, strict=True)]
            alive &= ~ended
    finally:
        for s in sources:
            close = getattr(s, "close", None)
            if callable(close):
                close()


def real_time_fps(envs: Any, every: int) -> float:
    """Frames per second that play a rollout rendered every ``every``-th step in real time."""
    period = _frame_period(sub_envs(envs)[0])
    return 1.0 / (period * every) if period else 30.0


def skill_videos(
    envs: Any,
    policy: Policy,
    skills: np.ndarray,
    steps: int,
    seed: int,
    out_dir: str | Path,
    width: int = 192,
    height: int = 144,
    every: int = 2,
    per_skill: bool = False,
    fps: float | None = None,
    on_frame: Callable[[], object] | None = None,
) -> list[Path]:
    """Write :func:`skill_frames` to ``grid.mp4`` (tiled, skill i at row i // cols, column i % cols) and,
    with ``per_skill``, ``skill_<i>.mp4``. ``fps`` defaults to real time; ``on_frame()`` is called after
    each rendered frame (a progress bar). Returns the paths written."""
    import imageio.v2 as imageio

    n = len(sub_envs(envs))
    frames = skill_frames(envs, policy, skills, steps, seed, width, height, every)  # checks the sizes
    fps = fps or real_time_fps(envs, every)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cols, labels = grid_columns(n), [skill_label(z) for z in skills]
    paths = [out_dir / "grid.mp4"] + ([out_dir / f"skill_{i}.mp4" for i in range(n)] if per_skill else [])
    with contextlib.ExitStack() as stack:  # each file renamed into place only when every frame is written
        temporaries = [stack.enter_context(atomic_path(p)) for p in paths]
        writers = [imageio.get_writer(t, fps=fps, codec="libx264", macro_block_size=1) for t in temporaries]
        try:
            for step_frames in frames:
                writers[0].append_data(tile(step_frames, cols, labels))
                for w, f in zip(writers[1:], step_frames if per_skill else [], strict=True):
                    w.append_data(f)
                if on_frame is not None:
                    on_frame()
        finally:
            frames.close()
            for w in writers:
                w.close()
    return paths


def grid_gif(envs: Any, policy: Policy, skills: np.ndarray, steps: int, seed: int, every: int = 4) -> bytes:
    """The tiled rollouts as one animated GIF (for TensorBoard's image tab), small frames, real time."""
    import imageio.v2 as imageio

    cols = grid_columns(len(sub_envs(envs)))
    labels = [skill_label(z) for z in skills]
    grid = [tile(f, cols, labels) for f in skill_frames(envs, policy, skills, steps, seed, 96, 72, every)]
    milliseconds = 1000.0 / real_time_fps(envs, every)
    return imageio.mimwrite("<bytes>", grid, format="GIF", duration=milliseconds, loop=0)
