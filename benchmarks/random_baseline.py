"""Uniformly random actions, measured by the evaluation code every run uses, with fixed seeds: the floor a
skill method must clear. Ant and HalfCheetah: 48 rollouts of 200 steps (``metra_<env>``'s evaluation),
coverage cells and upright fraction; mazes (``maze:square``, ``maze:tree``, ``maze:corridor``): 48
rollouts of the maze's episode length (``metra_maze``'s evaluation), coverage as a fraction of the free
cells.

    python -m benchmarks.random_baseline                         # ant and half_cheetah, seeds 0-2
    python -m benchmarks.random_baseline --envs maze:tree maze:corridor
    -> docs/results/random_baseline.csv (env, seed, metric, value, machine, date); rows of the envs and
       seeds measured replace their earlier rows, the others are kept
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from benchmarks.machine import describe

OUT = Path("docs/results/random_baseline.csv")
METRICS = ("coverage_cells", "upright_fraction", "displacement_mean")
MAZE_METRICS = ("coverage", "coverage_cells", "displacement_mean")


def measure(env: str, seed: int) -> dict[str, float]:
    """The evaluation's metrics for random actions on ``env`` (``metra_<env>``'s evaluation, mazes
    ``metra_maze``'s)."""
    import torch

    from rlinfo.config import load_config
    from rlinfo.evaluation import policy_state_coverage, upright_fraction
    from rlinfo.evaluation.alignment import rollout_diagnostics
    from rlinfo.run.evaluate import collect_rollouts

    torch.set_num_threads(1)
    maze = env.startswith("maze:")
    cfg = load_config("metra_maze" if maze else f"metra_{env}", [f"seed={seed}", f"env.name={env}"])
    r = collect_rollouts(cfg, agent=None, reward_module=None, device=torch.device("cpu"), random=True)
    out = policy_state_coverage(r.xy, r.layout) | rollout_diagnostics(r.xy, r.skills, r.discrete)
    if r.upright is not None:
        out["upright_fraction"] = upright_fraction(r.upright)
    return {k: float(out[k]) for k in (MAZE_METRICS if maze else METRICS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["ant", "half_cheetah"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    machine, date = describe(), time.strftime("%Y-%m-%d")
    measured = {(env, seed) for env in args.envs for seed in args.seeds}
    rows = []
    if args.out.is_file():
        with args.out.open(encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if (r["env"], int(r["seed"])) not in measured]
    for env in args.envs:
        for seed in args.seeds:
            for metric, value in measure(env, seed).items():
                rows.append({"env": env, "seed": seed, "metric": metric, "value": value,
                             "machine": machine, "date": date})  # fmt: skip
                print(f"{env:13s} seed {seed}  {metric:18s} {value:.4g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from rlinfo.files import atomic_path

    with atomic_path(args.out) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["env", "seed", "metric", "value", "machine", "date"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
