"""Speed of rlinfo's training loop against stable-baselines3 and against the machine's own limit.

Everything is measured by the one timing harness (``benchmarks/timing.py``): every contender once per
round, in alternating rounds in one process, median and min–max over rounds, speeds as ratios to a
peer measured in the same rounds. The loop is observed through the trainer's callback seam
(``rlinfo/run/callbacks.py``) only.

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

``--e2e`` measures instead ``rlinfo train sac_half_cheetah total_steps=1100`` end to end (process start
to exit: imports, building, training, checkpoint, the final 48-rollout evaluation and its figure)
against a stable-baselines3 script doing the same work (HalfCheetah-v5 with the preset's observation
and 200-step episodes, the preset's networks, batch, learning rate, buffer size, learning starts, UTD 1
and threads; ``model.save``, then 48 deterministic evaluation episodes on 48 vectorised envs), both as
subprocesses, alternating; once with the preset's ``learning_starts`` (5,000: 1,100 random steps, no
update) and once per ``--e2e-learning-starts`` value (100: 1,000 updates).

    python scripts/speed_benchmark.py                     # about 10 minutes on a 2-core CPU
    python scripts/speed_benchmark.py --rounds 1 --steps 300 --learning-starts 200 --ant-iterations 1 \
        --ant-grad-steps 5
    python scripts/speed_benchmark.py --e2e --rounds 5 --note "shared machine" --out docs/results

Writes <out>/speed_benchmark.csv (one row per round, contender and measure; default out:
bench_out/speed_benchmark) and ``--figure`` (default <out>/speed_benchmark.png), and prints the table;
with ``--e2e`` <out>/speed_e2e.csv, speed_e2e.md and ``--e2e-figure`` (default <out>/speed_e2e.png).
With ``--out docs/results``, ``python -m benchmarks.pages`` puts the tables and figures on the pages
(``benchmarks/speed_tables.py`` makes them from the CSV alone).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the timing harness)
from benchmarks import speed_tables, timing  # noqa: E402
from benchmarks.machine import measurable  # noqa: E402
from rlinfo.run.callbacks import Callback  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {  # rlinfo settings measured for SAC and metra_ant
    "": {},
    " overlapped": {"overlap": True},
    " bfloat16": {"precision": "bfloat16"},
}
HALF_CHEETAH = {"hidden": 256, "batch": 256, "lr": 3e-4, "gamma": 0.99, "tau": 5e-3, "buffer": 100_000}
RATE = speed_tables.RATE
named = speed_tables.named


def matmul_gflops(threads: int, n: int = 1024, reps: int = 20, dtype: torch.dtype = torch.float32) -> dict:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # warm up
    return {"GFLOP/s": 2 * n**3 * reps / timing.clock(lambda: [a @ b for _ in range(reps)]) / 1e9}


class LoopClock(Callback):
    """When each collect and each learn phase of the loop starts and ends (after a
    ``torch.cuda.synchronize`` on a GPU: kernels are timed, not their launch)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, float]] = []

    def mark(self, hook: str, trainer: Any, step: int) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        self.events.append((hook, step, time.perf_counter()))

    def on_collect_start(self, trainer: Any, step: int) -> None:
        self.mark("collect_start", trainer, step)

    def on_collect_end(self, trainer: Any, step: int) -> None:
        self.mark("collect_end", trainer, step)

    def on_learn_start(self, trainer: Any, step: int) -> None:
        self.mark("learn_start", trainer, step)

    def on_learn_end(self, trainer: Any, step: int) -> None:
        self.mark("learn_end", trainer, step)

    def phases(self, kind: str) -> list[tuple[int, float]]:
        """(step at its end, seconds) of every ``collect`` or ``learn`` phase."""
        starts = [t for hook, _, t in self.events if hook == f"{kind}_start"]
        ends = [(s, t) for hook, s, t in self.events if hook == f"{kind}_end"]
        return [(s, end - start) for start, (s, end) in zip(starts, ends, strict=True)]

    def steady_rate(self, learning_starts: int, total_steps: int) -> float:
        """Env steps per second between the first and the last learn phase with updates (the random
        phase, the last phase and anything after the loop are outside the clock). The last phase follows
        a collection cut short by total_steps (a rollout of T vector steps stores T·N real transitions,
        fewer where an episode's reset step falls in it): left out, unless the run is too short to have
        two phases without it."""
        learning = [(t, s) for hook, s, t in self.events if hook == "learn_start" and s >= learning_starts]
        steady = [(t, s) for t, s in learning if s < total_steps]
        steady = steady if len(steady) > 1 else learning
        if len(steady) < 2:
            return float("nan")
        (t0, s0), (t1, s1) = steady[0], steady[-1]
        return (s1 - s0) / (t1 - t0)


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

    clock = LoopClock()
    trainer = sac_trainer(
        threads, steps, learning_starts, overlap, device, graph, precision, callbacks=[clock]
    )
    trainer.train(final_evaluation=False)
    result = {RATE: clock.steady_rate(learning_starts, trainer.cfg.total_steps)}
    with FlopCounterMode(display=False) as counter:
        trainer.learner.update()
    result["GFLOP per update"] = counter.get_total_flops() / 1e9
    if device == "cpu":
        with RecordMatmuls() as matmuls:
            trainer.learner.update()
        result["matmul ms per update"] = 1e3 * matmuls.replay_seconds()
    return result


