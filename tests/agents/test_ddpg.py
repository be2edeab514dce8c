"""URLB's DDPG (agents/ddpg.py): losses and target against a hand computation, the Polyak step, exploration
and smoothing noise, save/load and determinism, learning a bandit, and a killed run resumed exactly."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
import torch

from rlinfo.agents.ddpg import CLAMP_EPS, DDPG, clamp_straight_through
from rlinfo.config import load_config
from rlinfo.errors import ConfigError
from rlinfo.run.loop import Trainer

# ----------------------------------------------------------------------------- a pure-Python reference
H = 3  # hidden width of the hand-checked networks (obs_dim 2, action_dim 1, num_layers 2)


def matrix(rows: int, cols: int, seed: float) -> list[list[float]]:
    return [[round(0.6 * math.sin(1.7 * i + 0.9 * j + seed), 3) for j in range(cols)] for i in range(rows)]


def vector(n: int, seed: float) -> list[float]:
    return [round(0.2 * math.cos(2.3 * i + seed), 3) for i in range(n)]


def affine(w: list[list[float]], b: list[float], x: list[float]) -> list[float]:
    return [sum(wi * xi for wi, xi in zip(row, x, strict=True)) + bi for row, bi in zip(w, b, strict=True)]


def layer_norm(x: list[float]) -> list[float]:
    mean = sum(x) / len(x)
    var = sum((v - mean) ** 2 for v in x) / len(x)
    return [(v - mean) / math.sqrt(var + 1e-5) for v in x]


def tanh(x: list[float]) -> list[float]:
    return [math.tanh(v) for v in x]


def relu(x: list[float]) -> list[float]:
    return [max(v, 0.0) for v in x]


def make_weights(in_dim: int, out_dim: int, seed: float) -> list[tuple[list[list[float]], list[float]]]:
    """(W, b) of trunk, hidden layer and output layer."""
    return [
        (matrix(H, in_dim, seed), vector(H, seed)),
        (matrix(H, H, seed + 1), vector(H, seed + 1)),
        (matrix(out_dim, H, seed + 2), vector(out_dim, seed + 2)),
    ]


ACTOR = make_weights(2, 1, 0.0)
CRITIC = {
    "trunk": make_weights(3, 1, 1.0)[0],
    "heads": [make_weights(3, 1, 2.0)[1:], make_weights(3, 1, 3.0)[1:]],
}
TARGET = {
    "trunk": make_weights(3, 1, 4.0)[0],
    "heads": [make_weights(3, 1, 5.0)[1:], make_weights(3, 1, 6.0)[1:]],
}


def ref_mu(s: list[float]) -> float:
    (w1, b1), (w2, b2), (w3, b3) = ACTOR
    h = tanh(layer_norm(affine(w1, b1, s)))
    return math.tanh(affine(w3, b3, relu(affine(w2, b2, h)))[0])


def ref_q(critic: dict, s: list[float], a: float) -> list[float]:
    h = tanh(layer_norm(affine(*critic["trunk"], [*s, a])))
    return [affine(*out, relu(affine(*hidden, h)))[0] for hidden, out in critic["heads"]]


def ref_smoothed(mu: float, eps: float, sigma: float, clip: float) -> float:
    noise = min(max(sigma * eps, -clip), clip)
    return min(max(mu + noise, -1 + CLAMP_EPS), 1 - CLAMP_EPS)


def load_linear(layer: torch.nn.Linear, wb: tuple[list[list[float]], list[float]]) -> None:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(wb[0]))
        layer.bias.copy_(torch.tensor(wb[1]))


def load_critic(critic, weights: dict) -> None:
    load_linear(critic.trunk[0], weights["trunk"])
    for head, (hidden, out) in zip(critic.heads, weights["heads"], strict=True):
        load_linear(head[0], hidden)
        load_linear(head[2], out)


def hand_built(sigma: float = 0.5, clip: float = 0.3, gamma: float = 0.9) -> DDPG:
    agent = DDPG(obs_dim=2, action_dim=1, hidden_dim=H, num_layers=2, gamma=gamma, tau=0.25, stddev=sigma,
                 stddev_clip=clip, lr=1e-2)  # fmt: skip
    load_linear(agent.actor.trunk[0], ACTOR[0])
    load_linear(agent.actor.policy[0], ACTOR[1])
    load_linear(agent.actor.policy[2], ACTOR[2])
    load_critic(agent.critic, CRITIC)
    load_critic(agent.critic_target, TARGET)
    return agent


OBS = [[0.5, -1.0], [0.2, 0.3], [-0.7, 0.9], [1.2, 0.1]]
ACT = [0.3, -0.8, 0.95, 0.0]
REW = [1.0, -0.5, 0.25, 2.0]
NEXT = [[0.4, -0.9], [0.1, 0.5], [-0.6, 1.1], [1.0, 0.0]]
TERM = [False, True, False, False]
DISC = [0.9**3, 0.9, 0.9**2, 0.9**3]  # n-step pairs: γ^k per sample


def tensors() -> tuple[torch.Tensor, ...]:
    return (torch.tensor(OBS), torch.tensor(ACT).unsqueeze(1), torch.tensor(REW), torch.tensor(NEXT),
            torch.tensor(TERM), torch.tensor(DISC))  # fmt: skip


def expected_targets(eps: list[float], sigma: float = 0.5, clip: float = 0.3) -> list[float]:
    ys = []
    for b in range(4):
        a_next = ref_smoothed(ref_mu(NEXT[b]), eps[b], sigma, clip)
        v = min(ref_q(TARGET, NEXT[b], a_next))  # the target critics, the online actor
        ys.append(REW[b] + DISC[b] * (0.0 if TERM[b] else 1.0) * v)
    return ys


def expected_critic_loss(eps: list[float]) -> float:
    ys = expected_targets(eps)
    qs = [ref_q(CRITIC, OBS[b], ACT[b]) for b in range(4)]
    return sum(sum((qs[b][i] - ys[b]) ** 2 for b in range(4)) / 4 for i in range(2))  # Σ_i mse_i, no ½


def expected_actor_loss(eps: list[float]) -> float:
    values = []
    for b in range(4):
        a = ref_smoothed(ref_mu(OBS[b]), eps[b], 0.5, 0.3)
        values.append(min(ref_q(CRITIC, OBS[b], a)))
    return -sum(values) / 4


def draws(seed: int) -> list[float]:
    """The normal draws the agent makes after torch.manual_seed(seed): one [B, 1] tensor."""
    torch.manual_seed(seed)
    return torch.randn(4, 1).squeeze(1).tolist()


# ----------------------------------------------------------------------------- (a) losses and target


def test_target_critic_and_actor_losses_equal_a_hand_computation():
    agent = hand_built()
    obs, act, rew, nxt, term, disc = tensors()
    eps = draws(7)
    assert sum(abs(0.5 * e) > 0.3 for e in eps) >= 1  # some smoothing noise is clipped at c
    torch.manual_seed(7)
    y = agent.target(rew, nxt, term, disc)
    assert y.tolist() == pytest.approx(expected_targets(eps), rel=1e-5, abs=1e-6)
    assert y[1].item() == pytest.approx(REW[1])  # terminated: no bootstrap
    torch.manual_seed(7)
    loss_q = agent.critic_loss(obs, act, rew, nxt, term, disc)
    assert loss_q.item() == pytest.approx(expected_critic_loss(eps), rel=1e-5)
    eps_pi = draws(11)
    torch.manual_seed(11)
    loss_pi = agent.actor_loss(obs)
    assert loss_pi.item() == pytest.approx(expected_actor_loss(eps_pi), rel=1e-5)
    # the minimum of the twins, not their mean: the mean would differ on this batch
    mean_loss = -sum(sum(ref_q(CRITIC, OBS[b], ref_smoothed(ref_mu(OBS[b]), eps_pi[b], 0.5, 0.3))) / 2
                     for b in range(4)) / 4  # fmt: skip
    assert abs(mean_loss - loss_pi.item()) > 1e-3
    # update(): the critic's loss is the one above (its draws come first), the actor's gradient reaches
    # only the actor, and the critic is left trainable
    torch.manual_seed(7)
    stats = agent.update(obs, act, rew, nxt, term, disc)
    assert stats["critic"].item() == pytest.approx(expected_critic_loss(eps), rel=1e-5)
    assert all(p.requires_grad for p in agent.critic.parameters())
    assert not any(p.requires_grad for p in agent.critic_target.parameters())


def test_default_discount_is_gamma():
    agent = hand_built()
    _, _, rew, nxt, term, _ = tensors()
    torch.manual_seed(3)
    default = agent.target(rew, nxt, term)
    torch.manual_seed(3)
    same = agent.target(rew, nxt, term, torch.full((4,), 0.9))
    assert torch.equal(default, same)


# ----------------------------------------------------------------------------- (b) the target network


def test_target_critic_moves_by_tau_toward_the_updated_critic_and_the_actor_has_no_target():
    agent = hand_built()
    before = [p.detach().clone() for p in agent.critic_target.parameters()]
    agent.update(*tensors())
    for old, new, online in zip(before, agent.critic_target.parameters(), agent.critic.parameters(),
                                strict=True):  # fmt: skip
        torch.testing.assert_close(new, 0.75 * old + 0.25 * online.detach(), rtol=0, atol=1e-6)
        assert not torch.equal(new, old)
    assert {name.split(".")[0] for name, _ in agent.named_children()} == {"actor", "critic", "critic_target"}


# ----------------------------------------------------------------------------- (c) noise


def test_exploration_noise_is_sigma_scaled_from_the_given_generator_and_clamped_to_the_box():
    torch.manual_seed(0)
    agent = DDPG(obs_dim=3, action_dim=2, hidden_dim=16, stddev=0.2, stddev_clip=0.3)
    obs = torch.randn(4000, 3)
    with torch.no_grad():
        action, mu = agent.actor.sample(obs, generator=torch.Generator().manual_seed(5))
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(action, (mu + 0.2 * eps).clamp(-1 + CLAMP_EPS, 1 - CLAMP_EPS))
    inside = (mu + 0.2 * eps).abs() < 1 - CLAMP_EPS
    assert (action - mu)[inside].std().item() == pytest.approx(0.2, rel=0.05)
    assert ((action - mu).abs() > 0.3).any()  # exploration noise is not clipped (URLB's act)
    # the updates' smoothing noise is clipped at stddev_clip
    with torch.no_grad():
        smoothed, _ = agent.actor.sample(obs, generator=torch.Generator().manual_seed(5), clip=0.3)
    torch.testing.assert_close(
        smoothed, (mu + (0.2 * eps).clamp(-0.3, 0.3)).clamp(-1 + CLAMP_EPS, 1 - CLAMP_EPS)
    )
    assert (smoothed - mu).abs().max().item() <= 0.3 + 1e-6


def test_deterministic_act_has_no_noise_and_actions_are_scaled_to_the_box():
    torch.manual_seed(0)
    low, high = torch.tensor([-2.0, 0.0]), torch.tensor([2.0, 1.0])
    agent = DDPG(obs_dim=3, action_dim=2, action_low=low, action_high=high, hidden_dim=16, stddev=5.0)
    obs = torch.randn(500, 3)
    state = torch.get_rng_state()
    first, second = agent.act(obs, deterministic=True), agent.act(obs, deterministic=True)
    assert torch.equal(first, second) and torch.equal(torch.get_rng_state(), state)  # no draw at all
    mu = agent.actor(obs).detach()
    torch.testing.assert_close(first, mu * torch.tensor([2.0, 0.5]) + torch.tensor([0.0, 0.5]))
    noisy = agent.act(obs)  # σ = 5: most actions are clamped to the box's edges
    assert (noisy >= low).all() and (noisy <= high).all()
    assert ((noisy - high).abs() < 1e-5).any() and ((noisy - low).abs() < 1e-5).any()


def test_the_clamp_passes_the_gradient_straight_through():
    u = torch.tensor([1.5, -2.0, 0.2], requires_grad=True)
    out = clamp_straight_through(u)
    assert out.tolist() == pytest.approx([1 - CLAMP_EPS, -1 + CLAMP_EPS, 0.2])
    out.sum().backward()
    assert u.grad.tolist() == [1.0, 1.0, 1.0]


# ----------------------------------------------------------------------------- (d) save/load, determinism


def _batch() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    obs, nxt = torch.randn(32, 3, generator=g), torch.randn(32, 3, generator=g)
    act = torch.rand(32, 2, generator=g) * 2 - 1
    return obs, act, torch.randn(32, generator=g), nxt, torch.rand(32, generator=g) < 0.1


def _train(agent: DDPG, steps: int, seed: int) -> None:
    torch.manual_seed(seed)
    for _ in range(steps):
        agent.update(*_batch())


def _make(seed: int) -> DDPG:
    torch.manual_seed(seed)
    return DDPG(obs_dim=3, action_dim=2, hidden_dim=16, lr=1e-3)


def test_same_seed_same_parameters_and_a_saved_agent_continues_identically():
    a, b = _make(0), _make(0)
    initial = {k: v.clone() for k, v in a.state_dict().items()}
    _train(a, 5, seed=1)
    _train(b, 5, seed=1)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    assert not torch.equal(a.state_dict()["actor.trunk.0.weight"], initial["actor.trunk.0.weight"])
    # the names a fine-tuning step reuses (URLB's init_from: the actor, the critic's trunk)
    names = ("actor.trunk.0.weight", "actor.trunk.1.weight", "actor.policy.2.bias", "critic.trunk.0.weight",
             "critic.heads.0.0.weight", "critic.heads.1.2.bias", "critic_target.trunk.0.weight")  # fmt: skip
    assert set(names) <= set(a.state_dict())
    # a round trip through a weights-only file, as a checkpoint does, into an agent of another seed
    buffer = io.BytesIO()
    torch.save(
        {"agent": a.state_dict(), "optim": {k: o.state_dict() for k, o in a.optimizers.items()}}, buffer
    )
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    c = _make(123)
    c.load_state_dict(saved["agent"])
    for k, opt in c.optimizers.items():
        opt.load_state_dict(saved["optim"][k])
    _train(a, 3, seed=5)
    _train(c, 3, seed=5)
    for (name, x), y in zip(a.state_dict().items(), c.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_orthogonal_init_with_zero_bias():
    agent = _make(0)
    w = agent.critic.heads[0][0].weight.detach()  # [16, 16]
    torch.testing.assert_close(w @ w.T, torch.eye(16), atol=1e-5, rtol=0)
    assert all(layer.bias.abs().sum() == 0 for layer in agent.modules() if isinstance(layer, torch.nn.Linear))
    assert agent.actor.trunk[1].weight.eq(1).all()  # LayerNorm keeps torch's init


# ----------------------------------------------------------------------------- (e) it learns


def test_ddpg_learns_a_one_step_bandit():
    """Reward −(a − a*)², one-step episodes: the greedy action moves from its initial value to a*."""
    torch.manual_seed(0)
    agent = DDPG(obs_dim=1, action_dim=1, hidden_dim=32, lr=3e-3, tau=0.05)
    obs = torch.zeros(256, 1)
    start = agent.act(torch.zeros(1, 1), deterministic=True).item()
    best = -0.6 if start > 0 else 0.6
    done = torch.ones(256, dtype=torch.bool)
    for _ in range(600):
        action = torch.rand(256, 1) * 2 - 1
        agent.update(obs, action, -((action.squeeze(1) - best) ** 2), obs, done)
    final = agent.act(torch.zeros(1, 1), deterministic=True).item()
    assert abs(start - best) > 0.5 and abs(final - best) < 0.1


# ----------------------------------------------------------------------------- in a run


PENDULUM = [
    "agent.name=ddpg", "env.name=gym:Pendulum-v1", "reward.name=none", "reward.extrinsic_weight=1.0",
    "env.num_envs=2", "agent.hidden_dim=32", "agent.batch_size=32", "agent.tau=0.01", "train.n_step=3",
    "train.rollout_steps=1", "train.grad_steps=1", "train.learning_starts=100", "train.progress=false",
    "train.log_every=100", "eval.num_rollouts=2", "eval.max_steps=20", "eval.figure=false",
]  # fmt: skip


def test_a_run_gets_n_step_returns_and_gamma_k_from_the_learner():
    trainer = Trainer(load_config(None, [*PENDULUM, "total_steps=300"]))
    try:
        trainer.train()
        assert isinstance(trainer.agent, DDPG)
        torch.testing.assert_close(trainer.agent.actor.scale, torch.tensor([2.0]))  # Pendulum's box [−2, 2]
        seen = {}
        update = trainer.agent.update

        def record(obs, action, reward, next_obs, terminated, discount=None):
            seen.update(reward=reward, discount=discount)
            return update(obs, action, reward, next_obs, terminated, discount=discount)

        trainer.agent.update = record  # type: ignore[method-assign]
        buf, gen = trainer.buffer, torch.Generator().set_state(trainer.learner.gen.get_state())
        expected = buf.sample(32, gen, n_step=3, gamma=0.99)
        trainer.learner.update()
        assert (expected.steps == 3).any()
        torch.testing.assert_close(seen["reward"], expected.reward)  # Σ_{i<k} γ^i r_{t+i}
        torch.testing.assert_close(seen["discount"], 0.99 ** expected.steps.float())
    finally:
        trainer.close()


class Killed(Exception):
    """Stands in for a kill right after a checkpoint."""


def test_a_killed_ddpg_run_resumes_bit_identically(tmp_path: Path):
    from rlinfo.run.rundir import create_run_dir

    overrides = [*PENDULUM, "total_steps=400", "train.checkpoint_every=200", f"run_root={tmp_path}"]

    def make(name: str) -> tuple[Trainer, Path]:
        cfg, run_dir = create_run_dir(load_config(None, [*overrides, f"run_name={name}"]))
        return Trainer(cfg, run_dir), run_dir

    full, _ = make("full")
    result_full = full.train()
    crashed, run_dir = make("crashed")
    save = crashed.save

    def save_then_die():
        path = save()
        if crashed.global_step >= 200:
            raise Killed
        return path

    crashed.save = save_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        crashed.train()
    resumed = Trainer.resume(run_dir)
    assert resumed.env_restored
    assert resumed.train() == result_full
    assert crashed.history + resumed.history == full.history
    pairs = zip(full.agent.state_dict().items(), resumed.agent.state_dict().values(), strict=True)
    for (name, x), y in pairs:
        assert torch.equal(x, y), name


# ----------------------------------------------------------------------------- config


def test_config_refuses_sac_keys_and_bad_ddpg_params():
    with pytest.raises(ConfigError, match=r"^agent.alpha_init=0.5 is a SAC key: agent.name=ddpg"):
        load_config("ddpg_walker", ["agent.alpha_init=0.5"])
    with pytest.raises(ConfigError, match="agent.target_entropy_scale=0.5 is a SAC key"):
        load_config("metra_walker", ["agent.name=ddpg"])  # METRA's entropy scale would silently vanish
    from rlinfo.run.build import build_agent

    ones = torch.ones(6)
    for params, message in (({"alpha_init": 0.1}, "unknown config key 'agent.params.alpha_init'"),
                            ({"stddev": -0.1}, "stddev >= 0"), ({"tau": 0.1}, "set by rlinfo")):  # fmt: skip
        cfg = load_config("ddpg_walker").agent
        cfg.params = params
        with pytest.raises(ConfigError, match=message):
            build_agent(cfg, 24, 6, -ones, ones)
    agent = build_agent(load_config("ddpg_walker").agent, 24, 6, -ones, ones)
    assert isinstance(agent, DDPG) and (agent.stddev, agent.stddev_clip, agent.tau) == (0.2, 0.3, 0.01)
    assert agent.critic.trunk[0].in_features == 30 and agent.actor.trunk[0].out_features == 256
