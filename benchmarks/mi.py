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


# ----------------------------------------------------------------------------- traces and figure
TRACES = "mi_traces"
TRACE_WINDOW = 100  # steps summarised per row of mi_traces.csv
TRACE_COLUMNS = ("estimator", "critic", "step", "p10", "median", "p90", *META)
FIGURE = ROOT / "docs" / "img" / "mi_staircase.png"


def trace_rows(traces: dict[str, Any], window: int = TRACE_WINDOW) -> list[dict[str, Any]]:
    """Per ``"critic:estimator"`` trace of per-step estimates, one row per ``window`` steps: the step the
    window ends at and the 10th, 50th and 90th percentiles of its finite estimates (a compact record of
    the whole training curve, from which the figure is drawn)."""
    import numpy as np

    rows = []
    for key, values in traces.items():
        critic, estimator = key.split(":")
        window = min(window, len(values))
        for end in range(window, len(values) + 1, window):
            chunk = values[end - window : end]
            finite = chunk[np.isfinite(chunk)]
            p10, p50, p90 = np.percentile(finite, (10, 50, 90)) if finite.size else (np.nan,) * 3
            rows.append({"estimator": estimator, "critic": critic, "step": end, "p10": round(float(p10), 4),
                         "median": round(float(p50), 4), "p90": round(float(p90), 4)})  # fmt: skip
    return rows


def read_traces(path: Path) -> list[dict[str, Any]]:
    return _read(path, ("p10", "median", "p90"), ("step",))


def staircase_figure(
    traces: Path = RESULTS / f"{TRACES}.csv",
    staircase: Path = RESULTS / f"{STAIRCASE}.csv",
    consistency: Path = RESULTS / f"{CONSISTENCY}.csv",
    image: Path = FIGURE,
) -> Path:
    """One panel per estimator: each critic's windowed median estimate with its 10–90% band against the
    true MI's staircase and log(batch); a last panel with the self-consistency ratios (if measured)."""
    import math

    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure

    rows, levels = read_traces(traces), read_staircase(staircase)
    cons = read_consistency(consistency) if Path(consistency).is_file() else []
    names = list(dict.fromkeys(r["estimator"] for r in rows))
    per_level, batch = levels[0]["steps"], levels[0]["batch"]
    truth = list(dict.fromkeys(r["true_mi"] for r in levels))
    ncol = 4
    nrow = math.ceil((len(names) + bool(cons)) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.7 * nrow), squeeze=False)
    colors = {"separable": "tab:blue", "joint": "tab:orange"}
    stairs_x = [x for k in range(len(truth)) for x in (k * per_level, (k + 1) * per_level)]
    stairs_y = [y for y in truth for _ in range(2)]
    for ax, name in zip(axes.flat, names, strict=False):
        for critic, color in colors.items():
            mine = [r for r in rows if (r["estimator"], r["critic"]) == (name, critic)]
            if not mine:
                continue
            steps = [r["step"] for r in mine]
            ax.fill_between(steps, [r["p10"] for r in mine], [r["p90"] for r in mine], color=color, alpha=0.2,
                            lw=0)  # fmt: skip
            ax.plot(steps, [r["median"] for r in mine], color=color, lw=1.2, label=critic)
        ax.plot(stairs_x, stairs_y, color="black", lw=1.0)
        ax.axhline(math.log(batch), color="gray", ls="--", lw=0.8)
        ax.set_ylim(-1, max(truth) + 3)
        ax.set_title(label(name), fontsize=10)
        ax.set_xticks([k * per_level for k in range(len(truth) + 1)])
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left")
    if cons:
        ax = axes.flat[len(names)]
        xs = list(range(len(cons)))
        for shift, key, name in ((-0.2, "data_processing_ratio", "data processing (ideal 1)"),
                                 (0.2, "additivity_ratio", "additivity (ideal 2)")):  # fmt: skip
            ax.bar([x + shift for x in xs], [r[key] for r in cons], 0.4, label=name)
        ax.axhline(1, color="tab:blue", ls=":", lw=1)
        ax.axhline(2, color="tab:orange", ls=":", lw=1)
        ax.set_xticks(xs, [label(r["estimator"]) for r in cons], fontsize=7)
        ax.set_ylim(0, 2.6)
        ax.tick_params(labelsize=7)
        ax.set_title("Self-consistency (separable)", fontsize=10)
        ax.legend(fontsize=6, loc="upper left")
    for ax in axes.flat[len(names) + bool(cons) :]:
        ax.axis("off")
    window = rows[1]["step"] - rows[0]["step"] if len(rows) > 1 else rows[0]["step"]
    fig.supxlabel(f"training step (black: true MI, dashed: log {batch}; line: median, band: 10–90% of each "
                  f"{window} steps)", fontsize=9)  # fmt: skip
    fig.supylabel("MI estimate (nats)", fontsize=9)
    fig.tight_layout()
    Path(image).parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, Path(image), dpi=72)


