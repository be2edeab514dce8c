"""Typed run configuration: dataclasses, YAML presets and ``key=value`` command-line overrides.

Resolution order: dataclass defaults (METRA on the open-square maze) <- preset or
YAML file <- command-line overrides. OmegaConf merges and type-checks; YAML files are read with
``yaml.safe_load`` and nothing is ever ``eval``-ed. Every failure is a :class:`ConfigError` with a
one-line message naming the key path (unknown keys also name the closest valid keys).

Free-form parameter dicts (``reward.params``, ``env.kwargs``) are checked against the keyword
arguments of the class or function they are passed to, see :func:`validate_kwargs`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from rlinfo.errors import ConfigError, did_you_mean, keyword_names, signatures


@dataclass
class EnvConfig:
    name: str = "maze:square"  # any name from `rlinfo list`
    num_envs: int = 16  # parallel environments in one vector env
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to rlinfo.envs.make


@dataclass
class AgentConfig:
    """Soft actor-critic (Haarnoja et al. 2018) with twin critics and automatic temperature."""

    name: str = "sac"
    hidden_dim: int = 256
    num_layers: int = 2
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 5e-3  # Polyak rate of the target critics
    batch_size: int = 256
    alpha_init: float = 0.1
    learn_alpha: bool = True
    target_entropy_scale: float = 1.0  # target entropy = -scale * action_dim (METRA: 0.5)
    # Keyword arguments specific to the agent class named by ``name`` (e.g. PPO's clip range, the
    # multi-critic agent's channel weights); checked against that class's constructor.
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RewardConfig:
    name: str = "metra"  # a module of rlinfo.rewards, or "none" for the extrinsic reward only
    params: dict[str, Any] = field(default_factory=dict)  # constructor keyword arguments
    intrinsic_weight: float = 1.0
    extrinsic_weight: float = 0.0
    # Several reward modules at once (``name`` and ``params`` are then ignored): channel name ->
    # {name: <module>, params: {...}, weight: 1.0, normalize: false|true|std|meanstd}. SAC gets the
    # weighted sum; a multi-critic agent one critic per channel. See rlinfo.rewards.compose.
    channels: dict[str, Any] = field(default_factory=dict)


PRECISIONS = ("float32", "bfloat16")  # train.precision (rlinfo.nn.compute_dtype)
WARMUPS = ("random", "policy")  # train.warmup: who acts before learning_starts


@dataclass
class TrainConfig:
    """Collect ``rollout_steps`` vector steps, then make ``grad_steps`` updates, and repeat.

    Epoch-style (METRA): rollout_steps = episode length, grad_steps = K.
    Per-step with update-to-data ratio u: rollout_steps = 1, grad_steps = u * num_envs.
    """

    rollout_steps: int = 50
    grad_steps: int = 64
    buffer_size: int = 200_000
    learning_starts: int = 4_000  # env steps collected before the first update
    # off-policy, before learning_starts: uniformly random actions ("random"), or the untrained policy's
    # samples ("policy", as the METRA and CSF reference trainers collect their first 10,000 transitions)
    warmup: str = "random"
    reward_update_every: int = 1  # reward-module updates every N agent updates
    log_every: int = 2_000  # env steps between TensorBoard writes
    checkpoint_every: int = 20_000  # env steps between checkpoints (0: only at the end)
    eval_every: int = 0  # env steps between evaluations (0: only at the end)
    threads: int = 0  # torch CPU threads; 0: by network width (1 below 256 units, every core from 256)
    keep_checkpoints: int = 3  # newest step files kept in checkpoints/ (0: all)
    n_step: int = 1  # reward pairs (s_t, s_{t+n}): 1 = the papers' one-step pairs; URLB uses 3
    # skill methods: a fresh skill every N steps of an episode (0: one skill per episode, as the METRA,
    # LSD, CSF and DADS references; URLB's DIAYN, CIC and BeCL redraw every 50 steps)
    skill_every: int = 0
    # off-policy: a time-limit truncation bootstraps (true), or is stored as a termination (false: the
    # METRA reference's trainer marks the last step of every path done)
    time_limit_bootstrap: bool = True
    overlap: bool = False  # off-policy: collect the next rollout in a worker thread during the updates
    cuda_graph: bool = False  # device=cuda, off-policy: replay each update from a CUDA graph
    precision: str = "float32"  # off-policy updates: float32, or bfloat16 matmuls in the networks
    progress: bool = True


@dataclass
class EvalConfig:
    num_rollouts: int = 48  # METRA's policy state coverage protocol
    max_steps: int = 0  # rollout length (0: the env's own episode length)
    figure: bool = True
    tensorboard_video: int = 0  # N skills as an animated GIF in TensorBoard at each evaluation (0: off)


@dataclass
class FinetuneConfig:
    """Where a fine-tuning run starts (``rlinfo finetune``, rlinfo/run/finetune.py); empty ``source``: a run
    from scratch. The chosen skill is written here, so a resumed run keeps it."""

    source: str = ""  # the pretrained run directory
    snapshot: int = 0  # the step of its checkpoint the weights come from
    skill: str = "random"  # random | fixed | mean | grid | regress: how the skill is chosen
    skill_vector: list[float] = field(default_factory=list)  # the chosen skill (all but random)
    grid_size: int = 16  # grid: continuous skills tried, one episode each (discrete: every skill)


@dataclass
class Config:
    total_steps: int = 200_000
    seed: int = 0
    run_name: str = ""  # empty: <reward>_<env>_s<seed>_<time>
    run_root: str = "runs"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)


# ----------------------------------------------------------------------------- presets


def preset_names() -> list[str]:
    """Names of the YAML presets shipped in ``rlinfo.configs``."""
    files = resources.files("rlinfo.configs").iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def read_preset_comment(name: str, width: int = 90) -> str:
    """The first sentence of a shipped preset's leading comment (what it trains), at most ``width`` long."""
    text = resources.files("rlinfo.configs").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    sentence = re.split(r"(?<!\bal)(?<!e\.g)(?<!i\.e)\. |: ", " ".join(lines))[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[: width - 1].rstrip() + "…"


def part_names() -> list[str]:
    """Names of the shared preset parts in ``rlinfo.configs/parts`` (what ``base:`` may name)."""
    files = resources.files("rlinfo.configs").joinpath("parts").iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def read_yaml(source: str | Path) -> dict[str, Any]:
    """Read a preset name or YAML file into a plain dict (``yaml.safe_load``; mapping required).

    A top-level ``base: <part>`` (or a list of parts) starts from the shared parts in
    ``configs/parts/`` (an env with its budget and agent widths, e.g. ``ant``), merged in order, then
    the file's own keys on top: presets say only what is theirs.
    """
    source = str(source)
    if source.endswith((".yaml", ".yml")) or Path(source).is_file():
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"config file not found: {source}")
        text, where = path.read_text(encoding="utf-8"), str(path)
    else:
        presets = preset_names()
        if source not in presets:
            hint = "; " + did_you_mean(source, presets, n=3) if did_you_mean(source, presets) else ""
            raise ConfigError(f"unknown preset {source!r}{hint} (`rlinfo list` shows all {len(presets)})")
        text = resources.files("rlinfo.configs").joinpath(f"{source}.yaml").read_text(encoding="utf-8")
        where = f"preset {source}"
    data = _parse_yaml(text, where)
    bases = data.pop("base", [])
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        known = ", ".join(part_names())
        raise ConfigError(f"{where}: 'base' must be a part name or a list of them (parts: {known})")
    if not bases:
        return data
    merged: dict[str, Any] = {}
    for part in [*(_read_part(name, where) for name in bases), data]:
        merged = _merged(merged, part)
    return merged


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: mappings merge key by key, any other value (lists too) replaces."""
    out = dict(base)
    for key, value in top.items():
        both = isinstance(out.get(key), dict) and isinstance(value, dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def _read_part(name: str, where: str) -> dict[str, Any]:
    parts = part_names()
    if name not in parts:
        hint = "; " + did_you_mean(name, parts) if did_you_mean(name, parts) else ""
        raise ConfigError(f"{where}: unknown base part {name!r}{hint} (parts: {', '.join(parts)})")
    text = resources.files("rlinfo.configs").joinpath("parts", f"{name}.yaml").read_text(encoding="utf-8")
    data = _parse_yaml(text, f"part {name}")
    if "base" in data:
        raise ConfigError(f"part {name}: a part cannot have a base of its own")
    return data


MAX_YAML_DEPTH = 32
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it: ~10x faster


def _too_deep(where: str, mark: Any) -> ConfigError:
    return ConfigError(
        f"{where} nests deeper than {MAX_YAML_DEPTH} levels at line {mark.line + 1}: not an rlinfo config"
    )


def _parse_yaml(text: str, where: str) -> dict[str, Any]:
    """``yaml.safe_load`` of a config text; one-line errors naming ``where``.

    Anchors and aliases are refused before anything is built: a few hundred bytes of nested aliases
    would otherwise expand to billions of nodes (a "YAML bomb"). So is nesting deeper than
    ``MAX_YAML_DEPTH``, at the first level past it (a config is a few levels deep; thousands of levels
    would cost minutes of parsing and overflow the recursion limit).
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=SAFE_LOADER):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise _too_deep(where, event.start_mark)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise ConfigError(
                    f"{where} uses a YAML anchor or alias at line {mark.line + 1}: not allowed in rlinfo "
                    "configs (write the values out)"
                )
        data = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if mark and "maximum nesting depth" in problem:  # libyaml >= 0.2.5 scans ahead to its own limit
            raise _too_deep(where, mark) from None
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"malformed YAML in {where}{at}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of config keys, got {type(data).__name__}")
    return data


