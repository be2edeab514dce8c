"""Resuming a run: its saved ``config.yaml`` plus the few overrides that are safe, and the error that
stops a run at a NaN with the command that resumes it.

What a checkpoint holds is decided by its owners: the loop (rlinfo/run/loop.py: counters, RNGs), the
collector, the learner (agent, reward module, replay buffer chunks) and the maze vector env.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rlinfo.checkpoint import atomic_write, describe_os_error
from rlinfo.config import Config, load_config, to_dict, to_yaml
from rlinfo.errors import NonFiniteError, RlinfoError
from rlinfo.run.rundir import load_run_config

# config keys that may change when a run is resumed (everything else must match the saved run)
RESUMABLE = (
    "total_steps",
    "device",
    "run_root",
    "train.progress",
    "train.threads",
    "train.log_every",
    "train.checkpoint_every",
    "train.eval_every",
    "eval.",
)


# ---------------------------------------------------------------------- config


def _changed(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [k for key in keys for k in _changed(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [prefix.rstrip(".")]


def resume_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """The saved ``config.yaml`` of ``run_dir`` with ``overrides`` (only :data:`RESUMABLE` keys)."""
    run_dir = Path(run_dir)
    saved = load_run_config(run_dir)
    cfg = load_config(run_dir / "config.yaml", list(overrides))
    fixed = [k for k in _changed(to_dict(saved), to_dict(cfg)) if not k.startswith(RESUMABLE)]
    if fixed:
        raise RlinfoError(
            f"cannot change {', '.join(fixed)} when resuming (only total_steps, device, train.progress, "
            "train.threads, train.log_every, train.checkpoint_every, train.eval_every and eval.* may change)"
        )
    cfg = dataclasses.replace(cfg, run_root=str(run_dir.parent), run_name=run_dir.name)
    if cfg != saved:
        write_config(run_dir, cfg)
    return cfg


def write_config(run_dir: Path, cfg: Config) -> None:
    try:
        atomic_write(run_dir / "config.yaml", lambda f: f.write(to_yaml(cfg).encode()))
    except OSError as e:
        raise RlinfoError(describe_os_error(e, f"cannot write {run_dir / 'config.yaml'}")) from None


def non_finite_error(what: str, value: Any, step: int, run_dir: Path | None) -> NonFiniteError:
    """The error that stops a run at a NaN/inf: names the quantity and step and how to resume."""
    msg = f"non-finite {what} ({value}) at step {step}; the last checkpoint"
    if run_dir is None:
        return NonFiniteError(f"{msg} is intact")
    return NonFiniteError(
        f"{msg} in {run_dir} is intact; fix the cause, then resume with: rlinfo train --resume {run_dir}"
    )
