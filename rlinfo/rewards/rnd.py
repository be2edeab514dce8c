"""RND: Random Network Distillation (Burda, Edwards, Storkey, Klimov 2019, "Exploration by Random
Network Distillation", ICLR 2019).

A frozen, randomly initialised target network f and a trained predictor f̂ map a normalised next
observation x = clip((s' − μ_s) / σ_s, −5, 5) to R^rep_dim. The exploration bonus is the prediction
error, large on rarely visited states:

    e(s') = mean_d (f̂(x)_d − f(x)_d)²,        r = e(s') / σ_e

where (μ_s, σ_s) are running statistics of the observations and σ_e a running standard deviation of
the error (no mean subtraction). The predictor minimises E[e(s')].

**Deviations** from the paper: σ_e is the running std of the per-step error, not of the discounted
intrinsic return (γ_I = 0.99), and the predictor is trained on every sample of the batch (the paper
uses 25%). These match RLLTE's RND (mean over latent dims, reward ÷ running std). Running statistics
are updated in :meth:`update` only, so :meth:`reward` is a pure function of the module's state; before
the first update (no statistics yet) :meth:`reward` uses the scored batch's own statistics, the values
the first update would set, so a rollout can be scored before the module is trained on it (as RND,
CleanRL and our trainers do) without an arbitrary first scale.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlinfo.nn import adam, mlp
from rlinfo.rewards.base import IntrinsicReward, check_int, check_net_args
from rlinfo.running_stats import RunningMeanStd
from rlinfo.types import Batch

OBS_CLIP = 5.0


class RND(IntrinsicReward):
    """RND exploration bonus r = mean_d (f̂(x) − f(x))² / σ_e on the normalised next observation."""

    name = "rnd"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_dim: int = 256,
        rep_dim: int = 64,
        lr: float = 1e-3,
    ) -> None:
        super().__init__()
        check_net_args("RND", obs_dim, action_dim, hidden_dim, 2, lr)  # f and f̂: 2 hidden layers
        check_int("RND", "rep_dim", rep_dim, 1)
        self.obs_dim, self.action_dim, self.rep_dim = obs_dim, action_dim, rep_dim
        self.target = mlp(obs_dim, rep_dim, hidden_dim, 2)
        self.predictor = mlp(obs_dim, rep_dim, hidden_dim, 2)
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.obs_rms = RunningMeanStd((obs_dim,))
        self.err_rms = RunningMeanStd(())
        self.optimizers["predictor"] = adam(self.predictor.parameters(), lr)

    def normalize_obs(self, obs: Tensor) -> Tensor:
        """x = clip((s − μ_s) / σ_s, −5, 5) with the current running statistics (obs's own, before any)."""
        mean, std = self.obs_rms.mean_std(obs.float())
        return ((obs.float() - mean) / std).clamp(-OBS_CLIP, OBS_CLIP)

    def prediction_error(self, next_obs: Tensor) -> Tensor:
        """e(s') = mean_d (f̂(x) − f(x))², shape [B] (differentiable in the predictor)."""
        x = self.normalize_obs(next_obs)
        with torch.no_grad():
            target = self.target(x)
        return (self.predictor(x) - target).pow(2).mean(-1)

    def reward(self, batch: Batch) -> Tensor:
        """r = e(s') / σ_e, shape [B], without gradient."""
        with torch.no_grad():
            err = self.prediction_error(batch.next_obs)
            return err / self.err_rms.mean_std(err)[1]

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """Update the observation statistics, take one predictor step, then update σ_e.

        Returns detached scalars: ``loss`` (mean error before the step) and ``reward_mean``.
        """
        self.obs_rms.update(batch.next_obs.float())
        err = self.prediction_error(batch.next_obs)
        loss = err.mean()
        self.optimizer_step(loss, "predictor")
        err = err.detach()
        self.err_rms.update(err)
        return {"loss": loss.detach(), "reward_mean": (err / self.err_rms.std).mean()}
