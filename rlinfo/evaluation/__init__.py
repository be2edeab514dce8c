"""Skill evaluation: policy state coverage and figures of the skills."""

from rlinfo.evaluation.coverage import policy_state_coverage, rollout_xy, unique_cells
from rlinfo.evaluation.plots import plot_skills, skill_colors

__all__ = ["plot_skills", "policy_state_coverage", "rollout_xy", "skill_colors", "unique_cells"]
