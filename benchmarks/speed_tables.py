"""The speed and precision tables of docs/benchmarks.md, from the CSVs their scripts write:

    speed_block(), speed_figure()        docs/results/speed_benchmark.csv     (scripts/speed_benchmark.py)
    update_block(), update_figure()      docs/results/update_benchmark.csv    (scripts/update_benchmark.py)
    overhead_block(), overhead_figure()  docs/results/overhead_benchmark.csv  (scripts/overhead_benchmark.py)
    precision_block(), precision_figure()  docs/results/precision_benchmark.csv
    e2e_text(), e2e_figure()             docs/results/speed_e2e.csv  (scripts/speed_benchmark.py --e2e)

The speed, update and e2e CSVs hold one row per (round, contender, measure) of the timing harness
(``benchmarks/timing.py``); timings are shown as "median (min–max)" over the rounds, and a speed as
the per-round ratio to a peer measured in the same rounds. The scripts print the same tables.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import timing
from benchmarks.runs import read_csv

RESULTS = Path("docs/results")


def spread(median: float, low: float, high: float, digits: int = 1) -> str:
    return f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def header(*columns: str) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def data_line(name: str) -> str:
    return f"Data: [docs/results/{name}.csv](results/{name}.csv)."


def finish(fig: Any, image: Path, title: str = "") -> Path:
    """``fig`` with its title, laid out and saved to ``image`` (its folder made)."""
    from rlinfo.files import save_figure

    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, image, dpi=110)


# ----------------------------------------------------------------------------- speed
SPEED = RESULTS / "speed_benchmark.csv"
SPEED_FIGURE = Path("docs/img/speed_benchmark.png")
RATE = "env steps/s"
# (table row, contender without its thread count, measure, digits)
SPEED_ROWS = (
    ("matmul rate, 1024³ float32 (GFLOP/s)", "matmul float32", "GFLOP/s", 1),
    ("matmul rate, 1024³ bfloat16 (GFLOP/s)", "matmul bfloat16", "GFLOP/s", 1),
    ("rlinfo SAC, env steps/s", "rlinfo SAC", RATE, 1),
    ("rlinfo SAC with `train.overlap=true`", "rlinfo SAC overlapped", RATE, 1),
    ("rlinfo SAC with `train.precision=bfloat16`", "rlinfo SAC bfloat16", RATE, 1),
    ("stable-baselines3 SAC, env steps/s", "SB3 SAC", RATE, 1),
    ("one SAC update's matmuls alone, replayed (ms)", "rlinfo SAC", "matmul ms per update", 2),
    ("the same in bfloat16 (ms)", "rlinfo SAC bfloat16", "matmul ms per update", 2),
    ("metra_ant env steps/s", "metra_ant", RATE, 1),
    ("metra_ant with `train.overlap=true`", "metra_ant overlapped", RATE, 1),
    ("metra_ant with `train.precision=bfloat16`", "metra_ant bfloat16", RATE, 1),
    ("metra_ant update GFLOP/s, float32", "metra_ant", "update GFLOP/s", 1),
)


def named(name: str, threads: int) -> str:
    """A contender's name with its torch thread count: ``rlinfo SAC, 2 threads``."""
    return f"{name}, {threads} thread{'s' * (threads > 1)}"


def thread_counts(runs: timing.Timing) -> list[int]:
    return sorted({int(c.rpartition(", ")[2].split()[0]) for c in runs.contenders})


def source_line(path: Path, runs: timing.Timing) -> str:
    """Where a harness CSV lives and how it was made: command, machine, date, rounds."""
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    rounds = f"{len(runs.orders)} round{'s' * (len(runs.orders) > 1)}"
    return (f"Data: [docs/results/{path.name}](results/{path.name}) · `{first['command']}` · "
            f"{first['machine']} · {first['date']} · torch {first['torch']} · {rounds}, alternating.")


