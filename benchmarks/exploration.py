"""The exploration benchmark: the state coverage that APT, RND, ICM, Disagreement and empowerment reach
alone, against uniformly random actions, on the tree maze and on MuJoCo Ant.

    rlinfo sweep benchmarks/exploration_maze.yaml && rlinfo sweep benchmarks/exploration_ant.yaml
    python -m benchmarks.exploration collect runs/exploration_maze runs/exploration_ant
        -> docs/results/exploration.csv     one row per run
           docs/results/exploration_xy.csv  the maze states seed 0 visited in training (thinned: the figure)
    python -m benchmarks.pages              -> the table and figure in docs/benchmarks.md

Each finished run is measured three ways, in 1×1 (x, y) cells (the maze: fraction of its free cells;
Ant: the cell count):

- **policy**: 48 rollouts of the trained *stochastic* policy, one episode each (these agents have no
  skills, so deterministic rollouts from one start are one path); the random trial takes uniformly
  random actions;
- **data**: every state in the replay buffer, i.e. what training visited (Ant's observations are
  normalised: their x, y are mapped back to world coordinates);
- **deterministic policy**: the run's own final evaluation (``eval.json``).
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
FIGURE = Path("docs/img/exploration_benchmark.png")
SPECS = ("benchmarks/exploration_maze.yaml", "benchmarks/exploration_ant.yaml")
METHODS = ("apt", "rnd", "icm", "disagreement", "empowerment", "random")
NUMBERS = ("policy_cells", "policy_coverage", "data_cells", "data_coverage", "det_policy_coverage")
KEY = ("env", "method", "seed")
COLUMNS = (*KEY, "steps", *NUMBERS, "wall_s", "machine", "date")
XY_COLUMNS = ("env", "method", "seed", "x", "y")
NUM_ROLLOUTS = 48
XY_POINTS = 1500  # training states per run kept for the figure
SCATTER_SEED = 0


# ----------------------------------------------------------------------------- measure
def buffer_xy(run_dir: Path, cfg: Any) -> np.ndarray:
    """The world (x, y) of every observation in the run's saved replay buffer, [N, 2]."""
    import json

    from rlinfo.buffer_chunks import CHUNK_FORMAT
    from rlinfo.checkpoint import latest_checkpoint, load_checkpoint, load_tensors
    from rlinfo.envs.normalize import EPS

    manifest = json.loads(load_checkpoint(latest_checkpoint(run_dir))["buffer"])
    folder = run_dir / "checkpoints" / "buffer"
    obs = [load_tensors(folder / name, CHUNK_FORMAT)["obs"][:, :2] for name in manifest["files"]]
    xy = np.concatenate([o.double().numpy() for o in obs])[: int(manifest["size"])]
    kwargs = cfg.env.kwargs
    if kwargs.get("normalize_obs"):  # ŝ = (s − μ) / (σ + ε)  ⇒  s = ŝ (σ + ε) + μ
        mean, std = np.asarray(kwargs["obs_mean"][:2]), np.asarray(kwargs["obs_std"][:2])
        xy = xy * (std + EPS) + mean
    return xy


def policy_xy(run_dir: Path, cfg: Any, random: bool) -> tuple[np.ndarray, Any]:
    """(x, y) of 48 stochastic-policy episodes [48, T + 1, 2] (uniform actions if ``random``), and the
    maze layout (None off a maze)."""
    import torch

    import rlinfo
    from rlinfo.envs import maze_layout
    from rlinfo.evaluation.coverage import rollout_xy
    from rlinfo.run.build import make_envs
    from rlinfo.run.evaluate import episode_length

    seed = cfg.seed + 10_000
    torch.manual_seed(seed)  # the stochastic policy's samples
    envs = make_envs(cfg, NUM_ROLLOUTS, seed)
    try:
        envs.action_space.seed(seed)
        if random:
            act = lambda obs, _z: envs.action_space.sample()  # noqa: E731
        else:
            policy = rlinfo.load(run_dir).policy
            act = lambda obs, _z: policy.act(obs, deterministic=False)  # noqa: E731
        skills = np.zeros((NUM_ROLLOUTS, 0), dtype=np.float32)
        return rollout_xy(envs, act, skills, episode_length(envs), seed), maze_layout(envs)
    finally:
        envs.close()


