"""A reward module of your own, trained by rlinfo's CLI (docs/custom_rewards.md).

    cd examples && rlinfo train metra_maze reward.name=my_reward:Surprise 'reward.params={}'

Surprise: a forward model f(s, a) predicts the next state; the reward is its squared error on the
transition, r = ‖f(s, a) − s′‖², so the agent seeks transitions it cannot predict yet.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards import IntrinsicReward
from rlinfo.types import Batch


class Surprise(IntrinsicReward):
    """r = ‖f(s, a) − s′‖² with a forward model f trained by regression on replayed transitions."""

    name = "surprise"

    def __init__(self, obs_dim: int, action_dim: int, hidden_dim: int = 64, lr: float = 1e-3) -> None:
        super().__init__()
        self.model = mlp(obs_dim + action_dim, obs_dim, hidden_dim, num_layers=2)
        self.optimizers["model"] = adam(self.model.parameters(), lr)

    def error(self, batch: Batch) -> Tensor:
        """‖f(s, a) − s′‖² per transition [B] (differentiable)."""
        predicted = self.model(torch.cat([batch.obs, batch.action], dim=-1))
        return (predicted - batch.next_obs).pow(2).sum(-1)

    def reward(self, batch: Batch) -> Tensor:
        with torch.no_grad():
            return self.error(batch)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        loss = self.error(batch).mean()
        self.optimizer_step(loss, "model")
        return {"loss": loss.detach()}
