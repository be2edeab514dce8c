"""Intrinsic-reward modules: one file per family, all following :class:`IntrinsicReward`.

    from rlinfo.rewards import METRA
    metra = METRA(obs_dim=29, action_dim=8, skill_dim=2)
    r = metra.reward(batch)       # [B], relabelled from the current φ
    stats = metra.update(batch)   # one φ step and one dual step

``make_reward(name, **kwargs)`` builds a module by its registry name (see ``REWARDS``).
"""

from __future__ import annotations

import importlib
from typing import Any

from rlinfo.reward_names import BUILTIN_REWARDS
from rlinfo.rewards.apt import APT
from rlinfo.rewards.base import IntrinsicReward, SkillReward
from rlinfo.rewards.becl import BeCL
from rlinfo.rewards.cic import CIC
from rlinfo.rewards.compose import ExtrinsicReward, Normalized, RewardChannels, WeightedSum
from rlinfo.rewards.csf import CSF
from rlinfo.rewards.dads import DADS
from rlinfo.rewards.diayn import DIAYN
from rlinfo.rewards.disagreement import Disagreement
from rlinfo.rewards.empowerment import Empowerment
from rlinfo.rewards.icm import ICM
from rlinfo.rewards.lookup import RewardLookupError
from rlinfo.rewards.lookup import reward_class as _lookup
from rlinfo.rewards.lsd import LSD
from rlinfo.rewards.metra import METRA
from rlinfo.rewards.proto import ProtoRL
from rlinfo.rewards.rnd import RND
from rlinfo.rewards.tabletop import TabletopMETRA, TabletopReach, TabletopSafety

# name -> class, from the one table of built-in names (rlinfo/reward_names.py; every module is imported above)
REWARDS: dict[str, type[IntrinsicReward]] = {
    name: getattr(importlib.import_module(module), cls)
    for name, (module, _, cls) in ((n, p.partition(":")) for n, p in BUILTIN_REWARDS.items())
}


def reward_class(name: str) -> type[IntrinsicReward]:
    """The class ``name`` names: a built-in (``REWARDS``), ``module.path:ClassName``, or an installed
    plugin's entry point (group ``rlinfo.rewards``); checked against the IntrinsicReward contract."""
    return _lookup(name, REWARDS)


def make_reward(name: str, **kwargs: Any) -> IntrinsicReward:
    """Build the reward module ``name`` (see :func:`reward_class`) with constructor arguments ``kwargs``."""
    return reward_class(name)(**kwargs)


__all__ = ["DIAYN", "METRA", "REWARDS", "RND", "IntrinsicReward", "SkillReward", "make_reward"]
__all__ += ["RewardLookupError", "reward_class"]
__all__ += ["APT", "ICM", "Disagreement", "Empowerment", "ExtrinsicReward", "ProtoRL"]
__all__ += ["Normalized", "RewardChannels", "WeightedSum"]
__all__ += ["CSF", "LSD"]
__all__ += ["CIC", "DADS", "BeCL"]
__all__ += ["TabletopMETRA", "TabletopReach", "TabletopSafety"]
