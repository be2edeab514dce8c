"""SLIM (multi-critic) vs the summed single-critic baseline vs plain METRA on the tabletop env.

    python scripts/slim_benchmark.py --seeds 0 1 2 --total-steps 20000

Each (method, seed) trains its preset (``slim_tabletop``, ``sum_tabletop``, ``metra_tabletop``),
then rolls out ``--skills`` evenly spaced 2-D unit skills deterministically for one episode each and
measures: object-xy bins covered (0.05 m cells over the table) by all skills' puck trajectories,
the fraction of skills whose final puck displacement exceeds ``--move-threshold``, and the mean
safety cost per episode (sum of ``info["cost"]``). Prints a Markdown table; writes runs.csv,
summary.csv and objects.png (puck trajectories per skill per method, first seed) under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("slim", "sum", "metra")
CELL = 0.05


def rollouts(agent: Any, num_skills: int, seed: int) -> dict[str, np.ndarray]:
    """Deterministic episodes, one per skill z = (cos θ, sin θ); puck xy [K, T+1, 2] and costs [K]."""
    import torch

    from rlinfo.envs import make

    env = make("tabletop")
    angles = 2 * np.pi * np.arange(num_skills) / num_skills
    skills = np.stack([np.cos(angles), np.sin(angles)], -1).astype(np.float32)
    paths, costs = [], []
    for k, z in enumerate(skills):
        obs, info = env.reset(seed=10_000 + seed * 100 + k)
        xy, cost, done = [info["object_xy"]], 0.0, False
        while not done:
            x = torch.as_tensor(np.concatenate([obs, z]), dtype=torch.float32)[None]
            obs, _, term, trunc, info = env.step(agent.act(x, deterministic=True)[0].numpy())
            xy.append(info["object_xy"])
            cost += info["cost"]
            done = term or trunc
        xy += [xy[-1]] * (env.max_episode_steps + 1 - len(xy))  # pad episodes ended by falling off
        paths.append(np.array(xy))
        costs.append(cost)
    return {"xy": np.stack(paths), "cost": np.array(costs), "skills": skills}


def metrics(xy: np.ndarray, cost: np.ndarray, threshold: float) -> dict[str, float]:
    cells = {tuple(c) for c in np.floor(xy.reshape(-1, 2) / CELL).astype(int)}
    disp = np.linalg.norm(xy[:, -1] - xy[:, 0], axis=-1)
    return {
        "object_bins": float(len(cells)),
        "moving_fraction": float((disp > threshold).mean()),
        "mean_displacement": float(disp.mean()),
        "cost_per_episode": float(cost.mean()),
    }


def run_one(method: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    torch.set_num_threads(1)
    overrides = [f"seed={seed}", "train.progress=false", "eval.num_rollouts=2", "eval.figure=false"]
    overrides.append(f"total_steps={args.total_steps}")
    cfg = load_config(f"{method}_tabletop", overrides)
    start = time.perf_counter()
    trainer = Trainer(cfg)
    trainer.train()
    wall = time.perf_counter() - start
    out = rollouts(trainer.agent, args.skills, seed)
    np.savez(Path(args.out) / f"xy_{method}_s{seed}.npz", **out)
    return {"method": method, "seed": seed, "steps": trainer.global_step, "wall_s": wall,
            **metrics(out["xy"], out["cost"], args.move_threshold)}  # fmt: skip


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("object_bins", "moving_fraction", "mean_displacement", "cost_per_episode")
    table = []
    for m in METHODS:
        sel = [r for r in rows if r["method"] == m]
        if sel:
            row: dict[str, Any] = {"method": m, "seeds": len(sel)}
            for k in keys:
                v = np.array([r[k] for r in sel])
                row[k], row[f"{k}_std"] = float(v.mean()), float(v.std())
            table.append(row)
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    head = "| method | seeds | object bins | moving skills | mean displacement (m) | safety cost / episode |"
    lines = [head, "|---|---|---|---|---|---|"]
    for r in table:
        cols = [f"{r[k]:.2f} ± {r[k + '_std']:.2f}" for k in
                ("object_bins", "moving_fraction", "mean_displacement", "cost_per_episode")]  # fmt: skip
        lines.append(f"| {r['method']} | {r['seeds']} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def figure(out: Path, seed: int) -> Path:
    from rlinfo.evaluation.plots import plt

    fig, axes = plt.subplots(1, len(METHODS), figsize=(4 * len(METHODS), 3.6))
    for ax, m in zip(axes, METHODS, strict=True):
        path = out / f"xy_{m}_s{seed}.npz"
        if path.exists():
            data = np.load(path)
            colors = plt.cm.hsv(np.linspace(0, 1, len(data["xy"]), endpoint=False))
            for xy, c in zip(data["xy"], colors, strict=True):
                ax.plot(xy[:, 0], xy[:, 1], color=c, lw=1.2)
                ax.plot(xy[-1, 0], xy[-1, 1], "o", color=c, ms=3)
        ax.add_patch(plt.Rectangle((-0.45, -0.05), 0.9, 0.65, fill=False, ls="--", color="gray"))
        ax.set(title=f"{m} (seed {seed})", xlim=(-0.55, 0.55), ylim=(-0.15, 0.7), aspect="equal")
    fig.tight_layout()
    fig.savefig(out / "objects.png", dpi=110)
    return out / "objects.png"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--total-steps", type=int, default=20000, help="env steps per run")
    parser.add_argument("--skills", type=int, default=16, help="evaluation skills (evenly spaced angles)")
    parser.add_argument("--move-threshold", type=float, default=0.05, help="m of puck displacement")
    parser.add_argument("--out", default="runs/bench/slim_tabletop")
    parser.add_argument("--report-only", action="store_true", help="redo table + figure from runs.jsonl")
    args = parser.parse_args()
    from tqdm import tqdm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "runs.jsonl"
    if not args.report_only:
        log.unlink(missing_ok=True)
        jobs = [(m, s) for s in args.seeds for m in args.methods]
        for m, s in tqdm(jobs, desc="runs"):
            row = run_one(m, s, args)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in log.read_text().splitlines() if line]
    with (out / "runs.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = summarise(rows)
    with (out / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    print(markdown(table))
    print(f"figure: {figure(out, min(r['seed'] for r in rows))}")


if __name__ == "__main__":
    main()
