"""The training loop: vector envs -> raw transitions + skills -> replay -> relabel -> updates.

One iteration collects ``train.rollout_steps`` steps from every sub-env, then makes
``train.grad_steps`` updates, each: sample a batch, update the reward module on it (METRA: φ and
λ), relabel the batch's rewards with the current reward networks, update the agent (SAC).

Gymnasium 1.x vector envs autoreset on the *next* step: the step after a terminated or truncated
one returns the reset observation and is not a transition, so it is never stored. That reset
observation starts a new episode, which gets a fresh skill. Truncation bootstraps; only
termination is stored as ``terminated``.
"""

from __future__ import annotations

import time
from collections import defaultdict
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
from rlinfo.agents.evaluate import evaluate_policy, write_eval
from rlinfo.buffers import ReplayBuffer
from rlinfo.checkpoint import save_checkpoint
from rlinfo.config import Config
from rlinfo.errors import NonFiniteError
from rlinfo.rewards import SkillReward
from rlinfo.types import Batch


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
        self.agent = build_agent(cfg.agent, obs_dim + self.skill_dim, action_dim, low, high).to(self.device)
        self.buffer = ReplayBuffer(cfg.train.buffer_size, obs_dim, action_dim, self.skill_dim, self.device)
        self.sample_gen = torch.Generator(self.device).manual_seed(cfg.seed)
        self.skill_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.global_step = 0  # stored env transitions
        self.num_updates = 0
        self.writer: SummaryWriter | None = None
        self.history: list[dict[str, float]] = []  # one row of logged scalars per log interval

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
        batch = self.buffer.sample(self.cfg.agent.batch_size, self.sample_gen)
        stats: dict[str, Tensor] = {}
        module = self.reward_module
        if module is not None and self.num_updates % self.cfg.train.reward_update_every == 0:
            stats.update({f"{module.name}/{k}": v for k, v in module.update(batch).items()})
        batch.reward = self.relabel(batch)
        stats["reward/mean"] = batch.reward.mean()
        agent_stats = self.agent.update(
            self.agent_input(batch.obs, batch.skill),
            batch.action,
            batch.reward,
            self.agent_input(batch.next_obs, batch.skill),
            batch.terminated,
        )
        stats.update({f"sac/{k}": v for k, v in agent_stats.items()})
        self.num_updates += 1
        return stats

    def act(self, obs: Tensor, skill: Tensor) -> np.ndarray:
        if self.global_step < self.cfg.train.learning_starts:
            return self.envs.action_space.sample()
        x = self.agent_input(obs, skill.to(self.device))
        return self.agent.act(x).cpu().numpy()

    # ------------------------------------------------------------------ the loop

    def train(self) -> dict[str, Any]:
        """Run until ``total_steps`` transitions are stored; return the final evaluation."""
        cfg = self.cfg
        if self.run_dir is not None:
            self.writer = SummaryWriter(str(self.run_dir))
        num_envs = cfg.env.num_envs
        obs_np, _ = self.envs.reset(seed=cfg.seed)
        skills = self.sample_skills(num_envs)
        autoreset = np.zeros(num_envs, dtype=bool)
        ep_return, ep_length = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
        finished: list[tuple[float, int]] = []
        sums: dict[str, Tensor] = defaultdict(lambda: torch.zeros((), device=self.device))
        counts = 0
        next_log, next_ckpt = cfg.train.log_every, cfg.train.checkpoint_every or cfg.total_steps
        next_eval = cfg.train.eval_every or cfg.total_steps
        start, start_step = time.perf_counter(), 0
        bar = tqdm(total=cfg.total_steps, disable=not cfg.train.progress, unit="step", dynamic_ncols=True)
        while self.global_step < cfg.total_steps:
            for _ in range(cfg.train.rollout_steps):
                if self.global_step >= cfg.total_steps:
                    break
                obs = torch.as_tensor(obs_np, dtype=torch.float32, device=self.device)
                action = self.act(obs, skills)
                next_np, rew, term, trunc, _ = self.envs.step(action)
                keep = ~autoreset
                self.buffer.add(
                    Batch(
                        obs=obs,
                        action=torch.as_tensor(action, dtype=torch.float32),
                        next_obs=torch.as_tensor(next_np, dtype=torch.float32),
                        terminated=torch.as_tensor(term),
                        skill=skills if self.skill_dim else None,
                        reward=torch.as_tensor(rew, dtype=torch.float32),
                    ),
                    keep=torch.as_tensor(keep, device=self.device),
                )
                ep_return += np.where(keep, rew, 0.0)
                ep_length += keep
                for i in np.flatnonzero(keep & (term | trunc)):
                    finished.append((float(ep_return[i]), int(ep_length[i])))
                    ep_return[i], ep_length[i] = 0.0, 0
                if autoreset.any():  # these sub-envs just returned a reset observation
                    skills[torch.as_tensor(autoreset)] = self.sample_skills(int(autoreset.sum()))
                autoreset = term | trunc
                obs_np = next_np
                added = int(keep.sum())
                self.global_step += added
                bar.update(added)
            if self.global_step >= cfg.train.learning_starts:
                for _ in range(cfg.train.grad_steps):
                    for k, v in self.update().items():
                        sums[k] = sums[k] + v.detach()
                    counts += 1
            if self.global_step >= next_log or self.global_step >= cfg.total_steps:
                sps = (self.global_step - start_step) / max(time.perf_counter() - start, 1e-9)
                start, start_step = time.perf_counter(), self.global_step
                self.log(sums, counts, finished, sps, bar)
                sums, counts, finished = defaultdict(lambda: torch.zeros((), device=self.device)), 0, []
                next_log += cfg.train.log_every
            if (
                self.run_dir is not None
                and self.global_step >= next_ckpt
                and self.global_step < cfg.total_steps
            ):
                self.save()
                next_ckpt += cfg.train.checkpoint_every
            if cfg.train.eval_every and self.global_step >= next_eval and self.global_step < cfg.total_steps:
                self.evaluate(figure=False)
                next_eval += cfg.train.eval_every
        bar.close()
        result = self.evaluate(figure=cfg.eval.figure)
        if self.run_dir is not None:
            self.save()
        if self.writer is not None:
            self.writer.close()
        self.envs.close()
        return result

    def log(self, sums: dict[str, Tensor], counts: int, finished: list, sps: float, bar: tqdm) -> None:
        """Read the device metrics once per interval, check them, write TensorBoard and the bar."""
        scalars = {k: (v / max(counts, 1)).item() for k, v in sums.items()}
        for name, value in scalars.items():
            if not np.isfinite(value):
                raise NonFiniteError(
                    f"non-finite {name} ({value}) at step {self.global_step}; the last checkpoint "
                    "in the run directory is intact"
                )
        self.history.append({"step": float(self.global_step), **scalars})
        postfix = {"sps": f"{sps:.0f}"}
        if finished:
            postfix["return"] = f"{np.mean([r for r, _ in finished]):.2f}"
        bar.set_postfix(postfix, refresh=False)
        if self.writer is None:
            return
        step = self.global_step
        self.writer.add_scalar("charts/sps", sps, step)
        if finished:
            self.writer.add_scalar("charts/episodic_return", float(np.mean([r for r, _ in finished])), step)
            self.writer.add_scalar("charts/episodic_length", float(np.mean([n for _, n in finished])), step)
        for name, value in scalars.items():
            group, _, stat = name.partition("/")
            if group == "reward":
                tag = f"rewards/{self.cfg.reward.name}/{stat}"
            elif group == "sac":
                tag = f"losses/{stat}"
            else:
                tag = f"losses/{group}/{stat}"
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
        state: dict[str, Any] = {
            "step": self.global_step,
            "agent": self.agent.state_dict(),
            "agent_optim": {k: o.state_dict() for k, o in self.agent.optimizers.items()},
        }
        if self.reward_module is not None:
            state["reward"] = self.reward_module.state_dict()
            state["reward_optim"] = self.reward_module.optimizer_state()
        return state

    def save(self) -> Path:
        assert self.run_dir is not None
        return save_checkpoint(self.run_dir, self.global_step, self.state_dict())
