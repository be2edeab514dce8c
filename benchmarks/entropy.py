"""Entropy controllers on sparse-reward tasks: sweep runs -> committed CSVs -> results page and figure.

    rlinfo sweep benchmarks/entropy_keydoor.yaml && rlinfo sweep benchmarks/entropy_maze_goal.yaml
    python -m benchmarks.entropy collect runs/entropy_keydoor runs/entropy_maze_goal
        -> docs/results/entropy.csv (one row per run: task, controller, seed, steps, eval_success, wall_s,
           machine, date) and docs/results/entropy_curves.csv (per run and update: policy entropy and the
           success rate of the training episodes that ended in it)
    python -m benchmarks.entropy page        # no runs needed: CSVs only
        -> docs/results/entropy.md and docs/img/entropy_benchmark.png

Per task and controller the page gives the final evaluation's success rate (IQM over seeds with its 95%
stratified-bootstrap interval), the seeds solved (success ≥ 0.5), the training success over
the last 10% of steps, the final entropy, and how many runs *collapsed* (entropy below the task's
collapse level at some update in the first half) or *exploded* (above its explosion level in the
second half).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import runs as runs_csv
from benchmarks.results import RESULTS, segments, summary

LOG4 = math.log(4)
# env name -> (sweep spec, collapse level, explosion level) in nats
TASKS = {
    "keydoor": ("benchmarks/entropy_keydoor.yaml", 0.1 * LOG4, 0.95 * LOG4),  # of the 4 moves' log 4
    "maze_goal": ("benchmarks/entropy_maze_goal.yaml", -1.0, 4.0),  # 2-D Gaussian: σ ≈ 0.14 / 1.8
}
CONTROLLERS = ("none", "fixed", "target", "epo", "aepo", "siren", "siren_adaptive", "lpreg")
RUN_COLUMNS = ("task", "controller", "seed", "steps", "eval_success", "wall_s", "machine", "date")
CURVE_COLUMNS = ("task", "controller", "seed", "step", "entropy", "train_success")
FIGURE = Path("docs/img/entropy_benchmark.png")


# ----------------------------------------------------------------------------- collect
def run_rows(run_dir: Path, machine: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A finished run's row and its curve rows (None while it is unfinished)."""
    from rlinfo.run.rundir import load_run_config, read_eval

    cfg = load_run_config(run_dir)
    result = read_eval(run_dir) if (run_dir / "eval.json").is_file() else None
    if result is None or int(result["steps"]) < cfg.total_steps:
        return None
    controller = str(cfg.agent.params.get("entropy", {}).get("name", "none"))
    scalars: dict[str, dict[int, float]] = defaultdict(dict)
    wall, when = 0.0, 0.0
    for events in segments(run_dir):
        wall += events[-1][0] - events[0][0]
        when = events[-1][0]
        for _, step, tag, value in events:
            scalars[tag][step] = value
    key = {"task": cfg.env.name, "controller": controller, "seed": cfg.seed}
    date = time.strftime("%Y-%m-%d", time.gmtime(when))
    run = {**key, "steps": int(result["steps"]), "eval_success": float(result["success"]),
           "wall_s": round(wall, 1), "machine": machine, "date": date}  # fmt: skip
    success, last = scalars["charts/success"], 0.0
    curve = []
    for step in sorted(scalars["agent/entropy"]):
        last = success.get(step, last)  # updates in which no episode ended carry the last rate (0 first)
        curve.append({**key, "step": step, "entropy": round(scalars["agent/entropy"][step], 4),
                      "train_success": round(last, 4)})  # fmt: skip
    return run, curve


def read_csv(path: Path) -> list[dict[str, Any]]:
    return runs_csv.read_csv(path, ints=("seed", "steps", "step"),
                             floats=("eval_success", "wall_s", "entropy", "train_success"))  # fmt: skip


