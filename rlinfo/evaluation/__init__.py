"""Skill evaluation: policy state coverage, zero-shot goal reaching, skill alignment, figures, videos.

The figure functions (:mod:`rlinfo.evaluation.plots`) load matplotlib, about half a second, when first
used: a run with ``eval.figure=false`` or code that only measures coverage never imports it.
"""

from typing import Any

from rlinfo.evaluation.alignment import (
    alignment_figure,
    displacement_spread,
    final_displacements,
    rollout_diagnostics,
    skill_alignment,
)
from rlinfo.evaluation.coverage import (
    policy_state_coverage,
    rollout_paths,
    rollout_xy,
    unique_cells,
    upright_fraction,
)
from rlinfo.evaluation.goals import goal_reaching, sample_goals
from rlinfo.evaluation.video import select_gl_backend, skill_videos

__all__ = [
    "alignment_figure",
    "displacement_spread",
    "final_displacements",
    "rollout_diagnostics",
    "select_gl_backend",
    "skill_alignment",
    "skill_videos",
    "goal_reaching",
    "plot_skills",
    "policy_state_coverage",
    "rollout_paths",
    "rollout_xy",
    "upright_fraction",
    "sample_goals",
    "skill_colors",
    "skills_figure",
    "unique_cells",
]

_PLOTS = ("plot_skills", "skill_colors", "skills_figure")  # from rlinfo.evaluation.plots, on first use


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        from rlinfo.evaluation import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
