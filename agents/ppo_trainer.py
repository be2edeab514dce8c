"""The on-policy loop for :class:`~rlinfo.agents.ppo.PPO`: rollouts, rewards, GAE, updates, logs, checkpoints.

One iteration collects ``train.rollout_steps`` steps from each of ``env.num_envs`` sub-envs (a
gymnasium vector env, NEXT_STEP autoreset), then:

1. the reward of each real transition, r = extrinsic_weight · r_ext + intrinsic_weight · r_int,
   with r_int from the reward module on the rollout batch (its networks *before* they train on it);
2. optional reward scaling by the running std of the discounted return (``agent.params.norm_return``);
3. GAE and the PPO epochs; the reward module's ``update`` on random rollout minibatches (every
   ``train.reward_update_every``-th of the PPO minibatches); the entropy controller's update.

The step after an episode end is a reset step (not a transition): it is masked out of the loss,
cuts the GAE recursion and gets no reward. Skills (skill reward modules) are drawn per episode and
appended to the observation, as in the SAC trainer. Checkpoints are tensors + JSON (weights_only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from rlinfo.agents.builders import build_ppo, build_reward, make_envs, resolve_device, skill_dim_of
from rlinfo.agents.evaluate import EVAL_SEED_OFFSET, evaluate_policy, final_evaluation
from rlinfo.agents.monitor import advance, progress_bar, stat_tag
from rlinfo.agents.ppo import PPO, gae
from rlinfo.checkpoint import load_checkpoint, save_checkpoint, write_json
from rlinfo.config import Config
from rlinfo.errors import NonFiniteError, RlinfoError
from rlinfo.rewards import SkillReward
from rlinfo.types import Batch


def space_dims(envs: gym.vector.VectorEnv) -> tuple[int, int, bool]:
    """(obs_dim, action_dim, discrete): action_dim is the number of actions for a Discrete space."""
    obs_space, act = envs.single_observation_space, envs.single_action_space
    if not isinstance(obs_space, gym.spaces.Box):
        raise RlinfoError("PPO needs a flat Box observation space")
    if isinstance(act, gym.spaces.Discrete):
        return int(np.prod(obs_space.shape)), int(act.n), True
    if isinstance(act, gym.spaces.Box):
        return int(np.prod(obs_space.shape)), int(np.prod(act.shape)), False
    raise RlinfoError(f"PPO needs a Discrete or Box action space, got {type(act).__name__}")


class PPOTrainer:
    """Owns the envs, the PPO agent and the reward module of one on-policy run."""

    def __init__(self, cfg: Config, run_dir: str | Path | None = None) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir) if run_dir is not None else None
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.device = resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.envs = make_envs(cfg, cfg.env.num_envs, cfg.seed)
        obs_dim, action_dim, self.discrete = space_dims(self.envs)
        self.reward_module = build_reward(cfg, obs_dim, action_dim)
        if self.reward_module is not None:
            self.reward_module.to(self.device)
        self.skill_dim = skill_dim_of(self.reward_module)
        self.agent: PPO = build_ppo(
            cfg.agent, obs_dim + self.skill_dim, action_dim, self.discrete, self.skill_dim
        )
        self.agent.to(self.device)
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed)
        self.skill_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.global_step, self.iteration = 0, 0
        self.history: list[dict[str, float]] = []
        self.writer: SummaryWriter | None = None
        n = cfg.env.num_envs
        self.ret_acc = torch.zeros(n)  # discounted return per env, for reward scaling

    def attach(self, cfg: Config, run_dir: str | Path) -> None:
        """Write into ``run_dir`` from now on (the CLI builds and validates everything before creating it)."""
        self.cfg, self.run_dir = cfg, Path(run_dir)

    def sample_skills(self, n: int) -> Tensor:
        if not isinstance(self.reward_module, SkillReward):
            return torch.zeros(n, 0)
        return self.reward_module.skill_space.sample(n, generator=self.skill_gen)

    def agent_input(self, obs: Tensor, skill: Tensor) -> Tensor:
        return torch.cat([obs, skill.to(obs.device)], dim=-1) if skill.shape[-1] else obs

    # ------------------------------------------------------------------ collection
    def collect(self, state: dict[str, Any]) -> dict[str, Tensor]:
        """``rollout_steps`` vector steps; tensors [T, N, ...] plus values [T + 1, N]."""
        T, dev = self.cfg.train.rollout_steps, self.device
        keys = ("obs", "skill", "action", "log_prob", "value", "ext", "next_obs", "term", "done", "mask")
        buf: dict[str, list[Tensor]] = {k: [] for k in keys}
        for _ in range(T):
            obs = torch.as_tensor(state["obs"], dtype=torch.float32, device=dev)
            skill = state["skills"].to(dev)
            action, logp, value = self.agent.act_value(self.agent_input(obs, skill))
            next_obs, rew, term, trunc, info = self.envs.step(self.env_action(action))
            if not np.isfinite(next_obs).all() or not np.isfinite(rew).all():
                raise NonFiniteError(f"non-finite observation or reward from env {self.cfg.env.name!r}")
            valid = ~state["autoreset"]
            for k, v in (
                ("obs", obs),
                ("skill", skill),
                ("action", action),
                ("log_prob", logp),
                ("value", value),
            ):
                buf[k].append(v)
            buf["ext"].append(torch.as_tensor(rew, dtype=torch.float32, device=dev))
            buf["next_obs"].append(torch.as_tensor(next_obs, dtype=torch.float32, device=dev))
            buf["term"].append(torch.as_tensor(term, device=dev))
            buf["done"].append(torch.as_tensor(term | trunc | ~valid, device=dev))
            buf["mask"].append(torch.as_tensor(valid, device=dev))
            self.track_episodes(state, rew, term | trunc, valid, info)
            if state["autoreset"].any():  # these envs just returned a reset observation: new skills
                skills = state["skills"].clone()  # the stored rollout keeps the old tensor
                reset = torch.as_tensor(state["autoreset"])
                skills[reset] = self.sample_skills(int(reset.sum()))
                state["skills"] = skills
            state["autoreset"], state["obs"] = term | trunc, next_obs
            self.global_step += int(valid.sum())
        data = {k: torch.stack(v) for k, v in buf.items()}
        last = torch.as_tensor(state["obs"], dtype=torch.float32, device=dev)
        with torch.inference_mode():
            final = self.agent.value(self.agent_input(last, state["skills"].to(dev)))
        data["values"] = torch.cat([data["value"], final[None]])
        return data

    def env_action(self, action: Tensor) -> np.ndarray:
        """Numpy actions for the env; Gaussian samples are clipped to the Box (log π uses the raw sample)."""
        a = action.cpu().numpy()
        space = self.envs.single_action_space
        return a if self.discrete else np.clip(a, space.low, space.high)

    def track_episodes(
        self, state: dict[str, Any], rew: np.ndarray, end: np.ndarray, valid: np.ndarray, info: dict
    ) -> None:
        state["ep_return"] += np.where(valid, rew, 0.0)
        state["ep_length"] += valid
        if "success" in info:  # only envs that define success report it
            state["has_success"] = True
            state["ep_success"] |= np.asarray(info["success"], dtype=bool) & valid
        for i in np.flatnonzero(valid & end):
            state["finished"].append(
                (float(state["ep_return"][i]), int(state["ep_length"][i]), bool(state["ep_success"][i]))
            )
            state["ep_return"][i], state["ep_length"][i], state["ep_success"][i] = 0.0, 0, False

    # ------------------------------------------------------------------ rewards and update
    def rewards(self, data: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """r = w_ext r_ext + w_int r_int on the real transitions (0 on reset steps), optionally scaled."""
        cfg, mask = self.cfg.reward, data["mask"]
        reward = cfg.extrinsic_weight * data["ext"]
        stats: dict[str, Tensor] = {}
        if self.reward_module is not None:
            batch = self.flat_batch(data, mask)
            r_int = torch.zeros_like(reward)
            r_int[mask] = self.reward_module.reward(batch)
            reward = reward + cfg.intrinsic_weight * r_int
            stats["reward/intrinsic_mean"] = r_int[mask].mean()
            stats["intrinsic"] = r_int  # [T, N], summed per episode by track_intrinsic (not logged)
        reward = reward * mask
        if self.agent.norm_return:  # divide by the running std of the discounted return (as SB3/CleanRL)
            acc = self.ret_acc.to(reward.device)
            for t in range(reward.shape[0]):
                acc = acc * self.agent.gamma + reward[t]
                self.agent.ret_rms.update(acc[mask[t]])
                acc = acc * ~data["done"][t]
            self.ret_acc = acc
            reward = reward / self.agent.ret_rms.std
        return reward, stats

    def flat_batch(self, data: dict[str, Tensor], rows: Tensor) -> Batch:
        return Batch(
            obs=data["obs"][rows],
            action=data["action"][rows].float(),
            next_obs=data["next_obs"][rows],
            terminated=data["term"][rows],
            skill=data["skill"][rows] if self.skill_dim else None,
            reward=data["ext"][rows],
        )

    def update_reward_module(self, data: dict[str, Tensor]) -> dict[str, Tensor]:
        module = self.reward_module
        if module is None:
            return {}
        batch = self.flat_batch(data, data["mask"])
        n, agent = len(batch), self.agent
        mb = max(1, n // agent.num_minibatches)
        stats: dict[str, Tensor] = {}
        for i in range(agent.update_epochs * agent.num_minibatches):
            if i % self.cfg.train.reward_update_every:
                continue
            idx = torch.randperm(n, generator=self.gen, device=self.device)[:mb]
            sub = Batch(**{k: (v[idx] if v is not None else None) for k, v in vars(batch).items()})
            stats = {f"{module.name}/{k}": v for k, v in module.update(sub).items()}
        return stats

    def iterate(self, state: dict[str, Any]) -> dict[str, float]:
        """One rollout + update; returns the logged row."""
        data = self.collect(state)
        # score the rollout before the reward module trains on it (RND, CleanRL, our SB3 callback):
        # an update first would shrink the bonus of exactly the novel states it should reward
        reward, stats = self.rewards(data)
        if "intrinsic" in stats:
            self.track_intrinsic(state, stats.pop("intrinsic"), data)
        stats.update(self.update_reward_module(data))
        adv, ret = gae(
            reward, data["values"], data["term"], data["done"], self.agent.gamma, self.agent.gae_lambda
        )
        flat = {k: data[k].flatten(0, 1) for k in ("log_prob", "value", "mask")}
        flat.update(
            obs=self.agent_input(data["obs"], data["skill"]).flatten(0, 1),
            adv=adv.flatten(),
            ret=ret.flatten(),
        )
        flat["action"] = data["action"].flatten(0, 1)
        flat["generator"] = self.gen  # type: ignore[assignment]
        progress = min(self.global_step / self.cfg.total_steps, 1.0)
        stats.update({f"agent/{k}": v for k, v in self.agent.update(flat, progress).items()})
        if self.agent.norm_obs:  # after the update, so that π_old and π see the same normalisation
            self.agent.obs_rms.update(data["obs"][data["mask"]])
        row = {"step": float(self.global_step), **{k: float(v) for k, v in stats.items()}}
        for k, v in row.items():
            if not np.isfinite(v):
                raise NonFiniteError(f"non-finite {k} ({v}) at step {self.global_step}")
        return row

    def start(self) -> dict[str, Any]:
        """Reset the envs; the collector's state: observations, skills and per-episode sums."""
        obs, _ = self.envs.reset(seed=self.cfg.seed)
        n = self.cfg.env.num_envs
        return {
            "obs": obs,
            "skills": self.sample_skills(n),
            "autoreset": np.zeros(n, dtype=bool),
            "ep_return": np.zeros(n),
            "ep_length": np.zeros(n, dtype=np.int64),
            "ep_success": np.zeros(n, dtype=bool),
            "ep_intrinsic": np.zeros(n),
            "has_success": False,  # the env reports info["success"]
            "finished": [],  # (return, length, success) of episodes finished since the last log
            "finished_intrinsic": [],
        }

    def track_intrinsic(self, state: dict[str, Any], r_int: Tensor, data: dict[str, Tensor]) -> None:
        """Sum each episode's intrinsic rewards (as scored for this rollout) into ``finished_intrinsic``."""
        r, mask = r_int.cpu().numpy(), data["mask"].cpu().numpy()
        ended = (data["done"] & data["mask"]).cpu().numpy()  # real episode ends (not reset steps)
        for t in range(len(r)):
            state["ep_intrinsic"] += np.where(mask[t], r[t], 0.0)
            for i in np.flatnonzero(ended[t]):
                state["finished_intrinsic"].append(float(state["ep_intrinsic"][i]))
                state["ep_intrinsic"][i] = 0.0

    # ------------------------------------------------------------------ loop
    def train(self) -> dict[str, Any]:
        """Iterate until ``total_steps`` env steps (at most one rollout past it); return the final eval."""
        cfg = self.cfg
        if self.run_dir is not None:
            self.writer = SummaryWriter(str(self.run_dir))
        torch.manual_seed(cfg.seed)  # action sampling uses the global generator
        state = self.start()
        bar = progress_bar(cfg.total_steps, 0, cfg.train.progress)
        next_ckpt = cfg.train.checkpoint_every or cfg.total_steps
        while self.global_step < cfg.total_steps:
            before, start = self.global_step, time.perf_counter()
            row = self.iterate(state)
            sps = (self.global_step - before) / max(time.perf_counter() - start, 1e-9)
            if state["finished"]:
                row["episodic_return"] = float(np.mean([r for r, _, _ in state["finished"]]))
                row["episodic_length"] = float(np.mean([n for _, n, _ in state["finished"]]))
                if state["has_success"]:
                    row["success"] = float(np.mean([s for _, _, s in state["finished"]]))
                state["finished"] = []
            if state["finished_intrinsic"]:
                row["intrinsic_return"] = float(np.mean(state["finished_intrinsic"]))
                state["finished_intrinsic"] = []
            self.history.append(row)  # deterministic at a seed; the wall-clock rate goes only to the logs
            row = {**row, "sps": sps}
            self.iteration += 1
            self.log(row)
            advance(bar, before, self.global_step)
            bar.set_postfix(self.postfix(row), refresh=False)
            if (
                self.run_dir is not None
                and self.global_step >= next_ckpt
                and self.global_step < cfg.total_steps
            ):
                self.save()
                next_ckpt += cfg.train.checkpoint_every
        bar.close()
        self.envs.close()
        try:
            if self.run_dir is not None:
                self.save()  # the final state first: a failing evaluation can never lose it
            result = final_evaluation(self.run_dir, self.evaluate)
            if self.run_dir is not None:
                write_json(self.run_dir / "eval.json", result)
            return result
        finally:
            if self.writer is not None:
                self.writer.close()

    def postfix(self, row: dict[str, float]) -> dict[str, str]:
        """The bar's postfix: the same sps as ``charts/sps``, and the return the run optimises."""
        postfix = {"sps": f"{row['sps']:.0f}"}
        reward_free = self.reward_module is not None and not self.cfg.reward.extrinsic_weight
        shown = "intrinsic_return" if reward_free else "episodic_return"
        if shown in row:
            postfix["int_return" if reward_free else "return"] = f"{row[shown]:.3g}"
        return postfix

    CHARTS = ("sps", "episodic_return", "episodic_length", "success", "intrinsic_return")

    def log(self, row: dict[str, float]) -> None:
        """One TensorBoard scalar per value of ``row`` (tags: agents/monitor.py)."""
        if self.writer is None:
            return
        for k, v in row.items():
            if k == "step":
                continue
            if k in self.CHARTS:
                tag = f"charts/{k}"
            else:
                group, _, stat = k.partition("/")
                tag = stat_tag(group, stat, self.agent.loss_names, self.cfg.reward.name)
            self.writer.add_scalar(tag, v, self.global_step)

    @torch.inference_mode()
    def evaluate(self, deterministic: bool = True) -> dict[str, Any]:
        """Mean return and success rate of ``eval.num_rollouts`` episodes (one per eval sub-env)."""
        n = self.cfg.eval.num_rollouts
        envs = make_envs(self.cfg, n, self.cfg.seed + EVAL_SEED_OFFSET)
        skills = self.sample_skills(n)
        obs, info = envs.reset(seed=self.cfg.seed + EVAL_SEED_OFFSET)
        has_xy = "xy" in info  # the env reports positions: coverage and the trajectory figure
        ret, success, live = np.zeros(n), np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        has_success = False
        while live.any():
            x = self.agent_input(
                torch.as_tensor(obs, dtype=torch.float32, device=self.device), skills.to(self.device)
            )
            obs, rew, term, trunc, info = envs.step(self.env_action(self.agent.act(x, deterministic)))
            ret += np.where(live, rew, 0.0)
            if "success" in info:
                has_success = True
                success |= np.asarray(info["success"], dtype=bool) & live
            live &= ~(term | trunc)
        envs.close()
        result: dict[str, Any] = {"return": float(ret.mean()), "episodes": n}
        if has_success:  # only envs that define success report it
            result["success"] = float(success.mean())
        if isinstance(self.reward_module, SkillReward) or has_xy:  # METRA's coverage protocol, as for SAC
            path = self.run_dir / "skills.png" if self.run_dir is not None and self.cfg.eval.figure else None
            result.update(evaluate_policy(self.cfg, self.agent, self.reward_module, self.device, path))
        result["steps"] = self.global_step
        return result

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": self.global_step,
            "agent": self.agent.state_dict(),
            "agent_optim": {k: o.state_dict() for k, o in self.agent.optimizers.items()},
            "meta": json.dumps({"global_step": self.global_step, "iteration": self.iteration}),
        }
        if self.reward_module is not None:
            state["reward"] = self.reward_module.state_dict()
            state["reward_optim"] = self.reward_module.optimizer_state()
        return state

    def save(self) -> Path:
        assert self.run_dir is not None
        return save_checkpoint(self.run_dir, self.global_step, self.state_dict())

    def load(self, path: str | Path) -> None:
        """Networks, optimisers, normalisers, controller state and counters from a checkpoint file."""
        state = load_checkpoint(path)
        self.agent.load_state_dict(state["agent"])
        for k, opt in self.agent.optimizers.items():
            opt.load_state_dict(state["agent_optim"][k])
        if self.reward_module is not None:
            self.reward_module.load_state_dict(state["reward"])
            self.reward_module.load_optimizer_state(state["reward_optim"])
        meta = json.loads(state["meta"])
        self.global_step, self.iteration = int(meta["global_step"]), int(meta["iteration"])
