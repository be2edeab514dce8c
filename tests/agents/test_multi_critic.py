"""SLIM's multi-critic SAC: batched critics, advantage normalisation, reduction to SAC, channel weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlinfo.agents.multi_critic import MultiCriticSAC
from rlinfo.agents.sac import SAC

OBS, ACT = 5, 2


def batch(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, OBS, generator=g), torch.rand(n, ACT, generator=g) * 2 - 1,
            torch.randn(n, OBS, generator=g), torch.rand(n, generator=g) < 0.2)  # fmt: skip


def slim(weights=(1.0,), **kw):
    torch.manual_seed(0)
    return MultiCriticSAC(OBS, ACT, channel_weights=weights, hidden_dim=16, **kw)


def copy_nets(dst, src, members=(0, 1)):
    """Actor of ``src`` and critic (and target) members ``members`` of ``src`` into ``dst``'s first two."""
    dst.actor.load_state_dict(src.actor.state_dict())
    for net in ("critic", "critic_target"):
        source = getattr(src, net).state_dict()
        for name, p in getattr(dst, net).state_dict().items():
            p[:2].copy_(source[name][list(members)])
    dst.log_alpha.data.copy_(src.log_alpha.data)


def test_batched_ensemble_equals_separate_critics():
    agent = slim((1.0, 2.0, 3.0))
    obs, act, _, _ = batch()
    q = agent.q_values(agent.critic, obs, act)  # [C, 2, B]
    layers = [m for m in agent.critic if hasattr(m, "weight")]
    for c in range(3):
        for i in range(2):
            h = torch.cat([obs, act], -1)
            for k, lin in enumerate(layers):
                h = h @ lin.weight[2 * c + i] + lin.bias[2 * c + i, 0]
                h = torch.relu(h) if k < len(layers) - 1 else h
            torch.testing.assert_close(q[c, i], h.squeeze(-1))


def test_one_channel_reduces_to_sac():
    obs, act, next_obs, term = batch()
    reward = torch.randn(len(obs))
    torch.manual_seed(0)
    sac = SAC(OBS, ACT, hidden_dim=16)
    agent = slim(normalize_advantage=False, baseline="none")
    copy_nets(agent, sac)
    for seed in (1, 2):  # the same noise for both agents' samples
        torch.manual_seed(seed)
        ls, _ = sac.actor_loss(obs)
        torch.manual_seed(seed)
        lm, _ = agent.actor_loss(obs)
        torch.testing.assert_close(lm, ls)
    torch.manual_seed(3)
    lq_sac = sac.critic_loss(obs, act, reward, next_obs, term)
    torch.manual_seed(3)
    torch.testing.assert_close(agent.critic_loss(obs, act, reward[:, None], next_obs, term), lq_sac)
    # with a second-sample baseline: the loss shifts by a constant, the actor's gradient is the same
    based = slim(normalize_advantage=False, baseline="sample")
    copy_nets(based, sac)
    grads = []
    for a in (sac, based):
        torch.manual_seed(4)
        a.actor.zero_grad()
        a.actor_loss(obs)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in a.actor.parameters()]))
    torch.testing.assert_close(grads[0], grads[1])


def test_advantage_normalisation_matches_hand_computation():
    agent = slim((1.0, 1.0), adv_momentum=0.25)
    obs = batch()[0]
    expected_scale = None
    for step in range(3):
        action = torch.rand(len(obs), ACT) * 2 - 1
        torch.manual_seed(10 + step)
        adv_hat = agent.advantages(obs, action)
        torch.manual_seed(10 + step)  # replay the baseline sample
        base, _ = agent.actor.sample(obs)
        q = agent.q_values(agent.critic, obs, action).min(1).values.detach().numpy()
        qb = agent.q_values(agent.critic, obs, base).min(1).values.detach().numpy()
        adv = q - qb
        batch_scale = np.abs(adv).mean(-1)
        expected_scale = batch_scale if step == 0 else 0.75 * expected_scale + 0.25 * batch_scale
        np.testing.assert_allclose(agent.adv_scale.numpy(), expected_scale, rtol=1e-5)
        np.testing.assert_allclose(
            adv_hat.detach().numpy(), adv / expected_scale[:, None], rtol=1e-4, atol=1e-6
        )
    assert "adv_scale" in agent.state_dict()