# ----------------------------------------------------------------------------- validation


def _field_type(path: str) -> Any:
    """The annotated type of a dotted config path, or None if it is not a dataclass field."""
    cls: Any = Config
    annotation: Any = None
    for part in path.split("."):
        if not dataclasses.is_dataclass(cls):
            return None
        hints = typing.get_type_hints(cls)
        if part not in hints:
            return None
        annotation = cls = hints[part]
    return annotation


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return "mapping" if dataclasses.is_dataclass(annotation) else annotation.__name__
    return str(annotation).replace("typing.", "")


def _known_keys(parent: str) -> list[str]:
    cls = _field_type(parent) if parent else Config
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []


def _explain(e: OmegaConfBaseException, source: str) -> ConfigError:
    full_key = str(getattr(e, "full_key", "") or "")
    if isinstance(e, ConfigKeyError) or "not in" in str(getattr(e, "msg", "")):
        parent, _, key = full_key.rpartition(".")
        known = _known_keys(parent)
        hint = did_you_mean(key, known, n=3, cutoff=0.5, prefix=f"{parent}." if parent else "")
        valid = f" (valid keys: {', '.join(known)})"
        return ConfigError(f"unknown config key {full_key!r} in {source}{'; ' + hint if hint else valid}")
    expected = _type_name(_field_type(full_key)) if full_key else "a value of another type"
    msg = str(getattr(e, "msg", e)).splitlines()[0]
    where = repr(full_key) if full_key else "a config section"
    return ConfigError(f"wrong type for {where} in {source}: expected {expected} ({msg})")


