"""stable-baselines3 adapter: rlinfo reward modules inside SB3's SAC/TD3/DDPG and PPO/A2C.

Three pieces (see docs/integration.md):

* :class:`SkillObservationWrapper`: a gymnasium wrapper that samples one skill per episode from a
  module's skill space and appends it to the (Box) observation, so any SB3 policy is skill-conditioned.
* Off-policy: :class:`IntrinsicReplayBuffer` (``replay_buffer_class=``) stores raw transitions, with
  the skill inside the observation, and relabels the reward **at sample time** from the modules'
  current networks: r = w_ext · r_ext + Σ_k w_k · module_k.reward(batch). SB3's timeout handling is
  kept (a truncated step is not terminal). :class:`IntrinsicRewardCallback` trains the modules on
  their own cadence from that buffer.
* On-policy: :class:`OnPolicyIntrinsicCallback` adds intrinsic rewards to the finished rollout and
  **recomputes returns and advantages**. SB3 calls ``compute_returns_and_advantage`` *before*
  ``on_rollout_end``, so editing rewards there without recomputing (RLLTE's bug) never reaches GAE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecNormalize
from torch import Tensor

from rlinfo.rewards.base import IntrinsicReward, SkillReward
from rlinfo.skills import SkillSpace
from rlinfo.types import Batch

ArrayOrTensor = np.ndarray | Tensor


def split_obs(obs: ArrayOrTensor, skill_dim: int) -> tuple[ArrayOrTensor, ArrayOrTensor | None]:
    """Split ``[..., obs_dim + skill_dim]`` into ``(obs [..., obs_dim], skill [..., skill_dim])``.

    With ``skill_dim == 0`` the observation is returned unchanged and the skill is ``None``.
    """
    if skill_dim == 0:
        return obs, None
    return obs[..., :-skill_dim], obs[..., -skill_dim:]


def skill_dim_of(modules: Sequence[IntrinsicReward]) -> int:
    """The skill dimension of the (at most one) skill module among ``modules``; 0 if there is none."""
    dims = {m.skill_space.dim for m in modules if isinstance(m, SkillReward)}
    if len(dims) > 1:
        raise ValueError(f"modules use different skill dimensions {sorted(dims)}; pass skill_dim explicitly")
    return dims.pop() if dims else 0


def _as_list(modules: IntrinsicReward | Sequence[IntrinsicReward] | None) -> list[IntrinsicReward]:
    if modules is None:
        return []
    if isinstance(modules, IntrinsicReward):
        return [modules]
    return list(modules)


def _weights(weights: float | Sequence[float], n: int) -> list[float]:
    if isinstance(weights, (int, float)):
        return [float(weights)] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"got {len(weights)} intrinsic weights for {n} modules")
    return weights


class SkillObservationWrapper(gym.ObservationWrapper):
    """Append a per-episode skill z ~ p(z) to a Box observation: obs' = concat(obs, z).

    A new skill is drawn from ``skill_space`` at every ``reset`` (``reset(seed=s)`` reseeds the skill
    generator, so seeded SB3 vector envs are reproducible), unless one was fixed with
    :meth:`set_skill` (evaluation). The current skill is :attr:`skill`; :meth:`split` undoes the
    concatenation. With SB3 vector envs use ``venv.get_attr("skill")`` and
    ``venv.env_method("set_skill", z, indices=[i])``.
    """

    def __init__(self, env: gym.Env, skill_space: SkillSpace, seed: int | None = None) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"SkillObservationWrapper needs a 1-D Box observation space, got {space}")
        self.skill_space = skill_space
        self.skill_dim = int(skill_space.dim)
        bound = np.full(self.skill_dim, np.inf, dtype=np.float32)
        self.observation_space = gym.spaces.Box(
            np.concatenate([space.low.astype(np.float32), -bound]),
            np.concatenate([space.high.astype(np.float32), bound]),
            dtype=np.float32,
        )
        self._gen = torch.Generator()
        self._gen.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**62))
        self._fixed: np.ndarray | None = None
        self.skill = np.zeros(self.skill_dim, dtype=np.float32)

    def set_skill(self, skill: np.ndarray | Tensor | None) -> None:
        """Use ``skill`` for every following episode (``None`` returns to sampling from p(z))."""
        if skill is None:
            self._fixed = None
            return
        z = np.asarray(skill, dtype=np.float32).reshape(-1)
        if z.shape != (self.skill_dim,):
            raise ValueError(f"skill must have shape ({self.skill_dim},), got {z.shape}")
        self._fixed = z

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset the env and draw the episode's skill (seeded by ``seed`` when given)."""
        if seed is not None:
            self._gen.manual_seed(int(seed))
        if self._fixed is not None:
            self.skill = self._fixed.copy()
        else:
            self.skill = self.skill_space.sample(1, generator=self._gen)[0].numpy().astype(np.float32)
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        info["skill"] = self.skill.copy()
        return self.observation(obs), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(observation, dtype=np.float32).reshape(-1), self.skill])

    def split(self, obs: ArrayOrTensor) -> tuple[ArrayOrTensor, ArrayOrTensor | None]:
        """``(obs, skill)`` from wrapped observations ``[..., obs_dim + skill_dim]``."""
        return split_obs(obs, self.skill_dim)


