"""METRA on MuJoCo Ant: throughput and policy state coverage after a short budget.

Two measurements, both in this one process on this machine:

1. METRA (configs/metra_ant.yaml) trained for ``--steps`` env steps (default 20,000): env steps
   per second over the whole run, and METRA's policy state coverage (48 deterministic 200-step
   rollouts with random skills; distinct 1x1 (x, y) cells), against a uniform random policy.
2. Backbone speed ratio: rlinfo's SAC against stable-baselines3's SAC on the same Ant env with
   identical hyperparameters (one env, update-to-data ratio 1, batch 256, two 256-unit layers,
   lr 3e-4, learning starts 1,000), ``--sac-steps`` env steps each, one CPU thread each.

    python scripts/metra_ant_benchmark.py

Prints a Markdown table and writes <out>/metra_ant.csv, .md and skills figure metra_ant.png.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import torch

from rlinfo.config import load_config
from rlinfo.evaluation import plot_skills, policy_state_coverage
from rlinfo.run.evaluate import collect_rollouts
from rlinfo.run.loop import Trainer

SAC_HPARAMS = {"hidden": 256, "batch": 256, "lr": 3e-4, "learning_starts": 1000, "gamma": 0.99, "tau": 5e-3}


def metra_run(steps: int, seed: int, out: Path) -> list[dict[str, Any]]:
    cfg = load_config("metra_ant", [f"total_steps={steps}", f"seed={seed}", "train.progress=true"])
    trainer = Trainer(cfg)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
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
         "sps": trainer.global_step / wall, **policy_state_coverage(learned.xy)},
        {"what": "uniform random policy", "steps": 0, "wall_s": 0.0, "sps": float("nan"),
         **policy_state_coverage(random.xy)},
    ]  # fmt: skip


def rlinfo_sac_sps(steps: int, seed: int) -> float:
    h = SAC_HPARAMS
    cfg = load_config(
        "sac_half_cheetah",
        [
            "env.name=ant", f"total_steps={steps}", f"seed={seed}", "train.progress=false",
            f"agent.hidden_dim={h['hidden']}", f"agent.batch_size={h['batch']}", f"agent.lr={h['lr']}",
            f"train.learning_starts={h['learning_starts']}", "agent.alpha_init=1.0", "eval.num_rollouts=1",
            "eval.max_steps=1", "eval.figure=false", "train.log_every=1000000",
        ],
    )  # fmt: skip
    trainer = Trainer(cfg)
    start = time.perf_counter()
    trainer.train()
    return trainer.global_step / (time.perf_counter() - start)


def sb3_sac_sps(steps: int, seed: int) -> float:
    from stable_baselines3 import SAC as SB3SAC

    from rlinfo.envs import make

    h = SAC_HPARAMS
    model = SB3SAC(
        "MlpPolicy", make("ant"), learning_rate=h["lr"], buffer_size=steps,
        learning_starts=h["learning_starts"], batch_size=h["batch"], tau=h["tau"], gamma=h["gamma"],
        train_freq=1, gradient_steps=1,
        policy_kwargs={"net_arch": [h["hidden"], h["hidden"]]}, seed=seed, device="cpu", verbose=0,
    )  # fmt: skip
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20_000, help="METRA env steps")
    parser.add_argument("--sac-steps", type=int, default=3_000, help="env steps of each SAC speed run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench_out/ant")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = metra_run(args.steps, args.seed, out)
    ours, peer = rlinfo_sac_sps(args.sac_steps, args.seed), sb3_sac_sps(args.sac_steps, args.seed)
    rows.append({"what": "rlinfo SAC, Ant, UTD 1", "steps": args.sac_steps, "sps": ours})
    rows.append({"what": "stable-baselines3 SAC, Ant, UTD 1", "steps": args.sac_steps, "sps": peer})
    lines = ["| run | env steps | steps/s | coverage (cells) |", "|---|---|---|---|"]
    for r in rows:
        cov = f"{r['coverage_cells']:.0f}" if "coverage_cells" in r else ""
        lines.append(f"| {r['what']} | {r['steps']} | {r['sps']:.1f} | {cov} |")
    lines.append(f"\nrlinfo SAC / SB3 SAC steps-per-second ratio: **{ours / peer:.2f}x**")
    md = "\n".join(lines)
    print(md)
    (out / "metra_ant.md").write_text(md + "\n")
    with (out / "metra_ant.csv").open("w", newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=["what", "steps", "wall_s", "sps", "coverage_cells", "coverage"]
        )
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in writer.fieldnames})


if __name__ == "__main__":
    main()
