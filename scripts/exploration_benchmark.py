"""Exploration benchmark: state coverage of APT, RND, ICM, Disagreement and empowerment vs random.

Each method trains a SAC agent on its intrinsic reward alone (presets configs/<method>_maze.yaml
and <method>_ant.yaml for APT/RND/empowerment; ICM and Disagreement use the same agent settings)
for the same number of environment steps, for several seeds, and is measured two ways:

* **policy coverage**: 48 rollouts of the trained *stochastic* policy (these agents have no skills,
  so 48 deterministic rollouts from one start are one trajectory; that number is reported too);
* **data coverage**: every state in the replay buffer, i.e. what the agent visited while training.

Coverage is METRA's: distinct 1×1 (x, y) cells; for the maze the fraction of its free cells, for
Ant the raw cell count. The random baseline takes uniformly random actions for the same budget
(data) and for the same 48 rollouts (policy).

    nice -n 5 python scripts/exploration_benchmark.py --seeds 0 1 2

Prints a Markdown table and writes <out>/exploration.csv, .md, runs.jsonl and exploration.png.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("apt", "rnd", "icm", "disagreement", "empowerment")
# (preset the agent and training schedule come from, overrides making the run fit the CPU budget)
ENVS: dict[str, tuple[str, list[str]]] = {
    "maze:tree": ("apt_maze", ["env.name=maze:tree"]),
    "ant": (
        "apt_ant",
        [
            "env.num_envs=4",
            "agent.hidden_dim=256",
            "agent.batch_size=256",
            "train.rollout_steps=50",
            "train.grad_steps=25",
            "train.learning_starts=1000",
        ],
    ),
}
# reward.params per (env, method); APT/RND/empowerment as their presets (smaller nets on Ant for the CPU)
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "maze:tree": {
        "apt": {"k": 12},
        "rnd": {"hidden_dim": 128, "rep_dim": 64, "lr": 1e-3},
        "icm": {"hidden_dim": 128, "rep_dim": 32, "lr": 3e-4},
        "disagreement": {"hidden_dim": 128, "lr": 3e-4},
        "empowerment": {"hidden_dim": 128, "lr": 3e-4},
    },
    "ant": {
        "apt": {"k": 12, "knn_rms": True, "clip": 1e-4},
        "rnd": {"hidden_dim": 256, "rep_dim": 128, "lr": 1e-4},
        "icm": {"hidden_dim": 256, "rep_dim": 64, "lr": 1e-4},
        "disagreement": {"hidden_dim": 256, "lr": 1e-4},
        "empowerment": {"latent": True, "latent_dim": 64, "hidden_dim": 256, "lr": 3e-4},
    },
}
DEFAULT_STEPS = {"maze:tree": 20_000, "ant": 5_000}
NUM_ROLLOUTS = 48


def _cells(xy: np.ndarray, layout: Any) -> tuple[float, float]:
    """(visited cells, coverage): free-cell fraction in a maze, the cell count elsewhere."""
    from rlinfo.evaluation import policy_state_coverage

    cov = policy_state_coverage(xy.reshape(1, -1, 2), layout)
    return cov["coverage_cells"], cov["coverage"]


def run_one(method: str, env: str, seed: int, total_steps: int, out: Path) -> dict[str, Any]:
    """Train ``method`` (or take random actions, ``method='random'``) and measure coverage."""
    import torch

    from rlinfo.config import RewardConfig, load_config
    from rlinfo.envs import maze_layout
    from rlinfo.evaluation.coverage import rollout_xy
    from rlinfo.run.build import make_envs
    from rlinfo.run.loop import Trainer

    torch.set_num_threads(1)
    preset, overrides = ENVS[env]
    common = [f"seed={seed}", f"total_steps={total_steps}", "train.progress=false", "eval.num_rollouts=4"]
    cfg = load_config(preset, [*overrides, *common, "eval.figure=false"])
    if method == "random":  # uniform actions for the whole budget, no updates
        reward = RewardConfig(name="none")
        cfg = dataclasses.replace(cfg, reward=reward, train=dataclasses.replace(cfg.train, grad_steps=0))
        cfg.train.learning_starts = total_steps
    else:
        cfg.reward = RewardConfig(name=method, params=PARAMS[env][method])
    start = time.perf_counter()
    trainer = Trainer(cfg)
    det = trainer.train()
    data_xy = trainer.buffer.obs[: trainer.buffer.size, :2].cpu().numpy().astype(np.float64)
    envs = make_envs(cfg, NUM_ROLLOUTS, seed + 10_000)
    try:
        layout = maze_layout(envs)

        def policy(obs: np.ndarray, _z: np.ndarray) -> np.ndarray:
            if method == "random":
                return envs.action_space.sample()
            with torch.inference_mode():
                return trainer.agent.act(torch.as_tensor(obs, dtype=torch.float32)).numpy()

        envs.action_space.seed(seed)
        xy = rollout_xy(envs, policy, np.zeros((NUM_ROLLOUTS, 0)), 200, seed=seed + 10_000)
    finally:
        envs.close()
    policy_cells, policy_cov = _cells(xy, layout)
    data_cells, data_cov = _cells(data_xy, layout)
    keep = np.random.default_rng(0).permutation(len(data_xy))[:20_000]
    np.savez_compressed(
        out / f"xy_{method}_{env.replace(':', '-')}_s{seed}.npz", policy=xy, data=data_xy[keep]
    )
    return {
        "method": method,
        "env": env,
        "seed": seed,
        "budget": total_steps,
        "steps": trainer.global_step,
        "policy_cells": policy_cells,
        "policy_coverage": policy_cov,
        "det_policy_coverage": float(det["coverage"]) if method != "random" else float("nan"),
        "data_cells": data_cells,
        "data_coverage": data_cov,
        "wall_s": time.perf_counter() - start,
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    envs = list(dict.fromkeys(r["env"] for r in rows))
    for env in envs:
        for method in (*METHODS, "random"):
            sel = [r for r in rows if r["env"] == env and r["method"] == method]
            if not sel:
                continue
            row: dict[str, Any] = {"env": env, "method": method, "seeds": len(sel), "steps": sel[0]["steps"]}
            for key in ("policy_coverage", "data_coverage", "det_policy_coverage"):
                v = np.array([r[key] for r in sel], dtype=np.float64)
                row[f"{key}_mean"] = float(v.mean())
                row[f"{key}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            row["wall_s"] = float(np.mean([r["wall_s"] for r in sel]))
            table.append(row)
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| env | method | env steps | seeds | policy coverage (48 stochastic rollouts) | "
        "data coverage (replay buffer) | deterministic policy | wall per run (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        fmt = ".3f" if r["env"].startswith("maze") else ".1f"

        def pm(key: str, r: dict[str, Any] = r, f: str = fmt) -> str:
            m, s = r[f"{key}_mean"], r[f"{key}_std"]
            return "—" if np.isnan(m) else f"{m:{f}} ± {s:{f}}"

        lines.append(
            f"| {r['env']} | {r['method']} | {r['steps']} | {r['seeds']} | {pm('policy_coverage')} | "
            f"{pm('data_coverage')} | {pm('det_policy_coverage')} | {r['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def figure(out: Path, table: list[dict[str, Any]], seed: int) -> Path:
    from rlinfo.envs import make, maze_layout
    from rlinfo.evaluation.plots import plt

    envs = list(dict.fromkeys(r["env"] for r in table))
    maze = next((e for e in envs if e.startswith("maze")), None)
    ncols = len(envs) + (2 if maze else 0)
    fig, axes = plt.subplots(1, ncols, figsize=(4.4 * ncols, 4.2), dpi=100)
    axes = np.atleast_1d(axes)
    for ax, env in zip(axes, envs, strict=False):
        rows = [r for r in table if r["env"] == env]
        x = np.arange(len(rows))
        for i, (key, label) in enumerate(
            (("policy_coverage", "policy (stochastic)"), ("data_coverage", "data"))
        ):
            ax.bar(x + (i - 0.5) * 0.38, [r[f"{key}_mean"] for r in rows], 0.38,
                   yerr=[r[f"{key}_std"] for r in rows], label=label, capsize=3)  # fmt: skip
        ax.set_xticks(x, [r["method"] for r in rows], rotation=30, fontsize=8)
        ax.set_ylabel("fraction of free cells" if env.startswith("maze") else "visited 1×1 cells")
        ax.set_title(f"{env}, {rows[0]['steps']} steps, {rows[0]['seeds']} seeds", fontsize=10)
        ax.legend(fontsize=8)
    if maze:
        layout = maze_layout(make(maze))
        best = max(
            (r for r in table if r["env"] == maze and r["method"] != "random"),
            key=lambda r: r["data_coverage_mean"],
        )
        for ax, method in zip(axes[len(envs) :], ("random", best["method"]), strict=True):
            path = out / f"xy_{method}_{maze.replace(':', '-')}_s{seed}.npz"
            layout.draw(ax)
            if path.exists():
                data = np.load(path)["data"]
                ax.scatter(data[:, 0], data[:, 1], s=0.3, alpha=0.3, color="tab:blue")
            ax.set_title(f"{maze} training data: {method} (seed {seed})", fontsize=10)
    fig.tight_layout()
    path = out / "exploration.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--methods", nargs="+", default=[*METHODS, "random"], choices=[*METHODS, "random"])
    parser.add_argument("--maze-steps", type=int, default=DEFAULT_STEPS["maze:tree"])
    parser.add_argument("--ant-steps", type=int, default=DEFAULT_STEPS["ant"])
    parser.add_argument("--out", default="runs/bench/exploration")
    parser.add_argument("--report-only", action="store_true", help="redo table + figure from runs.jsonl")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = {"maze:tree": args.maze_steps, "ant": args.ant_steps}
    rows: list[dict[str, Any]] = []
    log = out / "runs.jsonl"
    if log.exists():
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not args.report_only:
        from tqdm import tqdm

        done = {(r["method"], r["env"], r["seed"], r["budget"]) for r in rows}
        jobs = [(m, e, s) for e in args.envs for m in args.methods for s in args.seeds]
        jobs = [j for j in jobs if (*j, steps[j[1]]) not in done]  # resumable: skip finished runs
        for method, env, seed in tqdm(jobs, desc="runs"):
            rows.append(run_one(method, env, seed, steps[env], out))
            with log.open("a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
    rows = [r for r in rows if r["env"] in args.envs and r["budget"] == steps[r["env"]]]
    table = summarise(rows)
    with (out / "exploration.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    md = markdown(table)
    (out / "exploration.md").write_text(md + "\n")
    print(md)
    print("figure:", figure(out, table, args.seeds[0]))


if __name__ == "__main__":
    main()