def sac_trainer(
    threads: int,
    steps: int,
    learning_starts: int,
    overlap: bool = False,
    device: str = "cpu",
    graph: bool = False,
    precision: str = "float32",
    extra: tuple[str, ...] = (),
    callbacks: tuple[Callback, ...] | list[Callback] = (),
) -> Any:
    """The ``sac_half_cheetah`` trainer set up for timing: ``learning_starts`` random steps, then
    ``steps`` with one update each; no logs, checkpoints or evaluation rollouts to speak of; ``extra``
    overrides (e.g. ``env.name=ant``)."""
    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    overrides = [f"total_steps={learning_starts + steps}", f"train.learning_starts={learning_starts}",
                 f"train.threads={threads}", "train.progress=false", f"train.log_every={10**9}",
                 "eval.num_rollouts=1", "eval.max_steps=1", "train.checkpoint_every=0",
                 f"train.overlap={str(overlap).lower()}", f"device={device}",
                 f"train.cuda_graph={str(graph).lower()}", f"train.precision={precision}",
                 *extra]  # fmt: skip
    return Trainer(load_config("sac_half_cheetah", overrides), callbacks=callbacks)


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

        def replay() -> None:
            for func, args, kw in calls:
                func(*args, **kw)

        replay()  # warm up
        return timing.clock(lambda: [replay() for _ in range(reps)]) / reps


def sb3_sac(
    threads: int,
    steps: int,
    learning_starts: int,
    device: str = "cpu",
    env: str = "half_cheetah",
    seed: int = 0,
) -> dict[str, float]:
    """SB3's SAC with the preset's hyperparameters: env steps/s from its first update
    (``learning_starts``) to the end, and over the whole ``learn`` call."""
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    from rlinfo.envs import make

    torch.set_num_threads(threads)
    hp = HALF_CHEETAH
    model = SAC(
        "MlpPolicy", make(env), learning_rate=hp["lr"], buffer_size=hp["buffer"],
        learning_starts=learning_starts, batch_size=hp["batch"], tau=hp["tau"], gamma=hp["gamma"],
        train_freq=1, gradient_steps=1, ent_coef="auto_1.0", policy_kwargs={"net_arch": [hp["hidden"]] * 2},
        device=device, seed=seed,
    )  # fmt: skip

    class Clock(BaseCallback):
        start = 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps == learning_starts:
                self.start = time.perf_counter()
            return True

    clock, start = Clock(), time.perf_counter()
    model.learn(learning_starts + steps, callback=clock)
    end = time.perf_counter()
    return {RATE: steps / (end - clock.start) if steps else float("nan"),
            f"{RATE}, whole run": (learning_starts + steps) / (end - start)}  # fmt: skip


