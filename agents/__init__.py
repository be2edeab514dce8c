"""The learning agents (installed as ``rlinfo.agents``): SAC, SAC with successor features (CSF), multi-critic
SAC (SLIM), PPO, entropy control."""

from rlinfo.agents.ppo import PPO
from rlinfo.agents.sac import SAC
from rlinfo.agents.successor_features import SuccessorFeatureSAC

__all__ = ["PPO", "SAC", "SuccessorFeatureSAC"]
