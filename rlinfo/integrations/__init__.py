"""Adapters that run rlinfo reward modules inside other RL libraries.

``rlinfo.integrations.sb3`` (stable-baselines3): :class:`SkillObservationWrapper`,
:class:`IntrinsicReplayBuffer` + :class:`IntrinsicRewardCallback` for SAC/TD3/DDPG, and
:class:`OnPolicyIntrinsicCallback` for PPO/A2C. See docs/integration.md.
"""

from rlinfo.integrations.sb3 import (
    IntrinsicReplayBuffer,
    IntrinsicRewardCallback,
    OnPolicyIntrinsicCallback,
    SkillObservationWrapper,
    split_obs,
)

__all__ = [
    "IntrinsicReplayBuffer",
    "IntrinsicRewardCallback",
    "OnPolicyIntrinsicCallback",
    "SkillObservationWrapper",
    "split_obs",
]
