"""Off-policy learning (SAC, multi-critic SAC, DDPG): what the loop calls ``collect`` and ``learn``.

``collect`` takes ``train.rollout_steps`` vector-env steps (uniformly random actions for the first
``train.learning_starts`` env steps, or the untrained policy's with ``train.warmup: policy``) and
stores the real transitions, raw, with their skills, in the replay buffer (a time-limit truncation as a
termination with ``train.time_limit_bootstrap: false``, as the METRA reference's trainer does).
``learn`` makes ``train.grad_steps`` updates, each:

1. sample a batch (with ``train.n_step = n > 1``: pairs (s_t, s_{t+k}), k ≤ n cut at episode ends,
   as URLB; the reward module and the relabelling see next_obs = s_{t+k}, the env's reward is the
   n-step return Σ_{i<k} γ^i r_{t+i}, and the agent bootstraps with γ^k);
2. update the reward module on it (every ``train.reward_update_every``-th update; METRA: φ and λ);
3. relabel the batch with the current reward networks (the :class:`~rlinfo.run.build.TrainingReward`);
4. update the agent.

For the intrinsic return of each episode the reward module scores the collected transitions once at
least a training batch of them is pending (only for logging; nothing is stored).

Overlapped collection (``train.overlap: true``, off by default): while ``learn`` makes its updates on
the main thread, a worker thread already collects the next rollout with a snapshot of the actor taken
before those updates; the rollout enters the buffer once the updates are done, and the next
``collect`` only counts it. Both cores work at once (MuJoCo and torch release the GIL), at the price
of a one-phase policy lag: rollout k+1 is acted by the policy before update phase k instead of after
it. Nothing else changes: the updates never see the rollout that is being collected, the action noise
comes from the learner's own generator in both modes, so a run is still deterministic at a fixed seed
and resumes exactly; with a frozen policy both modes store the same transitions
(``tests/run/test_overlap.py``).

Lower precision (``train.precision: bfloat16``, off by default): steps 2-4 run inside
``rlinfo.nn.compute_dtype(torch.bfloat16)``, so the hidden layers of every ``mlp``/``ensemble_mlp``
network multiply in bfloat16 (the first and last layers stay float32) while weights, optimiser states,
losses and rewards stay float32; acting and evaluation stay float32 (docs/algorithms.md, "Speed
options").
"""

from __future__ import annotations

import copy
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from rlinfo.buffer_chunks import BufferChunks
from rlinfo.buffers import ReplayBuffer
from rlinfo.errors import RlinfoError
from rlinfo.nn import compute_dtype
from rlinfo.run.build import Parts
from rlinfo.run.collect import Collector, Step
from rlinfo.run.graphs import GraphedStep, make_capturable
from rlinfo.run.host import available_memory
from rlinfo.types import Batch

ACT_SEED_OFFSET = 2  # the action noise's generator is seeded cfg.seed + 2 (skills: + 1)