def metra_ant(
    threads: int,
    iterations: int,
    grad_steps: int | None = None,
    overlap: bool = False,
    device: str = "cpu",
    graph: bool = False,
    precision: str = "float32",
) -> dict[str, float]:
    """The metra_ant preset's loop for ``iterations`` rollout + update rounds after one random round
    (``grad_steps`` updates a round: default the preset's 50)."""
    from torch.utils.flop_counter import FlopCounterMode

    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    per_round = 8 * 200
    overrides = [f"total_steps={per_round * (iterations + 1)}", f"train.learning_starts={per_round}"]
    overrides += [f"train.threads={threads}", "train.progress=false", "eval.num_rollouts=1"]
    overrides += ["eval.max_steps=1", f"train.overlap={str(overlap).lower()}", f"device={device}"]
    overrides += [f"train.cuda_graph={str(graph).lower()}", f"train.precision={precision}"]
    overrides += ["train.checkpoint_every=0", f"train.log_every={10**9}"]
    overrides += [f"train.grad_steps={grad_steps}"] if grad_steps else []
    clock = LoopClock()
    trainer = Trainer(load_config("metra_ant", overrides), callbacks=[clock])
    trainer.train(final_evaluation=False)
    update_s = sum(seconds for _, seconds in clock.phases("learn"))  # the phases before learning starts: ~0
    n_updates = trainer.learner.num_updates
    with FlopCounterMode(display=False) as counter:  # one more update, counted
        trainer.learner.update()
    flops = counter.get_total_flops()
    return {
        RATE: clock.steady_rate(per_round, trainer.cfg.total_steps),
        "updates/s": n_updates / update_s,
        "GFLOP per update": flops / 1e9,
        "update GFLOP/s": flops * n_updates / update_s / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="SAC env steps after learning starts")
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--ant-iterations", type=int, default=2, help="metra_ant rollout + update rounds")
    parser.add_argument("--ant-grad-steps", type=int, help="metra_ant updates a round (default: preset's)")
    parser.add_argument("--out", type=Path, default=Path("bench_out/speed_benchmark"))
    parser.add_argument("--figure", type=Path, help="the figure (default <out>/speed_benchmark.png)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda: the GPU table (scripts/gpu_check.sh)")
    parser.add_argument("--note", default="", help='said after the machine in the CSV, e.g. "shared machine"')
    parser.add_argument("--e2e", action="store_true", help="rlinfo train against SB3, end to end (above)")
    parser.add_argument("--e2e-steps", type=int, default=1100, help="total_steps of each --e2e run")
    parser.add_argument("--e2e-learning-starts", type=int, nargs="*", default=[100],
                        help="--e2e: learning_starts besides the preset's")  # fmt: skip
    parser.add_argument("--e2e-figure", type=Path, help="--e2e: the figure (default <out>/speed_e2e.png)")
    parser.add_argument(
        "--e2e-report", type=Path, metavar="CSV", help="only remake an --e2e CSV's table, figure"
    )
    args = parser.parse_args()
    if args.e2e_report:
        e2e_report(args.e2e_report, args.e2e_figure or args.e2e_report.with_suffix(".png"))
        return None
    args.out.mkdir(parents=True, exist_ok=True)
    if args.e2e:
        return e2e_main(args)
    if args.device != "cpu":
        return gpu_main(args)
    precisions = measurable(["float32", "bfloat16"])
    variants = {k: v for k, v in VARIANTS.items() if v.get("precision", "float32") in precisions}
    contenders: dict[str, Any] = {}
    for threads in (1, 2):
        contenders[named("matmul float32", threads)] = partial(matmul_gflops, threads)
        if "bfloat16" in precisions:
            bf16 = partial(matmul_gflops, threads, dtype=torch.bfloat16)
            contenders[named("matmul bfloat16", threads)] = bf16
        for name, variant in variants.items():
            contenders[named(f"rlinfo SAC{name}", threads)] = partial(
                rlinfo_sac, threads, args.steps, args.learning_starts, **variant
            )
        contenders[named("SB3 SAC", threads)] = partial(sb3_sac, threads, args.steps, args.learning_starts)
        for name, variant in variants.items():
            contenders[named(f"metra_ant{name}", threads)] = partial(
                metra_ant, threads, args.ant_iterations, args.ant_grad_steps, **variant
            )
    path = args.out / "speed_benchmark.csv"

    def write(runs: timing.Timing) -> None:  # after every round: a killed run keeps its finished rounds
        timing.write_csv(path, timing.per_round(runs), note=args.note)

    timing.measure(contenders, args.rounds, on_round=write)
    print("\n".join(speed_tables.speed_block(path)))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    speed_tables.speed_figure(path, args.figure or args.out / "speed_benchmark.png")


