"""Run directories: ``<run_root>/<run_name>/`` holding config.yaml, events, checkpoints, figures."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rlinfo.config import Config, to_yaml
from rlinfo.errors import RlinfoError


def default_run_name(cfg: Config) -> str:
    env = cfg.env.name.replace(":", "-").replace("/", "-")
    return f"{cfg.reward.name}_{env}_s{cfg.seed}_{time.strftime('%Y%m%d-%H%M%S')}"


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
    (path / "config.yaml").write_text(to_yaml(cfg), encoding="utf-8")
    return cfg, path