def _check_sections(data: Any, cls: Any, prefix: str, source: str) -> None:
    """Reject scalars given for whole sections (``env=3``) before OmegaConf sees them."""
    hints = typing.get_type_hints(cls)
    for key, value in data.items() if isinstance(data, (dict, DictConfig)) else []:
        annotation = hints.get(str(key))
        if dataclasses.is_dataclass(annotation):
            path = f"{prefix}{key}"
            if not isinstance(value, (dict, DictConfig)):
                raise ConfigError(
                    f"wrong type for '{path}' in {source}: expected a mapping of {path}.* keys, "
                    f"got {type(value).__name__} {value!r}"
                )
            _check_sections(value, annotation, f"{path}.", source)


def _integral_ints(data: Any, cls: Any) -> Any:
    """``data`` with integral scientific notation read as int where the field is an int (``total_steps=1e6``).

    OmegaConf reads ``1e6`` as a float and YAML as a string; both become ``1000000`` for int fields. A
    value that is not integral (``2.5e3`` is, ``1e-3`` is not) is left for the type check to reject.
    """
    if not isinstance(data, (dict, DictConfig)):
        return data
    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data)
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in data.items():
        annotation = hints.get(str(key))
        if dataclasses.is_dataclass(annotation):
            value = _integral_ints(value, annotation)
        elif annotation is int and isinstance(value, (float, str)) and not isinstance(value, bool):
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if number.is_integer() and abs(number) < 2**63:
                value = int(number)
        out[key] = value
    return out


def _merge(base: DictConfig, data: Any, source: str) -> DictConfig:
    _check_sections(data, Config, "", source)
    data = _integral_ints(data, Config)
    try:
        return typing.cast(DictConfig, OmegaConf.merge(base, data))
    except OmegaConfBaseException as e:
        raise _explain(e, source) from None


# free-form mappings: ``key={...}`` on the command line replaces the preset's mapping (``reward.params={}``
# clears it), and so does a mapping given for a key inside one (``agent.params.entropy={name: none}``
# drops the preset's other entropy options); ``key.sub=value`` still changes one entry
REPLACEABLE = ("reward.params", "agent.params", "env.kwargs", "reward.channels")


