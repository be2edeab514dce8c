"""rlinfo: reinforcement-learning skill discovery and exploration with information-theoretic rewards."""

from rlinfo.skills import ContinuousSkills, DiscreteSkills
from rlinfo.types import Batch

__version__ = "0.1.0"
__all__ = ["Batch", "ContinuousSkills", "DiscreteSkills", "__version__"]
