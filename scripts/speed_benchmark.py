"""Speed of rlinfo's training loop against stable-baselines3 and against the machine's own limit.

Everything is measured in this one process, in alternating rounds (median and spread over rounds):

1. the machine's matrix-multiply rate (1024 x 1024 x 1024 ``torch.mm``, float32 and bfloat16) on 1 and
   2 threads;
2. SAC at update-to-data ratio 1 on half_cheetah (the ``sac_half_cheetah`` preset: one env, batch 256,
   two 256-unit layers, lr 3e-4, learned temperature from 1.0), rlinfo against SB3's SAC with the same
   hyperparameters, each at 1 and 2 torch threads (rlinfo also with ``train.overlap``: the next env
   step collected on a worker thread during the update, and with ``train.precision=bfloat16``: the
   networks' matmuls in bfloat16); env steps per second of the learning phase
   (after ``--learning-starts`` random steps; ``--steps`` steps with one update each); FLOPs of one SAC
   update counted as below, so the machine's ceiling at UTD 1 is (matmul GFLOP/s) / (GFLOP per update)
   env steps per second; and the update's own matmuls (recorded with their shapes, then replayed
   alone): the time an update could take if it did nothing else;
3. the ``metra_ant`` preset's loop (8 envs x 200-step rollouts, 50 updates of 1024-unit SAC and METRA):
   env steps per second between the first and the last full update phase (the steady state), updates
   per second, and the GFLOP/s its updates achieve — FLOPs of one update
   counted by ``torch.utils.flop_counter`` — as a fraction of the measured matrix-multiply rate; plain,
   overlapped (``train.overlap=true``) and in bfloat16 (``train.precision=bfloat16``);
4. the replay buffer's bytes per Ant transition and the process's peak RSS.

    python scripts/speed_benchmark.py                     # about 10 minutes on a 2-core CPU
    python scripts/speed_benchmark.py --rounds 1 --steps 300 --learning-starts 200 --ant-iterations 1

Writes <out>/speed.csv, speed.md and speed.png (default out: bench_out/speed_benchmark).
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

VARIANTS: dict[str, dict[str, Any]] = {  # rlinfo settings measured for SAC and metra_ant
    "": {},
    " overlapped": {"overlap": True},
    " bfloat16": {"precision": "bfloat16"},
}
HALF_CHEETAH = {"hidden": 256, "batch": 256, "lr": 3e-4, "gamma": 0.99, "tau": 5e-3, "buffer": 100_000}


def matmul_gflops(threads: int, n: int = 1024, reps: int = 20, dtype: torch.dtype = torch.float32) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # warm up
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def rlinfo_sac(
    threads: int,
    steps: int,
    learning_starts: int,
    overlap: bool = False,
    device: str = "cpu",
    graph: bool = False,
    precision: str = "float32",
) -> dict[str, float]:
    """Env steps/s of ``rlinfo train sac_half_cheetah`` and the FLOPs of one of its updates."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = sac_trainer(threads, steps, learning_starts, overlap, device, graph, precision)
    steps_per_s = learning_phase_rate(trainer)
    with FlopCounterMode(display=False) as counter:
        trainer.learner.update()
    result = {"steps_per_s": steps_per_s, "gflop_per_update": counter.get_total_flops() / 1e9}
    if device == "cpu":
        with RecordMatmuls() as matmuls:
            trainer.learner.update()
        result["matmul_ms_per_update"] = 1e3 * matmuls.replay_seconds()
    return result


