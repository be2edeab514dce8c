"""Where one step of SAC at UTD 1 spends its time on the CPU, and what compiling the update would buy.

The ``sac_half_cheetah`` preset (one env, batch 256, two 256-unit layers), in float32 and with
``train.precision=bfloat16``, at ``--threads`` torch threads:

1. ``step``: the training loop's own ``collect`` (act, env step, store the transition) and update,
   after learning starts: milliseconds per env step, ``--steps`` env steps per precision in
   ``--rounds`` blocks, the precisions alternating in this process.
   The update's share of matrix multiplies, of Adam (``step`` and ``zero_grad``) and of everything
   else comes from the torch profiler over ``--profile-updates`` further updates (self CPU times;
   shares of the profiled total, applied to the unprofiled update time), with the number of
   dispatched aten ops per update;
2. ``cold``: ``collect``'s time right after other work, all alternating in one loop: back to back,
   after an update, after adding 1 to a 16 MB array, and after walking 200,000 Python dicts. The
   same collect costs twice as much after an update: the update evicts its code and data from the
   caches;
3. ``compile``: the critic's loss and its backward pass (the biggest part of the update), eager
   against ``torch.compile`` (inductor, static shapes), alternating in one process over ``--rounds``
   rounds of 200 calls (needs a C++ compiler).

    python scripts/overhead_benchmark.py                  # about 3 minutes on a 2-core CPU
    python scripts/overhead_benchmark.py --steps 300 --rounds 2 --no-compile

Writes <out>/overhead.csv, overhead.md and overhead.png (default out: bench_out/overhead_benchmark).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

PRECISIONS = ("float32", "bfloat16")
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
ADAM = ("Optimizer.step#Adam.step", "Optimizer.zero_grad#Adam.zero_grad")  # their total CPU times


def trained(precision: str, threads: int, learning_starts: int = 1000, warm_steps: int = 200) -> Any:
    """A sac_half_cheetah trainer ``warm_steps`` env steps (one update each) after learning starts."""
    from speed_benchmark import sac_trainer  # this script's folder (scripts/) is on the path

    trainer = sac_trainer(threads, warm_steps, learning_starts, precision=precision)
    trainer.train(final_evaluation=False)
    return trainer


def step_times(trainer: Any, steps: int) -> dict[str, list[float]]:
    """ms of each collect (one env step) and of the update after it, as the loop runs them."""
    learner, collector = trainer.learner, trainer.collector
    ms: dict[str, list[float]] = {"collect": [], "update": []}
    for _ in range(steps):
        start = time.perf_counter()
        trainer.global_step = learner.collect(collector, trainer.global_step, 10**12)
        middle = time.perf_counter()
        learner.update()
        ms["collect"].append(1e3 * (middle - start))
        ms["update"].append(1e3 * (time.perf_counter() - middle))
    return ms


def update_shares(learner: Any, updates: int) -> dict[str, float]:
    """Fractions of the update's profiled CPU time in matmuls, in Adam and in the rest; aten ops."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(10):
        learner.update()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(updates):
            learner.update()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMULS)
    adam = sum(e.cpu_time_total for e in events if e.key in ADAM)
    ops = sum(e.count for e in events if e.key.startswith("aten::")) / updates
    return {"matmul": matmul / total, "adam": adam / total, "other": 1 - (matmul + adam) / total, "ops": ops}


