"""Long-run locomotion benchmark: skill methods on Ant and HalfCheetah, curves against steps and time.

Every (method, env, seed) is one ``rlinfo train <method>_<env>`` subprocess with periodic evaluation
(``train.eval_every``: METRA's policy state coverage, plus whatever else the evaluation reports,
e.g. zero-shot goal success ``EndSuccess3``); its run directory is ``<out>/runs/<method>_<env>_s<seed>``.
The curves are read back from the runs' TensorBoard ``eval/*`` scalars (and the final ``eval.json``),
against env steps AND training wall-clock (the time of each eval since its process started, summed
over resumed segments, so a pause between segments does not count).

Resumable: a run whose ``eval.json`` reports ``--steps`` steps is skipped, a run directory with a
checkpoint is continued with ``rlinfo train --resume RUN_DIR total_steps=<steps>``, anything else
starts fresh. Kill the script (or the machine) at any time and run the same command again.

    python scripts/locomotion_benchmark.py --methods metra lsd --envs ant --steps 600000 --seeds 0
    python scripts/locomotion_benchmark.py --device cuda --steps 5000000 --threads 0   # a GPU machine
    python scripts/locomotion_benchmark.py --report-only                             # tables from runs

Writes <out>/locomotion.csv (long format: method, env, seed, step, wall_s, metric, value),
<out>/locomotion.md (final numbers per method and env, mean over seeds, with the uniformly random
policy's coverage for reference) and <out>/locomotion.png (coverage against steps and wall-clock), drawn by
benchmarks/locomotion.py, which also draws them from docs/results/locomotion_benchmark.csv
(``python -m benchmarks.pages``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the tables and the figure)
from benchmarks.locomotion import figure, final_table, markdown  # noqa: E402

METHODS = ("metra", "lsd", "csf", "diayn", "dads", "cic")
ENVS = ("ant", "half_cheetah")


def default_rlinfo() -> list[str]:
    """The ``rlinfo`` console script of this interpreter's environment (else ``rlinfo`` on PATH)."""
    script = Path(sys.executable).parent / "rlinfo"
    return [str(script)] if script.exists() else ["rlinfo"]


def run_dir(out: Path, method: str, env: str, seed: int) -> Path:
    return out / "runs" / f"{method}_{env}_s{seed}"


def finished_steps(path: Path) -> int:
    """Steps recorded in the run's final ``eval.json`` (0 if there is none)."""
    try:
        return int(json.loads((path / "eval.json").read_text()).get("steps", 0))
    except (OSError, ValueError):
        return 0


def has_checkpoint(path: Path) -> bool:
    return (path / "checkpoints").is_dir() and any((path / "checkpoints").iterdir())


