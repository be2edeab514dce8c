"""Figures of discovered skills: each skill's trajectories in its own colour, with a colour key.

Three kinds of figure, chosen from the data:

- skills over the plane (mazes, Ant, tabletop): the xy trajectories, coloured by skill;
- skills along a line (HalfCheetah, dm_control walker: y never changes): x against time per skill,
  since an xy plot of a 1-D motion is a flat line;
- no skills (exploration rewards, plain SAC): the same trajectories in one colour.

The colour key: a legend of skill indices for discrete skills, the colour wheel of directions of
(z₀, z₁) for continuous skills of dimension ≥ 2, a colour bar of z for 1-D continuous skills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

NO_SKILL_COLOR = (0.12, 0.35, 0.65, 0.8)  # one colour for trajectories of a method without skills


def skill_colors(skills: np.ndarray, discrete: bool) -> np.ndarray:
    """One RGBA colour per row of ``skills`` [N, d]: hue by index (discrete), by angle of (z₀, z₁) otherwise.

    Skills of dimension 0 (no skills) all get :data:`NO_SKILL_COLOR`.
    """
    skills = np.asarray(skills, dtype=np.float64).reshape(len(skills), -1)
    if skills.shape[1] == 0:
        return np.tile(NO_SKILL_COLOR, (len(skills), 1))
    if discrete:
        return plt.get_cmap("tab20")(skills.argmax(axis=1) % 20)
    if skills.shape[1] == 1:
        return plt.get_cmap("coolwarm")((np.tanh(skills[:, 0]) + 1.0) / 2.0)
    return plt.get_cmap("hsv")(direction_hue(skills[:, 0], skills[:, 1]))


def direction_hue(z0: np.ndarray, z1: np.ndarray) -> np.ndarray:
    """Hue in [0, 1] of the direction of (z₀, z₁): the angle from −π to π mapped linearly."""
    return (np.arctan2(z1, z0) + np.pi) / (2 * np.pi)


def is_one_dimensional(xy: np.ndarray, layout: Any | None) -> bool:
    """True for motion along x only (y identical at every step of every rollout), outside mazes."""
    return layout is None and bool(np.ptp(np.asarray(xy)[..., 1]) == 0.0)


def plot_skills(
    xy: np.ndarray,
    skills: np.ndarray,
    path: str | Path,
    discrete: bool = False,
    layout: Any | None = None,
    title: str = "",
) -> Path:
    """Save :func:`skills_figure` to ``path`` (PNG), atomically: a kill or a full disk leaves the previous
    figure, and a symlink at ``path`` is replaced rather than written through."""
    from rlinfo.files import save_figure

    return save_figure(skills_figure(xy, skills, discrete, layout, title), Path(path))


def skills_figure(
    xy: np.ndarray, skills: np.ndarray, discrete: bool = False, layout: Any | None = None, title: str = ""
) -> Any:
    """A figure of trajectories ``xy`` [N, T, 2], trajectory i coloured by skill ``skills[i]``.

    ``skills`` is [N, d] (d = 0: no skills). See the module docstring for the kinds of figure.
    """
    fig, ax = plt.subplots(figsize=(6.4, 5.5), dpi=110)
    draw_skills(fig, ax, xy, skills, discrete, layout)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def draw_skills(
    fig: Any, ax: Any, xy: np.ndarray, skills: np.ndarray, discrete: bool = False, layout: Any | None = None
) -> None:
    """:func:`skills_figure`'s drawing on ``ax`` of ``fig`` (a panel of a larger figure)."""
    xy = np.asarray(xy, dtype=np.float64)
    skills = np.asarray(skills, dtype=np.float64).reshape(len(xy), -1)
    colors = skill_colors(skills, discrete)
    if is_one_dimensional(xy, layout):
        _plot_x_against_time(ax, xy, colors)
    else:
        _plot_xy(ax, xy, colors, layout)
    _colour_key(fig, ax, skills, discrete, colors)


def _plot_xy(ax: Any, xy: np.ndarray, colors: np.ndarray, layout: Any | None) -> None:
    if layout is not None:
        layout.draw(ax)
    _trajectories(ax, xy, colors)
    ax.plot(xy[:, 0, 0], xy[:, 0, 1], "k*", ms=9, label="start")
    if layout is None:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _plot_x_against_time(ax: Any, xy: np.ndarray, colors: np.ndarray) -> None:
    steps = np.broadcast_to(np.arange(xy.shape[1], dtype=np.float64), xy.shape[:2])
    _trajectories(ax, np.stack([steps, xy[..., 0]], axis=-1), colors)
    ax.axhline(xy[0, 0, 0], color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("step")
    ax.set_ylabel("x (motion along one axis)")


def _trajectories(ax: Any, lines: np.ndarray, colors: np.ndarray) -> None:
    """Polylines ``lines`` [N, T, 2] in ``colors`` with a dot at each end: two artists however many lines
    (one ``plot`` call per line takes several times longer to draw)."""
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(list(lines), colors=colors, linewidths=1.4, alpha=0.9))
    ax.scatter(lines[:, -1, 0], lines[:, -1, 1], c=colors, s=3.5**2, zorder=3)
    ax.autoscale_view()


def _colour_key(fig: Any, ax: Any, skills: np.ndarray, discrete: bool, colors: np.ndarray) -> None:
    """A legend of skill indices, a colour wheel of directions, or a colour bar of z."""
    if skills.shape[1] == 0:
        ax.plot([], [], color=NO_SKILL_COLOR, lw=1.4, label="rollout (no skills)")
        ax.legend(loc="best", fontsize=7)
        return
    if discrete:
        index = skills.argmax(axis=1)
        for i in np.unique(index):
            ax.plot([], [], color=colors[np.flatnonzero(index == i)[0]], lw=2, label=f"skill {i}")
        ax.legend(
            title="skill",
            fontsize=7,
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            ncol=1 + len(np.unique(index)) // 20,
            frameon=False,
        )
        return
    if skills.shape[1] == 1:
        mappable = plt.cm.ScalarMappable(cmap="coolwarm", norm=plt.Normalize(-1.0, 1.0))
        fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04, label="tanh(z)")
        return
    wheel = ax.inset_axes((1.03, 0.72, 0.26, 0.26), projection="polar")
    theta = np.linspace(-np.pi, np.pi, 181)
    radius = np.array([0.55, 1.0])
    hue = direction_hue(np.cos(theta), np.sin(theta))
    wheel.pcolormesh(theta, radius, np.tile(hue[:-1], (1, 1)), cmap="hsv", vmin=0, vmax=1, shading="flat")
    wheel.set_yticks([])
    wheel.set_xticks(np.deg2rad([0, 90, 180, 270]))
    wheel.set_xticklabels(["+z₀", "+z₁", "−z₀", "−z₁"], fontsize=6)
    wheel.set_title("direction of (z₀, z₁)", fontsize=7)
