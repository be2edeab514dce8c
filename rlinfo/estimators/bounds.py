"""Variational lower bounds on mutual information from a matrix of critic scores.

Every bound takes ``scores`` of shape ``[B, B]`` with ``scores[i, j] = f(x_i, y_j)``: the diagonal holds
the B samples of the joint p(x, y), the B(B - 1) off-diagonal entries are used as samples of the product
of marginals p(x)p(y). Each returns a differentiable 0-dim tensor in nats; maximise it to train the critic
(loss = -value).

Notation used in the docstrings::

    E_P f      = (1/B) sum_i f_ii
    lme_off(g) = log( (1 / (B(B-1))) sum_{i != j} exp(g_ij) )      (log-mean-exp over the off-diagonal)

For ``js``, ``smile`` and ``mine`` the value and the gradient come from different expressions. They are
combined as ``surrogate + stop_gradient(value - surrogate)``: the forward value is the estimate, the
backward pass is the gradient of ``surrogate``.

References: Poole, Ozair, van den Oord, Alemi, Tucker (2019), "On Variational Bounds of Mutual
Information" (ICML); Song & Ermon (2020), "Understanding the Limitations of Variational Mutual Information
Estimators" (ICLR); Belghazi et al. (2018), "Mutual Information Neural Estimation" (ICML); Nguyen,
Wainwright, Jordan (2010), IEEE Trans. Inf. Theory 56(11); van den Oord, Li, Vinyals (2018), "Representation
Learning with Contrastive Predictive Coding"; Nowozin, Cseke, Tomioka (2016), "f-GAN".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "MINE",
    "dv",
    "infonce",
    "js",
    "js_fgan",
    "log_mean_exp_offdiag",
    "mine",
    "nwj",
    "smile",
    "tuba",
]


def _check_scores(scores: Tensor) -> int:
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square [B, B] matrix, got shape {tuple(scores.shape)}")
    if scores.shape[0] < 2:
        raise ValueError("scores needs B >= 2 (the off-diagonal entries are the negative samples)")
    return scores.shape[0]


def _offdiag_mask(b: int, device: torch.device) -> Tensor:
    return ~torch.eye(b, dtype=torch.bool, device=device)


def log_mean_exp_offdiag(scores: Tensor) -> Tensor:
    """lme_off(f) = log of the mean of exp(f_ij) over the B(B-1) entries with i != j."""
    b = _check_scores(scores)
    off = scores.masked_fill(~_offdiag_mask(b, scores.device), float("-inf"))
    return torch.logsumexp(off.flatten(), dim=0) - math.log(b * (b - 1))


def _straight_through(value: Tensor, surrogate: Tensor) -> Tensor:
    """Forward = ``value``, gradient = d ``surrogate``."""
    return surrogate + (value - surrogate).detach()


def tuba(scores: Tensor, log_baseline: Tensor | float | None = None) -> Tensor:
    """Tractable unnormalised Barber-Agakov bound (Poole et al. 2019, eq. 7).

    I_TUBA = 1 + E_P[f - log a(y)] - exp(lme_off(f - log a(y)))

    ``log_baseline`` is log a(y_j), shape ``[B]`` (one value per y, subtracted from column j) or a scalar;
    ``None`` means a = 1. A learned baseline is typically an MLP on y trained jointly with the critic.
    """
    _check_scores(scores)
    if log_baseline is not None:
        lb = torch.as_tensor(log_baseline, dtype=scores.dtype, device=scores.device)
        scores = scores - (lb.reshape(1, -1) if lb.dim() > 0 else lb)
    return 1.0 + scores.diagonal().mean() - log_mean_exp_offdiag(scores).exp()


def nwj(scores: Tensor) -> Tensor:
    """Nguyen-Wainwright-Jordan bound (NWJ 2010; "f-GAN KL", "MINE-f").

    I_NWJ = E_P[f] - e^{-1} E_Q[e^f] = 1 + E_P[f - 1] - exp(lme_off(f - 1))

    i.e. TUBA with the constant baseline a = e. Unbiased, tight at f* = 1 + log p(y|x)/p(y); its variance
    grows like e^{I} (Song & Ermon 2020, Thm. 2).
    """
    return tuba(scores, log_baseline=1.0)


def dv(scores: Tensor) -> Tensor:
    """Donsker-Varadhan bound (Donsker & Varadhan 1983; the value MINE reports).

    I_DV = E_P[f] - lme_off(f)

    Invariant to adding a constant to f. The log outside the expectation makes the mini-batch estimate
    biased (it is not a lower bound in expectation over batches) and its gradient biased; see ``mine``.
    """
    _check_scores(scores)
    return scores.diagonal().mean() - log_mean_exp_offdiag(scores)


def infonce(scores: Tensor) -> Tensor:
    """InfoNCE / CPC bound (van den Oord et al. 2018; Poole et al. 2019, eq. 12).

    I_NCE = log B + (1/B) sum_i [f_ii - logsumexp_j f_ij]   (softmax over the y_j of each x_i)

    Computed as log B - mean_i softplus(logsumexp_{j != i}(f_ij - f_ii)), which is the same number but
    can never exceed log B, even in floating point: the bound saturates at log B (4.159 nats for B = 64).
    Low variance, large bias when I > log B. Transposing ``scores`` gives the symmetric variant (softmax
    over the x's), also a valid bound.
    """
    b = _check_scores(scores)
    diff = scores - scores.diagonal().unsqueeze(1)
    diff = diff.masked_fill(~_offdiag_mask(b, scores.device), float("-inf"))
    return math.log(b) - F.softplus(torch.logsumexp(diff, dim=1)).mean()


def js_fgan(scores: Tensor) -> Tensor:
    """f-GAN lower bound on the Jensen-Shannon divergence (Nowozin et al. 2016), up to constants:

    JS_fgan = -E_P[softplus(-f)] - E_Q[softplus(f)]

    (the negative of the logistic-regression loss of classifying joint vs. product pairs). Its optimum is
    f* = log p(x, y) / (p(x)p(y)), so training with it yields a density-ratio estimate.
    """
    b = _check_scores(scores)
    off = _offdiag_mask(b, scores.device)
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(scores[off]).mean()


def js(scores: Tensor, offset: float = 0.0) -> Tensor:
    """Jensen-Shannon-trained critic read out through NWJ (Poole et al. 2019, sec. 2.5; Song & Ermon 2020).

    value    = I_NWJ(f + offset) = E_P[f + offset] - e^{offset - 1} E_Q[e^f]
    gradient = d JS_fgan(f)        (see ``js_fgan``)

    With the default ``offset=0`` this matches the reference implementations of both papers. Note that the
    JS optimum is f* = log r while the NWJ optimum is 1 + log r, so at the JS optimum the default value is
    I - 1/e (0.37 nats low); ``offset=1`` removes that gap and is still a valid lower bound.
    """
    value = nwj(scores + offset) if offset else nwj(scores)
    return _straight_through(value, js_fgan(scores))


def smile(scores: Tensor, tau: float | None = 5.0) -> Tensor:
    """SMILE: DV value with the partition term clipped, trained with the JS gradient (Song & Ermon 2020).

    value    = E_P[f] - lme_off(clip(f, -tau, tau))   (the clip applies to the partition term only)
    gradient = d JS_fgan(f)

    ``tau=None`` (or inf) is the DV value with JS training. Clipping bounds the variance of the partition
    estimate by a function of tau (Song & Ermon 2020, Thm. 3) at the cost of bias; tau = 5 is the trade-off
    recommended there, tau = 1 has the lowest variance and the largest (downward) bias.
    """
    _check_scores(scores)
    clipped = scores if tau is None or math.isinf(tau) else scores.clamp(-tau, tau)
    value = scores.diagonal().mean() - log_mean_exp_offdiag(clipped)
    return _straight_through(value, js_fgan(scores))


def mine(scores: Tensor, ema: Tensor | float | None = None) -> Tensor:
    """MINE: the DV value with the bias-corrected gradient of Belghazi et al. (2018, sec. 3.2).

    value    = E_P[f] - lme_off(f)                                    (= ``dv``)
    gradient = d E_P[f] - (d e) / ema,   e = exp(lme_off(f)) = E_Q[e^f] on the batch

    The exact gradient of DV is dE_P[f] - (d e) / e, whose denominator is a noisy mini-batch estimate;
    MINE replaces it by ``ema``, a moving average of e over past batches (treated as a constant). ``ema``
    None uses the current batch's e, which gives the plain DV gradient. Use the ``MINE`` module below to
    keep the moving average.
    """
    _check_scores(scores)
    value = dv(scores)
    e = log_mean_exp_offdiag(scores).exp()
    denom = e.detach() if ema is None else torch.as_tensor(ema, dtype=scores.dtype, device=scores.device)
    surrogate = scores.diagonal().mean() - e / denom.detach()
    return _straight_through(value, surrogate)


class MINE(nn.Module):
    """Stateful MINE bound: keeps the moving average of e = E_Q[e^f] used in the gradient of ``mine``.

    ema_t = momentum * ema_{t-1} + (1 - momentum) * e_t, clamped below at ``min_ema``, initialised to e_1
    (the first batch). The update includes the current batch before it is used, with Song & Ermon's
    constants (momentum 0.9, clamp 1e-4). Their reference code, however, hands the *batch* value e_t (not
    the average) back as the next step's state, so its average spans two batches; this one is a true
    exponential moving average. A rate of 0.01 (momentum 0.99) is sometimes attributed to Belghazi et al.
    (2018); we could not verify it. The state is a buffer: saved in ``state_dict``, follows ``.to``, no host
    synchronisation.

    Example::

        bound = MINE(momentum=0.9)
        loss = -bound(critic(x, y))
    """

    def __init__(self, momentum: float = 0.9, min_ema: float = 1e-4) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum, self.min_ema = momentum, min_ema
        self.register_buffer("ema", torch.ones(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def forward(self, scores: Tensor) -> Tensor:
        with torch.no_grad():
            e = log_mean_exp_offdiag(scores).exp().to(self.ema.dtype)
            prev = torch.where(self.initialized, self.ema, e)
            new = (self.momentum * prev + (1.0 - self.momentum) * e).clamp_min(self.min_ema)
            self.ema.copy_(new)
            self.initialized.fill_(True)
        return mine(scores, ema=self.ema)
