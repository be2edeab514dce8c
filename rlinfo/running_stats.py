"""Running statistics of a stream of tensors, kept in buffers (they travel with ``state_dict()`` and ``.to``).

- :func:`fold_moments`: merge one batch's mean / variance into running ``(mean, var, count)`` in place
  (Chan, Golub, LeVeque 1979, the parallel form of Welford's update), for n new rows and c seen ones:

      δ = b_mean − mean,   total = c + n,
      mean ← mean + δ·n / total,   var ← (var·c + b_var·n + δ²·c·n / total) / total,   count ← total.

- :class:`RunningMeanStd`: per-element mean and variance over a batch dimension (observation and
  reward normalisation: RND, DADS, PPO); starts at mean 0, variance 1, count ε.
- :class:`RunningMean`: the mean of every element ever seen (APT/CIC's kNN distance scale m), in float64.

Every update is ``torch.no_grad`` and stays on the device (no host synchronisation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["RunningMean", "RunningMeanStd", "fold_moments"]


@torch.no_grad()
def fold_moments(mean: Tensor, var: Tensor, count: Tensor, b_mean: Tensor, b_var: Tensor, n: int) -> None:
    """Merge a batch's mean / variance (``n`` rows) into running ``mean, var, count`` in place.

    Chan et al.'s parallel update: M2 = var·c + b_var·n + δ²·c·n/(c + n), δ = b_mean − mean.
    """
    total = count + n
    delta = b_mean - mean
    m2 = var * count + b_var * n + delta.pow(2) * count * n / total
    mean.add_(delta * n / total)
    var.copy_(m2 / total)
    count.copy_(total)


class RunningMeanStd(nn.Module):
    """Running mean and variance over a batch dimension (parallel Welford / Chan et al. update).

    Stored as buffers so they travel with ``state_dict()``; starts at mean 0, variance 1, count ε.
    """

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("var", torch.ones(shape))
        self.register_buffer("count", torch.tensor(float(epsilon)))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Fold the rows of ``x`` [N, *shape] into the running statistics."""
        x = x.detach().to(self.mean.dtype).reshape(-1, *self.mean.shape)
        n = x.shape[0]
        if n == 0:
            return
        fold_moments(self.mean, self.var, self.count, x.mean(0), x.var(0, unbiased=False), n)

    @property
    def std(self) -> Tensor:
        """σ = √(var + 1e-8)."""
        return (self.var + 1e-8).sqrt()

    @property
    def empty(self) -> bool:
        """True before any row was folded in (count is still the initial ε < 1)."""
        return bool(self.count < 1)

    def mean_std(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, σ) to normalise ``x`` [N, *shape] with: the running statistics, or x's own rows while
        :attr:`empty` (what the first :meth:`update` with x would set: statistics start from the first
        batch)."""
        if not self.empty:
            return self.mean, self.std
        x = x.detach().to(self.mean.dtype).reshape(-1, *self.mean.shape)
        return x.mean(0), (x.var(0, unbiased=False) + 1e-8).sqrt()


class RunningMean(nn.Module):
    """Running mean of every element ever passed to ``update`` (count-weighted, i.e. the exact mean of
    the stream; ``count`` starts at ``epsilon`` as in URLB's RMS so the first update sets the mean):

        mean ← mean + (b_mean − mean)·n / (count + n),   count ← count + n   (float64 buffers).
    """

    def __init__(self, epsilon: float = 1e-4) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("count", torch.full((), epsilon, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Fold every element of ``x`` (any shape) into the mean."""
        n = x.numel()
        if n == 0:
            return
        batch_mean = x.detach().to(torch.float64).mean()
        total = self.count + n
        self.mean.add_((batch_mean - self.mean) * (n / total))
        self.count.copy_(total)
