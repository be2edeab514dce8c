"""Helpers shared by several test files (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from rlinfo.types import Batch


def skill_batch(obs, next_obs, skill) -> Batch:
    """A Batch of hand-written transitions with skills (zero actions, no termination)."""
    obs, next_obs = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(next_obs, dtype=torch.float32)
    return Batch(
        obs=obs,
        action=torch.zeros(len(obs), 1),
        next_obs=next_obs,
        terminated=torch.zeros(len(obs), dtype=torch.bool),
        skill=torch.as_tensor(skill, dtype=torch.float32),
    )


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """``rows`` as a CSV with the first row's keys as header (hand-built inputs of the table tests)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
