"""On-policy learning (:class:`~rlinfo.agents.PPO`): what the loop calls ``collect`` and ``learn``.

``collect`` takes ``train.rollout_steps`` steps from each of ``env.num_envs`` sub-envs (actions, log π
and V from the current policy). ``learn`` then, on that rollout:

1. the reward of each real transition, r = extrinsic_weight · r_ext + intrinsic_weight · r_int, with
   r_int from the reward module's current networks, scored *before* the module trains on the rollout
   (RND, CleanRL, the SB3 callback: training first would shrink the bonus of exactly the novel states);
2. optional reward scaling by the running std of the discounted return (``agent.params.norm_return``);
3. GAE and the PPO epochs; the reward module's ``update`` on random rollout minibatches (every
   ``train.reward_update_every``-th of the PPO minibatches); the entropy controller's update.

The step after an episode end is a reset step (not a transition): it is masked out of the loss, cuts
the GAE recursion and gets no reward. A run collects whole rollouts, so it ends within one rollout
after ``total_steps``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rlinfo.agents.ppo import gae
from rlinfo.run.build import Parts
from rlinfo.run.collect import Collector
from rlinfo.types import Batch

ROLLOUT = ("obs", "skill", "action", "log_prob", "value", "ext", "next_obs", "term", "done", "mask")


class OnPolicy:
    """Rollout storage, rewards, GAE and PPO updates."""

    def __init__(self, parts: Parts) -> None:
        self.parts, self.cfg = parts, parts.cfg
        self.agent, self.reward_module = parts.agent, parts.reward_module
        self.gen = torch.Generator(parts.device).manual_seed(self.cfg.seed)  # minibatch permutations
        self.ret_acc = torch.zeros(self.cfg.env.num_envs)  # discounted return per env (reward scaling)
        self.rollout: dict[str, Tensor] | None = None

    def close(self) -> None:
        """Nothing to stop (the off-policy learner's interface)."""

    def policy(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        action, log_prob, value = self.agent.act_value(x)
        return action, {"log_prob": log_prob, "value": value}

    def collect(self, collector: Collector, step: int, total: int) -> int:
        """One rollout of ``rollout_steps`` vector steps into :attr:`rollout` [T, N, ...]."""
        rows: dict[str, list[Tensor]] = {k: [] for k in ROLLOUT}
        for _ in range(self.cfg.train.rollout_steps):
            s = collector.step(self.policy)
            for key, value in (
                ("obs", s.obs),
                ("skill", s.skill.to(s.obs.device)),
                ("action", s.action),
                ("log_prob", s.extras["log_prob"]),
                ("value", s.extras["value"]),
                ("ext", s.reward),
                ("next_obs", s.next_obs),
                ("term", s.terminated),
                ("done", s.done | ~s.valid),
                ("mask", s.valid),
            ):
                rows[key].append(value)
            step += int(s.valid.sum())
        data = {k: torch.stack(v) for k, v in rows.items()}
        last = torch.as_tensor(collector.obs, dtype=torch.float32, device=self.parts.device)
        with torch.inference_mode():
            final = self.agent.value(collector.agent_input(last, collector.skills.to(self.parts.device)))
        data["values"] = torch.cat([data["value"], final[None]])
        self.rollout = data
        return step

    def learn(self, step: int, progress: float, collector: Collector) -> list[dict[str, Tensor]]:
        """Rewards (scored first), the reward module's updates, GAE and the PPO update of the rollout."""
        data = self.rollout
        assert data is not None, "collect() first"
        reward, stats = self.rewards(data, collector)
        stats.update(self.update_reward_module(data))
        adv, ret = gae(
            reward, data["values"], data["term"], data["done"], self.agent.gamma, self.agent.gae_lambda
        )
        skill = data["skill"]
        obs = torch.cat([data["obs"], skill], dim=-1) if skill.shape[-1] else data["obs"]
        flat: dict[str, Any] = {k: data[k].flatten(0, 1) for k in ("log_prob", "value", "mask", "action")}
        flat.update(obs=obs.flatten(0, 1), adv=adv.flatten(), ret=ret.flatten(), generator=self.gen)
        stats.update({f"agent/{k}": v for k, v in self.agent.update(flat, progress).items()})
        if self.agent.norm_obs:  # after the update, so that π_old and π see the same normalisation
            self.agent.obs_rms.update(data["obs"][data["mask"]])
        self.rollout = None
        return [stats]

    def flat_batch(self, data: dict[str, Tensor], rows: Tensor) -> Batch:
        return Batch(
            obs=data["obs"][rows],
            action=data["action"][rows].float(),
            next_obs=data["next_obs"][rows],
            terminated=data["term"][rows],
            skill=data["skill"][rows] if self.parts.skill_dim else None,
            reward=data["ext"][rows],
        )

    def rewards(self, data: dict[str, Tensor], collector: Collector) -> tuple[Tensor, dict[str, Tensor]]:
        """The training reward of every real transition [T, N] (0 on reset steps), optionally scaled."""
        mask = data["mask"]
        target, r_int, stats = self.parts.training_reward(self.flat_batch(data, mask))
        reward = torch.zeros_like(data["ext"])
        reward[mask] = target
        if r_int is not None:  # each episode's intrinsic return, for the logs
            per_step = torch.zeros_like(reward)
            per_step[mask] = r_int
            collector.add_intrinsic(per_step)
        else:
            collector.drop_pending()
        if self.agent.norm_return:  # divide by the running std of the discounted return (as SB3/CleanRL)
            acc = self.ret_acc.to(reward.device)
            for t in range(reward.shape[0]):
                acc = acc * self.agent.gamma + reward[t]
                self.agent.ret_rms.update(acc[mask[t]])
                acc = acc * ~data["done"][t]
            self.ret_acc = acc
            reward = reward / self.agent.ret_rms.std
        return reward, stats

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
            idx = torch.randperm(n, generator=self.gen, device=self.parts.device)[:mb]
            sub = Batch(**{k: (v[idx] if v is not None else None) for k, v in vars(batch).items()})
            stats = {f"{module.name}/{k}": v for k, v in module.update(sub).items()}
        return stats

    def flush(self, collector: Collector) -> None:
        """Nothing to do: each rollout is scored in :meth:`learn`."""

    # ------------------------------------------------------------------ saved state

    episode_returns = True  # PPO's evaluation reports the return of deterministic episodes
    keeps_buffer = False  # no replay buffer: the rollout is collected again after a resume
    clips_actions = True  # a Gaussian policy's samples are clipped to a Box action space by the collector

    def start(self, seed: int) -> None:
        """A fresh run: PPO samples its actions from torch's global generator."""
        torch.manual_seed(seed)

    def save_files(self, chunks: Any, step: int) -> None:
        """Nothing beside the checkpoint: the rollout is rebuilt after a resume."""
        return None

    def load_files(self, chunks: Any, manifest: dict[str, Any], env_restored: bool) -> None:
        """Nothing to load (see :meth:`save_files`)."""

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"gen": self.gen.get_state(), "ret_acc": self.ret_acc.cpu().clone()}, {}

    def load_state_dict(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
        self.gen.set_state(tensors["gen"].cpu())
        self.ret_acc = tensors["ret_acc"].clone()
        self.rollout = None
