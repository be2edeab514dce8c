"""Skill evaluation: policy state coverage, zero-shot goal reaching, skill alignment, figures, videos."""

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
from rlinfo.evaluation.plots import plot_skills, skill_colors, skills_figure
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
