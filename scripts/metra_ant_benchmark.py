"""METRA on MuJoCo Ant: throughput and policy state coverage after a short budget.

Two measurements, both in this one process on this machine:

1. METRA (configs/metra_ant.yaml) trained for ``--steps`` env steps (default 20,000): env steps
   per second over the whole run, and METRA's policy state coverage (48 deterministic 200-step
   rollouts with random skills; distinct 1x1 (x, y) cells), against a uniform random policy.
2. Backbone speed ratio: rlinfo's SAC against stable-baselines3's SAC on the same Ant env with
   identical hyperparameters (one env, update-to-data ratio 1, batch 256, two 256-unit layers,
   lr 3e-4, learning starts 1,000), ``--sac-steps`` env steps each (steps per second over the whole
   training call), one CPU thread each, alternating over ``--rounds`` rounds (the timing harness,
   ``benchmarks/timing.py``): median and range, and the ratio with its range over rounds.

    python scripts/metra_ant_benchmark.py

Prints a Markdown table and writes <out>/metra_ant.csv, .md and skills figure metra_ant.png.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

import torch

from rlinfo.config import load_config
from rlinfo.evaluation import plot_skills, policy_state_coverage
from rlinfo.run.evaluate import collect_rollouts
from rlinfo.run.loop import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the timing harness)
from speed_benchmark import RATE, sac_trainer, sb3_sac  # noqa: E402  (this script's folder)

from benchmarks import timing  # noqa: E402

LEARNING_STARTS = 1000


def metra_run(steps: int, seed: int, out: Path) -> list[dict[str, Any]]:
    cfg = load_config("metra_ant", [f"total_steps={steps}", f"seed={seed}", "train.progress=true"])
    trainer = Trainer(cfg)
    wall = timing.clock(trainer.train)
    learned = collect_rollouts(cfg, trainer.agent, trainer.reward_module, trainer.device)
    random = collect_rollouts(cfg, trainer.agent, trainer.reward_module, trainer.device, random=True)
    plot_skills(
        learned.xy,
        learned.skills,
        out / "metra_ant.png",
        title=f"METRA on Ant after {trainer.global_step} steps",
    )
    return [
        {"what": "METRA on Ant (train + final eval)", "steps": trainer.global_step, "wall_s": wall,
         "median": trainer.global_step / wall, **policy_state_coverage(learned.xy)},
        {"what": "uniform random policy", "steps": 0, "wall_s": 0.0, "median": float("nan"),
         **policy_state_coverage(random.xy)},
    ]  # fmt: skip


def rlinfo_sac_sps(steps: int, seed: int) -> float:
    """rlinfo's SAC (the sac_half_cheetah preset on Ant) over the whole training call."""
    starts = min(LEARNING_STARTS, steps)
    trainer = sac_trainer(1, steps - starts, starts, extra=("env.name=ant", f"seed={seed}"))
    return steps / timing.clock(trainer.train, final_evaluation=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20_000, help="METRA env steps")
    parser.add_argument("--sac-steps", type=int, default=3_000, help="env steps of each SAC speed run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the SAC speed runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="", help='said after the machine in the CSV, e.g. "shared machine"')
    parser.add_argument("--out", default="bench_out/ant")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = metra_run(args.steps, args.seed, out)
    starts = min(LEARNING_STARTS, args.sac_steps)
    names = {"rlinfo": "rlinfo SAC, Ant, UTD 1", "SB3": "stable-baselines3 SAC, Ant, UTD 1"}
    sb3 = partial(sb3_sac, 1, args.sac_steps - starts, starts, env="ant", seed=args.seed)
    contenders = {names["rlinfo"]: partial(rlinfo_sac_sps, args.sac_steps, args.seed),
                  names["SB3"]: lambda: sb3()[f"{RATE}, whole run"]}  # fmt: skip
    runs = timing.measure(contenders, args.rounds, name=RATE)
    rows += [{"what": r["contender"], "steps": args.sac_steps, **r} for r in timing.summary(runs)]
    ratio = timing.ratio(runs, names["rlinfo"], names["SB3"], RATE)
    rows.append({"what": "rlinfo SAC / SB3 SAC", "steps": args.sac_steps, **ratio})
    cells = {"run": "what", "env steps": "steps", "steps/s, median (min–max)": timing.spread_cell}
    md = timing.markdown(rows, {**cells, "coverage (cells)": "coverage_cells"})
    print(md)
    (out / "metra_ant.md").write_text(md + "\n")
    keep = ("what", "steps", "wall_s", "median", "min", "max", "rounds", "coverage_cells", "coverage")
    timing.write_csv(out / "metra_ant.csv", [{k: r.get(k, "") for k in keep} for r in rows], note=args.note)


if __name__ == "__main__":
    main()