def speed_summary(runs: timing.Timing) -> dict[str, float]:
    """What the speed run means, from its medians: rlinfo against SB3 at each one's best thread count, the
    machine's ceiling for SAC at UTD 1 (matmul rate / FLOPs per update), the floor set by the update's
    own matmuls, and the float32 metra_ant updates' share of the matmul rate."""
    med, threads = runs.medians(), thread_counts(runs)

    def best(names: tuple[str, ...], measure: str = RATE) -> str:
        return max((named(n, t) for n in names for t in threads), key=lambda c: med[(c, measure)])

    best_rlinfo, best_sb3 = best(("rlinfo SAC", "rlinfo SAC overlapped")), best(("SB3 SAC",))
    sb3 = med[(best_sb3, RATE)]
    peak = med[(best(("matmul float32",), "GFLOP/s"), "GFLOP/s")]
    ceiling = peak / med[(named("rlinfo SAC", threads[0]), "GFLOP per update")]
    replays = {named("rlinfo SAC", t): med[(named("rlinfo SAC", t), "matmul ms per update")] for t in threads}
    fastest = min(replays, key=replays.get)  # the thread count whose replay is quickest
    floor = 1e3 / replays[fastest]
    best_ant = best(("metra_ant", "metra_ant overlapped"))
    ant_matmul = named("matmul float32", int(best_ant.rpartition(", ")[2].split()[0]))
    out = {
        f"rlinfo SAC / SB3 SAC env steps/s, each at its best setting ({best_rlinfo}; {best_sb3})":
            med[(best_rlinfo, RATE)] / sb3,
    }  # fmt: skip
    if (named("rlinfo SAC bfloat16", threads[0]), RATE) in med:  # left out on a CPU that emulates bfloat16
        bf16 = best(("rlinfo SAC bfloat16",))
        out[f"rlinfo SAC bfloat16 / SB3 SAC env steps/s ({bf16}; {best_sb3})"] = med[(bf16, RATE)] / sb3
    return out | {
        "SAC at UTD 1, the machine's ceiling: matmul GFLOP/s ÷ GFLOP per update (env steps/s)": ceiling,
        "SB3 SAC env steps/s as a fraction of that ceiling": sb3 / ceiling,
        f"SAC at UTD 1 if an update were its matmuls alone (env steps/s; {fastest.rpartition(', ')[2]})":
            floor,
        "2 × SB3 SAC as a fraction of that": 2 * sb3 / floor,
        f"metra_ant float32 update GFLOP/s ÷ matmul GFLOP/s ({best_ant})":
            med[(best_ant, "update GFLOP/s")] / med[(ant_matmul, "GFLOP/s")],
        "metra_ant: GFLOP per update": med[(named("metra_ant", threads[0]), "GFLOP per update")],
    }  # fmt: skip


def speed_block(path: Path = SPEED) -> list[str]:
    """Each measure per thread count (median, min–max over rounds), rlinfo SAC against SB3 SAC as
    per-round ratios, and :func:`speed_summary`; all from one run of ``scripts/speed_benchmark.py``."""
    runs = timing.read_rounds(path)
    threads, values = thread_counts(runs), runs.values
    lines = header("measure", *(f"{t} thread{'s' * (t > 1)}" for t in threads))
    for label, name, measure, digits in SPEED_ROWS:
        cells = [spread(*(timing.stats(values[named(name, t), measure])[k] for k in ("median", "min", "max")),
                        digits) if (named(name, t), measure) in values else "—" for t in threads]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    variants = dict.fromkeys(c.rpartition(", ")[0] for c in runs.contenders if c.startswith("rlinfo SAC"))
    for name in variants:
        if all((named(name, t), RATE) in values for t in threads):
            ratios = [timing.ratio(runs, named(name, t), named("SB3 SAC", t), RATE) for t in threads]
            cells = [spread(r["median"], r["min"], r["max"], 2) + "×" for r in ratios]
            lines.append(f"| {name} ÷ SB3 SAC, per round | " + " | ".join(cells) + " |")
    summary = [{"summary": k, "value": v} for k, v in speed_summary(runs).items()]
    return [*lines, "", timing.markdown(summary, ["summary", "value"]), "", source_line(path, runs)]


def speed_figure(path: Path = SPEED, image: Path = SPEED_FIGURE) -> Path:
    """SAC env steps/s against the machine's ceiling, the matmul floor and 2 × SB3; metra_ant env steps/s."""
    from rlinfo.evaluation.plots import plt

    runs = timing.read_rounds(path)
    order = list(dict.fromkeys(name for _, name, _, _ in SPEED_ROWS))
    rows = sorted((r for r in timing.summary(runs) if r["measure"] == RATE), key=lambda r: (
        order.index(r["contender"].rpartition(", ")[0]), r["contender"]))  # fmt: skip
    summary = speed_summary(runs)
    ceiling = next(v for k, v in summary.items() if k.startswith("SAC at UTD 1, the machine's ceiling"))
    alone = next(v for k, v in summary.items() if k.startswith("SAC at UTD 1 if an update were"))
    best_sb3 = max(r["median"] for r in rows if r["contender"].startswith("SB3"))
    refs = {"machine ceiling (matmul rate)": ceiling, "the update's matmuls alone": alone,
            "2 × SB3": 2 * best_sb3}  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    sac = [r for r in rows if "SAC" in r["contender"]]
    timing.bars(axes[0], sac, "SAC env steps / s (UTD 1, half_cheetah)", refs=refs)
    axes[0].set_ylim(0, 1.5 * max(refs.values()))
    ant = [r for r in rows if r["contender"].startswith("metra_ant")]
    timing.bars(axes[1], ant, "metra_ant env steps / s")
    return finish(fig, image, f"median of {len(runs.orders)} alternating rounds; whiskers: min–max")


