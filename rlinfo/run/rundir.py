"""Run directories: ``<run_root>/<run_name>/`` holding config.yaml, events, checkpoints, figures."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

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
