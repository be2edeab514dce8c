"""The long-run locomotion benchmark's tables and figure, from docs/results/locomotion_benchmark.csv (one row
per run and evaluation: method, env, seed, step, wall_s, metric, value; ``benchmarks/locomotion.yaml`` is
the sweep and ``python -m benchmarks.results collect runs/locomotion --out
docs/results/locomotion_benchmark.csv`` collects it), drawn by ``python -m benchmarks.pages``."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

KEY_METRICS = ("coverage_cells", "EndSuccess3", "HitSuccess3", "alignment_cos", "skill_spread")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of the CSV, with seeds, steps and numbers as numbers."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["seed"], r["step"] = int(r["seed"]), int(r["step"])
        r["wall_s"], r["value"] = float(r["wall_s"]), float(r["value"])
    return rows


def final_table(rows: list[dict[str, Any]], baselines: dict[str, float]) -> list[dict[str, Any]]:
    """The last eval of each run, averaged over seeds per (method, env)."""
    last: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r["method"], r["env"], r["seed"], r["metric"])
        if key not in last or r["step"] >= last[key]["step"]:
            last[key] = r
    groups: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (method, env, _seed, metric), r in last.items():
        g = groups[(method, env)]
        g[metric].append(r["value"])
        if metric == "coverage_cells":
            g["steps"].append(r["step"])
            g["wall_min"].append(r["wall_s"] / 60)
    table = []
    for (method, env), g in sorted(groups.items()):
        row: dict[str, Any] = {"method": method, "env": env, "seeds": len(g.get("steps", []))}
        for k in ("steps", "wall_min", *KEY_METRICS):
            if g.get(k):
                row[k] = float(np.mean(g[k]))
        if env in baselines:
            row["random_cells"] = baselines[env]
        table.append(row)
    return table


def fmt(column: str, value: Any) -> str:
    """Steps as integers with separators, minutes with one decimal, other numbers with 4 digits."""
    if not isinstance(value, float):
        return "" if value is None else str(value)
    if column == "steps":
        return f"{value:,.0f}"
    return f"{value:.1f}" if column == "wall_min" else f"{value:.4g}"


def markdown(table: list[dict[str, Any]]) -> str:
    cols = ["method", "env", "seeds", "steps", "wall_min", *KEY_METRICS, "random_cells"]
    cols = [c for c in cols if any(c in r for r in table)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table:
        cells = [fmt(c, r.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(rows: list[dict[str, Any]], baselines: dict[str, float], envs: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(envs), 2, figsize=(11, 3.8 * len(envs)), squeeze=False)
    for i, env in enumerate(envs):
        for j, (x, label) in enumerate((("step", "env steps"), ("wall_s", "training wall-clock (min)"))):
            ax = axes[i][j]
            runs = sorted({(r["method"], r["seed"]) for r in rows if r["env"] == env})
            for method, seed in runs:
                key = (method, seed, env, "coverage_cells")
                pts = sorted(
                    (r["step"], r[x], r["value"])
                    for r in rows
                    if (r["method"], r["seed"], r["env"], r["metric"]) == key
                )
                xs = [p[1] / 60 if x == "wall_s" else p[1] for p in pts]
                ax.plot(xs, [p[2] for p in pts], marker="o", ms=3, label=f"{method} s{seed}")
            if env in baselines:
                ax.axhline(baselines[env], color="0.5", ls="--", lw=1, label="random actions")
            ax.set_xlabel(label)
            ax.set_ylabel("policy state coverage (cells)")
            ax.set_title(env)
            ax.grid(alpha=0.3)
            if runs or env in baselines:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
