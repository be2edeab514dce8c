"""Safe checkpoints: tensors (state dicts) in a ``.pt`` file plus JSON metadata, atomic writes.

Nothing is ever unpickled: files are read with ``torch.load(..., weights_only=True)``, which only
reconstructs tensors and plain containers, and every failure becomes a one-line
:class:`~rlinfo.errors.CheckpointError`.

Layout inside a run directory::

    checkpoints/step_000020000.pt   tensors: {"format", "version", "step", "state": {...}}
    checkpoints/latest.json         {"format", "version", "step", "file"}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from rlinfo.errors import CheckpointError

FORMAT = "rlinfo-checkpoint"
VERSION = 1


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same directory, then ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    _atomic_write(path, lambda f: f.write((json.dumps(data, indent=2, sort_keys=True) + "\n").encode()))


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any]) -> Path:
    """Save ``state`` (nested dicts of tensors and plain values) as the checkpoint of ``step``."""
    ckpt_dir = Path(run_dir) / "checkpoints"
    path = ckpt_dir / f"step_{step:09d}.pt"
    payload = {"format": FORMAT, "version": VERSION, "step": step, "state": state}
    _atomic_write(path, lambda f: torch.save(payload, f))
    write_json(
        ckpt_dir / "latest.json", {"format": FORMAT, "version": VERSION, "step": step, "file": path.name}
    )
    return path


def latest_checkpoint(run_dir: str | Path) -> Path:
    """Path of the newest checkpoint of a run directory (from ``checkpoints/latest.json``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory not found: {run_dir}")
    meta_path = run_dir / "checkpoints" / "latest.json"
    if not meta_path.is_file():
        raise CheckpointError(f"no checkpoint in {run_dir} (missing checkpoints/latest.json)")
    try:
        meta = json.loads(meta_path.read_text())
        name = meta["file"]
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"corrupt checkpoint index {meta_path}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not an rlinfo checkpoint index")
    if not isinstance(name, str) or Path(name).name != name:
        raise CheckpointError(f"corrupt checkpoint index {meta_path}: bad file name {name!r}")
    return run_dir / "checkpoints" / name


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint file and return ``(state)``; never unpickles code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, pickle opcodes outside the allow-list, garbage...
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"cannot load checkpoint {path}: {reason[:200]}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an rlinfo checkpoint")
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}; this rlinfo reads <= {VERSION}"
        )
    return payload["state"]
