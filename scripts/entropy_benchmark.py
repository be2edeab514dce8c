"""Entropy controllers on three sparse-reward tasks: PPO with each of eight controllers.

Controllers: none / fixed / target / epo / aepo / siren / siren_adaptive / lpreg (agents/entropy.py).
Tasks: ``keydoor`` (discrete, size 7: a 32-step optimum, 384-step episodes), ``keydoor_hard``
(size 9: a 42-step optimum, 504-step episodes) and ``maze_goal``
(continuous 2-D point maze ``tree``, goal (2.5, 8.5) two branchings up, 200-step episodes;
uniform random actions succeed in 3-5% of the episodes of all three tasks). Per controller and
seed: success rate of the final deterministic evaluation (16 episodes) and of the training
episodes in the last 10% of steps, the entropy curve, a *collapse* (batch entropy below
``collapse`` nats at some update in the first half of training) and an *explosion* (entropy above
``explode`` nats at some update in the second half). Prints a Markdown table and writes
``runs.csv``, ``summary.csv``, ``curves.csv`` and ``entropy_benchmark.png`` under ``--out`` (the
figure is also copied to docs/img/).

    python scripts/entropy_benchmark.py --jobs 2            # full: 3 tasks × 8 controllers × 5 seeds
    python scripts/entropy_benchmark.py --seeds 1 --steps-scale 0.1   # smoke run
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

LOG4 = math.log(4)
KEYDOOR_CONTROLLERS = {
    "none": {"name": "none"},
    "fixed": {"name": "fixed", "coef": 0.01},
    "target": {"name": "target", "target_scale": 0.3, "coef": 0.01, "lr": 0.05},
    "epo": {"name": "epo", "coef": 0.01, "penalty": 1.0, "band": "relative"},
    "aepo": {"name": "aepo", "target_scale": 0.3, "coef": 0.01},
}
# no target entropy, so the same spec on every task (SIREN anchors on the first rollout's entropy)
NO_TARGET = {
    "siren": {"name": "siren", "coef": 0.005, "peak_fraction": 0.2},  # Linn3a/siren's values
    "siren_adaptive": {"name": "siren_adaptive", "coef": 0.01, "lr": 0.01},
    "lpreg": {"name": "lpreg", "kappa": 0.02, "neg_fraction": 0.01},  # CarlanLark/Lp-Reg's values
}
KEYDOOR_CONTROLLERS.update(NO_TARGET)
TASKS: dict[str, dict[str, Any]] = {
    "keydoor": {
        "overrides": ["env.name=keydoor", "env.kwargs.size=7"],
        "steps": 200_000,
        "collapse": 0.1 * LOG4,  # 0.139 nats: the policy is nearly deterministic
        "explode": 0.95 * LOG4,  # 1.317 nats: nearly uniform over the 4 moves
        "controllers": KEYDOOR_CONTROLLERS,
    },
    "keydoor_hard": {
        "overrides": ["env.name=keydoor", "env.kwargs.size=9"],
        "steps": 400_000,
        "collapse": 0.1 * LOG4,
        "explode": 0.95 * LOG4,
        "controllers": KEYDOOR_CONTROLLERS,
    },
    "maze_goal": {
        "overrides": [
            "env.name=maze_goal",
            "env.kwargs.layout=tree",
            "env.kwargs.goal=[2.5, 8.5]",
            "env.kwargs.max_episode_steps=200",
        ],
        "steps": 200_000,
        "collapse": -1.0,  # 2-D Gaussian: σ ≈ 0.14 per dimension
        "explode": 4.0,  # σ ≈ 1.8 per dimension (actions are clipped to [-1, 1])
        "controllers": {
            "none": {"name": "none"},
            "fixed": {"name": "fixed", "coef": 0.01},
            "target": {"name": "target", "target": 1.0, "coef": 0.01, "lr": 0.05},
            "epo": {"name": "epo", "coef": 0.01, "penalty": 1.0, "band": "additive", "delta": 0.2},
            "aepo": {"name": "aepo", "target": 1.0, "coef": 0.01},
            **NO_TARGET,
        },
    },
}
COMMON = [
    "agent.name=ppo",
    "agent.hidden_dim=256",  # 64 units drift away before the first success on keydoor
    "agent.lr=1e-3",
    "agent.params.norm_return=true",
    "env.num_envs=16",
    "train.rollout_steps=128",
    "train.progress=false",
    "train.checkpoint_every=0",
    "reward.name=none",
    "reward.extrinsic_weight=1.0",
    "eval.num_rollouts=16",
    "eval.figure=false",
]


def flow(spec: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def run_one(job: tuple[str, str, int, int]) -> dict[str, Any]:
    """Train one (task, controller, seed) and summarise it."""
    import torch

    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    torch.set_num_threads(1)
    task, ctrl, seed, steps = job
    spec = TASKS[task]
    overrides = [*COMMON, *spec["overrides"], f"seed={seed}", f"total_steps={steps}"]
    overrides.append(f"agent.params.entropy={flow(spec['controllers'][ctrl])}")
    start = time.perf_counter()
    trainer = Trainer(load_config(None, overrides))
    result = trainer.train()
    hist = trainer.history
    step = np.array([h["step"] for h in hist])
    ent = np.array([h.get("agent/entropy", h.get("ppo/entropy")) for h in hist])  # tag renamed
    succ = np.array([h.get("success", np.nan) for h in hist])
    late = step >= 0.9 * steps
    first, second = step <= 0.5 * steps, step > 0.5 * steps
    return {
        "task": task,
        "controller": ctrl,
        "seed": seed,
        "eval_success": result["success"],
        "train_success_last10": float(np.nanmean(succ[late])) if np.isfinite(succ[late]).any() else 0.0,
        "final_entropy": float(ent[-5:].mean()),
        "collapse": bool((ent[first] < spec["collapse"]).any()),
        "explode": bool((ent[second] > spec["explode"]).any()),
        "seconds": time.perf_counter() - start,
        "curve_step": step.tolist(),
        "curve_entropy": ent.tolist(),
        "curve_success": forward_fill(succ).tolist(),
    }


def forward_fill(x: np.ndarray) -> np.ndarray:
    """Carry the last success rate over updates in which no episode ended (0 before the first)."""
    out, last = x.copy(), 0.0
    for i, v in enumerate(x):
        last = v if np.isfinite(v) else last
        out[i] = last
    return out


def load_runs(out: Path) -> list[dict[str, Any]]:
    """Runs with their curves from ``runs.csv`` and ``curves.csv`` of an earlier invocation (--replot)."""
    with (out / "runs.csv").open() as f:
        runs = [dict(r) for r in csv.DictReader(f)]
    with (out / "curves.csv").open() as f:
        curves = list(csv.DictReader(f))
    for r in runs:
        r["seed"] = int(r["seed"])
        for k in ("eval_success", "train_success_last10", "final_entropy", "seconds"):
            r[k] = float(r[k])
        r["collapse"], r["explode"] = r["collapse"] == "True", r["explode"] == "True"
        rows = [
            c
            for c in curves
            if (c["task"], c["controller"], int(c["seed"])) == (r["task"], r["controller"], r["seed"])
        ]
        r["curve_step"] = [float(c["step"]) for c in rows]
        r["curve_entropy"] = [float(c["entropy"]) for c in rows]
        r["curve_success"] = forward_fill(np.array([float(c["success"]) for c in rows])).tolist()
    return runs


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for task in TASKS:
        for ctrl in TASKS[task]["controllers"]:
            rs = [r for r in runs if r["task"] == task and r["controller"] == ctrl]
            if not rs:
                continue
            ev = np.array([r["eval_success"] for r in rs])
            tr = np.array([r["train_success_last10"] for r in rs])
            rows.append(
                {
                    "task": task,
                    "controller": ctrl,
                    "seeds": len(rs),
                    "eval_success_mean": ev.mean(),
                    "eval_success_std": ev.std(),
                    "solved_seeds": int((ev >= 0.5).sum()),
                    "train_success_last10": tr.mean(),
                    "final_entropy": float(np.mean([r["final_entropy"] for r in rs])),
                    "collapses": sum(r["collapse"] for r in rs),
                    "explosions": sum(r["explode"] for r in rs),
                    "seconds_per_run": float(np.mean([r["seconds"] for r in rs])),
                }
            )
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| task | controller | eval success | solved seeds | train success (last 10%) | final H "
        "| collapses | explosions |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['controller']} | "
            f"{r['eval_success_mean']:.2f} ± {r['eval_success_std']:.2f} | "
            f"{r['solved_seeds']}/{r['seeds']} | "
            f"{r['train_success_last10']:.2f} | {r['final_entropy']:.2f} | "
            f"{r['collapses']}/{r['seeds']} | {r['explosions']}/{r['seeds']} |"
        )
    return "\n".join(lines)


def figure(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(TASKS), figsize=(6 * len(TASKS), 7), squeeze=False)
    for j, task in enumerate(TASKS):
        for ctrl in TASKS[task]["controllers"]:
            rs = [r for r in runs if r["task"] == task and r["controller"] == ctrl]
            if not rs:
                continue
            n = min(len(r["curve_step"]) for r in rs)
            step = np.array(rs[0]["curve_step"][:n])
            for i, key in enumerate(("curve_entropy", "curve_success")):
                y = np.array([r[key][:n] for r in rs])
                (line,) = axes[i, j].plot(step, y.mean(0), label=ctrl)
                axes[i, j].fill_between(step, y.min(0), y.max(0), color=line.get_color(), alpha=0.12)
        spec = TASKS[task]
        for y, style in ((spec["collapse"], ":"), (spec["explode"], "--")):
            axes[0, j].axhline(y, color="0.4", ls=style, lw=0.8)
        axes[0, j].set_title(f"{task}: policy entropy (nats); dotted collapse, dashed explosion")
        axes[1, j].set_title(f"{task}: training success rate")
        axes[1, j].set_xlabel("env steps")
        axes[0, j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every task's budget")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--out", type=Path, default=Path("bench_out/entropy_benchmark"))
    parser.add_argument("--figure", default="docs/img/entropy_benchmark.png", help="figure copy ('': none)")
    parser.add_argument("--replot", action="store_true", help="redraw table and figure from --out's CSVs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        runs = load_runs(args.out)
        figure(runs, args.out / "entropy_benchmark.png")
        if args.figure:
            shutil.copy(args.out / "entropy_benchmark.png", Path(args.figure))
        print(table(summarise(runs)))
        return
    jobs = [
        (task, ctrl, seed, int(TASKS[task]["steps"] * args.steps_scale))
        for task in args.tasks
        for seed in range(args.seeds)
        for ctrl in TASKS[task]["controllers"]
    ]
    start = time.perf_counter()
    with Pool(args.jobs) as pool:
        runs = []
        for i, r in enumerate(pool.imap_unordered(run_one, jobs)):
            runs.append(r)
            print(
                f"[{i + 1}/{len(jobs)}] {r['task']} {r['controller']} seed {r['seed']}: eval success "
                f"{r['eval_success']:.2f}, final H {r['final_entropy']:.2f} ({r['seconds']:.0f} s)",
                flush=True,
            )
    runs.sort(key=lambda r: (r["task"], r["controller"], r["seed"]))
    flat = [{k: v for k, v in r.items() if not k.startswith("curve_")} for r in runs]
    write_csv(args.out / "runs.csv", flat)
    rows = summarise(runs)
    write_csv(args.out / "summary.csv", rows)
    curves = [
        {
            "task": r["task"],
            "controller": r["controller"],
            "seed": r["seed"],
            "step": s,
            "entropy": e,
            "success": u,
        }
        for r in runs
        for s, e, u in zip(r["curve_step"], r["curve_entropy"], r["curve_success"], strict=True)
    ]
    write_csv(args.out / "curves.csv", curves)
    figure(runs, args.out / "entropy_benchmark.png")
    if args.figure:
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(args.out / "entropy_benchmark.png", Path(args.figure))
    print(table(rows))
    print(f"total wall time {time.perf_counter() - start:.0f} s with {args.jobs} jobs")


if __name__ == "__main__":
    main()
