"""Maze coverage benchmark: METRA vs DIAYN vs a uniform random policy at the same budget.

Trains each method with its preset (configs/<method>_maze.yaml) for several seeds, measures
METRA's policy state coverage (48 deterministic rollouts with random skills; fraction of the
maze's free cells visited) and compares it with uniformly random actions over the same rollouts.

    python scripts/maze_coverage_benchmark.py --seeds 0 1 2 --jobs 2

Prints a Markdown table and writes <out>/maze_coverage.csv, .md and .png (skills of seed 0).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("metra", "diayn")


def run_one(method: str, seed: int, env: str, total_steps: int | None, out: str) -> dict[str, Any]:
    """Train one (method, seed) and evaluate it; the random baseline has method 'random'."""
    import torch

    from rlinfo.config import load_config
    from rlinfo.evaluation import policy_state_coverage
    from rlinfo.run.evaluate import collect_rollouts
    from rlinfo.run.loop import Trainer

    torch.set_num_threads(1)
    preset = "metra_maze" if method == "random" else f"{method}_maze"
    overrides = [f"seed={seed}", f"env.name={env}", "train.progress=false"]
    if total_steps:
        overrides.append(f"total_steps={total_steps}")
    cfg = load_config(preset, overrides)
    start = time.perf_counter()
    if method == "random":
        trainer = Trainer(dataclasses.replace(cfg, total_steps=0))
        rollouts = collect_rollouts(cfg, trainer.agent, trainer.reward_module, trainer.device, random=True)
        steps = 0
    else:
        trainer = Trainer(cfg)
        trainer.train()
        rollouts = collect_rollouts(cfg, trainer.agent, trainer.reward_module, trainer.device)
        steps = trainer.global_step
    result = {
        "method": method,
        "seed": seed,
        "env": env,
        "steps": steps,
        "wall_s": time.perf_counter() - start,
        **policy_state_coverage(rollouts.xy, rollouts.layout),
    }
    np.savez(
        Path(out) / f"xy_{method}_{env.replace(':', '-')}_s{seed}.npz", xy=rollouts.xy, skills=rollouts.skills
    )
    return result


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for env, method in sorted({(r["env"], r["method"]) for r in rows}):
        cov = np.array([r["coverage"] for r in rows if r["env"] == env and r["method"] == method])
        wall = np.mean([r["wall_s"] for r in rows if r["env"] == env and r["method"] == method])
        steps = max(r["steps"] for r in rows if r["env"] == env and r["method"] == method)
        table.append(
            {
                "env": env,
                "method": method,
                "seeds": len(cov),
                "steps": steps,
                "coverage_mean": cov.mean(),
                "coverage_std": cov.std(ddof=1) if len(cov) > 1 else 0.0,
                "wall_s": wall,
            }
        )
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| env | method | env steps | seeds | coverage (fraction of free cells) | wall time per run (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['env']} | {r['method']} | {r['steps']} | {r['seeds']} | "
            f"{r['coverage_mean']:.3f} ± {r['coverage_std']:.3f} | {r['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def figure(out: Path, env: str, seed: int, table: list[dict[str, Any]]) -> Path:
    from rlinfo.envs import make, maze_layout
    from rlinfo.evaluation.plots import plt, skill_colors

    layout = maze_layout(make(env))
    methods = [
        m for m in (*METHODS, "random") if (out / f"xy_{m}_{env.replace(':', '-')}_s{seed}.npz").exists()
    ]
    fig, axes = plt.subplots(1, len(methods), figsize=(4.6 * len(methods), 4.4), dpi=100)
    for ax, method in zip(np.atleast_1d(axes), methods, strict=True):
        data = np.load(out / f"xy_{method}_{env.replace(':', '-')}_s{seed}.npz")
        layout.draw(ax)
        skills = data["skills"]
        if method == "random" or not skills.shape[1]:
            colors = ["0.35"] * len(data["xy"])  # uniform random actions: no skills, one grey
        else:
            colors = skill_colors(skills, discrete=method == "diayn")
        for traj, color in zip(data["xy"], colors, strict=True):
            ax.plot(traj[:, 0], traj[:, 1], color=color, lw=1.2, alpha=0.85)
        row = next(r for r in table if r["env"] == env and r["method"] == method)
        ax.set_title(
            f"{method}: coverage {row['coverage_mean']:.2f} ± {row['coverage_std']:.2f}", fontsize=10
        )
    fig.suptitle(f"{env}: 48 rollouts with random skills (seed {seed})", fontsize=11)
    fig.tight_layout()
    path = out / f"maze_coverage_{env.replace(':', '-')}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--envs", nargs="+", default=["maze:tree"])
    parser.add_argument("--methods", nargs="+", default=[*METHODS, "random"])
    parser.add_argument("--total-steps", type=int, default=None, help="override the presets' budget")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    parser.add_argument("--out", default="bench_out/maze")
    parser.add_argument("--report-only", action="store_true", help="redo table + figure from runs.jsonl")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (m, s, e, args.total_steps, str(out)) for e in args.envs for m in args.methods for s in args.seeds
    ]
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    if args.report_only:  # rebuild the table and figures from an earlier run's runs.jsonl
        rows = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines() if line.strip()]
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, *job) for job in jobs]
            for future in tqdm(futures, desc="runs"):
                rows.append(future.result())
                with (out / "runs.jsonl").open("a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
    table = summarise(rows)
    with (out / "maze_coverage.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    md = markdown(table)
    (out / "maze_coverage.md").write_text(md + "\n")
    print(md)
    for env in args.envs:
        print("figure:", figure(out, env, args.seeds[0], table))


if __name__ == "__main__":
    main()
