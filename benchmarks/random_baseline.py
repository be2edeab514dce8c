"""Uniformly random actions, measured by the evaluation code every run uses (48 rollouts of 200 steps,
coverage cells and upright fraction), with fixed seeds: the floor a skill method must clear.

    python -m benchmarks.random_baseline            # ant and half_cheetah, seeds 0-2
    -> docs/results/random_baseline.csv (env, seed, metric, value, machine, date)
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from benchmarks.machine import describe

OUT = Path("docs/results/random_baseline.csv")
METRICS = ("coverage_cells", "upright_fraction", "displacement_mean")


def measure(env: str, seed: int) -> dict[str, float]:
    """The evaluation's metrics for random actions on ``env`` (the ``metra_<env>`` preset's evaluation)."""
    import torch

    from rlinfo.config import load_config
    from rlinfo.evaluation import policy_state_coverage, upright_fraction
    from rlinfo.evaluation.alignment import rollout_diagnostics
    from rlinfo.run.evaluate import collect_rollouts

    torch.set_num_threads(1)
    cfg = load_config(f"metra_{env}", [f"seed={seed}"])
    r = collect_rollouts(cfg, agent=None, reward_module=None, device=torch.device("cpu"), random=True)
    out = policy_state_coverage(r.xy, r.layout) | rollout_diagnostics(r.xy, r.skills, r.discrete)
    out["upright_fraction"] = upright_fraction(r.upright)
    return {k: float(out[k]) for k in METRICS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["ant", "half_cheetah"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    machine, date = describe(), time.strftime("%Y-%m-%d")
    rows = []
    for env in args.envs:
        for seed in args.seeds:
            for metric, value in measure(env, seed).items():
                rows.append({"env": env, "seed": seed, "metric": metric, "value": value,
                             "machine": machine, "date": date})  # fmt: skip
                print(f"{env:13s} seed {seed}  {metric:18s} {value:.4g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
