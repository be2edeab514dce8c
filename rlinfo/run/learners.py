"""What the loop asks of a learner, off-policy (replay buffer: SAC, SLIM) or on-policy (rollouts: PPO).

The loop (``rlinfo/run/loop.py``) calls only these methods and never asks which kind it has; the kind
is chosen once, here, from the built parts.
"""

from __future__ import annotations

from typing import Any, Protocol

from torch import Tensor

from rlinfo.run.build import Parts
from rlinfo.run.collect import Collector
from rlinfo.run.offpolicy import OffPolicy
from rlinfo.run.onpolicy import OnPolicy


class Learner(Protocol):
    episode_returns: bool  # the evaluation reports the return of deterministic episodes
    keeps_buffer: bool  # a replay buffer saved as chunk files (required in its checkpoints)
    clips_actions: bool  # the collector clips the policy's actions to a Box action space

    def start(self, seed: int) -> None: ...  # a fresh run

    def collect(self, collector: Collector, step: int, total: int) -> int: ...  # -> the new env step

    def learn(self, step: int, progress: float, collector: Collector) -> list[dict[str, Tensor]]: ...

    def flush(self, collector: Collector) -> None: ...  # score every unscored step (before a log)

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]: ...  # (tensors, JSON)

    def load_state_dict(self, tensors: dict[str, Any], meta: dict[str, Any]) -> None: ...

    def save_files(self, chunks: Any, step: int) -> dict[str, Any] | None: ...  # buffer chunks' manifest

    def load_files(self, chunks: Any, manifest: dict[str, Any], env_restored: bool) -> None: ...

    def close(self) -> None: ...


def make_learner(parts: Parts) -> Learner:
    """PPO learns from rollouts; SAC and SLIM from a replay buffer."""
    return OnPolicy(parts) if parts.on_policy else OffPolicy(parts)