# ----------------------------------------------------------------------------- update
UPDATE = RESULTS / "update_benchmark.csv"
UPDATE_FIGURE = Path("docs/img/update_benchmark.png")
UPDATE_NETWORKS = {256: "256 units (sac_half_cheetah)", 1024: "1024 units (the metra_ant agent)"}
UPDATE_VARIANTS = ("bmm", "head", "head+kept")  # cumulative: baddbmm head; multiply-and-sum; + kept memory


def update_cases(runs: timing.Timing) -> list[tuple[int, str]]:
    """(hidden units, precision) of each case, from contenders named ``"<hidden> <precision> <variant>"``."""
    cases = {(int(c.split()[0]), c.split()[1]) for c in runs.contenders}
    return sorted(cases, key=lambda case: (case[0], case[1] != "float32"))


def update_block(path: Path = UPDATE) -> list[str]:
    """ms per SAC update with each critic head and with freed memory kept, per network and precision;
    the speed-up of all together as per-round ratios."""
    runs = timing.read_rounds(path)
    lines = header("network", "precision", "`baddbmm` head (ms per update)", "multiply-and-sum head",
                   "+ kept memory", "speed-up, all (per round)", "page faults per update")  # fmt: skip
    med = runs.medians()
    for hidden, precision in update_cases(runs):
        case = f"{hidden} {precision}"
        cells = []
        for variant in UPDATE_VARIANTS:
            s = timing.stats(runs.values[f"{case} {variant}", "ms"])
            cells.append(spread(s["median"], s["min"], s["max"], 2))
        gain = timing.ratio(runs, f"{case} bmm", f"{case} head+kept", "ms")
        faults = f"{med[f'{case} bmm', 'faults']:.0f} → {med[f'{case} head+kept', 'faults']:.0f}"
        network = UPDATE_NETWORKS.get(hidden, f"{hidden} units")
        lines.append(f"| {network} | {precision} | " + " | ".join(cells)
                     + f" | {spread(gain['median'], gain['min'], gain['max'], 2)}× | {faults} |")  # fmt: skip
    return [*lines, "", source_line(path, runs)]


def update_figure(path: Path = UPDATE, image: Path = UPDATE_FIGURE) -> Path:
    """ms per update of each variant, one panel per network width."""
    from rlinfo.evaluation.plots import plt

    runs = timing.read_rounds(path)
    rank = {"float32": 0, "bfloat16": 1} | {v: i for i, v in enumerate(UPDATE_VARIANTS)}
    rows = sorted((r for r in timing.summary(runs) if r["measure"] == "ms"),
                  key=lambda r: [rank.get(w, 0) for w in r["contender"].split()[1:]])  # fmt: skip
    widths = sorted({int(r["contender"].split()[0]) for r in rows})
    fig, axes = plt.subplots(1, len(widths), figsize=(5 * len(widths), 3.8), squeeze=False)
    for ax, hidden in zip(axes[0], widths, strict=True):
        shown = [r for r in rows if int(r["contender"].split()[0]) == hidden]
        timing.bars(ax, shown, "ms per update", label=lambda r: "\n".join(r["contender"].split()[1:]))
        ax.set_title(f"SAC update, {hidden}-unit networks", fontsize=10)
    return finish(fig, image, f"median of {len(runs.orders)} rounds; whiskers: min–max")


# ----------------------------------------------------------------------------- overhead
OVERHEAD = RESULTS / "overhead_benchmark.csv"
OVERHEAD_FIGURE = Path("docs/img/overhead_benchmark.png")
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
OVERHEAD_PANELS = (("step", "ms per env step", "one SAC step"),
                   ("cold", "ms per collect", "the same collect after other work"),
                   ("compile", "ms per call", "critic loss + backward: torch.compile"))  # fmt: skip


def read_overhead(path: Path) -> list[dict[str, Any]]:
    """The rows of the overhead CSV; ``min`` and ``max`` are None where a measure has one value."""
    rows = read_csv(path, ints=("threads",))
    for r in rows:
        r.update({k: float(r[k]) if r.get(k) else None for k in ("median", "min", "max")})
    return rows


