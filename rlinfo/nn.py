"""Small network building blocks shared by agents and reward modules.

Lower-precision compute (``train.precision=bfloat16``): inside ``with compute_dtype(torch.bfloat16):``
every network built by :func:`mlp` or :func:`ensemble_mlp` runs its hidden layers under autocast (matrix
multiplies in bfloat16, weights and gradients kept in float32; the first and last layers stay float32,
see :class:`MLP`) and returns float32, so every loss,
reward, log-probability and kNN distance around the networks is computed in float32, as in a float32
run. The setting is per thread (the overlapped collector acts in float32 while the learner updates).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from rlinfo.optim import Adam


def adam(params: Iterable[Tensor], lr: float, **kwargs: Any) -> Adam:
    """Adam with the fused kernel: one kernel for every parameter of the group instead of a dozen small
    ops per tensor (a 256-unit SAC's actor and critic steps take 0.15 ms instead of 0.46 ms on a CPU).
    Bit-identical to ``torch.optim.Adam(fused=True)`` and without its second of import on first use
    (:mod:`rlinfo.optim`); the step count lives on the parameters' device."""
    return Adam(params, lr=lr, **kwargs)


def cpu_info(cpuinfo: str = "/proc/cpuinfo") -> dict[str, str] | None:
    """The first CPU's fields in /proc/cpuinfo ("model name", "flags", ...); None where it cannot be read
    (not Linux)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            first_cpu = f.read().split("\n\n", 1)[0]
    except OSError:
        return None
    pairs = (line.split(":", 1) for line in first_cpu.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def cpu_has_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); None where it cannot be read
    (not Linux). Without it torch emulates bfloat16 matmuls, slower than float32."""
    info = cpu_info(cpuinfo)
    if info is None or "flags" not in info:
        return None
    return bool({"avx512_bf16", "amx_bf16"} & set(info["flags"].split()))


_compute = threading.local()  # .dtype: the networks' compute dtype in this thread (None: float32)


@contextmanager
def compute_dtype(dtype: torch.dtype | None) -> Iterator[None]:
    """Run the :class:`MLP` networks called in this block with ``dtype`` matmuls (None: unchanged)."""
    previous = getattr(_compute, "dtype", None)
    _compute.dtype = dtype
    try:
        yield
    finally:
        _compute.dtype = previous


class MLP(nn.Sequential):
    """A sequence of layers that honours :func:`compute_dtype`; its output is float32 either way.

    Under a lower compute dtype only the layers between the first and the last run in it: the first
    layer reads the raw inputs and the last writes the outputs in float32, because their absolute
    rounding is what the losses see. In bfloat16 (8-bit mantissa) an Ant x-position of 40 would be
    rounded to a multiple of 0.25 (a step moves it ~0.05) and METRA's φ(s) ≈ 30 to a multiple of 0.125,
    while the reward is Δφᵀz with ‖Δφ‖ ≤ 1; a critic's Q ≈ 300 would be a multiple of 2. The hidden
    activations lose only relative precision, and the first and last layers hold few of the FLOPs
    (a 1024-unit network: 2-3%). A network with one hidden layer has no matmul between them and runs
    wholly in float32.
    """

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        dtype = getattr(_compute, "dtype", None)
        if dtype is None or len(self) < 3:  # float32, or no layer between the first and the last
            return super().forward(x)
        first, *middle, last = self
        x = first(x)
        with torch.autocast(x.device.type, dtype=dtype, cache_enabled=False):
            for layer in middle:
                x = layer(x)
        return last(x.float())


def _xavier_normal_tenth(weight: Tensor) -> Tensor:
    """Xavier-normal weights scaled by 0.1: std = 0.1·√(2 / (fan_in + fan_out)) (garage's policy heads)."""
    return nn.init.xavier_normal_(weight).mul_(0.1)


# Weight initialisations a reference trainer uses in place of PyTorch's default (kaiming-uniform with
# a = √5, i.e. U(±1/√fan_in), and biases U(±1/√fan_in)); every one zeroes the biases. garage (METRA,
# CSF): Xavier; URLB: orthogonal, gain 1; CleanRL's PPO: orthogonal, gain √2 (hidden), 0.01 (policy
# output), 1 (value output).
WEIGHT_INITS = {"xavier_uniform": nn.init.xavier_uniform_, "xavier_normal": nn.init.xavier_normal_,
                "xavier_normal_0.1": _xavier_normal_tenth, "orthogonal": nn.init.orthogonal_,
                "orthogonal_sqrt2": partial(nn.init.orthogonal_, gain=math.sqrt(2)),
                "orthogonal_0.01": partial(nn.init.orthogonal_, gain=0.01)}  # fmt: skip
# the ``init`` key of agents and reward modules: "torch" (PyTorch's default) or "garage", the defaults of
# the garage networks that the METRA trainer builds (and CSF's, built on it): Xavier-uniform weights for
# φ and the policy's hidden layers, Xavier-normal ×0.1 for the policy's output heads (its
# ``xavier_normal_ex``), Xavier-normal for the critics, zero biases
NET_INITS = ("torch", "garage")


def check_init(owner: str, init: str) -> None:
    """One-line ``ValueError`` unless ``init`` is one of :data:`NET_INITS`."""
    if init not in NET_INITS:
        raise ValueError(
            f"{owner}: init must be one of {', '.join(NET_INITS)} (garage: the METRA reference's Xavier "
            f"weights and zero biases), got {init!r}"
        )


def mlp(
    in_dim: int,
    out_dim: int,
    hidden_dim: int = 256,
    num_layers: int = 2,
    activation: type[nn.Module] = nn.ReLU,
    layer_norm: bool = False,
    init: str = "torch",
) -> MLP:
    """A multi-layer perceptron with ``num_layers`` hidden layers of width ``hidden_dim``. ``init``: one
    of :data:`NET_INITS` ("garage": Xavier-uniform weights and zero biases in every layer, the default of
    the garage MLPs that the METRA trainer builds φ, q(z|s) and skill dynamics with)."""
    check_init("mlp", init)
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(num_layers):
        layers.append(nn.Linear(d, hidden_dim))
        if layer_norm:
            layers.append(nn.LayerNorm(hidden_dim))
        layers.append(activation())
        d = hidden_dim
    layers.append(nn.Linear(d, out_dim))
    net = MLP(*layers)
    return initialize(net, "xavier_uniform") if init == "garage" else net


class EnsembleLinear(nn.Module):
    """E independent linear layers evaluated as one batched matmul.

    Weight [E, in, out], bias [E, 1, out]; input [E, B, in] (or [B, in], broadcast to every
    member) -> output [E, B, out]. Each member is initialised like ``nn.Linear``.

    A one-column output (a critic's Q head) is computed as y[e, b] = Σ_i x[e, b, i] w[e, i] + c[e]
    (multiply and sum) instead: torch's CPU ``bmm`` with a single output column runs far below its
    FLOP count (forward and backward of a [2, 256, 1024] -> [2, 256, 1] head: about 2 ms against
    0.5 ms), and these heads are in every critic forward of the SAC update; a whole SAC update gains
    2-5% (``scripts/update_benchmark.py``).
    """

    def __init__(self, ensemble_size: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.ensemble_size, self.in_dim, self.out_dim = ensemble_size, in_dim, out_dim
        self.weight = nn.Parameter(torch.empty(ensemble_size, in_dim, out_dim))
        self.bias = nn.Parameter(torch.empty(ensemble_size, 1, out_dim))
        bound = 1.0 / math.sqrt(in_dim)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.ensemble_size, -1, -1)
        if self.out_dim == 1:
            return (x * self.weight.transpose(1, 2)).sum(-1, keepdim=True) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


def ensemble_mlp(
    ensemble_size: int, in_dim: int, out_dim: int, hidden_dim: int = 256, num_layers: int = 2
) -> MLP:
    """An ensemble of E MLPs run as one batched network: [B, in] or [E, B, in] -> [E, B, out]."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(num_layers):
        layers += [EnsembleLinear(ensemble_size, d, hidden_dim), nn.ReLU()]
        d = hidden_dim
    layers.append(EnsembleLinear(ensemble_size, d, out_dim))
    return MLP(*layers)


def initialize(net: nn.Module, hidden: str, output: str | None = None) -> nn.Module:
    """Re-draw the weights of every linear layer of ``net`` (``nn.Linear`` or :class:`EnsembleLinear`,
    each ensemble member as its own [in, out] matrix) with ``WEIGHT_INITS[hidden]``, the last layer with
    ``WEIGHT_INITS[output or hidden]``, and zero every bias. A spectrally normalised layer gets its
    unnormalised weight redrawn (the σ estimate then follows it by power iteration). Call it before a
    target copy. Returns ``net``."""
    for name in (hidden, output or hidden):
        if name not in WEIGHT_INITS:
            raise ValueError(f"initialize: weights must be one of {', '.join(WEIGHT_INITS)}, got {name!r}")
    layers = [m for m in net.modules() if isinstance(m, nn.Linear | EnsembleLinear)]
    for i, layer in enumerate(layers):
        draw = WEIGHT_INITS[output or hidden] if i == len(layers) - 1 else WEIGHT_INITS[hidden]
        if torch.nn.utils.parametrize.is_parametrized(layer, "weight"):
            weight = layer.parametrizations.weight.original  # the stored weight, before normalisation
        else:
            weight = layer.weight
        with torch.no_grad():
            for matrix in weight if isinstance(layer, EnsembleLinear) else [weight]:
                draw(matrix)
            layer.bias.zero_()
    return net


def spectral_mlp(
    in_dim: int, out_dim: int, hidden_dim: int, num_layers: int, init: str = "torch"
) -> nn.Sequential:
    """``mlp`` (``init`` as there, drawn before the normalisation) with spectral normalisation on every
    ``nn.Linear``: a 1-Lipschitz network."""
    net = mlp(in_dim, out_dim, hidden_dim, num_layers, init=init)
    for i, layer in enumerate(net):
        if isinstance(layer, nn.Linear):
            net[i] = torch.nn.utils.parametrizations.spectral_norm(layer)
    return net
