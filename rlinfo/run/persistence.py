"""A run's checkpoints: what a :class:`~rlinfo.run.loop.Trainer` saves, how it is loaded back, and
resuming a run from its directory. Each saved piece has one owner with a get/set pair: the trainer
(step, schedule marks, RNGs, partial metric sums), the collector (episodes), the learner (its
generators, counters, unscored steps, replay-buffer chunk files), the agent and the reward module
(state dicts and optimisers) and the env (its mid-episode state, where it can be restored:
``envs/state.py``). A run resumed on the CPU continues exactly as if it had not stopped.

The trainer's methods of the same names call these functions; ``self`` is the trainer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from rlinfo.checkpoint import checkpoint_errors, latest_checkpoint, load_checkpoint, save_checkpoint
from rlinfo.config import to_dict
from rlinfo.envs.state import get_state as get_env_state
from rlinfo.envs.state import set_state as set_env_state
from rlinfo.errors import CheckpointError, RlinfoError, one_line
from rlinfo.run.metrics import Marks, Metrics
from rlinfo.run.resume import check_against_checkpoint, record_resume, resume_config, upgrade_loop_state
from rlinfo.run.rundir import read_eval

if TYPE_CHECKING:
    from rlinfo.run.loop import Trainer



def trainer_state(self: Trainer) -> dict[str, Any]:
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

def load_networks(self: Trainer, state: dict[str, Any]) -> None:
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

def load_trainer_state(self: Trainer, state: dict[str, Any]) -> None:
    """Restore a :meth:`state_dict` and the chunked buffer; mismatches are CheckpointErrors."""
    load_networks(self, state)
    with checkpoint_mismatch():
        load_loop_state(self, *upgrade_loop_state(state["loop"], json.loads(state["meta"])))
        if self.learner.keeps_buffer and self.chunks is not None:  # the replay buffer's chunk files
            self.learner.load_files(self.chunks, json.loads(state["buffer"]), self.env_restored)

def load_loop_state(self: Trainer, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
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
        self.learner.flush(self.collector)  # sum the saved unscored steps into their (ended) episodes
        self.collector.reset(cfg.seed + self.global_step)
    self.started = True

def resume(cls: type[Trainer], run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Trainer:
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
        load_trainer_state(trainer, state)
        record_resume(run_dir, saved, cfg, trainer.global_step)
    except BaseException:
        trainer.close()
        raise
    trainer.purge_step = trainer.global_step + 1  # events the killed process wrote later are dropped
    return trainer

def save(self: Trainer) -> Path:
    """Write the changed buffer chunks (off-policy), then the checkpoint; then prune old chunks."""
    assert self.run_dir is not None and self.chunks is not None
    check_finite(self)  # a checkpoint never holds a NaN: the latest one is always a good one
    state = trainer_state(self)
    with checkpoint_errors(self.run_dir, self.global_step):
        manifest = self.learner.save_files(self.chunks, self.global_step)
    if manifest is not None:  # off-policy: the replay buffer's chunk files
        state["buffer"] = json.dumps(manifest)
    path = save_checkpoint(self.run_dir, self.global_step, state, keep=self.cfg.train.keep_checkpoints)
    self.chunks.prune()
    return path

def check_finite(self: Trainer) -> None:
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
