"""The reward-module contract of rlinfo/rewards/base.py, checked for every entry of ``REWARDS`` (and
the composites built around them):

- ``reward(batch)``: shape [B], a floating dtype, finite, no gradient, and pure (the module's state is
  unchanged, the same value twice);
- ``update(batch)``: a dict of finite, detached, scalar tensors; every trainable parameter belongs to
  an optimiser in ``optimizers`` (so checkpoints save its optimiser state);
- ``state_dict()`` + ``optimizer_state()`` round trip: identical rewards and identical next update;
- ``.to("cpu")`` / ``.to(torch.float32)`` return the module itself and change no reward;
- determinism: two modules built and driven after the same ``torch.manual_seed`` agree exactly;
- skill rewards: ``skill_space`` matches the module's skills, ``skill_for_goal`` returns one skill per
  row where a module declares it (NotImplementedError where it does not), and a missing or
  mis-sized ``batch.skill`` is a one-line ValueError.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import pytest
import torch

from rlinfo.rewards import REWARDS, IntrinsicReward, Normalized, RewardChannels, SkillReward, WeightedSum
from rlinfo.types import Batch

B, OBS_DIM, ACTION_DIM = 32, 12, 2  # 12-d observations: the tabletop layout, which every module accepts
SMALL = {"hidden_dim": 16}

# Constructor arguments of every registry entry beyond obs_dim / action_dim: small networks, small
# kNN / prior / negative / prototype counts, so the whole file runs in seconds.
ARGS: dict[str, dict] = {
    "diayn": {"skill_dim": 4, **SMALL},
    "dads": {"skill_dim": 2, "num_prior_samples": 8, **SMALL},
    "metra": {"skill_dim": 2, **SMALL},
    "lsd": {"skill_dim": 2, **SMALL},
    "csf": {"skill_dim": 2, "num_negatives": 16, **SMALL},
    "becl": {"skill_dim": 4, **SMALL},
    "cic": {"skill_dim": 8, "knn_k": 4, "knn_rms": True, **SMALL},
    "rnd": {"rep_dim": 8, **SMALL},
    "apt": {"k": 4, "knn_rms": True, "representation": "icm", "rep_dim": 8, **SMALL},
    "icm": {"rep_dim": 8, **SMALL},
    "disagreement": {"ensemble_size": 3, **SMALL},
    "proto": {"num_protos": 8, "pred_dim": 8, "proj_dim": 16, "queue_size": 16, "topk": 2},
    "empowerment": {"latent": True, "latent_dim": 8, **SMALL},
    "extrinsic": {},
    "tabletop_reach": {},
    "tabletop_safety": {},
    "tabletop_metra": {"skill_dim": 2, **SMALL},
}


def registered(name: str) -> Callable[[], IntrinsicReward]:
    return lambda: REWARDS[name](obs_dim=OBS_DIM, action_dim=ACTION_DIM, **ARGS[name])


# Composites (not registry entries; built by reward.channels): normalisation, weighted sums, channels.
COMPOSITES: dict[str, Callable[[], IntrinsicReward]] = {
    "diayn(gaussian)": lambda: REWARDS["diayn"](OBS_DIM, ACTION_DIM, skill_dim=2, discrete=False, **SMALL),
    "normalized(metra)": lambda: Normalized(registered("metra")(), mode="meanstd"),
    "normalized(rnd)": lambda: Normalized(registered("rnd")(), momentum=0.1),
    "sum(csf, apt, extrinsic)": lambda: WeightedSum(
        {"skill": registered("csf")(), "explore": registered("apt")(), "task": registered("extrinsic")()},
        {"skill": 1.0, "explore": 0.5, "task": 2.0},
    ),
    "channels(diayn, tabletop_safety)": lambda: RewardChannels(
        {"skill": registered("diayn")(), "safety": registered("tabletop_safety")()}
    ),
}
BUILD = {**{name: registered(name) for name in REWARDS}, **COMPOSITES}
CASES = sorted(BUILD)


def test_the_table_covers_the_registry():
    assert set(ARGS) == set(REWARDS)


def build(case: str, seed: int) -> IntrinsicReward:
    torch.manual_seed(seed)
    return BUILD[case]()


def make_batch(module: IntrinsicReward, seed: int = 0) -> Batch:
    """B random transitions (skills from the module's own skill space, a random task reward)."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(B, OBS_DIM, generator=g)
    next_obs = obs + 0.3 * torch.randn(B, OBS_DIM, generator=g)
    action = torch.rand(B, ACTION_DIM, generator=g) * 2 - 1
    skill = module.skill_space.sample(B, generator=g) if isinstance(module, SkillReward) else None
    reward = torch.randn(B, generator=g)
    return Batch(obs, action, next_obs, torch.zeros(B, dtype=torch.bool), skill=skill, reward=reward)


def seeded(fn: Callable, batch: Batch, seed: int = 7):
    """fn(batch) after torch.manual_seed(seed): DADS, CSF and ProtoRL draw random numbers inside."""
    torch.manual_seed(seed)
    return fn(batch)


def snapshot(module: IntrinsicReward) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def assert_same_stats(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("case", CASES)
def test_reward_is_a_pure_float_vector_without_gradient(case):
    m = build(case, 0)
    batch = make_batch(m)
    seeded(m.update, batch)  # statistics and queues filled: the steady state, not only the first call
    before = snapshot(m)
    r = seeded(m.reward, batch)
    assert r.shape == (B,) and r.dtype.is_floating_point
    assert not r.requires_grad and r.grad_fn is None
    assert torch.isfinite(r).all()
    assert_same_state(before, snapshot(m))  # reward() changes no parameter, buffer or statistic
    assert all(p.grad is None or not p.grad.requires_grad for p in m.parameters())
    assert torch.equal(seeded(m.reward, batch), r)


@pytest.mark.parametrize("case", CASES)
def test_update_returns_finite_detached_scalars(case):
    m = build(case, 0)
    batch = make_batch(m)
    for _ in range(2):
        stats = seeded(m.update, batch)
        assert isinstance(stats, dict)
        for key, v in stats.items():
            assert isinstance(key, str) and isinstance(v, torch.Tensor), key
            assert v.dim() == 0 and not v.requires_grad and v.grad_fn is None, key
            assert torch.isfinite(v), key
    in_optimizers = {id(p) for opt in m.optimizers.values() for g in opt.param_groups for p in g["params"]}
    trainable = [n for n, p in m.named_parameters() if p.requires_grad and id(p) not in in_optimizers]
    assert not trainable, f"trainable parameters without an optimiser: {trainable}"
    assert all(g["fused"] for opt in m.optimizers.values() for g in opt.param_groups), "not rlinfo.nn.adam"


@pytest.mark.parametrize("case", CASES)
def test_state_dict_round_trip_restores_rewards_and_updates(case):
    a = build(case, 0)
    batch = make_batch(a)
    for _ in range(2):
        seeded(a.update, batch)
    buf = io.BytesIO()
    torch.save({"module": a.state_dict(), "optim": a.optimizer_state()}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    b = build(case, 1)  # other initial weights
    b.load_state_dict(state["module"])
    b.load_optimizer_state(state["optim"])
    assert torch.equal(seeded(a.reward, batch), seeded(b.reward, batch))
    assert_same_stats(seeded(a.update, batch), seeded(b.update, batch))
    assert torch.equal(seeded(a.reward, batch), seeded(b.reward, batch))
    assert_same_state(snapshot(a), snapshot(b))


@pytest.mark.parametrize("case", CASES)
def test_to_the_same_device_and_dtype_is_the_module_itself(case):
    m = build(case, 0)
    batch = make_batch(m)
    seeded(m.update, batch)
    r = seeded(m.reward, batch)
    assert m.to("cpu") is m and m.to(torch.device("cpu")) is m and m.to(torch.float32) is m
    assert m.device == torch.device("cpu")
    assert torch.equal(seeded(m.reward, batch.to("cpu")), r)
    seeded(m.update, batch)  # the optimisers still hold the module's parameters


@pytest.mark.parametrize("case", CASES)
def test_same_seed_same_rewards_and_updates(case):
    def run(seed: int) -> list:
        torch.manual_seed(seed)
        m = BUILD[case]()
        batch = make_batch(m)
        return [m.reward(batch), m.update(batch), m.update(batch), m.reward(batch)]

    first, second = run(3), run(3)
    for x, y in zip(first, second, strict=True):
        if isinstance(x, dict):
            assert_same_stats(x, y)
        else:
            assert torch.equal(x, y)


SKILL_CASES = [c for c in CASES if isinstance(build(c, 0), SkillReward)]


def test_skill_cases_are_the_skill_methods():
    expected = {"diayn", "dads", "metra", "lsd", "csf", "becl", "cic", "tabletop_metra"}
    assert expected <= set(SKILL_CASES)
    assert not {"rnd", "apt", "icm", "disagreement", "proto", "empowerment", "extrinsic"} & set(SKILL_CASES)


@pytest.mark.parametrize("case", SKILL_CASES)
def test_skill_space_and_goal_skill(case):
    m = build(case, 0)
    space = m.skill_space
    assert isinstance(space.discrete, bool) and space.dim >= 1
    if hasattr(m, "skill_dim"):
        assert space.dim == m.skill_dim
    z = space.sample(5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5, space.dim) and z.dtype == torch.float32
    batch = make_batch(m)
    obs, goal = batch.obs[:5], batch.next_obs[:5] + 1.0
    if not m.has_goal_skill:
        with pytest.raises(NotImplementedError):
            m.skill_for_goal(obs, goal)
        return
    g = m.skill_for_goal(obs, goal)
    assert g.shape == (5, space.dim) and not g.requires_grad and torch.isfinite(g).all()
    if space.discrete:  # one of the space's own skill vectors
        assert torch.equal(g, space.from_index(space.index(g)))
    m.reward(batch.with_skill(torch.cat([g, batch.skill[5:]])))  # usable as the batch's skills


@pytest.mark.parametrize("case", SKILL_CASES)
def test_missing_or_missized_skill_is_a_one_line_error(case):
    m = build(case, 0)
    batch = make_batch(m)
    wrong_dim = torch.zeros(B, m.skill_space.dim + 1)
    for skill, words in [(None, "needs batch.skill"), (wrong_dim, "batch.skill has dim")]:
        bad = dataclasses.replace(batch, skill=skill)
        for fn in (m.reward, m.update):
            with pytest.raises(ValueError, match=words) as info:
                fn(bad)
            assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["metra", "lsd", "diayn", "dads", "csf", "cic"])
def test_garage_init_gives_xavier_uniform_weights_and_zero_biases(name):
    """``init="garage"`` (the comparison presets): every linear layer of the module, spectral-normalised
    ones before the normalisation, has Xavier-uniform weights (|w| ≤ √(6/(in+out))) and zero biases;
    a misspelt name is one line."""
    kwargs = {**ARGS[name], "hidden_dim": 64}
    if name == "diayn":
        kwargs["discrete"] = False  # both networks: μ(s′) and log σ(s′)
    module = REWARDS[name](OBS_DIM, ACTION_DIM, init="garage", **kwargs)
    layers = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) >= 3
    for layer in layers:
        spectral = hasattr(layer, "parametrizations")
        weight = layer.parametrizations.weight.original if spectral else layer.weight
        bound = (6.0 / sum(weight.shape)) ** 0.5
        assert weight.abs().max() <= bound and weight.abs().max() > 0.8 * bound
        assert not layer.bias.any()
    owner = module.__class__.__name__
    with pytest.raises(ValueError, match=f"^{owner}: init must be one of torch, garage \\(.*\\), got 'x'$"):
        REWARDS[name](OBS_DIM, ACTION_DIM, init="x", **kwargs)
