"""Skill evaluation: policy state coverage, zero-shot goal reaching and figures of the skills."""

from rlinfo.evaluation.coverage import policy_state_coverage, rollout_xy, unique_cells
from rlinfo.evaluation.goals import goal_reaching, sample_goals
from rlinfo.evaluation.plots import plot_skills, skill_colors, skills_figure

__all__ = [
    "goal_reaching",
    "plot_skills",
    "policy_state_coverage",
    "rollout_xy",
    "sample_goals",
    "skill_colors",
    "skills_figure",
    "unique_cells",
]
