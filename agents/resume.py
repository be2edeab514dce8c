"""What a checkpoint needs beyond the networks so that a killed run continues exactly.

* :class:`BufferChunks` saves the replay buffer as fixed-size chunk files under
  ``checkpoints/buffer/``; a checkpoint rewrites only the chunks written since the previous one
  (incremental, not a full rewrite), plus those holding each env's latest row, whose n-step link
  ``next_index`` is set when that env's next row arrives. Chunk names carry the step, so the previous
  checkpoint's chunks stay intact until the new checkpoint is in place; unreferenced chunks are then
  deleted.
* RNG states (torch CPU/CUDA, the trainer's generators, numpy generators of the env and its action
  space) and the numpy-batched maze env's own state; other envs are re-seeded and start new episodes.
* :func:`resume_config`: the run's ``config.yaml`` plus the few overrides that are safe on resume.

Tensors go into ``.pt`` files read with ``weights_only=True``; everything else is JSON.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rlinfo.buffers import ReplayBuffer
from rlinfo.checkpoint import atomic_write, describe_os_error, load_tensors
from rlinfo.config import Config, load_config, to_dict, to_yaml
from rlinfo.errors import CheckpointError, NonFiniteError, RlinfoError
from rlinfo.rundir import load_run_config

CHUNK_ROWS = 65_536  # transitions per buffer chunk file
CHUNK_FORMAT = "rlinfo-buffer-chunk"
FIELDS = ("obs", "next_obs", "action", "reward", "terminated", "skill", "next_index")
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


def _segments(start: int, count: int, capacity: int) -> list[tuple[int, int]]:
    """The index ranges ``[a, b)`` of ``count`` circular writes starting at ``start``."""
    end = start + count
    if end <= capacity:
        return [(start, end)] if count else []
    return [(start, capacity), (0, end - capacity)]


class BufferChunks:
    """Incremental chunked storage of a :class:`ReplayBuffer` in ``directory``."""

    def __init__(self, directory: Path, chunk_rows: int | None = None) -> None:
        self.dir, self.chunk_rows = Path(directory), int(chunk_rows or CHUNK_ROWS)
        self.files: dict[int, str] = {}  # chunk index -> file name of the latest saved version
        self.saved_added = 0  # buffer.added at the last save
        self.saved_last: list[int] = []  # buffer.last_index at the last save: rows linked (changed) later

    def dirty(self, buffer: ReplayBuffer) -> list[int]:
        """Indices of the chunks holding transitions added since the last save."""
        new, rows = buffer.added - self.saved_added, self.chunk_rows
        if new >= buffer.capacity:
            return list(range(-(-buffer.size // rows)))
        ids = {i // rows for i in self.saved_last if 0 <= i < buffer.size}
        for a, b in _segments(self.saved_added % buffer.capacity, new, buffer.capacity):
            ids.update(range(a // rows, (b - 1) // rows + 1))
        return sorted(ids)

    def write(self, buffer: ReplayBuffer, step: int) -> dict[str, Any]:
        """Write the dirty chunks; return the manifest (JSON) that the checkpoint records."""
        for c in self.dirty(buffer):
            lo, hi = c * self.chunk_rows, min((c + 1) * self.chunk_rows, buffer.size)
            payload: dict[str, Any] = {"format": CHUNK_FORMAT, "rows": hi - lo}
            for name in FIELDS:
                value = getattr(buffer, name)
                if value is not None:
                    payload[name] = value[lo:hi].detach().cpu().clone()
            name = f"chunk_{c:06d}_{step:09d}.pt"
            atomic_write(self.dir / name, lambda f, p=payload: torch.save(p, f))
            self.files[c] = name
        self.saved_added, self.saved_last = buffer.added, buffer.last_index.tolist()
        return {
            "chunk_rows": self.chunk_rows,
            "capacity": buffer.capacity,
            "pos": buffer.pos,
            "size": buffer.size,
            "added": buffer.added,
            "last_index": self.saved_last,
            "files": [self.files[c] for c in sorted(self.files)],
        }

    def prune(self) -> None:
        """Delete chunk files (and temporary files) that the latest manifest does not reference."""
        keep = set(self.files.values())
        for path in self.dir.glob("*"):
            if path.name not in keep and (path.name.startswith("chunk_") or path.name.startswith(".chunk_")):
                path.unlink(missing_ok=True)

    def load(self, buffer: ReplayBuffer, manifest: dict[str, Any]) -> None:
        """Fill ``buffer`` from the chunk files named in ``manifest``."""
        if manifest["capacity"] != buffer.capacity or manifest["chunk_rows"] != self.chunk_rows:
            raise CheckpointError(
                f"saved buffer has capacity {manifest['capacity']} in chunks of {manifest['chunk_rows']}; "
                f"this run has {buffer.capacity} in chunks of {self.chunk_rows}"
            )
        size, row = int(manifest["size"]), 0
        for c, name in enumerate(manifest["files"]):
            if Path(name).name != name or not name.startswith(f"chunk_{c:06d}_"):
                raise CheckpointError(f"corrupt buffer manifest: bad chunk file name {name!r}")
            chunk = load_tensors(self.dir / name, CHUNK_FORMAT)
            rows = int(chunk["rows"])
            for field in FIELDS:
                target = getattr(buffer, field)
                if field == "next_index" and field not in chunk:  # saved before n-step links
                    target[row : row + rows] = -1
                elif target is not None:
                    target[row : row + rows] = chunk[field].to(target.device, target.dtype)
            self.files[c], row = name, row + rows
        if row != size:
            raise CheckpointError(f"buffer chunks in {self.dir} hold {row} transitions, expected {size}")
        buffer.pos, buffer.size, buffer.added = int(manifest["pos"]), size, int(manifest["added"])
        self.saved_last = [int(i) for i in manifest.get("last_index", [])]
        buffer.last_index = torch.tensor(self.saved_last, dtype=torch.long, device=buffer.device)
        self.saved_added = buffer.added


# ---------------------------------------------------------------------- RNG and env state


def np_state(gen: np.random.Generator) -> dict[str, Any]:
    return gen.bit_generator.state


def set_np_state(gen: np.random.Generator, state: dict[str, Any]) -> None:
    gen.bit_generator.state = state


def rng_state(trainer: Any) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(tensors, JSON) of every random generator the training loop draws from."""
    tensors = {
        "torch": torch.get_rng_state(),
        "sample_gen": trainer.sample_gen.get_state(),
        "skill_gen": trainer.skill_gen.get_state(),
    }
    if trainer.device.type == "cuda":
        tensors["cuda"] = torch.cuda.get_rng_state(trainer.device)
    meta = {"action_space": np_state(trainer.envs.action_space.np_random)}
    return tensors, meta


