"""Skill-discovery benchmark: policy state coverage of every skill method, and zero-shot goal reaching.

For each environment in ``--envs`` and each method in ``--methods`` (presets configs/<method>_maze.yaml
and configs/<method>_ant.yaml):

- mazes (``maze:tree``, ``maze:corridor``): train ``--steps`` env steps per seed with the maze preset
  (env name overridden), then METRA's policy state coverage: 48 deterministic rollouts with random
  skills, fraction of the maze's free cells visited; mean ± std over ``--seeds``. ``random`` is a
  uniform random policy over the same rollouts. Runs reuse scripts/maze_coverage_benchmark.py.
- ``ant``: train ``--ant-steps`` env steps (first seed only; learning starts after
  ``--ant-learning-starts``), coverage = distinct 1×1 (x, y) cells of 48 rollouts × 200 steps, and
  for the φ-based methods (metra, lsd, csf) zero-shot goal reaching to 48 goals uniform in
  [−50, 50]² (final distance, End/HitSuccess within 3 and 1 units; rlinfo.evaluation.goal_reaching).
  ``--maze-goals`` adds goal reaching on the mazes (goals: centres of random free cells).

    nice -n 5 python scripts/skills_benchmark.py --steps 20000 --ant-steps 16000

Each finished run is appended to <out>/runs.jsonl; rerunning the same command skips finished runs,
``--report-only`` rebuilds the tables and figures from it. Writes skills.csv, skills.md and one
figure per env with every method's skills side by side (seed 0).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from maze_coverage_benchmark import run_one, summarise  # noqa: E402

METHODS = ("diayn", "metra", "lsd", "dads", "csf", "becl", "cic")
GOAL_METHODS = ("metra", "lsd", "csf")  # φ-based: z = normalise(φ(g) − φ(s))
GOAL_METRICS = ("final_distance", "EndSuccess3", "HitSuccess3", "EndSuccess1", "HitSuccess1")


def skill_run(method: str, seed: int, env: str, args: dict[str, Any]) -> dict[str, Any]:
    """Train one method on Ant (or a maze), then coverage and, for φ-based methods, goal reaching.

    On Ant the presets' networks (1024 units) are replaced by ``--ant-hidden`` units, and
    ``--ant-grad-steps`` updates follow each 1,600 collected steps: ~10x more updates per second on
    a CPU. On a maze this is ``run_one`` (same preset and budget) plus goal reaching (``--maze-goals``).
    """
    import dataclasses

    import torch

    from rlinfo.config import load_config
    from rlinfo.envs import make_vec, maze_layout
    from rlinfo.evaluation import goal_reaching, policy_state_coverage
    from rlinfo.run.evaluate import collect_rollouts
    from rlinfo.run.loop import Trainer

    torch.set_num_threads(1)
    preset = f"{'metra' if method == 'random' else method}_{'ant' if env == 'ant' else 'maze'}"
    hidden = args["ant_hidden"]
    overrides = [f"seed={seed}", f"env.name={env}", f"total_steps={args['steps']}"]
    if env == "ant":
        overrides[-1:] = [
            f"total_steps={args['ant_steps']}", f"train.grad_steps={args['ant_grad_steps']}",
            f"train.learning_starts={args['ant_learning_starts']}", f"agent.hidden_dim={hidden}",
        ]  # fmt: skip
        if "hidden_dim" in load_config(preset).reward.params:
            overrides.append(f"reward.params.hidden_dim={hidden}")
    cfg = load_config(preset, overrides)
    start = time.perf_counter()
    # the trainer's own final evaluation is skipped (1 rollout of 1 step): the 48 below replace it
    no_eval = ["train.progress=false", "eval.num_rollouts=1", "eval.max_steps=1"]
    quiet = load_config(preset, [*overrides, *no_eval])
    trainer = Trainer(dataclasses.replace(quiet, total_steps=0) if method == "random" else quiet)
    if method != "random":
        trainer.train()
    rollouts = collect_rollouts(
        cfg, trainer.agent, trainer.reward_module, trainer.device, random=method == "random"
    )
    result: dict[str, Any] = {"method": method, "seed": seed, "env": env, "steps": trainer.global_step}
    result.update(policy_state_coverage(rollouts.xy, rollouts.layout))
    if method in GOAL_METHODS:
        goal_envs = make_vec(env, num_envs=48, seed=seed + 10_000)
        try:
            layout = maze_layout(goal_envs)
            module = trainer.reward_module
            goals = goal_reaching(trainer.agent, module, goal_envs, env, layout, seed=seed + 10_000)
        finally:
            goal_envs.close()
        result.update({k: goals[k] for k in GOAL_METRICS})
    result["wall_s"] = time.perf_counter() - start
    tag = env.replace(":", "-")
    np.savez(Path(args["out"]) / f"xy_{method}_{tag}_s{seed}.npz", xy=rollouts.xy, skills=rollouts.skills)
    return result


def run(kind: str, method: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    if kind == "ant" or (args["maze_goals"] and method in GOAL_METHODS):
        return skill_run(method, seed, kind, args)
    return run_one(method, seed, kind, args["steps"], args["out"])


def markdown(table: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    lines = [
        "| env | method | env steps | seeds | coverage | final distance | EndSuccess3 | HitSuccess3 "
        "| EndSuccess1 | HitSuccess1 | wall s/run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in table:
        runs = [r for r in rows if r["env"] == t["env"] and r["method"] == t["method"]]
        if t["env"] == "ant":
            cov = f"{np.mean([r['coverage_cells'] for r in runs]):.0f} cells"
        else:
            cov = f"{t['coverage_mean']:.3f} ± {t['coverage_std']:.3f}"
        goal = [""] * len(GOAL_METRICS)
        if "final_distance" in runs[0]:  # mean over the seeds that measured it
            values = [[r[k] for r in runs if k in r] for k in GOAL_METRICS]
            goal = [f"{np.mean(v):.3g}" if v else "" for v in values]
        lines.append(
            f"| {t['env']} | {t['method']} | {t['steps']} | {t['seeds']} | {cov} | {' | '.join(goal)} | "
            f"{t['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def figure(out: Path, env: str, seed: int, methods: list[str], table: list[dict[str, Any]]) -> Path | None:
    """Every method's 48 skill trajectories side by side (seed ``seed``)."""
    from rlinfo.envs import make, maze_layout
    from rlinfo.evaluation.plots import plt, skill_colors

    tag = env.replace(":", "-")
    found = [m for m in methods if (out / f"xy_{m}_{tag}_s{seed}.npz").exists()]
    if not found:
        return None
    layout = maze_layout(make(env)) if env.startswith("maze:") else None
    wide = layout is not None and layout.width > 3 * layout.height  # the corridor: one method per row
    n = len(found)
    shape, size = ((n, 1), (9.0, 0.9 * n + 0.8)) if wide else ((1, n), (3.4 * n, 3.6))
    fig, axes = plt.subplots(*shape, figsize=size, dpi=100, squeeze=False)
    for ax, method in zip(axes.ravel(), found, strict=True):
        data = np.load(out / f"xy_{method}_{tag}_s{seed}.npz")
        skills = data["skills"]
        if layout is not None:
            layout.draw(ax)
        discrete = skills.shape[1] > 0 and len(np.unique(skills)) <= 2
        colors = ["0.35"] * len(skills) if not skills.shape[1] else skill_colors(skills, discrete)
        for traj, color in zip(data["xy"], colors, strict=True):
            ax.plot(traj[:, 0], traj[:, 1], color=color, lw=1.0, alpha=0.85)
        if layout is None:
            ax.set_aspect("equal", adjustable="datalim")
        row = next(t for t in table if t["env"] == env and t["method"] == method)
        ax.set_title(f"{method}: {row['coverage_mean']:.3g}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{env}: 48 rollouts with random skills, seed {seed} (title: coverage)", fontsize=11)
    fig.tight_layout()
    path = out / f"skills_{tag}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--envs", nargs="+", default=["maze:tree", "maze:corridor", "ant"])
    parser.add_argument("--methods", nargs="+", default=[*METHODS, "random"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per maze run")
    parser.add_argument("--ant-steps", type=int, default=16_000, help="env steps per Ant run (first seed)")
    parser.add_argument("--ant-learning-starts", type=int, default=4_000)
    parser.add_argument("--ant-grad-steps", type=int, default=200, help="updates per 1,600 Ant env steps")
    parser.add_argument("--ant-hidden", type=int, default=256, help="network width on Ant (presets: 1024)")
    parser.add_argument("--maze-goals", action="store_true", help="goal reaching on mazes too (φ-based)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    parser.add_argument("--out", default="bench_out/skills")
    parser.add_argument("--report-only", action="store_true", help="redo tables + figures from runs.jsonl")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "runs.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    if not args.report_only:
        from tqdm import tqdm

        done = {(r["env"], r["method"], r["seed"]) for r in rows}
        jobs = [
            (env, m, s)
            for env in args.envs
            for s in (args.seeds[:1] if env == "ant" else args.seeds)
            for m in args.methods
            if (env, m, s) not in done
        ]
        shared = {**vars(args), "out": str(out)}
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run, env, m, s, shared) for env, m, s in jobs]
            for future in tqdm(futures, desc="runs"):
                rows.append(future.result())
                with log.open("a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
    rows = [r for r in rows if r["env"] in args.envs and r["method"] in args.methods]
    table = summarise(rows)
    with (out / "skills.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    md = markdown(table, rows)
    (out / "skills.md").write_text(md + "\n")
    print(md)
    for env in args.envs:
        print("figure:", figure(out, env, args.seeds[0], list(args.methods), table))


if __name__ == "__main__":
    main()
