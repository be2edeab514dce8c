"""The SLIM benchmark: one critic per reward channel (SLIM) against the same channels summed into one
critic and against plain METRA, on the planar tabletop.

    rlinfo sweep benchmarks/slim_tabletop.yaml
    python -m benchmarks.slim collect runs/slim_tabletop
        -> docs/results/slim_tabletop.csv        one row per run
           docs/results/slim_tabletop_paths.csv  the puck's path under each skill, seed 0 (the figure)
    python -m benchmarks.pages                   -> the table and figure in docs/benchmarks.md

Each finished run's final policy follows 16 evenly spaced unit skills z = (cos θ, sin θ), one
deterministic episode each, and is measured on the puck: **object bins**, the 0.05 m cells its paths
visit (all skills together); **moving skills**, the fraction of skills whose final displacement exceeds
0.05 m; **mean displacement**; and **safety cost**, Σ ``info["cost"]`` per episode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runs import (
    collect_main,
    finished_runs,
    merge_csv,
    read_csv,
    training_time,
    trial_name,
    write_csv,
)

RESULTS = Path("docs/results")
FIGURE = Path("docs/img/slim_tabletop_objects.png")
SPEC = "benchmarks/slim_tabletop.yaml"
METHODS = ("slim", "sum", "metra")
SKILLS = 16
CELL = 0.05  # m: the object-bin size
MOVE = 0.05  # m: the displacement a moving skill exceeds
PATH_SEED = 0
# (CSV column, table title) of the measured numbers, in the table's order
NUMBERS = (
    ("object_bins", "object bins"),
    ("moving_fraction", "moving skills"),
    ("mean_displacement", "mean displacement (m)"),
    ("cost_per_episode", "safety cost / episode"),
)
KEY = ("method", "seed")
COLUMNS = (*KEY, "steps", *(k for k, _ in NUMBERS), "wall_s", "machine", "date")
PATH_COLUMNS = ("method", "seed", "skill", "t", "x", "y")


# ----------------------------------------------------------------------------- measure
def rollouts(run_dir: Path, seed: int) -> dict[str, np.ndarray]:
    """One deterministic episode per skill: the puck's xy [K, T + 1, 2] (an episode ended early, the puck
    off the table, keeps its last position) and each episode's summed cost [K]."""
    import rlinfo
    from rlinfo.envs import make

    policy, env = rlinfo.load(run_dir).policy, make("tabletop")
    angles = 2 * np.pi * np.arange(SKILLS) / SKILLS
    skills = np.stack([np.cos(angles), np.sin(angles)], -1).astype(np.float32)
    paths, costs = [], []
    for k, z in enumerate(skills):
        obs, info = env.reset(seed=10_000 + seed * 100 + k)
        xy, cost, done = [info["object_xy"]], 0.0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.act(obs, skill=z))
            xy.append(info["object_xy"])
            cost += float(info["cost"])
            done = terminated or truncated
        xy += [xy[-1]] * (env.max_episode_steps + 1 - len(xy))
        paths.append(np.array(xy, dtype=np.float64))
        costs.append(cost)
    return {"xy": np.stack(paths), "cost": np.array(costs)}


def metrics(xy: np.ndarray, cost: np.ndarray) -> dict[str, float]:
    """The table's numbers from the puck's paths [K, T + 1, 2] and each episode's cost [K]."""
    cells = np.unique(np.floor(xy.reshape(-1, 2) / CELL).astype(np.int64), axis=0)
    displacement = np.linalg.norm(xy[:, -1] - xy[:, 0], axis=-1)
    return {
        "object_bins": float(len(cells)),
        "moving_fraction": float((displacement > MOVE).mean()),
        "mean_displacement": round(float(displacement.mean()), 6),
        "cost_per_episode": round(float(cost.mean()), 6),
    }


def method_of(run_dir: Path) -> str:
    """``slim_tabletop__seed=0`` -> ``slim``."""
    return trial_name(run_dir).removesuffix("_tabletop")


def collect(sweep_dirs: list[Path], out: Path = RESULTS) -> int:
    """Measure every finished run under ``sweep_dirs``; merge into slim_tabletop.csv and, for seed 0, the
    puck paths into slim_tabletop_paths.csv."""
    from tqdm import tqdm

    from benchmarks.machine import describe

    machine = describe()
    runs = list(finished_runs(sweep_dirs))
    new, paths = [], []
    for run_dir, cfg, result in tqdm(runs, desc="measuring runs", unit="run"):
        method, measured = method_of(run_dir), rollouts(run_dir, cfg.seed)
        wall_s, date = training_time(run_dir)
        new.append(
            {
                "method": method,
                "seed": cfg.seed,
                "steps": int(result["steps"]),
                **metrics(measured["xy"], measured["cost"]),
                "wall_s": wall_s,
                "machine": machine,
                "date": date,
            }
        )
        if cfg.seed == PATH_SEED:
            paths += [
                {
                    "method": method,
                    "seed": cfg.seed,
                    "skill": k,
                    "t": t,
                    "x": round(float(x), 4),
                    "y": round(float(y), 4),
                }
                for k, path in enumerate(measured["xy"])
                for t, (x, y) in enumerate(path)
            ]
    rows = merge_csv(out / "slim_tabletop.csv", COLUMNS, KEY, new, load(out))
    drawn = {r["method"] for r in paths}
    kept = [r for r in read_csv(out / "slim_tabletop_paths.csv") if r["method"] not in drawn]
    write_csv(out / "slim_tabletop_paths.csv", PATH_COLUMNS, kept + paths)
    print(f"{len(runs)} finished runs measured, {len(rows)} in {out / 'slim_tabletop.csv'}")
    return 0