def sac_trainer(
    threads: int,
    steps: int,
    learning_starts: int,
    overlap: bool = False,
    device: str = "cpu",
    graph: bool = False,
    precision: str = "float32",
) -> Any:
    """The ``sac_half_cheetah`` trainer set up for timing: ``learning_starts`` random steps, then
    ``steps`` with one update each; no logs, checkpoints or evaluation rollouts to speak of."""
    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    overrides = [f"total_steps={learning_starts + steps}", f"train.learning_starts={learning_starts}",
                 f"train.threads={threads}", "train.progress=false", f"train.log_every={10**9}",
                 "eval.num_rollouts=1", "eval.max_steps=1", "train.checkpoint_every=0",
                 f"train.overlap={str(overlap).lower()}", f"device={device}",
                 f"train.cuda_graph={str(graph).lower()}", f"train.precision={precision}"]  # fmt: skip
    return Trainer(load_config("sac_half_cheetah", overrides))


class RecordMatmuls(TorchDispatchMode):
    """Records every matrix multiply (forward and backward) run under it, with its operands' shapes,
    strides and dtypes, so :meth:`replay_seconds` can time those matmuls alone: the floor of an update
    that did nothing else."""

    OPS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
           torch.ops.aten.baddbmm.default}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, list[Any], dict[str, Any]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in self.OPS:
            layout = [(a.shape, a.stride(), a.dtype) if isinstance(a, torch.Tensor) else a for a in args]
            self.calls.append((func, layout, kwargs))
        return func(*args, **kwargs)

    def replay_seconds(self, reps: int = 50) -> float:
        """Seconds per replay of the recorded matmuls, on random operands of the same layout."""

        def operand(x: Any) -> Any:
            if not isinstance(x, tuple):
                return x
            size, stride, dtype = x  # broadcast operands (stride 0) read one storage more than once
            storage = 1 + sum((n - 1) * st for n, st in zip(size, stride, strict=True))
            return torch.randn(storage, dtype=dtype).as_strided(size, stride)

        calls = [(func, [operand(a) for a in layout], kw) for func, layout, kw in self.calls]
        for func, args, kw in calls:  # warm up
            func(*args, **kw)
        start = time.perf_counter()
        for _ in range(reps):
            for func, args, kw in calls:
                func(*args, **kw)
        return (time.perf_counter() - start) / reps


def learning_phase_rate(trainer: Any) -> float:
    """Train; env steps per second between the first and the last update phase (the steady state: the
    random-action phase, the last phase and the final evaluation are outside the clock). Observed through
    the trainer's callback seam (``rlinfo.run.callbacks``)."""
    from rlinfo.run.callbacks import Callback

    calls: list[tuple[float, int]] = []

    class LearnClock(Callback):
        def on_learn_start(self, trainer: Any, step: int) -> None:
            if step >= trainer.cfg.train.learning_starts:
                if trainer.device.type == "cuda":
                    torch.cuda.synchronize()
                calls.append((time.perf_counter(), step))

    trainer.callbacks.append(LearnClock())
    trainer.train(final_evaluation=False)
    # the last phase follows a collection cut short by total_steps (a rollout of T vector steps stores
    # T·N real transitions, fewer where an episode's reset step falls in it): leave it out
    steady = [c for c in calls if c[1] < trainer.cfg.total_steps]
    (t0, s0), (t1, s1) = steady[0], steady[-1]
    return (s1 - s0) / (t1 - t0)


def sb3_sac(threads: int, steps: int, learning_starts: int, device: str = "cpu") -> float:
    """Env steps/s of SB3's SAC from its first update (``learning_starts``) to the end."""
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    from rlinfo.envs import make

    torch.set_num_threads(threads)
    hp = HALF_CHEETAH
    model = SAC(
        "MlpPolicy", make("half_cheetah"), learning_rate=hp["lr"], buffer_size=hp["buffer"],
        learning_starts=learning_starts, batch_size=hp["batch"], tau=hp["tau"], gamma=hp["gamma"],
        train_freq=1, gradient_steps=1, ent_coef="auto_1.0", policy_kwargs={"net_arch": [hp["hidden"]] * 2},
        device=device, seed=0,
    )  # fmt: skip

    class Clock(BaseCallback):
        start = 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps == learning_starts:
                self.start = time.perf_counter()
            return True

    clock = Clock()
    model.learn(learning_starts + steps, callback=clock)
    return steps / (time.perf_counter() - clock.start)