def collect(sweep_dirs: list[Path], out: Path = RESULTS) -> int:
    """Every finished run under ``sweep_dirs``, merged with the rows already in the CSVs (same key: the
    new run's rows replace them; an earlier row keeps its machine and date)."""
    from benchmarks.machine import describe

    machine = describe()
    key = ("task", "controller", "seed")
    known = read_csv(out / "entropy.csv") if (out / "entropy.csv").is_file() else []
    runs = {tuple(r[k] for k in key): r for r in known}
    curves: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    if (out / "entropy_curves.csv").is_file():
        for r in read_csv(out / "entropy_curves.csv"):
            curves[tuple(r[k] for k in key)].append(r)
    found = 0
    for run_dir in sorted(p.parent for d in sweep_dirs for p in Path(d).glob("*/config.yaml")):
        rows = run_rows(run_dir, machine)
        if rows is None:
            continue
        run, curve = rows
        k = tuple(run[c] for c in key)
        if k in runs and runs[k]["steps"] == run["steps"]:
            run["machine"], run["date"] = runs[k]["machine"], runs[k]["date"]
        runs[k], curves[k] = run, curve
        found += 1
    ordered = sorted(runs)
    runs_csv.write_csv(out / "entropy.csv", RUN_COLUMNS, [runs[k] for k in ordered])
    runs_csv.write_csv(out / "entropy_curves.csv", CURVE_COLUMNS, [r for k in ordered for r in curves[k]])
    print(f"{found} finished runs collected, {len(runs)} in {out / 'entropy.csv'}")
    return 0


