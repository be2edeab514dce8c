"""URLB-lite: the Unsupervised RL Benchmark's protocol on walker at a budget a 2-core CPU finishes.

    python -m benchmarks.urlb_lite run      # pretrain (a sweep), then fine-tune every snapshot (a sweep)
    python -m benchmarks.urlb_lite collect  # the fine-tuning runs' evaluations -> docs/results/urlb_lite.csv
    python -m benchmarks.urlb_lite page     # CSV -> docs/results/urlb_lite.md and docs/img/urlb_lite.png

1. Pretraining: ``benchmarks/urlb_lite.yaml`` (APT, CIC, DIAYN, METRA on urlb:walker_stand, reward-free,
   configs/parts/urlb_walker.yaml: DDPG with 128-unit networks and batch 128, 100k steps; URLB: 1024,
   1024, 2M) run by ``rlinfo sweep`` into ``runs/urlb_lite/pretrain``.
2. Fine-tuning: for each pretrained run and each of walker_walk and walker_run (URLB: the four walker
   tasks), the run ``rlinfo finetune RUN_DIR task=<task>`` makes (URLB's budget: 100k steps, 4,000
   random seed steps, 10 evaluation episodes every 10k), with
   DIAYN fine-tuned twice (skill=random, URLB's choice, and skill=grid), plus DDPG from scratch on each
   task (``ddpg_urlb_walker``): written as the sweep spec ``runs/urlb_lite/finetune.yaml`` and run by
   ``rlinfo sweep`` into ``runs/urlb_lite/finetune`` (resumable like any sweep).
3. The page: expert-normalised returns (``rlinfo report --normalize urlb``'s scores) per task and over
   the walker domain, IQM with 95% stratified-bootstrap intervals from 3 seeds.

The full protocol on a GPU is the same command with URLB's sizes:
``python -m benchmarks.urlb_lite run --full`` (1024-unit networks, batch 1024, 2M pretraining steps,
the four walker tasks, ``device=cuda``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.results import RESULTS, provenance, read_csv, run_rows, summary

SPEC = Path(__file__).with_name("urlb_lite.yaml")
ROOT = Path("runs/urlb_lite")
TASKS = ("walker_stand", "walker_walk", "walker_run", "walker_flip")  # URLB's walker domain
LITE_TASKS = ("walker_walk", "walker_run")  # URLB-lite: the two that need more than standing up
SKILL_CHOICES = {"diayn": ("random", "grid")}  # methods fine-tuned with more than their default choice
FULL = ["agent.hidden_dim=1024", "agent.batch_size=1024", "device=cuda"]
FULL_PRETRAIN = [*FULL, "reward.params.hidden_dim=1024", "total_steps=2000000"]
COLUMNS = ("method", "env", "seed", "step", "wall_s", "metric", "value", "precision", "machine", "date")


def run(
    root: Path,
    tasks: tuple[str, ...] = LITE_TASKS,
    pretrain: tuple[str, ...] = (),
    finetune: tuple[str, ...] = (),
    grid: dict[str, list[Any]] | None = None,
    cpus: int | None = None,
) -> int:
    """Both sweeps (``grid`` replaces entries of the spec's grid, e.g. fewer seeds); each resumes where a
    killed one stopped, and fine-tuning starts once pretraining is done. 0 when every trial is done."""
    from rlinfo.run.sweep import run_sweep

    spec = write_pretrain_spec(root, pretrain, grid or {})
    status = run_sweep(spec, root / "pretrain", num_cpus=cpus)
    if status:  # interrupted or failed: fine-tuning waits until every pretraining trial is done
        return status
    spec = write_finetune_spec(root, tasks, finetune)
    return run_sweep(spec, root / "finetune", num_cpus=cpus)


def write_pretrain_spec(root: Path, overrides: tuple[str, ...], grid: dict[str, list[Any]]) -> Path:
    """benchmarks/urlb_lite.yaml with extra overrides (a smaller or the full budget) and grid entries."""
    import yaml

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec["overrides"] = {**spec.get("overrides", {}), **dict(o.split("=", 1) for o in overrides)}
    spec["grid"] = {**spec["grid"], **grid}
    root.mkdir(parents=True, exist_ok=True)
    path = root / "pretrain.yaml"
    path.write_text(json.dumps(spec, indent=1))  # JSON is YAML
    return path


def write_finetune_spec(root: Path, tasks: tuple[str, ...], overrides: tuple[str, ...]) -> Path:
    """One trial per (finished pretraining run, task, skill choice), and DDPG from scratch per task × seed;
    trials are named ``walker_run__cic__mean__seed0``, ``walker_run__apt__seed0``,
    ``walker_run__ddpg__scratch__seed0``."""
    from rlinfo.run.finetune import DEFAULT_SKILL, PROTOCOL, snapshot_step
    from rlinfo.run.rundir import load_run_config

    trials: list[dict[str, Any]] = []
    seeds = set()
    for run_dir in sorted(p.parent for p in (root / "pretrain").glob("*/eval.json")):
        cfg = load_run_config(run_dir)
        seeds.add(cfg.seed)
        choices = SKILL_CHOICES.get(cfg.reward.name, (DEFAULT_SKILL.get(cfg.reward.name, "random"),))
        for task in tasks:
            for choice in choices:
                method = [cfg.reward.name, choice] if cfg.reward.name in DEFAULT_SKILL else [cfg.reward.name]
                trials.append({"name": "__".join([task, *method, f"seed{cfg.seed}"]),
                               "env.name": f"urlb:{task}", "finetune.skill": choice, "seed": cfg.seed,
                               "preset": str((run_dir / "config.yaml").resolve()),
                               "finetune.source": str(run_dir.resolve()),
                               "finetune.snapshot": snapshot_step(run_dir, None)})  # fmt: skip
    for seed in sorted(seeds):
        for task in tasks:
            trials.append({"name": f"{task}__ddpg__scratch__seed{seed}", "env.name": f"urlb:{task}",
                           "seed": seed, "preset": "ddpg_urlb_walker"})
    if not trials:
        raise SystemExit(f"no finished pretraining run in {root / 'pretrain'}")
    shared = dict(o.split("=", 1) for o in [*PROTOCOL, *overrides])
    spec = {"preset": "ddpg_urlb_walker", "overrides": {**shared, "train.threads": 1}, "trials": trials,
            "resources": {"cpus": 1}}  # fmt: skip
    path = root / "finetune.yaml"
    path.write_text(json.dumps(spec, indent=1))
    return path


# ----------------------------------------------------------------------------- results
def method_label(cfg: Any) -> str:
    """``ddpg (scratch)``, ``apt``, ``diayn (grid)``: the reward, and the skill choice where it varies."""
    if cfg.reward.name == "none":
        return f"{cfg.agent.name} (scratch)"
    if cfg.reward.name in SKILL_CHOICES:
        return f"{cfg.reward.name} ({cfg.finetune.skill})"
    return str(cfg.reward.name)


def collect(root: Path, out: Path) -> int:
    from benchmarks.machine import describe
    from rlinfo.files import atomic_path
    from rlinfo.run.rundir import load_run_config
    from rlinfo.run.sweep import is_finished

    machine = describe()
    rows = {(r["method"], r["env"], r["seed"], r["step"], r["metric"]): r for r in read_csv(out)}
    runs = {p.parent: load_run_config(p.parent) for p in sorted((root / "finetune").glob("*/config.yaml"))}
    finished = [r for r, cfg in runs.items() if is_finished(r, cfg.total_steps)]  # the full budget only
    for run_dir in finished:
        label = method_label(runs[run_dir])
        for r in run_rows(run_dir, machine):
            if r["metric"] != "return":
                continue
            r["method"] = label
            key = (r["method"], r["env"], r["seed"], r["step"], r["metric"])
            if key in rows:  # a row measured before keeps its machine and date
                r["machine"], r["date"] = rows[key]["machine"], rows[key]["date"]
            rows[key] = r
    ordered = sorted(rows.values(), key=lambda r: (r["env"], r["method"], r["seed"], r["step"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    import csv

    with atomic_path(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(ordered)
    unfinished = f" ({len(runs) - len(finished)} unfinished left out)" if len(finished) < len(runs) else ""
    print(f"{len(finished)} fine-tuning runs{unfinished}, {len(ordered)} rows -> {out}")
    return 0


def normalized_finals(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[int, float]]]:
    """method -> task -> seed -> expert-normalised return at the run's last evaluation."""
    from rlinfo.run.urlb_scores import normalized

    last: dict[tuple[str, str, int], tuple[int, float]] = {}
    for r in rows:
        key = (r["method"], r["env"], r["seed"])
        if key not in last or r["step"] > last[key][0]:
            last[key] = (r["step"], normalized(r["env"], r["value"]))
    out: dict[str, dict[str, dict[int, float]]] = {}
    for (method, env, seed), (_, score) in last.items():
        out.setdefault(method, {}).setdefault(env, {})[seed] = score
    return out


def domain_score(per_task: dict[str, dict[int, float]], reps: int = 2000) -> tuple[float, float, float, str]:
    """IQM over every (task, seed) score of a method, bootstrap stratified by task (seeds common to all)."""
    seeds = sorted(set.intersection(*[set(s) for s in per_task.values()]))
    matrix = np.array([[per_task[t][s] for t in sorted(per_task)] for s in seeds])  # [seeds, tasks]
    if len(seeds) < 3:
        return float(matrix.mean()), float(matrix.mean(1).min()), float(matrix.mean(1).max()), "mean"
    from rlinfo.run.report_stats import bootstrap

    point, interval = bootstrap(matrix, reps)
    return float(point[0]), float(interval[0, 0]), float(interval[1, 0]), "IQM"


def cell(point: float, low: float, high: float, kind: str, n: int) -> str:
    if n == 1:
        return f"{point:.2f}"
    if kind == "IQM":
        return f"{point:.2f} [{low:.2f}, {high:.2f}]"
    return f"{point:.2f} (range {low:.2f}–{high:.2f})"


def measured_tasks(rows: list[dict[str, Any]]) -> list[str]:
    """The tasks the rows were measured on (``urlb:walker_walk``, ...), in URLB's order."""
    envs = {r["env"] for r in rows}
    return [f"urlb:{t}" for t in TASKS if f"urlb:{t}" in envs]


def table(finals: dict[str, dict[str, dict[int, float]]], tasks: list[str]) -> list[str]:
    head = ["method", "seeds", *[t.removeprefix("urlb:") for t in tasks], "walker (these tasks)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in sorted(finals, key=lambda m: (not m.endswith("(scratch)"), m)):
        per_task = finals[method]
        seeds = sorted(set.union(*[set(s) for s in per_task.values()]))
        cells = [method, str(len(seeds))]
        for task in tasks:
            values = list(per_task.get(task, {}).values())
            cells.append(cell(*summary(values), len(values)) if values else "—")
        complete = {t: per_task[t] for t in tasks if t in per_task}
        cells.append(cell(*domain_score(complete), len(seeds)) if len(complete) == len(tasks) else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    """Expert-normalised return against fine-tuning steps: mean over tasks and seeds, band min–max over
    seeds (of the task mean)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlinfo.files import save_figure
    from rlinfo.run.urlb_scores import normalized

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for method in sorted({r["method"] for r in rows}):
        # the k-th evaluations of the runs line up (their steps can differ by one: reset steps do not count)
        runs: dict[tuple[int, str], list[tuple[int, float]]] = {}
        for r in sorted((r for r in rows if r["method"] == method), key=lambda r: r["step"]):
            runs.setdefault((r["seed"], r["env"]), []).append((r["step"], normalized(r["env"], r["value"])))
        n = max(len(evals) for evals in runs.values())
        steps = [np.median([e[k][0] for e in runs.values() if len(e) > k]) for k in range(n)]
        by_seed = {seed: [] for seed in sorted({seed for seed, _ in runs})}
        for seed in by_seed:
            for k in range(n):
                vals = [e[k][1] for (s, _), e in runs.items() if s == seed and len(e) > k]
                by_seed[seed].append(np.mean(vals) if vals else np.nan)
        v = np.array(list(by_seed.values()))
        xs = np.array(steps) / 1e3
        seeds = f"{len(by_seed)} seed{'s' * (len(by_seed) != 1)}"
        (line,) = ax.plot(xs, np.nanmean(v, 0), label=f"{method} ({seeds})")
        ax.fill_between(xs, np.nanmin(v, 0), np.nanmax(v, 0), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("fine-tuning env steps (thousands)")
    ax.set_ylabel("return / expert (mean over walker tasks)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("URLB-lite fine-tuning on walker (band: min–max over seeds)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def rows_of(csv_path: Path) -> list[dict[str, Any]]:
    rows = read_csv(csv_path)
    if not rows:
        raise SystemExit(f"no rows in {csv_path}: run `python -m benchmarks.urlb_lite collect` first")
    return rows


def page_figure(csv_path: Path = RESULTS / "urlb_lite.csv") -> Path:
    """The page's figure, docs/img/urlb_lite.png, from the CSV."""
    img = Path("docs/img/urlb_lite.png")
    figure(rows_of(csv_path), img)
    return img


def lite_config() -> Any:
    """The config of the spec's pretraining preset: URLB-lite's sizes."""
    import yaml

    from rlinfo.config import load_config

    return load_config(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["preset"], [])


def budget(rows: list[dict[str, Any]], tasks: list[str]) -> str:
    """The stated budget: pretraining sizes from the spec's preset, fine-tuning ``tasks`` and steps from
    the rows measured."""
    cfg = lite_config()
    steps = max(r["step"] for r in rows)
    names = " and ".join(t.removeprefix("urlb:") for t in tasks)
    return (f"DDPG with {cfg.agent.hidden_dim}-unit networks and batch {cfg.agent.batch_size}, "
            f"{cfg.total_steps:,} pretraining steps, {steps:,} fine-tuning steps on "
            f"{names} (URLB: 1024, 1024, 2M, 100k on the four walker tasks)")  # fmt: skip


def skill_choices(methods: list[str]) -> str:
    """How each skill method of the rows chose its fine-tuning skill: ``cic: mean, metra: regress``."""
    from rlinfo.run.finetune import DEFAULT_SKILL

    chosen = [f"{m}: {DEFAULT_SKILL[m]}" for m in methods if m in DEFAULT_SKILL]  # a label without a choice
    chosen += [f"{name}: {' and '.join(SKILL_CHOICES[name])}" for name in SKILL_CHOICES
               if any(m.startswith(f"{name} (") for m in methods)]  # fmt: skip
    return ", ".join(sorted(chosen))


def page_text(csv_path: Path = RESULTS / "urlb_lite.csv") -> str:
    """The page's Markdown, from the CSV."""
    rows = rows_of(csv_path)
    finals = normalized_finals(rows)
    tasks = measured_tasks(rows)
    lines = table(finals, tasks)
    scratch = [m for m in finals if m.endswith("(scratch)")]
    lite = lite_config()
    text = [
        "# URLB-lite: pretraining, then fine-tuning on walker's tasks",
        "",
        "<!-- generated by `python -m benchmarks.pages` from docs/results/urlb_lite.csv; "
        "do not edit by hand -->",
        "",
        "**What it measures.** How much reward-free pretraining helps on downstream tasks, as the "
        "Unsupervised RL Benchmark (URLB) measures it: each method pretrains on urlb:walker_stand without "
        "reward, then `rlinfo finetune` trains the snapshot on each walker task's reward "
        "(4,000 random seed steps first); the score is the return of 10 evaluation episodes divided by "
        "URLB's expert return on the task (1.0 = the expert). DDPG from scratch is the floor. How the skill "
        "methods chose their fine-tuning skill (docs/urlb.md; the first choice is the method's reference's): "
        f"{skill_choices(sorted(finals))}.",
        "",
        "**How to reproduce.** `python -m benchmarks.urlb_lite run && python -m benchmarks.urlb_lite collect "
        f"&& python -m benchmarks.urlb_lite page`. Budget (URLB-lite): {budget(rows, tasks)}. "
        "The full protocol on a GPU: `python -m benchmarks.urlb_lite run --full`.",
        provenance(rows),
        "",
        "**Current result** (expert-normalised return at the last evaluation; IQM [95% stratified-bootstrap "
        "interval] from 3 seeds, mean (range) below):",
        "",
        *lines,
        "",
        "![URLB-lite curves](../img/urlb_lite.png)",
        "",
        "**What it means.** " + verdict(finals, scratch, tasks),
        "",
        f"**Known limits.** One domain (walker), part of its tasks, 1/{2_000_000 // lite.total_steps} of "
        f"URLB's pretraining steps and 1/{1024 // lite.agent.hidden_dim} of its network width; URLB's "
        "published scores come from the full budget on GPUs.",
    ]
    return "\n".join(text) + "\n"


def page(csv_path: Path = RESULTS / "urlb_lite.csv") -> int:
    from rlinfo.files import write_text

    out = RESULTS / "urlb_lite.md"
    write_text(out, page_text(csv_path))
    print(f"wrote {out} and {page_figure(csv_path)}")
    return 0


def verdict(finals: dict[str, dict[str, dict[int, float]]], scratch: list[str], tasks: list[str]) -> str:
    """Each pretrained method against DDPG from scratch on the walker IQM (over ``tasks``): above or below,
    and whether the 95% intervals are apart; then the answer for APT and CIC, the methods URLB's
    successors compare."""
    scores = {m: domain_score(t) for m, t in finals.items() if set(t) == set(tasks)}
    if not scratch or scratch[0] not in scores:
        return "The comparison with DDPG from scratch needs every task of both."
    base, base_low, base_high, base_kind = scores.pop(scratch[0])
    parts, apart_above = [], []
    for method, (point, low, high, kind) in sorted(scores.items(), key=lambda kv: -kv[1][0]):
        side = "above" if point > base else "below"
        if kind == base_kind == "IQM":
            apart = low > base_high or high < base_low
            parts.append(f"{method} {point:.2f} ({side}, intervals {'apart' if apart else 'overlap'})")
            if apart and point > base:
                apart_above.append(method)
        else:
            parts.append(f"{method} {point:.2f} ({side}; fewer than 3 seeds: no interval)")
    head = f"DDPG from scratch scores {base:.2f} on the walker IQM; " + "; ".join(parts) + "."
    winners = sorted(m for m in apart_above if m.split(" ")[0] in ("apt", "cic"))
    found = ", ".join(winners) or "none at this budget (pretraining did not measurably help here)"
    if base_kind != "IQM":
        found = "not measurable with fewer than 3 seeds of DDPG from scratch"
    tail = f"APT or CIC above DDPG from scratch with the intervals apart: {found}."
    return f"{head} {tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="pretraining sweep, then the fine-tuning sweep")
    r.add_argument("--dir", type=Path, default=ROOT)
    r.add_argument("--tasks", nargs="+", choices=TASKS, help="default: walk and run (--full: all four)")
    r.add_argument("--pretrain", nargs="*", default=[], metavar="KEY=VALUE", help="pretraining overrides")
    r.add_argument("--finetune", nargs="*", default=[], metavar="KEY=VALUE", help="fine-tuning overrides")
    r.add_argument("--full", action="store_true", help="URLB's sizes on a GPU (2M pretraining steps)")
    r.add_argument("--seeds", nargs="+", type=int, help="pretraining seeds (default: the spec's 0 1 2)")
    r.add_argument("--methods", nargs="+", help="pretraining presets (default: the spec's)")
    r.add_argument("--num-cpus", type=int)
    c = sub.add_parser("collect", help="fine-tuning runs -> docs/results/urlb_lite.csv")
    c.add_argument("--dir", type=Path, default=ROOT)
    c.add_argument("--out", type=Path, default=RESULTS / "urlb_lite.csv")
    sub.add_parser("page", help="CSV -> docs/results/urlb_lite.md and docs/img/urlb_lite.png")
    args = parser.parse_args(argv)
    if args.command == "run":
        tasks = tuple(args.tasks or (TASKS if args.full else LITE_TASKS))
        pretrain = (*(FULL_PRETRAIN if args.full else []), *args.pretrain)
        finetune = (*(FULL if args.full else []), *args.finetune)
        grid = {k: v for k, v in (("seed", args.seeds), ("preset", args.methods)) if v}
        return run(args.dir, tasks, pretrain, finetune, grid, args.num_cpus)
    if args.command == "collect":
        return collect(args.dir, args.out)
    return page()


if __name__ == "__main__":
    raise SystemExit(main())
