"""Results of the skill-discovery comparison: sweep runs -> committed CSV -> results page and figure.

    python -m benchmarks.results collect runs/ant_skills      # every evaluation of every trial
        -> docs/results/ant_skills.csv (method, env, seed, step, wall_s, metric, value, precision,
           machine, date), merged with the rows already there (runs resumed elsewhere keep theirs)
    python -m benchmarks.results page                          # no runs needed: CSVs only
        -> docs/results/ant_skills.md and docs/img/ant_skills.png
    python -m benchmarks.results page --name half_cheetah_skills --env half_cheetah

The comparisons: ``SKILL_PAGES`` (benchmarks/<name>.yaml sweeps into runs/<name>, collected into
docs/results/<name>.csv).

The page reports, per method, the value at the last evaluation every seed of that method has reached:
the interquartile mean over seeds with its 95% stratified-bootstrap interval from 3 seeds on,
the seeds' mean and range below that. Wall-clock is training time summed over a run's resumed segments
(a segment killed after its last checkpoint counts the time it lost, which the resume repeats).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path("docs/results")
COLUMNS = ("method", "env", "seed", "step", "wall_s", "metric", "value", "precision", "machine", "date")
METHOD_ORDER = ("metra", "lsd", "diayn", "dads", "csf", "cic")
# (metric, column title, decimals) of the page's table
TABLE = (
    ("coverage_cells", "coverage (cells)", 0),
    ("goal_near_HitSuccess3", "goals ≤ 10 away: reached (≤ 3)", 2),
    ("goal_EndSuccess3", "goals ≤ 50 away: at the end (≤ 3)", 2),
    ("alignment_cos", "alignment cos", 2),
    ("upright_fraction", "upright fraction", 2),
)
SKILL_PAGES = {"ant_skills": "ant", "half_cheetah_skills": "half_cheetah"}  # page name -> env
TITLES = {"ant": "Ant", "half_cheetah": "HalfCheetah"}
COVERAGE = {  # what an env's coverage counts
    "ant": "the 1×1 cells of the x, y plane they visit",
    "half_cheetah": "the unit intervals of x they visit (HalfCheetah runs along one axis)",
}


def command(name: str) -> str:
    """The sweep of page ``name`` and the collection of its runs."""
    return f"rlinfo sweep benchmarks/{name}.yaml && python -m benchmarks.results collect runs/{name}"


# ----------------------------------------------------------------------------- collect
def segments(run_dir: Path) -> list[list[tuple[float, int, str, float]]]:
    """Each event file's scalars as (wall_time, step, tag, value), files in the order they were written."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    out = []
    for path in sorted(run_dir.glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime):
        events = []
        for event in EventFileLoader(str(path)).Load():
            for v in event.summary.value:
                value = v.simple_value if v.HasField("simple_value") else None
                if value is None and v.HasField("tensor") and v.tensor.float_val:
                    value = v.tensor.float_val[0]
                if value is not None:
                    events.append((event.wall_time, event.step, v.tag, float(value)))
        if events:
            out.append(events)
    return out


def run_rows(run_dir: Path, machine: str) -> list[dict[str, Any]]:
    """One row per (evaluation, metric) of a run: its ``eval/*`` scalars with training wall-clock."""
    from rlinfo.run.rundir import load_run_config

    cfg = load_run_config(run_dir)
    latest: dict[tuple[int, str], tuple[float, float, float]] = {}  # (step, metric) -> (wall_s, value, time)
    done = 0.0
    for events in segments(run_dir):
        start = events[0][0]
        for wall, step, tag, value in events:
            if tag.startswith("eval/"):
                latest[(step, tag[len("eval/") :])] = (done + wall - start, value, wall)
        done += events[-1][0] - start
    return [
        {"method": cfg.reward.name, "env": cfg.env.name, "seed": cfg.seed, "step": step,
         "wall_s": round(wall_s, 1), "metric": metric, "value": value, "precision": cfg.train.precision,
         "machine": machine, "date": time.strftime("%Y-%m-%d", time.gmtime(when))}  # fmt: skip
        for (step, metric), (wall_s, value, when) in sorted(latest.items())
    ]


