"""Adam on PyTorch's fused kernel, without ``torch.optim``'s wrapper.

Every method of ``torch.optim.Optimizer`` imports ``torch._dynamo`` the first time it is called (to keep
itself out of compiled graphs). That import takes about a second, longer than the whole training of a short
run, and rlinfo never compiles an optimiser step. This class calls the kernel that
``torch.optim.Adam(fused=True)`` calls, ``torch._fused_adam_``, with the same arguments, so its updates are
bit-identical to it, and its ``state_dict`` has ``torch.optim.Adam``'s format, so a checkpoint of either
loads into the other.

For a parameter θ with gradient g at step t (moments m, v start at 0):

    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    θ ← θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

with ``weight_decay`` λ > 0 adding λ·θ to g first (L2, as ``torch.optim.Adam``). Wherever rlinfo keeps
optimisers (an agent's or a reward module's ``optimizers``), any :class:`Optimizer` can stand in for it,
a ``torch.optim`` optimiser included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch
from torch import Tensor

# the flags of a torch.optim.Adam parameter group that this class fixes: stored so that state dicts
# keep torch's keys, never read
FIXED = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
         "fused": True, "decoupled_weight_decay": False}  # fmt: skip
HYPERPARAMETERS = ("lr", "betas", "eps", "weight_decay")  # what load_state_dict takes from a saved group


class Optimizer(Protocol):
    """What the training loop and checkpoints use of an optimiser (``torch.optim`` optimisers have it)."""

    param_groups: list[dict[str, Any]]

    def zero_grad(self, set_to_none: bool = True) -> None: ...
    def step(self) -> Any: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


class Adam:
    """Adam over one group of parameters (see the module docstring); the step count of each parameter is
    a float32 scalar tensor on its device, so a replayed CUDA graph advances it."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        params = list(params)
        if not params:
            raise ValueError("Adam got an empty parameter list")
        if not (lr >= 0.0 and eps >= 0.0 and weight_decay >= 0.0 and all(0.0 <= b < 1.0 for b in betas)):
            raise ValueError(
                f"Adam: invalid lr={lr}, betas={betas}, eps={eps} or weight_decay={weight_decay}"
            )
        group = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, **FIXED}
        self.param_groups: list[dict[str, Any]] = [{**group, "params": params}]
        self.state: dict[Tensor, dict[str, Tensor]] = {}  # parameter -> step, exp_avg (m), exp_avg_sq (v)

    def __repr__(self) -> str:
        group = self.param_groups[0]
        shown = ", ".join(f"{k}={group[k]}" for k in HYPERPARAMETERS)
        return f"Adam({len(group['params'])} tensors, {shown})"

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        group = self.param_groups[0]
        by_kind: dict[tuple[torch.device, torch.dtype], tuple[list[Tensor], ...]] = {}
        for p in group["params"]:
            if p.grad is None:
                continue
            s = self.state.get(p)
            if s is None:
                zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
                s = self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                     "exp_avg": zeros, "exp_avg_sq": zeros.clone()}  # fmt: skip
            lists = by_kind.setdefault((p.device, p.dtype), ([], [], [], [], []))
            tensors = (p, p.grad, s["exp_avg"], s["exp_avg_sq"], s["step"])
            for into, tensor in zip(lists, tensors, strict=True):
                into.append(tensor)
        beta1, beta2 = group["betas"]
        for params, grads, exp_avgs, exp_avg_sqs, steps in by_kind.values():  # the kernel takes one kind
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                               maximize=False, grad_scale=None, found_inf=None)  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """``torch.optim.Adam``'s format: parameters by index, the group's settings, then the state."""
        group = self.param_groups[0]
        index = {id(p): i for i, p in enumerate(group["params"])}
        packed = {k: v for k, v in group.items() if k != "params"}
        packed["params"] = list(range(len(group["params"])))
        return {"state": {index[id(p)]: s for p, s in self.state.items()}, "param_groups": [packed]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict of this class or of ``torch.optim.Adam`` over the same parameters (copies)."""
        groups, params = state_dict["param_groups"], self.param_groups[0]["params"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(params):
            raise ValueError("loaded optimizer state does not match this optimizer's parameters")
        saved = groups[0]
        if saved.get("amsgrad") or saved.get("maximize") or saved.get("decoupled_weight_decay"):
            raise ValueError("loaded optimizer state is of an Adam variant (amsgrad, maximize, AdamW)")
        by_index = dict(zip(saved["params"], params, strict=True))
        state = {}
        for i, s in state_dict["state"].items():
            p = by_index[int(i)]
            state[p] = {k: v.to(device=p.device, dtype=torch.float32 if k == "step" else p.dtype, copy=True)
                        for k, v in s.items()}  # fmt: skip
        self.state = state
        self.param_groups[0].update({k: saved[k] for k in HYPERPARAMETERS})
        self.param_groups[0]["betas"] = tuple(self.param_groups[0]["betas"])