def replaced_mappings(overrides: list[str], parsed: DictConfig) -> list[str]:
    """The override keys whose ``{...}`` value replaces a free-form mapping rather than merging into it."""
    keys = dict.fromkeys(item.partition("=")[0].strip() for item in overrides)
    inside = [k for k in keys if k.startswith(tuple(f"{r}." for r in REPLACEABLE))]
    return [k for k in keys if k in REPLACEABLE] + [
        k for k in inside if isinstance(OmegaConf.select(parsed, k), DictConfig)
    ]


def parse_overrides(overrides: list[str]) -> DictConfig:
    """Parse ``key.path=value`` strings (values read as YAML scalars by OmegaConf)."""
    for item in overrides:
        key, eq, _ = item.partition("=")
        if not eq or not key.strip() or " " in key.strip():
            raise ConfigError(f"malformed override {item!r}: expected key=value, e.g. agent.lr=3e-4")
    try:
        return OmegaConf.from_dotlist(overrides)
    except (OmegaConfBaseException, yaml.YAMLError) as e:
        raise ConfigError(f"malformed override: {str(e).splitlines()[0]}") from None


def load_config(source: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Resolve defaults <- preset/YAML ``source`` <- ``overrides`` into a validated :class:`Config`."""
    cfg = OmegaConf.structured(Config)
    if source is not None:
        cfg = _merge(cfg, read_yaml(source), f"{source}")
    if overrides:
        parsed = parse_overrides(overrides)
        for key in replaced_mappings(overrides, parsed):
            OmegaConf.update(cfg, key, {}, merge=False)  # key={...} replaces the mapping, not merged into it
        cfg = _merge(cfg, parsed, "command-line overrides")
    config = typing.cast(Config, OmegaConf.to_object(cfg))
    check_values(config)
    from rlinfo.options import check_options  # which keys go together: rlinfo/options.py

    check_options(config)
    return config


def check_values(cfg: Config) -> None:
    """Range checks that types alone cannot express."""
    positive = {
        "total_steps": cfg.total_steps,
        "env.num_envs": cfg.env.num_envs,
        "agent.hidden_dim": cfg.agent.hidden_dim,
        "agent.batch_size": cfg.agent.batch_size,
        "train.rollout_steps": cfg.train.rollout_steps,
        "train.buffer_size": cfg.train.buffer_size,
        "train.reward_update_every": cfg.train.reward_update_every,
        "train.log_every": cfg.train.log_every,
        "train.n_step": cfg.train.n_step,
        "eval.num_rollouts": cfg.eval.num_rollouts,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be positive, got {value}")
    non_negative = {
        "train.grad_steps": cfg.train.grad_steps,
        "train.learning_starts": cfg.train.learning_starts,
        "train.checkpoint_every": cfg.train.checkpoint_every,
        "train.eval_every": cfg.train.eval_every,
        "train.threads": cfg.train.threads,
        "train.keep_checkpoints": cfg.train.keep_checkpoints,
        "train.skill_every": cfg.train.skill_every,
        "eval.max_steps": cfg.eval.max_steps,
        "eval.tensorboard_video": cfg.eval.tensorboard_video,
        "agent.num_layers": cfg.agent.num_layers,
    }
    for key, value in non_negative.items():
        if value < 0:
            raise ConfigError(f"{key} must be >= 0, got {value}")
    limits = {  # sizes that would exhaust memory long before they could be useful
        "eval.num_rollouts": (cfg.eval.num_rollouts, 4096),
        "eval.tensorboard_video": (cfg.eval.tensorboard_video, 64),
        "env.num_envs": (cfg.env.num_envs, 4096),
        "agent.hidden_dim": (cfg.agent.hidden_dim, 16384),
        "agent.num_layers": (cfg.agent.num_layers, 64),
        "agent.batch_size": (cfg.agent.batch_size, 65_536),
        "train.buffer_size": (cfg.train.buffer_size, 1_000_000_000),
        "train.n_step": (cfg.train.n_step, 1_000),
        "eval.max_steps": (cfg.eval.max_steps, 100_000),
        "train.threads": (cfg.train.threads, 1_024),
        "train.rollout_steps": (cfg.train.rollout_steps, 1_000_000),
        "train.grad_steps": (cfg.train.grad_steps, 1_000_000),
    }
    for key, (value, limit) in limits.items():
        if value > limit:
            raise ConfigError(f"{key}={value} is above the limit of {limit}")
    for key, value in {"agent.lr": cfg.agent.lr, "agent.alpha_init": cfg.agent.alpha_init}.items():
        if not value > 0:
            raise ConfigError(f"{key} must be > 0, got {value}")
    floats = {
        "agent.lr": cfg.agent.lr,
        "agent.alpha_init": cfg.agent.alpha_init,
        "agent.gamma": cfg.agent.gamma,
        "agent.tau": cfg.agent.tau,
        "agent.target_entropy_scale": cfg.agent.target_entropy_scale,
        "reward.intrinsic_weight": cfg.reward.intrinsic_weight,
        "reward.extrinsic_weight": cfg.reward.extrinsic_weight,
    }
    for key, value in floats.items():
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}")
    if not 0.0 <= cfg.agent.gamma <= 1.0:
        raise ConfigError(f"agent.gamma must be in [0, 1], got {cfg.agent.gamma}")
    if not 0.0 < cfg.agent.tau <= 1.0:
        raise ConfigError(f"agent.tau must be in (0, 1], got {cfg.agent.tau}")
    if cfg.train.warmup not in WARMUPS:
        raise ConfigError(f"train.warmup must be one of {', '.join(WARMUPS)}, got {cfg.train.warmup!r}")
    if cfg.train.precision not in PRECISIONS:
        raise ConfigError(
            f"train.precision must be one of {', '.join(PRECISIONS)}, got {cfg.train.precision!r}"
        )
    if cfg.device != "auto" and not (cfg.device == "cpu" or cfg.device.startswith("cuda")):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {cfg.device!r}")
    if cfg.run_name and (Path(cfg.run_name).name != cfg.run_name or cfg.run_name in (".", "..")):
        raise ConfigError(f"run_name must be a plain directory name, got {cfg.run_name!r}")
    check_reward_channels(cfg.reward.channels)


CHANNEL_KEYS = ("name", "params", "weight", "normalize")


def check_reward_channels(channels: dict[str, Any]) -> None:
    """Structure of ``reward.channels`` (module names and params are checked when the modules are built)."""
    for ch, spec in channels.items():
        path = f"reward.channels.{ch}"
        if not isinstance(spec, dict):
            keys = ", ".join(CHANNEL_KEYS)
            raise ConfigError(f"wrong type for '{path}': expected a mapping with keys {keys}")
        for key in spec:
            if key not in CHANNEL_KEYS:
                hint = did_you_mean(str(key), CHANNEL_KEYS, cutoff=0.5, prefix=f"{path}.")
                valid = "valid keys: " + ", ".join(CHANNEL_KEYS)
                raise ConfigError(f"unknown config key '{path}.{key}'; {hint or valid}")
        if not isinstance(spec.get("name"), str):
            raise ConfigError(f"'{path}.name' is required: the reward module of channel {ch!r}")
        if not isinstance(spec.get("params", {}), dict):
            raise ConfigError(f"wrong type for '{path}.params': expected a mapping of constructor arguments")
        weight = spec.get("weight", 1.0)
        if not _matches(weight, float) or weight != weight or abs(weight) == float("inf"):
            raise ConfigError(f"wrong type for '{path}.weight': expected a finite float, got {weight!r}")
        norm = spec.get("normalize", False)
        if not (isinstance(norm, bool) or norm in ("std", "meanstd")):
            raise ConfigError(f"'{path}.normalize' must be false, true, std or meanstd, got {norm!r}")


def validate_kwargs(fn: Any, kwargs: dict[str, Any], path: str, reserved: tuple[str, ...] = ()) -> None:
    """Check ``kwargs`` against the annotated keyword parameters of ``fn`` (a class or function).

    Unknown names get the closest valid ones; values must match simple annotations (int, float,
    bool, str; an int is accepted for a float). ``reserved`` names are filled in by rlinfo itself.
    """
    params = keyword_names(fn, exclude=reserved)
    hints = {k: v for f in reversed(signatures(fn)) for k, v in typing.get_type_hints(f).items()}
    for key, value in kwargs.items():
        if key in reserved:
            raise ConfigError(f"{path}.{key} is set by rlinfo and cannot be given")
        if key not in params:
            hint = did_you_mean(key, params, n=3, cutoff=0.5, prefix=f"{path}.")
            valid = f"valid keys: {', '.join(params) or '(none)'}"
            raise ConfigError(f"unknown config key '{path}.{key}'; {hint or valid}")
        expected = hints.get(key)
        if expected is not None and not _matches(value, expected):
            raise ConfigError(
                f"wrong type for '{path}.{key}': expected {_type_name(expected)}, "
                f"got {type(value).__name__} {value!r}"
            )


def _matches(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(annotation))
    if annotation is Any:
        return True
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def to_yaml(cfg: Config) -> str:
    """The resolved config as YAML (what ``config.yaml`` in a run directory holds)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def to_dict(cfg: Config) -> dict[str, Any]:
    return typing.cast(dict[str, Any], OmegaConf.to_container(OmegaConf.structured(cfg)))
