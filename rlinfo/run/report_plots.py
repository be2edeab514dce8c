"""The figures of ``rlinfo report``: IQM intervals per env and method, and training curves with bands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlinfo.evaluation.plots import plt
from rlinfo.files import save_figure

if TYPE_CHECKING:
    from rlinfo.run.report_stats import Row, Run

Curve = tuple[np.ndarray, np.ndarray]  # steps, values


def read_curves(runs: list[Run], tag: str | None) -> tuple[str, dict[Path, Curve]]:
    """Each run's TensorBoard scalar ``tag`` (default: the first of CURVE_TAGS that the runs have)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlinfo.run.report_stats import CURVE_TAGS

    curves: dict[Path, dict[str, Curve]] = {}
    for run in runs:
        try:  # a truncated or foreign events file: that run's curve is left out, in one line
            acc = EventAccumulator(str(run.path), size_guidance={"scalars": 0})
            acc.Reload()
            tags = acc.Tags().get("scalars", [])
        except Exception as e:
            print(f"rlinfo: warning: no curves from {run.path}: {str(e).splitlines()[0] if str(e) else e!r}",
                  file=sys.stderr)  # fmt: skip
            continue
        curves[run.path] = {}
        for t in tags:
            events = acc.Scalars(t)
            steps = np.array([e.step for e in events])
            values = np.array([e.value for e in events], dtype=np.float64)
            keep = np.isfinite(values)  # a NaN point never reaches a band or an IQM
            curves[run.path][t] = (steps[keep], values[keep])
    if tag is None:
        tag = next((t for t in CURVE_TAGS if all(t in c for c in curves.values())), "")
    return tag, {p: c[tag] for p, c in curves.items() if tag in c and len(c[tag][0])}


def method_colors(methods: list[str]) -> dict[str, Any]:
    """One colour per method, the ten tab10 colours in turn (a grid may have more than ten labels)."""
    palette = plt.cm.tab10(np.linspace(0, 1, 10))
    return {m: palette[i % 10] for i, m in enumerate(methods)}


def intervals_figure(path: Path, rows: list[Row], metric: str) -> Path:
    """One panel per env (and 'all envs'): each method's IQM with its 95% interval (hatched: the range of
    fewer than 3 runs), mean as a cross; every bar inside the axes."""
    envs = list(dict.fromkeys(r.env for r in rows))
    methods = sorted({r.method for r in rows})
    colors = method_colors(methods)
    fig, axes = plt.subplots(1, len(envs), figsize=(3.6 * len(envs) + 1.2, 0.45 * len(methods) + 1.3),
                             squeeze=False, sharey=True)  # fmt: skip
    for ax, env in zip(axes[0], envs, strict=True):
        for i, method in enumerate(methods):
            row = next((r for r in rows if r.env == env and r.method == method), None)
            if row is None:
                continue
            few = row.extra.get("interval") == "range"
            ax.barh(i, max(row.high - row.low, 1e-12), left=row.low, height=0.6, color=colors[method],
                    alpha=0.4 if few else 0.75, hatch="//" if few else None)  # fmt: skip
            ax.plot([row.iqm, row.iqm], [i - 0.3, i + 0.3], color="k", lw=1.5)
            ax.plot(row.scores.mean(), i, "x", color="k", ms=5)
        shown = [r for r in rows if r.env == env]
        lo = min(min(r.low, r.iqm, float(r.scores.mean())) for r in shown)
        hi = max(max(r.high, r.iqm, float(r.scores.mean())) for r in shown)
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.1, 1e-3)
        ax.set_xlim(lo - pad, hi + pad)  # no bar clipped at the axis
        ax.set_yticks(range(len(methods)), methods)
        ax.set_title(env, fontsize=10)
        ax.set_xlabel(f"{metric}: IQM |, mean ×, bar 95% CI (hatched: range, < 3 runs)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path


def curves_figure(path: Path, runs: list[Run], curves: dict[Path, Curve], tag: str, reps: int) -> Path:
    """One panel per env and method, each with its own y axis (methods' intrinsic returns have unrelated
    scales): the IQM over seeds of ``tag`` on a common step grid, with a 95% stratified-bootstrap band
    from 3 runs, the runs' range below that."""
    from rlinfo.run.report_stats import CURVE_POINTS, MIN_RUNS_FOR_CI, bootstrap

    envs = sorted({r.env for r in runs})
    methods = sorted({r.label for r in runs})
    colors = method_colors(methods)
    fig, axes = plt.subplots(len(envs), len(methods), figsize=(3.6 * len(methods), 2.9 * len(envs)),
                             squeeze=False)  # fmt: skip
    for row_axes, env in zip(axes, envs, strict=True):
        for ax, method in zip(row_axes, methods, strict=True):
            group = [curves[r.path] for r in runs if r.env == env and r.label == method and r.path in curves]
            ax.set_title(f"{method} on {env} ({len(group)} run{'s' * (len(group) != 1)})", fontsize=9)
            ax.set_xlabel("env steps")
            ax.set_ylabel(tag, fontsize=8)
            ax.grid(alpha=0.3)
            if not group:
                continue
            end = min(int(s[-1]) for s, _ in group)
            start = max(int(s[0]) for s, _ in group)
            grid = np.linspace(start, end, CURVE_POINTS) if end > start else np.array([float(end)])
            ys = np.stack([np.interp(grid, s, v) for s, v in group])[:, None, :]  # [runs, 1 task, points]
            point, band = bootstrap(ys, reps)
            if len(group) < MIN_RUNS_FOR_CI:
                band = np.stack([ys[:, 0].min(0), ys[:, 0].max(0)])
            ax.plot(grid, point, color=colors[method])
            ax.fill_between(grid, band[0], band[1], color=colors[method], alpha=0.25)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path
