"""Where one step of SAC at UTD 1 spends its time on the CPU, and what compiling the update would buy.

The ``sac_half_cheetah`` preset (one env, batch 256, two 256-unit layers), in float32 and with
``train.precision=bfloat16`` (left out on a CPU that emulates bfloat16: benchmarks/machine.py), at
``--threads`` torch threads; every comparison runs in alternating
rounds in this process (the timing harness, ``benchmarks/timing.py``):

1. ``step``: the training loop's own collect (act, env step, store the transition) and update phases,
   timed through the trainer's callback seam (``rlinfo/run/callbacks.py``) in ``--rounds`` runs per
   precision of ``--steps`` / ``--rounds`` env steps each (after 1,000 random steps and 200 updates
   of warm-up): milliseconds per env step, the median step of a run, median and range over runs.
   The update's share of matrix multiplies, of Adam (``step`` and ``zero_grad``) and of everything
   else comes from the torch profiler over ``--profile-updates`` further updates (self CPU times;
   shares of the profiled total, applied to the measured update time), with the number of
   dispatched aten ops per update;
2. ``cold``: ``collect``'s time right after other work, all alternating in one loop: back to back,
   after an update, after adding 1 to a 16 MB array, and after walking 200,000 Python dicts. The
   same collect costs twice as much after an update: the update evicts its code and data from the
   caches;
3. ``compile``: the critic's loss and its backward pass (the biggest part of the update), eager
   against ``torch.compile`` (inductor, static shapes), alternating in one process over ``--rounds``
   rounds of 200 calls (needs a C++ compiler).

    python scripts/overhead_benchmark.py                  # about 4 minutes on a 2-core CPU
    python scripts/overhead_benchmark.py --steps 300 --rounds 2 --no-compile

Writes <out>/overhead_benchmark.csv (per section, precision and measure: median, min and max over
rounds; default out: bench_out/overhead_benchmark) and ``--figure`` (default
<out>/overhead_benchmark.png), and prints the table (``benchmarks/speed_tables.py``; with ``--out
docs/results``, ``python -m benchmarks.pages`` puts it on docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the timing harness)
from benchmarks import speed_tables, timing  # noqa: E402
from benchmarks.machine import measurable  # noqa: E402

PRECISIONS = ("float32", "bfloat16")
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
ADAM = ("aten::_fused_adam_", "aten::_foreach_add_")  # rlinfo.optim.Adam's two kernels: their total CPU times
LEARNING_STARTS, WARM_STEPS = 1000, 200


def trained(precision: str, threads: int, steps: int = 0, callbacks: tuple = ()) -> Any:
    """A sac_half_cheetah trainer run to ``WARM_STEPS`` + ``steps`` env steps (one update each) after
    learning starts."""
    from speed_benchmark import sac_trainer  # this script's folder (scripts/) is on the path

    trainer = sac_trainer(
        threads, WARM_STEPS + steps, LEARNING_STARTS, precision=precision, callbacks=callbacks
    )
    trainer.train(final_evaluation=False)
    return trainer


def step_times(precision: str, threads: int, steps: int) -> dict[str, float]:
    """Median ms of the loop's collect and of its update phase over ``steps`` env steps after warm-up."""
    from speed_benchmark import LoopClock

    clock = LoopClock()
    trained(precision, threads, steps, callbacks=(clock,))
    timed = LEARNING_STARTS + WARM_STEPS
    return {part: 1e3 * statistics.median(s for step, s in clock.phases(part) if step > timed)
            for part in ("collect", "learn")}  # fmt: skip


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