def metra_ant(
    threads: int,
    iterations: int,
    overlap: bool = False,
    device: str = "cpu",
    graph: bool = False,
    precision: str = "float32",
) -> dict[str, float]:
    """The metra_ant preset's loop for ``iterations`` rollout + update rounds after one random round."""
    from torch.utils.flop_counter import FlopCounterMode

    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    per_round = 8 * 200
    overrides = [f"total_steps={per_round * (iterations + 1)}", f"train.learning_starts={per_round}"]
    overrides += [f"train.threads={threads}", "train.progress=false", "eval.num_rollouts=1"]
    overrides += ["eval.max_steps=1", f"train.overlap={str(overlap).lower()}", f"device={device}"]
    overrides += [f"train.cuda_graph={str(graph).lower()}", f"train.precision={precision}"]
    overrides += ["train.checkpoint_every=0", f"train.log_every={10**9}"]
    trainer = Trainer(load_config("metra_ant", overrides))
    learner = trainer.learner
    update_time = [0.0]
    update = learner.update

    def timed_update() -> dict[str, Any]:
        start = time.perf_counter()
        out = update()
        if device.startswith("cuda"):
            torch.cuda.synchronize()  # kernels run asynchronously: time them, not their launch
        update_time[0] += time.perf_counter() - start
        return out

    learner.update = timed_update  # type: ignore[method-assign]
    env_steps_per_s = learning_phase_rate(trainer)
    n_updates = learner.num_updates
    with FlopCounterMode(display=False) as counter:  # one more update, counted
        update()
    flops = counter.get_total_flops()
    return {
        "env_steps_per_s": env_steps_per_s,
        "updates_per_s": n_updates / update_time[0],
        "gflop_per_update": flops / 1e9,
        "update_gflops": flops * n_updates / update_time[0] / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="SAC env steps after learning starts")
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--ant-iterations", type=int, default=2, help="metra_ant rollout + update rounds")
    parser.add_argument("--out", type=Path, default=Path("bench_out/speed_benchmark"))
    parser.add_argument("--device", default="cpu", help="cpu, or cuda: the GPU table (scripts/gpu_check.sh)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.device != "cpu":
        return gpu_main(args)
    runs: dict[tuple[str, int], list[float]] = {}

    def record(prefix: str, threads: int, result: dict[str, float]) -> None:
        for key, value in result.items():
            runs.setdefault((f"{prefix} {key}", threads), []).append(value)

    for r in range(args.rounds):  # alternate everything within each round
        for threads in (1, 2):
            runs.setdefault(("matmul GFLOP/s", threads), []).append(matmul_gflops(threads))
            bf16_rate = matmul_gflops(threads, dtype=torch.bfloat16)
            runs.setdefault(("matmul bfloat16 GFLOP/s", threads), []).append(bf16_rate)
            for name, variant in VARIANTS.items():
                record(
                    f"rlinfo SAC{name}",
                    threads,
                    rlinfo_sac(threads, args.steps, args.learning_starts, **variant),
                )
            runs.setdefault(("SB3 SAC steps_per_s", threads), []).append(
                sb3_sac(threads, args.steps, args.learning_starts)
            )
            for name, variant in VARIANTS.items():
                record(f"metra_ant{name}", threads, metra_ant(threads, args.ant_iterations, **variant))
            print(f"round {r + 1}/{args.rounds}, {threads} thread(s) done", flush=True)
    rows: list[dict[str, Any]] = []
    for (what, threads), values in runs.items():
        rows.append({"measure": what, "threads": threads, "median": statistics.median(values),
                     "min": min(values), "max": max(values), "rounds": len(values)})  # fmt: skip
    med = {(r["measure"], r["threads"]): r["median"] for r in rows}
    settings = [(name, t) for name in ("rlinfo SAC", "rlinfo SAC overlapped") for t in (1, 2)]
    best_rlinfo = max(settings, key=lambda s: med[(f"{s[0]} steps_per_s", s[1])])
    best_sb3 = max(med[("SB3 SAC steps_per_s", t)] for t in (1, 2))
    best_bf16 = max(med[("rlinfo SAC bfloat16 steps_per_s", t)] for t in (1, 2))
    peak = max(med[("matmul GFLOP/s", t)] for t in (1, 2))
    ceiling = peak / med[("rlinfo SAC gflop_per_update", 1)]  # env steps/s if updates ran at the matmul rate
    floor = 1e3 / med[("rlinfo SAC matmul_ms_per_update", 2)]  # ... if they did nothing but their matmuls
    ants = [(name, t) for name in ("metra_ant", "metra_ant overlapped") for t in (1, 2)]  # float32
    best_ant = max(ants, key=lambda s: med[(f"{s[0]} env_steps_per_s", s[1])])
    fraction = med[(f"{best_ant[0]} update_gflops", best_ant[1])] / med[("matmul GFLOP/s", best_ant[1])]
    from rlinfo.buffers import ReplayBuffer

    summary = {
        f"rlinfo / SB3 SAC env steps/s (each at its best setting; rlinfo: {best_rlinfo[0]}, {best_rlinfo[1]} "
        "threads)": med[(f"{best_rlinfo[0]} steps_per_s", best_rlinfo[1])] / best_sb3,
        "rlinfo SAC with train.precision=bfloat16 / SB3 SAC env steps/s (best thread count each)": best_bf16
        / best_sb3,
        "SAC UTD 1 ceiling: matmul GFLOP/s / GFLOP per update (env steps/s)": ceiling,
        "SB3 SAC env steps/s as a fraction of that ceiling": best_sb3 / ceiling,
        "SAC UTD 1 floor: env steps/s if an update were its matmuls alone (2 threads)": floor,
        "2x SB3 as a fraction of that floor": 2 * best_sb3 / floor,
        f"metra_ant update GFLOP/s / matmul GFLOP/s ({best_ant[0]}, {best_ant[1]} threads)": fraction,
        f"metra_ant env steps/s (best: {best_ant[0]}, {best_ant[1]} threads)": med[
            (f"{best_ant[0]} env_steps_per_s", best_ant[1])
        ],
        "metra_ant bfloat16 env steps/s (2 threads)": med[("metra_ant bfloat16 env_steps_per_s", 2)],
        "replay bytes per Ant transition (skill_dim 2)": ReplayBuffer.bytes_per_row(29, 8, 2),
        "peak RSS (MiB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(args.out / "speed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| measure | threads | median | min | max |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['measure']} | {r['threads']} | {r['median']:.4g} | {r['min']:.4g} | {r['max']:.4g} |"
        for r in rows
    ]
    lines += ["", "| summary | value |", "|---|---|"] + [f"| {k} | {v:.3g} |" for k, v in summary.items()]
    text = "\n".join(lines)
    (args.out / "speed.md").write_text(text + "\n")
    print(text)
    figure(med, args.out / "speed.png", ceiling, floor, best_sb3)


