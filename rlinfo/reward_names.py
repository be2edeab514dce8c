"""The names ``reward.name`` accepts, readable without importing torch (``rlinfo list`` answers at once):
each built-in reward module's name and import path, and the installed plugins' entry points.

``rlinfo.rewards.REWARDS`` (name -> class) is built from ``BUILTIN_REWARDS``; a plugin package declares

    [project.entry-points."rlinfo.rewards"]
    curiosity = "my_package.rewards:Curiosity"
"""

from __future__ import annotations

from importlib import metadata

ENTRY_POINT_GROUP = "rlinfo.rewards"

BUILTIN_REWARDS: dict[str, str] = {
    # skill discovery: state-skill MI and its Wasserstein form, contrastive behaviour
    "diayn": "rlinfo.rewards.diayn:DIAYN",
    "dads": "rlinfo.rewards.dads:DADS",
    "metra": "rlinfo.rewards.metra:METRA",
    "lsd": "rlinfo.rewards.lsd:LSD",
    "csf": "rlinfo.rewards.csf:CSF",
    "becl": "rlinfo.rewards.becl:BeCL",
    "cic": "rlinfo.rewards.cic:CIC",
    # exploration and empowerment
    "rnd": "rlinfo.rewards.rnd:RND",
    "apt": "rlinfo.rewards.apt:APT",
    "icm": "rlinfo.rewards.icm:ICM",
    "disagreement": "rlinfo.rewards.disagreement:Disagreement",
    "proto": "rlinfo.rewards.proto:ProtoRL",
    "empowerment": "rlinfo.rewards.empowerment:Empowerment",
    # task rewards as modules (reward channels): the env's reward, the tabletop env's reach / safety
    "extrinsic": "rlinfo.rewards.compose:ExtrinsicReward",
    "tabletop_reach": "rlinfo.rewards.tabletop:TabletopReach",
    "tabletop_safety": "rlinfo.rewards.tabletop:TabletopSafety",
    "tabletop_metra": "rlinfo.rewards.tabletop:TabletopMETRA",  # METRA on the tabletop object's position
}


def plugin_rewards() -> dict[str, metadata.EntryPoint]:
    """Entry points of installed packages in the ``rlinfo.rewards`` group, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
