"""``rlinfo report RUN_OR_SWEEP_DIRS...``: aggregate many runs into a table and figures.

Runs are grouped by method × env; runs of one group differ only by ``seed``. When runs of the same
method and env differ in other config keys (a hyperparameter grid), those keys join the method's label
(``metra agent.lr=0.0001``). For each group: the mean and the interquartile mean (IQM) of an
``eval.json`` metric over seeds, with a 95% stratified-bootstrap confidence interval (Agarwal et al.
2021, "Deep RL at the edge of the statistical precipice"; the resamples of their library rliable,
``rlinfo.run.report_stats.bootstrap``); with several envs, also the IQM over all of them (bootstrap
stratified by env). Writes ``report.md``, ``report.csv``, ``curves.png`` (a TensorBoard curve: IQM over
seeds with its 95% band) and ``intervals.png`` (the IQM intervals).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rlinfo.config import to_dict
from rlinfo.errors import RlinfoError
from rlinfo.files import atomic_path, refuse_links, write_text
from rlinfo.run.report_stats import (
    ALL_ENVS,
    MIN_RUNS_FOR_CI,
    NOT_METHOD,
    Row,
    Run,
    bootstrap,
)
from rlinfo.run.urlb_scores import NORMALIZATIONS, normalized, urlb_domain

CSV_COLUMNS = ["env", "method", "metric", "runs", "seeds", "mean", "std", "iqm", "iqm_low", "iqm_high",
               "interval"]  # fmt: skip
def find_runs(dirs: list[str | Path]) -> list[Path]:
    """Run directories (holding ``config.yaml``) given directly or anywhere under the given dirs."""
    found: list[Path] = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise RlinfoError(f"not a directory: {d}")
        found += [d] if (d / "config.yaml").is_file() else sorted(p.parent for p in d.rglob("config.yaml"))
    if not found:
        raise RlinfoError(f"no run directory (with config.yaml) in {', '.join(map(str, dirs))}")
    return list(dict.fromkeys(found))


def load_runs(paths: list[Path], metric: str, label: str | None = None) -> tuple[list[Run], list[str]]:
    """Finished runs with ``metric`` in eval.json (labelled by :func:`label_runs`), and one note for each
    run left out."""
    from rlinfo.run.rundir import is_number, load_run_config, read_eval

    runs, notes = [], []
    for path in paths:
        try:  # every run on its own: one broken directory is named and left out, never fatal
            cfg = load_run_config(path)
            result = read_eval(path) if (path / "eval.json").exists() else None
        except RlinfoError as e:
            notes.append(f"skipped {path}: {e}")
            print(f"rlinfo: warning: skipped {path}: {e}", file=sys.stderr)
            continue
        steps = int(result["steps"]) if result is not None else -1
        if steps < cfg.total_steps:
            notes.append(f"{path}: unfinished ({'no eval.json' if steps < 0 else f'{steps} steps'})")
            continue
        if metric not in result:
            notes.append(f"{path}: no '{metric}' in eval.json (has {', '.join(sorted(result))})")
            continue
        if not is_number(result[metric]):
            value = result[metric]
            notes.append(f"skipped {path}: '{metric}' in eval.json is {value!r}, not a finite number")
            print(f"rlinfo: warning: {notes[-1]}", file=sys.stderr)
            continue
        method = cfg.agent.name if cfg.reward.channels or cfg.reward.name == "none" else cfg.reward.name
        runs.append(Run(path, method, cfg.env.name, cfg.seed, flat(to_dict(cfg)), result))
    if not runs:
        raise RlinfoError(f"no finished run with '{metric}' in eval.json: {'; '.join(notes[:3])}")
    label_runs(runs, label)
    return runs, notes


def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def label_runs(runs: list[Run], key: str | None = None) -> None:
    """The method label: the method, plus the config keys that vary among its runs on one env, or only
    the config ``key`` when given (``ppo agent.params.entropy.name=epo``)."""
    if key is not None:
        if not any(key in r.config for r in runs):
            raise RlinfoError(f"--label: no run has the config key '{key}' (e.g. agent.params.entropy.name)")
        for run in runs:
            run.label = f"{run.method} {key}={run.config.get(key)}"
        return
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.method, run.env), []).append(run)
    for (method, _), group in groups.items():
        keys = sorted({k for r in group for k in r.config} - set(NOT_METHOD))
        varying = [k for k in keys if len({repr(r.config.get(k)) for r in group}) > 1]
        for run in group:
            extra = ",".join(f"{k}={run.config.get(k)}" for k in varying)
            run.label = f"{method} {extra}" if extra else method


def aggregate(
    runs: list[Run], metric: str, reps: int, seed: int = 0, groups: dict[str, list[str]] | None = None
) -> list[Row]:
    """One row per (env, label), plus per label over each group of envs (``groups``: e.g. a URLB domain's
    tasks) and over all envs, where it ran the same seeds on each."""
    rows: list[Row] = []
    envs = sorted({r.env for r in runs})
    labels = sorted({r.label for r in runs})
    for env in envs:
        for label in labels:
            group = sorted((r for r in runs if r.env == env and r.label == label), key=lambda r: r.seed)
            if group:
                scores = np.array([float(r.result[metric]) for r in group])
                rows.append(Row(env, label, [r.seed for r in group], scores))
    cells = {(row.env, row.method): row for row in rows}
    pools = {f"{name} (all tasks)": members for name, members in (groups or {}).items() if len(members) > 1}
    if len(envs) > 1:
        pools[ALL_ENVS] = envs
    for pool, members in pools.items():
        for label in labels:
            per_env = [cells.get((env, label)) for env in members]
            if all(r is not None and r.seeds == per_env[0].seeds for r in per_env):  # type: ignore[union-attr]
                matrix = np.stack([r.scores for r in per_env], axis=1)  # type: ignore[union-attr]
                rows.append(Row(pool, label, per_env[0].seeds, matrix))  # type: ignore[union-attr]
    from rlinfo.run.monitor import phase_bar

    what = f"bootstrapping {len(rows)} groups ({reps} resamples)"
    with phase_bar(what, total=len(rows), unit="group") as bar:
        for row in rows:
            _interval(row, reps, seed)
            bar.update()
    return rows


def _interval(row: Row, reps: int, seed: int) -> None:
    """The row's IQM and its 95% stratified-bootstrap interval; the runs' range below 3 runs."""
    matrix = row.scores.reshape(len(row.seeds), -1)  # [runs, tasks]
    point, interval = bootstrap(matrix, reps, seed)
    row.iqm, row.low, row.high = float(point[0]), float(interval[0, 0]), float(interval[1, 0])
    if len(row.seeds) < MIN_RUNS_FOR_CI:  # a bootstrap of 1-2 runs is not a confidence interval
        row.low, row.high = float(matrix.mean(1).min()), float(matrix.mean(1).max())
    row.extra["interval"] = "95% CI" if len(row.seeds) >= MIN_RUNS_FOR_CI else "range"


def few_runs_warnings(rows: list[Row]) -> list[str]:
    """One line per group with fewer than 3 runs (its interval column holds the runs' range)."""
    return [f"{r.env} / {r.method}: {len(r.seeds)} run{'s' * (len(r.seeds) != 1)}; a 95% interval needs at "
            f"least {MIN_RUNS_FOR_CI}, so the report gives the range of the runs" for r in rows
            if r.extra.get("interval") == "range"]  # fmt: skip


def write_report(
    dirs: list[str | Path], out: str | Path | None, metric: str | None = None, curve: str | None = None,
    reps: int = 2000, normalize: str | None = None, label: str | None = None,
) -> Path:  # fmt: skip
    """Read the runs, write report.md, report.csv, curves.png and intervals.png into ``out``; ``metric``
    is an eval.json key (default: ``coverage``, with ``normalize`` the task ``return``).

    ``normalize="urlb"``: each run's ``metric`` (its task return) divided by URLB's expert score of its
    task, aggregated per task, per domain and over all tasks (``rlinfo/run/urlb_scores.py``). ``label``:
    a config key that names each group instead of every key that varies (:func:`label_runs`)."""
    from rlinfo.run.report_plots import curves_figure, intervals_figure, read_curves

    first = Path(dirs[0])
    out = Path(out) if out else (first if not (first / "config.yaml").is_file() else Path("report"))
    refuse_links(out)  # before any work
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise RlinfoError(f"--normalize takes {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    metric = metric or ("return" if normalize else "coverage")
    runs, notes = load_runs(find_runs(dirs), metric, label)
    groups = None
    if normalize == "urlb":
        groups = normalize_urlb(runs, metric)
        metric = f"{metric} / expert"
    rows = aggregate(runs, metric, reps, groups=groups)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "report.csv", rows, metric)
    tag, curves = read_curves(runs, curve)
    figures = [intervals_figure(out / "intervals.png", rows, metric)]
    if curves:
        figures.append(curves_figure(out / "curves.png", runs, curves, tag, reps=min(reps, 500)))
    text = markdown(rows, metric, reps, notes, [f.name for f in figures], tag)
    write_text(out / "report.md", text)
    print(table(rows, metric))
    for warning in few_runs_warnings(rows):
        print(f"rlinfo: warning: {warning}", file=sys.stderr)
    print(f"report: {out / 'report.md'} ({len(runs)} runs; report.csv, {', '.join(f.name for f in figures)})")
    return out


def normalize_urlb(runs: list[Run], metric: str) -> dict[str, list[str]]:
    """Replace each run's ``metric`` by its expert-normalised score (stored as ``"<metric> / expert"``);
    return the URLB domains and their tasks among the runs."""
    domains: dict[str, list[str]] = {}
    for run in runs:
        run.result = {**run.result, f"{metric} / expert": normalized(run.env, float(run.result[metric]))}
        members = domains.setdefault(urlb_domain(run.env), [])
        if run.env not in members:
            members.append(run.env)
    return {domain: sorted(members) for domain, members in sorted(domains.items())}


def table(rows: list[Row], metric: str) -> str:
    lines = [
        f"| env | method | seeds | mean {metric} | IQM | IQM 95% CI (range of the runs below 3 runs) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        seeds = ",".join(map(str, r.seeds))
        interval = f"[{r.low:.3f}, {r.high:.3f}]"
        if r.extra.get("interval") == "range":
            interval = f"range {interval}, {len(r.seeds)} run{'s' * (len(r.seeds) != 1)}: no CI"
        lines.append(f"| {r.env} | {r.method} | {seeds} | {r.scores.mean():.3f} | {r.iqm:.3f} | {interval} |")
    return "\n".join(lines)


def markdown(rows: list[Row], metric: str, reps: int, notes: list[str], figures: list[str], tag: str) -> str:
    parts = [
        f"# Report: {metric}",
        "",
        f"IQM = interquartile mean over seeds (runs); 95% CI = percentile stratified bootstrap ({reps} "
        f"resamples, as rliable's). `{ALL_ENVS}`: IQM over every env's runs, bootstrap stratified by env.",
        "",
        table(rows, metric),
        "",
    ]
    warnings = few_runs_warnings(rows)
    if warnings:
        parts += ["**Too few runs for an interval:**", *[f"- {w}" for w in warnings], ""]
    parts += [f"![{name}]({name})" for name in figures]
    if tag:
        parts += ["", f"Curves: TensorBoard `{tag}`, IQM over seeds with its 95% bootstrap band."]
    if notes:
        parts += ["", "Left out:", *[f"- {n}" for n in notes]]
    return "\n".join(parts) + "\n"


def write_csv(path: Path, rows: list[Row], metric: str) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([
                r.env, r.method, metric, len(r.seeds), " ".join(map(str, r.seeds)), f"{r.scores.mean():.6g}",
                f"{r.scores.std():.6g}", f"{r.iqm:.6g}", f"{r.low:.6g}", f"{r.high:.6g}", r.extra["interval"],
            ])  # fmt: skip
