"""Sweep specs: a YAML file naming a base preset, the overrides shared by every trial, a grid and/or a
list of trials, and the resources of one trial. Expanded into :class:`Trial` objects, each of which is
one ``rlinfo train`` run directory ``SWEEP_DIR/<trial name>``.

    preset: metra_maze                 # base preset or YAML file (relative to the spec)
    overrides: {total_steps: 20000}    # key=value for every trial
    grid:                              # Cartesian product; every value a non-empty list
      preset: [metra_maze, diayn_maze]
      seed: [0, 1, 2]
    trials:                            # optional explicit list; combined with every grid point
      - {agent.lr: 3.0e-4}
      - {name: slow, agent.lr: 1.0e-4} # ``name``: the trial's name part instead of its overrides
    resources: {cpus: 1, gpus: 0}      # per trial (Ray resources)

Trial names are deterministic: the varying values in order (``diayn_maze__seed=1``), or a listed
trial's ``name`` followed by the grid's values (``slow__seed=1``), so a re-run of the same spec finds
the same run directories. Every mistake is one :class:`ConfigError` line naming the
key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlinfo.config import Config, _parse_yaml
from rlinfo.errors import ConfigError, did_you_mean

SPEC_KEYS = ("preset", "overrides", "grid", "trials", "resources")
RESOURCE_KEYS = ("cpus", "gpus")
MAX_NAME = 96  # longer trial names are shortened and suffixed with a hash of the overrides
# keys the sweep sets itself: a spec may not choose them
RESERVED = ("run_root", "run_name")


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: ``rlinfo train <preset> <overrides...>`` into ``SWEEP_DIR/<name>``."""

    name: str
    preset: str
    overrides: tuple[str, ...]  # key=value, the spec's shared ones first, then the varying ones

    def train_args(self, sweep_dir: Path) -> list[str]:
        return [self.preset, *self.overrides, f"run_root={sweep_dir}", f"run_name={self.name}"]

    def config(self, sweep_dir: Path) -> Config:
        """The config this trial's run directory is made with (as ``rlinfo train`` writes it)."""
        from rlinfo.run.commands import run_config

        return run_config(self.preset, self.train_args(sweep_dir)[1:])


@dataclass
class Spec:
    path: Path
    trials: list[Trial]
    cpus: float = 1.0
    gpus: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)


