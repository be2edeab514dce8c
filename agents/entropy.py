"""Entropy controllers: how much, and in which direction, a policy loss pushes the policy's entropy.

One small component shared by agents. Every controller has the same two calls:

    term  = controller.loss(entropy)          # entropy [B] per state, differentiable -> scalar to ADD
    stats = controller.update(mean_entropy, progress)   # once per rollout/update: coefficients, history

``progress`` ∈ [0, 1] is the fraction of training done (phase schedules use it). All state lives in
buffers, so ``state_dict()`` checkpoints it. Entropies are in nats; H̄ denotes a target or average.

Controllers (``name``):

- ``none``: no term.
- ``fixed``: the PPO bonus (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"):
  term = −β · mean_s H(s).
- ``target``: SAC-style dual on log α (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and
  Applications"): term = −α · mean H, and after each rollout a gradient step on
  J(log α) = log α · (H − H̄), i.e. ``log α ← log α − lr · (H − H̄)``: α grows while the entropy is
  below the target and shrinks above it. Plain SGD keeps the whole state one scalar.
- ``epo``: EPO smoothing (Xu et al. 2025, "EPO: Entropy-regularized Policy Optimization for LLM Agents
  Reinforcement Learning"; WujiangXu/EPO). H̄ is the running historical average of the batch mean
  entropies seen so far; the band is additive [H̄ − δ, H̄ + δ] (needed for continuous actions, whose
  entropy can be negative so that κ·H̄ bands flip) or relative [κ_l H̄, κ_r H̄] (discrete only,
  H̄ > 0). With H the (masked) batch mean entropy and the differentiable penalty
  P = relu(lo − H) + relu(H − hi) (the reference code's indicator penalty has zero gradient):
  term = −β · (H − λ · w(p) · P) = −β · H + β · λ · w(p) · P, as the reference's
  L = L_PG − c_H (H − c_s · w · P) with β = c_H, λ = c_s, so the penalty-to-bonus ratio is λ·w
  whatever β (``penalty_times_coef=False``: term = −β · H + λ · w(p) · P, our earlier form). w is the
  phase weight over progress p (each half rescaled to [0, 1]): w = 1 − 0.2 (1 − e^{−2p}) in the first
  half, w = 0.8 e^{−3p} in the second. The band is empty before the first ``update`` (no history, P = 0).
- ``aepo``: regulation toward an arbitrary target entropy in the style of AEPO (Wang et al. 2025,
  arXiv 2510.08141; 597358816/AEPO), which samples at temperature 1.2 when the previous entropy is
  below the target and 0.8 above it. Our analogue switches the sign of the entropy coefficient:
  term = −c · mean H with c = +β if the previous batch entropy H < H̄, else c = −β.

Peak mask (SIREN, "Rethinking Entropy Regularization in Large Reasoning Models", 2025, arXiv
2509.25133; Linn3a/siren): with ``peak_fraction`` f < 1 only the ⌈f·B⌉ highest-entropy states of a
batch enter the term (selected on the detached entropies); SIREN keeps the top 20%.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.errors import did_you_mean, keyword_names

CONTROLLERS = ("none", "fixed", "target", "epo", "aepo")


def peak_mask(entropy: Tensor, fraction: float) -> Tensor:
    """Bool mask [B] of the ⌈fraction·B⌉ highest-entropy states (all states for fraction >= 1)."""
    n = entropy.shape[0]
    if fraction >= 1.0 or n == 0:
        return torch.ones_like(entropy, dtype=torch.bool)
    k = max(1, math.ceil(fraction * n))
    mask = torch.zeros_like(entropy, dtype=torch.bool)
    mask[entropy.detach().topk(k).indices] = True
    return mask


def phase_weight(progress: float) -> float:
    """EPO's phase weight w(p): 1 − 0.2 (1 − e^{−2q}) for p < ½ (q = 2p), then 0.8 e^{−3q} (q = 2p − 1)."""
    p = min(max(float(progress), 0.0), 1.0)
    if p < 0.5:
        return 1.0 - 0.2 * (1.0 - math.exp(-2.0 * (2.0 * p)))
    return 0.8 * math.exp(-3.0 * (2.0 * p - 1.0))