def read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["seed"], r["value"] = int(r["seed"]), float(r["value"])
        if "step" in r:
            r["step"], r["wall_s"] = int(r["step"]), float(r["wall_s"])
    return rows


def collect(sweep_dir: Path, out: Path) -> int:
    from benchmarks.machine import describe

    machine = describe()
    rows = {(r["method"], r["env"], r["seed"], r["step"], r["metric"]): r for r in read_csv(out)}
    runs = sorted(p.parent for p in sweep_dir.glob("*/config.yaml"))
    for run in runs:
        for r in run_rows(run, machine):
            key = (r["method"], r["env"], r["seed"], r["step"], r["metric"])
            if key in rows:  # a row measured before keeps its machine and date
                r["machine"], r["date"] = rows[key]["machine"], rows[key]["date"]
            rows[key] = r
    ordered = sorted(rows.values(), key=lambda r: (r["env"], r["method"], r["seed"], r["step"], r["metric"]))
    from rlinfo.files import atomic_path

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(ordered)
    print(f"{len(runs)} runs, {len(ordered)} rows -> {out}")
    return 0


# ----------------------------------------------------------------------------- summarise
def by_run(rows: list[dict[str, Any]], env: str) -> dict[str, dict[int, dict[int, dict[str, float]]]]:
    """method -> seed -> step -> {metric: value}, and each step's wall_s under the key ``wall_s``."""
    out: dict[str, dict[int, dict[int, dict[str, float]]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if r["env"] == env:
            point = out[r["method"]][r["seed"]].setdefault(r["step"], {})
            point[r["metric"]] = r["value"]
            point["wall_s"] = r["wall_s"]
    return out


def method_rank(method: str) -> tuple[int, str]:
    """Sort key: the METRA paper's order, then other methods by name."""
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


def split_training(runs: dict) -> tuple[dict, dict]:
    """(compared, training): per method, the seeds that reached its furthest evaluation, and the seeds
    still short of it. A seed that is still training would otherwise pull its method's row and curve
    back to where it stands; it is shown on its own until it catches up."""
    compared: dict[str, dict] = {}
    training: dict[str, dict] = {}
    for method, seeds in runs.items():
        last = max(max(steps) for steps in seeds.values())
        for seed, steps in seeds.items():
            (compared if max(steps) == last else training).setdefault(method, {})[seed] = steps
    return compared, training


def training_section(training: dict) -> list[str]:
    """One line on the seeds still short of their method's furthest evaluation, with their latest values."""
    if not training:
        return []
    nan, notes = float("nan"), []
    for method in sorted(training, key=method_rank):
        for seed, steps in sorted(training[method].items()):
            last = steps[max(steps)]
            cells, upright = last.get("coverage_cells", nan), last.get("upright_fraction", nan)
            at = f"{max(steps):,} env steps ({cells:.0f} cells, upright {upright:.2f})"
            notes.append(f"{method} seed {seed} at {at}")
    return [f"**Still training** (dotted in the figure; they join the table when they reach their method's "
            f"furthest evaluation): {'; '.join(notes)}.", ""]  # fmt: skip


def metrics_of(runs: dict) -> set[str]:
    """Every metric some evaluation of some run reports."""
    return {m for seeds in runs.values() for steps in seeds.values() for at in steps.values() for m in at}


def summary(values: list[float], reps: int = 2000) -> tuple[float, float, float, str]:
    """(point, low, high, kind): IQM and its 95% stratified-bootstrap interval from 3 runs, else the mean
    and the range."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) >= 3:
        from rlinfo.run.report_stats import bootstrap

        point, interval = bootstrap(x.reshape(-1, 1), reps)
        return float(point[0]), float(interval[0, 0]), float(interval[1, 0]), "IQM"
    return float(x.mean()), float(x.min()), float(x.max()), "mean"


def fmt(point: float, low: float, high: float, kind: str, decimals: int, n: int) -> str:
    f = f"{{:.{decimals}f}}"
    if n == 1:
        return f.format(point)
    bracket = "[{}, {}]" if kind == "IQM" else "(range {}–{})"
    return f"{f.format(point)} {bracket.format(f.format(low), f.format(high))}"


def method_table(runs: dict, random_rows: list[dict[str, Any]], env: str) -> tuple[list[str], dict[str, Any]]:
    """The page's Markdown table and, per method, the step compared and the coverage point estimate.
    Metrics that no run and no random-action row reports (goals on HalfCheetah) get no column."""
    reported = metrics_of(runs) | {r["metric"] for r in random_rows if r["env"] == env}
    columns = [c for c in TABLE if c[0] in reported]
    head = ["method", "seeds", "env steps", "wall-clock (h)", *[t for _, t, _ in columns]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    compared: dict[str, Any] = {}
    for method in sorted(runs, key=method_rank):
        seeds = runs[method]
        step = min(max(steps) for steps in seeds.values())  # the last evaluation every seed reached
        points = [seeds[s][step] for s in sorted(seeds) if step in seeds[s]]
        hours = np.mean([p["wall_s"] for p in points]) / 3600
        cells = [method, str(len(points)), f"{step:,}", f"{hours:.1f}"]
        for metric, _, decimals in columns:
            values = [p[metric] for p in points if metric in p]
            cells.append(fmt(*summary(values), decimals, len(values)) if values else "—")
        cells_seen = [p["coverage_cells"] for p in points if "coverage_cells" in p] or [float("nan")]
        point, low, high, kind = summary(cells_seen)
        compared[method] = {"step": step, "coverage": point, "low": low, "high": high, "kind": kind,
                            "seeds": len(points)}  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    rand = [r for r in random_rows if r["env"] == env]
    if rand:
        cells = ["random actions", str(len({r["seed"] for r in rand})), "—", "—"]
        for metric, _, decimals in columns:
            values = [r["value"] for r in rand if r["metric"] == metric]
            cells.append(fmt(*summary(values), decimals, len(values)) if values else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines, compared


def curve(seeds: dict[int, dict[int, dict[str, float]]], metric: str, x: str) -> tuple[np.ndarray, ...]:
    """Per evaluation step reached by every seed: x (steps, or mean wall-clock hours), mean, min, max."""
    steps = sorted(set.intersection(*[set(s) for s in seeds.values()]))
    steps = [t for t in steps if all(metric in seeds[s][t] for s in seeds)]
    v = np.array([[seeds[s][t][metric] for s in seeds] for t in steps]).reshape(len(steps), len(seeds))
    xs = np.array(steps, dtype=float) if x == "step" else np.array(
        [np.mean([seeds[s][t]["wall_s"] for s in seeds]) / 3600 for t in steps])  # fmt: skip
    return xs, v.mean(1) if len(v) else v, v.min(1) if len(v) else v, v.max(1) if len(v) else v


def figure(
    runs: dict, random_rows: list[dict[str, Any]], env: str, path: Path, training: dict | None = None
) -> None:
    """Coverage against env steps and wall-clock, upright fraction and goals against steps: each method's
    mean over its compared seeds with a min–max band, and each seed still ``training`` dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlinfo.files import save_figure

    cells = "coverage (1×1 cells)" if env == "ant" else "coverage (cells)"
    panels = [("coverage_cells", "step", cells), ("coverage_cells", "wall", cells),
              ("upright_fraction", "step", "upright fraction (tilt ≤ 60°)"),
              ("goal_near_HitSuccess3", "step", "goals ≤ 10 away reached (fraction)")]  # fmt: skip
    panels = [p for p in panels if p[0] in metrics_of(runs)]  # no goals panel without a goal skill
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.2), squeeze=False)
    axes = axes[0]
    for ax, (metric, x, label) in zip(axes, panels, strict=True):
        for method in sorted(runs, key=method_rank):
            xs, mean, low, high = curve(runs[method], metric, x)
            if len(xs):
                n, xs = len(runs[method]), xs / (1e6 if x == "step" else 1)
                (line,) = ax.plot(xs, mean, label=f"{method} ({n} seed{'s' * (n > 1)})")
                ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.15)
                for seed, steps in (training or {}).get(method, {}).items():
                    txs, values, _, _ = curve({seed: steps}, metric, x)
                    ax.plot(txs / (1e6 if x == "step" else 1), values, ls=":", color=line.get_color())
        rand = [r["value"] for r in random_rows if r["env"] == env and r["metric"] == metric]
        if rand:
            ax.axhline(np.mean(rand), color="k", ls="--", lw=1, label="random actions")
        ax.set_xlabel("env steps (millions)" if x == "step" else "training wall-clock (hours, 2-core CPU)")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Skill discovery on {TITLES.get(env, env)}: mean over seeds, band = min–max over seeds")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def time_to_skill(runs: dict, method: str = "metra", cells: float = 100.0) -> str:
    """When ``method``'s IQM over 3+ seeds first exceeds ``cells`` cells, in training hours."""
    seeds = runs.get(method, {})
    if len(seeds) < 3:
        n = len(seeds)
        return f"— not measured yet: {method} has {n} seed{'s' * (n != 1)} of the 3 an IQM needs"
    for step in sorted(set.intersection(*[set(s) for s in seeds.values()])):
        values = [seeds[s][step].get("coverage_cells", 0.0) for s in seeds]
        if summary(values)[0] > cells:
            hours = np.mean([seeds[s][step]["wall_s"] for s in seeds]) / 3600
            return f"after {hours:.1f} h of training ({step:,} env steps) on this 2-core CPU"
    return f"not reached within the {max(max(s) for s in seeds.values()):,} steps run so far"


