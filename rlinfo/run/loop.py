"""The one training loop of every run, off-policy (SAC, SLIM) and on-policy (PPO) alike.

    build(cfg) -> Parts                     rlinfo/run/build.py: envs, reward module, agent, training reward
    while step < total_steps:
        step = learner.collect(collector, ...)  rlinfo/run/{offpolicy,onpolicy}.py: what differs
        stats = learner.learn(step, progress)
        log / evaluate / checkpoint on their schedules (train.log_every, eval_every, checkpoint_every)
    checkpoint, then the final evaluation

The :class:`Trainer` owns the schedule, the TensorBoard writer, the progress bar, the metrics (summed
on the device, read once per log interval, checked for NaN), the skill generator and the checkpoints.
Each saved state has one owner with a get/set pair: the trainer (step, marks, RNGs, metrics), the
collector (episodes), the learner (its generator, counters, replay buffer chunks), the agent and the
reward module (their state dicts and optimisers) and the maze vector env (its positions and RNG).
A resumed run continues exactly as if it had not stopped (same seed, CPU): the maze env is restored
mid-episode; other envs start new episodes from a step-dependent seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from rlinfo.buffer_chunks import BufferChunks
from rlinfo.checkpoint import (
    checkpoint_errors,
    describe_os_error,
    latest_checkpoint,
    load_checkpoint,
    previous,
    save_checkpoint,
)
from rlinfo.config import Config, to_dict
from rlinfo.envs.state import get_state as get_env_state
from rlinfo.envs.state import set_state as set_env_state
from rlinfo.errors import CheckpointError, NonFiniteError, RlinfoError, one_line
from rlinfo.files import refuse_links, remove_stale_temporaries
from rlinfo.nn import cpu_has_bfloat16
from rlinfo.rewards import SkillReward
from rlinfo.run.build import Parts, build
from rlinfo.run.callbacks import Callback
from rlinfo.run.collect import Collector
from rlinfo.run.evaluate import (
    episode_returns,
    evaluate_policy,
    evaluation_skills,
    skills_gif,
    write_eval,
)
from rlinfo.run.evaluate import (
    final_evaluation as run_final_evaluation,
)
from rlinfo.run.lock import RunLock
from rlinfo.run.monitor import add_gif, advance, phase_bar, progress_bar, stat_tag, warn
from rlinfo.run.offpolicy import OffPolicy
from rlinfo.run.onpolicy import OnPolicy
from rlinfo.run.resume import (
    check_against_checkpoint,
    non_finite_error,
    record_resume,
    resume_config,
    upgrade_loop_state,
)
from rlinfo.run.rundir import read_eval


class Metrics:
    """Sums of update statistics kept on the device; read once per log interval."""

    def __init__(self, start_step: int = 0) -> None:
        self.sums: dict[str, Tensor] = {}
        self.count = 0
        self.start_step, self.start_time = start_step, time.perf_counter()

    def add(self, stats: dict[str, Tensor]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums[k] + v.detach() if k in self.sums else v.detach().clone()
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: (v / max(self.count, 1)).item() for k, v in self.sums.items()}

    def steps_per_second(self, step: int) -> float:
        return (step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)


@dataclass
class Marks:
    """The next env steps at which the loop logs, checkpoints and evaluates."""

    log: int
    ckpt: int
    eval: int


class Trainer:
    """One run: its parts, the learner that differs by agent, and the loop around them."""

    def __init__(
        self, cfg: Config, run_dir: str | Path | None = None, callbacks: Sequence[Callback] = ()
    ) -> None:
        self.cfg = cfg
        self.callbacks = list(callbacks)  # observers of the loop (rlinfo/run/callbacks.py)
        self.parts: Parts = build(cfg)  # every config error is raised here, before anything is written
        self.learner: OffPolicy | OnPolicy = (
            OnPolicy(self.parts) if self.parts.on_policy else OffPolicy(self.parts)
        )
        self.skill_gen = torch.Generator().manual_seed(cfg.seed + 1)
        clip = self.parts.on_policy and isinstance(self.envs.single_action_space, gym.spaces.Box)
        self.collector = Collector(
            self.envs, self.sample_skills, self.device, cfg.env.name, self.non_finite, clip_actions=clip
        )
        self.global_step = 0  # env transitions collected
        self.started = False  # the collector holds live episodes
        self.env_restored = True  # False after a resume that had to start new episodes
        self.metrics = Metrics()
        self.marks = Marks(0, 0, 0)
        self.history: list[dict[str, float]] = []  # one row of logged scalars per log interval
        self.writer: SummaryWriter | None = None
        self.purge_step: int | None = None  # on resume: drop TensorBoard events after the checkpoint
        self.run_dir: Path | None = None
        self.chunks: BufferChunks | None = None
        self.lock: RunLock | None = None
        self.stop_signal: int | None = None  # SIGINT/SIGTERM received: checkpoint and stop
        if run_dir is not None:
            self.attach(cfg, run_dir)

    # ------------------------------------------------------------------ parts

    @property
    def agent(self) -> Any:
        return self.parts.agent

    @property
    def reward_module(self) -> Any:
        return self.parts.reward_module

    @property
    def envs(self) -> gym.vector.VectorEnv:
        return self.parts.envs

    @property
    def device(self) -> torch.device:
        return self.parts.device

    @property
    def buffer(self) -> Any:
        """The replay buffer of an off-policy run."""
        assert isinstance(self.learner, OffPolicy), "on-policy runs keep no replay buffer"
        return self.learner.buffer

    def attach(self, cfg: Config, run_dir: str | Path) -> None:
        """Write into ``run_dir`` from now on: take its lock (one writer per run) and clear what a kill
        left half-written. The CLI builds and validates everything before creating the directory."""
        refuse_links(Path(run_dir))
        self.lock = RunLock(Path(run_dir))
        self.cfg, self.run_dir = cfg, Path(run_dir)
        remove_stale_temporaries(self.run_dir)
        self.chunks = BufferChunks(self.run_dir / "checkpoints" / "buffer")

    def close(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
        except OSError:
            pass  # the events file is not writable: already reported by the failing write
        finally:
            self.learner.close()
            self.parts.close()
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def sample_skills(self, n: int) -> Tensor:
        if not isinstance(self.reward_module, SkillReward):
            return torch.zeros(n, 0)
        return self.reward_module.skill_space.sample(n, generator=self.skill_gen)

    # ------------------------------------------------------------------ the loop

    def start(self) -> None:
        """New episodes in every env; the log, checkpoint and evaluation marks of a fresh run."""
        cfg, train = self.cfg, self.cfg.train
        if self.parts.on_policy:
            torch.manual_seed(cfg.seed)  # PPO samples actions from the global generator
        self.collector.reset(cfg.seed)
        self.metrics = Metrics()
        self.marks = Marks(
            train.log_every, train.checkpoint_every or cfg.total_steps, train.eval_every or cfg.total_steps
        )
        self.started = True

    def train(self, final_evaluation: bool = True) -> dict[str, Any]:
        """Run until ``total_steps`` env steps; checkpoint; return the final evaluation (``{}`` without
        one: ``final_evaluation=False``, e.g. a speed benchmark)."""
        with stop_signals(self), quiet_writer_thread():
            try:
                if self.run_dir is not None:
                    self.writer = SummaryWriter(str(self.run_dir), purge_step=self.purge_step)
                return self._train(final_evaluation)
            finally:
                self.close()

    def emit(self, hook: str, step: int) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, step)

    def _train(self, final_evaluation: bool = True) -> dict[str, Any]:
        cfg = self.cfg
        if not self.started:
            self.start()
        if not self.parts.on_policy and cfg.total_steps <= cfg.train.learning_starts:
            warn(
                f"total_steps={cfg.total_steps} <= train.learning_starts={cfg.train.learning_starts}: "
                "no update will happen (the policy stays uniformly random)"
            )
        if cfg.train.precision == "bfloat16" and self.device.type == "cpu" and cpu_has_bfloat16() is False:
            warn(
                "train.precision=bfloat16: this CPU has no native bfloat16 matmul (avx512_bf16 or amx_bf16), "
                "so torch emulates it and the updates will likely be slower than in float32"
            )
        if cfg.train.cuda_graph and self.device.type != "cuda":
            warn("train.cuda_graph=true needs device=cuda: on the CPU every update runs eagerly")
        bar = progress_bar(cfg.total_steps, self.global_step, cfg.train.progress)
        marks, train = self.marks, cfg.train
        while self.global_step < cfg.total_steps:
            before = self.global_step
            self.emit("on_collect_start", before)
            self.global_step = self.learner.collect(self.collector, self.global_step, cfg.total_steps)
            self.emit("on_collect_end", self.global_step)
            advance(bar, before, self.global_step)
            progress = min(self.global_step / cfg.total_steps, 1.0)
            self.emit("on_learn_start", self.global_step)
            for stats in self.learner.learn(self.global_step, progress, self.collector):
                self.metrics.add(stats)
            self.emit("on_learn_end", self.global_step)
            running = self.global_step < cfg.total_steps
            # each mark moves before its action, so a checkpoint holds the next marks (resume repeats none)
            if self.global_step >= marks.log or not running:
                marks.log += train.log_every
                self.log(bar)
            if train.eval_every and self.global_step >= marks.eval and running:
                marks.eval += train.eval_every
                self.evaluate(figure_path=None)
            if self.run_dir is not None and self.global_step >= marks.ckpt and running:
                marks.ckpt += train.checkpoint_every
                self.save()
            if self.stop_signal is not None and running:
                bar.close()
                raise self.stopped()
        bar.close()
        if self.run_dir is not None:
            self.save()  # the final state first: a failing evaluation can never lose it
        if not final_evaluation:
            return {}
        figure = self.run_dir / "skills.png" if self.run_dir is not None and cfg.eval.figure else None
        return run_final_evaluation(self.run_dir, lambda: self.evaluate(figure))

    def log(self, bar: tqdm) -> None:
        """Read the device metrics once per interval, check them, write TensorBoard and the bar."""
        self.learner.flush(self.collector)
        sps = self.metrics.steps_per_second(self.global_step)
        scalars = self.metrics.means()
        for name, value in scalars.items():
            if not np.isfinite(value):
                raise self.non_finite(name, value)
        charts = self.collector.summary()
        self.history.append({"step": float(self.global_step), **scalars, **charts})
        self.metrics = Metrics(self.global_step)
        reward_free = self.reward_module is not None and not self.cfg.reward.extrinsic_weight
        postfix = {"sps": f"{sps:.0f}"}
        shown = "intrinsic_return" if reward_free else "episodic_return"
        if shown in charts:
            postfix["int_return" if reward_free else "return"] = f"{charts[shown]:.3g}"
        bar.set_postfix(postfix, refresh=False)
        if self.writer is None:
            return
        step = self.global_step
        with self.event_errors():
            for name, value in {"sps": sps, **charts}.items():
                self.writer.add_scalar(f"charts/{name}", value, step)
            for name, value in scalars.items():
                group, _, stat = name.partition("/")
                tag = stat_tag(group, stat, self.agent.loss_names, self.cfg.reward.name)
                self.writer.add_scalar(tag, value, step)

    @contextmanager
    def event_errors(self) -> Iterator[None]:
        """An OS error of the TensorBoard writer (in its thread or here) as one line naming the file."""
        try:
            yield
        except OSError as e:
            where = e.filename or f"the TensorBoard events in {self.run_dir}"
            last = previous(self.run_dir) if self.run_dir is not None else ""
            raise RlinfoError(f"{describe_os_error(e, f'cannot write {where}')}; {last}") from None

    def evaluate(self, figure_path: Path | None) -> dict[str, Any]:
        """Coverage (+ figure) where the env reports positions; return and success of PPO episodes."""
        cfg, result = self.cfg, {}
        with phase_bar(f"evaluating ({cfg.eval.num_rollouts} rollouts)", cfg.train.progress) as bar:
            if self.parts.on_policy:
                skill_rows = evaluation_skills(cfg, self.reward_module, cfg.eval.num_rollouts)
                result.update(episode_returns(cfg, self.agent, skill_rows, self.device, bar.update))
            if self.reports_positions():
                result.update(
                    evaluate_policy(cfg, self.agent, self.reward_module, self.device, figure_path, bar.update)
                )
        result["steps"] = self.global_step
        if self.writer is not None:
            with self.event_errors():
                for k, v in result.items():
                    if isinstance(v, (int, float)) and k != "steps":
                        self.writer.add_scalar(f"eval/{k}", v, self.global_step)
                if cfg.eval.tensorboard_video:  # the first n evaluation skills, rendered
                    n = cfg.eval.tensorboard_video
                    with phase_bar(f"rendering {n} skills for TensorBoard", cfg.train.progress):
                        gif = skills_gif(cfg, self.agent, self.reward_module, self.device, n)
                    add_gif(self.writer, "eval/skills_video", gif, self.global_step)
        if self.run_dir is not None:
            write_eval(self.run_dir, result)
        return result

    def reports_positions(self) -> bool:
        """True when the env's infos carry ``"xy"`` (every rlinfo env; not plain ``gym:<id>`` tasks)."""
        return not self.cfg.env.name.startswith("gym:")

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Networks and optimisers (log α and METRA's λ are parameters), plus the loop's own state."""
        state: dict[str, Any] = {
            "step": self.global_step,
            "agent": self.agent.state_dict(),
            "agent_optim": {k: o.state_dict() for k, o in self.agent.optimizers.items()},
        }
        if self.reward_module is not None:
            state["reward"] = self.reward_module.state_dict()
            state["reward_optim"] = self.reward_module.optimizer_state()
        rng = {"torch": torch.get_rng_state(), "skill_gen": self.skill_gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        learner_tensors, learner_meta = self.learner.state_dict()
        collector_tensors, collector_meta = self.collector.state_dict()
        state["loop"] = {
            "rng": rng,
            "metric_sums": dict(self.metrics.sums),
            "learner": learner_tensors,
            "collector": collector_tensors,
        }
        meta: dict[str, Any] = {
            "global_step": self.global_step,
            "marks": asdict(self.marks),
            "metrics": {"count": self.metrics.count, "start_step": self.metrics.start_step},
            "learner": learner_meta,
            "collector": collector_meta,
            "action_space_rng": self.envs.action_space.np_random.bit_generator.state,
            "config": to_dict(self.cfg),  # resume refuses a config.yaml whose identity keys were edited
        }
        env = get_env_state(self.envs)
        if env is not None:  # mazes, classic control, MuJoCo: continue mid-episode
            state["loop"]["env"] = {k: torch.from_numpy(v) for k, v in env[0].items()}
            meta["env"] = env[1]
        state["meta"] = json.dumps(meta)
        return state

    def load_networks(self, state: dict[str, Any]) -> None:
        """The agent, the reward module and their optimisers from a checkpoint's state."""
        optimizers = list(self.agent.optimizers.values())
        if self.reward_module is not None:
            optimizers += list(self.reward_module.optimizers.values())
        configured = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
        parts = [("agent", self.agent, state.get("agent"))]
        parts.append(("reward", self.reward_module, state.get("reward")))
        with checkpoint_mismatch():
            for name, module, saved in parts:
                if module is not None:
                    mismatch = first_mismatch(module.state_dict(), saved)
                    if mismatch:
                        raise CheckpointError(f"checkpoint does not match this run: {name} {mismatch}")
                    module.load_state_dict(saved)
            for k, opt in self.agent.optimizers.items():
                opt.load_state_dict(state["agent_optim"][k])
            if self.reward_module is not None:
                self.reward_module.load_optimizer_state(state["reward_optim"])
        for opt, lrs in zip(optimizers, configured, strict=True):  # the config's rates (resume may lower)
            for group, lr in zip(opt.param_groups, lrs, strict=True):
                group["lr"] = lr

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` and the chunked buffer; mismatches are CheckpointErrors."""
        self.load_networks(state)
        with checkpoint_mismatch():
            self.load_loop_state(*upgrade_loop_state(state["loop"], json.loads(state["meta"])))
            if isinstance(self.learner, OffPolicy) and self.chunks is not None:
                self.learner.load_files(self.chunks, json.loads(state["buffer"]), "env" in state["loop"])

    def load_loop_state(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        cfg = self.cfg
        self.global_step = int(meta["global_step"])
        self.marks = Marks(**meta["marks"])
        # a finished run's last checkpoint keeps the marks of its last iteration, where the final
        # evaluation and checkpoint stood in for the periodic ones: the next are one interval later;
        # a schedule turned on or shortened on resume starts from here (a kept one is never later);
        # a schedule turned off waits for the end of the run
        train = cfg.train
        for name, every in (("eval", train.eval_every), ("ckpt", train.checkpoint_every)):
            mark = getattr(self.marks, name)
            while every and mark <= self.global_step:
                mark += every
            setattr(self.marks, name, min(mark, self.global_step + every) if every else cfg.total_steps)
        torch.set_rng_state(tensors["rng"]["torch"].cpu())
        self.skill_gen.set_state(tensors["rng"]["skill_gen"].cpu())
        if "cuda" in tensors["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng"]["cuda"].cpu(), self.device)
        self.envs.action_space.np_random.bit_generator.state = meta["action_space_rng"]
        self.metrics = Metrics(int(meta["metrics"]["start_step"]))
        self.metrics.sums = {k: v.to(self.device) for k, v in tensors["metric_sums"].items()}
        self.metrics.count = int(meta["metrics"]["count"])
        self.learner.load_state_dict(tensors["learner"], meta["learner"])
        self.env_restored = "env" in tensors and get_env_state(self.envs) is not None
        if self.env_restored:  # continue exactly, mid-episode
            set_env_state(self.envs, {k: v.numpy() for k, v in tensors["env"].items()}, meta["env"])
            self.collector.load_state_dict(tensors["collector"], meta["collector"])
        else:  # an env that cannot be restored: new episodes from a step-dependent seed
            self.collector.load_state_dict(tensors["collector"], meta["collector"])
            self.collector.reset(cfg.seed + self.global_step)
        self.started = True

    @classmethod
    def resume(cls, run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Trainer:
        """A trainer that continues the run in ``run_dir`` from its latest checkpoint."""
        run_dir = Path(run_dir)
        cfg, saved = resume_config(run_dir, overrides)  # reads only: a refused resume writes nothing
        path = latest_checkpoint(run_dir)
        state = load_checkpoint(path)
        check_against_checkpoint(cfg, checkpoint_meta(state, path).get("config"), int(state["step"]))
        if int(state["step"]) >= cfg.total_steps:
            try:
                evaluated = int(read_eval(run_dir)["steps"])
            except RlinfoError:  # no (readable) eval.json
                evaluated = -1
            if evaluated < int(state["step"]):  # killed during (or before) its final evaluation
                raise RlinfoError(
                    f"run {run_dir} finished training (step {int(state['step'])}) but not its final "
                    f"evaluation; `rlinfo eval {run_dir}` redoes it from the final checkpoint"
                )
            raise RlinfoError(
                f"run {run_dir} already reached total_steps={cfg.total_steps}; to train further resume with "
                f"a larger total_steps=..."
            )
        trainer = cls(cfg)  # builds and checks everything (e.g. device=cuda on a CPU machine) first
        try:
            trainer.attach(cfg, run_dir)  # the run directory's lock: one writer at a time
            trainer.load_state_dict(state)
            record_resume(run_dir, saved, cfg, trainer.global_step)
        except BaseException:
            trainer.close()
            raise
        trainer.purge_step = trainer.global_step + 1  # events the killed process wrote later are dropped
        return trainer

    def save(self) -> Path:
        """Write the changed buffer chunks (off-policy), then the checkpoint; then prune old chunks."""
        assert self.run_dir is not None and self.chunks is not None
        self.check_finite()  # a checkpoint never holds a NaN: the latest one is always a good one
        state = self.state_dict()
        if isinstance(self.learner, OffPolicy):
            with checkpoint_errors(self.run_dir, self.global_step):
                state["buffer"] = json.dumps(self.learner.save_files(self.chunks, self.global_step))
        path = save_checkpoint(self.run_dir, self.global_step, state, keep=self.cfg.train.keep_checkpoints)
        self.chunks.prune()
        return path

    def check_finite(self) -> None:
        """Raise :meth:`non_finite` for the first NaN/inf in the networks, optimisers or dual variables."""
        named: list[tuple[str, Any]] = [(f"agent {k}", v) for k, v in self.agent.state_dict().items()]
        for k, opt in self.agent.optimizers.items():
            for i, slots in opt.state_dict()["state"].items():
                named += [(f"agent optimiser {k} state {i}.{n}", v) for n, v in slots.items()]
        if self.reward_module is not None:
            module = self.reward_module
            named += [(f"{module.name} {k}", v) for k, v in module.state_dict().items()]
        for name, value in named:
            if isinstance(value, Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
                raise self.non_finite(name, value[~torch.isfinite(value)].flatten()[0].item())

    def stopped(self) -> RlinfoError:
        """Checkpoint now; the error that ends a run stopped by SIGINT/SIGTERM (exit 128 + signal)."""
        import signal

        name = signal.Signals(self.stop_signal).name if self.stop_signal else "a signal"
        if self.run_dir is None:
            return Stopped(f"stopped by {name} at step {self.global_step}", self.stop_signal)
        self.save()
        return Stopped(
            f"stopped by {name} at step {self.global_step}; checkpoint saved; resume with: "
            f"rlinfo train --resume {self.run_dir}",
            self.stop_signal,
        )

    def non_finite(self, what: str, value: Any) -> NonFiniteError:
        """The error that stops a run at a NaN/inf: names the quantity and step and how to resume."""
        return non_finite_error(what, value, self.global_step, self.run_dir)


class Stopped(RlinfoError):
    """A run stopped by SIGINT or SIGTERM after writing its checkpoint; the exit code is 128 + signal."""

    def __init__(self, message: str, signum: int | None) -> None:
        super().__init__(message)
        self.exit_code = 128 + (signum or 2)


@contextmanager
def stop_signals(trainer: Trainer) -> Iterator[None]:
    """SIGINT/SIGTERM set ``trainer.stop_signal``: the loop finishes its update, checkpoints, stops.
    A second signal stops at once (KeyboardInterrupt)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if trainer.stop_signal is not None:
            if trainer.run_dir is None:
                raise KeyboardInterrupt("stopped at once by a second signal")
            raise KeyboardInterrupt(
                f"stopped at once by a second signal, without a new checkpoint; {previous(trainer.run_dir)}; "
                f"resume with: rlinfo train --resume {trainer.run_dir}"
            )
        trainer.stop_signal = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def quiet_writer_thread() -> Iterator[None]:
    """Keep TensorBoard's writer thread from printing a traceback when a write fails (full disk,
    read-only directory): the same error reaches the main thread at its next write, as one line."""
    import threading

    previous_hook = threading.excepthook

    def hook(args: Any) -> None:
        if type(args.thread).__name__ == "_AsyncWriterThread" and issubclass(args.exc_type, OSError):
            return
        previous_hook(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous_hook


@contextmanager
def checkpoint_mismatch(path: Path | None = None) -> Iterator[None]:
    """A checkpoint that lacks a key, is malformed or does not fit this run, as one CheckpointError line
    (naming the file when ``path`` is given)."""
    what = f"checkpoint {path}" if path is not None else "checkpoint"
    try:
        yield
    except CheckpointError:
        raise
    except KeyError as e:
        raise CheckpointError(f"{what} lacks {e} (not saved by rlinfo, or by another version?)") from None
    except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as e:
        reason = one_line(str(e) or type(e).__name__)
        raise CheckpointError(f"{what} does not match this run: {reason}") from None


def checkpoint_meta(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """The JSON metadata of a trainer checkpoint, checked: one CheckpointError line naming ``path``."""
    with checkpoint_mismatch(path):
        meta = json.loads(state["meta"])
        if not isinstance(meta, dict) or not isinstance(state["step"], (int, Tensor)):
            raise TypeError("its 'meta' is not a JSON object or its 'step' is not a number")
        return meta


def first_mismatch(current: dict[str, Tensor], saved: Any) -> str:
    """The first key missing, unexpected or of another shape in ``saved`` (a state dict), or ''."""
    if not isinstance(saved, dict):
        return f"state is {type(saved).__name__}, not a state dict"
    for key, value in current.items():
        if key not in saved:
            return f"lacks {key!r}"
        other = saved[key]
        if isinstance(value, Tensor) and (not isinstance(other, Tensor) or other.shape != value.shape):
            shape = tuple(other.shape) if isinstance(other, Tensor) else type(other).__name__
            return f"{key!r} has shape {shape}, this run has {tuple(value.shape)}"
    extra = [k for k in saved if k not in current]
    return f"has an unexpected {extra[0]!r}" if extra else ""
