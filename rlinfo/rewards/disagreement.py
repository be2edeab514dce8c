"""Disagreement: ensemble disagreement (Pathak, Gandhi, Gupta 2019, "Self-Supervised Exploration via
Disagreement", ICML 2019; URLB reference code rll-research/url_benchmark).

An ensemble of E forward models f_i(s, a) → s′ (E = 5) is trained to predict the next observation,
each with its own L2 loss on the same batch. Where data are plentiful the members agree; on novel
transitions they disagree. The reward is their variance, averaged over the output dimensions:

    r = (1/d) Σ_d Var_i[ f_i(s, a)_d ],     Var_i the unbiased variance over the E members

(URLB: ``torch.var(preds, dim=0).mean(-1)``). The E members run as one batched network (weights
[E, in, out], :func:`rlinfo.nn.ensemble_mlp`), never a Python loop over models. The paper predicts
learned features of s′; like URLB on states, f_i predicts the raw next observation here. Members
differ only through their random initialisation (the paper and URLB train all on the same batch).
Discrete actions (``discrete=True``) enter one-hot.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlinfo.nn import adam, ensemble_mlp
from rlinfo.rewards.base import IntrinsicReward, check_int, check_net_args
from rlinfo.rewards.icm import action_input
from rlinfo.types import Batch


class Disagreement(IntrinsicReward):
    """r = mean_d Var_i f_i(s, a)_d over an ensemble of E forward models run as one batched network."""

    name = "disagreement"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        ensemble_size: int = 5,
        hidden_dim: int = 256,
        num_layers: int = 1,
        discrete: bool = False,
        lr: float = 1e-4,
    ) -> None:
        super().__init__()
        check_net_args("Disagreement", obs_dim, action_dim, hidden_dim, num_layers, lr, 2 if discrete else 1)
        check_int("Disagreement", "ensemble_size", ensemble_size, 2)
        self.obs_dim, self.action_dim, self.discrete = obs_dim, action_dim, discrete
        self.ensemble_size = ensemble_size
        self.models = ensemble_mlp(ensemble_size, obs_dim + action_dim, obs_dim, hidden_dim, num_layers)
        self.optimizers["models"] = adam(self.models.parameters(), lr)

    def predictions(self, batch: Batch) -> Tensor:
        """f_i(s, a) for every member, shape [E, B, obs_dim] (differentiable)."""
        a = action_input(batch.action, self.action_dim, self.discrete)
        return self.models(torch.cat([batch.obs.float(), a], dim=-1))

    def reward(self, batch: Batch) -> Tensor:
        with torch.no_grad():
            return self.predictions(batch).var(dim=0, unbiased=True).mean(-1)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One step on Σ_i mean_B ‖f_i(s, a) − s′‖² (members are independent: each gets its own gradient).

        Returns ``loss`` (mean over members) and ``reward_mean``.
        """
        preds = self.predictions(batch)
        member_loss = (preds - batch.next_obs.float()).pow(2).sum(-1).mean(-1)  # [E]
        self.optimizer_step(member_loss.sum(), "models")
        preds = preds.detach()
        return {"loss": member_loss.detach().mean(), "reward_mean": preds.var(dim=0, unbiased=True).mean()}
