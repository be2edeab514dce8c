"""Intrinsic-reward modules: one file per family, all following :class:`IntrinsicReward`.

    from rlinfo.rewards import METRA
    metra = METRA(obs_dim=29, action_dim=8, skill_dim=2)
    r = metra.reward(batch)       # [B], relabelled from the current φ
    stats = metra.update(batch)   # one φ step and one dual step

``make_reward(name, **kwargs)`` builds a module by its registry name (see ``REWARDS``).
"""

from __future__ import annotations

from typing import Any

from rlinfo.rewards.base import IntrinsicReward, SkillReward
from rlinfo.rewards.diayn import DIAYN
from rlinfo.rewards.metra import METRA
from rlinfo.rewards.rnd import RND

REWARDS: dict[str, type[IntrinsicReward]] = {"diayn": DIAYN, "metra": METRA, "rnd": RND}


def make_reward(name: str, **kwargs: Any) -> IntrinsicReward:
    """Build the reward module registered as ``name`` with constructor keyword arguments ``kwargs``."""
    try:
        cls = REWARDS[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; known: {', '.join(sorted(REWARDS))}") from None
    return cls(**kwargs)


__all__ = ["DIAYN", "METRA", "REWARDS", "RND", "IntrinsicReward", "SkillReward", "make_reward"]
