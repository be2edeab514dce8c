"""The collector: steps a gymnasium vector env with a policy and keeps the episodes' bookkeeping.

Gymnasium 1.x vector envs autoreset on the *next* step: the step after a terminated or truncated one
returns the reset observation and is not a transition (``Step.valid`` is False there; it is never
learned from). That reset observation starts a new episode, which gets a fresh skill; with
``skill_every = k > 0`` an episode also gets a fresh skill after every k of its steps (URLB's DIAYN, CIC
and BeCL redraw every 50). Truncation is not termination: only ``terminated`` ends the value bootstrap.

Per sub-env the collector keeps the current observation and skill, the episode's return, length,
success (where the env reports ``info["success"]``) and intrinsic return. The intrinsic rewards of a
rollout are known only after the rollout, so :meth:`Collector.step` records which rows ended an episode
and :meth:`Collector.add_intrinsic` later sums the learner's r_int into the episodes in step order.
:meth:`Collector.state_dict` / :meth:`Collector.load_state_dict` hold all of it for exact resume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

Policy = Callable[[Tensor], tuple[Tensor | np.ndarray, dict[str, Tensor]]]  # agent input -> (action, extras)


@dataclass
class Step:
    """One vector-env step; tensors on the training device, ``valid`` False on reset steps."""

    obs: Tensor  # [N, obs_dim]
    skill: Tensor  # [N, skill_dim] (skill_dim may be 0), the skill of this step's episode
    action: Tensor  # [N, ...] as the policy returned it
    next_obs: Tensor
    reward: Tensor  # [N] extrinsic
    terminated: Tensor  # [N] bool
    done: Tensor  # [N] bool: terminated or truncated
    valid: Tensor  # [N] bool: a real transition (not the reset step after an episode end)
    extras: dict[str, Tensor]  # what the policy returned besides the action (PPO: log π, V)


class Collector:
    """Owns the env loop state of one run (see the module docstring)."""

    def __init__(
        self,
        envs: gym.vector.VectorEnv,
        sample_skills: Callable[[int], Tensor],
        device: torch.device,
        env_name: str,
        non_finite: Callable[[str, Any], Exception],
        clip_actions: bool = False,
        skill_every: int = 0,
    ) -> None:
        self.env_name = env_name
        self.skill_every = skill_every  # steps of an episode per skill (0: the whole episode)
        self.envs, self.sample_skills, self.device = envs, sample_skills, device
        self.non_finite, self.clip_actions = non_finite, clip_actions  # non_finite(what, value): the error
        self.n = envs.num_envs
        self.obs: np.ndarray | None = None
        self.skills = torch.zeros(self.n, 0)
        self.autoreset = np.zeros(self.n, dtype=bool)
        self.ep_return, self.ep_length = np.zeros(self.n), np.zeros(self.n, dtype=np.int64)
        self.ep_success, self.ep_intrinsic = np.zeros(self.n, dtype=bool), np.zeros(self.n)
        self.has_success = False  # the env reports info["success"]
        self.finished: list[tuple[float, int, bool]] = []  # (return, length, success) since the last log
        self.finished_intrinsic: list[float] = []
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []  # (valid, ended) of steps not yet scored

    def reset(self, seed: int) -> None:
        """Start new episodes in every sub-env (reset seeded with ``seed``), each with a fresh skill."""
        self.obs, _ = self.envs.reset(seed=seed)
        self.skills = self.sample_skills(self.n)
        self.autoreset[:] = False
        self.ep_return[:], self.ep_length[:], self.ep_success[:], self.ep_intrinsic[:] = 0.0, 0, False, 0.0
        self.pending = []

    def agent_input(self, obs: Tensor, skill: Tensor) -> Tensor:
        """The policy's input: the observation with the skill appended (skill-conditioned agents)."""
        return torch.cat([obs, skill.to(obs.device)], dim=-1) if skill.shape[-1] else obs

    def step(self, policy: Policy | None) -> Step:
        """Act (``policy`` None: uniform random actions), step the env, update episodes and skills."""
        assert self.obs is not None, "call reset() first"
        obs = torch.as_tensor(self.obs, dtype=torch.float32, device=self.device)
        skill = self.skills
        if policy is None:
            action, extras = self.envs.action_space.sample(), {}
        else:
            action, extras = policy(self.agent_input(obs, skill.to(self.device)))
        env_action = action.cpu().numpy() if isinstance(action, Tensor) else action
        if self.clip_actions:  # Gaussian samples are clipped to the Box (log π keeps the raw sample)
            space = self.envs.single_action_space
            env_action = np.clip(env_action, space.low, space.high)
        actions = np.asarray(env_action)
        if np.issubdtype(actions.dtype, np.floating) and not np.isfinite(actions).all():
            raise self.non_finite("action from the policy", actions[~np.isfinite(actions)][0])
        next_obs, rew, term, trunc, info = self.envs.step(env_action)
        for what, value in (("observation", next_obs), ("reward", rew)):  # numpy on the CPU: no device sync
            if not np.isfinite(value).all():
                bad = np.asarray(value)[~np.isfinite(value)][0]
                raise self.non_finite(f"{what} from env {self.env_name!r}", bad)
        valid = ~self.autoreset
        done = term | trunc
        self.track(rew, done, valid, info)
        step = Step(
            obs=obs,
            skill=skill,
            action=torch.as_tensor(action, device=self.device),
            next_obs=torch.as_tensor(next_obs, dtype=torch.float32, device=self.device),
            reward=torch.as_tensor(rew, dtype=torch.float32, device=self.device),
            terminated=torch.as_tensor(term, device=self.device),
            done=torch.as_tensor(done, device=self.device),
            valid=torch.as_tensor(valid, device=self.device),
            extras=extras,
        )
        fresh = self.autoreset.copy()  # these sub-envs just returned a reset observation: new episodes
        if self.skill_every:  # and these have spent skill_every steps of their episode on this skill
            fresh |= ~done & (self.ep_length > 0) & (self.ep_length % self.skill_every == 0)
        if fresh.any():
            skills = self.skills.clone()  # the step above keeps the old tensor
            redraw = torch.as_tensor(fresh)
            skills[redraw] = self.sample_skills(int(redraw.sum()))
            self.skills = skills
        self.autoreset, self.obs = done, next_obs
        return step

    def track(self, rew: np.ndarray, done: np.ndarray, valid: np.ndarray, info: dict[str, Any]) -> None:
        """Episode sums of the real transitions; a finished episode goes to ``finished``."""
        self.ep_return += np.where(valid, rew, 0.0)
        self.ep_length += valid
        if "success" in info:
            self.has_success = True
            self.ep_success |= np.asarray(info["success"], dtype=bool) & valid
        ended = valid & done
        for i in np.flatnonzero(ended):
            self.finished.append((float(self.ep_return[i]), int(self.ep_length[i]), bool(self.ep_success[i])))
            self.ep_return[i], self.ep_length[i], self.ep_success[i] = 0.0, 0, False
        self.pending.append((valid, ended))

    def add_intrinsic(self, rewards: Tensor | np.ndarray) -> None:
        """Sum r_int [T, N] of the oldest T pending steps into the episodes' intrinsic returns."""
        r = rewards.detach().cpu().numpy() if isinstance(rewards, Tensor) else np.asarray(rewards)
        r = r.reshape(-1, self.n)
        for t in range(len(r)):
            valid, ended = self.pending[t]
            self.ep_intrinsic += np.where(valid, r[t], 0.0)
            for i in np.flatnonzero(ended):
                self.finished_intrinsic.append(float(self.ep_intrinsic[i]))
                self.ep_intrinsic[i] = 0.0
        del self.pending[: len(r)]

    def drop_pending(self) -> None:
        """Forget the steps not yet scored (their intrinsic rewards are not added)."""
        self.pending = []

    def summary(self) -> dict[str, float]:
        """Means over the episodes finished since the last call (then forgotten)."""
        out: dict[str, float] = {}
        if self.finished:
            out["episodic_return"] = float(np.mean([r for r, _, _ in self.finished]))
            out["episodic_length"] = float(np.mean([n for _, n, _ in self.finished]))
            if self.has_success:
                out["success"] = float(np.mean([s for _, _, s in self.finished]))
        if self.finished_intrinsic:
            out["intrinsic_return"] = float(np.mean(self.finished_intrinsic))
        self.finished, self.finished_intrinsic = [], []
        return out

    # ------------------------------------------------------------------ saved state

    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """(tensors, JSON) of the collector, with the masks of the steps not yet scored (``pending``)."""
        assert self.obs is not None
        tensors = {
            "obs": torch.from_numpy(np.array(self.obs)),
            "skills": self.skills.clone(),
            "autoreset": torch.from_numpy(self.autoreset.copy()),
            "ep_return": torch.from_numpy(self.ep_return.copy()),
            "ep_length": torch.from_numpy(self.ep_length.copy()),
            "ep_success": torch.from_numpy(self.ep_success.copy()),
            "ep_intrinsic": torch.from_numpy(self.ep_intrinsic.copy()),
        }
        if self.pending:
            tensors["pending_valid"] = torch.from_numpy(np.stack([v for v, _ in self.pending]))
            tensors["pending_ended"] = torch.from_numpy(np.stack([e for _, e in self.pending]))
        meta = {
            "finished": self.finished,
            "finished_intrinsic": self.finished_intrinsic,
            "has_success": self.has_success,
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        self.obs = tensors["obs"].numpy().copy()
        self.skills = tensors["skills"].clone()
        self.autoreset = tensors["autoreset"].numpy().copy()
        self.ep_return = tensors["ep_return"].numpy().copy()
        self.ep_length = tensors["ep_length"].numpy().copy()
        self.ep_success = tensors["ep_success"].numpy().copy()
        self.ep_intrinsic = tensors["ep_intrinsic"].numpy().copy()
        self.finished = [(float(r), int(n), bool(s)) for r, n, s in meta["finished"]]
        self.finished_intrinsic = [float(r) for r in meta["finished_intrinsic"]]
        self.has_success = bool(meta["has_success"])
        valid, ended = tensors.get("pending_valid"), tensors.get("pending_ended")
        self.pending = []
        if valid is not None:
            self.pending = list(zip(valid.numpy().copy(), ended.numpy().copy(), strict=True))