def _to_batch(
    obs: Tensor, action: Tensor, next_obs: Tensor, terminated: Tensor, reward: Tensor | None, skill_dim: int
) -> Batch:
    o, z = split_obs(obs, skill_dim)
    o2, _ = split_obs(next_obs, skill_dim)
    return Batch(obs=o, action=action, next_obs=o2, terminated=terminated.bool(), skill=z, reward=reward)


def _intrinsic(modules: list[IntrinsicReward], weights: list[float], batch: Batch) -> Tensor:
    """Σ_k w_k · module_k.reward(batch) on the batch's device, shape [B] (no gradient)."""
    total = torch.zeros(len(batch), device=batch.obs.device)
    with torch.no_grad():
        for module, w in zip(modules, weights, strict=True):
            total = total + w * module.reward(batch.to(module.device)).to(total.device).reshape(-1)
    return total


class IntrinsicReplayBuffer(ReplayBuffer):
    """SB3 replay buffer whose sampled rewards are relabelled from the current reward modules.

    Use it as ``SAC(..., replay_buffer_class=IntrinsicReplayBuffer,
    replay_buffer_kwargs=dict(modules=metra, intrinsic_weight=1.0, extrinsic_weight=0.0))``.
    The buffer stores what SB3 gives it (raw observations with the skill appended, extrinsic
    rewards, ``dones`` and ``timeouts``) and never stores an intrinsic reward. On every
    :meth:`sample` the reward is

        r = extrinsic_weight · r_ext + Σ_k intrinsic_weight_k · modules[k].reward(batch)

    computed on the raw stored observations (before any ``VecNormalize``), with the observation
    split into (obs, skill) (``skill_dim`` defaults to the skill module's). ``dones`` keep SB3's
    semantics: a timeout (truncation) is not terminal. After a sample, :attr:`last_components`
    holds the extrinsic and intrinsic parts [B] for logging and tests.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: gym.spaces.Space,
        action_space: gym.spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        modules: IntrinsicReward | Sequence[IntrinsicReward] | None = None,
        intrinsic_weight: float | Sequence[float] = 1.0,
        extrinsic_weight: float = 1.0,
        skill_dim: int | None = None,
    ) -> None:
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        self.modules = _as_list(modules)
        self.intrinsic_weights = _weights(intrinsic_weight, len(self.modules))
        self.extrinsic_weight = float(extrinsic_weight)
        self.skill_dim = skill_dim_of(self.modules) if skill_dim is None else int(skill_dim)
        self.last_components: dict[str, Tensor] = {}

    def _raw(self, batch_inds: np.ndarray, env_inds: np.ndarray) -> tuple[np.ndarray, ...]:
        """Stored (obs, action, next_obs, terminated, extrinsic reward) at the given indices."""
        obs = self.observations[batch_inds, env_inds, :]
        if self.optimize_memory_usage:
            next_obs = self.observations[(batch_inds + 1) % self.buffer_size, env_inds, :]
        else:
            next_obs = self.next_observations[batch_inds, env_inds, :]
        terminated = self.dones[batch_inds, env_inds] * (1 - self.timeouts[batch_inds, env_inds])
        actions, r_ext = self.actions[batch_inds, env_inds, :], self.rewards[batch_inds, env_inds]
        return obs, actions, next_obs, terminated, r_ext

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> ReplayBufferSamples:
        env_inds = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        obs, actions, next_obs, terminated, r_ext = self._raw(batch_inds, env_inds)
        r_ext_t = self.to_torch(self._normalize_reward(r_ext.reshape(-1, 1), env)).reshape(-1)
        batch = _to_batch(
            self.to_torch(obs), self.to_torch(actions), self.to_torch(next_obs),
            self.to_torch(terminated), r_ext_t, self.skill_dim,
        )  # fmt: skip
        r_int = _intrinsic(self.modules, self.intrinsic_weights, batch)
        reward = self.extrinsic_weight * r_ext_t + r_int
        self.last_components = {"extrinsic": r_ext_t, "intrinsic": r_int}
        data = (
            self._normalize_obs(obs, env),
            actions,
            self._normalize_obs(next_obs, env),
            terminated.reshape(-1, 1),
        )
        obs_t, act_t, next_t, done_t = map(self.to_torch, data)
        return ReplayBufferSamples(obs_t, act_t, next_t, done_t, reward.reshape(-1, 1).float())

    def sample_batch(self, batch_size: int, generator: np.random.Generator | None = None) -> Batch:
        """A uniform sample of raw stored transitions as an rlinfo :class:`Batch` (for module updates)."""
        upper = self.buffer_size if self.full else self.pos
        if upper == 0:
            raise ValueError("IntrinsicReplayBuffer is empty")
        rng = generator if generator is not None else np.random.default_rng(np.random.randint(2**31))
        batch_inds = rng.integers(0, upper, size=batch_size)
        if self.optimize_memory_usage and self.full:
            batch_inds = (rng.integers(1, self.buffer_size, size=batch_size) + self.pos) % self.buffer_size
        env_inds = rng.integers(0, self.n_envs, size=batch_size)
        obs, actions, next_obs, terminated, r_ext = self._raw(batch_inds, env_inds)
        return _to_batch(
            self.to_torch(obs), self.to_torch(actions), self.to_torch(next_obs),
            self.to_torch(terminated), self.to_torch(r_ext), self.skill_dim,
        )  # fmt: skip


def _log_stats(logger: Any, prefix: str, stats: dict[str, Tensor]) -> None:
    for k, v in stats.items():
        if isinstance(v, Tensor) and v.numel() == 1:
            logger.record(f"{prefix}/{k}", float(v))


class IntrinsicRewardCallback(BaseCallback):
    """Train reward modules from an :class:`IntrinsicReplayBuffer` on their own cadence (off-policy).

    Every ``update_every`` calls to ``on_step`` (one call per vector-env step), once the buffer holds
    ``learning_starts`` transitions per env, each module takes ``gradient_steps`` update steps on
    fresh samples of ``batch_size`` raw transitions. ``modules=None`` trains the buffer's own modules;
    ``buffer=None`` uses ``model.replay_buffer`` (looked up each time, so it survives
    ``load_replay_buffer``). Module statistics are logged as ``intrinsic/<name>/<key>``.
    """

    def __init__(
        self,
        modules: IntrinsicReward | Sequence[IntrinsicReward] | None = None,
        buffer: IntrinsicReplayBuffer | None = None,
        update_every: int = 1,
        batch_size: int = 256,
        gradient_steps: int = 1,
        learning_starts: int = 0,
        seed: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if update_every < 1 or gradient_steps < 0 or batch_size < 1:
            raise ValueError("update_every and batch_size must be >= 1, gradient_steps >= 0")
        self._modules = _as_list(modules) if modules is not None else None
        self._buffer = buffer
        self.update_every, self.batch_size = int(update_every), int(batch_size)
        self.gradient_steps, self.learning_starts = int(gradient_steps), int(learning_starts)
        self.rng = np.random.default_rng(seed)
        self.n_updates = 0

    @property
    def buffer(self) -> IntrinsicReplayBuffer:
        buffer = self._buffer if self._buffer is not None else getattr(self.model, "replay_buffer", None)
        if not isinstance(buffer, IntrinsicReplayBuffer):
            raise TypeError(f"IntrinsicRewardCallback needs an IntrinsicReplayBuffer, got {type(buffer)}")
        return buffer

    @property
    def modules(self) -> list[IntrinsicReward]:
        return self._modules if self._modules is not None else self.buffer.modules

    def _on_step(self) -> bool:
        if self.n_calls % self.update_every != 0:
            return True
        buffer = self.buffer
        if buffer.size() == 0 or buffer.size() < self.learning_starts:
            return True
        stats: dict[str, dict[str, Tensor]] = {}
        for _ in range(self.gradient_steps):
            for module in self.modules:
                batch = buffer.sample_batch(self.batch_size, self.rng).to(module.device)
                stats[module.name] = module.update(batch)
            self.n_updates += 1
        for name, s in stats.items():
            _log_stats(self.logger, f"intrinsic/{name}", s)
        return True


class OnPolicyIntrinsicCallback(BaseCallback):
    """Add intrinsic rewards to each PPO/A2C rollout and recompute returns and advantages.

    During the rollout ``_on_step`` keeps the true next observation of every step (SB3's
    RolloutBuffer does not store it): ``new_obs``, or ``infos[i]["terminal_observation"]`` where
    sub-env i's episode ended (``new_obs`` is then the reset observation), and the raw extrinsic
    reward. At ``_on_rollout_end`` (which SB3 calls *after* its own GAE) it

    1. computes r_int [n_steps, n_envs] from the modules on (obs, action, next_obs, skill);
    2. sets ``rewards ← rewards + (w_ext − 1) · r_ext + r_int`` (SB3's timeout bootstrap
       γ·V(s_terminal), already folded into ``rewards``, is kept);
    3. recomputes the last values V(new_obs) and calls
       ``rollout_buffer.compute_returns_and_advantage(last_values, dones)``;
    4. trains each module for ``n_epochs`` passes over the rollout in minibatches of ``batch_size``.
    """

    def __init__(
        self,
        modules: IntrinsicReward | Sequence[IntrinsicReward],
        intrinsic_weight: float | Sequence[float] = 1.0,
        extrinsic_weight: float = 1.0,
        skill_dim: int | None = None,
        n_epochs: int = 1,
        batch_size: int = 256,
        seed: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.modules = _as_list(modules)
        self.intrinsic_weights = _weights(intrinsic_weight, len(self.modules))
        self.extrinsic_weight = float(extrinsic_weight)
        self.skill_dim = skill_dim_of(self.modules) if skill_dim is None else int(skill_dim)
        self.n_epochs, self.batch_size = int(n_epochs), int(batch_size)
        self.rng = np.random.default_rng(seed)
        self._next_obs: list[np.ndarray] = []
        self._terminated: list[np.ndarray] = []
        self._r_ext: list[np.ndarray] = []
        self.last_intrinsic: np.ndarray | None = None  # [n_steps, n_envs], weighted sum
        self.last_next_obs: np.ndarray | None = None  # [n_steps, n_envs, obs_dim]

    def _on_rollout_start(self) -> None:
        self._next_obs, self._terminated, self._r_ext = [], [], []

    def _on_step(self) -> bool:
        new_obs = np.asarray(self.locals["new_obs"], dtype=np.float32)
        dones = np.asarray(self.locals["dones"], dtype=bool)
        infos = self.locals["infos"]
        next_obs = new_obs.copy()
        terminated = np.zeros(len(dones), dtype=bool)
        for i, done in enumerate(dones):
            if done:
                terminal = infos[i].get("terminal_observation")
                if terminal is not None:
                    next_obs[i] = np.asarray(terminal, dtype=np.float32)
                terminated[i] = not infos[i].get("TimeLimit.truncated", False)
        self._next_obs.append(next_obs)
        self._terminated.append(terminated)
        self._r_ext.append(np.array(self.locals["rewards"], dtype=np.float32, copy=True))
        return True

    def _rollout_batch(self) -> Batch:
        rb = self.model.rollout_buffer
        n_steps, n_envs = rb.buffer_size, rb.n_envs
        if len(self._next_obs) != n_steps:
            raise RuntimeError(f"recorded {len(self._next_obs)} steps for a rollout of {n_steps}")
        obs = torch.as_tensor(rb.observations.reshape(n_steps * n_envs, -1), dtype=torch.float32)
        next_obs = torch.as_tensor(np.stack(self._next_obs).reshape(n_steps * n_envs, -1))
        action = torch.as_tensor(rb.actions.reshape(n_steps * n_envs, -1), dtype=torch.float32)
        terminated = torch.as_tensor(np.stack(self._terminated).reshape(-1))
        r_ext = torch.as_tensor(np.stack(self._r_ext).reshape(-1))
        return _to_batch(obs, action, next_obs, terminated, r_ext, self.skill_dim)

    def _on_rollout_end(self) -> None:
        rb = self.model.rollout_buffer
        n_steps, n_envs = rb.buffer_size, rb.n_envs
        batch = self._rollout_batch()
        r_int = _intrinsic(self.modules, self.intrinsic_weights, batch).cpu().numpy().reshape(n_steps, n_envs)
        r_ext = np.stack(self._r_ext)
        rb.rewards += (self.extrinsic_weight - 1.0) * r_ext + r_int
        with torch.no_grad():
            last_obs = obs_as_tensor(self.locals["new_obs"], self.model.device)
            last_values = self.model.policy.predict_values(last_obs)
        rb.compute_returns_and_advantage(last_values=last_values, dones=np.asarray(self.locals["dones"]))
        self.last_intrinsic = r_int
        self.last_next_obs = np.stack(self._next_obs)
        self.logger.record("intrinsic/reward_mean", float(r_int.mean()))
        self._train_modules(batch)

    def _train_modules(self, batch: Batch) -> None:
        n = len(batch)
        for module in self.modules:
            stats: dict[str, Tensor] = {}
            for _ in range(self.n_epochs):
                perm = torch.as_tensor(self.rng.permutation(n))
                for start in range(0, n, self.batch_size):
                    idx = perm[start : start + self.batch_size]
                    mb = Batch(
                        obs=batch.obs[idx], action=batch.action[idx], next_obs=batch.next_obs[idx],
                        terminated=batch.terminated[idx],
                        skill=None if batch.skill is None else batch.skill[idx],
                        reward=None if batch.reward is None else batch.reward[idx],
                    )  # fmt: skip
                    stats = module.update(mb.to(module.device))
            _log_stats(self.logger, f"intrinsic/{module.name}", stats)