def gpu_main(args: argparse.Namespace) -> None:
    """On a GPU: rlinfo SAC (eager, CUDA graph) against SB3 SAC, and the metra_ant loop (eager, CUDA
    graph), alternating over rounds; torch threads as the machine's default."""
    threads, dev = torch.get_num_threads(), args.device
    runs: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for graph, precision in ((False, "float32"), (True, "float32"), (True, "bfloat16")):
            suffix = (" cuda_graph" if graph else "") + (" bfloat16" if precision == "bfloat16" else "")
            res = rlinfo_sac(
                threads, args.steps, args.learning_starts, device=dev, graph=graph, precision=precision
            )
            runs.setdefault(f"rlinfo SAC{suffix} steps_per_s", []).append(res["steps_per_s"])
            res = metra_ant(threads, args.ant_iterations, device=dev, graph=graph, precision=precision)
            for key in ("env_steps_per_s", "updates_per_s"):
                runs.setdefault(f"metra_ant{suffix} {key}", []).append(res[key])
        sb3 = sb3_sac(threads, args.steps, args.learning_starts, dev)
        runs.setdefault("SB3 SAC steps_per_s", []).append(sb3)
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    rows = [{"measure": k, "device": torch.cuda.get_device_name(dev), "median": statistics.median(v),
             "min": min(v), "max": max(v), "rounds": len(v)} for k, v in runs.items()]  # fmt: skip
    with open(args.out / "gpu_speed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"device: {rows[0]['device']}", "", "| measure | median | min | max |", "|---|---|---|---|"]
    lines += [f"| {r['measure']} | {r['median']:.4g} | {r['min']:.4g} | {r['max']:.4g} |" for r in rows]
    med = {k: statistics.median(v) for k, v in runs.items()}
    best = max(med[f"rlinfo SAC{s} steps_per_s"] for s in ("", " cuda_graph", " cuda_graph bfloat16"))
    lines += ["", f"rlinfo / SB3 SAC env steps/s: {best / med['SB3 SAC steps_per_s']:.3g}"]
    text = "\n".join(lines)
    (args.out / "gpu_speed.md").write_text(text + "\n")
    print(text)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["rlinfo SAC", "rlinfo SAC cuda_graph", "rlinfo SAC cuda_graph bfloat16", "SB3 SAC"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(names, [statistics.median(runs[f"{n} steps_per_s"]) for n in names], color="tab:blue")
    ax.set_ylabel(f"SAC env steps / s (UTD 1, half_cheetah, {rows[0]['device']})")
    fig.tight_layout()
    fig.savefig(args.out / "gpu_speed.png", dpi=110)
    plt.close(fig)


def figure(
    med: dict[tuple[str, int], float], path: Path, ceiling: float, floor: float, best_sb3: float
) -> None:
    """SAC env steps/s against the ceiling, the matmul floor and 2x SB3 (all from :func:`main`); metra_ant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = ["rlinfo SAC", "rlinfo SAC overlapped", "rlinfo SAC bfloat16", "SB3 SAC"]
    for i, threads in enumerate((1, 2)):
        axes[0].bar([j + 0.38 * i for j in range(4)], [med[(f"{n} steps_per_s", threads)] for n in names],
                    width=0.36, label=f"{threads} thread(s)")  # fmt: skip
    axes[0].axhline(ceiling, color="0.5", ls=":", label="machine ceiling (matmul rate)")
    axes[0].axhline(floor, color="tab:red", ls="--", label="the update's matmuls alone")
    axes[0].axhline(2 * best_sb3, color="tab:green", ls="-.", label="2 x SB3")
    axes[0].set_xticks([0.19, 1.19, 2.19, 3.19], ["rlinfo", "rlinfo\noverlapped", "rlinfo\nbfloat16", "SB3"])
    axes[0].set_ylabel("SAC env steps / s (UTD 1, half_cheetah)")
    axes[0].set_ylim(0, 1.5 * ceiling)
    axes[0].legend(fontsize=8, loc="upper center", ncol=2)
    for i, name in enumerate(("metra_ant", "metra_ant overlapped", "metra_ant bfloat16")):
        rate = [med[(f"{name} env_steps_per_s", t)] for t in (1, 2)]
        axes[1].bar([j + 0.27 * i for j in range(2)], rate, width=0.25, label=name)
    axes[1].set_xticks([0.27, 1.27], ["1 thread", "2 threads"])
    axes[1].axhline(118, color="0.5", ls=":", label="earlier rlinfo (118)")
    axes[1].legend(fontsize=8)
    axes[1].set_ylabel("metra_ant env steps / s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
