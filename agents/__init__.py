"""The learning agents (installed as ``rlinfo.agents``): SAC, multi-critic SAC (SLIM), PPO, entropy."""

from rlinfo.agents.ppo import PPO
from rlinfo.agents.sac import SAC

__all__ = ["PPO", "SAC"]
