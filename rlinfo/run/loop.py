"""The one training loop of every run, off-policy (SAC, SLIM) and on-policy (PPO) alike.

    build(cfg) -> Parts                     rlinfo/run/build.py: envs, reward module, agent, training reward
    while step < total_steps:
        step = learner.collect(collector, ...)  rlinfo/run/learners.py: what differs, behind one interface
        stats = learner.learn(step, progress)
        log / evaluate / checkpoint on their schedules (train.log_every, eval_every, checkpoint_every)
    checkpoint, then the final evaluation

The :class:`Trainer` owns the schedule, the TensorBoard writer, the progress bar, the metrics (summed
on the device, read once per log interval, checked for NaN), the skill generator and the callbacks
(``rlinfo/run/callbacks.py``). What a checkpoint holds, who owns each piece, and resuming a run are in
``rlinfo/run/persistence.py``; the trainer's methods of the same names call it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
    describe_os_error,
    previous,
)
from rlinfo.config import Config
from rlinfo.errors import NonFiniteError, RlinfoError
from rlinfo.files import refuse_links, remove_stale_temporaries
from rlinfo.options import option_warnings
from rlinfo.rewards import SkillReward
from rlinfo.run import persistence
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
from rlinfo.run.learners import Learner, make_learner
from rlinfo.run.lock import RunLock
from rlinfo.run.metrics import Marks, Metrics
from rlinfo.run.monitor import add_gif, advance, phase_bar, progress_bar, stat_tag, warn
from rlinfo.run.resume import (
    non_finite_error,
)


class Trainer:
    """One run: its parts, the learner that differs by agent, and the loop around them."""

    def __init__(
        self, cfg: Config, run_dir: str | Path | None = None, callbacks: Sequence[Callback] = ()
    ) -> None:
        self.cfg = cfg
        self.callbacks = list(callbacks)  # observers of the loop (rlinfo/run/callbacks.py)
        self.parts: Parts = build(cfg)  # every config error is raised here, before anything is written
        self.learner: Learner = make_learner(self.parts)
        self.skill_gen = torch.Generator().manual_seed(cfg.seed + 1)
        clip = self.learner.clips_actions and isinstance(self.envs.single_action_space, gym.spaces.Box)
        self.collector = Collector(
            self.envs, self.sample_skills, self.device, cfg.env.name, self.non_finite, clip_actions=clip,
            skill_every=cfg.train.skill_every,
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
        """The replay buffer of an off-policy run (on-policy learners have none)."""
        return self.learner.buffer  # type: ignore[attr-defined]

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
        if self.cfg.finetune.skill_vector:  # a fine-tuning run keeps its chosen skill
            return torch.tensor([self.cfg.finetune.skill_vector], dtype=torch.float32).repeat(n, 1)
        return self.reward_module.skill_space.sample(n, generator=self.skill_gen)

    # ------------------------------------------------------------------ the loop

    def start(self) -> None:
        """New episodes in every env; the log, checkpoint and evaluation marks of a fresh run."""
        cfg, train = self.cfg, self.cfg.train
        self.learner.start(cfg.seed)
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
        for message in option_warnings(cfg, self.device):  # rlinfo/options.py
            warn(message)
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
        """Coverage (+ figure) where the env reports positions, except when fine-tuning; the return (and
        success) of deterministic episodes for PPO and for every run that learns from the task reward."""
        cfg, result = self.cfg, {}
        returns = self.learner.episode_returns or cfg.reward.extrinsic_weight > 0
        with phase_bar(f"evaluating ({cfg.eval.num_rollouts} rollouts)", cfg.train.progress) as bar:
            if self.reports_positions() and not cfg.finetune.source:  # and the returns, from whole episodes
                args = (cfg, self.agent, self.reward_module, self.device, figure_path, bar.update, returns)
                result.update(evaluate_policy(*args))
            if returns and "return" not in result:
                skill_rows = evaluation_skills(cfg, self.reward_module, cfg.eval.num_rollouts)
                result.update(episode_returns(cfg, self.agent, skill_rows, self.device, bar.update))
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

    # ------------------------------------------------------------------ checkpoints: run/persistence.py

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs, from each owner (:func:`persistence.trainer_state`)."""
        return persistence.trainer_state(self)

    def load_networks(self, state: dict[str, Any]) -> None:
        """The agent, the reward module and their optimisers from a checkpoint's state."""
        persistence.load_networks(self, state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` and the chunked buffer; mismatches are CheckpointErrors."""
        persistence.load_trainer_state(self, state)

    @classmethod
    def resume(cls, run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Trainer:
        """A trainer that continues the run in ``run_dir`` from its latest checkpoint."""
        return persistence.resume(cls, run_dir, overrides)

    def save(self) -> Path:
        """Write the changed buffer chunks (off-policy), then the checkpoint; then prune old chunks."""
        return persistence.save(self)

    def check_finite(self) -> None:
        """Raise :meth:`non_finite` for the first NaN/inf in the networks, optimisers or dual variables."""
        persistence.check_finite(self)

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


