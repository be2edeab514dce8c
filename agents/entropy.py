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

- ``siren``: SIREN's entropy anchor (Jiang et al. 2025, "Rethinking Entropy Regularization in Large
  Reasoning Models", arXiv 2509.25133; Linn3a/siren, ``experiment_type=siren``):
  term = c · (H̄_B − H_a)², c = 0.005, where H̄_B is the peak-masked batch entropy (top 20% by default,
  as the reference's ``mask_ratio=0.8``) and the anchor H_a is the same statistic on the first
  rollout under the initial policy (set once, then fixed; ``anchor`` gives it in nats instead).
- ``siren_adaptive``: the reference's adaptive regulariser (``naive_entropy_reg_adaptive``):
  term = −c · H̄_B with c ← max(0, c + lr · (H_a − H̄)) after each update, H_a as for ``siren``;
  c grows while the entropy is below its first value and shrinks above it.
- ``lpreg``: Lp-Reg (Huang et al. 2025, "Low-probability Tokens Sustain Exploration in Reinforcement
  Learning with Verifiable Reward"; CarlanLark/Lp-Reg) replaces the policy loss, not an entropy
  term; see :class:`LpReg`.

Peak mask (SIREN): with ``peak_fraction`` f < 1 only the ⌈f·B⌉ highest-entropy states of a
batch enter the term (selected on the detached entropies); SIREN keeps the top 20%.

Controllers with ``needs_old_policy`` (``siren``, ``siren_adaptive``, ``lpreg``) are PPO-only: before
its epochs PPO passes them the old policy over the whole rollout (:meth:`EntropyController.observe`,
:meth:`EntropyController.proxy_log_prob`), and ``lpreg`` computes the policy loss
(:meth:`EntropyController.policy_loss`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.errors import did_you_mean, keyword_names

CONTROLLERS = ("none", "fixed", "target", "epo", "aepo", "siren", "siren_adaptive", "lpreg")


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

    # PPO-only hooks: the old policy over the whole rollout, before the update's epochs
    needs_old_policy = False  # True: PPO calls observe / proxy_log_prob once per update (SAC refuses)

    def observe(self, old_entropy: Tensor) -> None:
        """Per-state entropies [N] of π_old over the rollout, once per update before any gradient step."""

    def proxy_log_prob(self, old_dist: Any, action: Tensor) -> Tensor | None:
        """Per-sample log-probabilities [N] of the rollout's actions under a proxy of π_old (None: none)."""
        return None

    def policy_loss(
        self, log_prob: Tensor, old_log_prob: Tensor, adv: Tensor, clip: float, proxy_log_prob: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The policy loss replacing PPO's clipped surrogate (where :meth:`proxy_log_prob` gave one)."""
        raise NotImplementedError


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


# ---------------------------------------------------------------------------- SIREN's entropy anchor


class _Anchored(EntropyController):
    """Holds SIREN's anchor H_a: the controlled batch entropy H̄_B of the first rollout under π_old.

    PPO calls :meth:`observe` with the old policy's per-state entropies over the whole rollout before
    the first gradient step, as the reference sets ``entropy_anchor`` from the first batch's
    ``old_log_prob`` pass; a caller that never calls it (a unit test) anchors on the first batch
    given to :meth:`loss`. ``anchor`` (nats) fixes H_a instead (the reference's ``entropy_anchor``).
    """

    needs_old_policy = True

    def __init__(self, coef: float, anchor: float | None, peak_fraction: float) -> None:
        super().__init__(peak_fraction)
        if not coef >= 0:
            raise ValueError(f"entropy({self.name}): coef must be >= 0, got {coef!r}")
        self.register_buffer("c", torch.tensor(float(coef)))
        self.register_buffer("anchor", torch.tensor(0.0 if anchor is None else float(anchor)))
        self.register_buffer("has_anchor", torch.tensor(0.0 if anchor is None else 1.0))

    def set_anchor(self, mean_entropy: Tensor) -> None:
        self.anchor.copy_(mean_entropy.detach())
        self.has_anchor.fill_(1.0)

    def observe(self, old_entropy: Tensor) -> None:
        if old_entropy.numel() and not self.has_anchor.item():
            self.set_anchor(self.batch_entropy(old_entropy.detach()))

    def term(self, mean_entropy: Tensor) -> Tensor:
        if not self.has_anchor.item():
            self.set_anchor(mean_entropy)
        return self.anchored_term(mean_entropy)

    def anchored_term(self, mean_entropy: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def coef(self) -> Tensor:
        return self.c.clone()


class SirenAnchor(_Anchored):
    """term = c · (H̄_B − H_a)², SIREN's anchored entropy regulariser (reference: c = 0.005, top 20%)."""

    name = "siren"

    def __init__(self, coef: float = 0.005, anchor: float | None = None, peak_fraction: float = 0.2) -> None:
        super().__init__(coef, anchor, peak_fraction)

    def anchored_term(self, mean_entropy: Tensor) -> Tensor:
        return self.c * (mean_entropy - self.anchor) ** 2

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        return {"anchor": self.anchor.clone()}


class SirenAdaptive(_Anchored):
    """term = −c · H̄_B, c ← max(0, c + lr · (H_a − H̄)) after each update (SIREN's adaptive baseline).

    The reference (``naive_entropy_reg_adaptive``) moves c after every micro-batch's backward pass with
    that micro-batch's entropy; here c moves once per PPO update with the update's mean controlled
    entropy H̄, as every other controller's state. The reference computes this baseline on all
    tokens, hence ``peak_fraction`` 1 by default; its ``entropy_coeff_lr`` defaults to 0 (no
    adaptation) and its scripts set none, so ``lr`` = 0.01 is ours.
    """

    name = "siren_adaptive"

    def __init__(
        self, coef: float = 0.005, lr: float = 0.01, anchor: float | None = None, peak_fraction: float = 1.0
    ) -> None:
        super().__init__(coef, anchor, peak_fraction)
        if not lr >= 0:
            raise ValueError(f"entropy(siren_adaptive): lr must be >= 0, got {lr!r}")
        self.lr = float(lr)

    def anchored_term(self, mean_entropy: Tensor) -> Tensor:
        return -self.c * mean_entropy

    def update(self, mean_entropy: float | Tensor, progress: float = 0.0) -> dict[str, Tensor]:
        if self.has_anchor.item():
            gap = self.anchor - torch.as_tensor(mean_entropy, dtype=torch.float32).detach()
            self.c.add_(self.lr * gap).clamp_(min=0.0)
        return {"coef": self.coef, "anchor": self.anchor.clone()}


# ---------------------------------------------------------------------------- Lp-Reg

KL_ESTIMATORS = ("low_var_kl", "kl", "abs", "mse")


def kl_estimate(log_prob: Tensor, ref_log_prob: Tensor, kind: str = "low_var_kl") -> Tensor:
    """Per-sample estimate [B] of KL(π ‖ π_ref) at a ~ π, with x = log π_ref(a) − log π(a).

    ``low_var_kl``: e^x − x − 1 (Schulman's k3: unbiased, ≥ 0), ``kl``: −x, ``abs``: |x|, ``mse``: ½ x²;
    clamped to [−10, 10], as the reference's ``kl_penalty``.
    """
    x = ref_log_prob - log_prob
    if kind == "low_var_kl":
        est = x.exp() - x - 1.0
    elif kind == "kl":
        est = -x
    elif kind == "abs":
        est = x.abs()
    elif kind == "mse":
        est = 0.5 * x.square()
    else:
        raise ValueError(f"entropy(lpreg): kl must be one of {', '.join(KL_ESTIMATORS)}, got {kind!r}")
    return est.clamp(-10.0, 10.0)


def proxy_log_prob(old_dist: Any, action: Tensor, kappa: float) -> Tensor:
    """log π_proxy(a|s) [B]: π_old with the actions below κ · max_a π_old(a|s) removed and renormalised.

    Categorical: K = {a : π_old(a|s) ≥ κ max_a' π_old(a'|s)}, π_proxy(a|s) = π_old(a|s) / Σ_{a'∈K} π_old(a'|s)
    on K, 0 (log −inf) off K (the reference's min-p filter: removed logits set to −1e4).
    Diagonal Gaussian N(μ, σ²) in D dims (our analogue; the reference has tokens only): the density is
    ≥ κ times its peak where ‖z‖² = Σ_d ((a_d − μ_d)/σ_d)² ≤ r² = −2 ln κ, so π_proxy is π_old truncated to
    that ellipsoid and divided by its mass P(χ²_D ≤ r²) = P(D/2, −ln κ) (regularised lower incomplete
    gamma; 1 − κ for D = 2).
    """
    if isinstance(old_dist, torch.distributions.Categorical):
        probs = old_dist.probs
        keep = probs >= kappa * probs.amax(-1, keepdim=True)
        log_mass = (probs * keep).sum(-1).log()
        a = action.long()
        kept = keep.gather(-1, a.unsqueeze(-1)).squeeze(-1)
        return torch.where(kept, old_dist.log_prob(a) - log_mass, -math.inf)
    if isinstance(old_dist, torch.distributions.Normal):
        z2 = ((action - old_dist.mean) / old_dist.stddev).square().sum(-1)
        r2 = -2.0 * math.log(kappa)
        dims = torch.tensor(float(action.shape[-1]))
        log_mass = torch.special.gammainc(dims / 2, torch.tensor(r2 / 2)).log().to(z2)
        return torch.where(z2 <= r2, old_dist.log_prob(action).sum(-1) - log_mass, -math.inf)
    raise ValueError(f"entropy(lpreg): needs a Categorical or Normal policy, got {type(old_dist).__name__}")


def lowest_log_prob(log_prob: Tensor, candidates: Tensor, fraction: float, min_selected: int) -> Tensor:
    """Bool mask [B]: the k lowest log π among ``candidates``, k = max(1, ⌊fraction · n⌋) (n candidates).

    Nothing when ``fraction`` is 0, there are no candidates or k < ``min_selected`` (the reference
    applies its term only when k > 1, i.e. ``min_selected`` = 2).
    """
    mask = torch.zeros_like(candidates, dtype=torch.bool)
    n = int(candidates.sum())
    if fraction <= 0 or n == 0:
        return mask
    k = max(1, int(n * fraction))
    if k < min_selected:
        return mask
    lp = log_prob.detach().masked_fill(~candidates, math.inf)
    mask[lp.topk(k, largest=False).indices] = True
    return mask


class LpReg(EntropyController):
    """Low-probability regularisation: PPO's loss, but low-probability negative samples are pulled to a proxy.

    Huang et al. (2025), "Low-probability Tokens Sustain Exploration in Reinforcement Learning with
    Verifiable Reward" (CarlanLark/Lp-Reg, ``loss_mode=lp_reg``, ``compute_policy_loss_lp_reg``). With
    ρ = π/π_old, Â the (normalised) advantage and π_proxy from :func:`proxy_log_prob` of π_old (κ = 0.02),
    per sample of a minibatch:

        S⁻ = the k = max(1, ⌊f⁻ n⁻⌋) lowest log π among the n⁻ samples with Â < 0   (f⁻ = 1%)
        S⁺ = the same among Â > 0 with f⁺                                               (f⁺ = 0: none)
        S  = (S⁻ ∪ S⁺) ∩ {log π(a|s) < log π_proxy(a|s)}       (log π detached; S empty while k < 2)
        ℓ  = −Â ρ + β · k3(π, π_proxy)                  on S (ratio not clipped; β = 1)
        ℓ  = max(−Â ρ, −Â clip(ρ, 1 − ε, 1 + ε))          elsewhere (PPO's clipped surrogate)
        L_π = mean ℓ

    where k3 = e^x − x − 1, x = log π_proxy(a|s) − log π(a|s), the per-sample estimate of KL(π ‖ π_proxy)
    (``kl`` picks another estimator of :func:`kl_estimate`). Actions below κ · max π_old are outside
    π_proxy (log π_proxy = −inf), so they are never in S: only low-probability actions the proxy keeps
    are shielded. ε is the agent's ``clip_coef``. Adds no entropy term.
    """

    name = "lpreg"
    needs_old_policy = True

    def __init__(
        self,
        kappa: float = 0.02,
        neg_fraction: float = 0.01,
        pos_fraction: float = 0.0,
        kl_coef: float = 1.0,
        kl: str = "low_var_kl",
        min_selected: int = 2,
    ) -> None:
        super().__init__(1.0)
        if not 0 < kappa <= 1:
            raise ValueError(f"entropy(lpreg): kappa must be in (0, 1], got {kappa!r}")
        for key, value in (("neg_fraction", neg_fraction), ("pos_fraction", pos_fraction)):
            if not 0 <= value <= 1:
                raise ValueError(f"entropy(lpreg): {key} must be in [0, 1], got {value!r}")
        if not kl_coef >= 0:
            raise ValueError(f"entropy(lpreg): kl_coef must be >= 0, got {kl_coef!r}")
        if kl not in KL_ESTIMATORS:
            raise ValueError(f"entropy(lpreg): kl must be one of {', '.join(KL_ESTIMATORS)}, got {kl!r}")
        if isinstance(min_selected, bool) or not isinstance(min_selected, int) or min_selected < 1:
            raise ValueError(f"entropy(lpreg): min_selected must be an integer >= 1, got {min_selected!r}")
        self.kappa, self.kl_coef, self.kl, self.min_selected = float(kappa), float(kl_coef), kl, min_selected
        self.fractions = (float(neg_fraction), float(pos_fraction))

    def proxy_log_prob(self, old_dist: Any, action: Tensor) -> Tensor:
        return proxy_log_prob(old_dist, action, self.kappa)

    def selected(self, log_prob: Tensor, adv: Tensor, proxy_log_prob: Tensor) -> Tensor:
        """The mask S [B] of the samples whose loss is the regularised one."""
        neg = lowest_log_prob(log_prob, adv < 0, self.fractions[0], self.min_selected)
        pos = lowest_log_prob(log_prob, adv > 0, self.fractions[1], self.min_selected)
        return (neg | pos) & (log_prob.detach() < proxy_log_prob)

    def policy_loss(
        self, log_prob: Tensor, old_log_prob: Tensor, adv: Tensor, clip: float, proxy_log_prob: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        ratio = (log_prob - old_log_prob).exp()
        ppo = torch.max(-adv * ratio, -adv * ratio.clamp(1.0 - clip, 1.0 + clip))
        sel = self.selected(log_prob, adv, proxy_log_prob)
        ref = torch.where(sel, proxy_log_prob, log_prob.detach())  # finite everywhere: no inf in the graph
        reg = -adv * ratio + self.kl_coef * kl_estimate(log_prob, ref, self.kl)
        return torch.where(sel, reg, ppo).mean(), {"lpreg_selected": sel.float().mean().detach()}


KINDS: dict[str, type[EntropyController]] = {
    "none": EntropyController,
    "fixed": FixedBonus,
    "target": TargetEntropy,
    "epo": EPO,
    "aepo": AEPO,
    "siren": SirenAnchor,
    "siren_adaptive": SirenAdaptive,
    "lpreg": LpReg,
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