def format_value(value: Any) -> str:
    """A YAML scalar or flow collection as the right-hand side of an override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (list, dict)) else repr(value)


def _mapping(value: Any, key: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping, got {type(value).__name__}")
    for k in value:
        if not isinstance(k, str):
            raise ConfigError(f"{where}: '{key}' has a non-string key {k!r}")
        if k in RESERVED:
            raise ConfigError(f"{where}: '{key}.{k}' is set by the sweep (trials go to SWEEP_DIR/<name>)")
    return value


def _name(varying: list[tuple[str, Any]], label: str | None = None) -> str:
    parts = [format_value(v) if k == "preset" else f"{k}={format_value(v)}" for k, v in varying]
    parts = parts if label is None else [label, *parts]
    text = re.sub(r"[^A-Za-z0-9._=+-]+", "-", "__".join(parts)).strip("-.") or "trial"
    if len(text) > MAX_NAME:
        named = varying if label is None else [label, varying]
        digest = hashlib.sha1(json.dumps(named, default=str).encode()).hexdigest()[:8]
        text = f"{text[: MAX_NAME - 9]}-{digest}"
    return text


def read_spec(path: str | Path) -> Spec:
    """Parse, validate and expand a sweep spec; one-line :class:`ConfigError` for every mistake."""
    path = Path(path)
    where = f"sweep spec {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {where}: {e.strerror or e}") from None
    raw = _parse_yaml(text, where)
    for key in raw:
        if key not in SPEC_KEYS:
            hint = did_you_mean(key, SPEC_KEYS)
            raise ConfigError(
                f"{where}: unknown key '{key}'; {hint or 'expected one of ' + ', '.join(SPEC_KEYS)}"
            )
    preset = raw.get("preset", "metra_maze")
    if not isinstance(preset, str) or not preset:
        raise ConfigError(f"{where}: 'preset' must be a preset name or a YAML file")
    shared = _mapping(raw.get("overrides"), "overrides", where)
    grid = _mapping(raw.get("grid"), "grid", where)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: 'grid.{key}' must be a non-empty list of values")
    listed = raw.get("trials")
    if listed is not None and (not isinstance(listed, list) or not listed):
        raise ConfigError(f"{where}: 'trials' must be a non-empty list of mappings of overrides")
    listed = [_mapping(t, f"trials[{i}]", where) for i, t in enumerate(listed or [{}])]
    if not grid and listed == [{}]:
        raise ConfigError(f"{where}: give 'grid' or 'trials' (an empty sweep has no trial)")
    resources = _mapping(raw.get("resources"), "resources", where)
    for key, value in resources.items():
        if key not in RESOURCE_KEYS:
            expected = " or ".join(RESOURCE_KEYS)
            raise ConfigError(f"{where}: unknown key 'resources.{key}'; expected {expected}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}: 'resources.{key}' must be a number >= 0, got {value!r}")
    trials = expand(preset, shared, grid, listed, resources, where, path.parent)
    spec = Spec(path, trials, float(resources.get("cpus", 1)), float(resources.get("gpus", 0)), raw)
    from tqdm import tqdm

    from rlinfo.config import to_dict

    seen: dict[str, str] = {}
    shown = tqdm(trials, desc=f"rlinfo: checking {len(trials)} trials", unit="trial", leave=False,
                 disable=len(trials) < 50)  # fmt: skip
    for trial in shown:  # every config error now, before anything runs
        try:
            config = to_dict(trial.config(Path("sweeps")))
        except ConfigError as e:
            raise ConfigError(f"{where}: trial {trial.name}: {e}") from None
        config.pop("run_name", None)
        key = json.dumps(config, sort_keys=True, default=str)
        if key in seen:  # e.g. agent.lr: ["1e-4", "0.0001"]
            raise ConfigError(f"{where}: trials {seen[key]} and {trial.name} resolve to the same config")
        seen[key] = trial.name
    return spec


def expand(
    preset: str,
    shared: dict[str, Any],
    grid: dict[str, list[Any]],
    listed: list[dict[str, Any]],
    resources: dict[str, Any],
    where: str,
    spec_dir: Path,
) -> list[Trial]:
    """Every (listed trial × grid point) as a :class:`Trial`; duplicate names are an error."""
    trials: list[Trial] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(listed):
        entry = dict(entry)
        label = entry.pop("name", None)
        if label is not None and (not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9._+-]+", label)):
            raise ConfigError(f"{where}: 'trials[{i}].name' must be a word of letters, digits, '.', '_', "
                              f"'+' or '-', got {label!r}")  # fmt: skip
        both = sorted(set(entry) & set(grid))
        if both:
            raise ConfigError(f"{where}: '{both[0]}' is in both 'trials[{i}]' and 'grid'; give it in one")
        for point in itertools.product(*grid.values()):
            varying = list(entry.items()) + list(zip(grid, point, strict=True))
            values = {**shared, **dict(varying)}
            trial_preset = values.pop("preset", preset)
            if not isinstance(trial_preset, str):
                raise ConfigError(f"{where}: 'preset' values must be preset names, got {trial_preset!r}")
            if trial_preset.endswith((".yaml", ".yml")):  # a YAML file: relative to the spec
                trial_preset = str(spec_dir / trial_preset)
            if "train.threads" not in values:
                values["train.threads"] = max(int(resources.get("cpus", 1)), 1)
            values.setdefault("train.progress", False)
            overrides = tuple(f"{k}={format_value(v)}" for k, v in values.items())
            name = _name(list(zip(grid, point, strict=True)) if label else varying, label)
            if name in seen:
                raise ConfigError(f"{where}: two trials are both named {name} (the same overrides twice?)")
            seen[name] = len(trials)
            trials.append(Trial(name, trial_preset, overrides))
    return trials
