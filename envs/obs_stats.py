"""Measuring the preset normaliser's statistics: (μ, σ) of every observation dimension over uniformly
random rollouts of a fixed seed (deterministic; ``envs/obs_stats.json`` holds the shipped numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

from .registry import make


def compute_obs_stats(
    name: str, num_rollouts: int = 10_000, rollout_steps: int = 50, seed: int = 0, progress: bool = True,
    **kwargs: Any,
) -> dict[str, list[float]]:
    """Mean and std of every observation dimension over uniformly random rollouts of ``make(name)``.

    ``num_rollouts`` episodes of ``rollout_steps`` steps (the reset observation and every next
    observation count; a termination ends a rollout early). The env is reset with ``seed`` once and
    the actions come from ``numpy.random.default_rng(seed)``, so equal arguments give equal numbers.
    Statistics are merged rollout by rollout (Chan et al.'s parallel variance), in float64.
    """
    if num_rollouts < 1 or rollout_steps < 1:
        raise ValueError(f"compute_obs_stats: num_rollouts and rollout_steps must be >= 1 for {name!r}")
    raw = {k: v for k, v in kwargs.items() if k not in ("normalize_obs", "obs_mean", "obs_std")}
    env = make(name, **{**raw, "max_episode_steps": rollout_steps})
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    count, mean, m2 = 0, 0.0, 0.0
    try:
        for i in tqdm(range(num_rollouts), desc=f"rlinfo: observation statistics of {name}", leave=False,
                      unit="rollout", disable=not progress):  # fmt: skip
            obs, _ = env.reset(seed=seed if i == 0 else None)
            rows = [np.asarray(obs, dtype=np.float64)]
            for _ in range(rollout_steps):
                obs, _, terminated, truncated, _ = env.step(rng.uniform(low, high).astype(low.dtype))
                rows.append(np.asarray(obs, dtype=np.float64))
                if terminated or truncated:
                    break
            x = np.stack(rows)
            n, x_mean = len(x), x.mean(axis=0)
            delta = x_mean - mean
            m2 = m2 + ((x - x_mean) ** 2).sum(axis=0) + delta**2 * count * n / (count + n)
            mean = mean + delta * n / (count + n)
            count += n
    finally:
        env.close()
    return {"mean": np.asarray(mean).tolist(), "std": np.sqrt(np.asarray(m2) / count).tolist()}