def set_rng_state(trainer: Any, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"].cpu())
    trainer.sample_gen.set_state(tensors["sample_gen"].cpu())
    trainer.skill_gen.set_state(tensors["skill_gen"].cpu())
    if "cuda" in tensors and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["cuda"].cpu(), trainer.device)
    set_np_state(trainer.envs.action_space.np_random, meta["action_space"])


def env_state(envs: Any) -> tuple[dict[str, Tensor], dict[str, Any]] | None:
    """The full state of a numpy-batched maze vector env (None for other envs)."""
    from rlinfo.envs.maze import MazeVectorEnv

    if not isinstance(envs, MazeVectorEnv):
        return None
    tensors = {
        "pos": torch.from_numpy(envs._pos.copy()),
        "t": torch.from_numpy(envs._t.copy()),
        "autoreset": torch.from_numpy(envs._autoreset.copy()),
    }
    meta = {
        "np_random": np_state(envs.np_random),
        "any_autoreset": bool(envs._any_autoreset),
        "countdown": int(envs._countdown),
    }
    return tensors, meta


def set_env_state(envs: Any, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    set_np_state(envs.np_random, meta["np_random"])
    envs._pos[:] = tensors["pos"].numpy()
    envs._t[:] = tensors["t"].numpy()
    envs._autoreset = tensors["autoreset"].numpy().copy()
    envs._any_autoreset, envs._countdown = bool(meta["any_autoreset"]), int(meta["countdown"])


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
