"""The speed and precision tables of docs/benchmarks.md, from the CSVs their scripts write:

    speed_block()      docs/results/speed_benchmark.csv      (scripts/speed_benchmark.py)
    update_block()     docs/results/update_benchmark.csv     (scripts/update_benchmark.py)
    overhead_block()   docs/results/overhead_benchmark.csv   (scripts/overhead_benchmark.py)
    precision_block()  docs/results/precision_benchmark.csv  (scripts/precision_benchmark.py)

Timings are "median (min–max)" over the script's rounds.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.runs import read_csv

RESULTS = Path("docs/results")


def spread(median: float, low: float, high: float, digits: int = 1) -> str:
    return f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def header(*columns: str) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def data_line(name: str) -> str:
    return f"Data: [docs/results/{name}.csv](results/{name}.csv)."


# ----------------------------------------------------------------------------- speed
# (table row, the CSV measure; digits)
SPEED_ROWS = (
    ("matmul rate, 1024³ float32 (GFLOP/s)", "matmul GFLOP/s", 1),
    ("matmul rate, 1024³ bfloat16 (GFLOP/s)", "matmul bfloat16 GFLOP/s", 1),
    ("rlinfo SAC, env steps/s", "rlinfo SAC steps_per_s", 1),
    ("rlinfo SAC with `train.overlap=true`", "rlinfo SAC overlapped steps_per_s", 1),
    ("rlinfo SAC with `train.precision=bfloat16`", "rlinfo SAC bfloat16 steps_per_s", 1),
    ("stable-baselines3 SAC, env steps/s", "SB3 SAC steps_per_s", 1),
    ("one SAC update's matmuls alone, replayed (ms)", "rlinfo SAC matmul_ms_per_update", 2),
    ("the same in bfloat16 (ms)", "rlinfo SAC bfloat16 matmul_ms_per_update", 2),
    ("metra_ant env steps/s", "metra_ant env_steps_per_s", 1),
    ("metra_ant with `train.overlap=true`", "metra_ant overlapped env_steps_per_s", 1),
    ("metra_ant with `train.precision=bfloat16`", "metra_ant bfloat16 env_steps_per_s", 1),
)


def speed_block(path: Path = RESULTS / "speed_benchmark.csv") -> list[str]:
    """Each measure on 1 and 2 threads, then rlinfo SAC against SB3 and metra_ant's update rate as a
    fraction of the matmul rate, both from the same run."""
    rows = read_csv(path, ints=("threads", "rounds"), floats=("median", "min", "max"))
    at = {(r["measure"], r["threads"]): r for r in rows}
    threads = sorted({r["threads"] for r in rows})
    head = ["measure", *(f"{t} thread{'s' * (t > 1)}" for t in threads)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, measure, digits in SPEED_ROWS:
        cells = [spread(at[measure, t]["median"], at[measure, t]["min"], at[measure, t]["max"], digits)
                 if (measure, t) in at else "—" for t in threads]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ratio = [f"{at['rlinfo SAC steps_per_s', t]['median'] / at['SB3 SAC steps_per_s', t]['median']:.2f}×"
             for t in threads]  # fmt: skip
    lines.append("| rlinfo SAC ÷ stable-baselines3 SAC (medians) | " + " | ".join(ratio) + " |")
    share = [f"{at['metra_ant update_gflops', t]['median']:.1f} "
             f"({at['metra_ant update_gflops', t]['median'] / at['matmul GFLOP/s', t]['median']:.2f})"
             for t in threads]  # fmt: skip
    lines.append("| metra_ant update GFLOP/s, float32 (fraction of the float32 matmul rate) | "
                 + " | ".join(share) + " |")  # fmt: skip
    return [*lines, "", data_line(path.stem)]


# ----------------------------------------------------------------------------- update
UPDATE_NETWORKS = {256: "256 units (sac_half_cheetah)", 1024: "1024 units (the metra_ant agent)"}


def update_block(path: Path = RESULTS / "update_benchmark.csv") -> list[str]:
    """ms per SAC update with each critic head and with freed memory kept, per network and precision."""
    floats = ("ms_per_update", "min", "max", "faults_per_update")
    rows = read_csv(path, ints=("hidden", "threads"), floats=floats)
    at = {(r["hidden"], r["precision"], r["variant"]): r for r in rows}
    lines = header("network", "precision", "`baddbmm` head (ms per update)", "multiply-and-sum head",
                   "+ kept memory", "speed-up, all", "page faults per update")  # fmt: skip
    for hidden, precision in dict.fromkeys((r["hidden"], r["precision"]) for r in rows):
        bmm, head, kept = (at[hidden, precision, v] for v in ("bmm", "head", "head+kept"))
        cells = [spread(r["ms_per_update"], r["min"], r["max"], 2) for r in (bmm, head, kept)]
        gain = bmm["ms_per_update"] / kept["ms_per_update"]
        faults = f"{bmm['faults_per_update']:.0f} → {kept['faults_per_update']:.0f}"
        network = UPDATE_NETWORKS.get(hidden, f"{hidden} units")
        lines.append(f"| {network} | {precision} | " + " | ".join(cells) + f" | {gain:.2f}× | {faults} |")
    return [*lines, "", data_line(path.stem)]


# ----------------------------------------------------------------------------- overhead
OVERHEAD_LABELS = {
    "collect": "collect (act, env step, store)",
    "update: matmul": "update: matrix multiplies",
    "update: adam": "update: Adam (`step`, `zero_grad`)",
    "update: other": "update: everything else",
    "aten ops per update": "aten ops dispatched per update",
    "collect back to back": "collect, back to back",
    "collect after a 16 MB sweep": "collect after adding 1 to a 16 MB array",
    "collect after walking 200k dicts": "collect after walking 200,000 Python dicts",
    "critic loss + backward, compiled": "critic loss + backward, `torch.compile`",
}


def overhead_block(path: Path = RESULTS / "overhead_benchmark.csv") -> list[str]:
    """Each section's measures in float32 and bfloat16."""
    rows = read_csv(path, ints=("threads",), floats=("value",))
    values: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for r in rows:
        values[r["section"], r["measure"], r["unit"]][r["precision"]] = r["value"]
    lines = ["| section | measure | unit | float32 | bfloat16 |", "|---|---|---|---|---|"]
    for (section, measure, unit), v in values.items():
        digits = 0 if unit == "ops" else 2
        cells = " | ".join(f"{v[p]:.{digits}f}" if p in v else "—" for p in ("float32", "bfloat16"))
        lines.append(f"| {section} | {OVERHEAD_LABELS.get(measure, measure)} | {unit} | {cells} |")
    return [*lines, "", data_line(path.stem)]