def gpu_main(args: argparse.Namespace) -> None:
    """On a GPU: rlinfo SAC (eager, CUDA graph) against SB3 SAC, and the metra_ant loop (eager, CUDA
    graph), alternating over rounds; torch threads as the machine's default."""
    threads, dev = torch.get_num_threads(), args.device
    contenders: dict[str, Any] = {}
    for graph, precision in ((False, "float32"), (True, "float32"), (True, "bfloat16")):
        suffix = (" cuda_graph" if graph else "") + (" bfloat16" if precision == "bfloat16" else "")
        setting = {"device": dev, "graph": graph, "precision": precision}
        contenders[f"rlinfo SAC{suffix}"] = partial(
            rlinfo_sac, threads, args.steps, args.learning_starts, **setting
        )
        ant = partial(metra_ant, threads, args.ant_iterations, args.ant_grad_steps, **setting)
        contenders[f"metra_ant{suffix}"] = ant
    contenders["SB3 SAC"] = partial(sb3_sac, threads, args.steps, args.learning_starts, dev)
    runs = timing.measure(contenders, args.rounds)
    rows = [r for r in timing.summary(runs) if r["measure"] in (RATE, "updates/s")]
    sac = [c for c in contenders if c.startswith("rlinfo SAC")]
    rows += [timing.ratio(runs, c, "SB3 SAC", RATE) for c in sac]
    device = torch.cuda.get_device_name(dev)
    timing.write_csv(args.out / "gpu_speed.csv", rows, note=args.note)
    columns = {"contender": "contender", "measure": "measure", "median (min–max)": timing.spread_cell}
    text = f"device: {device}\n\n" + timing.markdown(rows, columns)
    (args.out / "gpu_speed.md").write_text(text + "\n")
    print(text)
    shown = [r for r in rows if r["measure"] == RATE and "SAC" in r["contender"]]
    timing.figure(shown, args.out / "gpu_speed.png", f"SAC env steps / s (UTD 1, half_cheetah, {device})")


# ----------------------------------------------------------------------------- --e2e
E2E_SB3 = """
import json, sys
import gymnasium as gym, torch
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
w = json.loads(sys.argv[1])
torch.set_num_threads(w["threads"])
env_kwargs = {"max_episode_steps": w["episode_steps"], **w["env_kwargs"]}
model = SAC("MlpPolicy", gym.make(w["env_id"], **env_kwargs), learning_rate=w["lr"], buffer_size=w["buffer"],
            learning_starts=w["learning_starts"], batch_size=w["batch"], tau=w["tau"], gamma=w["gamma"],
            train_freq=1, gradient_steps=1, ent_coef=f"auto_{w['alpha_init']}",
            policy_kwargs={"net_arch": [w["hidden"]] * w["layers"]}, seed=w["seed"], device="auto")
model.learn(w["steps"])
model.save("sac_half_cheetah")
n = w["eval_rollouts"]
evaluate_policy(model, make_vec_env(w["env_id"], n_envs=n, seed=w["seed"], env_kwargs=env_kwargs),
                n_eval_episodes=n, deterministic=True)
print(json.dumps({"updates": model._n_updates}))
"""


