"""Which options go together: every rule that involves more than one config key, in one place.

``check_options(cfg)`` refuses a combination that cannot run, in one :class:`ConfigError` line, when the
config is loaded (before anything is built or written). ``option_warnings(cfg, device)`` lists the
combinations that run but not as the user may expect (said once when training starts).
"""

from __future__ import annotations

from typing import Any

from rlinfo.errors import ConfigError

OFF_POLICY_ONLY = (("overlap", False), ("cuda_graph", False), ("precision", "float32"),
                   ("time_limit_bootstrap", True), ("warmup", "random"))  # fmt: skip
SAC_ONLY = ("alpha_init", "learn_alpha", "target_entropy_scale")  # agent keys DDPG has no use for


def check_options(cfg: Any) -> None:
    """Refuse combinations of keys that cannot run together."""
    on_policy = cfg.agent.name == "ppo"
    for option, default in OFF_POLICY_ONLY:
        value = getattr(cfg.train, option)
        if on_policy and value != default:
            shown = str(value).lower()
            raise ConfigError(
                f"train.{option}={shown} needs an off-policy agent (sac, sf_sac, slim, ddpg), not ppo"
            )
    if cfg.agent.name == "ddpg":
        _refuse_sac_keys(cfg.agent)
    if cfg.train.n_step > 1 and on_policy:
        raise ConfigError("train.n_step > 1 needs an off-policy agent (its pairs come from a replay buffer)")
    if cfg.train.n_step > 1 and (step := per_step_reward(cfg.reward)):
        raise ConfigError(
            f"train.n_step > 1 sums only the env's reward (reward.extrinsic_weight) over the k steps: {step} "
            "is a per-step reward, and an n-step pair (s_t, s_t+k) would drop its rewards r_t+1 .. r_t+k-1"
        )
    if cfg.train.cuda_graph and isinstance(cfg.agent.params, dict) and cfg.agent.params.get("entropy"):
        raise ConfigError(
            "train.cuda_graph=true cannot replay agent.params.entropy (its schedule reads the run's progress)"
        )
    if cfg.agent.name == "sf_sac" and not _has_cumulant(cfg.reward.name):
        raise ConfigError(
            "agent.name=sf_sac needs a reward with a cumulant for its successor features (reward.name=csf)"
        )
    _check_finetune(cfg.finetune)


FINETUNE_SKILLS = ("random", "fixed", "mean", "grid", "regress")  # rlinfo/run/finetune.py


def _check_finetune(finetune: Any) -> None:
    if finetune.skill not in FINETUNE_SKILLS:
        raise ConfigError(f"finetune.skill takes {', '.join(FINETUNE_SKILLS)}, got {finetune.skill!r}")
    if finetune.grid_size < 1:
        raise ConfigError(f"finetune.grid_size must be >= 1, got {finetune.grid_size}")


def _refuse_sac_keys(agent: Any) -> None:
    """SAC's temperature keys set away from their defaults would silently do nothing for DDPG."""

    def shown(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    defaults = type(agent)()  # the AgentConfig dataclass's defaults
    for key in SAC_ONLY:
        value, default = getattr(agent, key), getattr(defaults, key)
        if value != default:
            raise ConfigError(
                f"agent.{key}={shown(value)} is a SAC key: agent.name=ddpg has no temperature (it explores "
                f"with agent.params.stddev); remove it or set agent.{key}={shown(default)}"
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
            "no update will happen (the policy stays "
            + ("uniformly random)" if cfg.train.warmup == "random" else "untrained)")
        )
    if cfg.train.precision == "bfloat16" and device.type == "cpu" and cpu_has_bfloat16() is False:
        out.append(
            "train.precision=bfloat16: this CPU has no native bfloat16 matmul (avx512_bf16 or amx_bf16), "
            "so torch emulates it, tens of times slower than float32 (0.8 against 51 GFLOP/s measured on "
            "an AVX2 EPYC core): use train.precision=float32 here"
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
