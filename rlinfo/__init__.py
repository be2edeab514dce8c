"""rlinfo: reinforcement-learning skill discovery and exploration with information-theoretic rewards.

The names below are imported on first use (PEP 562), so ``rlinfo --version``, ``--help`` and
``rlinfo list`` start without loading torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Batch", "ContinuousSkills", "DiscreteSkills", "__version__", "load"]

_LAZY = {"Batch": "rlinfo.types", "ContinuousSkills": "rlinfo.skills", "DiscreteSkills": "rlinfo.skills"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlinfo' has no attribute {name!r}")


def load(run_dir: str, device: str = "cpu"):  # noqa: ANN201 - returns rlinfo.run.load.LoadedRun
    """A trained run for one's own code: ``policy.act(obs, skill=None, deterministic=True)``, the reward
    module and the skill space (see :mod:`rlinfo.run.load`). The one place the core reaches the run
    layer, lazily, as the package's public entry point."""
    from rlinfo.run.load import load as load_run

    return load_run(run_dir, device)
