"""Build every part of a run from a :class:`Config`, checking everything before anything is written.

:func:`build` returns :class:`Parts`: device, vector env, reward module, agent and the
:class:`TrainingReward` the agent learns from, chosen once here rather than in the loop:

- ``scalar`` (SAC, PPO): r = intrinsic_weight · r_int + extrinsic_weight · r_ext, shape [B];
- ``channels`` (SLIM): intrinsic_weight · r_c for every reward channel, [B, C], one critic each;
- ``cumulant`` (CSF's successor-feature critic): intrinsic_weight · Δφ, [B, D], ψ's TD target.

A wrong env name, reward name, ``reward.params`` or agent parameter raises a one-line
:class:`~rlinfo.errors.RlinfoError` from :func:`build`, so the CLI creates the run directory only after
it succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from rlinfo.agents.ddpg import DDPG
from rlinfo.agents.multi_critic import MultiCriticSAC
from rlinfo.agents.sac import SAC
from rlinfo.agents.successor_features import SuccessorFeatureSAC
from rlinfo.config import AgentConfig, Config, check_reward_channels, validate_kwargs
from rlinfo.errors import ConfigError, RlinfoError, did_you_mean
from rlinfo.reward_names import plugin_rewards
from rlinfo.rewards import (
    REWARDS,
    IntrinsicReward,
    Normalized,
    RewardChannels,
    RewardLookupError,
    SkillReward,
    WeightedSum,
    reward_class,
)
from rlinfo.run.host import check_network_memory, keep_freed_memory, thread_count
from rlinfo.types import Batch

# slim: multi-critic SAC; sf_sac: SAC with CSF's successor-feature critic; ddpg: URLB's DDPG;
# ppo: on-policy (run/onpolicy.py)
AGENTS = ("sac", "sf_sac", "slim", "ddpg", "ppo")


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
    """The reward module named by ``cfg.reward.name`` (None for ``"none"``).

    With ``cfg.reward.channels`` the weighted sum r = Σ_c w_c r_c of the channels (``WeightedSum``).
    """
    if cfg.reward.channels:
        channels = build_channels(cfg, obs_dim, action_dim)
        return WeightedSum(dict(channels.channels.items()), channels.weights)
    name = cfg.reward.name
    if name == "none":
        return None
    return reward_module(name, cfg.reward.params, "reward", obs_dim, action_dim, known_extra="none, ")


def reward_module(
    name: str, params: dict[str, Any], path: str, obs_dim: int, action_dim: int, known_extra: str = ""
) -> IntrinsicReward:
    """``reward_class(name)(obs_dim, action_dim, **params)`` (built-in, import path or plugin); every mistake
    a one-line ConfigError at ``path``."""
    if name not in REWARDS and ":" not in name and name not in plugin_rewards():
        hint = did_you_mean(name, REWARDS)
        hint = f"; {hint}" if hint else ""
        known = ", ".join([*REWARDS, *plugin_rewards()])
        raise ConfigError(
            f"unknown {path}.name {name!r}{hint} (known: {known_extra}{known}; or module.path:ClassName)"
        )
    try:
        cls = reward_class(name)
    except RewardLookupError as e:
        raise ConfigError(f"{path}.name: {e}") from None
    validate_kwargs(cls, params, f"{path}.params", reserved=("obs_dim", "action_dim"))
    try:
        return cls(obs_dim=obs_dim, action_dim=action_dim, **params)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{path}.params: {str(e).splitlines()[0]}") from None


def build_channels(cfg: Config, obs_dim: int, action_dim: int) -> RewardChannels:
    """The named reward channels of ``cfg.reward.channels`` (one critic each in a multi-critic agent).

    Each channel ``{name, params, weight, normalize}`` builds ``REWARDS[name](obs_dim, action_dim,
    **params)``, wrapped in ``Normalized(mode=...)`` when ``normalize`` is true (mode ``std``) or a mode.
    """
    check_reward_channels(cfg.reward.channels)
    if not cfg.reward.channels:
        raise ConfigError("reward.channels is empty: give at least one, e.g. reward.channels.a.name=rnd")
    modules: dict[str, IntrinsicReward] = {}
    weights: dict[str, float] = {}
    for ch, spec in cfg.reward.channels.items():
        path = f"reward.channels.{ch}"
        module = reward_module(spec["name"], dict(spec.get("params", {})), path, obs_dim, action_dim)
        normalize = spec.get("normalize", False)
        if normalize:
            module = Normalized(module, mode="std" if normalize is True else normalize)
        modules[ch], weights[ch] = module, float(spec.get("weight", 1.0))
    try:
        return RewardChannels(modules, weights)
    except ValueError as e:
        raise ConfigError(f"reward.channels: {str(e).splitlines()[0]}") from None


def skill_dim_of(module: IntrinsicReward | None) -> int:
    """Skill dimension of a SkillReward (composites with one skill child are SkillRewards too), else 0."""
    return module.skill_space.dim if isinstance(module, SkillReward) else 0


def build_agent(
    cfg: AgentConfig,
    obs_dim: int,
    action_dim: int,
    low: Any,
    high: Any,
    channel_weights: list[float] | None = None,
    skill_dim: int = 0,
) -> SAC | DDPG:
    """The agent named by ``cfg.name``; ``cfg.params`` are extra constructor keyword arguments.

    ``slim`` (multi-critic SAC) takes its channel weights from ``reward.channels.<c>.weight``; ``sf_sac``
    (successor features) its ``skill_dim`` from the run's skill space; ``ddpg`` (URLB's DDPG) takes
    ``hidden_dim``, ``num_layers``, ``lr``, ``gamma``, ``tau`` and, in ``agent.params``, ``stddev`` and
    ``stddev_clip`` (SAC's temperature keys are refused with the config, ``rlinfo/options.py``).
    """
    if cfg.name not in AGENTS:
        raise ConfigError(f"unknown agent.name {cfg.name!r} (known: {', '.join(AGENTS)})")
    if cfg.name == "ppo":
        raise ConfigError("agent.name=ppo is built by build_ppo")
    if cfg.name == "ddpg":
        return build_ddpg(cfg, obs_dim, action_dim, low, high)
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
    cls: Any = {"slim": MultiCriticSAC, "sf_sac": SuccessorFeatureSAC}.get(cfg.name, SAC)
    reserved = ("obs_dim", "action_dim", "action_low", "action_high", "channel_weights", "skill_dim",
                "critic_outputs", *explicit)  # fmt: skip
    validate_kwargs(cls, cfg.params, "agent.params", reserved=reserved)
    bounds = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
    if cfg.name == "slim":
        if not channel_weights:
            raise ConfigError("agent.name=slim needs reward.channels (one critic per channel)")
        try:
            weights = {"channel_weights": channel_weights}
            return cls(obs_dim, action_dim, *bounds, **weights, **explicit, **cfg.params)
        except ValueError as e:
            raise ConfigError(f"agent.params: {str(e).splitlines()[0]}") from None
    if cfg.name == "sf_sac":
        if skill_dim < 1:
            raise ConfigError("agent.name=sf_sac needs a skill reward (reward.name=csf)")
        explicit["skill_dim"] = skill_dim
    try:
        return cls(obs_dim, action_dim, *bounds, **explicit, **cfg.params)
    except ValueError as e:
        raise ConfigError(f"agent.params: {str(e).splitlines()[0]}") from None


def build_ddpg(cfg: AgentConfig, obs_dim: int, action_dim: int, low: Any, high: Any) -> DDPG:
    """URLB's DDPG (agents/ddpg.py) from ``agent.hidden_dim``, ``num_layers``, ``lr``, ``gamma``, ``tau`` and
    ``agent.params`` (``stddev``, ``stddev_clip``)."""
    explicit = dict(
        hidden_dim=cfg.hidden_dim, num_layers=cfg.num_layers, lr=cfg.lr, gamma=cfg.gamma, tau=cfg.tau
    )
    reserved = ("obs_dim", "action_dim", "action_low", "action_high", *explicit)
    validate_kwargs(DDPG, cfg.params, "agent.params", reserved=reserved)
    bounds = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
    try:
        return DDPG(obs_dim, action_dim, *bounds, **explicit, **cfg.params)
    except ValueError as e:
        raise ConfigError(f"agent.params: {str(e).splitlines()[0]}") from None


def build_ppo(cfg: AgentConfig, obs_dim: int, action_dim: int, discrete: bool, skill_dim: int = 0) -> Any:
    """PPO (agents/ppo.py) from ``agent.hidden_dim``, ``num_layers``, ``lr``, ``gamma`` and ``agent.params``

    (e.g. ``clip_coef``, ``update_epochs``, ``entropy: {name: epo, ...}``); SAC-only keys are ignored.
    """
    from rlinfo.agents.ppo import PPO

    explicit = dict(hidden_dim=cfg.hidden_dim, num_layers=cfg.num_layers, lr=cfg.lr, gamma=cfg.gamma)
    reserved = ("obs_dim", "action_dim", "discrete", "skill_dim", *explicit)
    validate_kwargs(PPO, cfg.params, "agent.params", reserved=reserved)
    try:
        return PPO(obs_dim, action_dim, discrete, skill_dim, **explicit, **cfg.params)
    except ValueError as e:
        raise ConfigError(f"agent.params: {str(e).splitlines()[0]}") from None


class TrainingReward:
    """The reward the agent learns from, of one kind chosen at build time (see the module docstring).

    ``__call__(batch)`` returns ``(target, intrinsic, stats)``: the agent's target, the reward module's
    own scalar reward r_int [B] (None without a module; for intrinsic returns) and logged means.
    """

    def __init__(self, cfg: Config, module: IntrinsicReward | None, kind: str) -> None:
        self.module, self.kind = module, kind
        self.w_int, self.w_ext = cfg.reward.intrinsic_weight, cfg.reward.extrinsic_weight
        # reward.intrinsic_weight = 0 (fine-tuning): the module only supplies skills, never trained or scored
        self.uses_module = module is not None and (self.w_int != 0 or kind == "channels")

    def __call__(self, batch: Batch) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        module = self.module
        if self.kind == "channels":  # SLIM: each channel's reward goes to its own critic
            rewards = module.rewards(batch)  # type: ignore[union-attr]
            stats = {f"reward/mean_{c}": rewards[:, i].mean() for i, c in enumerate(module.names)}
            return self.w_int * rewards, rewards @ module.weight_vector, stats  # type: ignore[union-attr]
        r_int = module.reward(batch) if self.uses_module else None
        target = torch.zeros(len(batch), device=batch.obs.device)
        if r_int is not None:
            target = target + self.w_int * r_int
        if self.w_ext and batch.reward is not None:
            target = target + self.w_ext * batch.reward
        stats = {"reward/mean": target.mean()}
        if self.kind == "cumulant":  # ψ's TD target is the vector cumulant Δφ (CSF)
            target = self.w_int * module.cumulant(batch)  # type: ignore[union-attr]
        return target, r_int, stats


@dataclass
class Parts:
    """Everything a run is made of; built by :func:`build` before the run directory exists."""

    cfg: Config
    device: torch.device
    envs: gym.vector.VectorEnv
    reward_module: IntrinsicReward | None
    agent: Any  # SAC, SuccessorFeatureSAC, MultiCriticSAC, DDPG or PPO
    training_reward: TrainingReward
    obs_dim: int
    action_dim: int
    skill_dim: int
    on_policy: bool

    def close(self) -> None:
        self.envs.close()


def check_renders(env_name: str) -> None:
    """Periodic videos: an env that renders and a headless OpenGL backend (chosen now, before MuJoCo is
    imported where possible), else one line."""
    from rlinfo.evaluation.video import RENDERED_ENVS, renders, select_gl_backend

    if not renders(env_name):
        names = ", ".join(n + "*" if n.endswith(":") else n for n in RENDERED_ENVS)
        raise ConfigError(f"eval.tensorboard_video needs an env that renders ({names}), not {env_name!r}")
    select_gl_backend()


def build(cfg: Config) -> Parts:
    """Build and check every part of the run ``cfg`` describes (one-line errors; nothing is written)."""
    check_network_memory(cfg)
    torch.set_num_threads(thread_count(cfg))
    keep_freed_memory()
    device = resolve_device(cfg.device)
    if cfg.eval.tensorboard_video:
        check_renders(cfg.env.name)
    torch.manual_seed(cfg.seed)
    envs = make_envs(cfg, cfg.env.num_envs, cfg.seed)
    try:
        return _build_learning_parts(cfg, device, envs)
    except BaseException:
        envs.close()
        raise


def _build_learning_parts(cfg: Config, device: torch.device, envs: gym.vector.VectorEnv) -> Parts:
    on_policy = cfg.agent.name == "ppo"  # combinations of options were checked with the config
    if on_policy:
        obs_dim, action_dim, discrete = space_dims(envs)
    else:
        envs.action_space.seed(cfg.seed)
        obs_dim, action_dim, low, high = env_dims(envs)
    module = build_reward(cfg, obs_dim, action_dim)
    if module is not None:
        module.to(device)
    skill_dim = skill_dim_of(module)
    kind = "scalar"
    if on_policy:
        agent = build_ppo(cfg.agent, obs_dim + skill_dim, action_dim, discrete, skill_dim)
    else:
        slim = cfg.agent.name == "slim" and bool(cfg.reward.channels)
        weights = list(module.weights.values()) if slim else None  # type: ignore[union-attr]
        agent = build_agent(cfg.agent, obs_dim + skill_dim, action_dim, low, high, weights, skill_dim)
        if cfg.agent.name == "slim":
            kind = "channels"
        elif isinstance(agent, SuccessorFeatureSAC):  # CSF's critic: TD on the cumulant Δφ
            kind = "cumulant"
    agent.to(device)
    reward = TrainingReward(cfg, module, kind)
    return Parts(cfg, device, envs, module, agent, reward, obs_dim, action_dim, skill_dim, on_policy)


def space_dims(envs: gym.vector.VectorEnv) -> tuple[int, int, bool]:
    """(obs_dim, action_dim, discrete): action_dim is the number of actions for a Discrete space."""
    obs_space, act = envs.single_observation_space, envs.single_action_space
    if not isinstance(obs_space, gym.spaces.Box):
        raise RlinfoError("PPO needs a flat Box observation space")
    if isinstance(act, gym.spaces.Discrete):
        return int(np.prod(obs_space.shape)), int(act.n), True
    if isinstance(act, gym.spaces.Box):
        return int(np.prod(obs_space.shape)), int(np.prod(act.shape)), False
    raise RlinfoError(f"PPO needs a Discrete or Box action space, got {type(act).__name__}")
