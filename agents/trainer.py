"""The training loop: vector envs -> raw transitions + skills -> replay -> relabel -> updates.

One iteration collects ``train.rollout_steps`` steps from every sub-env, then makes
``train.grad_steps`` updates, each: sample a batch, update the reward module on it (METRA: φ and
λ), relabel the batch's rewards with the current reward networks, update the agent (SAC).
With ``train.n_step = n > 1`` (URLB) the batch holds pairs (s_t, s_{t+k}), k ≤ n cut at episode ends:
reward module and relabelling see next_obs = s_{t+k} and SAC bootstraps with γ^k.

Gymnasium 1.x vector envs autoreset on the *next* step: the step after a terminated or truncated
one returns the reset observation and is not a transition, so it is never stored. That reset
observation starts a new episode, which gets a fresh skill. Truncation bootstraps; only
termination is stored as ``terminated``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from rlinfo.agents.builders import (
    build_agent,
    build_reward,
    env_dims,
    make_envs,
    resolve_device,
    skill_dim_of,
)
from rlinfo.agents.evaluate import evaluate_policy, final_evaluation, write_eval
from rlinfo.agents.monitor import advance, progress_bar, stat_tag, warn
from rlinfo.agents.resume import (
    BufferChunks,
    env_state,
    non_finite_error,
    resume_config,
    rng_state,
    set_env_state,
    set_rng_state,
)
from rlinfo.buffers import ReplayBuffer
from rlinfo.checkpoint import checkpoint_errors, latest_checkpoint, load_checkpoint, save_checkpoint
from rlinfo.config import Config
from rlinfo.errors import CheckpointError, NonFiniteError, RlinfoError
from rlinfo.rewards import SkillReward
from rlinfo.types import Batch


@dataclass
class _Episodes:
    """What the collector carries between vector steps."""

    obs: np.ndarray  # current observations [num_envs, obs_dim]
    skills: Tensor  # skill of each sub-env's current episode [num_envs, skill_dim]
    autoreset: np.ndarray = field(init=False)  # True where the next step is a reset step
    ep_return: np.ndarray = field(init=False)
    ep_length: np.ndarray = field(init=False)
    finished: list[tuple[float, int]] = field(default_factory=list)  # (return, length) since last log
    # Intrinsic returns: the reward module scores each rollout chunk's transitions at its end; ``pending``
    # holds (transitions, stored, episode ended) per vector step of the chunk.
    ep_intrinsic: np.ndarray = field(init=False)
    pending: list[tuple[Batch, np.ndarray, np.ndarray]] = field(default_factory=list)
    finished_intrinsic: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.obs)
        self.autoreset = np.zeros(n, dtype=bool)
        self.ep_return, self.ep_length = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.ep_intrinsic = np.zeros(n)


class _Metrics:
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
class _Marks:
    """The next env steps at which the loop logs, checkpoints and evaluates."""

    log: int
    ckpt: int
    eval: int


class Trainer:
    """Owns the envs, the agent, the reward module and the buffer of one run."""

    def __init__(self, cfg: Config, run_dir: str | Path | None = None) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir) if run_dir is not None else None
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.envs = make_envs(cfg, cfg.env.num_envs, cfg.seed)
        self.envs.action_space.seed(cfg.seed)
        obs_dim, action_dim, low, high = env_dims(self.envs)
        self.reward_module = build_reward(cfg, obs_dim, action_dim)
        if self.reward_module is not None:
            self.reward_module.to(self.device)
        self.skill_dim = skill_dim_of(self.reward_module)
        self.multi_critic = cfg.agent.name == "slim"  # per-channel rewards [B, C], one critic each
        slim_channels = self.multi_critic and cfg.reward.channels
        weights = list(self.reward_module.weights.values()) if slim_channels else None
        self.agent = build_agent(cfg.agent, obs_dim + self.skill_dim, action_dim, low, high, weights).to(
            self.device
        )
        if getattr(self.agent, "successor_features", False) and (  # CSF's critic: TD on the cumulant Δφ
            not hasattr(self.reward_module, "cumulant") or self.agent.skill_dim != self.skill_dim
        ):
            raise RlinfoError(
                "agent.params.critic=successor_features needs a reward with a cumulant (csf) and "
                f"agent.params.skill_dim={self.skill_dim}"
            )
        self.buffer = ReplayBuffer(cfg.train.buffer_size, obs_dim, action_dim, self.skill_dim, self.device)
        self.sample_gen = torch.Generator(self.device).manual_seed(cfg.seed)
        self.skill_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.global_step = 0  # stored env transitions
        self.num_updates = 0
        self.writer: SummaryWriter | None = None
        self.purge_step: int | None = None  # on resume: drop TensorBoard events after the checkpoint
        self.episodes: _Episodes | None = None
        self.metrics = _Metrics()
        self.marks: _Marks | None = None  # next log / checkpoint / eval steps
        self.chunks = BufferChunks(self.run_dir / "checkpoints" / "buffer") if self.run_dir else None
        self.history: list[dict[str, float]] = []  # one row of logged scalars per log interval

    def attach(self, cfg: Config, run_dir: str | Path) -> None:
        """Write into ``run_dir`` from now on (the CLI builds and validates everything before creating it)."""
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.chunks = BufferChunks(self.run_dir / "checkpoints" / "buffer")

    # ------------------------------------------------------------------ pieces of the loop

    def sample_skills(self, n: int) -> Tensor:
        if not isinstance(self.reward_module, SkillReward):
            return torch.zeros(n, 0)
        return self.reward_module.skill_space.sample(n, generator=self.skill_gen)

    def agent_input(self, obs: Tensor, skill: Tensor | None) -> Tensor:
        return obs if skill is None or skill.shape[-1] == 0 else torch.cat([obs, skill], dim=-1)

    def relabel(self, batch: Batch) -> Tensor:
        """Reward of each sampled transition from the *current* reward networks (+ extrinsic)."""
        cfg = self.cfg.reward
        reward = torch.zeros_like(batch.reward) if batch.reward is not None else torch.zeros(len(batch))
        if self.reward_module is not None:
            reward = reward + cfg.intrinsic_weight * self.reward_module.reward(batch)
        if cfg.extrinsic_weight and batch.reward is not None:
            reward = reward + cfg.extrinsic_weight * batch.reward
        return reward

    def update(self) -> dict[str, Tensor]:
        """One gradient step: reward module (on its cadence), relabel, then the agent."""
        batch = self.buffer.sample(self.cfg.agent.batch_size, self.sample_gen, n_step=self.cfg.train.n_step)
        stats: dict[str, Tensor] = {}
        module = self.reward_module
        if module is not None and self.num_updates % self.cfg.train.reward_update_every == 0:
            stats.update({f"{module.name}/{k}": v for k, v in module.update(batch).items()})
        if self.multi_critic:  # SLIM: each channel's reward goes to its own critic
            rewards = self.reward_module.rewards(batch)
            batch.reward = self.cfg.reward.intrinsic_weight * rewards
            names = self.reward_module.names
            stats.update({f"reward/mean_{c}": rewards[:, i].mean() for i, c in enumerate(names)})
        else:
            batch.reward = self.relabel(batch)
            stats["reward/mean"] = batch.reward.mean()
        if getattr(self.agent, "successor_features", False):  # ψ's TD target is the vector cumulant Δφ
            batch.reward = self.cfg.reward.intrinsic_weight * self.reward_module.cumulant(batch)
        self.agent.progress = self.global_step / self.cfg.total_steps  # phase-scheduled entropy control
        n_step = {} if batch.steps is None else {"discount": self.agent.gamma ** batch.steps.float()}  # γ^k
        agent_stats = self.agent.update(
            self.agent_input(batch.obs, batch.skill),
            batch.action,
            batch.reward,
            self.agent_input(batch.next_obs, batch.skill),
            batch.terminated,
            **n_step,
        )
        stats.update({f"agent/{k}": v for k, v in agent_stats.items()})
        self.num_updates += 1
        return stats

    def act(self, obs: Tensor, skill: Tensor) -> np.ndarray:
        if self.global_step < self.cfg.train.learning_starts:
            return self.envs.action_space.sample()
        x = self.agent_input(obs, skill.to(self.device))
        return self.agent.act(x).cpu().numpy()

    # ------------------------------------------------------------------ the loop

    def collect_step(self, state: _Episodes) -> None:
        """One vector-env step: act, store the real transitions, start new episodes' skills."""
        obs = torch.as_tensor(state.obs, dtype=torch.float32, device=self.device)
        action = self.act(obs, state.skills)
        next_obs, rew, term, trunc, _ = self.envs.step(action)
        for what, value in (("observation", next_obs), ("reward", rew)):  # numpy on the CPU: no device sync
            if not np.isfinite(value).all():
                bad = np.asarray(value)[~np.isfinite(value)][0]
                raise self.non_finite(f"{what} from env {self.cfg.env.name!r}", bad)
        keep = ~state.autoreset  # a step right after an episode end is a reset, not a transition
        transitions = Batch(
            obs=obs,
            action=torch.as_tensor(action, dtype=torch.float32),
            next_obs=torch.as_tensor(next_obs, dtype=torch.float32),
            terminated=torch.as_tensor(term),
            skill=state.skills.clone() if self.skill_dim else None,  # state.skills changes in place below
            reward=torch.as_tensor(rew, dtype=torch.float32),
        )
        if self.reward_module is not None:
            state.pending.append((transitions, keep, keep & (term | trunc)))
        self.buffer.add(
            transitions,
            keep=torch.as_tensor(keep, device=self.device),
            env_ids=torch.arange(len(keep), device=self.device),  # links each env's rows for n-step pairs
            done=torch.as_tensor(term | trunc, device=self.device),
        )
        state.ep_return += np.where(keep, rew, 0.0)
        state.ep_length += keep
        for i in np.flatnonzero(keep & (term | trunc)):
            state.finished.append((float(state.ep_return[i]), int(state.ep_length[i])))
            state.ep_return[i], state.ep_length[i] = 0.0, 0
        if state.autoreset.any():  # these sub-envs just returned a reset observation
            state.skills[torch.as_tensor(state.autoreset)] = self.sample_skills(int(state.autoreset.sum()))
        state.autoreset = term | trunc
        state.obs = next_obs
        self.global_step += int(keep.sum())

    def score_rollout(self, state: _Episodes, flush: bool = False) -> None:
        """Add the reward module's rewards of the pending transitions to each episode's intrinsic return.

        One ``reward`` call (current networks) once at least a training batch of rows is pending, or on
        ``flush``; only for logging, nothing is stored. A batch too small for the module (kNN rewards) is
        dropped from the returns.
        """
        rows = sum(len(b) for b, _, _ in state.pending)
        if not state.pending or (rows < self.cfg.agent.batch_size and not flush):
            return
        steps = [b for b, _, _ in state.pending]
        skill = torch.cat([b.skill for b in steps]).to(self.device) if self.skill_dim else None
        batch = Batch(
            obs=torch.cat([b.obs for b in steps]),
            action=torch.cat([b.action for b in steps]).to(self.device),
            next_obs=torch.cat([b.next_obs for b in steps]).to(self.device),
            terminated=torch.cat([b.terminated for b in steps]).to(self.device),
            skill=skill,
        )
        try:
            with torch.no_grad():
                rewards = self.reward_module.reward(batch).reshape(len(steps), -1).cpu().numpy()
        except ValueError:  # e.g. fewer rows than kNN neighbours at the very end of a run
            state.pending = []
            return
        for (_, keep, ended), r in zip(state.pending, rewards, strict=True):
            state.ep_intrinsic += np.where(keep, r, 0.0)
            for i in np.flatnonzero(ended):
                state.finished_intrinsic.append(float(state.ep_intrinsic[i]))
                state.ep_intrinsic[i] = 0.0
        state.pending = []

    def start(self) -> None:
        """Reset the envs and set up the collector, metrics and marks of a fresh run."""
        cfg = self.cfg
        obs, _ = self.envs.reset(seed=cfg.seed)
        self.episodes = _Episodes(obs, self.sample_skills(cfg.env.num_envs))
        self.metrics = _Metrics()
        train = cfg.train
        self.marks = _Marks(
            train.log_every, train.checkpoint_every or cfg.total_steps, train.eval_every or cfg.total_steps
        )

    def train(self) -> dict[str, Any]:
        """Run until ``total_steps`` transitions are stored; return the final evaluation."""
        cfg = self.cfg
        if self.run_dir is not None:
            self.writer = SummaryWriter(str(self.run_dir), purge_step=self.purge_step)
        if self.episodes is None:
            self.start()
        state, marks = self.episodes, self.marks
        assert state is not None and marks is not None
        if cfg.total_steps <= cfg.train.learning_starts:
            warn(
                f"total_steps={cfg.total_steps} <= train.learning_starts={cfg.train.learning_starts}: "
                "no update will happen (the policy stays uniformly random)"
            )
        bar = progress_bar(cfg.total_steps, self.global_step, cfg.train.progress)
        while self.global_step < cfg.total_steps:
            for _ in range(cfg.train.rollout_steps):
                if self.global_step >= cfg.total_steps:
                    break
                before = self.global_step
                self.collect_step(state)
                advance(bar, before, self.global_step)
            self.score_rollout(state)
            if self.global_step >= cfg.train.learning_starts:
                for _ in range(cfg.train.grad_steps):
                    self.metrics.add(self.update())
            if self.global_step >= marks.log or self.global_step >= cfg.total_steps:
                self.score_rollout(state, flush=True)
                self.log(self.metrics, state, bar)
                self.metrics, state.finished, state.finished_intrinsic = _Metrics(self.global_step), [], []
                marks.log += cfg.train.log_every
            running = self.global_step < cfg.total_steps
            if cfg.train.eval_every and self.global_step >= marks.eval and running:
                self.evaluate(figure=False)
                marks.eval += cfg.train.eval_every
            if self.run_dir is not None and self.global_step >= marks.ckpt and running:
                self.save()
                marks.ckpt += cfg.train.checkpoint_every
        bar.close()
        try:
            if self.run_dir is not None:
                self.save()  # the final state first: a failing evaluation can never lose it
            return final_evaluation(self.run_dir, lambda: self.evaluate(figure=cfg.eval.figure))
        finally:
            if self.writer is not None:
                self.writer.close()
            self.envs.close()

    @property
    def reward_free(self) -> bool:
        """True when the agent learns from intrinsic rewards alone (the env's return is not its objective)."""
        return self.reward_module is not None and not self.cfg.reward.extrinsic_weight

    def log(self, metrics: _Metrics, state: _Episodes, bar: tqdm) -> None:
        """Read the device metrics once per interval, check them, write TensorBoard and the bar."""
        sps = metrics.steps_per_second(self.global_step)
        scalars = metrics.means()
        for name, value in scalars.items():
            if not np.isfinite(value):
                raise self.non_finite(name, value)
        self.history.append({"step": float(self.global_step), **scalars})
        charts = {"sps": sps}
        if state.finished:
            charts["episodic_return"] = float(np.mean([r for r, _ in state.finished]))
            charts["episodic_length"] = float(np.mean([n for _, n in state.finished]))
        if state.finished_intrinsic:
            charts["intrinsic_return"] = float(np.mean(state.finished_intrinsic))
        postfix = {"sps": f"{sps:.0f}"}
        shown = "intrinsic_return" if self.reward_free else "episodic_return"
        if shown in charts:
            postfix["int_return" if self.reward_free else "return"] = f"{charts[shown]:.3g}"
        bar.set_postfix(postfix, refresh=False)
        if self.writer is None:
            return
        step = self.global_step
        for name, value in charts.items():
            self.writer.add_scalar(f"charts/{name}", value, step)
        for name, value in scalars.items():
            group, _, stat = name.partition("/")
            tag = stat_tag(group, stat, self.agent.loss_names, self.cfg.reward.name)
            self.writer.add_scalar(tag, value, step)

    def evaluate(self, figure: bool) -> dict[str, Any]:
        path = self.run_dir / "skills.png" if (figure and self.run_dir is not None) else None
        result = evaluate_policy(self.cfg, self.agent, self.reward_module, self.device, path)
        result["steps"] = self.global_step
        if self.writer is not None:
            for k, v in result.items():
                if isinstance(v, (int, float)) and k != "steps":
                    self.writer.add_scalar(f"eval/{k}", v, self.global_step)
        if self.run_dir is not None:
            write_eval(self.run_dir, result)
        return result

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers (log α and METRA's dual λ are parameters), plus the loop state."""
        state: dict[str, Any] = {
            "step": self.global_step,
            "agent": self.agent.state_dict(),
            "agent_optim": {k: o.state_dict() for k, o in self.agent.optimizers.items()},
        }
        if self.reward_module is not None:
            state["reward"] = self.reward_module.state_dict()
            state["reward_optim"] = self.reward_module.optimizer_state()
        state["loop"], meta = self.loop_state()
        state["meta"] = json.dumps(meta)
        return state

    def loop_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, JSON) of counters, RNGs, collector, partial metrics and the env."""
        rng_tensors, rng_meta = rng_state(self)
        tensors: dict[str, Any] = {"rng": rng_tensors, "metric_sums": dict(self.metrics.sums)}
        meta: dict[str, Any] = {
            "global_step": self.global_step,
            "num_updates": self.num_updates,
            "marks": None if self.marks is None else asdict(self.marks),
            "rng": rng_meta,
            "metrics": {"count": self.metrics.count, "start_step": self.metrics.start_step},
        }
        ep = self.episodes
        if ep is not None:
            tensors["episodes"] = {
                "obs": torch.from_numpy(np.array(ep.obs)),
                "skills": ep.skills.clone(),
                "autoreset": torch.from_numpy(ep.autoreset.copy()),
                "ep_return": torch.from_numpy(ep.ep_return.copy()),
                "ep_length": torch.from_numpy(ep.ep_length.copy()),
                "ep_intrinsic": torch.from_numpy(ep.ep_intrinsic.copy()),
            }
            meta["finished"] = ep.finished
            meta["finished_intrinsic"] = ep.finished_intrinsic
        env = env_state(self.envs)
        if env is not None:
            tensors["env"], meta["env"] = env
        return tensors, meta

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (and the chunked buffer); mismatches are CheckpointErrors."""
        try:
            self.agent.load_state_dict(state["agent"])
            for k, opt in self.agent.optimizers.items():
                opt.load_state_dict(state["agent_optim"][k])
            if self.reward_module is not None:
                self.reward_module.load_state_dict(state["reward"])
                self.reward_module.load_optimizer_state(state["reward_optim"])
            self.load_loop_state(state["loop"], json.loads(state["meta"]))
            if self.chunks is not None:
                self.chunks.load(self.buffer, json.loads(state["buffer"]))
            if "env" not in state["loop"]:  # new episodes were started: never link them to saved rows
                self.buffer.last_index.fill_(-1)
        except CheckpointError:
            raise
        except KeyError as e:
            raise CheckpointError(f"checkpoint lacks {e} (saved by another rlinfo version?)") from None
        except (RuntimeError, ValueError, TypeError) as e:
            raise CheckpointError(f"checkpoint does not match this run: {str(e).splitlines()[0]}") from None

    def load_loop_state(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        cfg = self.cfg
        self.global_step, self.num_updates = int(meta["global_step"]), int(meta["num_updates"])
        self.marks = _Marks(**meta["marks"])
        if not cfg.train.checkpoint_every:
            self.marks.ckpt = cfg.total_steps
        if not cfg.train.eval_every:
            self.marks.eval = cfg.total_steps
        set_rng_state(self, tensors["rng"], meta["rng"])
        self.metrics = _Metrics(int(meta["metrics"]["start_step"]))
        self.metrics.sums = {k: v.to(self.device) for k, v in tensors["metric_sums"].items()}
        self.metrics.count = int(meta["metrics"]["count"])
        if "env" in meta and "env" in tensors:  # the maze vector env: continue exactly
            set_env_state(self.envs, tensors["env"], meta["env"])
            ep = tensors["episodes"]
            self.episodes = _Episodes(ep["obs"].numpy().copy(), ep["skills"].clone())
            self.episodes.autoreset = ep["autoreset"].numpy().copy()
            self.episodes.ep_return = ep["ep_return"].numpy().copy()
            self.episodes.ep_length = ep["ep_length"].numpy().copy()
            if "ep_intrinsic" in ep:
                self.episodes.ep_intrinsic = ep["ep_intrinsic"].numpy().copy()
        else:  # other envs cannot be restored mid-episode: new episodes from a step-dependent seed
            obs, _ = self.envs.reset(seed=cfg.seed + self.global_step)
            self.episodes = _Episodes(obs, self.sample_skills(cfg.env.num_envs))
        self.episodes.finished = [(float(r), int(n)) for r, n in meta.get("finished", [])]
        self.episodes.finished_intrinsic = [float(r) for r in meta.get("finished_intrinsic", [])]

    @classmethod
    def resume(cls, run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Trainer:
        """A trainer that continues the run in ``run_dir`` from its latest checkpoint."""
        cfg = resume_config(run_dir, overrides)
        if cfg.agent.name == "ppo":
            raise RlinfoError(
                f"--resume is not supported for PPO runs yet ({run_dir}); `rlinfo eval {run_dir}` evaluates"
            )
        state = load_checkpoint(latest_checkpoint(run_dir))
        trainer = cls(cfg, run_dir)
        trainer.load_state_dict(state)
        if trainer.global_step >= cfg.total_steps:
            raise RlinfoError(
                f"run {run_dir} already reached total_steps={cfg.total_steps}; to train further resume with "
                f"a larger total_steps=..."
            )
        trainer.purge_step = trainer.global_step + 1  # events the killed process wrote later are dropped
        return trainer

    def save(self) -> Path:
        """Write the dirty buffer chunks, then the checkpoint; then delete unreferenced chunks."""
        assert self.run_dir is not None and self.chunks is not None
        if self.episodes is not None:
            self.score_rollout(self.episodes, flush=True)  # pending transitions are not saved
        with checkpoint_errors(self.run_dir, self.global_step):
            manifest = self.chunks.write(self.buffer, self.global_step)
        state = self.state_dict()
        state["buffer"] = json.dumps(manifest)
        path = save_checkpoint(self.run_dir, self.global_step, state)
        self.chunks.prune()
        return path

    def non_finite(self, what: str, value: Any) -> NonFiniteError:
        """The error that stops a run at a NaN/inf: names the quantity and step and how to resume."""
        return non_finite_error(what, value, self.global_step, self.run_dir)