class EntropyController(nn.Module):
    """Base: the ``none`` controller. Subclasses override :meth:`term` and :meth:`update`."""

    name = "none"

    def __init__(self, peak_fraction: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < peak_fraction <= 1.0:
            raise ValueError(f"entropy: peak_fraction must be in (0, 1], got {peak_fraction!r}")
        self.peak_fraction = float(peak_fraction)

    def batch_entropy(self, entropy: Tensor) -> Tensor:
        """H̄_B: the mean of the per-state entropies [B] over the peak states (all when f = 1).

        Both :meth:`loss` and the callers of :meth:`update` use it, so that EPO's band history and
        the quantity it bounds are the same statistic.
        """
        if entropy.dim() != 1:
            raise ValueError(f"entropy: expected per-state entropies [B], got shape {tuple(entropy.shape)}")
        return entropy[peak_mask(entropy, self.peak_fraction)].mean()

    def loss(self, entropy: Tensor) -> Tensor:
        """Scalar to add to the policy loss, from per-state entropies [B] (masked to the peak states)."""
        return self.term(self.batch_entropy(entropy))

    def term(self, mean_entropy: Tensor) -> Tensor:
        return mean_entropy * 0.0

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        return {}

    @property
    def coef(self) -> Tensor:
        """The current weight of −H in the loss (0 for ``none``)."""
        return torch.zeros(())


class FixedBonus(EntropyController):
    """term = −β · H (the PPO entropy bonus)."""

    name = "fixed"

    def __init__(self, coef: float = 0.01, peak_fraction: float = 1.0) -> None:
        super().__init__(peak_fraction)
        self.register_buffer("beta", torch.tensor(float(coef)))

    def term(self, mean_entropy: Tensor) -> Tensor:
        return -self.beta * mean_entropy

    @property
    def coef(self) -> Tensor:
        return self.beta.clone()


class TargetEntropy(EntropyController):
    """term = −α · H with log α ← log α − lr · (H − H̄) after each update (SAC's dual)."""

    name = "target"

    def __init__(
        self,
        target: float,
        coef: float = 0.01,
        lr: float = 0.05,
        min_coef: float = 1e-5,
        max_coef: float = 1.0,
        peak_fraction: float = 1.0,
    ) -> None:
        super().__init__(peak_fraction)
        if not 0 < min_coef <= coef <= max_coef:
            raise ValueError(
                f"entropy(target): need 0 < min_coef <= coef <= max_coef, got {min_coef}, {coef}"
            )
        self.target, self.lr = float(target), float(lr)
        self.log_bounds = (math.log(min_coef), math.log(max_coef))
        self.register_buffer("log_alpha", torch.tensor(math.log(coef)))

    def term(self, mean_entropy: Tensor) -> Tensor:
        return -self.log_alpha.exp() * mean_entropy

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        gap = torch.as_tensor(mean_entropy, dtype=torch.float32).detach() - self.target  # ∂J/∂log α
        self.log_alpha.sub_(self.lr * gap).clamp_(*self.log_bounds)
        return {"coef": self.coef}

    @property
    def coef(self) -> Tensor:
        return self.log_alpha.exp()


class EPO(EntropyController):
    """term = −β H + β λ w(p) [relu(lo − H) + relu(H − hi)], band around the historical mean entropy.

    ``penalty_times_coef=False`` drops the β from the penalty weight (λ w(p) instead of β λ w(p)).
    """

    name = "epo"

    def __init__(
        self,
        coef: float = 0.01,
        penalty: float = 1.0,
        band: str = "additive",
        delta: float = 0.1,
        kappa_low: float = 0.8,
        kappa_high: float = 1.2,
        phase: bool = True,
        peak_fraction: float = 1.0,
        penalty_times_coef: bool = True,
    ) -> None:
        super().__init__(peak_fraction)
        if band not in ("additive", "relative"):
            raise ValueError(f"entropy(epo): band must be additive or relative, got {band!r}")
        if delta < 0 or not 0 < kappa_low <= 1 <= kappa_high:
            raise ValueError("entropy(epo): need delta >= 0 and 0 < kappa_low <= 1 <= kappa_high")
        self.beta, self.penalty, self.band, self.phase = float(coef), float(penalty), band, phase
        # weight of w(p)·P in the term: c_H·c_s in the reference (β·λ), or λ alone
        self.penalty_weight = self.beta * self.penalty if penalty_times_coef else self.penalty
        self.delta, self.kappa = float(delta), (float(kappa_low), float(kappa_high))
        self.register_buffer("hist_sum", torch.zeros(()))
        self.register_buffer("hist_count", torch.zeros(()))
        self.register_buffer("weight", torch.tensor(phase_weight(0.0) if phase else 1.0))

    def bounds(self) -> tuple[Tensor, Tensor]:
        """(lo, hi) of the band; (−inf, inf) before any history."""
        if self.hist_count.item() == 0:
            return torch.tensor(-math.inf), torch.tensor(math.inf)
        avg = self.hist_sum / self.hist_count
        if self.band == "additive":
            return avg - self.delta, avg + self.delta
        if avg.item() <= 0:
            raise ValueError(
                f"entropy(epo): band=relative needs a positive average entropy, got {avg.item():.3g}; "
                "use band=additive (continuous actions)"
            )
        return self.kappa[0] * avg, self.kappa[1] * avg

    def term(self, mean_entropy: Tensor) -> Tensor:
        lo, hi = self.bounds()
        violation = torch.relu(lo - mean_entropy) + torch.relu(mean_entropy - hi)
        return -self.beta * mean_entropy + self.penalty_weight * self.weight * violation

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        self.hist_sum.add_(torch.as_tensor(mean_entropy, dtype=torch.float32).detach())
        self.hist_count.add_(1.0)
        self.weight.fill_(phase_weight(progress) if self.phase else 1.0)
        lo, hi = self.bounds()  # the band for the next update
        return {"band_low": lo.clone(), "band_high": hi.clone(), "phase_weight": self.weight.clone()}

    @property
    def coef(self) -> Tensor:
        return torch.tensor(self.beta)


class AEPO(EntropyController):
    """term = −c H, c = +β while the previous entropy is below the target H̄, else −β."""

    name = "aepo"

    def __init__(self, target: float, coef: float = 0.01, peak_fraction: float = 1.0) -> None:
        super().__init__(peak_fraction)
        self.target, self.beta = float(target), float(coef)
        self.register_buffer("sign", torch.tensor(1.0))  # before any entropy is seen: raise it

    def term(self, mean_entropy: Tensor) -> Tensor:
        return -self.sign * self.beta * mean_entropy

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        below = torch.as_tensor(mean_entropy, dtype=torch.float32).detach() < self.target
        self.sign.copy_(torch.where(below, 1.0, -1.0))
        return {"coef": self.coef}

    @property
    def coef(self) -> Tensor:
        return self.sign * self.beta


KINDS: dict[str, type[EntropyController]] = {
    "none": EntropyController,
    "fixed": FixedBonus,
    "target": TargetEntropy,
    "epo": EPO,
    "aepo": AEPO,
}


def build_controller(spec: dict[str, Any] | None, max_entropy: float | None = None) -> EntropyController:
    """A controller from ``{"name": ..., **kwargs}`` (None: ``none``).

    ``target_scale`` (for ``target``/``aepo``) sets ``target = target_scale · max_entropy``, where
    ``max_entropy`` is log|A| for discrete actions (None for continuous: give ``target`` in nats).
    """
    spec = dict(spec or {"name": "none"})
    name = spec.pop("name", None)
    if name not in KINDS:
        raise ValueError(f"entropy: name must be one of {', '.join(CONTROLLERS)}, got {name!r}")
    if "target_scale" in spec:
        if name not in ("target", "aepo"):
            raise ValueError(f"entropy({name}): target_scale applies to target and aepo only")
        if max_entropy is None:
            raise ValueError("entropy: target_scale needs discrete actions (log|A|); give target in nats")
        if "target" in spec:
            raise ValueError("entropy: give target or target_scale, not both")
        spec["target"] = float(spec.pop("target_scale")) * max_entropy
    if name in ("target", "aepo") and "target" not in spec:
        raise ValueError(f"entropy({name}): needs target (nats) or target_scale (fraction of log|A|)")
    allowed = keyword_names(KINDS[name])
    for key in spec:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or "accepted: " + ", ".join(allowed)
            raise ValueError(f"entropy({name}): unknown key {key!r}; {hint}")
    try:
        return KINDS[name](**spec)
    except TypeError as e:
        raise ValueError(f"entropy({name}): {str(e).splitlines()[0]}") from None
