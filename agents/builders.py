"""Build the parts of a run (device, environments, reward module, agent) from a :class:`Config`."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlinfo.agents.sac import SAC
from rlinfo.config import AgentConfig, Config, validate_kwargs
from rlinfo.errors import ConfigError, RlinfoError
from rlinfo.rewards import REWARDS, IntrinsicReward, SkillReward


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA on a machine without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} requested but CUDA is not available; use device=cpu")
    return torch.device(name)


def make_envs(cfg: Config, num_envs: int, seed: int) -> gym.vector.VectorEnv:
    """The vector env of ``cfg.env`` (errors from bad names or kwargs become one-line errors)."""
    from rlinfo.envs import make_vec

    try:
        return make_vec(cfg.env.name, num_envs=num_envs, seed=seed, **cfg.env.kwargs)
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise RlinfoError(f"cannot make env {cfg.env.name!r}: {str(e).splitlines()[0]}") from None
    except RlinfoError:
        raise
    except Exception as e:  # e.g. MuJoCo rendering or a simulator library unavailable
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise RlinfoError(f"cannot make env {cfg.env.name!r}: {type(e).__name__}: {reason}") from None


def env_dims(envs: gym.vector.VectorEnv) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(obs_dim, action_dim, low, high) of a vector env with flat Box spaces."""
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    if not isinstance(act_space, gym.spaces.Box) or not isinstance(obs_space, gym.spaces.Box):
        raise RlinfoError("SAC needs flat Box observation and action spaces")
    return int(np.prod(obs_space.shape)), int(np.prod(act_space.shape)), act_space.low, act_space.high


def build_reward(cfg: Config, obs_dim: int, action_dim: int) -> IntrinsicReward | None:
    """The reward module named by ``cfg.reward.name`` (None for ``"none"``)."""
    name = cfg.reward.name
    if name == "none":
        return None
    if name not in REWARDS:
        import difflib

        close = difflib.get_close_matches(name, list(REWARDS), n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(f"unknown reward.name {name!r}{hint} (known: none, {', '.join(REWARDS)})")
    cls = REWARDS[name]
    validate_kwargs(cls, cfg.reward.params, "reward.params", reserved=("obs_dim", "action_dim"))
    try:
        return cls(obs_dim=obs_dim, action_dim=action_dim, **cfg.reward.params)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"reward.params: {str(e).splitlines()[0]}") from None


def skill_dim_of(module: IntrinsicReward | None) -> int:
    return module.skill_space.dim if isinstance(module, SkillReward) else 0


def build_agent(cfg: AgentConfig, obs_dim: int, action_dim: int, low: Any, high: Any) -> SAC:
    """The agent named by ``cfg.name``; ``cfg.params`` are extra constructor keyword arguments."""
    if cfg.name != "sac":
        raise ConfigError(f"unknown agent.name {cfg.name!r} (known: sac)")
    explicit = dict(
        hidden_dim=cfg.hidden_dim,
        num_layers=cfg.num_layers,
        lr=cfg.lr,
        gamma=cfg.gamma,
        tau=cfg.tau,
        alpha_init=cfg.alpha_init,
        learn_alpha=cfg.learn_alpha,
        target_entropy_scale=cfg.target_entropy_scale,
    )
    validate_kwargs(
        SAC,
        cfg.params,
        "agent.params",
        reserved=("obs_dim", "action_dim", "action_low", "action_high", *explicit),
    )
    bounds = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
    return SAC(obs_dim, action_dim, *bounds, **explicit, **cfg.params)
