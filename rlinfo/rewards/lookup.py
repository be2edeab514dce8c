"""From ``reward.name`` to a reward class: the built-in registry, installed plugins, or an import path.

    reward.name=metra                         # built in (rlinfo.rewards.REWARDS)
    reward.name=my_rewards:Curiosity          # a class in an importable module (the working directory
                                              # counts as importable, as for ``python -m``)
    reward.name=curiosity                     # an entry point of an installed package:
                                              #   [project.entry-points."rlinfo.rewards"]
                                              #   curiosity = "my_package.rewards:Curiosity"

Every class is checked against the :class:`IntrinsicReward` contract before it is used: a subclass of
``IntrinsicReward`` that implements ``reward`` and ``update`` and accepts ``obs_dim`` and ``action_dim``.
A missing piece is one line naming it (:class:`RewardLookupError`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys

from rlinfo.reward_names import plugin_rewards
from rlinfo.rewards.base import IntrinsicReward


class RewardLookupError(ValueError):
    """A reward name that names nothing, or a class that breaks the IntrinsicReward contract."""


def import_class(path: str) -> object:
    """``module.sub:Class`` -> the object; the working directory is searched after ``sys.path``."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise RewardLookupError(f"reward import path {path!r} must look like module.path:ClassName")
    cwd_added = os.getcwd() not in sys.path
    if cwd_added:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise RewardLookupError(f"cannot import {module_name!r} for reward {path!r}: {e}") from None
    finally:
        if cwd_added:
            sys.path.remove(os.getcwd())
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RewardLookupError(f"module {module_name!r} has no {attr!r} (reward {path!r})")
        obj = getattr(obj, part)
    return obj


def check_contract(cls: object, where: str) -> type[IntrinsicReward]:
    """``cls`` if it satisfies the IntrinsicReward contract, else one line naming what is missing."""
    if not inspect.isclass(cls) or not issubclass(cls, IntrinsicReward):
        raise RewardLookupError(f"{where} is not a subclass of rlinfo.rewards.IntrinsicReward")
    for method in ("reward", "update"):
        if getattr(cls, method) is getattr(IntrinsicReward, method):
            raise RewardLookupError(f"{where} does not implement {method}(batch) (IntrinsicReward needs it)")
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    missing = [n for n in ("obs_dim", "action_dim") if n not in params and not takes_any]
    if missing:
        raise RewardLookupError(f"{where}.__init__ must accept {' and '.join(missing)} (keyword arguments)")
    return cls


def reward_class(name: str, registry: dict[str, type[IntrinsicReward]]) -> type[IntrinsicReward]:
    """The class ``name`` refers to: ``registry`` first, then an import path, then installed plugins."""
    if name in registry:
        return registry[name]
    if ":" in name:
        return check_contract(import_class(name), name)
    plugins = plugin_rewards()
    if name in plugins:
        try:
            cls = plugins[name].load()
        except Exception as e:  # a broken plugin package: one line, not its traceback
            where = f"the reward plugin {name!r} ({plugins[name].value})"
            raise RewardLookupError(f"cannot load {where}: {e}") from None
        return check_contract(cls, f"plugin {name!r} ({plugins[name].value})")
    known = ", ".join([*registry, *plugins])
    raise RewardLookupError(f"unknown reward {name!r}; known: {known} (or module.path:ClassName)")
