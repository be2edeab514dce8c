"""2-D continuous point mazes (numpy): ASCII layouts, a single env and a natively batched vector env.

Layouts are ASCII grids: ``#`` wall, ``.`` free, ``S`` start (exactly one). Each character is a 1×1
cell; cell (col, row) covers ``[col, col + 1) × [iy, iy + 1)`` with ``iy = height - 1 - row`` so that
y grows upward and ``(floor(x), floor(y))`` indexes the cell. The grid boundary acts as a wall.

Dynamics: observation = float32 (x, y); action in ``[-1, 1]²`` (clipped), displacement = action ·
``max_step`` cells, split into ``substeps`` equal parts. Each part moves along x, then along y, and
is clamped ``EPS`` short of a wall it would enter, so the point slides along walls and never enters a
wall cell. Because a part moves less than one cell, the clamp is exact: only the neighbouring cell
matters, and its bounds are precomputed per cell (``_MazeDynamics``), so a batched step is a handful
of numpy operations with no loop over environments.

Reward 0 (no task), never terminates, truncates after ``max_episode_steps`` steps. The default is the
layout's ``default_episode_steps``: 50 for ``tree``, ``corridor`` and custom layouts (with ``max_step =
0.5`` a straight-line skill travels up to 25 cells, enough for every leaf of the tree and both ends of
the corridor, while a random walk spreads ~2 cells), 25 for the small ``square`` (48 straight lines
cover ~95% of it in 25 steps, 48 uniform random walks ~35%; at 50 steps random walks reach ~60%).
"""

from __future__ import annotations

import math
import os
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlinfo.errors import RlinfoError

EPS = 1e-3  # how far short of a wall a clamped point stops (keeps floor() of the float32 obs in the cell)
LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"
BUILTIN_LAYOUTS = ("square", "tree", "corridor")
BUILTIN_EPISODE_STEPS = {"square": 25, "tree": 50, "corridor": 50}
_CHARS = {"#", ".", "S"}


class LayoutError(RlinfoError, ValueError):
    """A malformed maze layout (ragged rows, unknown character, not exactly one ``S``, missing file)."""


