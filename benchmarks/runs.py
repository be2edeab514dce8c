"""What the benchmarks' ``collect`` steps share: the finished runs of a sweep, a run's training wall-clock,
and one CSV row per run merged into a committed file.

    for run_dir, cfg, result in finished_runs([Path("runs/slim_tabletop")]):
        wall_s, date = training_time(run_dir)      # summed over resumed segments; date of the last event
    merge_csv(RESULTS / "slim_tabletop.csv", COLUMNS, KEY, new_rows)

A row measured before keeps its machine and date when the same run (same key and steps) is collected
again, so re-collecting an unchanged sweep on another machine changes nothing.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rlinfo.config import Config


def finished_runs(sweep_dirs: Sequence[Path]) -> Iterator[tuple[Path, Config, dict[str, Any]]]:
    """(run directory, its config, its eval.json) of every run under ``sweep_dirs`` that reached its
    ``total_steps``, in name order; unfinished runs are skipped."""
    from rlinfo.run.rundir import load_run_config, read_eval

    for run_dir in sorted(p.parent for d in sweep_dirs for p in Path(d).glob("*/config.yaml")):
        cfg = load_run_config(run_dir)
        if not (run_dir / "eval.json").is_file():
            continue
        result = read_eval(run_dir)
        if int(result["steps"]) >= cfg.total_steps:
            yield run_dir, cfg, result


def trial_name(run_dir: Path) -> str:
    """The sweep trial's name part before its grid values (``apt__seed=0`` -> ``apt``)."""
    return run_dir.name.split("__")[0]


def training_time(run_dir: Path) -> tuple[float, str]:
    """(seconds of training summed over the run's resumed segments, UTC date of its last event)."""
    from benchmarks.results import segments

    wall, when = 0.0, 0.0
    for events in segments(run_dir):
        wall += events[-1][0] - events[0][0]
        when = events[-1][0]
    return round(wall, 1), time.strftime("%Y-%m-%d", time.gmtime(when))


def read_csv(path: Path, ints: Sequence[str] = (), floats: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The rows of a CSV, with the columns ``ints`` and ``floats`` converted ([] if the file is absent)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        rows: list[dict[str, Any]] = list(csv.DictReader(f))
    for r in rows:
        r.update({k: int(r[k]) for k in ints if k in r})
        r.update({k: float(r[k]) for k in floats if k in r})
    return rows


def write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``rows`` under the header ``columns``, atomically (a kill leaves the previous file)."""
    from rlinfo.files import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in columns} for r in rows)


def merge_csv(
    path: Path,
    columns: Sequence[str],
    key: Sequence[str],
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Write ``known`` (the rows already in ``path``) updated with ``new`` (same ``key``: the new row wins,
    keeping the old machine and date if its ``steps`` are the same), sorted by ``key``; return the rows."""
    rows = {tuple(str(r[k]) for k in key): r for r in known}
    for r in new:
        k = tuple(str(r[c]) for c in key)
        old = rows.get(k)
        if old is not None and str(old.get("steps")) == str(r.get("steps")):
            r = {**r, "machine": old["machine"], "date": old["date"]}
        rows[k] = r
    ordered = [rows[k] for k in sorted(rows)]
    write_csv(path, columns, ordered)
    return ordered


def collect_main(
    argv: list[str] | None, doc: str, collect: Callable[[list[Path], Path], int], out: Path
) -> int:
    """``python -m benchmarks.<name> collect SWEEP_DIR... [--out DIR]``: measure the sweeps' finished runs."""
    import argparse

    parser = argparse.ArgumentParser(description=" ".join(doc.split("\n\n")[0].split()))
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help=f"measure the finished runs of sweep folders into {out}")
    c.add_argument("sweep_dirs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    return collect(args.sweep_dirs, args.out)
