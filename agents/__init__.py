"""Agents and the training loop (installed as ``rlinfo.agents``)."""

from rlinfo.agents.sac import SAC

__all__ = ["SAC"]
