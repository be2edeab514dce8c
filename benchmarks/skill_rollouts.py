"""What the skills of a sweep's runs do, as data: each finished run's evaluation rollouts.

    python -m benchmarks.skill_rollouts runs/ant_skills     -> docs/results/ant_skills_rollouts.csv
    python -m benchmarks.pages                              -> docs/img/ant_skills_rollouts.png

For every finished run of the sweep at ``--seed`` (default 0: one run per method), its latest checkpoint
repeats the final evaluation's rollouts exactly (``rlinfo.run.evaluate.collect_rollouts``: the same
envs, seeds, skills and deterministic actions; 48 rollouts of 200 steps on Ant). The CSV keeps each
rollout's skill and its x, y every ``EVERY`` steps and at its last step, to three decimals; the
figure draws one panel per method on shared axes, each rollout coloured by its skill as
``rlinfo train``'s skills figure does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runs import finished_runs, merge_csv, read_csv

RESULTS = Path("docs/results")
EVERY = 10  # env steps between the kept points of a rollout
KEY = ("method", "seed", "step", "rollout", "t")
COLUMNS = (*KEY, "x", "y", "skill", "discrete", "machine", "date")


def rollout_rows(run_dir: Path, every: int = EVERY) -> list[dict[str, Any]]:
    """The rows of one run: its final evaluation's rollouts from its latest checkpoint."""
    import torch

    import rlinfo
    from rlinfo.run.evaluate import collect_rollouts

    run = rlinfo.load(run_dir)
    agent = run.policy.agent
    r = collect_rollouts(run.config, agent, run.reward_module, torch.device("cpu"))
    steps = r.xy.shape[1]
    kept = sorted({*range(0, steps, every), steps - 1})
    run_key = {"method": run.config.reward.name, "seed": run.config.seed, "step": run.step}
    discrete = int(r.discrete)
    rows = []
    for i, (path, skill) in enumerate(zip(r.xy, r.skills.reshape(len(r.xy), -1), strict=True)):
        z = " ".join(f"{v:.4g}" for v in skill)
        for t in kept:
            x, y = (round(float(v), 3) for v in path[t])
            rows.append({**run_key, "rollout": i, "t": t, "x": x, "y": y, "skill": z, "discrete": discrete})
    return rows


def collect(sweep_dir: Path, out: Path, seed: int = 0) -> int:
    """The rollouts of every finished run at ``seed`` under ``sweep_dir``, merged into ``out``."""
    from benchmarks.machine import describe

    meta = {"machine": describe(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    runs = [run_dir for run_dir, cfg, _ in finished_runs([sweep_dir]) if cfg.seed == seed]
    new = [row | meta for run_dir in runs for row in rollout_rows(run_dir)]
    rows = merge_csv(out, COLUMNS, KEY, new, load(out))
    print(f"{len(runs)} runs' rollouts, {len(rows)} rows in {out}")
    return 0


def load(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, ints=("seed", "step", "rollout", "t", "discrete"), floats=("x", "y"))


Rollouts = tuple[int, int, np.ndarray, np.ndarray, bool]  # seed, env steps, xy, skills, discrete


def runs_of(rows: list[dict[str, Any]]) -> dict[str, Rollouts]:
    """method -> (seed, env steps, xy [rollouts, points, 2], skills [rollouts, d], discrete) of the CSV's
    rows (each method's latest step)."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        step = max(r["step"] for r in mine)
        mine = sorted((r for r in mine if r["step"] == step), key=lambda r: (r["rollout"], r["t"]))
        n = len({r["rollout"] for r in mine})
        xy = np.array([(r["x"], r["y"]) for r in mine]).reshape(n, -1, 2)
        firsts = [r for r in mine if r["t"] == 0]
        skills = np.array([[float(v) for v in r["skill"].split()] for r in firsts]).reshape(n, -1)
        out[method] = (mine[0]["seed"], step, xy, skills, bool(firsts[0]["discrete"]))
    return out


def figure(path: Path, image: Path, order: tuple[str, ...] = ()) -> Path:
    """One panel per method, all with the same square window: its rollouts in the plane, coloured by skill."""
    from rlinfo.evaluation.plots import draw_skills, plt
    from rlinfo.files import save_figure

    runs = runs_of(load(path))
    methods = sorted(runs, key=lambda m: (order.index(m) if m in order else len(order), m))
    ncol = min(3, len(methods))
    nrow = -(-len(methods) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 4.6 * nrow), squeeze=False)
    points = np.concatenate([xy.reshape(-1, 2) for _, _, xy, _, _ in runs.values()])
    centre, half = (points.max(0) + points.min(0)) / 2, 0.55 * np.ptp(points, axis=0).max() + 1.0
    for ax, method in zip(axes.flat, methods, strict=False):
        seed, step, xy, skills, discrete = runs[method]
        draw_skills(fig, ax, xy, skills, discrete)
        ax.set_aspect("equal", adjustable="box")  # the same square window in every panel
        ax.set(xlim=(centre[0] - half, centre[0] + half), ylim=(centre[1] - half, centre[1] + half))
        ax.set_title(f"{method}, seed {seed}, {step:,} env steps ({len(xy)} rollouts)", fontsize=9)
    for ax in axes.flat[len(methods) :]:
        ax.axis("off")
    fig.suptitle("the final evaluation's rollouts: torso x, y; each coloured by its skill; ★ start, ● end",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, image, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, help="default: docs/results/<sweep folder name>_rollouts.csv")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return collect(args.sweep_dir, args.out or RESULTS / f"{args.sweep_dir.name}_rollouts.csv", args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