# ----------------------------------------------------------------------------- exact critic
EXACT = "mi_exact_critic"
# (CSV column, table title, the bound evaluated at the exact critic f = log r)
EXACT_BOUNDS = (
    ("dv", "DV (= SMILE τ=∞)"),
    ("nwj", "NWJ"),
    ("infonce", "InfoNCE"),
    ("smile_1", "SMILE τ=1"),
    ("smile_5", "SMILE τ=5"),
    ("js_readout", "JS readout"),
)
EXACT_COLUMNS = ("true_mi", *(f"{k}_{s}" for k, _ in EXACT_BOUNDS for s in ("mean", "variance")),
                 "clip_bias_1", "clip_bias_5", "dim", "batch", "batches", "pairs", "seed", *META)  # fmt: skip
EXACT_COMMAND = "python -m benchmarks.mi exact"


def log_ratio(x: Any, y: Any, rho: float) -> Any:
    """log r(x, y) = log p(y | x) − log p(y) for y = ρx + √(1−ρ²) ε, over the last axis (broadcasting:
    ``log_ratio(x[:, None], y[None], ρ)`` scores every pair of a batch)."""
    import math

    c = 1 - rho**2
    return -((y - rho * x) ** 2).sum(-1) / (2 * c) - 0.5 * x.shape[-1] * math.log(c) + 0.5 * (y**2).sum(-1)


def exact_critic_rows(
    levels: tuple[float, ...] = (2, 4, 6, 8, 10),
    dim: int = 20,
    batch: int = 64,
    batches: int = 300,
    pairs: int = 400_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Each bound at the exact critic f = log r on ``batches`` batches of ``batch`` pairs (float64): mean and
    variance over the batches; NWJ at f + 1 (its optimal critic), "JS readout" NWJ(f) at the JS optimum
    f = log r. clip_bias_τ = −log E_Q[clip(r, e^−τ, e^τ)] over ``pairs`` independent (x, y): the amount
    by which SMILE(τ) exceeds I at the exact critic before any mini-batch effect."""
    import math

    import torch

    from rlinfo.estimators import dv, infonce, nwj, smile

    gen = torch.Generator().manual_seed(seed)
    bounds = {"dv": dv, "nwj": lambda f: nwj(f + 1), "infonce": infonce, "smile_1": lambda f: smile(f, 1.0),
              "smile_5": lambda f: smile(f, 5.0), "js_readout": nwj}  # fmt: skip
    rows = []
    for mi in levels:
        rho = math.sqrt(1 - math.exp(-2 * mi / dim))
        values: dict[str, list[float]] = {k: [] for k in bounds}
        for _ in range(batches):
            x = torch.randn(batch, dim, dtype=torch.float64, generator=gen)
            y = rho * x + math.sqrt(1 - rho**2) * torch.randn(batch, dim, dtype=torch.float64, generator=gen)
            f = log_ratio(x[:, None], y[None], rho)  # [batch, batch]: positives on the diagonal
            for k, bound in bounds.items():
                values[k].append(float(bound(f)))
        x = torch.randn(pairs, dim, dtype=torch.float64, generator=gen)
        y = torch.randn(pairs, dim, dtype=torch.float64, generator=gen)  # independent: samples of Q
        log_r = log_ratio(x, y, rho)
        row: dict[str, Any] = {"true_mi": mi}
        for k, v in values.items():
            t = torch.tensor(v, dtype=torch.float64)
            row[f"{k}_mean"], row[f"{k}_variance"] = float(t.mean()), float(t.var())
        for tau in (1, 5):
            row[f"clip_bias_{tau}"] = -float(torch.log(log_r.clamp(-tau, tau).exp().mean()))
        rows.append(row | {"dim": dim, "batch": batch, "batches": batches, "pairs": pairs, "seed": seed})
    return rows


def exact_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The exact-critic table: per true MI, each bound's ``mean (variance)`` and the two clipping biases."""
    head = ["I", *(t for _, t in EXACT_BOUNDS), "clip bias τ=1", "clip bias τ=5"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r[k + '_mean']:.2f} ({r[k + '_variance']:.2g})" for k, _ in EXACT_BOUNDS]
        lines.append(f"| {r['true_mi']:g} | " + " | ".join(cells)
                     + f" | {r['clip_bias_1']:.2f} | {r['clip_bias_5']:.2f} |")  # fmt: skip
    return lines


def read_exact(path: Path) -> list[dict[str, Any]]:
    floats = tuple(c for c in EXACT_COLUMNS if c not in ("dim", "batch", "batches", "pairs", "seed", *META))
    return _read(path, floats, ("dim", "batch", "batches", "pairs", "seed"))


def exact_block(path: Path = RESULTS / f"{EXACT}.csv") -> list[str]:
    """The exact-critic table of ``path``, an empty line and its data line."""
    rows = read_exact(path)
    return [*exact_lines(rows), "", data_line(path, rows)]


def write_exact(path: Path = RESULTS / f"{EXACT}.csv") -> list[dict[str, Any]]:
    """Compute the exact-critic rows and write them with the command, machine and date."""
    import time

    from benchmarks.machine import describe
    from benchmarks.runs import write_csv

    meta = {"command": EXACT_COMMAND, "machine": describe(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    rows = [r | meta for r in exact_critic_rows()]
    write_csv(path, EXACT_COLUMNS, [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()}
                                    for r in rows])  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="The MI tables that need no training run.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("exact", help=f"bounds at the exact critic -> docs/results/{EXACT}.csv (seconds)")
    parser.parse_args(argv)
    write_exact()
    print("\n".join(exact_block()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