def ordering(compared: dict[str, Any]) -> str:
    """Methods by coverage, highest first: ``a (9) > b (4) = c (4)`` (equal as displayed: ``=``)."""
    ranked = sorted(compared.items(), key=lambda kv: -kv[1]["coverage"])
    out = ""
    for i, (m, c) in enumerate(ranked):
        shown = f"{c['coverage']:.0f}"
        if i:
            out += " = " if shown == f"{ranked[i - 1][1]['coverage']:.0f}" else " > "
        out += f"{m} ({shown})"
    return out


PAPER_ORDER = (("metra", "lsd"), ("lsd", "diayn"), ("lsd", "dads"), ("metra", "diayn"), ("metra", "dads"))


def paper_check(compared: dict[str, Any], floor: float | None) -> str:
    """The METRA paper's ordering (METRA above LSD, both above DIAYN and DADS) checked pair by pair where
    both methods are compared at 1M steps, and each such method against random actions' coverage. Where
    both methods have 3 seeds, the verdict also says whether their 95% intervals are apart."""
    done = {m: c for m, c in compared.items() if c["step"] >= 1_000_000}
    pairs = [(a, b) for a, b in PAPER_ORDER if a in done and b in done]
    if not pairs:
        return "The paper's ordering is checked once two of its methods reach 1M steps."
    methods = list(dict.fromkeys(m for pair in pairs for m in pair))
    seeds = ", ".join(f"{m} {done[m]['seeds']}" for m in methods)

    def shown(c: dict[str, Any]) -> str:  # the point, and the 95% interval where there is one
        if c.get("kind") == "IQM":
            return fmt(c["coverage"], c["low"], c["high"], "IQM", 0, c["seeds"])
        return f"{c['coverage']:.0f}"

    def verdict(a: str, b: str) -> str:
        ca, cb = done[a], done[b]
        values = f"{shown(ca)} vs {shown(cb)}"
        if floor is not None and ca["coverage"] < floor and cb["coverage"] < floor:  # neither moves
            return f"{a} above {b}: not measurable ({values}, both below random actions)"
        said = "holds" if ca["coverage"] > cb["coverage"] else "does not hold"
        if ca.get("kind") == cb.get("kind") == "IQM":
            apart = ca["low"] > cb["high"] or cb["low"] > ca["high"]
            said += ", intervals apart" if apart else ", intervals overlap"
        return f"{a} above {b}: {said} ({values})"

    verdicts = [verdict(a, b) for a, b in pairs]
    below = [m for m in done if floor is not None and done[m]["coverage"] < floor]
    text = f"At 1M steps (seeds: {seeds}), the paper's ordering: {'; '.join(verdicts)}."
    if below:
        text += f" Below random actions ({floor:.0f} cells): {', '.join(below)}."
    return text


