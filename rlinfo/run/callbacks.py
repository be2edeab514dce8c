"""Observing a run from outside the loop: a benchmark or a user's tool subclasses :class:`Callback` and
passes it to ``Trainer(cfg, callbacks=[...])``; the loop calls each hook with the trainer and the env
step. Hooks only watch; the loop does not read anything back."""

from __future__ import annotations

from typing import Any


class Callback:
    """Every hook does nothing; override the ones you need."""

    def on_collect_start(self, trainer: Any, step: int) -> None:
        """Before a rollout is collected (``step``: env steps so far)."""

    def on_collect_end(self, trainer: Any, step: int) -> None:
        """After it (``step`` includes the rollout)."""

    def on_learn_start(self, trainer: Any, step: int) -> None:
        """Before the updates that follow a rollout (none before ``train.learning_starts``)."""

    def on_learn_end(self, trainer: Any, step: int) -> None:
        """After them."""
