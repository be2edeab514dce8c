"""Preset observation normaliser: a fixed per-dimension mean and std applied to every observation.

METRA's reference (``--normalizer_type preset``, Park et al. 2024) feeds the networks

    ŝ = (s − μ) / (σ + 1e-8)

with μ, σ measured once from uniformly random rollouts (10 000 rollouts of 50 steps, no early
termination) and never updated. The statistics are constants of the env, not of the run, so a
replay buffer, a checkpoint, an evaluation and a resumed run all see the same ŝ.

- :class:`PresetNormalizeObservation` is the gymnasium wrapper (``info["xy"]`` is untouched: it is
  read from the simulator, so coverage stays in world coordinates);
- :func:`preset_stats` loads the statistics shipped with rlinfo (``obs_stats.json``, made by
  ``rlinfo.envs.obs_stats.compute_obs_stats(name)`` with its defaults; the command is stored in the file);
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