def overhead_block(path: Path = OVERHEAD) -> list[str]:
    """Each section's measures in float32 and bfloat16: median (min–max over rounds) where measured over
    rounds, else the one value (the profiler's split of the median update)."""
    rows = read_overhead(path)
    cells: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for r in rows:
        digits = 0 if r["unit"] == "ops" else 2
        cell = (f"{r['median']:.{digits}f}" if r["min"] is None
                else spread(r["median"], r["min"], r["max"], digits))  # fmt: skip
        cells[r["section"], r["measure"], r["unit"]][r["precision"]] = cell
    lines = header("section", "measure", "unit", "float32", "bfloat16")
    for (section, measure, unit), v in cells.items():
        values = " | ".join(v.get(p, "—") for p in ("float32", "bfloat16"))
        lines.append(f"| {section} | {OVERHEAD_LABELS.get(measure, measure)} | {unit} | {values} |")
    first = rows[0]
    return [*lines, "", f"Data: [docs/results/{path.name}](results/{path.name}) · `{first['command']}` · "
            f"{first['machine']} · {first['date']} · torch {first['torch']} · {first['threads']} threads."]


def overhead_label(row: dict[str, Any]) -> str:
    short = row["measure"].removeprefix("collect ").removeprefix("critic loss + backward, ")
    return f"{row['precision']}\n{short}"


def overhead_figure(path: Path = OVERHEAD, image: Path = OVERHEAD_FIGURE) -> Path:
    """One panel per section: each measure in each precision, median and min–max."""
    from rlinfo.evaluation.plots import plt

    rows = [{**r, "min": "" if r["min"] is None else r["min"], "max": "" if r["max"] is None else r["max"]}
            for r in read_overhead(path) if r["unit"] != "ops"]  # fmt: skip
    panels = [p for p in OVERHEAD_PANELS if any(r["section"] == p[0] for r in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, (section, ylabel, title) in zip(axes[0], panels, strict=True):
        shown = [r for r in rows if r["section"] == section]
        timing.bars(ax, shown, ylabel, label=overhead_label)
        ax.set_title(f"{title}, {rows[0]['threads']} thread(s)", fontsize=10)
    return finish(fig, image)


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
    return finish(fig, path)


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


def e2e_lines(path: Path = E2E, link: str = "results/") -> list[str]:
    """The two tables of ``scripts/speed_benchmark.py --e2e``'s CSV: each contender's wall time (median,
    min–max over the alternating rounds) with its update count, and each ``rlinfo, X`` run against
    ``SB3, X`` as the ratio of medians and per-round ratios; then the data line (``link``: the CSV's
    folder as seen from the page)."""
    import csv
    from functools import partial

    runs = timing.read_rounds(path)
    with path.open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    rows = [r for r in timing.summary(runs) if r["measure"] == "s"]
    rows.sort(key=lambda r: (r["contender"].partition(", ")[2], r["contender"].startswith("SB3")))  # pairs
    counts = {c: v for (c, m), v in runs.values.items() if m == "updates"}
    updates = {c: "/".join(sorted({f"{x:.0f}" for x in v})) for c, v in counts.items()}
    pairs = [(c, "SB3" + c.removeprefix("rlinfo")) for c in runs.contenders if c.startswith("rlinfo")]
    ratios = [timing.ratio(runs, a, b, "s") for a, b in sorted(pairs)]
    per_round = partial(timing.spread_cell, digits=3)
    return [
        timing.markdown(rows, {"contender": "contender", "updates": lambda r: updates[r["contender"]],
                               "wall time (s), median (min–max)": timing.spread_cell}), "",
        timing.markdown(ratios, {"wall time": "contender",
                                 "ratio of medians": lambda r: f"{r['of_medians']:.3f}",
                                 "per-round ratio, median (min–max)": per_round}), "",
        f"Data: [docs/results/{path.name}]({link}{path.name}) · `{first['command']}` · {first['machine']} · "
        f"{first['date']} · Python {first['python']}, torch {first['torch']} · code "
        f"{first.get('revision') or '—'} · {len(runs.orders)} rounds, alternating.",
    ]  # fmt: skip


def e2e_text(path: Path = E2E) -> str:
    """docs/results/speed_e2e.md: :func:`e2e_lines` under a title, with the figure."""
    *tables, data = e2e_lines(path, link="")
    title = "# `rlinfo train` against stable-baselines3 SAC, end to end"
    note = f"<!-- generated by `python -m benchmarks.pages` from docs/results/{path.name}; do not edit by "
    note += "hand -->"
    lines = [title, "", note, "", *tables, f"![wall time per contender](../img/{E2E_FIGURE.name})", "", data]
    return "\n".join(lines) + "\n"


def e2e_figure(path: Path = E2E, image: Path = E2E_FIGURE) -> Path:
    """The wall time of each contender, median and min–max over rounds."""
    runs = timing.read_rounds(path)
    rows = [r for r in timing.summary(runs) if r["measure"] == "s"]
    title = f"rlinfo train vs SB3 SAC, end to end: median of {len(runs.orders)} rounds, whiskers min–max"
    label = lambda r: r["contender"].replace(", ", "\n")  # noqa: E731
    timing.figure(rows, image, "wall time, process start to exit (s)", title, label=label)
    return image
