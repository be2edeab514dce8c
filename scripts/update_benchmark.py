"""What two details of rlinfo's CPU path buy a SAC update, measured one against the other.

1. ``head``: a one-column ensemble head (every critic's Q) as a multiply and a sum
   (``rlinfo.nn.EnsembleLinear``) against torch's batched matmul ``baddbmm``, which torch's CPU
   ``bmm`` runs far below its FLOP count for one output column;
2. ``kept``: ``rlinfo.run.host.keep_freed_memory()`` against glibc's default, which returns the freed
   top of its heap to the kernel, so the next update's tensors are fresh pages faulted in on first
   write.

Variants, each cumulative: ``bmm`` (the head as ``baddbmm``, glibc default), ``head`` (multiply and
sum, glibc default) and ``head+kept`` (rlinfo's path). The two heads alternate inside one process
(``--inner-rounds`` times after one warm-up round, median), so their ratio is free of the
process-to-process spread; the allocator setting is process-wide and cannot be undone, so
``head+kept`` runs in a child process of its own, alternating with the other over ``--rounds`` rounds.
Both levels use the timing harness (``benchmarks/timing.py``). Measured: milliseconds and page faults
per SAC update (obs 17 and action 6 as half_cheetah, batch 256) on random data, for 256-unit (the
``sac_half_cheetah`` preset) and 1024-unit networks (the ``metra_ant`` agent), in float32 and with
bfloat16 hidden layers (``train.precision=bfloat16``; left out on a CPU that emulates bfloat16:
benchmarks/machine.py).

    python scripts/update_benchmark.py                  # about 6 minutes on a 2-core CPU
    python scripts/update_benchmark.py --rounds 1 --inner-rounds 2 --updates 10

Writes <out>/update_benchmark.csv (one row per round, variant and measure, from each child's medians;
default out: bench_out/update_benchmark) and ``--figure`` (default <out>/update_benchmark.png), and
prints the table (``benchmarks/speed_tables.py``; with ``--out docs/results``, ``python -m
benchmarks.pages`` puts it on docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ (the timing harness)
from benchmarks import speed_tables, timing  # noqa: E402
from benchmarks.machine import measurable  # noqa: E402

CHILD = """
import json, resource, sys
from functools import partial
import torch
sys.path.insert(0, sys.argv[1])
from benchmarks import timing
from rlinfo import nn as rnn
from rlinfo.agents.sac import SAC
from rlinfo.run.host import keep_freed_memory
malloc, precision = sys.argv[2], sys.argv[4]
hidden, threads, updates, rounds = (int(a) for a in (sys.argv[3], *sys.argv[5:8]))
def bmm_forward(self, x):  # every EnsembleLinear as one baddbmm, the one-column head included
    x = x.unsqueeze(0).expand(self.ensemble_size, -1, -1) if x.dim() == 2 else x
    return torch.baddbmm(self.bias, x, self.weight)
heads = {"bmm": bmm_forward, "head": rnn.EnsembleLinear.forward}
if malloc == "kept":
    assert keep_freed_memory()
torch.manual_seed(0)
torch.set_num_threads(threads)
agent, b = SAC(17, 6, hidden_dim=hidden, alpha_init=1.0), 256
obs, next_obs, action = torch.randn(b, 17), torch.randn(b, 17), torch.rand(b, 6) * 2 - 1
batch = (obs, action, torch.randn(b), next_obs, torch.zeros(b, dtype=torch.bool))
dtype = None if precision == "float32" else getattr(torch, precision)
def run(forward):
    rnn.EnsembleLinear.forward = forward
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with rnn.compute_dtype(dtype):
        seconds = timing.clock(lambda: [agent.update(*batch) for _ in range(updates)])
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"ms": seconds / updates * 1e3, "faults": faults / updates}
runs = timing.measure({n: partial(run, f) for n, f in heads.items()}, rounds, warmup=1, log=None)
print(json.dumps({f"{head} {key}": value for (head, key), value in runs.medians().items()}))
"""
MALLOC = ("default", "kept")
# the baddbmm head with glibc's default, the multiply-and-sum head with glibc's default, and with memory kept
VARIANTS = {"bmm": ("default", "bmm"), "head": ("default", "head"), "head+kept": ("kept", "head")}
CASES = [(hidden, precision) for hidden in (256, 1024) for precision in ("float32", "bfloat16")]


def measure(
    malloc: str, hidden: int, precision: str, threads: int, updates: int, rounds: int
) -> dict[str, float]:
    """Medians over ``rounds`` in-process alternations of the bmm and the multiply-and-sum head."""
    numbers = [str(n) for n in (hidden, threads, updates, rounds)]
    args = [sys.executable, "-c", CHILD, str(ROOT), malloc, numbers[0], precision, *numbers[1:]]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=50, help="updates per inner round (1024 units: / 8)")
    parser.add_argument("--inner-rounds", type=int, default=6, help="head alternations per child process")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--note", default="", help='said after the machine in the CSV, e.g. "shared machine"')
    parser.add_argument("--out", type=Path, default=Path("bench_out/update_benchmark"))
    parser.add_argument("--figure", type=Path, help="the figure (default <out>/update_benchmark.png)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    precisions = measurable(["float32", "bfloat16"])
    cases = [(hidden, precision) for hidden, precision in CASES if precision in precisions]
    contenders = {}
    for hidden, precision in cases:
        updates = args.updates if hidden == 256 else max(args.updates // 8, 3)
        for malloc in MALLOC:
            contenders[f"{hidden} {precision} {malloc}"] = partial(
                measure, malloc, hidden, precision, args.threads, updates, args.inner_rounds
            )
    children = timing.measure(contenders, args.rounds)
    # each variant's per-round value, from its child's medians: a Timing of its own, each round's order
    # that of the children (the two heads of one child in the order they alternate)
    def variants(child: str) -> list[str]:
        case, _, malloc = child.rpartition(" ")
        return [f"{case} {v}" for v, (m, _) in VARIANTS.items() if m == malloc]

    orders = [tuple(v for child in order for v in variants(child)) for order in children.orders]
    runs = timing.Timing(tuple(f"{h} {p} {v}" for h, p in cases for v in VARIANTS), orders)
    for hidden, precision in cases:
        for variant, (malloc, head) in VARIANTS.items():
            for key in ("ms", "faults"):
                child = children.values[(f"{hidden} {precision} {malloc}", f"{head} {key}")]
                runs.values[(f"{hidden} {precision} {variant}", key)] = child
    rows = [{**r, "threads": args.threads} for r in timing.per_round(runs)]
    path = args.out / "update_benchmark.csv"
    timing.write_csv(path, rows, note=args.note)
    print("\n".join(speed_tables.update_block(path)))
    speed_tables.update_figure(path, args.figure or args.out / "update_benchmark.png")


if __name__ == "__main__":
    main()