def actor_grad(agent, obs, seed=5):
    agent.actor.zero_grad()
    torch.manual_seed(seed)
    agent.actor_loss(obs)[0].backward()
    return torch.cat([p.grad.flatten() for p in agent.actor.parameters()])


def test_channel_weights_shape_the_actor_gradient():
    obs = batch()[0]
    two = slim((1.0, 0.0), alpha_init=1e-12)
    one = slim((1.0,), alpha_init=1e-12)
    copy_nets(one, two, members=(0, 1))
    torch.testing.assert_close(actor_grad(two, obs), actor_grad(one, obs))  # w=0: channel 1 has no say
    doubled = slim((2.0, 0.0), alpha_init=1e-12)
    doubled.load_state_dict(two.state_dict())
    doubled.weights.copy_(torch.tensor([2.0, 0.0]))
    doubled.adv_count.zero_()
    two.adv_count.zero_()
    torch.testing.assert_close(actor_grad(doubled, obs), 2 * actor_grad(two, obs), rtol=1e-4, atol=1e-7)
    # normalised advantages are scale-invariant: a critic whose outputs are 10x larger gives the same Â
    big = slim((0.0, 1.0), alpha_init=1e-12)
    big.load_state_dict(two.state_dict())
    big.weights.copy_(torch.tensor([0.0, 1.0]))
    big.adv_count.zero_()
    two.weights.copy_(torch.tensor([0.0, 1.0]))
    two.adv_count.zero_()
    last = big.critic[-1]
    with torch.no_grad():
        last.weight[2:] *= 10
        last.bias[2:] *= 10
    torch.testing.assert_close(actor_grad(big, obs), actor_grad(two, obs), rtol=1e-4, atol=1e-7)


def test_each_critic_learns_its_own_channel():
    agent = slim((1.0, -0.5), gamma=0.0, soft_channel=-1, lr=3e-3)
    obs, act, next_obs, term = batch(64)
    rewards = torch.stack([obs[:, 0], -2.0 * obs[:, 1]], -1)  # two different functions of s
    for _ in range(300):
        agent.update(obs, act, rewards, next_obs, term)
    q = agent.q_values(agent.critic, obs, act).detach()
    for c in range(2):
        err = (q[c] - rewards[:, c]).pow(2).mean() / rewards[:, c].var()
        assert err < 0.05, (c, err)


def test_errors():
    with pytest.raises(ValueError, match="baseline"):
        slim(baseline="mean")
    with pytest.raises(ValueError, match="soft_channel"):
        slim((1.0, 1.0), soft_channel=2)
    obs, act, next_obs, term = batch()
    with pytest.raises(ValueError, match=r"rewards must be \[B, 2\]"):
        slim((1.0, 1.0)).update(obs, act, torch.zeros(len(obs)), next_obs, term)


def test_slim_run_checkpoints_and_evaluates(tmp_path):
    from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer
    from rlinfo.run.reevaluate import evaluate_run
    from rlinfo.run.rundir import create_run_dir

    overrides = ["total_steps=600", "train.learning_starts=200", "train.rollout_steps=50"]
    overrides += ["train.grad_steps=5", "agent.hidden_dim=32", "reward.channels.skill.params.hidden_dim=32"]
    overrides += ["eval.num_rollouts=2", "eval.figure=false", "train.progress=false", "env.num_envs=2"]
    cfg, run_dir = create_run_dir(load_config("slim_tabletop", [*overrides, f"run_root={tmp_path}"]))
    trainer = Trainer(cfg, run_dir)
    result = trainer.train()
    assert isinstance(trainer.agent, MultiCriticSAC) and trainer.agent.num_channels == 3
    torch.testing.assert_close(trainer.agent.weights, torch.tensor([1.0, 0.5, -0.5]))
    assert trainer.agent.adv_count > 0 and not torch.equal(trainer.agent.adv_scale, torch.ones(3))
    state = load_checkpoint(latest_checkpoint(run_dir))
    torch.testing.assert_close(state["agent"]["adv_scale"], trainer.agent.adv_scale)
    assert set(state["agent_optim"]) == {"actor", "critic", "alpha"}
    again = evaluate_run(run_dir, figure=False)  # agent and channels rebuilt from the run dir alone
    assert again["coverage"] == result["coverage"] and again["steps"] == result["steps"]
