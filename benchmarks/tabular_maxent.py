"""The tabular maximum-entropy benchmark's table, from its summary rows, so that
``scripts/tabular_maxent.py`` (from its runs) and ``python -m benchmarks.pages`` (from
docs/results/tabular_maxent.csv) print the same one."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

NUMBERS = ("visit_entropy_mean", "visit_entropy_std", "exact_entropy_mean", "exact_entropy_std",
           "traj_entropy_mean", "log_S")  # fmt: skip


def read_summary(path: Path) -> list[dict[str, object]]:
    """The rows of the script's summary.csv, with counts and entropies as numbers."""
    with path.open(encoding="utf-8") as f:
        rows: list[dict[str, object]] = list(csv.DictReader(f))
    for r in rows:
        r.update({k: float(r[k]) for k in NUMBERS} | {k: int(r[k]) for k in ("samples", "seeds")})
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    head = (
        "| env | method | samples | seeds | visitation entropy (samples) | exact, output policy "
        "| trajectory entropy, final π | log S |\n|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        vis = f"{r['visit_entropy_mean']:.3f} ± {r['visit_entropy_std']:.3f}"
        vis = "—" if np.isnan(r["visit_entropy_mean"]) else vis
        te = "—" if np.isnan(r["traj_entropy_mean"]) else f"{r['traj_entropy_mean']:.2f}"
        lines.append(
            f"| {r['env']} | {r['method']} | {r['samples'] or '—'} | {r['seeds']} | {vis} "
            f"| {r['exact_entropy_mean']:.3f} ± {r['exact_entropy_std']:.3f} | {te} "
            f"| {r['log_S']:.3f} |"
        )
    return head + "\n".join(lines) + "\n"
