"""Agents and the training loop (installed as ``rlinfo.agents``)."""

from rlinfo.agents.ppo import PPO
from rlinfo.agents.sac import SAC

__all__ = ["PPO", "SAC"]
