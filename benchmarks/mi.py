"""The MI-estimator benchmark's two tables (docs/benchmarks.md, "MI estimators: Gaussian staircase"), from
its CSVs, so that ``scripts/mi_benchmark.py`` (from the CSVs it has just written) and
``python -m benchmarks.pages`` (from docs/results/mi_staircase.csv and docs/results/mi_consistency.csv) print
the same lines.

    rows = read_staircase(Path("docs/results/mi_staircase.csv"))
    lines = staircase_block()      # the staircase table, an empty line and its "Data: ..." line
    lines = consistency_block()    # the same for the self-consistency checks

mi_staircase.csv has one row per estimator, critic and true MI: the mean and variance of the estimate over
the last steps of that level (``STAIRCASE_COLUMNS``); mi_consistency.csv one row per estimator: I(X; Y)'s
estimate and the two ratios of Song & Ermon (2020, sec. 6) (``CONSISTENCY_COLUMNS``). Both carry the
command, machine and date of the run.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
STAIRCASE = "mi_staircase"
CONSISTENCY = "mi_consistency"
LABELS = {
    "infonce": "InfoNCE",
    "nwj": "NWJ",
    "js": "JS",
    "mine": "MINE",
    "smile_1": "SMILE (τ=1)",
    "smile_5": "SMILE (τ=5)",
    "smile_inf": "SMILE (τ=∞)",
}
META = ("command", "machine", "date")
STAIRCASE_COLUMNS = ("estimator", "critic", "true_mi", "mean", "variance", "steps", "batch", "seed", *META)
RATIOS = ("data_processing_ratio", "additivity_ratio")
CONSISTENCY_COLUMNS = ("estimator", "estimate", *RATIOS, "true_mi", "steps", *META)


def _read(path: Path, floats: tuple[str, ...], ints: tuple[str, ...]) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows: list[dict[str, Any]] = list(csv.DictReader(f))
    for r in rows:
        r.update({k: float(r[k]) for k in floats} | {k: int(r[k]) for k in ints})
    return rows


def read_staircase(path: Path) -> list[dict[str, Any]]:
    """The rows of mi_staircase.csv: the MI, mean and variance as floats, steps, batch and seed as ints."""
    return _read(path, ("true_mi", "mean", "variance"), ("steps", "batch", "seed"))


def read_consistency(path: Path) -> list[dict[str, Any]]:
    """The rows of mi_consistency.csv, with the estimate, ratios and MI as floats, steps as an int."""
    return _read(path, ("estimate", *RATIOS, "true_mi"), ("steps",))


def label(estimator: str) -> str:
    return LABELS.get(estimator, estimator)


def data_line(path: Path, rows: list[dict[str, Any]]) -> str:
    """Where the numbers live, and the commands, machines and dates their rows record (the format of
    ``benchmarks.pages.data_line``); a CSV outside docs/results/ is named by its path."""
    name = Path(path).name
    inside = Path(path).resolve().parent == RESULTS.resolve()
    where = f"[docs/results/{name}](results/{name})" if inside else str(path)
    facts = [", ".join(sorted({f"`{r[k]}`" if k == "command" else str(r[k]) for r in rows})) for k in META
             if rows and k in rows[0]]  # fmt: skip
    return f"Data: {where}" + "".join(f" · {f}" for f in facts) + "."


def staircase_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The staircase table: one line per (estimator, critic) in the rows' order, one column per true MI,
    each cell ``mean (variance)`` (mean to 2 decimals, variance to 2 significant digits)."""
    levels = list(dict.fromkeys(r["true_mi"] for r in rows))
    cells = {(r["estimator"], r["critic"], r["true_mi"]): f"{r['mean']:.2f} ({r['variance']:.2g})"
             for r in rows}  # fmt: skip
    lines = ["| estimator | critic | " + " | ".join(f"I = {m:g}" for m in levels) + " |",
             "|" + "---|" * (2 + len(levels))]  # fmt: skip
    for est, critic in dict.fromkeys((r["estimator"], r["critic"]) for r in rows):
        row = [cells.get((est, critic, m), "–") for m in levels]
        lines.append(f"| {label(est)} | {critic} | " + " | ".join(row) + " |")
    return lines


def consistency_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The self-consistency table: Î(X; Y) to 2 decimals, the two ratios to 3."""
    truth = ", ".join(f"{m:g}" for m in dict.fromkeys(r["true_mi"] for r in rows))
    lines = [f"| estimator | Î(X;Y) (true {truth}) | data processing ratio (ideal 1) | "
             "additivity ratio (ideal 2) |", "|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {label(r['estimator'])} | {r['estimate']:.2f} | {r['data_processing_ratio']:.3f} | "
                     f"{r['additivity_ratio']:.3f} |")  # fmt: skip
    return lines


def staircase_block(path: Path = RESULTS / f"{STAIRCASE}.csv") -> list[str]:
    """The staircase table of ``path``, an empty line and its data line: the generated block of
    docs/benchmarks.md and what ``scripts/mi_benchmark.py`` prints."""
    rows = read_staircase(path)
    return [*staircase_lines(rows), "", data_line(path, rows)]


def consistency_block(path: Path = RESULTS / f"{CONSISTENCY}.csv") -> list[str]:
    """The self-consistency table of ``path``, an empty line and its data line."""
    rows = read_consistency(path)
    return [*consistency_lines(rows), "", data_line(path, rows)]
