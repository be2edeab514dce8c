"""The one timing harness of the speed benchmarks (``scripts/*_benchmark.py``).

Named contenders run in alternating rounds in one process; each round runs every contender once, in an
order rotated round by round (from a seeded shuffle), so none always goes first and a drift of the
machine's speed falls on all of them alike. A contender is a callable returning what it measured: a
number, or ``{measure: number}`` for several (env steps/s, seconds, GFLOP/s ... as the caller says).

    timing = measure({"rlinfo": run_ours, "SB3": run_theirs}, rounds=5)
    rows = summary(timing)                       # per (contender, measure): median, min, max, spread
    rows.append(ratio(timing, "rlinfo", "SB3"))  # a speed is reported as a ratio to a peer of the run
    write_csv(out / "speed.csv", rows)           # + command, machine, date, python and torch versions
    print(markdown(rows, {"contender": "contender", "env steps/s": spread_cell}))
    figure(rows, out / "speed.png", "env steps / s")

``per_round(timing)`` gives one row per (round, contender, measure), and ``read_rounds`` turns such a
CSV back into a :class:`Timing`, so a table and a figure can be made from the committed CSV alone.
Nothing here reads a clock except :func:`clock`, which a contender may use to time itself.
"""

from __future__ import annotations

import csv
import io
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Value = float | Mapping[str, float]
META = ("command", "machine", "date", "python", "torch")


@dataclass
class Timing:
    """What :func:`measure` saw: the order of each round and each (contender, measure)'s value per round."""

    contenders: tuple[str, ...]
    orders: list[tuple[str, ...]] = field(default_factory=list)
    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def medians(self) -> dict[tuple[str, str], float]:
        return {key: statistics.median(v) for key, v in self.values.items()}


def orders(names: Sequence[str], rounds: int, seed: int = 0) -> list[tuple[str, ...]]:
    """The order of each round: a seeded shuffle of ``names``, rotated by one each round."""
    base = list(names)
    random.Random(seed).shuffle(base)
    n = len(base)
    return [tuple(base[r % n :] + base[: r % n]) for r in range(rounds)]


def say(line: str) -> None:
    print(line, flush=True)


def measure(
    contenders: Mapping[str, Callable[[], Value]],
    rounds: int,
    seed: int = 0,
    warmup: int = 0,
    name: str = "value",
    log: Callable[[str], Any] | None = say,
    on_round: Callable[[Timing], Any] | None = None,
) -> Timing:
    """Run every contender once per round, ``warmup`` unrecorded rounds first; a plain number a contender
    returns is recorded under the measure ``name``. ``on_round`` sees the timing after each recorded
    round (e.g. to write what is measured so far, so a killed run keeps its finished rounds)."""
    timing = Timing(tuple(contenders))
    for r, order in enumerate(orders(list(contenders), warmup + rounds, seed)):
        for contender in order:
            result = contenders[contender]()
            if r < warmup:
                continue
            for key, value in result.items() if isinstance(result, Mapping) else [(name, result)]:
                timing.values.setdefault((contender, key), []).append(float(value))
        if r >= warmup:
            timing.orders.append(order)
            if log is not None:
                log(f"round {r - warmup + 1}/{rounds} done ({', '.join(order)})")
            if on_round is not None:
                on_round(timing)
    return timing


