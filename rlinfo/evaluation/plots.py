"""Figures of discovered skills: each skill's trajectories in its own colour over the maze / xy plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def skill_colors(skills: np.ndarray, discrete: bool) -> np.ndarray:
    """One RGBA colour per skill: hue by index for discrete skills, by angle of (z₀, z₁) otherwise."""
    skills = np.asarray(skills, dtype=np.float64)
    if discrete:
        index = skills.argmax(axis=1)
        return plt.get_cmap("tab20")(index % 20)
    if skills.shape[1] == 1:
        hue = (np.tanh(skills[:, 0]) + 1.0) / 2.0
    else:
        hue = (np.arctan2(skills[:, 1], skills[:, 0]) + np.pi) / (2 * np.pi)
    return plt.get_cmap("hsv")(hue)


def plot_skills(
    xy: np.ndarray,
    skills: np.ndarray,
    path: str | Path,
    discrete: bool = False,
    layout: Any | None = None,
    title: str = "",
) -> Path:
    """Save a figure of trajectories ``xy`` [N, T, 2], trajectory i coloured by skill i."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=110)
    if layout is not None:
        layout.draw(ax)
    colors = skill_colors(skills, discrete)
    for traj, color in zip(xy, colors, strict=True):
        ax.plot(traj[:, 0], traj[:, 1], color=color, lw=1.4, alpha=0.9)
        ax.plot(traj[-1, 0], traj[-1, 1], "o", color=color, ms=3.5)
    ax.plot(xy[:, 0, 0], xy[:, 0, 1], "k*", ms=9, label="start")
    if layout is None:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
