"""Preset observation normaliser: a fixed per-dimension mean and std applied to every observation.

METRA's reference (``--normalizer_type preset``, Park et al. 2024) feeds the networks

    ŝ = (s − μ) / (σ + 1e-8)

with μ, σ measured once from uniformly random rollouts (10 000 rollouts of 50 steps, no early
termination) and never updated. The statistics are constants of the env, not of the run, so a
replay buffer, a checkpoint, an evaluation and a resumed run all see the same ŝ.

- :class:`PresetNormalizeObservation` is the gymnasium wrapper (``info["xy"]`` is untouched: it is
  read from the simulator, so coverage stays in world coordinates);
- :func:`compute_obs_stats` measures (μ, σ) from random rollouts of a fixed seed (deterministic);
- :func:`preset_stats` loads the statistics shipped with rlinfo (``obs_stats.json``, made by
  ``compute_obs_stats(name)`` with its defaults; the command is stored in the file);
- :func:`freeze_obs_stats` writes the numbers into an env's kwargs, so that a run's ``config.yaml``
  holds them and later versions of the shipped file cannot change an old run;
- :func:`find_obs_normalizer` finds the wrapper in a (vector) env, e.g. to map goal coordinates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

EPS = 1e-8  # as the reference: (s − μ) / (σ + 1e-8)
STATS_FILE = Path(__file__).resolve().parent / "obs_stats.json"
PRESET_ENVS = ("ant", "half_cheetah")


class PresetNormalizeObservation(gym.ObservationWrapper):
    """``obs ↦ (obs − mean) / (std + 1e-8)`` with fixed ``mean``, ``std`` (one number per dimension)."""

    def __init__(self, env: gym.Env, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__(env)
        shape = env.observation_space.shape
        self.mean, self.std = check_stats("obs normaliser", mean, std, shape)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=shape, dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """The normalised observation, in the env's own dtype."""
        out = (np.asarray(observation, dtype=np.float64) - self.mean) / (self.std + EPS)
        return out.astype(self.observation_space.dtype, copy=False)

    def normalize_dims(self, values: np.ndarray, dims: slice | Sequence[int]) -> np.ndarray:
        """Normalise ``values`` [..., k] that hold observation dimensions ``dims`` (e.g. a goal's x, y)."""
        idx = np.arange(len(self.mean))[dims]
        return (np.asarray(values, dtype=np.float64) - self.mean[idx]) / (self.std[idx] + EPS)


def check_stats(owner: str, mean: Any, std: Any, shape: tuple[int, ...] | None) -> tuple[np.ndarray, ...]:
    """``mean``, ``std`` as float64 arrays of the observation's length; one-line ``ValueError`` if not."""
    try:
        m = np.asarray(mean, dtype=np.float64).reshape(-1)
        s = np.asarray(std, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: obs_mean and obs_std must be lists of numbers") from None
    n = int(np.prod(shape)) if shape is not None else len(m)
    if shape is not None and len(shape) != 1:
        raise ValueError(f"{owner}: needs a flat Box observation, got shape {shape}")
    if len(m) != n or len(s) != n:
        raise ValueError(f"{owner}: obs_mean and obs_std need {n} numbers each, got {len(m)} and {len(s)}")
    if not (np.isfinite(m).all() and np.isfinite(s).all()) or (s < 0).any():
        raise ValueError(f"{owner}: obs_mean must be finite and obs_std finite and >= 0")
    return m, s


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
    from .registry import make

    if num_rollouts < 1 or rollout_steps < 1:
        raise ValueError(f"compute_obs_stats: num_rollouts and rollout_steps must be >= 1 for {name!r}")
    raw = {k: v for k, v in kwargs.items() if k not in ("normalize_obs", "obs_mean", "obs_std")}
    env = make(name, **{**raw, "max_episode_steps": rollout_steps})
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    count, mean, m2 = 0, 0.0, 0.0
    from tqdm import tqdm

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


def preset_stats(name: str) -> dict[str, list[float]]:
    """The statistics shipped for ``name`` (ant, half_cheetah): ``{"mean": [...], "std": [...]}``."""
    table = json.loads(STATS_FILE.read_text())
    if name not in table:
        known = ", ".join(k for k in sorted(table) if not k.startswith("_"))
        raise ValueError(f"no preset observation statistics for {name!r}; presets: {known}")
    return {"mean": list(table[name]["mean"]), "std": list(table[name]["std"])}


def freeze_obs_stats(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with ``obs_mean``/``obs_std`` filled from the preset when ``normalize_obs`` is true.

    A run stores the result as its ``env.kwargs``: eval and resume then rebuild the env with the
    very numbers training used. Other kwargs (and envs without normalisation) pass through unchanged.
    """
    out = dict(kwargs)
    if out.get("normalize_obs") and (out.get("obs_mean") is None or out.get("obs_std") is None):
        stats = preset_stats(name)
        out["obs_mean"], out["obs_std"] = stats["mean"], stats["std"]
    return out


def wrap_normalizer(
    name: str, env: gym.Env, normalize_obs: bool, obs_mean: Any = None, obs_std: Any = None
) -> gym.Env:
    """Apply the env kwargs ``normalize_obs`` (bool), ``obs_mean``, ``obs_std`` (default: the preset)."""
    if not isinstance(normalize_obs, bool):
        raise ValueError(f"{name}: normalize_obs must be true or false, got {normalize_obs!r}")
    if not normalize_obs:
        if obs_mean is not None or obs_std is not None:
            raise ValueError(f"{name}: obs_mean/obs_std are given but normalize_obs is false")
        return env
    if (obs_mean is None) != (obs_std is None):
        raise ValueError(f"{name}: give both obs_mean and obs_std, or neither (the preset)")
    if obs_mean is None:
        stats = preset_stats(name)
        obs_mean, obs_std = stats["mean"], stats["std"]
    check_stats(name, obs_mean, obs_std, env.observation_space.shape)
    return PresetNormalizeObservation(env, obs_mean, obs_std)


def find_obs_normalizer(env: Any) -> PresetNormalizeObservation | None:
    """The :class:`PresetNormalizeObservation` inside a wrapped env or a vector env's first env, else None."""
    subs = getattr(env, "envs", None)
    current = subs[0] if isinstance(subs, (list, tuple)) and subs else env
    while current is not None:
        if isinstance(current, PresetNormalizeObservation):
            return current
        current = getattr(current, "env", None)
    return None
