"""APT: Active Pre-Training (Liu & Abbeel 2021, "Behavior From the Void: Unsupervised Active
Pre-Training", NeurIPS 2021; URLB reference code rll-research/url_benchmark, ``utils.PBE``).

A particle-based estimate of the state entropy H(h(s′)) rewards each transition by how far its
representation h = h(s′) lies from its k nearest neighbours in the batch:

    r = log(c + (1/k) Σ_{j=1..k} max(ρ_j / m − clip, 0)),

ρ_j the Euclidean distance from h to its j-th nearest neighbour among the other batch elements,
c = 1, k = 12 (URLB), clip = 0, m = 1 (paper). The formula lives in
:func:`rlinfo.estimators.knn.particle_entropy_reward`.

Options (each a documented deviation of a reference code, off by default):

* ``knn_rms=True``: m is the running mean of all kNN distances seen (URLB ``state_apt``: rms on,
  clip 1e-4). The running mean is updated in :meth:`update` (so :meth:`reward` is pure).
* ``include_self=True``: URLB's top-k includes the point itself at distance 0, i.e. k − 1 true
  neighbours averaged with a zero.
* ``representation="icm"``: h = the trunk of an :class:`~rlinfo.rewards.icm.ICM` (Linear → LayerNorm
  → Tanh, ``rep_dim``) trained by ICM's inverse + forward losses in :meth:`update` (URLB ``icm_apt``;
  the paper learns h contrastively). The default ``"obs"`` uses h(s′) = s′ (URLB ``state_apt``).

The reward depends on the whole batch: a transition's reward changes with its batch companions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlinfo.estimators.knn import particle_entropy_reward
from rlinfo.rewards.base import IntrinsicReward, check_float, check_int
from rlinfo.rewards.icm import ICM
from rlinfo.running_stats import RunningMean
from rlinfo.types import Batch

REPRESENTATIONS = ("obs", "icm")


class APT(IntrinsicReward):
    """APT particle-entropy reward r = log(c + mean_k kNN distance of h(s′) within the batch)."""

    name = "apt"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        k: int = 12,
        c: float = 1.0,
        clip: float = 0.0,
        knn_rms: bool = False,
        include_self: bool = False,
        representation: str = "obs",
        rep_dim: int = 512,
        hidden_dim: int = 256,
        lr: float = 1e-4,
    ) -> None:
        super().__init__()
        check_int("APT", "obs_dim", obs_dim, 1)
        check_int("APT", "action_dim", action_dim, 0)
        check_int("APT", "k", k, 1)
        check_float("APT", "c", c)
        check_float("APT", "clip", clip, positive=False)
        if representation not in REPRESENTATIONS:
            raise ValueError(
                f"APT: representation must be one of {', '.join(REPRESENTATIONS)}, got {representation!r}"
            )
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.k, self.c, self.clip = k, float(c), float(clip)
        self.knn_rms, self.include_self, self.representation = knn_rms, include_self, representation
        self.rms = RunningMean()
        self.icm: ICM | None = None
        if representation == "icm":
            check_int("APT", "action_dim", action_dim, 1)
            self.icm = ICM(obs_dim, action_dim, rep_dim=rep_dim, hidden_dim=hidden_dim, beta=0.5, lr=lr)
            self.optimizers = self.icm.optimizers

    def features(self, next_obs: Tensor) -> Tensor:
        """h(s′): the next observation itself, or the ICM trunk's embedding of it."""
        if self.icm is None:
            return next_obs.float()
        return self.icm.encode(next_obs)

    def _reward(self, batch: Batch, update_rms: bool) -> Tensor:
        if len(batch) <= self.k - int(self.include_self):
            raise ValueError(f"APT: batch of {len(batch)} is too small for k={self.k} neighbours")
        return particle_entropy_reward(
            self.features(batch.next_obs),
            k=self.k,
            normalizer=self.rms if self.knn_rms else None,
            update_normalizer=update_rms,
            c=self.c,
            clip=self.clip,
            include_self=self.include_self,
        )

    def reward(self, batch: Batch) -> Tensor:
        with torch.no_grad():
            return self._reward(batch, update_rms=False)

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """Train the ICM trunk (``representation="icm"``), then fold this batch's kNN distances into m.

        Returns ``reward_mean`` (and ``knn_mean``, ICM's losses where they apply).
        """
        stats: dict[str, Tensor] = {}
        if self.icm is not None:
            stats.update({f"icm_{k}": v for k, v in self.icm.update(batch).items() if k != "reward_mean"})
        with torch.no_grad():
            r = self._reward(batch, update_rms=self.knn_rms)
        stats["reward_mean"] = r.mean()
        if self.knn_rms:
            stats["knn_mean"] = self.rms.mean.float().clone()
        return stats