@dataclass(frozen=True, eq=False)
class MazeLayout:
    """A parsed maze: ``walls[iy, ix]`` is True for wall cells (``iy = floor(y)``, row 0 at the bottom).

    Attributes: ``name``, ``text`` (the ASCII source, top row first), ``walls`` (bool [height, width]),
    ``start`` (float64 (x, y), centre of the S cell), ``start_cell`` ((ix, iy)), ``width``, ``height``,
    ``free_cells`` (number of non-wall cells, S included), ``default_episode_steps`` (the env's default
    ``max_episode_steps`` on this layout).
    """

    name: str
    text: str
    walls: np.ndarray
    start: np.ndarray
    start_cell: tuple[int, int]
    default_episode_steps: int = 50
    width: int = field(init=False)
    height: int = field(init=False)
    free_cells: int = field(init=False)

    def __post_init__(self) -> None:
        self.walls.setflags(write=False)
        self.start.setflags(write=False)
        object.__setattr__(self, "height", int(self.walls.shape[0]))
        object.__setattr__(self, "width", int(self.walls.shape[1]))
        object.__setattr__(self, "free_cells", int((~self.walls).sum()))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_text(cls, text: str, name: str = "custom") -> MazeLayout:
        """Parse an ASCII layout; raise ``LayoutError`` (one line) if it is malformed."""
        lines = [line.rstrip() for line in textwrap.dedent(text.replace("\r", "")).split("\n")]
        first = 0  # lines are reported 1-based, counting the blank lines stripped here
        while lines and not lines[0]:
            lines.pop(0)
            first += 1
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            raise LayoutError(f"maze layout {name!r} is empty")
        width = len(lines[0])
        for r, line in enumerate(lines):
            if len(line) != width:
                raise LayoutError(
                    f"maze layout {name!r}: ragged rows, line {first + r + 1} has {len(line)} characters, "
                    f"line {first + 1} has {width}"
                )
            for c, ch in enumerate(line):
                if ch not in _CHARS:
                    raise LayoutError(
                        f"maze layout {name!r}: unknown character {ch!r} at line {first + r + 1}, "
                        f"column {c + 1}; allowed: '#' wall, '.' free, 'S' start"
                    )
        grid = np.array([list(line) for line in lines])
        starts = np.argwhere(grid == "S")
        if len(starts) != 1:
            raise LayoutError(f"maze layout {name!r} needs exactly one start 'S', found {len(starts)}")
        walls = (grid == "#")[::-1].copy()  # row 0 = bottom, so walls[floor(y), floor(x)]
        row, col = (int(v) for v in starts[0])
        iy = len(lines) - 1 - row
        return cls(name, "\n".join(lines), walls, np.array([col + 0.5, iy + 0.5]), (col, iy))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MazeLayout:
        """Read an ASCII layout from a text file."""
        p = Path(path)
        if not p.is_file():
            raise LayoutError(f"maze layout file not found: {str(p)!r}")
        return cls.from_text(p.read_text(encoding="utf-8"), name=p.stem)

    @classmethod
    def load(cls, spec: str | os.PathLike[str] | MazeLayout) -> MazeLayout:
        """A layout from a built-in name, an ASCII string, a path to a .txt file, or a ``MazeLayout``.

        A string with a newline, or made only of ``#.S`` characters, is ASCII; any other string is a
        built-in name (``square``, ``tree``, ``corridor``) or else a path.
        """
        if isinstance(spec, MazeLayout):
            return spec
        if isinstance(spec, os.PathLike):
            return cls.from_file(spec)
        if not isinstance(spec, str):
            raise TypeError(f"maze layout must be a str, a path or a MazeLayout, got {type(spec).__name__}")
        if not spec.strip():
            raise LayoutError("maze layout is empty")
        if "\n" in spec or set(spec) <= _CHARS:
            return cls.from_text(spec)
        if spec in BUILTIN_LAYOUTS:
            layout = cls.from_file(LAYOUT_DIR / f"{spec}.txt")
            return replace(layout, default_episode_steps=BUILTIN_EPISODE_STEPS[spec])
        return cls.from_file(spec)

    # ------------------------------------------------------------------ queries
    def cell_ids(self, xy: np.ndarray) -> np.ndarray:
        """Flat cell index ``iy * width + ix`` of points ``xy`` [..., 2]; -1 outside the grid."""
        cells = np.floor(np.asarray(xy, dtype=np.float64)).astype(np.int64)
        ix, iy = cells[..., 0], cells[..., 1]
        inside = (ix >= 0) & (ix < self.width) & (iy >= 0) & (iy < self.height)
        return np.where(inside, iy * self.width + ix, -1)

    def is_free(self, xy: np.ndarray) -> np.ndarray:
        """Boolean array [...]: whether each point of ``xy`` [..., 2] lies in a free cell of the grid."""
        ids = self.cell_ids(xy)
        return (ids >= 0) & ~self.walls.reshape(-1)[np.maximum(ids, 0)]

    def visited_cells(self, xy: np.ndarray) -> int:
        """Number of distinct free cells visited by points ``xy`` [..., 2]."""
        ids = self.cell_ids(xy).reshape(-1)
        ids = ids[ids >= 0]
        return int(np.unique(ids[~self.walls.reshape(-1)[ids]]).size)

    def coverage(self, xy: np.ndarray) -> float:
        """Fraction of free cells visited by points ``xy`` [..., 2]."""
        return self.visited_cells(xy) / self.free_cells

    def draw(self, ax: Any = None, *, color: str = "0.3", start: bool = True, **kwargs: Any) -> Any:
        """Draw the walls (one rectangle per horizontal run) on a matplotlib Axes in env coordinates."""
        import matplotlib.pyplot as plt
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        ax = plt.gca() if ax is None else ax
        rects = []
        for iy in range(self.height):
            row = np.concatenate([[False], self.walls[iy], [False]]).astype(np.int8)
            edges = np.flatnonzero(np.diff(row))
            rects += [Rectangle((a, iy), b - a, 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        kwargs.setdefault("edgecolor", "none")
        kwargs.setdefault("zorder", 0)
        ax.add_collection(PatchCollection(rects, facecolor=color, **kwargs))
        if start:
            ax.plot(*self.start, marker="*", color="tab:red", markersize=10, zorder=3)
        ax.set_xlim(0, self.width)
        ax.set_ylim(0, self.height)
        ax.set_aspect("equal")
        return ax

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return (
            f"MazeLayout(name={self.name!r}, width={self.width}, height={self.height}, "
            f"free_cells={self.free_cells}, start={tuple(self.start.tolist())})"
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class _MazeDynamics:
    """Batched point-mass motion with exact wall clamping (see the module docstring)."""

    def __init__(self, layout: MazeLayout, max_step: float, substeps: int, start_noise: float) -> None:
        if not isinstance(substeps, (int, np.integer)) or isinstance(substeps, bool) or substeps < 1:
            raise ValueError(f"maze substeps must be an int >= 1, got {substeps!r}")
        if not _is_number(max_step) or not math.isfinite(max_step) or max_step <= 0:
            raise ValueError(f"maze max_step must be a positive number, got {max_step!r}")
        if max_step / substeps > 1.0:
            raise ValueError(
                f"maze max_step / substeps must be <= 1 cell (walls are 1 cell thick), got "
                f"{max_step}/{substeps}; increase substeps"
            )
        if not _is_number(start_noise) or not 0.0 <= start_noise < 0.5:
            raise ValueError(f"maze start_noise must be in [0, 0.5) cells, got {start_noise!r}")
        self.layout = layout
        self.step_size = float(max_step) / int(substeps)
        self.substeps = int(substeps)
        self.start_noise = float(start_noise)
        w, h = layout.width, layout.height
        padded = np.ones((h + 2, w + 2), dtype=bool)  # outside the grid counts as wall
        padded[1:-1, 1:-1] = layout.walls
        ix = np.arange(w, dtype=np.float64)[None, :].repeat(h, 0)
        iy = np.arange(h, dtype=np.float64)[:, None].repeat(w, 1)
        # per cell (flat index iy * width + ix): limits along x and along y; +-inf where the neighbour is free
        self.lo_x = np.where(padded[1:-1, :-2], ix + EPS, -np.inf).reshape(-1)
        self.hi_x = np.where(padded[1:-1, 2:], ix + 1 - EPS, np.inf).reshape(-1)
        self.lo_y = np.where(padded[:-2, 1:-1], iy + EPS, -np.inf).reshape(-1)
        self.hi_y = np.where(padded[2:, 1:-1], iy + 1 - EPS, np.inf).reshape(-1)
        self.width = w

    def move(self, pos: np.ndarray, action: np.ndarray) -> None:
        """Move positions ``pos`` [N, 2] (float64, in free cells) in place by actions [N, 2].

        Raises ``ValueError`` if an action is not finite (NaN would otherwise corrupt the state).
        """
        if not math.isfinite(action.sum()):
            raise ValueError("maze actions must be finite (got NaN or inf)")
        d = np.maximum(action, -1.0, dtype=np.float64)  # float64 whatever the action dtype
        np.minimum(d, 1.0, out=d)
        d *= self.step_size
        dx, dy = d[:, 0], d[:, 1]
        x, y = pos[:, 0], pos[:, 1]
        w = self.width
        for _ in range(self.substeps):
            row = y.astype(np.intp)
            row *= w
            c = row + x.astype(np.intp)
            x = np.minimum(np.maximum(x + dx, self.lo_x[c]), self.hi_x[c])
            c = row + x.astype(np.intp)
            y = np.minimum(np.maximum(y + dy, self.lo_y[c]), self.hi_y[c])
        pos[:, 0] = x
        pos[:, 1] = y

    def starts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` start positions: the S-cell centre plus optional uniform noise."""
        pos = np.broadcast_to(self.layout.start, (n, 2)).copy()
        if self.start_noise > 0:
            pos += rng.uniform(-self.start_noise, self.start_noise, size=(n, 2))
        return pos


def _spaces(layout: MazeLayout) -> tuple[spaces.Box, spaces.Box]:
    high = np.array([layout.width, layout.height], dtype=np.float32)
    obs = spaces.Box(np.zeros(2, np.float32), high, dtype=np.float32)
    return obs, spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def _check_episode_steps(max_episode_steps: int | None, layout: MazeLayout) -> int:
    if max_episode_steps is None:
        return layout.default_episode_steps
    if not isinstance(max_episode_steps, (int, np.integer)) or isinstance(max_episode_steps, bool):
        raise TypeError(f"max_episode_steps must be an int, got {type(max_episode_steps).__name__}")
    if max_episode_steps < 1:
        raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
    return int(max_episode_steps)


class MazeEnv(gym.Env[np.ndarray, np.ndarray]):
    """A single 2-D point maze; ``info["xy"]`` (float32 [2]) equals the observation."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        layout: str | os.PathLike[str] | MazeLayout = "square",
        max_step: float = 0.5,
        max_episode_steps: int | None = None,
        start_noise: float = 0.0,
        substeps: int = 1,
    ) -> None:
        self.layout = MazeLayout.load(layout)
        self.max_episode_steps = _check_episode_steps(max_episode_steps, self.layout)
        self._dyn = _MazeDynamics(self.layout, max_step, substeps, start_noise)
        self.observation_space, self.action_space = _spaces(self.layout)
        self._pos = self._dyn.starts(1, self.np_random)
        self._t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Put the point at the start (plus noise); ``seed`` reseeds ``np_random``."""
        super().reset(seed=seed)
        self._pos = self._dyn.starts(1, self.np_random)
        self._t = 0
        obs = self._pos[0].astype(np.float32)
        return obs, {"xy": obs.copy()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by ``clip(action) * max_step``; reward 0, never terminates, truncates at the step limit."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (2,):
            raise ValueError(f"maze action must have shape (2,), got {a.shape}")
        self._dyn.move(self._pos, a[None])
        self._t += 1
        obs = self._pos[0].astype(np.float32)
        return obs, 0.0, False, self._t >= self.max_episode_steps, {"xy": obs.copy()}

    @property
    def position(self) -> np.ndarray:
        """Current (x, y), float64."""
        return self._pos[0].copy()


class MazeVectorEnv(VectorEnv):
    """``num_envs`` point mazes stepped together with numpy (no per-env Python loop).

    Gymnasium 1.x NEXT_STEP autoreset: the step after a truncated step returns the start observation,
    reward 0 and terminated = truncated = False, ignoring that env's action. Infos: ``"xy"`` float32
    [num_envs, 2] (= observations) and the mask ``"_xy"``. ``reset(seed=s)`` seeds one generator for
    all envs (only used when ``start_noise > 0``); ``options={"reset_mask": mask}`` resets a subset.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        layout: str | os.PathLike[str] | MazeLayout = "square",
        max_step: float = 0.5,
        max_episode_steps: int | None = None,
        start_noise: float = 0.0,
        substeps: int = 1,
    ) -> None:
        if not isinstance(num_envs, (int, np.integer)) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        self.num_envs = int(num_envs)
        self.layout = MazeLayout.load(layout)
        self.max_episode_steps = _check_episode_steps(max_episode_steps, self.layout)
        self._dyn = _MazeDynamics(self.layout, max_step, substeps, start_noise)
        self.single_observation_space, self.single_action_space = _spaces(self.layout)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        n = self.num_envs
        self._pos = self._dyn.starts(n, self.np_random)
        self._t = np.zeros(n, dtype=np.int64)  # steps since each env's reset
        self._autoreset = np.zeros(n, dtype=bool)  # envs truncated at the previous step
        self._any_autoreset = False
        self._countdown = self.max_episode_steps  # steps until the earliest truncation (a Python int)
        self._ones = np.ones(n, dtype=bool)
        self._ones.setflags(write=False)
        self._act_shape = (n, 2)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``) to the start."""
        if isinstance(seed, (list, tuple)):
            known = [int(s) for s in seed if s is not None]
            seed = int(np.random.SeedSequence(known).generate_state(1)[0]) if known else None
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            mask = self._ones
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},)")
        self._pos[mask] = self._dyn.starts(int(mask.sum()), self.np_random)
        self._t[mask] = 0
        self._autoreset[mask] = False
        self._any_autoreset = bool(self._autoreset.any())
        self._countdown = self.max_episode_steps - int(self._t.max())
        obs = self._pos.astype(np.float32)
        return obs, {"xy": obs.copy(), "_xy": self._ones}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env; envs truncated at the previous step are reset instead (NEXT_STEP)."""
        a = np.asarray(actions)
        if a.shape != self._act_shape:
            raise ValueError(f"maze actions must have shape {self._act_shape}, got {a.shape}")
        n = self.num_envs
        if self._any_autoreset:
            done = self._autoreset
            self._dyn.move(self._pos, np.where(done[:, None], 0.0, a))  # the reset envs' actions are ignored
            self._pos[done] = self._dyn.starts(int(done.sum()), self.np_random)
            self._t += 1
            self._t[done] = 0
            self._autoreset = np.zeros(n, dtype=bool)
            self._countdown = self.max_episode_steps - int(self._t.max())
        else:
            self._dyn.move(self._pos, a)
            self._t += 1
            self._countdown -= 1
        if self._countdown <= 0:
            truncated = self._t >= self.max_episode_steps
            self._autoreset = truncated.copy()
            self._any_autoreset = True
        else:
            truncated = np.zeros(n, dtype=bool)
            self._any_autoreset = False
        obs = self._pos.astype(np.float32)
        info = {"xy": obs.copy(), "_xy": self._ones}
        return obs, np.zeros(n), np.zeros(n, dtype=bool), truncated, info

    @property
    def positions(self) -> np.ndarray:
        """Current (x, y) of every env, float64 [num_envs, 2]."""
        return self._pos.copy()

    def get_state(self) -> dict[str, Any]:
        """Everything the next steps depend on (arrays and JSON values), for an exact resume."""
        return {
            "pos": self._pos.copy(),
            "t": self._t.copy(),
            "autoreset": self._autoreset.copy(),
            "any_autoreset": bool(self._any_autoreset),
            "countdown": int(self._countdown),
            "np_random": self.np_random.bit_generator.state,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` (arrays may come back as tensors: converted with ``np.asarray``)."""
        pos, t = np.asarray(state["pos"], dtype=np.float64), np.asarray(state["t"], dtype=np.int64)
        if pos.shape != self._pos.shape or t.shape != self._t.shape:
            raise ValueError(f"saved maze state is for {len(pos)} envs, this vector env has {self.num_envs}")
        self._pos[:], self._t[:] = pos, t
        self._autoreset = np.asarray(state["autoreset"], dtype=bool).copy()
        self._any_autoreset, self._countdown = bool(state["any_autoreset"]), int(state["countdown"])
        self.np_random.bit_generator.state = state["np_random"]