def page_figure(name: str = "ant_skills", env: str = "ant") -> Path:
    """The page's figure, docs/img/<name>.png, from the CSVs."""
    img = Path("docs/img") / f"{name}.png"
    runs, training = split_training(by_run(read_csv(RESULTS / f"{name}.csv"), env))
    figure(runs, read_csv(RESULTS / "random_baseline.csv"), env, img, training)
    scale = RESULTS / f"{env}_phi_scale.csv"
    if scale.is_file():  # how large φ's steps get (benchmarks/phi_scale.py)
        from benchmarks import phi_scale

        phi_scale.figure(scale, img.with_name(f"{env}_phi_scale.png"))
    for prefix in [name] + [f"{name}_{version}" for version, _ in EARLIER]:
        rollouts = RESULTS / f"{prefix}_rollouts.csv"
        if rollouts.is_file():  # what the skills do (benchmarks/skill_rollouts.py)
            from benchmarks import skill_rollouts

            skill_rollouts.figure(rollouts, img.with_name(f"{prefix}_rollouts.png"), METHOD_ORDER)
    return img


def page_text(name: str = "ant_skills", env: str = "ant") -> str:
    """The page's Markdown, from the CSVs."""
    rows = read_csv(RESULTS / f"{name}.csv")
    random_rows = read_csv(RESULTS / "random_baseline.csv")
    runs, training = split_training(by_run(rows, env))
    lines, compared = method_table(runs, random_rows, env)
    steps = {m: c["step"] for m, c in compared.items()}
    ordered = ordering(compared) if compared else "no method has reached its first evaluation yet"
    cells = [r["value"] for r in random_rows if (r["env"], r["metric"]) == (env, "coverage_cells")]
    floor = float(np.mean(cells)) if cells else None
    goals = any(m.startswith("goal") for m in metrics_of(runs))
    text = [
        f"# Skill discovery on {TITLES.get(env, env)}: the METRA paper's comparison",
        "",
        f"<!-- generated by `python -m benchmarks.pages` from docs/results/{name}.csv and "
        "docs/results/random_baseline.csv; do not edit by hand -->",
        "",
        "**What it measures.** Each method's presets mirror the METRA paper's commands "
        "(docs/algorithms.md, the comparison presets); every evaluation runs 48 deterministic 200-step "
        f"rollouts and reports {COVERAGE.get(env, 'the cells they visit')} (coverage), "
        + ("how often zero-shot goal skills reach goals (methods with a goal skill), " if goals else "")
        + "how well final displacements follow the skills (alignment), and the fraction of steps the "
        "torso stays within 60° of vertical (upright: moving on its feet, not tumbling or flipped over).",
        "",
        f"**How to reproduce.** `{command(name)}`, then `python -m benchmarks.random_baseline` and "
        "`python -m benchmarks.results page`. Budget: 1M env steps per run, an evaluation every 64k; "
        f"precision of the updates' matmuls: {precision_note(rows)}; each run had the machine's two cores "
        "to itself or shared them with a second run, at times also with tests and other benchmarks: "
        "wall-clock times are upper bounds, and differ between machines.",
        provenance(rows),
        "",
        "**Current result** (at the last evaluation every seed of a method has reached; IQM [95% "
        "stratified-bootstrap interval] from 3 seeds, mean (range) from 2, the value from 1):",
        "",
        *lines,
        "",
        *training_section(training),
        f"![{env} curves](../img/{name}.png)",
        "",
        f"**What it means.** Ordering by coverage at the compared steps: {ordered}. "
        + ("Methods are compared at different steps: " + ", ".join(f"{m} {s:,}" for m, s in steps.items())
           + "; the runs continue to 1M. " if len(set(steps.values())) > 1 else "")
        + "Random actions give the floor: a method below it has not learned to move its body on purpose; "
        "an upright fraction below random's means the skills tumble. " + paper_check(compared, floor),
        "",
        *time_to_skill_section(env, runs),
        *rollouts_section(name),
        *phi_section(name),
        *scale_section(env),
        "**Known limits.** CPU budgets are 1M steps, where the METRA paper trains for tens of millions; "
        "numbers with fewer than 3 seeds carry no interval. One update of the comparison presets' METRA, "
        "LSD, CSF and DIAYN equals the reference trainers' to float32 precision on a shared batch once the "
        "normaliser's numbers (means within 6% of σ, standard deviations within 3%) are shared, and DADS's "
        "and CIC's do up to named deviations "
        "and float32 rounding of near-zero gradients ([reference_check.md](reference_check.md)): a "
        "difference in learning is not in the loss code.",
        *earlier_presets(name, env),
    ]
    return "\n".join(text) + "\n"


