"""What a report computes with: the runs and rows it aggregates, the interquartile mean's 95% stratified
bootstrap (rliable), and the constants shared by the report's tables and its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlinfo.errors import RlinfoError

INSTALL = "rlinfo report needs rliable: pip install 'rlinfo[report]'"
# config keys that never distinguish methods (a run's place, its seed, how it was run, which pretrained
# run and skill a fine-tuning run started from)
NOT_METHOD = ("seed", "run_name", "run_root", "device", "train.progress", "train.threads", "total_steps",
              "finetune.source", "finetune.skill_vector")  # fmt: skip
ALL_ENVS = "all envs"
CURVE_TAGS = ("charts/intrinsic_return", "charts/episodic_return")
CURVE_POINTS = 40
MIN_RUNS_FOR_CI = 3  # fewer runs: the report gives their range, not a confidence interval


@dataclass
class Run:
    path: Path
    method: str
    env: str
    seed: int
    config: dict[str, Any]
    result: dict[str, Any]
    label: str = ""


@dataclass
class Row:
    env: str
    method: str
    seeds: list[int]
    scores: np.ndarray  # [runs]
    iqm: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


def import_rliable() -> Any:
    try:
        from rliable import library, metrics
    except ImportError:
        raise RlinfoError(INSTALL) from None
    return library, metrics


def iqm(scores: np.ndarray, axis: int | None = None) -> Any:
    """The interquartile mean: the mean of the scores left after cutting ``int(n / 4)`` from each end (of
    all of them, or along ``axis``). rliable's ``aggregate_iqm`` is scipy's ``trim_mean(scores, 0.25,
    axis=None)``; this is the same partition and mean, bit for bit, without scipy's per-call argument
    handling (~0.4 ms a call: most of a 2,000-resample bootstrap)."""
    a = np.asarray(scores)
    a = a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)
    if axis is None:
        a, axis = a.ravel(), 0
    n = a.shape[axis]
    if n == 0:
        return np.float64(np.nan)
    cut = int(0.25 * n)
    middle = np.partition(a, (cut, n - cut - 1), axis)
    return np.take(middle, np.arange(cut, n - cut), axis).mean(axis)


def bootstrap(scores: np.ndarray, fn: Any, reps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``fn(scores)`` and its 95% percentile stratified-bootstrap interval (rliable): resamples of the
    runs (axis 0) within each task (axis 1). Returns ``[k]`` points and a ``[2, k]`` interval."""
    import warnings

    library, _ = import_rliable()
    outside = np.random.get_state()
    np.random.seed(seed)  # rliable's StratifiedBootstrap draws from the global RNG, not from random_state
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # arch's notice about its random_state keyword
            point, interval = library.get_interval_estimates(
                {"m": scores}, fn, reps=reps, random_state=np.random.RandomState(seed)
            )
    finally:
        np.random.set_state(outside)  # the caller's global RNG as it was
    return np.atleast_1d(point["m"]), np.asarray(interval["m"]).reshape(2, -1)
