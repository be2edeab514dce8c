"""Gaussian staircase benchmark of the variational MI estimators (Poole et al. 2019; Song & Ermon 2020).

x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) eps with rho = sqrt(1 - exp(-2 I / d)), so I(x; y) = I nats.
The true MI steps through 2, 4, 6, 8, 10 nats, ``--steps-per-level`` steps each (4,000 in the papers), with a
fresh batch of 64 every step and Adam (lr 5e-4). Every estimator trains its own critic (one member of a
batched ensemble), separable g(x)^T h(y) and joint f([x, y]) on all 64^2 pairs, 256 hidden units.
Reported: mean and variance of each estimator over the last 1,000 steps of each level. Then the
self-consistency checks of Song & Ermon (2020, sec. 6) on Gaussians: data processing
I([X, X]; [Y, h(Y)]) / I(X; Y) (ideal 1) and additivity I([X1, X2]; [Y1, Y2]) / I(X1; Y1) (ideal 2).

Work is split into single-threaded tasks run on ``--workers`` processes (default: the number of cores, at
most 2 busy at once here), which on a small shared CPU is much faster than one multi-threaded process.

    python scripts/mi_benchmark.py           # full run: docs/results/mi_*.csv, docs/img/mi_staircase.png
    python scripts/mi_benchmark.py --steps-per-level 200 --consistency-steps 200 --out bench_out/mi  # smoke

Writes <out>/mi_staircase.csv (one row per estimator, critic and true MI: mean and variance of the
estimate, steps per level, batch, seed), <out>/mi_consistency.csv (one row per estimator: the estimate of
I(X; Y) and the two ratios) and <out>/mi_traces.csv (per estimator and critic, every 100 steps: the
10th, 50th and 90th percentiles of the estimates), all with the command, machine and date (columns:
benchmarks/mi.py); the figure (``--figure``, drawn from those CSVs alone, as ``python -m
benchmarks.pages`` draws it); and the raw per-step estimates (traces.npz) with the printed report
(staircase.md) in ``--raw``. With the default ``--out`` (docs/results) the figure is
docs/img/mi_staircase.png and the raw files go to bench_out/mi/; with another ``--out`` everything goes
there. The two tables it prints are benchmarks/mi.py's, made from the CSVs just written: the blocks of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import multiprocessing as mp
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import torch

from rlinfo.estimators import MINE, JointCritic, SeparableCritic, infonce, js, nwj, smile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the tables, the CSV columns)
from benchmarks import mi as tables  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

LABELS = tables.LABELS
DOCS_OUT = Path("docs/results")
SEPARABLE = ["infonce", "nwj", "js", "mine", "smile_1", "smile_5", "smile_inf"]
JOINT = ["infonce", "nwj", "smile_5"]
CONSISTENCY = ["infonce", "nwj", "smile_5"]
_COUNTER = None


def make_bound(name: str):
    if name == "mine":
        return MINE(momentum=0.9)
    if name.startswith("smile_"):
        tau = name.split("_")[1]
        return partial(smile, tau=None if tau == "inf" else float(tau))
    return {"infonce": infonce, "nwj": nwj, "js": js}[name]


def rho_for(mi: float, dim: int) -> float:
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def sample(n: int, dim: int, rho: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, dim, generator=gen)
    return x, rho * x + math.sqrt(1.0 - rho**2) * torch.randn(n, dim, generator=gen)


def _init_worker(counter) -> None:
    global _COUNTER
    _COUNTER = counter
    torch.set_num_threads(1)


def _tick(n: int) -> None:
    if _COUNTER is not None:
        with _COUNTER.get_lock():
            _COUNTER.value += n


def train(
    critic_kind: str, names: list[str], schedule: list[float], a: argparse.Namespace, seed: int, data_fn
):
    """Train one critic per estimator (a batched ensemble) on ``data_fn(mi, gen)`` batches; the per-step
    estimates, ``[len(names), len(schedule)]``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x0, y0 = data_fn(schedule[0], gen)
    e = len(names)
    if critic_kind == "separable":
        critic = SeparableCritic(x0.shape[1], y0.shape[1], a.hidden, 32, 2, ensemble_size=e)
    else:
        critic = JointCritic(x0.shape[1], y0.shape[1], a.hidden, a.joint_layers, ensemble_size=e)
    bounds = [make_bound(n) for n in names]
    opt = torch.optim.Adam(critic.parameters(), lr=a.lr)
    est = torch.empty(e, len(schedule))
    for t, mi in enumerate(schedule):
        x, y = data_fn(mi, gen)
        scores = critic(x, y)
        values = torch.stack([bound(scores[i]) for i, bound in enumerate(bounds)])
        opt.zero_grad(set_to_none=True)
        (-values.sum()).backward()
        opt.step()
        est[:, t] = values.detach()
        if t % 100 == 99:
            _tick(100)
    _tick(len(schedule) % 100)
    return est.numpy()


