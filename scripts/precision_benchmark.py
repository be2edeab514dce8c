"""Does ``train.precision=bfloat16`` learn as well as float32? Learning curves of both, same seeds.

1. SAC on half_cheetah, if ``--sac-sweep DIR`` names the folder of ``rlinfo sweep
   benchmarks/precision_sac.yaml`` (the ``sac_half_cheetah`` preset in float32 and bfloat16): each
   finished run's episodic return against env steps;
2. METRA on Ant, if ``--metra-runs NAME=RUN_DIR ...`` names finished or running ``metra_ant`` runs
   (NAME the precision; the seed is read from the run's config.yaml): their policy state coverage
   (``eval/coverage_cells``) against env steps (the table's wall-clock includes any time a run was
   paused; scripts/speed_benchmark.py measures throughput).

3. with ``--reward-rounding RUN_DIR``: how far bfloat16 moves a trained skill method's reward on
   transitions of its own policy (8 episodes, stochastic actions): mean |r_bf16 − r_float32| with
   ``train.precision=bfloat16`` (hidden layers in bfloat16, first and last layers float32) and with
   every layer in bfloat16 (the alternative rule), against the reward's own spread.

Curves are read back from the runs' TensorBoard scalars; the runs themselves are ``rlinfo sweep`` /
``rlinfo train`` runs (resumable as any run).

    rlinfo sweep benchmarks/precision_sac.yaml
    python scripts/precision_benchmark.py --sac-sweep runs/precision_sac \\
        --metra-runs float32=bench_out/locomotion/runs/metra_ant_s0 \\
                     bfloat16=bench_out/precision/metra_ant_bf16_s0 \\
                     bfloat16=bench_out/precision/metra_ant_bf16_s1 \\
        --reward-rounding bench_out/locomotion/runs/metra_ant_s0

Writes <out>/precision.csv (long format: experiment, variant, seed, step, wall_s, value),
<out>/precision.md (final numbers) and <out>/precision.png (default out: bench_out/precision).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the figure)
from benchmarks import speed_tables  # noqa: E402


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float, float]]:
    """(step, wall seconds since the run's first logged step, value) of a TensorBoard scalar."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    if tag not in events.Tags()["scalars"]:
        return []
    points = events.Scalars(tag)
    clock = "charts/sps" if "charts/sps" in events.Tags()["scalars"] else tag  # logged from the run's start
    start = min(p.wall_time for p in events.Scalars(clock))
    return [(p.step, p.wall_time - start, p.value) for p in points]


@contextmanager
def every_layer_in_bfloat16() -> Iterator[None]:
    """``MLP.forward`` as rlinfo had it before the first and last layers stayed float32."""
    import torch
    from torch import nn

    from rlinfo.nn import MLP

    def forward(self: MLP, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, cache_enabled=False):
            return nn.Sequential.forward(self, x).float()

    kept = MLP.forward
    MLP.forward = forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        MLP.forward = kept  # type: ignore[method-assign]


def reward_rounding(run_dir: Path, episodes: int = 8) -> dict[str, float]:
    """Mean |r_bf16 − r_float32| of a trained skill run's reward on transitions of its own policy."""
    import numpy as np
    import torch

    import rlinfo
    from rlinfo.envs import make
    from rlinfo.nn import compute_dtype
    from rlinfo.types import Batch

    torch.manual_seed(0)
    run = rlinfo.load(run_dir)
    if run.skill_space is None or run.reward_module is None:
        raise SystemExit(f"--reward-rounding needs a skill method's run; {run_dir} has none")
    env = make(run.config.env.name, **run.config.env.kwargs)
    obs_rows, next_rows, skill_rows = [], [], []
    for episode in range(episodes):
        z = run.skill_space.sample(1)[0]
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            action = run.policy.act(obs, skill=z, deterministic=False)
            next_obs, _, terminated, truncated, _ = env.step(action)
            obs_rows.append(obs)
            next_rows.append(next_obs)
            skill_rows.append(np.asarray(z))
            obs, done = next_obs, terminated or truncated
    env.close()
    n = len(obs_rows)
    batch = Batch(obs=torch.tensor(np.array(obs_rows), dtype=torch.float32), action=torch.zeros(n, 1),
                  next_obs=torch.tensor(np.array(next_rows), dtype=torch.float32),
                  terminated=torch.zeros(n, dtype=torch.bool),
                  skill=torch.tensor(np.array(skill_rows), dtype=torch.float32))  # fmt: skip
    module = run.reward_module
    with torch.no_grad():
        exact = module.reward(batch)
        with compute_dtype(torch.bfloat16):
            hidden = module.reward(batch)
            with every_layer_in_bfloat16():
                every = module.reward(batch)
    return {
        "transitions": n,
        "step": run.step,
        "reward mean": float(exact.mean()),
        "reward std": float(exact.std()),
        "error, every layer bfloat16": float((every - exact).abs().mean()),
        "error, hidden layers bfloat16": float((hidden - exact).abs().mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sac-sweep", type=Path, help="the runs of benchmarks/precision_sac.yaml")
    parser.add_argument("--metra-runs", nargs="*", default=[], help="NAME=RUN_DIR of metra_ant runs")
    parser.add_argument("--reward-rounding", type=Path, nargs="*", default=[], help="skill runs to score")
    parser.add_argument("--out", type=Path, default=Path("bench_out/precision"))
    args = parser.parse_args()
    rounding = {run_dir: reward_rounding(run_dir) for run_dir in args.reward_rounding}
    rows: list[dict[str, Any]] = []
    sac_runs = sorted(p.parent for p in args.sac_sweep.glob("*/eval.json")) if args.sac_sweep else []
    for run_dir in sac_runs:  # finished runs, in name order
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        precision, seed = config["train"]["precision"], int(config["seed"])
        for step, wall, value in scalars(run_dir, "charts/episodic_return"):
            rows.append({"experiment": "sac_half_cheetah episodic_return", "variant": precision,
                         "seed": seed, "step": step, "wall_s": wall, "value": value})  # fmt: skip
    for item in args.metra_runs:
        name, _, path = item.partition("=")
        seed = int(yaml.safe_load((Path(path) / "config.yaml").read_text()).get("seed", 0))
        for step, wall, value in scalars(Path(path), "eval/coverage_cells"):
            rows.append({"experiment": "metra_ant coverage_cells", "variant": name, "seed": seed,
                         "step": step, "wall_s": wall, "value": value})  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(args.out / "precision.csv", "w", newline="") as f:
            columns = ["experiment", "variant", "seed", "step", "wall_s", "value"]
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    if rounding:  # one row per scored run: docs/results/precision_rounding.csv
        with open(args.out / "precision_rounding.csv", "w", newline="") as f:
            fields = ["run", *next(iter(rounding.values()))]
            writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows({"run": str(run_dir), **measured} for run_dir, measured in rounding.items())
    lines = ["| experiment | variant | seeds | last step | final value (per seed) | mean of the last 5 logs "
             "| wall (min) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for experiment in dict.fromkeys(r["experiment"] for r in rows):
        for variant in dict.fromkeys(r["variant"] for r in rows if r["experiment"] == experiment):
            mine = [r for r in rows if r["experiment"] == experiment and r["variant"] == variant]
            seeds = sorted({r["seed"] for r in mine})
            per_seed = [[r for r in mine if r["seed"] == s] for s in seeds]
            finals = ", ".join(f"{runs[-1]['value']:.4g}" for runs in per_seed)
            tail = statistics.mean(statistics.mean(r["value"] for r in runs[-5:]) for runs in per_seed)
            wall = statistics.mean(runs[-1]["wall_s"] for runs in per_seed) / 60
            last = per_seed[0][-1]["step"]
            lines.append(
                f"| {experiment} | {variant} | {len(seeds)} | {last} | {finals} | {tail:.4g} | {wall:.1f} |"
            )
    for run_dir, measured in rounding.items():
        lines += ["", f"reward rounding of {run_dir} (mean over its policy's transitions):", "",
                  "| measure | value |", "|---|---|"]  # fmt: skip
        lines += [f"| {k} | {v:.4g} |" for k, v in measured.items()]
    text = "\n".join(lines)
    (args.out / "precision.md").write_text(text + "\n")
    print(text)
    if rows:
        speed_tables.precision_figure(rows, args.out / "precision.png")


if __name__ == "__main__":
    main()