def e2e_commands(steps: int, learning_starts: int | None = None) -> dict[str, list[str]]:
    """``rlinfo train sac_half_cheetah total_steps=<steps>`` (with ``train.learning_starts`` when given)
    and the SB3 script doing the same work, as argument lists; the SB3 side's settings are read from the
    same resolved config, so they cannot drift from the preset."""
    from rlinfo.config import load_config
    from rlinfo.envs.locomotion import HALF_CHEETAH_DEFAULTS
    from rlinfo.run.host import thread_count

    overrides = [f"total_steps={steps}"]
    if learning_starts is not None:
        overrides.append(f"train.learning_starts={learning_starts}")
    cfg = load_config("sac_half_cheetah", overrides)
    a, t, kwargs = cfg.agent, cfg.train, dict(cfg.env.kwargs)
    mirrored = (cfg.env.name == "half_cheetah" and cfg.env.num_envs == 1 and t.rollout_steps == 1
                and t.grad_steps == 1 and t.n_step == 1 and a.name == "sac" and a.learn_alpha
                and a.target_entropy_scale == 1.0 and cfg.reward.name == "none" and cfg.eval.max_steps == 0
                and not kwargs.get("normalize_obs") and t.precision == "float32")  # fmt: skip
    if not mirrored:
        raise SystemExit(
            "speed_benchmark --e2e: the sac_half_cheetah preset changed; update E2E_SB3 to match"
        )
    # rlinfo updates from step learning_starts on, SB3 after it: one step earlier, the same update count
    work = {"steps": steps, "learning_starts": max(t.learning_starts - 1, 0), "hidden": a.hidden_dim,
            "layers": a.num_layers, "lr": a.lr, "gamma": a.gamma, "tau": a.tau, "batch": a.batch_size,
            "alpha_init": a.alpha_init, "buffer": t.buffer_size, "threads": thread_count(cfg),
            "seed": cfg.seed, "eval_rollouts": cfg.eval.num_rollouts, "env_id": "HalfCheetah-v5",
            "episode_steps": kwargs.pop("max_episode_steps", 200),
            "env_kwargs": {**HALF_CHEETAH_DEFAULTS, **kwargs}}  # fmt: skip
    return {"rlinfo": [sys.executable, "-m", "rlinfo.run.cli", "train", "sac_half_cheetah", *overrides],
            "SB3": [sys.executable, "-c", E2E_SB3, json.dumps(work)]}  # fmt: skip


def e2e_run(argv: list[str], rlinfo: bool) -> dict[str, float]:
    """Seconds from process start to exit, in a fresh folder, and the updates the run made (rlinfo: read
    from its checkpoint; SB3: printed), after the clock."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"{argv[:6]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        if rlinfo:
            (latest,) = Path(folder).glob("runs/*/checkpoints/latest.json")
            state = torch.load(latest.parent / json.loads(latest.read_text())["file"], weights_only=True)
            updates = json.loads(state["state"]["meta"])["learner"]["num_updates"]
        else:
            updates = json.loads(done.stdout.strip().splitlines()[-1])["updates"]
    return {"s": seconds, "updates": updates}


def code_revision(base: str = "HEAD") -> str:
    """The commit ``base`` of the code the rlinfo runs import (short hash), ``+ uncommitted changes`` and
    their hash where the working tree differs from it under rlinfo/, agents/, envs/ or configs/."""
    import hashlib

    root, paths = Path(__file__).resolve().parents[1], ["rlinfo", "agents", "envs", "configs"]

    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=root, capture_output=True, text=True).stdout.strip()

    head, diff = git("rev-parse", "--short", base), git("diff", base, "--", *paths)
    return f"{head} + uncommitted changes {hashlib.sha256(diff.encode()).hexdigest()[:8]}" if diff else head


def e2e_main(args: argparse.Namespace) -> None:
    from rlinfo.config import load_config

    preset = load_config("sac_half_cheetah", []).train.learning_starts
    contenders, process = {}, {}
    for starts in dict.fromkeys([preset, *args.e2e_learning_starts]):
        commands = e2e_commands(args.e2e_steps, None if starts == preset else starts)
        label = f"learning_starts={starts}"
        for who, argv in commands.items():
            contenders[f"{who}, {label}"] = partial(e2e_run, argv, who == "rlinfo")
            shown = argv[1:] if who == "rlinfo" else ["-c", "E2E_SB3 (scripts/speed_benchmark.py)", argv[-1]]
            process[f"{who}, {label}"] = "python " + " ".join(shown)
    revision, path = code_revision(), args.out / "speed_e2e.csv"

    def write(runs: timing.Timing) -> None:  # after every round: a killed run keeps its finished rounds
        label = revision
        if code_revision(revision.split()[0]) != revision:  # against the same commit: later commits pass
            label += " (the code changed during the run)"
        rows = [{**r, "process": process[r["contender"]], "revision": label} for r in timing.per_round(runs)]
        timing.write_csv(path, rows, note=args.note)
        e2e_report(path, args.e2e_figure or args.out / "speed_e2e.png")

    timing.measure(contenders, args.rounds, name="s", on_round=write)


def e2e_report(path: Path, image: Path) -> str:
    """speed_e2e.md (beside the CSV) and the figure, from the CSV alone (benchmarks/speed_tables.py)."""
    text = speed_tables.e2e_text(path)
    path.with_suffix(".md").write_text(text)
    print(text)
    speed_tables.e2e_figure(path, image)
    return text


if __name__ == "__main__":
    main()