# ----------------------------------------------------------------------------- summarise
def per_run(runs: list[dict[str, Any]], curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run with what its curve says: training success over the last 10% of steps, final entropy
    (mean of the last 5 updates), collapse and explosion."""
    by_run: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in curves:
        by_run[(r["task"], r["controller"], r["seed"])].append(r)
    out = []
    for run in runs:
        curve = sorted(by_run[(run["task"], run["controller"], run["seed"])], key=lambda r: r["step"])
        step = np.array([r["step"] for r in curve])
        entropy = np.array([r["entropy"] for r in curve])
        success = np.array([r["train_success"] for r in curve])
        _, collapse, explode = TASKS[run["task"]]
        half = step <= run["steps"] / 2
        out.append({**run, "train_success": float(success[step >= 0.9 * run["steps"]].mean()),
                    "final_entropy": float(entropy[-5:].mean()),
                    "collapsed": bool((entropy[half] < collapse).any()),
                    "exploded": bool((entropy[~half] > explode).any())})  # fmt: skip
    return out


def order(controller: str) -> int:
    return CONTROLLERS.index(controller) if controller in CONTROLLERS else len(CONTROLLERS)


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = ["task", "controller", "seeds", "eval success, IQM [95% CI]", "per seed", "solved seeds",
            "train success (last 10%)", "final entropy (nats)", "collapsed", "exploded"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task in TASKS:
        for controller in sorted({r["controller"] for r in rows if r["task"] == task}, key=order):
            group = sorted((r for r in rows if (r["task"], r["controller"]) == (task, controller)),
                           key=lambda r: r["seed"])  # fmt: skip
            n, values = len(group), [r["eval_success"] for r in group]
            point, low, high, kind = summary(values)
            interval = f"{point:.2f} [{low:.2f}, {high:.2f}]" + ("" if kind == "IQM" else " (mean, range)")
            cells = [task, controller, str(n), interval, " / ".join(f"{v:.2f}" for v in values),
                     f"{sum(v >= 0.5 for v in values)}/{n}",
                     f"{np.mean([r['train_success'] for r in group]):.2f}",
                     f"{np.mean([r['final_entropy'] for r in group]):.2f}",
                     f"{sum(r['collapsed'] for r in group)}/{n}",
                     f"{sum(r['exploded'] for r in group)}/{n}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def figure(runs: list[dict[str, Any]], curves: list[dict[str, Any]], path: Path = FIGURE) -> Path:
    """Per task: the policy entropy and the training success rate against env steps, the mean over seeds
    (the entropy's range over seeds shaded); the collapse (dotted) and explosion (dashed) levels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if any(r["task"] == t for r in runs)]
    fig, axes = plt.subplots(2, len(tasks), figsize=(6.5 * len(tasks), 7.5), squeeze=False)
    for j, task in enumerate(tasks):
        for controller in sorted({r["controller"] for r in runs if r["task"] == task}, key=order):
            seeds = sorted({r["seed"] for r in runs if (r["task"], r["controller"]) == (task, controller)})
            mine = [[r for r in curves if (r["task"], r["controller"], r["seed"]) == (task, controller, s)]
                    for s in seeds]  # fmt: skip
            n = min(len(c) for c in mine)
            steps = np.array([r["step"] for r in mine[0][:n]]) / 1e3
            for i, column in enumerate(("entropy", "train_success")):
                y = np.array([[r[column] for r in c[:n]] for c in mine])
                label = f"{controller} ({len(seeds)} seeds)"
                (line,) = axes[i, j].plot(steps, y.mean(0), lw=1.2, label=label)
                if column == "entropy":  # success is 0 or 1 per seed: its range would fill the panel
                    axes[i, j].fill_between(steps, y.min(0), y.max(0), color=line.get_color(), alpha=0.08)
        _, collapse, explode = TASKS[task]
        axes[0, j].axhline(collapse, color="0.3", ls=":", lw=0.8)
        axes[0, j].axhline(explode, color="0.3", ls="--", lw=0.8)
        axes[0, j].set_title(f"{task}: policy entropy (dotted: collapse, dashed: explosion)", fontsize=9)
        axes[0, j].set_ylabel("policy entropy (nats)")
        axes[1, j].set_title(f"{task}: success rate of the training episodes (mean over seeds)", fontsize=9)
        axes[1, j].set_ylabel("success rate")
        axes[1, j].set_ylim(-0.02, 1.02)
        axes[1, j].set_xlabel("env steps (thousands)")
        axes[0, j].legend(fontsize=7, ncol=2)
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load(out: Path = RESULTS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return read_csv(out / "entropy.csv"), read_csv(out / "entropy_curves.csv")


def page_figure(out: Path = RESULTS) -> Path:
    return figure(*load(out))


def page_text(out: Path = RESULTS) -> str:
    runs, curves = load(out)
    rows = per_run(runs, curves)
    facts = sorted({(r["machine"], r["date"]) for r in runs})
    specs = " && ".join(f"rlinfo sweep {TASKS[t][0]}" for t in TASKS if any(r["task"] == t for r in runs))
    minutes = np.mean([r["wall_s"] for r in runs]) / 60
    lines = [
        "# Entropy controllers on sparse-reward tasks",
        "",
        "**What it measures.** Whether an entropy controller helps PPO find a sparse reward, and how often "
        "the policy entropy collapses or explodes. PPO (2 × 256 tanh MLPs, 16 envs × 128 steps, 4 epochs "
        "of 4 minibatches, the task's reward only) with each controller of `agent.params.entropy`, 5 seeds "
        "per controller, 200k env steps:",
        "",
        "- `keydoor`: a 7 × 7 gridworld, fetch the key, then open the door (a 32-step optimum, 384-step "
        "episodes, 4 discrete moves); preset `ppo_keydoor`.",
        "- `maze_goal`: the point maze `tree`, reach the goal (2.5, 8.5) two branchings up, radius 1 "
        "(200-step episodes, 2-D Gaussian policy); preset `ppo_maze_goal`.",
        "",
        "Uniform random actions succeed in 3–5% of the episodes of both. Controllers: `none`; `fixed` "
        "β = 0.01; `target` (a dual step on β toward H* = 0.3 log 4 = 0.42 nats on keydoor, 1 nat on the "
        "maze); `epo` (β = 0.01 and a penalty outside a band around the running-average entropy: relative "
        "0.8–1.2 on keydoor, ±0.2 nats on the maze); `aepo` (the targets of `target`); `siren` (SIREN's "
        "anchor on the top-20% states' entropy, c = 0.005, the reference's values); `siren_adaptive` "
        "(c moved by 0.01 × the gap to the anchor); `lpreg` (Lp-Reg, κ = 0.02, the lowest 1% of "
        "negative-advantage samples, the reference's values). The sweep specs hold every value; "
        "docs/algorithms.md gives the formulas.",
        "",
        "**Command.** `" + specs + "`, then `python -m benchmarks.entropy collect runs/entropy_keydoor "
        "runs/entropy_maze_goal && python -m benchmarks.entropy page`. `rlinfo report runs/entropy_keydoor "
        "--metric success --curve agent/entropy --label agent.params.entropy.name` gives the same intervals "
        f"with curves. A run took {minutes:.1f} min of wall-clock on average, other training sharing the "
        "two cores.",
        "",
        f"**Result.** Machine: {'; '.join(f'{m}, {d}' for m, d in facts)}. **Eval success**: 16 "
        "deterministic episodes after training (a seed is *solved* at ≥ 0.5); IQM over seeds with its 95% "
        "stratified-bootstrap interval. **Train success**: the training episodes of the last 10% of steps. "
        "**Final entropy**: the last 5 updates. **Collapsed**: entropy below 0.14 nats (keydoor) / −1 nat "
        "(maze) at some update in the first half. **Exploded**: above 1.32 / 4 nats in the second half.",
        "",
        *table(rows),
        "",
        "Data: [entropy.csv](entropy.csv) (one row per run), [entropy_curves.csv](entropy_curves.csv) "
        "(per update).",
        "",
        f"![entropy controllers](../img/{FIGURE.name})",
        "",
        "**What it means.** " + verdict(rows),
        "",
        "**Known limits.** Five seeds tell large effects only: an interval that overlaps another is no "
        "evidence of a difference. Each controller runs at its reference's or one default strength, "
        "untuned per task; a sweep over `coef`/`penalty` per task is the next step before ranking them.",
        "",
    ]
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> str:
    """What the numbers say, computed from them: per task, the highest IQM (among controllers with 3+
    seeds), the controllers whose IQM interval lies above or below plain PPO's (``none``), and where the
    entropy collapsed."""
    sentences = []
    for task in TASKS:
        group = [r for r in rows if r["task"] == task]
        if not group:
            continue
        intervals = {}
        for controller in sorted({r["controller"] for r in group}, key=order):
            values = [r["eval_success"] for r in group if r["controller"] == controller]
            intervals[controller] = summary(values)
        base = intervals.get("none")
        better = [c for c, (_, lo, _, k) in intervals.items() if base and k == "IQM" and lo > base[2]]
        worse = [c for c, (_, _, hi, k) in intervals.items() if base and k == "IQM" and hi < base[1]]
        full = [c for c, (_, _, _, k) in intervals.items() if k == "IQM"] or list(intervals)
        top = max(intervals[c][0] for c in full)
        best = ", ".join(f"`{c}`" for c in full if intervals[c][0] == top)
        collapsed = sorted({r["controller"] for r in group if r["collapsed"]}, key=order)
        text = (f"On `{task}` the highest IQM is {top:.2f} ({best}); "
                + (f"{', '.join(f'`{c}`' for c in better)} lie above plain PPO's interval" if better
                   else "no controller's interval lies wholly above plain PPO's")
                + (f", {', '.join(f'`{c}`' for c in worse)} below it" if worse else "")
                + (f"; the entropy collapsed in runs of {', '.join(f'`{c}`' for c in collapsed)}."
                   if collapsed else "; no run's entropy collapsed."))  # fmt: skip
        sentences.append(text)
    return " ".join(sentences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="finished sweep runs -> docs/results/entropy*.csv")
    c.add_argument("sweep_dirs", nargs="+", type=Path)
    sub.add_parser("page", help="docs/results/entropy*.csv -> docs/results/entropy.md and the figure")
    args = parser.parse_args(argv)
    if args.command == "collect":
        return collect(args.sweep_dirs)
    from rlinfo.files import write_text

    write_text(RESULTS / "entropy.md", page_text())
    print(f"{RESULTS / 'entropy.md'} and {page_figure()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
