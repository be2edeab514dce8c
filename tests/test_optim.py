"""rlinfo.optim.Adam: bit-identical to torch.optim.Adam(fused=True), state dicts interchangeable, and no
torch._dynamo import."""

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from rlinfo.nn import adam
from rlinfo.optim import Adam


def net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3), nn.Linear(3, 2, bias=False))


def backward(model: nn.Module, step: int) -> None:
    """A loss that differs per step; from step 2 on the last layer gets no gradient every other step."""
    torch.manual_seed(100 + step)
    loss = model[0:3](torch.randn(16, 5)).pow(2).mean()
    if step < 2 or step % 2:
        loss = loss + model(torch.randn(16, 5)).sin().sum()
    loss.backward()


def train(model: nn.Module, opt, steps: range) -> None:
    for step in steps:
        opt.zero_grad()
        backward(model, step)
        opt.step()


SETTINGS = [{}, {"eps": 1e-5}, {"betas": (0.5, 0.9), "weight_decay": 0.01}]


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_updates_are_bit_identical_to_torch_fused_adam(kwargs):
    ours, theirs = net(), net()
    opt_ours, opt_theirs = (
        Adam(ours.parameters(), 1e-2, **kwargs),
        torch.optim.Adam(theirs.parameters(), 1e-2, fused=True, **kwargs),
    )
    train(ours, opt_ours, range(6))
    train(theirs, opt_theirs, range(6))
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(net().state_dict()["0.weight"], ours.state_dict()["0.weight"])  # it did train


def test_the_state_dict_is_torch_adams_and_loads_both_ways():
    ours, theirs = net(), net()
    opt_ours, opt_theirs = (
        adam(ours.parameters(), 1e-2, eps=1e-5),
        torch.optim.Adam(theirs.parameters(), 1e-2, eps=1e-5, fused=True),
    )
    train(ours, opt_ours, range(3))
    train(theirs, opt_theirs, range(3))
    a, b = opt_ours.state_dict(), opt_theirs.state_dict()
    assert a["param_groups"] == b["param_groups"] and a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        assert a["state"][i].keys() == b["state"][i].keys()
        assert all(torch.equal(a["state"][i][k], b["state"][i][k]) for k in a["state"][i])
    # each continues from the other's saved state (a copy, as a checkpoint file gives: torch.optim.Adam
    # keeps the tensors it loads), and both stay equal to an uninterrupted run
    a, b = copy.deepcopy(a), copy.deepcopy(b)
    crossed = [(net(), Adam, {}), (net(), torch.optim.Adam, {"fused": True})]
    for (model, kind, extra), source, donor in zip(crossed, (b, a), (theirs, ours), strict=True):
        model.load_state_dict(donor.state_dict())
        opt = kind(model.parameters(), 1.0, **extra)  # the saved lr (1e-2) replaces this one
        opt.load_state_dict(source)
        train(model, opt, range(3, 6))
    train(ours, opt_ours, range(3, 6))
    for model, _, _ in crossed:
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ours.parameters(), strict=True))


def test_loading_copies_and_checks_the_state():
    model = net()
    opt = Adam(model.parameters(), 1e-3)
    train(model, opt, range(1))
    saved = opt.state_dict()
    fresh = Adam(net().parameters(), 1e-3)
    fresh.load_state_dict(saved)
    first = next(iter(fresh.state.values()))["exp_avg"]
    assert (
        torch.equal(first, saved["state"][0]["exp_avg"])
        and first.data_ptr() != saved["state"][0]["exp_avg"].data_ptr()
    )
    with pytest.raises(ValueError, match="does not match"):
        Adam(list(net().parameters())[:2], 1e-3).load_state_dict(saved)
    amsgrad = torch.optim.Adam(net().parameters(), 1e-3, amsgrad=True).state_dict()
    with pytest.raises(ValueError, match="amsgrad"):
        Adam(net().parameters(), 1e-3).load_state_dict(amsgrad)
    with pytest.raises(ValueError, match="empty"):
        Adam([], 1e-3)
    with pytest.raises(ValueError, match="invalid"):
        Adam(net().parameters(), -1.0)


def test_zero_grad_sets_to_none_or_zeroes():
    model = net()
    opt = Adam(model.parameters(), 1e-3)
    backward(model, 0)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_training_with_it_does_not_import_torch_dynamo():
    """torch.optim.Adam's first call imports torch._dynamo (about a second of start-up); this one does not."""
    code = "\n".join(["import sys, torch", "from rlinfo.nn import adam, mlp", "m = mlp(3, 2, 8, 2)",
                      "opt = adam(m.parameters(), 1e-3)", "m(torch.ones(4, 3)).sum().backward()",
                      "opt.step(); opt.zero_grad(); opt.load_state_dict(opt.state_dict())",
                      "print('torch._dynamo' in sys.modules)"])  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stdout + out.stderr