class OffPolicy:
    """Replay buffer, rollout and updates of an off-policy agent."""

    def __init__(self, parts: Parts) -> None:
        self.parts, self.cfg = parts, parts.cfg
        self.agent, self.reward_module = parts.agent, parts.reward_module
        check_buffer_memory(self.cfg.train.buffer_size, parts.obs_dim, parts.action_dim, parts.skill_dim)
        self.buffer = ReplayBuffer(
            self.cfg.train.buffer_size, parts.obs_dim, parts.action_dim, parts.skill_dim, parts.device
        )
        self.gen = torch.Generator(parts.device).manual_seed(self.cfg.seed)  # batch indices
        self.act_gen = torch.Generator(parts.device).manual_seed(self.cfg.seed + ACT_SEED_OFFSET)
        self.num_updates = 0
        self.unscored: list[Step] = []  # collected steps whose intrinsic rewards are not yet summed
        self.total = self.cfg.total_steps  # the run's last env step (from the loop's collect calls)
        # overlap: the actor snapshot the worker acts with, the worker, and the env steps already stored
        # by the last learn() that the next collect() counts
        overlap = self.cfg.train.overlap
        self.shadow = copy.deepcopy(self.agent.actor).requires_grad_(False) if overlap else None
        self.worker: ThreadPoolExecutor | None = None
        self.ahead = 0
        self.side_stream: Any = None  # the worker's CUDA stream (device=cuda)
        self.matmul_dtype = (
            None if self.cfg.train.precision == "float32" else getattr(torch, self.cfg.train.precision)
        )
        self.learn_step = GraphedStep(self.learn_batch, parts.device, self.cfg.train.cuda_graph)
        if self.learn_step.enabled:
            module_optimizers = self.reward_module.optimizers if self.reward_module is not None else {}
            make_capturable([*self.agent.optimizers.values(), *module_optimizers.values()])

    # ------------------------------------------------------------------ collect

    def collect(self, collector: Collector, step: int, total: int) -> int:
        """``rollout_steps`` vector steps (fewer at the end of the run); returns the new env step.

        Overlapped: the rollout was already collected and stored during the last ``learn``; count it."""
        self.total = total
        if self.ahead:
            step, self.ahead = step + self.ahead, 0
            return step
        return step + self.store(self.rollout(collector, step, total, self.agent.actor), collector)

    def rollout(self, collector: Collector, step: int, total: int, actor: torch.nn.Module) -> list[Step]:
        """Up to ``rollout_steps`` vector steps from env step ``step``, acting with ``actor`` (before
        ``learning_starts``: uniformly random actions, or ``actor`` too with ``train.warmup=policy``); the
        buffer is not touched."""
        gen = self.act_gen

        @torch.inference_mode()
        def policy(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            return actor.sample(x, generator=gen)[0], {}

        random_until = self.cfg.train.learning_starts if self.cfg.train.warmup == "random" else 0
        steps: list[Step] = []
        for _ in range(self.cfg.train.rollout_steps):
            if step >= total:
                break
            steps.append(collector.step(None if step < random_until else policy))
            step += int(steps[-1].valid.sum())
        return steps

    def store(self, steps: list[Step], collector: Collector) -> int:
        """Put the real transitions of ``steps`` into the replay buffer; returns their number."""
        bootstrap = self.cfg.train.time_limit_bootstrap
        for s in steps:
            self.buffer.add(
                Batch(
                    s.obs,
                    s.action.float(),
                    s.next_obs,
                    s.terminated if bootstrap else s.done,  # done: truncations stored as terminations
                    s.skill if s.skill.shape[-1] else None,
                    s.reward,
                ),
                keep=s.valid,
                env_ids=torch.arange(collector.n, device=self.parts.device),  # links env rows (n-step)
                done=s.done,
            )
        if self.parts.training_reward.uses_module:
            self.unscored.extend(steps)
        else:  # no intrinsic reward to sum into the episodes: nothing waits to be scored
            collector.drop_pending()
        return sum(int(s.valid.sum()) for s in steps)

    def flush(self, collector: Collector) -> None:
        """Score every unscored step now (before a log or a checkpoint)."""
        self.score(collector, flush=True)

    def score(self, collector: Collector, flush: bool = False) -> None:
        """Add the reward module's r_int of the unscored steps to the episodes' intrinsic returns.

        One ``reward`` call once a training batch of rows is pending (or on ``flush``); a batch too small
        for the module (kNN rewards at the very end of a run) is dropped from the returns.
        """
        rows = sum(len(s.obs) for s in self.unscored)
        if not self.unscored or (rows < self.cfg.agent.batch_size and not flush):
            return
        steps, self.unscored = self.unscored, []
        batch = Batch(
            obs=torch.cat([s.obs for s in steps]),
            action=torch.cat([s.action for s in steps]).float(),
            next_obs=torch.cat([s.next_obs for s in steps]),
            terminated=torch.cat([s.terminated for s in steps]),
            skill=torch.cat([s.skill for s in steps]).to(self.parts.device) if self.parts.skill_dim else None,
        )
        try:
            with torch.no_grad():
                r_int = self.reward_module.reward(batch)  # type: ignore[union-attr]
        except ValueError:
            collector.drop_pending()
            return
        collector.add_intrinsic(r_int.reshape(len(steps), -1))

    # ------------------------------------------------------------------ learn

    def learn(self, step: int, progress: float, collector: Collector) -> list[dict[str, Tensor]]:
        """``grad_steps`` updates once ``learning_starts`` env steps are stored; their statistics."""
        self.score(collector)
        if step < self.cfg.train.learning_starts:
            return []
        self.agent.progress = progress  # phase-scheduled entropy control
        if self.shadow is None or step >= self.total:
            return [self.update() for _ in range(self.cfg.train.grad_steps)]
        # overlapped: the next rollout runs on the worker, with the actor as it is before these updates
        self.shadow.load_state_dict(self.agent.actor.state_dict())
        ready = None
        if self.parts.device.type == "cuda":  # the main stream's work so far, which the rollout must follow
            ready = torch.cuda.Event()
            ready.record()
        if self.worker is None:
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlinfo-collect")
        rollout: Future[list[Step]] = self.worker.submit(self.rollout_on_side_stream, collector, step, ready)
        try:
            stats = [self.update() for _ in range(self.cfg.train.grad_steps)]
        finally:
            steps = rollout.result()  # a collection error (NaN from the env) is raised here
        if self.side_stream is not None:  # the rollout's tensors are complete before the buffer reads them
            torch.cuda.current_stream().wait_stream(self.side_stream)
        self.ahead = self.store(steps, collector)
        return stats

    def rollout_on_side_stream(self, collector: Collector, step: int, ready: Any) -> list[Step]:
        """The worker's rollout with the shadow actor; on a GPU in its own CUDA stream, which first waits
        for ``ready``: the main stream's work before the updates (the shadow's weights, the buffer's reads
        of the previous rollout)."""
        assert self.shadow is not None
        if ready is None:
            return self.rollout(collector, step, self.total, self.shadow)
        if self.side_stream is None:
            self.side_stream = torch.cuda.Stream(self.parts.device)
        self.side_stream.wait_event(ready)
        with torch.cuda.stream(self.side_stream):
            return self.rollout(collector, step, self.total, self.shadow)

    def update(self) -> dict[str, Tensor]:
        """One gradient step: sample a batch, then :meth:`learn_batch` (replayed from a CUDA graph with
        ``train.cuda_graph``; rlinfo/run/graphs.py)."""
        cfg = self.cfg
        n_step = cfg.train.n_step
        batch = self.buffer.sample(cfg.agent.batch_size, self.gen, n_step=n_step, gamma=self.agent.gamma)
        every = cfg.train.reward_update_every
        update_reward = self.parts.training_reward.uses_module and self.num_updates % every == 0
        stats = self.learn_step(batch, update_reward)
        self.num_updates += 1
        return stats

    def learn_batch(self, batch: Batch, update_reward: bool) -> dict[str, Tensor]:
        """The reward module (if ``update_reward``), relabel, then the agent; device tensors only."""
        with compute_dtype(self.matmul_dtype):  # train.precision
            return self._learn_batch(batch, update_reward)

    def _learn_batch(self, batch: Batch, update_reward: bool) -> dict[str, Tensor]:
        stats: dict[str, Tensor] = {}
        module = self.reward_module
        if module is not None and update_reward:
            stats.update({f"{module.name}/{k}": v for k, v in module.update(batch).items()})
        target, _, reward_stats = self.parts.training_reward(batch)
        stats.update(reward_stats)
        n_step = {} if batch.steps is None else {"discount": self.agent.gamma ** batch.steps.float()}  # γ^k
        agent_in = (batch.obs, batch.next_obs)
        if batch.skill is not None:
            agent_in = (torch.cat([batch.obs, batch.skill], -1), torch.cat([batch.next_obs, batch.skill], -1))
        agent_stats = self.agent.update(
            agent_in[0], batch.action, target, agent_in[1], batch.terminated, **n_step
        )
        stats.update({f"agent/{k}": v for k, v in agent_stats.items()})
        return stats

    # ------------------------------------------------------------------ saved state

    episode_returns = False  # a skill run's evaluation is coverage and skills, not returns
    keeps_buffer = True  # its replay buffer is saved as chunk files beside the checkpoint
    clips_actions = False  # SAC's tanh-squashed actions are inside the box already

    def start(self, seed: int) -> None:
        """A fresh run: actions come from the learner's own generators (nothing global to seed)."""

    UNSCORED = ("obs", "action", "next_obs", "terminated", "skill")  # what :meth:`score` reads of a Step

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """RNG states and counters, and the steps not yet scored (a checkpoint off the log schedule, e.g.
        on SIGTERM, keeps them, so the logged intrinsic returns equal those of an uninterrupted run)."""
        tensors = {"gen": self.gen.get_state(), "act_gen": self.act_gen.get_state()}
        if self.unscored:
            tensors["unscored"] = {k: torch.stack([getattr(s, k).cpu() for s in self.unscored])
                                   for k in self.UNSCORED}  # fmt: skip
        return tensors, {"num_updates": self.num_updates, "ahead": self.ahead}

    def load_state_dict(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        self.gen.set_state(tensors["gen"].cpu())
        if "act_gen" in tensors:  # checkpoints before the learner's own action noise keep the fresh seed
            self.act_gen.set_state(tensors["act_gen"].cpu())
        self.num_updates = int(meta["num_updates"])
        self.ahead = int(meta.get("ahead", 0))
        saved, device = tensors.get("unscored"), self.parts.device
        self.unscored = []
        for t in range(len(saved["obs"]) if saved else 0):  # only what score() reads is restored
            fields = {k: saved[k][t].to(device) for k in self.UNSCORED}
            empty = torch.zeros(0, device=device)
            self.unscored.append(Step(**fields, reward=empty, done=empty, valid=empty, extras={}))

    def close(self) -> None:
        """Stop the collection worker (overlapped runs)."""
        if self.worker is not None:
            self.worker.shutdown(wait=True)
            self.worker = None

    def save_files(self, chunks: BufferChunks, step: int) -> dict[str, Any]:
        """Write the replay buffer's changed chunks; the manifest goes into the checkpoint."""
        return chunks.write(self.buffer, step)

    def load_files(self, chunks: BufferChunks, manifest: dict[str, Any], env_restored: bool) -> None:
        from rlinfo.run.monitor import phase_bar

        n, rows = len(manifest["files"]), int(manifest["size"])
        with phase_bar(f"loading the replay buffer ({rows:,} transitions)", self.cfg.train.progress, n,
                       "chunk") as bar:  # fmt: skip
            chunks.load(self.buffer, manifest, bar.update)
        if not env_restored:  # new episodes were started: never link them to saved rows
            self.buffer.last_index.fill_(-1)


def check_buffer_memory(capacity: int, obs_dim: int, action_dim: int, skill_dim: int) -> None:
    """Refuse a replay buffer larger than the memory available now, before allocating it (one line)."""
    row_bytes = ReplayBuffer.bytes_per_row(obs_dim, action_dim, skill_dim)
    need, available = capacity * row_bytes, available_memory()
    if available is not None and need > available:
        raise RlinfoError(
            f"train.buffer_size={capacity} needs {need / 2**30:.1f} GiB ({row_bytes} bytes per transition), "
            f"more than the {available / 2**30:.1f} GiB of memory available"
        )
