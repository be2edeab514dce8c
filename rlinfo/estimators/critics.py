"""Critics f(x, y) that produce the [B, B] score matrices consumed by ``rlinfo.estimators.bounds``.

Every critic's ``forward(x, y)`` takes x ``[Bx, x_dim]`` and y ``[By, y_dim]`` and returns
``scores[i, j] = f(x_i, y_j)``, shape ``[Bx, By]``. With ``ensemble_size=E`` the critic holds E independent
members evaluated as one batched matmul and returns ``[E, Bx, By]`` (member e is ``scores[e]``), which is
how several estimators are trained side by side at the cost of one network call.

- ``SeparableCritic``: f(x, y) = g(x)^T h(y) (Poole et al. 2019; van den Oord et al. 2018). Cost O(B).
- ``JointCritic``: f(x, y) = MLP([x, y]) on all B^2 pairs (Poole et al. 2019 "concat critic"). The first
  layer is affine in the concatenation, W[x; y] + b = W_x x + W_y y + b, so it is computed on the B rows of
  x and of y and broadcast-added; only the later layers see B^2 rows. Memory O(B^2 * hidden).
- ``BilinearCritic``: f(x, y) = e(x)^T W e'(y) with identity (default) or MLP encoders (CPC's log-bilinear
  model, van den Oord et al. 2018).
- ``LipschitzCritic``: a joint critic kept 1-Lipschitz in (x, y) by spectral normalisation (Miyato et al.
  2018) or regularised by a gradient penalty (Gulrajani et al. 2017), for the Wasserstein dependency
  measure (Ozair et al. 2019) computed by ``wasserstein_dependency``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from rlinfo.estimators.bounds import infonce
from rlinfo.nn import EnsembleLinear, ensemble_mlp

__all__ = ["BilinearCritic", "JointCritic", "LipschitzCritic", "SeparableCritic", "wasserstein_dependency"]


def _squeeze(out: Tensor, ensemble_size: int | None) -> Tensor:
    return out.squeeze(0) if ensemble_size is None else out


class SeparableCritic(nn.Module):
    """f(x, y) = g(x)^T h(y) with g, h MLPs (``num_layers`` hidden layers of ``hidden_dim``, output
    ``embed_dim``). Defaults follow the Gaussian benchmark of Poole et al. (2019): 2 x 256, embedding 32."""

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        hidden_dim: int = 256,
        embed_dim: int = 32,
        num_layers: int = 2,
        ensemble_size: int | None = None,
    ) -> None:
        super().__init__()
        self.ensemble_size = ensemble_size
        e = ensemble_size or 1
        self.g = ensemble_mlp(e, x_dim, embed_dim, hidden_dim, num_layers)
        self.h = ensemble_mlp(e, y_dim, embed_dim, hidden_dim, num_layers)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return _squeeze(torch.bmm(self.g(x), self.h(y).transpose(1, 2)), self.ensemble_size)


class JointCritic(nn.Module):
    """f(x, y) = MLP([x, y]) scored on every pair (x_i, y_j), with ``num_layers`` (>= 1) hidden ReLU layers
    of width ``hidden_dim``. The first layer is factorised (see module docstring) and the scalar output
    layer is a broadcast multiply-and-sum (batched matmuls with a unit dimension are slow on CPU), so the
    cost of scoring all B^2 pairs is O(B^2 * hidden) plus B^2 * hidden^2 per further hidden layer."""

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        hidden_dim: int = 256,
        num_layers: int = 2,
        ensemble_size: int | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError("JointCritic needs num_layers >= 1")
        self.x_dim, self.ensemble_size = x_dim, ensemble_size
        e = ensemble_size or 1
        self.first = EnsembleLinear(e, x_dim + y_dim, hidden_dim)
        layers: list[nn.Module] = []
        for _ in range(num_layers - 1):
            layers += [EnsembleLinear(e, hidden_dim, hidden_dim), nn.ReLU()]
        self.hidden = nn.Sequential(*layers)
        self.head = EnsembleLinear(e, hidden_dim, 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        w, b = self.first.weight, self.first.bias  # [E, dx + dy, H], [E, 1, H]
        e = w.shape[0]
        ax = torch.matmul(x, w[:, : self.x_dim])  # [E, Bx, H]
        ay = torch.baddbmm(b, y.expand(e, -1, -1), w[:, self.x_dim :])  # [E, By, H]
        h = torch.relu(ax.unsqueeze(2) + ay.unsqueeze(1))  # [E, Bx, By, H]
        bx, by = h.shape[1], h.shape[2]
        h = self.hidden(h.view(e, bx * by, -1))  # [E, Bx * By, H]
        out = (h * self.head.weight.transpose(1, 2)).sum(-1) + self.head.bias.view(e, 1)
        out = out.view(e, bx, by)
        return _squeeze(out, self.ensemble_size)


class BilinearCritic(nn.Module):
    """f(x, y) = e_x(x)^T W e_y(y). With ``hidden_dim=None`` the encoders are the identity (a pure
    bilinear critic x^T W y, which is exact for Gaussian data up to per-x and per-y terms that InfoNCE
    ignores); otherwise they are MLPs to ``embed_dim``. W starts at zero (scores start at 0)."""

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        hidden_dim: int | None = None,
        embed_dim: int = 32,
        num_layers: int = 2,
        ensemble_size: int | None = None,
    ) -> None:
        super().__init__()
        self.ensemble_size = ensemble_size
        e = ensemble_size or 1
        if hidden_dim is None:
            self.ex: nn.Module = nn.Identity()
            self.ey: nn.Module = nn.Identity()
            dx, dy = x_dim, y_dim
        else:
            self.ex = ensemble_mlp(e, x_dim, embed_dim, hidden_dim, num_layers)
            self.ey = ensemble_mlp(e, y_dim, embed_dim, hidden_dim, num_layers)
            dx = dy = embed_dim
        self.weight = nn.Parameter(torch.zeros(e, dx, dy))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        e = self.weight.shape[0]
        fx, fy = self.ex(x), self.ey(y)
        fx = fx.expand(e, -1, -1) if fx.dim() == 2 else fx
        fy = fy.expand(e, -1, -1) if fy.dim() == 2 else fy
        return _squeeze(torch.bmm(torch.bmm(fx, self.weight), fy.transpose(1, 2)), self.ensemble_size)


class LipschitzCritic(nn.Module):
    """Joint MLP critic f([x, y]) constrained for the Wasserstein dependency measure (Ozair et al. 2019).

    ``constraint="spectral_norm"``: every linear layer is spectrally normalised (Miyato et al. 2018, one
    power iteration per training forward) so that, with 1-Lipschitz ReLUs, f is (at most) 1-Lipschitz in
    the Euclidean norm of the concatenation [x, y]. ``constraint="gradient_penalty"``: the network is
    unconstrained and ``gradient_penalty`` must be added to the loss (Gulrajani et al. 2017).
    ``forward`` scores all pairs (``[Bx, By]``) with the factorised first layer; ``score_pairs`` scores
    matched rows (``[B]``).
    """

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        hidden_dim: int = 256,
        num_layers: int = 2,
        constraint: Literal["spectral_norm", "gradient_penalty"] = "spectral_norm",
    ) -> None:
        super().__init__()
        if constraint not in ("spectral_norm", "gradient_penalty"):
            raise ValueError(f"constraint must be 'spectral_norm' or 'gradient_penalty', got {constraint!r}")
        self.x_dim, self.constraint = x_dim, constraint
        dims = [x_dim + y_dim] + [hidden_dim] * num_layers + [1]
        linears = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        if constraint == "spectral_norm":
            linears = [parametrizations.spectral_norm(lin) for lin in linears]
        self.first = linears[0]
        rest: list[nn.Module] = []
        for lin in linears[1:]:
            rest += [nn.ReLU(), lin]
        self.rest = nn.Sequential(*rest)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        w = self.first.weight  # [H, dx + dy], normalised when spectral_norm is on
        ax = x @ w[:, : self.x_dim].T
        ay = y @ w[:, self.x_dim :].T + self.first.bias
        h = ax.unsqueeze(1) + ay.unsqueeze(0)  # pre-activation of all pairs, [Bx, By, H]
        return self.rest(h).squeeze(-1)

    def score_pairs(self, x: Tensor, y: Tensor) -> Tensor:
        """f(x_i, y_i) for matched rows, shape [B]."""
        return self.rest(self.first(torch.cat([x, y], dim=-1))).squeeze(-1)

    def gradient_penalty(self, x: Tensor, y: Tensor, target: float = 1.0, one_sided: bool = False) -> Tensor:
        """E[(||grad_z f(z)||_2 - target)^2] at z = a [x, y] + (1 - a) [x, y_perm], a ~ U(0, 1) per row:
        random interpolates between joint pairs and product-of-marginals pairs (WGAN-GP, Gulrajani et al.
        2017, weight 10 there). ``one_sided`` penalises only norms above ``target``. Multiply by your
        weight and add to the loss."""
        perm = torch.randperm(y.shape[0], device=y.device)
        z_joint = torch.cat([x, y], dim=-1)
        z_prod = torch.cat([x, y[perm]], dim=-1)
        a = torch.rand(z_joint.shape[0], 1, device=x.device, dtype=x.dtype)
        z = (a * z_joint + (1 - a) * z_prod).detach().requires_grad_(True)
        f = self.rest(self.first(z)).sum()
        (grad,) = torch.autograd.grad(f, z, create_graph=True)
        excess = grad.norm(dim=-1) - target
        return (excess.clamp_min(0) if one_sided else excess).pow(2).mean()


def wasserstein_dependency(scores: Tensor, form: Literal["dual", "infonce"] = "dual") -> Tensor:
    """Wasserstein dependency measure from a Lipschitz critic's score matrix (Ozair et al. 2019).

    ``form="dual"``: the Kantorovich-Rubinstein dual I_W = sup_{||f||_L <= 1} E_{p(x,y)} f - E_{p(x)p(y)} f,
    estimated as mean_i f_ii - mean_{i != j} f_ij. It is a lower bound on W_1(p(x,y), p(x)p(y)) only when
    f is 1-Lipschitz (``LipschitzCritic``), in the units of the metric, not nats.
    ``form="infonce"``: the practical objective of Ozair et al. (2019) ("WPC"), InfoNCE evaluated with a
    Lipschitz critic; in nats, <= log B. LSD and METRA maximise the dual form with a metric-specific
    Lipschitz constraint.
    """
    if form == "infonce":
        return infonce(scores)
    if form != "dual":
        raise ValueError(f"form must be 'dual' or 'infonce', got {form!r}")
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores must be a square [B, B] matrix with B >= 2, got {tuple(scores.shape)}")
    b = scores.shape[0]
    diag = scores.diagonal()
    return diag.mean() - (scores.sum() - diag.sum()) / (b * (b - 1))