def load(out: Path = RESULTS) -> list[dict[str, Any]]:
    floats = (*(k for k, _ in NUMBERS), "wall_s")
    return read_csv(out / "slim_tabletop.csv", ints=("seed", "steps"), floats=floats)


# ----------------------------------------------------------------------------- summarise
def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method (``METHODS`` order, then others): seeds, env steps, and each number's mean and sample
    std (ddof 1) over seeds."""
    table = []
    for m in sorted({r["method"] for r in rows}, key=lambda m: (METHODS + (m,)).index(m)):
        sel = [r for r in rows if r["method"] == m]
        row: dict[str, Any] = {"method": m, "seeds": len(sel), "steps": sel[0]["steps"]}
        for k, _ in NUMBERS:
            v = np.array([r[k] for r in sel], dtype=np.float64)
            row[k], row[f"{k}_std"] = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
        table.append(row)
    return table


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Per method: seeds, env steps and each number's mean ± std over seeds, then the per-seed values
    of object bins and safety cost (the claims are per seed)."""
    head = ["method", "env steps", "seeds", *(t for _, t in NUMBERS), "object bins per seed", "cost per seed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summarise(rows):
        cells = [f"{r[k]:.2f} ± {r[k + '_std']:.2f}" for k, _ in NUMBERS]
        sel = sorted((x for x in rows if x["method"] == r["method"]), key=lambda x: x["seed"])
        bins = ", ".join(f"{x['object_bins']:.0f}" for x in sel)
        cost = ", ".join(f"{x['cost_per_episode']:.1f}" for x in sel)
        numbers = " | ".join(cells)
        lines.append(f"| {r['method']} | {r['steps']:,} | {r['seeds']} | {numbers} | {bins} | {cost} |")
    return lines


def block(out: Path = RESULTS) -> list[str]:
    """The table of docs/benchmarks.md and its data line."""
    rows = load(out)
    if not rows:
        raise SystemExit(f"{out / 'slim_tabletop.csv'}: no runs collected (the commands: benchmarks/slim.py)")
    facts = "; ".join(sorted({f"{r['machine']}, {r['date']}" for r in rows}))
    return [
        *table(rows),
        "",
        "Mean ± std over seeds; per seed in seed order. Data: "
        "[docs/results/slim_tabletop.csv](results/slim_tabletop.csv) · "
        f"`rlinfo sweep {SPEC} && python -m benchmarks.slim collect runs/slim_tabletop` · {facts}.",
    ]


def figure(out: Path = RESULTS, path: Path = FIGURE) -> Path:
    """The puck's path under each of the 16 skills per method (seed 0), the table's outline dashed."""
    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure

    paths = read_csv(out / "slim_tabletop_paths.csv", ints=("seed", "skill", "t"), floats=("x", "y"))
    methods = [m for m in METHODS if any(r["method"] == m for r in paths)]
    fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.6), squeeze=False)
    colors = plt.cm.hsv(np.linspace(0, 1, SKILLS, endpoint=False))
    for ax, m in zip(axes[0], methods, strict=True):
        for k in range(SKILLS):
            pts = sorted((r["t"], r["x"], r["y"]) for r in paths if r["method"] == m and r["skill"] == k)
            xy = np.array([(x, y) for _, x, y in pts])
            if len(xy):
                ax.plot(xy[:, 0], xy[:, 1], color=colors[k], lw=1.2)
                ax.plot(xy[-1, 0], xy[-1, 1], "o", color=colors[k], ms=3)
        ax.add_patch(plt.Rectangle((-0.45, -0.05), 0.9, 0.65, fill=False, ls="--", color="gray"))
        ax.set(
            title=f"{m}: puck paths of 16 skills (seed {PATH_SEED})",
            xlim=(-0.55, 0.55),
            ylim=(-0.15, 0.7),
            aspect="equal",
            xlabel="puck x (m)",
            ylabel="puck y (m)",
        )
        ax.title.set_fontsize(9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    return collect_main(argv, __doc__ or "", collect, RESULTS)


if __name__ == "__main__":
    raise SystemExit(main())