# ----------------------------------------------------------------------------- precision
PRECISION_VARIANTS = {"bfloat16 every layer (before)": "bfloat16, every layer"}  # as the CSV names it
PRECISION_EXPERIMENTS = {
    "sac_half_cheetah episodic_return": "SAC on half_cheetah, episodic return",
    "metra_ant coverage_cells": "METRA on Ant, policy state coverage (cells)",
}


def precision_block(path: Path = RESULTS / "precision_benchmark.csv") -> list[str]:
    """Per experiment and precision: the seeds, the last step, each seed's final value and the mean over
    seeds of each seed's last 5 logged values."""
    rows = read_csv(path, ints=("seed", "step"), floats=("wall_s", "value"))
    curves: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        curves[r["experiment"], r["variant"]][r["seed"]].append(r)
    lines = header("experiment", "precision", "seeds", "env steps", "final value per seed",
                   "mean of the last 5 logs")  # fmt: skip
    for (experiment, variant), seeds in curves.items():
        ordered = {s: sorted(c, key=lambda r: r["step"]) for s, c in sorted(seeds.items())}
        last = max(c[-1]["step"] for c in ordered.values())
        finals = ", ".join(f"{c[-1]['value']:.1f}" if "return" in experiment else f"{c[-1]['value']:.0f}"
                           for c in ordered.values())  # fmt: skip
        tail = [sum(r["value"] for r in c[-5:]) / len(c[-5:]) for c in ordered.values()]
        mean = sum(tail) / len(tail)
        name = PRECISION_VARIANTS.get(variant, variant)
        lines.append(f"| {PRECISION_EXPERIMENTS.get(experiment, experiment)} | {name} | "
                     f"{', '.join(map(str, ordered))} | {last:,} | {finals} | {mean:.1f} |")  # fmt: skip
    return [*lines, "", data_line(path.stem)]


PRECISION_FIGURE = Path("docs/img/precision_benchmark.png")


