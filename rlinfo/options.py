"""Which options go together: every rule that involves more than one config key, in one place.

``check_options(cfg)`` refuses a combination that cannot run, in one :class:`ConfigError` line, when the
config is loaded (before anything is built or written). ``option_warnings(cfg, device)`` lists the
combinations that run but not as the user may expect (said once when training starts).
"""

from __future__ import annotations

from typing import Any

from rlinfo.errors import ConfigError

OFF_POLICY_ONLY = (("overlap", False), ("cuda_graph", False), ("precision", "float32"))


def check_options(cfg: Any) -> None:
    """Refuse combinations of keys that cannot run together."""
    on_policy = cfg.agent.name == "ppo"
    for option, default in OFF_POLICY_ONLY:
        value = getattr(cfg.train, option)
        if on_policy and value != default:
            shown = str(value).lower()
            raise ConfigError(f"train.{option}={shown} needs an off-policy agent (sac, sf_sac, slim), "
                              "not ppo")
    if cfg.train.n_step > 1 and (cfg.reward.extrinsic_weight or on_policy):
        raise ConfigError("train.n_step > 1 supports intrinsic rewards with SAC agents only")
    if cfg.train.n_step > 1 and (step := per_step_reward(cfg.reward)):
        raise ConfigError(
            f"train.n_step > 1 supports intrinsic rewards with SAC agents only: {step} is a per-step "
            "reward, and an n-step pair (s_t, s_t+k) would drop its rewards r_t+1 .. r_t+k-1"
        )
    if cfg.train.cuda_graph and isinstance(cfg.agent.params, dict) and cfg.agent.params.get("entropy"):
        raise ConfigError(
            "train.cuda_graph=true cannot replay agent.params.entropy (its schedule reads the run's progress)"
        )
    if cfg.agent.name == "sf_sac" and not _has_cumulant(cfg.reward.name):
        raise ConfigError(
            "agent.name=sf_sac needs a reward with a cumulant for its successor features (reward.name=csf)"
        )


def _has_cumulant(name: str) -> bool:
    from rlinfo.rewards import RewardLookupError, reward_class

    try:
        return hasattr(reward_class(name), "cumulant") if name != "none" else False
    except RewardLookupError:
        return True  # an unknown reward is reported on its own when the module is built


def option_warnings(cfg: Any, device: Any) -> list[str]:
    """Combinations that run, but not as fast or as far as the user may expect."""
    from rlinfo.nn import cpu_has_bfloat16

    out = []
    if cfg.agent.name != "ppo" and cfg.total_steps <= cfg.train.learning_starts:
        out.append(
            f"total_steps={cfg.total_steps} <= train.learning_starts={cfg.train.learning_starts}: "
            "no update will happen (the policy stays uniformly random)"
        )
    if cfg.train.precision == "bfloat16" and device.type == "cpu" and cpu_has_bfloat16() is False:
        out.append(
            "train.precision=bfloat16: this CPU has no native bfloat16 matmul (avx512_bf16 or amx_bf16), "
            "so torch emulates it and the updates will likely be slower than in float32"
        )
    if cfg.train.cuda_graph and device.type != "cuda":
        out.append("train.cuda_graph=true needs device=cuda: on the CPU every update runs eagerly")
    return out


def per_step_reward(reward: Any) -> str | None:
    """The first per-step reward (``IntrinsicReward.per_step``: task rewards, costs) among
    ``reward.name`` and the modules of ``reward.channels``, as 'reward.channels.<ch> (<name>)'; else None."""
    from rlinfo.rewards import RewardLookupError, reward_class

    named = {"reward.name": reward.name}
    for ch, spec in reward.channels.items():
        if isinstance(spec, dict):
            named[f"reward.channels.{ch}"] = spec.get("name")
    for path, name in named.items():
        try:
            cls = reward_class(name) if isinstance(name, str) and name != "none" else None
        except RewardLookupError:
            continue  # reported when the module is built
        if getattr(cls, "per_step", False):
            return f"{path} ({name})"
    return None