def measure(run_dir: Path, cfg: Any, result: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """A finished run's row (without machine) and its training states' (x, y)."""
    from rlinfo.evaluation import policy_state_coverage

    method = trial_name(run_dir)
    xy, layout = policy_xy(run_dir, cfg, random=method == "random")
    data = buffer_xy(run_dir, cfg)
    policy, seen = policy_state_coverage(xy, layout), policy_state_coverage(data.reshape(1, -1, 2), layout)
    wall_s, date = training_time(run_dir)
    row = {
        "env": cfg.env.name,
        "method": method,
        "seed": cfg.seed,
        "steps": int(result["steps"]),
        "policy_cells": policy["coverage_cells"],
        "policy_coverage": round(policy["coverage"], 6),
        "data_cells": seen["coverage_cells"],
        "data_coverage": round(seen["coverage"], 6),
        "det_policy_coverage": round(float(result["coverage"]), 6) if method != "random" else float("nan"),
        "wall_s": wall_s,
        "date": date,
    }
    return row, data


def collect(sweep_dirs: list[Path], out: Path = RESULTS) -> int:
    """Measure every finished run under ``sweep_dirs``; merge into exploration.csv and exploration_xy.csv."""
    from tqdm import tqdm

    from benchmarks.machine import describe

    machine = describe()
    runs = list(finished_runs(sweep_dirs))
    new, scatter = [], []
    for run_dir, cfg, result in tqdm(runs, desc="measuring runs", unit="run"):
        row, data = measure(run_dir, cfg, result)
        new.append({**row, "machine": machine})
        if cfg.env.name.startswith("maze") and cfg.seed == SCATTER_SEED:
            keep = np.random.default_rng(0).permutation(len(data))[:XY_POINTS]
            scatter += [
                {
                    "env": cfg.env.name,
                    "method": row["method"],
                    "seed": cfg.seed,
                    "x": round(float(x), 3),
                    "y": round(float(y), 3),
                }
                for x, y in data[keep]
            ]
    rows = merge_csv(out / "exploration.csv", COLUMNS, KEY, new, load(out))
    shown = {(r["env"], r["method"]) for r in scatter}
    kept = [r for r in read_csv(out / "exploration_xy.csv") if (r["env"], r["method"]) not in shown]
    write_csv(out / "exploration_xy.csv", XY_COLUMNS, kept + scatter)
    print(f"{len(runs)} finished runs measured, {len(rows)} in {out / 'exploration.csv'}")
    return 0


def load(out: Path = RESULTS) -> list[dict[str, Any]]:
    return read_csv(out / "exploration.csv", ints=("seed", "steps"), floats=(*NUMBERS, "wall_s"))


# ----------------------------------------------------------------------------- summarise
def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per env (maze first) and method (``METHODS`` order): seeds, env steps, the mean and sample std
    (ddof 1) over seeds of each coverage, the mean wall-clock, and the policy coverage as a multiple of
    random actions' mean."""
    table = []
    for env in sorted({r["env"] for r in rows}, key=lambda e: (not e.startswith("maze"), e)):
        here = [r for r in rows if r["env"] == env]
        base = [r["policy_coverage"] for r in here if r["method"] == "random"]
        for method in sorted({r["method"] for r in here}, key=lambda m: (METHODS + (m,)).index(m)):
            sel = [r for r in here if r["method"] == method]
            row: dict[str, Any] = {"env": env, "method": method, "seeds": len(sel), "steps": sel[0]["steps"]}
            for key in ("policy_coverage", "data_coverage", "det_policy_coverage"):
                v = np.array([r[key] for r in sel], dtype=np.float64)
                row[f"{key}_mean"] = float(v.mean())
                row[f"{key}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            row["vs_random"] = row["policy_coverage_mean"] / np.mean(base) if base else float("nan")
            row["wall_s"] = float(np.mean([r["wall_s"] for r in sel]))
            table.append(row)
    return table


def _pm(row: dict[str, Any], key: str, fmt: str) -> str:
    m, s = row[f"{key}_mean"], row[f"{key}_std"]
    return "—" if np.isnan(m) else f"{m:{fmt}} ± {s:{fmt}}"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Per env and method: coverage mean ± std over seeds (maze: fraction, 3 decimals; Ant: cells),
    the policy coverage against random actions', and the mean training wall-clock."""
    lines = [
        "| env | method | env steps | seeds | policy coverage (48 stochastic rollouts) | × random actions "
        "| data coverage (replay buffer) | deterministic policy | training (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summarise(rows):
        fmt = ".3f" if r["env"].startswith("maze") else ".1f"
        ratio = "—" if r["method"] == "random" or np.isnan(r["vs_random"]) else f"{r['vs_random']:.2f}"
        lines.append(
            f"| {r['env']} | {r['method']} | {r['steps']:,} | {r['seeds']} | "
            f"{_pm(r, 'policy_coverage', fmt)} | {ratio} | {_pm(r, 'data_coverage', fmt)} | "
            f"{_pm(r, 'det_policy_coverage', fmt)} | {r['wall_s']:.0f} |"
        )
    return lines


def block(out: Path = RESULTS) -> list[str]:
    """The table of docs/benchmarks.md and its data line."""
    rows = load(out)
    if not rows:
        where = out / "exploration.csv"
        raise SystemExit(f"{where}: no runs collected (the commands: benchmarks/exploration.py)")
    facts = "; ".join(sorted({f"{r['machine']}, {r['date']}" for r in rows}))
    return [
        *table(rows),
        "",
        "Mean ± std over seeds. Data: [docs/results/exploration.csv](results/exploration.csv) · "
        f"`rlinfo sweep {SPECS[0]}`, `rlinfo sweep {SPECS[1]}`, then "
        f"`python -m benchmarks.exploration collect runs/exploration_maze runs/exploration_ant` · {facts}.",
    ]


def figure(out: Path = RESULTS, path: Path = FIGURE) -> Path:
    """Coverage bars per env (policy and data, ± std over seeds) and the maze's training states of random
    actions and of the method whose data covered most (seed 0)."""
    from rlinfo.envs import make, maze_layout
    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure

    summary = summarise(load(out))
    envs = list(dict.fromkeys(r["env"] for r in summary))
    xy = read_csv(out / "exploration_xy.csv", ints=("seed",), floats=("x", "y"))
    maze = next((e for e in envs if e.startswith("maze")), None)
    trained = [r for r in summary if r["env"] == maze and r["method"] != "random"]
    shown = ["random", max(trained, key=lambda r: r["data_coverage_mean"])["method"]] if trained else []
    fig, axes = plt.subplots(
        1, len(envs) + len(shown), figsize=(4.4 * (len(envs) + len(shown)), 4.2), dpi=100
    )
    axes = np.atleast_1d(axes)
    for ax, env in zip(axes, envs, strict=False):
        rows = [r for r in summary if r["env"] == env]
        x = np.arange(len(rows))
        for i, (key, label) in enumerate(
            (("policy_coverage", "policy (stochastic)"), ("data_coverage", "data"))
        ):
            ax.bar(
                x + (i - 0.5) * 0.38,
                [r[f"{key}_mean"] for r in rows],
                0.38,
                yerr=[r[f"{key}_std"] for r in rows],
                label=label,
                capsize=3,
            )
        ax.set_xticks(x, [r["method"] for r in rows], rotation=30, fontsize=8)
        ax.set_ylabel("fraction of free 1×1 cells" if env.startswith("maze") else "visited 1×1 cells")
        ax.set_title(f"{env}: {rows[0]['steps']:,} env steps, {rows[0]['seeds']} seeds", fontsize=10)
        ax.legend(fontsize=8)
    if shown:
        layout = maze_layout(make(maze))
        for ax, method in zip(axes[len(envs) :], shown, strict=True):
            layout.draw(ax)
            pts = np.array([(r["x"], r["y"]) for r in xy if r["env"] == maze and r["method"] == method])
            if len(pts):
                ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.4, color="tab:blue")
            ax.set_title(f"{maze}: states visited in training, {method} (seed {SCATTER_SEED})", fontsize=9)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    return collect_main(argv, __doc__ or "", collect, RESULTS)


if __name__ == "__main__":
    raise SystemExit(main())