def train_command(args: argparse.Namespace, method: str, env: str, seed: int) -> list[str] | None:
    """The command that brings this run to ``args.steps`` steps, or None if it is already there."""
    path = run_dir(args.out, method, env, seed)
    if finished_steps(path) >= args.steps:
        return None
    common = [f"total_steps={args.steps}"]
    if has_checkpoint(path):
        return [*args.rlinfo, "train", "--resume", str(path), *common]
    eval_every = args.eval_every or max(1, args.steps // 10)
    return [
        *args.rlinfo, "train", f"{method}_{env}", *common, f"seed={seed}", f"device={args.device}",
        f"train.threads={args.threads}", f"train.eval_every={eval_every}",
        f"train.checkpoint_every={eval_every}", "train.progress=false",
        f"run_root={path.parent}", f"run_name={path.name}", *args.override,
    ]  # fmt: skip


def run_all(args: argparse.Namespace) -> None:
    """Run (or resume) every (method, env, seed) in turn; each subprocess logs to <run>.log."""
    for env in args.envs:
        for method in args.methods:
            for seed in args.seeds:
                cmd = train_command(args, method, env, seed)
                name = run_dir(args.out, method, env, seed).name
                if cmd is None:
                    print(f"[done] {name}")
                    continue
                print(f"[run] {shlex.join(cmd)}", flush=True)
                if args.dry_run:
                    continue
                log = args.out / "runs" / f"{name}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                start = time.time()
                with log.open("a") as f:
                    code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
                print(f"[exit {code}] {name} after {time.time() - start:.0f} s (log {log})", flush=True)
                write_report(args)  # results land as each run finishes


# ----------------------------------------------------------------------------- reading results
def eval_curve(path: Path) -> list[dict[str, Any]]:
    """Rows (step, wall_s, metric, value) of every ``eval/*`` scalar of a run directory.

    wall_s: training wall-clock at the eval, the sum over the run's event files (one per process
    segment: the first run and each resume) of the time since that file's first event.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rows: list[dict[str, Any]] = []
    offset = 0.0
    for events in sorted(path.glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        tags = acc.Tags().get("scalars", [])
        if not tags:
            continue
        start = min(acc.Scalars(t)[0].wall_time for t in tags)
        end = max(acc.Scalars(t)[-1].wall_time for t in tags)
        for tag in (t for t in tags if t.startswith("eval/")):
            for e in acc.Scalars(tag):
                rows.append({"step": e.step, "wall_s": offset + e.wall_time - start, "metric": tag[5:],
                             "value": float(e.value)})  # fmt: skip
        offset += end - start
    return rows


def random_coverage(env: str, seed: int = 10_000, num_rollouts: int = 48) -> float:
    """Coverage (cells) of ``num_rollouts`` 200-step rollouts of uniformly random actions."""
    from rlinfo.envs import make_vec
    from rlinfo.evaluation import policy_state_coverage, rollout_xy

    envs = make_vec(env, num_rollouts, seed=seed)
    try:
        xy = rollout_xy(
            envs, lambda obs, z: envs.action_space.sample(), np.zeros((num_rollouts, 0)), 200, seed
        )
    finally:
        envs.close()
    return policy_state_coverage(xy)["coverage_cells"]


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for env in args.envs:
        for method in args.methods:
            for seed in args.seeds:
                path = run_dir(args.out, method, env, seed)
                if path.is_dir():
                    rows += [{"method": method, "env": env, "seed": seed, **r} for r in eval_curve(path)]
    return rows


def write_report(args: argparse.Namespace) -> list[dict[str, Any]]:
    """CSV, Markdown table and figure from whatever the run directories hold now."""
    rows = collect(args)
    baselines = {}
    if not args.no_random:
        cache = args.out / "random_coverage.json"
        known = json.loads(cache.read_text()) if cache.exists() else {}
        for env in args.envs:
            if env not in known:
                known[env] = random_coverage(env)
        args.out.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=1) + "\n")
        baselines = {e: known[e] for e in args.envs}
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "locomotion.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["method", "env", "seed", "step", "wall_s", "metric", "value"])
        writer.writeheader()
        writer.writerows(
            sorted(rows, key=lambda r: (r["env"], r["method"], r["seed"], r["metric"], r["step"]))
        )
    table = final_table(rows, baselines)
    md = markdown(table) if table else "(no evaluations yet)"
    (args.out / "locomotion.md").write_text(md + "\n")
    figure(rows, baselines, list(args.envs), args.out / "locomotion.png")
    print(md, flush=True)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--envs", nargs="+", default=list(ENVS), choices=ENVS)
    p.add_argument("--steps", type=int, default=600_000, help="env steps per run")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--eval-every", type=int, default=0, help="env steps between evaluations (0: steps/10)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=1, help="train.threads (torch CPU threads; 0: default)")
    p.add_argument("--out", type=Path, default=Path("bench_out/locomotion"))
    p.add_argument(
        "--rlinfo", type=shlex.split, default=None, help='the rlinfo command (e.g. "python -m ...")'
    )
    p.add_argument("--override", nargs="*", default=[], help="extra key=value overrides for new runs")
    p.add_argument("--report-only", action="store_true", help="only rebuild CSV, table and figure")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--no-random", action="store_true", help="skip the random-action coverage baseline")
    args = p.parse_args(argv)
    args.rlinfo = args.rlinfo or default_rlinfo()
    if args.steps < 1:
        p.error(f"--steps must be >= 1, got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(args.threads, 1)))
    if not args.report_only:
        run_all(args)
    write_report(args)


if __name__ == "__main__":
    main()
