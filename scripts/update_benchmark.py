"""What two details of rlinfo's CPU path buy a SAC update, measured one against the other.

1. ``head``: a one-column ensemble head (every critic's Q) as a multiply and a sum
   (``rlinfo.nn.EnsembleLinear``) against torch's batched matmul ``baddbmm``, which torch's CPU
   ``bmm`` runs far below its FLOP count for one output column;
2. ``kept``: ``rlinfo.run.host.keep_freed_memory()`` against glibc's default, which returns the freed
   top of its heap to the kernel, so the next update's tensors are fresh pages faulted in on first
   write.

Variants, each cumulative: ``bmm`` (the head as ``baddbmm``, glibc default), ``head`` (multiply and
sum, glibc default) and ``head+kept`` (rlinfo's path). The two heads alternate inside one process
(``--inner-rounds`` times, median), so their ratio is free of the process-to-process spread; the
allocator setting is process-wide and cannot be undone, so ``head+kept`` runs in a child process of
its own, alternating with the other over ``--rounds`` rounds. Measured: milliseconds and page faults
per SAC update (obs 17 and action 6 as half_cheetah, batch 256) on random data, for 256-unit (the
``sac_half_cheetah`` preset) and 1024-unit networks (the ``metra_ant`` agent), in float32 and with
bfloat16 hidden layers (``train.precision=bfloat16``).

    python scripts/update_benchmark.py                  # about 6 minutes on a 2-core CPU
    python scripts/update_benchmark.py --rounds 1 --inner-rounds 2 --updates 10

Writes <out>/update.csv, update.md and update.png (default out: bench_out/update_benchmark).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD = """
import json, resource, statistics, sys, time, torch
from rlinfo import nn as rnn
from rlinfo.agents.sac import SAC
from rlinfo.run.host import keep_freed_memory
malloc, precision = sys.argv[1], sys.argv[3]
hidden, threads, updates, rounds = (int(a) for a in (sys.argv[2], *sys.argv[4:7]))
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
def run(n):
    for _ in range(n):
        with rnn.compute_dtype(dtype):
            agent.update(*batch)
results = {name: {"ms": [], "faults": []} for name in heads}
for r in range(rounds + 1):  # round 0 warms up
    for name, forward in heads.items():
        rnn.EnsembleLinear.forward = forward
        faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        run(updates)
        if r:
            results[name]["ms"].append((time.perf_counter() - start) / updates * 1e3)
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            results[name]["faults"].append(faults / updates)
print(json.dumps({name: {k: statistics.median(v) for k, v in m.items()} for name, m in results.items()}))
"""
MALLOC = ("default", "kept")
# the baddbmm head with glibc's default, the multiply-and-sum head with glibc's default, and with memory kept
VARIANTS = ("bmm", "head", "head+kept")
CASES = [(hidden, precision) for hidden in (256, 1024) for precision in ("float32", "bfloat16")]


def measure(
    malloc: str, hidden: int, precision: str, threads: int, updates: int, rounds: int
) -> dict[str, Any]:
    """Medians over ``rounds`` in-process alternations of the bmm and the multiply-and-sum head."""
    numbers = [str(n) for n in (hidden, threads, updates, rounds)]
    args = [sys.executable, "-c", CHILD, malloc, numbers[0], precision, *numbers[1:]]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=50, help="updates per inner round (1024 units: / 8)")
    parser.add_argument("--inner-rounds", type=int, default=6, help="head alternations per child process")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=Path("bench_out/update_benchmark"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs: dict[tuple[int, str, str], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        for hidden, precision in CASES:
            updates = args.updates if hidden == 256 else max(args.updates // 8, 3)
            for malloc in MALLOC:
                result = measure(malloc, hidden, precision, args.threads, updates, args.inner_rounds)
                if malloc == "default":
                    runs.setdefault((hidden, precision, "bmm"), []).append(result["bmm"])
                    runs.setdefault((hidden, precision, "head"), []).append(result["head"])
                else:
                    runs.setdefault((hidden, precision, "head+kept"), []).append(result["head"])
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    rows = []
    for (hidden, precision, variant), results in runs.items():
        ms = [x["ms"] for x in results]
        rows.append({"hidden": hidden, "precision": precision, "variant": variant, "threads": args.threads,
                     "ms_per_update": statistics.median(ms), "min": min(ms), "max": max(ms),
                     "faults_per_update": statistics.median(x["faults"] for x in results)})  # fmt: skip
    with open(args.out / "update.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    med = {(r["hidden"], r["precision"], r["variant"]): r for r in rows}
    title = f"ms per SAC update, median (min–max) over {args.rounds} rounds, {args.threads} thread(s)"
    lines = [title, "",
             "| network | precision | bmm head | multiply-and-sum head | + kept memory | speed-up, all | "
             "page faults per update (bmm → head+kept) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for hidden, precision in CASES:
        cells = [med[(hidden, precision, v)] for v in VARIANTS]
        shown = [f"{c['ms_per_update']:.2f} ({c['min']:.2f}–{c['max']:.2f})" for c in cells]
        lines.append(
            f"| {hidden} units | {precision} | {' | '.join(shown)} "
            f"| {cells[0]['ms_per_update'] / cells[2]['ms_per_update']:.2f}× "
            f"| {cells[0]['faults_per_update']:.0f} → {cells[2]['faults_per_update']:.0f} |"
        )
    text = "\n".join(lines)
    (args.out / "update.md").write_text(text + "\n")
    print(text)
    figure(med, args.out / "update.png", args.threads)


def figure(med: dict[tuple[int, str, str], dict[str, Any]], path: Path, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, hidden in zip(axes, (256, 1024), strict=True):
        precisions = [p for h, p in CASES if h == hidden]
        for i, variant in enumerate(VARIANTS):
            values = [med[(hidden, p, variant)]["ms_per_update"] for p in precisions]
            ax.bar([j + 0.27 * i for j in range(len(precisions))], values, width=0.25, label=variant)
        ax.set_xticks([j + 0.27 for j in range(len(precisions))], precisions)
        ax.set_title(f"SAC update, {hidden}-unit networks, {threads} thread(s)", fontsize=10)
        ax.set_ylabel("ms per update")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