def provenance(rows: list[dict[str, Any]]) -> str:
    """The line naming the machines and the dates the rows were measured on (one date or a span).

    One machine is named alone; several are each followed by the runs they measured, as
    ``AMD EPYC, 2 cores (lsd 0); Intel Xeon, 8 cores (metra 0, metra 1)``.
    """
    by_machine = runs_by(rows, "machine")
    machines = (list(by_machine) if len(by_machine) == 1
                else [f"{m} ({runs})" for m, runs in by_machine.items()]) or ["—"]
    dates = sorted({r["date"] for r in rows}) or ["—"]
    span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    return f"Machine: {'; '.join(machines)}. {'Date' if len(dates) == 1 else 'Dates'}: {span}."


def precision_note(rows: list[dict[str, Any]]) -> str:
    """Which runs trained in which precision: ``bfloat16: lsd 0, metra 0; float32: metra 1``."""
    return "; ".join(f"{p}: {runs}" for p, runs in runs_by(rows, "precision").items()) or "—"


def runs_by(rows: list[dict[str, Any]], key: str) -> dict[str, str]:
    """Each value of ``key`` (sorted) and the runs that have it, as sorted "method seed" pairs."""
    runs: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for r in rows:
        runs[r[key]].add((r["method"], r["seed"]))
    return {v: ", ".join(f"{m} {seed}" for m, seed in sorted(runs[v])) for v in sorted(runs)}