def precision_figure(rows: list[dict[str, Any]] | None = None, path: Path = PRECISION_FIGURE) -> Path:
    """One panel per experiment: each precision's curve per seed against env steps."""
    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure

    if rows is None:
        path_csv = RESULTS / "precision_benchmark.csv"
        rows = read_csv(path_csv, ints=("seed", "step"), floats=("wall_s", "value"))
    experiments = list(dict.fromkeys(r["experiment"] for r in rows))
    fig, axes = plt.subplots(1, len(experiments), figsize=(4.6 * len(experiments), 3.6), squeeze=False)
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    for ax, experiment in zip(axes[0], experiments, strict=True):
        for variant, color in zip(variants, plt.get_cmap("tab10").colors, strict=False):
            here = [r for r in rows if (r["experiment"], r["variant"]) == (experiment, variant)]
            for i, seed in enumerate(sorted({r["seed"] for r in here})):
                mine = [r for r in here if r["seed"] == seed]
                ax.plot([r["step"] for r in mine], [r["value"] for r in mine], color=color, alpha=0.8,
                        label=PRECISION_VARIANTS.get(variant, variant) if i == 0 else None)  # fmt: skip
        title, _, measure = PRECISION_EXPERIMENTS.get(experiment, experiment).partition(", ")
        ax.set(xlabel="env steps", ylabel=measure or experiment)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path, dpi=110)


def rounding_block(path: Path = RESULTS / "precision_rounding.csv") -> list[str]:
    """How far bfloat16 moves a trained run's reward, mean |r_bf16 − r_float32| on its policy's transitions,
    with every layer in bfloat16 and with the hidden layers only (first and last float32)."""
    rows = read_csv(path, ints=("transitions", "step"))
    lines = header("run", "env steps", "transitions", "reward mean ± std", "every layer bfloat16",
                   "hidden layers bfloat16 (shipped)", "error ratio")  # fmt: skip
    for r in rows:
        every, hidden = float(r["error, every layer bfloat16"]), float(r["error, hidden layers bfloat16"])
        reward = f"{float(r['reward mean']):.3f} ± {float(r['reward std']):.3f}"
        errors = f"{every:.4f} | {hidden:.4f} | {every / hidden:.1f}×"
        lines.append(f"| {r['run']} | {r['step']:,} | {r['transitions']} | {reward} | {errors} |")
    return [*lines, "", data_line(path.stem) + " `python scripts/precision_benchmark.py "
            "--reward-rounding RUN_DIR` writes it."]


# ----------------------------------------------------------------------------- end to end against SB3
E2E = RESULTS / "speed_e2e.csv"
E2E_FIGURE = Path("docs/img/speed_e2e.png")


def e2e_text(path: Path = E2E) -> str:
    """docs/results/speed_e2e.md from the CSV of ``scripts/speed_benchmark.py --e2e``: each ``rlinfo, X``
    run's wall time against ``SB3, X``'s, medians over the alternating rounds and per-round ratios."""
    import csv
    from functools import partial

    from benchmarks import timing

    runs = timing.read_rounds(path)
    with path.open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    rows = [r for r in timing.summary(runs) if r["measure"] == "s"]
    rows.sort(key=lambda r: (r["contender"].partition(", ")[2], r["contender"].startswith("SB3")))  # pairs
    counts = {c: v for (c, m), v in runs.values.items() if m == "updates"}
    updates = {c: "/".join(sorted({f"{x:.0f}" for x in v})) for c, v in counts.items()}
    pairs = [(c, "SB3" + c.removeprefix("rlinfo")) for c in runs.contenders if c.startswith("rlinfo")]
    ratios = [timing.ratio(runs, a, b, "s") for a, b in pairs]
    per_round = partial(timing.spread_cell, digits=3)
    lines = [
        "# `rlinfo train` against stable-baselines3 SAC, end to end",
        "",
        "<!-- generated by `python -m benchmarks.pages` from docs/results/speed_e2e.csv; do not edit by "
        "hand -->",
        "",
        timing.markdown(rows, {"contender": "contender", "updates": lambda r: updates[r["contender"]],
                               "wall time (s), median (min–max)": timing.spread_cell}), "",
        timing.markdown(ratios, {"wall time": "contender",
                                 "ratio of medians": lambda r: f"{r['of_medians']:.3f}",
                                 "per-round ratio, median (min–max)": per_round}), "",
        f"![wall time per contender](../img/{E2E_FIGURE.name})",
        "",
        f"Data: [docs/results/{path.name}]({path.name}) · `{first['command']}` · {first['machine']} · "
        f"{first['date']} · Python {first['python']}, torch {first['torch']} · code "
        f"{first.get('revision') or '—'} · {len(runs.orders)} rounds, alternating.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def e2e_figure(path: Path = E2E, image: Path = E2E_FIGURE) -> Path:
    """The wall time of each contender, median and min–max over rounds."""
    from benchmarks import timing

    runs = timing.read_rounds(path)
    rows = [r for r in timing.summary(runs) if r["measure"] == "s"]
    title = f"rlinfo train vs SB3 SAC, end to end: median of {len(runs.orders)} rounds, whiskers min–max"
    label = lambda r: r["contender"].replace(", ", "\n")  # noqa: E731
    timing.figure(rows, image, "wall time, process start to exit (s)", title, label=label)
    return image
