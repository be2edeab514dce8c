"""The learning agents (installed as ``rlinfo.agents``): SAC, SAC with successor features (CSF), multi-critic
SAC (SLIM), URLB's DDPG, PPO, entropy control."""

from rlinfo.agents.ddpg import DDPG
from rlinfo.agents.ppo import PPO
from rlinfo.agents.sac import SAC
from rlinfo.agents.successor_features import SuccessorFeatureSAC

__all__ = ["DDPG", "PPO", "SAC", "SuccessorFeatureSAC"]