def time_to_skill_section(env: str, runs: dict) -> list[str]:
    """On Ant, where the METRA paper states its cost: when METRA's IQM first covers 100 cells."""
    if env != "ant":
        return []
    return [
        f"**Time to skill** (METRA's 3-seed IQM above 100 Ant cells): {time_to_skill(runs)}. For scale, "
        "the reference code's default run takes over a day on an RTX 4090.",
        "",
    ]


def rollouts_section(name: str) -> list[str]:
    """The figure of each method's final rollouts, once docs/results/<name>_rollouts.csv exists."""
    if not (RESULTS / f"{name}_rollouts.csv").is_file():
        return []
    return [
        f"**What the skills do** (docs/results/{name}_rollouts.csv, `python -m benchmarks.skill_rollouts "
        f"runs/{name}`): the final evaluation's rollouts of each method's finished seed-0 run, repeated "
        "from its last checkpoint, in the same window; each rollout is coloured by the direction of its "
        "skill. Skills that travel fan out from the start; skills that hold postures or tumble stay near it.",
        "",
        f"![each method's final rollouts in the plane](../img/{name}_rollouts.png)",
        "",
    ]


def phi_section(name: str) -> list[str]:
    """What each φ responds to (benchmarks/phi_attribution.py), once docs/results/<name>_phi.csv exists."""
    from benchmarks import phi_attribution

    rows = phi_attribution.load(RESULTS / f"{name}_phi.csv")
    if not rows:
        return []
    return [
        f"**What φ responds to** (docs/results/{name}_phi.csv, `python -m benchmarks.phi_attribution "
        f"runs/{name}`): the share of each step's Δφ ≈ ∇φ(s)·Δs that comes from each group of the "
        "observation, over 16 skills × 200 deterministic steps of the latest checkpoint; ‖Δs‖ and ‖Δφ‖ are "
        "a step's mean sizes (normalised observations). A φ that maps x, y gives skills that travel; one "
        "that maps the joint angles gives skills that hold postures, rewarded without moving the body.",
        "",
        *phi_attribution.table(rows),
        "",
        phi_attribution.summary(rows),
        "",
    ]


