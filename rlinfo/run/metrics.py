"""The loop's running state between log intervals: metric sums kept on the device, and the schedule's
next marks (log, checkpoint, evaluation)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from torch import Tensor


class Metrics:
    """Sums of update statistics kept on the device; read once per log interval."""

    def __init__(self, start_step: int = 0) -> None:
        self.sums: dict[str, Tensor] = {}
        self.count = 0
        self.start_step, self.start_time = start_step, time.perf_counter()

    def add(self, stats: dict[str, Tensor]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums[k] + v.detach() if k in self.sums else v.detach().clone()
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: (v / max(self.count, 1)).item() for k, v in self.sums.items()}

    def steps_per_second(self, step: int) -> float:
        return (step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)


@dataclass
class Marks:
    """The next env steps at which the loop logs, checkpoints and evaluates."""

    log: int
    ckpt: int
    eval: int