def cold_collects(trainer: Any, rounds: int) -> dict[str, float]:
    """Median ms of one collect after each kind of preceding work, alternating."""
    learner, collector = trainer.learner, trainer.collector
    sweep = np.zeros(16 * 2**20 // 8)
    dicts = [{"a": i, "b": str(i)} for i in range(200_000)]

    def walk() -> None:
        sum(d["a"] for d in dicts)

    before = {"back to back": lambda: None, "after an update": learner.update,
              "after a 16 MB sweep": lambda: np.add(sweep, 1.0, out=sweep),
              "after walking 200k dicts": walk}  # fmt: skip
    ms: dict[str, list[float]] = {name: [] for name in before}
    for _ in range(rounds):
        for name, work in before.items():
            work()
            start = time.perf_counter()
            trainer.global_step = learner.collect(collector, trainer.global_step, 10**12)
            ms[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in ms.items()}


def compiled_critic(precision: str, threads: int, rounds: int, calls: int = 200) -> dict[str, float]:
    """Median ms of the critic loss + backward, eager and compiled, alternating in this process."""
    from rlinfo.agents.sac import SAC
    from rlinfo.nn import compute_dtype

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    agent, b = SAC(17, 6), 256
    batch = (torch.randn(b, 17), torch.rand(b, 6) * 2 - 1, torch.randn(b), torch.randn(b, 17),
             torch.zeros(b, dtype=torch.bool))  # fmt: skip
    losses = {"eager": agent.critic_loss, "compiled": torch.compile(agent.critic_loss, dynamic=False)}
    dtype = None if precision == "float32" else getattr(torch, precision)
    ms: dict[str, list[float]] = {name: [] for name in losses}
    with compute_dtype(dtype):
        for loss in losses.values():  # warm up (and compile)
            for _ in range(3):
                loss(*batch).backward()
        for _ in range(rounds):
            for name, loss in losses.items():
                start = time.perf_counter()
                for _ in range(calls):
                    loss(*batch).backward()
                ms[name].append(1e3 * (time.perf_counter() - start) / calls)
    return {name: statistics.median(v) for name, v in ms.items()}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2: the preset's default here)")
    parser.add_argument(
        "--steps", type=int, default=2000, help="timed env steps (one update each) per precision"
    )
    parser.add_argument("--profile-updates", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6, help="alternations (steps, and eager/compiled)")
    parser.add_argument("--cold-rounds", type=int, default=300)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile comparison")
    parser.add_argument("--out", type=Path, default=Path("bench_out/overhead_benchmark"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def add(section: str, precision: str, measure: str, value: float, unit: str) -> None:
        rows.append({"section": section, "precision": precision, "measure": measure, "value": value,
                     "unit": unit, "threads": args.threads})  # fmt: skip

    trainers = {p: trained(p, args.threads) for p in PRECISIONS}
    times = {p: {"collect": [], "update": []} for p in PRECISIONS}
    for _ in range(args.rounds):  # the precisions alternate
        for precision, trainer in trainers.items():
            for part, ms in step_times(trainer, args.steps // args.rounds).items():
                times[precision][part].extend(ms)
    for precision, trainer in trainers.items():
        collect, update = (statistics.median(times[precision][part]) for part in ("collect", "update"))
        shares = update_shares(trainer.learner, args.profile_updates)
        add("step", precision, "collect", collect, "ms per env step")
        for part in ("matmul", "adam", "other"):
            add("step", precision, f"update: {part}", update * shares[part], "ms per env step")
        add("step", precision, "aten ops per update", shares["ops"], "ops")
        for name, value in cold_collects(trainer, args.cold_rounds).items():
            add("cold", precision, f"collect {name}", value, "ms")
        trainer.close()
    if not args.no_compile:
        for precision in PRECISIONS:
            for name, value in compiled_critic(precision, args.threads, args.rounds).items():
                add("compile", precision, f"critic loss + backward, {name}", value, "ms")
    with open(args.out / "overhead.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    value = {(r["section"], r["precision"], r["measure"]): r["value"] for r in rows}
    lines = [f"SAC at UTD 1 on half_cheetah, {args.threads} thread(s); medians", "",
             "| section | measure | unit | " + " | ".join(PRECISIONS) + " |",
             "|---|---|---|" + "---|" * len(PRECISIONS)]  # fmt: skip
    for r in rows:
        if r["precision"] == PRECISIONS[0]:
            cells = [value.get((r["section"], p, r["measure"])) for p in PRECISIONS]
            shown = [f"{c:.3g}" if c is not None else "–" for c in cells]
            lines.append(f"| {r['section']} | {r['measure']} | {r['unit']} | {' | '.join(shown)} |")
    text = "\n".join(lines)
    (args.out / "overhead.md").write_text(text + "\n")
    print(text)
    figure(value, args.out / "overhead.png", args.threads, not args.no_compile)


def figure(value: dict[tuple[str, str, str], float], path: Path, threads: int, compiled: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3 if compiled else 2, figsize=(13 if compiled else 9, 3.6))
    parts = ["collect", "update: matmul", "update: adam", "update: other"]
    bottom = np.zeros(len(PRECISIONS))
    for part in parts:
        heights = np.array([value[("step", p, part)] for p in PRECISIONS])
        axes[0].bar(PRECISIONS, heights, bottom=bottom, label=part)
        bottom += heights
    axes[0].set_ylabel("ms per env step")
    axes[0].set_title(f"one SAC step, {threads} thread(s)", fontsize=10)
    axes[0].legend(fontsize=8)
    cold = [m for s, p, m in value if s == "cold" and p == PRECISIONS[0]]
    for i, p in enumerate(PRECISIONS):
        axes[1].bar([j + 0.4 * i for j in range(len(cold))], [value[("cold", p, m)] for m in cold],
                    width=0.38, label=p)  # fmt: skip
    axes[1].set_xticks([j + 0.2 for j in range(len(cold))], [m.removeprefix("collect ") for m in cold],
                       fontsize=7, rotation=15)  # fmt: skip
    axes[1].set_ylabel("ms per collect")
    axes[1].set_title("the same collect after other work", fontsize=10)
    axes[1].legend(fontsize=8)
    if compiled:
        names = ["eager", "compiled"]
        for i, name in enumerate(names):
            axes[2].bar([j + 0.4 * i for j in range(len(PRECISIONS))],
                        [value[("compile", p, f"critic loss + backward, {name}")] for p in PRECISIONS],
                        width=0.38, label=name)  # fmt: skip
        axes[2].set_xticks([j + 0.2 for j in range(len(PRECISIONS))], PRECISIONS)
        axes[2].set_ylabel("ms per call")
        axes[2].set_title("critic loss + backward: torch.compile", fontsize=10)
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
