"""Do skills form? Displacement spread and skill alignment of evaluation rollouts (pure numpy).

From N rollouts xy [N, T+1, 2] with skills z [N, d], the final displacement of rollout i is
dᵢ = xyᵢ[T] − xyᵢ[0] (1-D motion such as HalfCheetah: the x component only).

For every method (:func:`displacement_spread`): how far and how differently the rollouts move,

    displacement_mean = mean ‖dᵢ‖,   displacement_max = max ‖dᵢ‖,
    displacement_spread = √(mean ‖dᵢ − d̄‖²)      (spread of the end points; 0 if all move alike).

For skill methods (:func:`skill_alignment`): does the displacement follow the skill?

- continuous skills: the cosine between dᵢ and zᵢ, raw (``alignment_cos_raw``, meaningful when
  the skill axes are the world axes) and after the best orthogonal map Q from skill space to the
  plane (``alignment_cos``; φ-based methods learn φ only up to a rotation or reflection):

      alignment_cos = max_Q (1/N) Σᵢ d̂ᵢᵀ Q ẑᵢ = (1/N) · (sum of singular values of M),  M = Σᵢ d̂ᵢ ẑᵢᵀ

  (orthogonal Procrustes: Q = U Vᵀ for M = U S Vᵀ); rollouts with dᵢ = 0 count as cosine 0.
  1 means every skill moves exactly along its (rotated) direction, ≈ 0 unrelated directions.
- discrete skills: the per-skill mean displacements m_k against the scatter within a skill,

      skill_spread = √(mean_k ‖m_k − m̄‖²),   within_skill_std = √(mean_i ‖dᵢ − m_k(i)‖²),

  and ``num_skills`` (skills present). Distinct skills: a large spread, a small within-skill std.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlinfo.files import save_figure


def final_displacements(xy: np.ndarray, one_dimensional: bool | None = None) -> np.ndarray:
    """dᵢ = xyᵢ[−1] − xyᵢ[0], shape [N, 2] (``one_dimensional``, default: y never changes: [N, 1])."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[-1] != 2 or xy.shape[1] < 1:
        raise ValueError(f"xy must have shape [N, T+1, 2], got {xy.shape}")
    d = xy[:, -1] - xy[:, 0]
    if one_dimensional is None:
        one_dimensional = bool(np.all(xy[..., 1] == xy[:1, :1, 1]))
    return d[:, :1] if one_dimensional else d