def scale_section(env: str) -> list[str]:
    """How large φ's steps get during training (benchmarks/phi_scale.py), once its CSV exists."""
    from benchmarks import phi_scale

    rows = phi_scale.load(RESULTS / f"{env}_phi_scale.csv")
    if not rows:
        return []
    return [
        f"**How large φ's steps get** (docs/results/{env}_phi_scale.csv, `python -m benchmarks.phi_scale "
        "runs/ant_skills runs/ant_skills_v2 runs/diag`): the batch mean of ‖φ(s′) − φ(s)‖ over training. "
        "CSF's contrastive loss pulls Δφ to 0 wherever behaviour does not depend on the skill "
        "(docs/algorithms.md, CSF), so a CSF run whose steps keep shrinking has found no skills to contrast. "
        "The runs in runs/diag are `csf_ant` seed 0 to 192k steps with the garage initialisation but the "
        "policy's output layer at 10× garage's scale (plain Xavier-normal: rlinfo's `init: garage` before "
        "commit 9b0854d, `csf_ant_garage_head10x`), and `csf_ant` with PyTorch's initialisation "
        "(`rlinfo train csf_ant seed=0 reward.params.init=torch agent.params.init=torch run_root=runs/diag "
        "run_name=csf_ant_warmup_policy`, stopped at 352k).",
        "",
        f"![φ's step size against env steps](../img/{env}_phi_scale.png)",
        "",
        *phi_scale.table(rows),
        "",
    ]


def page(name: str = "ant_skills", env: str = "ant") -> int:
    from rlinfo.files import write_text

    out = RESULTS / f"{name}.md"
    write_text(out, page_text(name, env))
    print(f"wrote {out} and {page_figure(name, env)}")
    return 0


# Earlier versions of the comparison presets: (suffix of the CSV, how they differed from the current ones)
EARLIER = (
    ("v1", "Before the reference check (docs/results/reference_check.md) they differed from the METRA "
     "reference's trainer in three more ways: a ReLU policy (the reference's is tanh), bootstrapping at "
     "time limits (the reference stores them as terminations) and METRA's constraint summed over "
     "dimensions (the reference averages)."),
    ("v2", "They used PyTorch's default initialisation, where the reference's garage networks draw Xavier "
     "weights and zero biases, and uniformly random actions for the first 10,000 steps, where the "
     "reference acts with its untrained policy."),
)


def earlier_presets(name: str, env: str) -> list[str]:
    """A short section on the runs of each earlier version of the presets (``<name>_v1.csv``, …)."""
    out: list[str] = []
    for version, how in EARLIER:
        rows = read_csv(RESULTS / f"{name}_{version}.csv")
        if not rows:
            continue
        lines = ["| method | env steps | coverage (cells) | upright fraction |", "|---|---|---|---|"]
        for method, seeds in sorted(by_run(rows, env).items(), key=lambda kv: METHOD_ORDER.index(kv[0])):
            for seed, steps in sorted(seeds.items()):
                last, nan = steps[max(steps)], float("nan")
                cells, upright = last.get("coverage_cells", nan), last.get("upright_fraction", nan)
                lines.append(f"| {method} (seed {seed}) | {max(steps):,} | {cells:.0f} | {upright:.2f} |")
        out += ["", f"**Earlier presets, {version}** (docs/results/{name}_{version}.csv). {how} "
                "Their runs, until the presets were corrected:", "", *lines, ""]  # fmt: skip
        out += rollouts_section(f"{name}_{version}") + phi_section(f"{name}_{version}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="sweep runs -> docs/results/<name>.csv")
    c.add_argument("sweep_dir", type=Path)
    c.add_argument("--out", type=Path, help="the CSV (default: docs/results/<sweep directory's name>.csv)")
    p = sub.add_parser("page", help="CSV -> docs/results/<name>.md and docs/img/<name>.png")
    p.add_argument("--name", default="ant_skills")
    p.add_argument("--env", default="ant")
    args = parser.parse_args(argv)
    if args.command == "collect":
        return collect(args.sweep_dir, args.out or RESULTS / f"{args.sweep_dir.name}.csv")
    return page(args.name, args.env)


if __name__ == "__main__":
    raise SystemExit(main())
