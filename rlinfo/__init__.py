"""rlinfo: reinforcement-learning skill discovery and exploration with information-theoretic rewards."""

from rlinfo.skills import ContinuousSkills, DiscreteSkills
from rlinfo.types import Batch

__version__ = "0.1.0"
__all__ = ["Batch", "ContinuousSkills", "DiscreteSkills", "__version__", "load"]


def load(run_dir: str, device: str = "cpu"):  # noqa: ANN201 - returns rlinfo.run.load.LoadedRun
    """A trained run for one's own code: ``policy.act(obs, skill=None, deterministic=True)``, the reward
    module and the skill space (see :mod:`rlinfo.run.load`). The one place the core reaches the run
    layer, lazily, as the package's public entry point."""
    from rlinfo.run.load import load as load_run

    return load_run(run_dir, device)