def displacement_spread(displacements: np.ndarray) -> dict[str, float]:
    """``displacement_mean``, ``displacement_max`` and ``displacement_spread`` of dᵢ [N, k]."""
    d = np.asarray(displacements, dtype=np.float64)
    norms = np.linalg.norm(d, axis=1)
    spread = np.sqrt(np.mean(np.sum((d - d.mean(axis=0)) ** 2, axis=1)))
    return {
        "displacement_mean": float(norms.mean()),
        "displacement_max": float(norms.max()),
        "displacement_spread": float(spread),
    }


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def procrustes_map(displacements: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """The orthogonal Q [k, d] maximising Σᵢ d̂ᵢᵀ Q ẑᵢ (Q = U Vᵀ from the SVD of M = Σᵢ d̂ᵢ ẑᵢᵀ)."""
    m = _unit(np.asarray(displacements, np.float64)).T @ _unit(np.asarray(skills, np.float64))
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    return u @ vt


def skill_alignment(displacements: np.ndarray, skills: np.ndarray, discrete: bool) -> dict[str, float]:
    """How well displacements dᵢ [N, k] follow skills zᵢ [N, d] (see the module docstring)."""
    d = np.asarray(displacements, dtype=np.float64)
    z = np.asarray(skills, dtype=np.float64).reshape(len(d), -1)
    if len(d) == 0 or z.shape[1] == 0:
        raise ValueError("skill_alignment needs at least one rollout and skills of dimension >= 1")
    if discrete:
        index = z.argmax(axis=1)
        present = np.unique(index)
        means = np.stack([d[index == k].mean(axis=0) for k in present])
        own = means[np.searchsorted(present, index)]
        return {
            "skill_spread": float(np.sqrt(np.mean(np.sum((means - means.mean(axis=0)) ** 2, axis=1)))),
            "within_skill_std": float(np.sqrt(np.mean(np.sum((d - own) ** 2, axis=1)))),
            "num_skills": float(len(present)),
        }
    du, zu = _unit(d), _unit(z)
    k = min(d.shape[1], z.shape[1])
    raw = np.sum(du[:, :k] * zu[:, :k], axis=1).mean()
    singular = np.linalg.svd(du.T @ zu, compute_uv=False)
    return {"alignment_cos": float(singular.sum() / len(d)), "alignment_cos_raw": float(raw)}


def rollout_diagnostics(xy: np.ndarray, skills: np.ndarray, discrete: bool) -> dict[str, float]:
    """:func:`displacement_spread` of rollouts xy [N, T+1, 2], plus :func:`skill_alignment` if skills
    [N, d] have d ≥ 1 (methods without skills: the spread alone)."""
    d = final_displacements(xy)
    out = displacement_spread(d)
    z = np.asarray(skills, dtype=np.float64).reshape(len(d), -1)
    return out | (skill_alignment(d, z, discrete) if z.shape[1] else {})


def alignment_figure(displacements: np.ndarray, skills: np.ndarray, discrete: bool, path: str | Path) -> Any:
    """Save a figure of the final displacements coloured by skill, with the alignment in the title.

    Continuous skills: end points dᵢ and, beside them, the angle between dᵢ and Q ẑᵢ against the
    angle of Q ẑᵢ (points on the zero line: aligned). Discrete skills: end points and the per-skill means.
    1-D displacements are drawn against the skill index (or z₀).
    """
    import matplotlib.pyplot as plt

    from rlinfo.evaluation.plots import skill_colors

    d = np.asarray(displacements, dtype=np.float64)
    z = np.asarray(skills, dtype=np.float64).reshape(len(d), -1)
    colors = skill_colors(z, discrete)
    stats = skill_alignment(d, z, discrete)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    ax = axes[0]
    if d.shape[1] == 1:
        key = z.argmax(axis=1) if discrete else z[:, 0]
        ax.scatter(key, d[:, 0], c=colors, s=18)
        ax.set_xlabel("skill index" if discrete else "skill value z₀")
        ax.set_ylabel("end x − start x")
    else:
        for di, c in zip(d, colors, strict=True):
            ax.plot([0, di[0]], [0, di[1]], color=c, lw=0.8)
        ax.scatter(d[:, 0], d[:, 1], c=colors, s=14)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("end x − start x")
        ax.set_ylabel("end y − start y")
    ax.set_title("where each rollout ended, relative to its start")
    ax = axes[1]
    if discrete:
        index = z.argmax(axis=1)
        present = np.unique(index)
        means = np.stack([d[index == k].mean(axis=0) for k in present])
        pal = skill_colors(np.eye(z.shape[1])[present], True)
        if d.shape[1] == 1:
            ax.bar(present, means[:, 0], color=pal)
            ax.set_xlabel("skill index")
            ax.set_ylabel("mean of end x − start x")
        else:
            ax.scatter(means[:, 0], means[:, 1], c=pal, s=60, marker="*")
            ax.set_xlabel("mean of end x − start x")
            ax.set_ylabel("mean of end y − start y")
        title = (f"each skill's mean end point: spread between skills {stats['skill_spread']:.3g},\n"
                 f"scatter within a skill {stats['within_skill_std']:.3g} (small: a skill repeats itself)")
    else:
        q = procrustes_map(d, z)
        qz = _unit(z) @ q.T
        if d.shape[1] == 2:
            skill_angle = np.arctan2(qz[:, 1], qz[:, 0])
            error = np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - skill_angle)))  # in (−π, π]
            ax.scatter(skill_angle, error, c=colors, s=14)
            ax.axhline(0.0, color="0.6", lw=0.8)
            ax.set_ylim(-np.pi, np.pi)
            ax.set_xlabel("skill direction, after the best rotation of skill space (rad)")
            ax.set_ylabel("direction moved − skill direction (rad)")
        else:
            ax.scatter(qz[:, 0], d[:, 0], c=colors, s=14)
            ax.set_xlabel("skill, after the best rotation or reflection of skill space")
            ax.set_ylabel("end x − start x")
        title = (f"do rollouts move along their skill? alignment {stats['alignment_cos']:.2f} "
                 f"(1: exactly, 0: unrelated;\nwithout the rotation {stats['alignment_cos_raw']:.2f})")
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, "key: docs/evaluation.md", fontsize=7, color="0.4")
    fig.tight_layout()
    save_figure(fig, Path(path), dpi=110)
    return stats