def cold_collects(trainer: Any, rounds: int) -> timing.Timing:
    """ms of one collect after each kind of preceding work, alternating."""
    learner, collector = trainer.learner, trainer.collector
    sweep = np.zeros(16 * 2**20 // 8)
    dicts = [{"a": i, "b": str(i)} for i in range(200_000)]

    def walk() -> None:
        sum(d["a"] for d in dicts)

    step = [trainer.global_step]

    def collect() -> None:
        step[0] = learner.collect(collector, step[0], 10**12)

    def collect_after(work: Any) -> float:
        work()
        return 1e3 * timing.clock(collect)

    before = {"back to back": lambda: None, "after an update": learner.update,
              "after a 16 MB sweep": lambda: np.add(sweep, 1.0, out=sweep),
              "after walking 200k dicts": walk}  # fmt: skip
    contenders = {name: partial(collect_after, work) for name, work in before.items()}
    return timing.measure(contenders, rounds, log=None)


def compiled_critic(precision: str, threads: int, rounds: int, calls: int = 200) -> timing.Timing:
    """ms of the critic loss + backward, eager and compiled, alternating in this process."""
    from rlinfo.agents.sac import SAC
    from rlinfo.nn import compute_dtype

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    agent, b = SAC(17, 6), 256
    batch = (torch.randn(b, 17), torch.rand(b, 6) * 2 - 1, torch.randn(b), torch.randn(b, 17),
             torch.zeros(b, dtype=torch.bool))  # fmt: skip
    losses = {"eager": agent.critic_loss, "compiled": torch.compile(agent.critic_loss, dynamic=False)}
    dtype = None if precision == "float32" else getattr(torch, precision)

    def ms(loss: Any) -> float:
        return 1e3 * timing.clock(lambda: [loss(*batch).backward() for _ in range(calls)]) / calls

    with compute_dtype(dtype):
        for loss in losses.values():  # warm up (and compile)
            for _ in range(3):
                loss(*batch).backward()
        return timing.measure({name: partial(ms, loss) for name, loss in losses.items()}, rounds, log=None)


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
    parser.add_argument("--note", default="", help='said after the machine in the CSV, e.g. "shared machine"')
    parser.add_argument("--out", type=Path, default=Path("bench_out/overhead_benchmark"))
    parser.add_argument("--figure", type=Path, help="the figure (default <out>/overhead_benchmark.png)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def add(section: str, precision: str, measure: str, unit: str, stats: dict[str, float]) -> None:
        rows.append({"section": section, "precision": precision, "measure": measure, "unit": unit,
                     "threads": args.threads, **stats})  # fmt: skip

    per_run = max(args.steps // args.rounds, 2)
    precisions = measurable(PRECISIONS)
    contenders = {p: partial(step_times, p, args.threads, per_run) for p in precisions}
    steps = timing.measure(contenders, args.rounds)
    for precision in precisions:
        trainer = trained(precision, args.threads)
        shares = update_shares(trainer.learner, args.profile_updates)
        collect = timing.stats(steps.values[(precision, "collect")])
        add("step", precision, "collect", "ms per env step", collect)
        update = statistics.median(steps.values[(precision, "learn")])
        for part in ("matmul", "adam", "other"):
            add("step", precision, f"update: {part}", "ms per env step", {"median": update * shares[part]})
        add("step", precision, "aten ops per update", "ops", {"median": shares["ops"]})
        cold = cold_collects(trainer, args.cold_rounds)
        for name in cold.contenders:
            add("cold", precision, f"collect {name}", "ms", timing.stats(cold.values[(name, "value")]))
        trainer.close()
    if not args.no_compile:
        for precision in precisions:
            runs = compiled_critic(precision, args.threads, args.rounds)
            for name in runs.contenders:
                add("compile", precision, f"critic loss + backward, {name}", "ms",
                    timing.stats(runs.values[(name, "value")]))  # fmt: skip
    path = args.out / "overhead_benchmark.csv"
    timing.write_csv(path, rows, note=args.note)
    print("\n".join(speed_tables.overhead_block(path)))
    speed_tables.overhead_figure(path, args.figure or args.out / "overhead_benchmark.png")


if __name__ == "__main__":
    main()