def staircase_task(critic_kind: str, names: list[str], a: argparse.Namespace, seed: int) -> np.ndarray:
    schedule = [float(m) for m in a.levels for _ in range(a.steps_per_level)]
    return train(
        critic_kind, names, schedule, a, seed, lambda mi, g: sample(a.batch, a.dim, rho_for(mi, a.dim), g)
    )


def consistency_task(test: str, a: argparse.Namespace, seed: int) -> np.ndarray:
    """Estimates of I(X; Y) ("base"), I([X, X]; [Y, Y[:d/2]]) ("processing") or I([X1, X2]; [Y1, Y2])
    ("additivity") with (X, Y) a d/2-dim Gaussian pair of ``a.consistency_mi`` nats."""
    d, rho = a.dim // 2, rho_for(a.consistency_mi, a.dim // 2)

    def data(_mi: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = sample(a.batch, d, rho, g)
        if test == "processing":
            return torch.cat([x, x], 1), torch.cat([y, y[:, : d // 2]], 1)
        if test == "additivity":
            x2, y2 = sample(a.batch, d, rho, g)
            return torch.cat([x, x2], 1), torch.cat([y, y2], 1)
        return x, y

    return train("separable", CONSISTENCY, [a.consistency_mi] * a.consistency_steps, a, seed, data)


def summarise(traces: dict[str, np.ndarray], a: argparse.Namespace) -> tuple[list[dict], dict[str, int]]:
    """One row per (critic, estimator, level) in ``tables.STAIRCASE_COLUMNS`` order, less the run's command,
    machine and date; and per ``critic:estimator`` the non-finite estimates left out of the means."""
    rows, dropped = [], {}
    for key, est in traces.items():
        critic, name = key.split(":")
        for k, mi in enumerate(a.levels):
            tail = est[
                (k + 1) * a.steps_per_level - min(1000, a.steps_per_level) : (k + 1) * a.steps_per_level
            ]
            finite = tail[np.isfinite(tail)]
            mean = float(finite.mean()) if finite.size else float("nan")
            var = float(finite.var()) if finite.size else float("nan")
            rows.append(
                dict(
                    estimator=name,
                    critic=critic,
                    true_mi=mi,
                    mean=mean,
                    variance=var,
                    steps=a.steps_per_level,
                    batch=a.batch,
                    seed=a.seed,
                )
            )
            if tail.size > finite.size:
                dropped[key] = dropped.get(key, 0) + int(tail.size - finite.size)
    return rows, dropped


def consistency_rows(cons: dict[str, np.ndarray], a: argparse.Namespace) -> list[dict]:
    tail = min(1000, a.consistency_steps)
    means = {k: v[:, -tail:].mean(axis=1) for k, v in cons.items()}
    rows = []
    for i, name in enumerate(CONSISTENCY):
        base = float(means["base"][i])
        rows.append(
            dict(
                estimator=name,
                estimate=base,
                data_processing_ratio=float(means["processing"][i]) / base,
                additivity_ratio=float(means["additivity"][i]) / base,
                true_mi=a.consistency_mi,
                steps=a.consistency_steps,
            )
        )
    return rows


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...], run: dict[str, str]) -> None:
    """``rows`` with the run's command, machine and date, in ``columns`` order (atomically)."""
    from rlinfo.files import write_text

    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows({**r, **run} for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text.getvalue())


def command_line(argv: list[str] | None) -> str:
    """The command that ran: ``python scripts/mi_benchmark.py ...`` as typed (``main(argv)`` called from
    Python: the equivalent command)."""
    if argv is None:
        return "python " + shlex.join(sys.argv)
    return "python " + shlex.join(["scripts/mi_benchmark.py", *argv])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DOCS_OUT, help="folder of the two CSVs (mi_*.csv)")
    p.add_argument("--figure", type=Path, help="default: docs/img/mi_staircase.png with the default --out, "
                   "else <out>/mi_staircase.png")  # fmt: skip
    p.add_argument("--raw", type=Path, help="folder of traces.npz and staircase.md; default: bench_out/mi "
                   "with the default --out, else <out>")  # fmt: skip
    p.add_argument("--steps-per-level", type=int, default=4000)
    p.add_argument("--levels", type=float, nargs="+", default=[2.0, 4.0, 6.0, 8.0, 10.0])
    p.add_argument("--dim", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--joint-layers", type=int, default=1, help="hidden layers of the joint critic (Poole: 2)")
    p.add_argument("--critics", nargs="+", default=["separable", "joint"], choices=["separable", "joint"])
    p.add_argument("--consistency-steps", type=int, default=3000, help="0 skips the self-consistency checks")
    p.add_argument("--consistency-mi", type=float, default=2.0)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    docs = a.out.resolve() == DOCS_OUT.resolve()
    a.figure = a.figure or (Path("docs/img/mi_staircase.png") if docs else a.out / "mi_staircase.png")
    a.raw = a.raw or (Path("bench_out/mi") if docs else a.out)
    command = command_line(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    a.raw.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    half = math.ceil(len(SEPARABLE) / 2)
    tasks: dict[str, tuple] = {}  # key -> (function, args), longest first
    n_stair = len(a.levels) * a.steps_per_level
    if "joint" in a.critics:
        tasks["joint"] = (staircase_task, ("joint", JOINT, a, a.seed))
    if "separable" in a.critics:
        tasks["sep_a"] = (staircase_task, ("separable", SEPARABLE[:half], a, a.seed + 10))
        tasks["sep_b"] = (staircase_task, ("separable", SEPARABLE[half:], a, a.seed + 20))
    total = n_stair * len(tasks)
    if a.consistency_steps:
        for i, test in enumerate(["base", "processing", "additivity"]):
            tasks[f"cons_{test}"] = (consistency_task, (test, a, a.seed + 30 + i))
            total += a.consistency_steps

    from tqdm import tqdm

    # glibc hands large freed blocks straight back to the OS, so every step re-faults the ~30 MB of
    # activations of the joint critics: on a 2-core VM that was 40% of the run time (system time). Keep freed
    # memory in the heap instead; the spawned workers read these variables when they start.
    for var, value in (("MALLOC_MMAP_THRESHOLD_", "4294967296"), ("MALLOC_TRIM_THRESHOLD_", "17179869184")):
        os.environ.setdefault(var, value)
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        a.workers, mp_context=ctx, initializer=_init_worker, initargs=(counter,)
    ) as pool:
        futures = {k: pool.submit(fn, *args) for k, (fn, args) in tasks.items()}
        with tqdm(total=total, desc="mi_benchmark", unit="step", mininterval=2.0) as bar:
            while not all(f.done() for f in futures.values()):
                time.sleep(0.5)
                bar.update(counter.value - bar.n)
            bar.update(counter.value - bar.n)
        results = {k: f.result() for k, f in futures.items()}

    traces: dict[str, np.ndarray] = {}
    for key, names in (("joint", JOINT), ("sep_a", SEPARABLE[:half]), ("sep_b", SEPARABLE[half:])):
        critic = "joint" if key == "joint" else "separable"
        for i, name in enumerate(names):
            if key in results:
                traces[f"{critic}:{name}"] = results[key][i]
    order = {n: i for i, n in enumerate(SEPARABLE)}
    traces = dict(sorted(traces.items(), key=lambda kv: (order[kv[0].split(":")[1]], kv[0])))
    rows, dropped = summarise(traces, a)
    cons_rows = []
    if a.consistency_steps:
        cons = {t: results[f"cons_{t}"] for t in ("base", "processing", "additivity")}
        cons_rows = consistency_rows(cons, a)
    wall = time.time() - t0

    run = {"command": command, "machine": describe(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    written = [a.out / f"{tables.STAIRCASE}.csv"]
    write_csv(written[0], rows, tables.STAIRCASE_COLUMNS, run)
    if cons_rows:
        written.append(a.out / f"{tables.CONSISTENCY}.csv")
        write_csv(written[1], cons_rows, tables.CONSISTENCY_COLUMNS, run)
    written.append(a.out / f"{tables.TRACES}.csv")
    write_csv(written[-1], tables.trace_rows(traces), tables.TRACE_COLUMNS, run)
    np.savez_compressed(a.raw / "traces.npz", **{k.replace(":", "__"): v for k, v in traces.items()})
    csvs = (a.out / f"{name}.csv" for name in (tables.TRACES, tables.STAIRCASE, tables.CONSISTENCY))
    tables.staircase_figure(*csvs, a.figure)
    report = (
        f"## Gaussian staircase (d = {a.dim}, batch {a.batch}, {a.steps_per_level} steps per level)\n\n"
        f"Mean (variance) over the last {min(1000, a.steps_per_level)} steps of each level, nats.\n\n"
        + "\n".join(tables.staircase_block(written[0]))
        + "\n"
    )
    if dropped:
        left_out = ", ".join(f"{k} {n}" for k, n in dropped.items())
        report += f"\nNon-finite estimates left out of the means: {left_out}.\n"
    if cons_rows:
        report += (
            f"\n## Self-consistency (separable critic, {a.consistency_steps} steps, mean of the last "
            f"{min(1000, a.consistency_steps)})\n\n" + "\n".join(tables.consistency_block(written[1])) + "\n"
        )
    report += (
        f"\nCommand: `{command}`\n"
        f"Wall time: {wall:.0f} s on {os.cpu_count()} CPU cores ({a.workers} worker processes, 1 thread "
        f"each), torch {torch.__version__}, Python {platform.python_version()}.\n"
    )
    (a.raw / "staircase.md").write_text(report)
    print(report)
    print(f"wrote {', '.join(map(str, [*written, a.figure, a.raw / 'traces.npz', a.raw / 'staircase.md']))}")


if __name__ == "__main__":
    main()
