"""Resuming a run: which config keys may change, the checks made before anything is written, the record
of accepted changes, and the error that stops a run at a NaN.

A run's identity — env, reward, agent, network shapes, seed, buffer size — is what it has learned so
far; it can never change on resume. Keys that only steer what happens next may (:data:`RESUMABLE`):
the budget, logging, evaluation and checkpoint schedules, the device and the speed options (threads,
overlapped collection, CUDA graphs), and the learning rates, batch size and update counts (to recover
from a divergence: resume with a lower ``agent.lr``).

:func:`resume_config` only reads. The caller builds the run, takes the run directory's lock and loads
the checkpoint; only then :func:`record_resume` rewrites ``config.yaml`` and appends the accepted
changes to ``resume_history.jsonl``. A refused resume writes nothing.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import time
from pathlib import Path
from typing import Any

from rlinfo.checkpoint import describe_os_error, previous
from rlinfo.config import Config, load_config, to_dict, to_yaml
from rlinfo.errors import NonFiniteError, RlinfoError
from rlinfo.files import atomic_write, read_text
from rlinfo.run.rundir import load_run_config

# config keys that may change when a run is resumed (patterns; everything else is the run's identity)
RESUMABLE = (
    "total_steps",
    "device",
    "run_root",
    "run_name",
    "train.progress",
    "train.threads",
    "train.overlap",
    "train.cuda_graph",
    "train.precision",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.eval_every",
    "train.grad_steps",
    "train.reward_update_every",
    "eval.*",
    "agent.lr",
    "agent.batch_size",
    "reward.params.lr",
    "reward.channels.*.params.lr",
)
HISTORY = "resume_history.jsonl"


def resumable(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in RESUMABLE)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [k for key in keys for k in changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [prefix.rstrip(".")]


def refuse_identity_changes(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    fixed = [k for k in changed_keys(before, after) if not resumable(k)]
    if fixed:
        allowed = ", ".join(RESUMABLE)
        raise RlinfoError(
            f"cannot change {', '.join(fixed)} {what} (they define the run; may change: {allowed})"
        )


def resume_config(
    run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[Config, Config]:
    """The run's ``config.yaml`` with ``overrides`` (only resumable keys), and ``config.yaml`` as saved."""
    run_dir = Path(run_dir)
    saved = load_run_config(run_dir)
    cfg = load_config(run_dir / "config.yaml", list(overrides))
    refuse_identity_changes(to_dict(saved), to_dict(cfg), "when resuming")
    return dataclasses.replace(cfg, run_root=str(run_dir.parent), run_name=run_dir.name), saved


def check_against_checkpoint(cfg: Config, saved: dict[str, Any] | None, step: int) -> None:
    """Refuse a ``config.yaml`` whose identity keys were edited since the checkpoint of ``step``."""
    if saved is not None:  # checkpoints from before this check carry no config
        what = f"since the checkpoint of step {step} (config.yaml edited?)"
        refuse_identity_changes(with_defaults(saved), to_dict(cfg), what)


def with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with the keys added to rlinfo since it was written at their defaults (they
    did not exist, so the run ran as their defaults do)."""

    def merge(default: Any, value: Any) -> Any:
        if isinstance(default, dict) and isinstance(value, dict):
            return {**default, **{k: merge(default.get(k), v) for k, v in value.items()}}
        return value

    merged: dict[str, Any] = merge(to_dict(Config()), saved)
    return merged


def record_resume(run_dir: Path, before: Config, cfg: Config, step: int) -> None:
    """Write the accepted ``config.yaml`` and append the change to ``resume_history.jsonl``."""
    old, new = to_dict(before), to_dict(cfg)
    keys = [k for k in changed_keys(old, new) if k not in ("run_root", "run_name")]
    changes = {k: [_get(old, k), _get(new, k)] for k in keys}
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "step": step, "changes": changes}
    try:
        if changes:
            atomic_write(run_dir / "config.yaml", to_yaml(cfg).encode())
        history = run_dir / HISTORY
        text = read_text(history) if history.exists() or history.is_symlink() else ""
        atomic_write(history, (text + json.dumps(entry, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise RlinfoError(describe_os_error(e, f"cannot write {e.filename or run_dir}")) from None


def _get(tree: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None  # type: ignore[assignment]
    return tree


def non_finite_error(what: str, value: Any, step: int, run_dir: Path | None) -> NonFiniteError:
    """The error that stops a run at a NaN/inf: names the quantity, the step, the true state of the last
    checkpoint and how to resume."""
    msg = f"non-finite {what} ({value}) at step {step}"
    if run_dir is None:
        return NonFiniteError(msg)
    last = previous(run_dir)
    if last.startswith("no earlier"):
        return NonFiniteError(f"{msg}; no checkpoint was written in {run_dir}: fix the cause and start again")
    return NonFiniteError(
        f"{msg}; {last} in {run_dir}; fix the cause (e.g. a lower agent.lr or reward.params.lr), then resume "
        f"with: rlinfo train --resume {run_dir}"
    )


def upgrade_loop_state(
    tensors: dict[str, Any], meta: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A checkpoint's loop state in today's layout: checkpoints written before the run layer (one trainer
    per agent, rlinfo ≤ 2026-11) kept the collector, the sampling generator and the update count flat in
    the loop; they are regrouped here under their owners, so such runs resume too (SAC runs; PPO runs
    could not resume then)."""
    if "learner" in tensors:
        return tensors, meta
    import torch

    episodes = dict(tensors.get("episodes", {}))
    n = len(episodes["obs"]) if "obs" in episodes else 0
    episodes.setdefault("ep_success", torch.zeros(n, dtype=torch.bool))
    episodes.setdefault("ep_intrinsic", torch.zeros(n, dtype=torch.float64))
    rng = tensors["rng"]
    new_tensors = {
        "rng": {k: v for k, v in rng.items() if k != "sample_gen"},
        "metric_sums": tensors["metric_sums"],
        "learner": {"gen": rng["sample_gen"]},
        "collector": episodes,
    }
    if "env" in tensors:
        new_tensors["env"] = tensors["env"]
    new_meta = {
        **{k: meta[k] for k in ("global_step", "marks", "metrics")},
        "learner": {"num_updates": meta["num_updates"]},
        "collector": {
            "finished": [(r, n, False) for r, n in meta.get("finished", [])],
            "finished_intrinsic": meta.get("finished_intrinsic", []),
            "has_success": False,
        },
        "action_space_rng": meta["rng"]["action_space"],
    }
    if "env" in meta:
        new_meta["env"] = meta["env"]
    return new_tensors, new_meta
