"""Safe checkpoints: tensors (state dicts) in a ``.pt`` file plus JSON metadata, atomic writes.

Nothing is ever unpickled: files are read with ``torch.load(..., weights_only=True)``, which only
reconstructs tensors and plain containers, and every failure becomes a one-line
:class:`~rlinfo.errors.CheckpointError`.

Layout inside a run directory::

    checkpoints/step_000020000.pt   tensors: {"format", "version", "step", "state": {...}}
    checkpoints/latest.json         {"format", "version", "step", "file", "sha256"}

Every file is serialised in memory, written to ``.<name>.tmp-*`` beside its target, fsynced and
renamed into place (a symlink at the target is replaced, never written through), so a kill or a full
disk leaves the previous version; the OS error (ENOSPC, EFBIG, EROFS...) surfaces with its errno.
The SHA-256 of each checkpoint file is recorded in ``latest.json`` (and of each buffer chunk in the
checkpoint's manifest) and checked on load: a flipped byte is refused in one line.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from rlinfo.errors import CheckpointError, one_line
from rlinfo.files import atomic_write, remove_file, write_json

FORMAT = "rlinfo-checkpoint"
VERSION = 1


def tensor_bytes(payload: Any) -> bytes:
    """``torch.save`` into memory (the file write then raises real OSErrors, with their errno)."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any], keep: int = 0) -> Path:
    """Save ``state`` (nested dicts of tensors and plain values) as the checkpoint of ``step``.

    ``latest.json`` is replaced last, so a failure (full disk, kill) leaves the previous checkpoint
    as the latest one; an ``OSError`` becomes a one-line :class:`CheckpointError` saying so. With
    ``keep > 0`` only the newest ``keep`` step files are kept (the latest always among them).
    """
    ckpt_dir = Path(run_dir) / "checkpoints"
    path = ckpt_dir / f"step_{step:09d}.pt"
    data = tensor_bytes({"format": FORMAT, "version": VERSION, "step": step, "state": state})
    index = {"format": FORMAT, "version": VERSION, "step": step, "file": path.name, "sha256": sha256(data)}
    with checkpoint_errors(run_dir, step, path):
        atomic_write(path, data)
        write_json(ckpt_dir / "latest.json", index)
    if keep > 0:
        for old in sorted(ckpt_dir.glob("step_*.pt"))[:-keep]:
            if old != path:
                remove_file(old)
    return path


@contextmanager
def checkpoint_errors(run_dir: str | Path, step: int, path: Path | None = None) -> Iterator[None]:
    """Turn an ``OSError`` while writing the checkpoint of ``step`` into a one-line CheckpointError."""
    try:
        yield
    except OSError as e:
        what = f"cannot write {e.filename or path or 'the checkpoint'} (checkpoint of step {step})"
        raise CheckpointError(f"{describe_os_error(e, what)}; {previous(run_dir)}") from None


def describe_os_error(e: OSError, what: str) -> str:
    """One line for an OSError: full disk, file-size limit and permission problems get their own words."""
    if e.errno == errno.ENOSPC:
        return f"{what}: disk full (no space left on device)"
    if e.errno == errno.EFBIG:
        return f"{what}: file too large (the file-size limit was reached)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{what}: permission denied (directory not writable)"
    return f"{what}: {e.strerror or e}"


def previous(run_dir: str | Path) -> str:
    """A phrase naming the checkpoint that is still the latest (for error messages)."""
    try:
        meta = json.loads((Path(run_dir) / "checkpoints" / "latest.json").read_text())
        return f"the previous checkpoint (step {int(meta['step'])}) is intact"
    except (OSError, ValueError, KeyError, TypeError):
        return "no earlier checkpoint exists"


FILE_KINDS = {FORMAT: "checkpoint", "rlinfo-buffer-chunk": "replay-buffer chunk"}


def load_tensors(path: Path, fmt: str) -> dict[str, Any]:
    """Load a tensors-only file tagged ``{"format": fmt}`` (weights_only; never unpickles code)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        reason = one_line(str(e) or type(e).__name__)
        if isinstance(e, pickle.UnpicklingError) or "weights only" in reason.lower():
            reason = "it holds Python objects besides tensors, and rlinfo loads tensors only (weights_only)"
        raise CheckpointError(f"cannot load checkpoint {path}: {reason}") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise CheckpointError(f"{path} is not an rlinfo {FILE_KINDS.get(fmt, fmt)} file")
    return payload


def verify_sha256(path: Path, expected: str | None) -> None:
    """Refuse a file whose bytes do not hash to ``expected`` (None: written before checksums)."""
    if expected is None:
        return
    try:
        actual = sha256(path.read_bytes())
    except OSError as e:
        raise CheckpointError(describe_os_error(e, f"cannot read {path}")) from None
    if actual != expected:
        raise CheckpointError(f"{path} is corrupted (its SHA-256 differs from the one recorded at save)")


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
    path = run_dir / "checkpoints" / name
    if path.is_file():
        verify_sha256(path, meta.get("sha256"))
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The ``state`` of a checkpoint file (:func:`load_tensors`, plus the format version check)."""
    path = Path(path)
    payload = load_tensors(path, FORMAT)
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}; this rlinfo reads <= {VERSION}"
        )
    return payload["state"]
