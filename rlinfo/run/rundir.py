"""Run directories: ``<run_root>/<run_name>/`` holding config.yaml, events, checkpoints, figures."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

from rlinfo.config import Config, load_config, to_yaml
from rlinfo.errors import CheckpointError, RlinfoError
from rlinfo.files import refuse_links, write_text


def default_run_name(cfg: Config) -> str:
    """``<method>_<env>_s<seed>_<time>``; the method is the reward's name, else the agent's (ppo, slim)."""
    method = cfg.agent.name if cfg.reward.channels or cfg.reward.name == "none" else cfg.reward.name
    env = cfg.env.name.replace(":", "-").replace("/", "-")
    return f"{method}_{env}_s{cfg.seed}_{time.strftime('%Y%m%d-%H%M%S')}"


def create_run_dir(cfg: Config) -> tuple[Config, Path]:
    """Create the run directory and write the resolved ``config.yaml`` into it.

    An explicit ``run_name`` that already exists is an error (nothing is overwritten); an
    automatic name gets a numeric suffix instead.
    """
    explicit = bool(cfg.run_name)
    name = cfg.run_name or default_run_name(cfg)
    root = Path(cfg.run_root)
    path, suffix = root / name, 1
    while path.exists():
        if explicit:
            raise RlinfoError(f"run directory {path} already exists; choose another run_name=...")
        path, suffix = root / f"{name}-{suffix}", suffix + 1
    try:
        path.mkdir(parents=True)
    except OSError as e:
        raise RlinfoError(f"cannot create run directory {path}: {e.strerror or e}") from None
    cfg = dataclasses.replace(cfg, run_name=path.name)
    try:
        write_text(path / "config.yaml", to_yaml(cfg))
    except OSError as e:
        raise RlinfoError(f"cannot write {path / 'config.yaml'}: {e.strerror or e}") from None
    return cfg, path


def load_run_config(run_dir: str | Path) -> Config:
    """The resolved ``config.yaml`` of a run directory (one-line errors if it is not one)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory not found: {run_dir}")
    refuse_links(run_dir)
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not an rlinfo run directory (missing config.yaml)")
    return load_config(path)


def is_number(value: Any) -> bool:
    """A finite int or float that is not a bool (JSON's ``true`` is not 1.0 here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_eval(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``eval.json``; one :class:`RlinfoError` line naming the file if it is missing, malformed,
    or its ``steps`` is not a finite whole number."""
    path = Path(run_dir) / "eval.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RlinfoError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RlinfoError(f"{path}: unreadable ({reason})") from None
    if not isinstance(result, dict):
        raise RlinfoError(f"{path}: expected a JSON object, got {type(result).__name__}")
    steps = result.get("steps")
    if not is_number(steps) or steps != int(steps):
        raise RlinfoError(f"{path}: 'steps' must be a finite whole number, got {steps!r}")
    return result