def clock(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Seconds ``fn(*args, **kwargs)`` takes."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def stats(values: Sequence[float]) -> dict[str, float]:
    """rounds, median, min, max and spread = (max − min) / median."""
    med = statistics.median(values)
    low, high = min(values), max(values)
    return {"rounds": len(values), "median": med, "min": low, "max": high,
            "spread": (high - low) / med if med else float("nan")}  # fmt: skip


def summary(timing: Timing) -> list[dict[str, Any]]:
    """One row per (contender, measure), in the contenders' order."""
    return [{"contender": c, "measure": m, **stats(v)} for (c, m), v in timing.values.items()]


def ratio(timing: Timing, a: str, b: str, name: str = "value") -> dict[str, Any]:
    """``a`` against ``b`` on measure ``name``: the ratio of their medians (``of_medians``) and the
    median, min and max of the per-round ratios (each round's ``a`` over the same round's ``b``)."""
    x, y = timing.values[(a, name)], timing.values[(b, name)]
    per_round = [p / q for p, q in zip(x, y, strict=True)]
    return {"contender": f"{a} / {b}", "measure": f"{name} ratio", **stats(per_round),
            "of_medians": statistics.median(x) / statistics.median(y)}  # fmt: skip


def per_round(timing: Timing) -> list[dict[str, Any]]:
    """One row per (round, contender, measure): ``position`` is the contender's place in that round."""
    rows = []
    for r, order in enumerate(timing.orders):
        for (contender, key), values in timing.values.items():
            rows.append({"round": r + 1, "position": order.index(contender) + 1, "contender": contender,
                         "measure": key, "value": values[r]})  # fmt: skip
    return sorted(rows, key=lambda row: (row["round"], row["position"]))


def read_rounds(path: Path) -> Timing:
    """A :class:`Timing` back from a CSV of :func:`per_round` rows (extra columns are ignored)."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rounds = sorted({int(r["round"]) for r in rows})
    order: dict[int, dict[str, int]] = {n: {} for n in rounds}
    timing = Timing(tuple(dict.fromkeys(r["contender"] for r in rows)))
    for r in sorted(rows, key=lambda r: (int(r["round"]), int(r["position"]))):
        order[int(r["round"])][r["contender"]] = int(r["position"])
        timing.values.setdefault((r["contender"], r["measure"]), []).append(float(r["value"]))
    timing.orders = [tuple(sorted(order[n], key=order[n].get)) for n in rounds]
    return timing


# ----------------------------------------------------------------------------- writing
def command_line() -> str:
    """How this process was started, as a shell line (``python scripts/x.py --flag ...``)."""
    return "python " + shlex.join(sys.argv)


def meta(command: str | None = None, note: str = "") -> dict[str, str]:
    """The columns every CSV row carries: command, machine (``benchmarks/machine.py``; ``note`` after a
    semicolon, e.g. "shared machine"), UTC date and time, python and torch versions."""
    from benchmarks.machine import describe

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = ""
    return {"command": command or command_line(), "machine": describe() + (f"; {note}" if note else ""),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": platform.python_version(),
            "torch": torch_version}  # fmt: skip


def csv_text(rows: Iterable[Mapping[str, Any]], extra: Mapping[str, Any] | None = None) -> str:
    """Rows as CSV, their keys in first-seen order, ``extra`` columns (the same in every row) last."""
    rows = list(rows)
    fields = list(dict.fromkeys([*(k for r in rows for k in r), *(extra or {})]))
    rows = [{**r, **(extra or {})} for r in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path, rows: Iterable[Mapping[str, Any]], command: str | None = None, note: str = ""
) -> None:
    """``rows`` with the :func:`meta` columns, to ``path`` (atomically, ``rlinfo.files``)."""
    from rlinfo.files import write_text

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(Path(path), csv_text(rows, meta(command, note)))


def number(x: Any, digits: int = 4) -> str:
    """``x`` to ``digits`` significant figures, whole numbers from 10^digits on (1,510, not 1.51e+03);
    text as it is, a missing value as –."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "–" if x is None or x == "" else str(x)
    return f"{x:,.0f}" if abs(x) >= 10**digits else f"{x:.{digits}g}"


def spread_cell(row: Mapping[str, Any], digits: int = 4) -> str:
    """``median (min–max)`` of a :func:`summary` or :func:`ratio` row."""
    if "min" not in row or row["min"] == "" or row.get("rounds", 2) == 1:
        return number(row["median"], digits)
    return f"{number(row['median'], digits)} ({number(row['min'], digits)}–{number(row['max'], digits)})"


Column = str | Callable[[Mapping[str, Any]], str]


def markdown(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, Column] | Sequence[str]) -> str:
    """A Markdown table: ``columns`` maps each header to a row key or to a function of the row."""
    columns = columns if isinstance(columns, Mapping) else {c: c for c in columns}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [col(row) if callable(col) else number(row.get(col, "")) for col in columns.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bars(
    ax: Any,
    rows: Sequence[Mapping[str, Any]],
    ylabel: str,
    label: Callable[[Mapping[str, Any]], str] | None = None,
    refs: Mapping[str, float] | None = None,
) -> None:
    """One bar per row at its median, whiskers from min to max (where the row has them), and
    horizontal reference lines ``refs`` ({label: value})."""
    import numpy as np

    label = label or (lambda r: str(r["contender"]))
    med = np.array([float(r["median"]) for r in rows])
    has = [r.get("min", "") != "" for r in rows]
    low = np.array([med[i] - float(r["min"]) if has[i] else 0.0 for i, r in enumerate(rows)])
    high = np.array([float(r["max"]) - med[i] if has[i] else 0.0 for i, r in enumerate(rows)])
    x = np.arange(len(rows))
    ax.bar(x, med, yerr=np.vstack([low, high]), capsize=3, color="tab:blue", ecolor="0.25")
    for (name, value), style in zip((refs or {}).items(), (":", "--", "-.", "-"), strict=False):
        ax.axhline(value, color="0.4", ls=style, lw=1, label=name)
    ax.set_xticks(x, [label(r) for r in rows], fontsize=8, rotation=20 if len(rows) > 4 else 0, ha="right"
                  if len(rows) > 4 else "center")  # fmt: skip
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    if refs:
        ax.legend(fontsize=8)


def figure(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    ylabel: str,
    title: str = "",
    label: Callable[[Mapping[str, Any]], str] | None = None,
    refs: Mapping[str, float] | None = None,
) -> None:
    """A one-panel :func:`bars` figure (bar = median, whiskers = min–max over rounds) saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlinfo.files import save_figure

    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows) + 2), 3.8))
    bars(ax, rows, ylabel, label, refs)
    ax.set_title(title or "median over rounds; whiskers: min–max", fontsize=10)
    fig.tight_layout()
    save_figure(fig, Path(path), dpi=110)
