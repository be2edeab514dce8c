"""URLB's n-step reward pairs (train.n_step): buffer links, sampling, discount, trainer, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import rlinfo.buffer_chunks as buffer_chunks
from rlinfo.agents.multi_critic import MultiCriticSAC
from rlinfo.agents.sac import SAC
from rlinfo.buffers import ReplayBuffer
from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.errors import ConfigError
from rlinfo.run.loop import Trainer
from rlinfo.run.rundir import create_run_dir
from rlinfo.types import Batch

# two envs, six vector steps; obs = 100 * env + position, next_obs = obs + 1.
# env 0: 0, 1, 2 (terminated), reset step (dropped), 10, 11
# env 1: 100, 101 (truncated), reset step (dropped), 110, 111, 112
STEPS = [  # (obs, keep, terminated, truncated) per env
    ([0, 100], [True, True], [False, False], [False, False]),
    ([1, 101], [True, True], [False, False], [False, True]),
    ([2, 0], [True, False], [True, False], [False, False]),
    ([0, 110], [False, True], [False, False], [False, False]),
    ([10, 111], [True, True], [False, False], [False, False]),
    ([11, 112], [True, True], [False, False], [False, False]),
]
# n = 3: obs -> (next_obs of the last transition reached, k, terminated)
EXPECTED = {
    0: (3, 3, True),
    1: (3, 2, True),  # cut by termination
    2: (3, 1, True),
    100: (102, 2, False),  # cut by truncation: bootstraps
    101: (102, 1, False),
    110: (113, 3, False),
    111: (113, 2, False),  # the chain ends: env 1's next row is not stored yet
    112: (113, 1, False),
    10: (12, 2, False),
    11: (12, 1, False),
}


def hand_built(capacity: int = 32) -> ReplayBuffer:
    buf = ReplayBuffer(capacity, obs_dim=1, action_dim=1, skill_dim=1)
    for obs, keep, term, trunc in STEPS:
        o = torch.tensor(obs, dtype=torch.float32).unsqueeze(1)
        batch = Batch(o, torch.zeros(2, 1), o + 1, torch.tensor(term), torch.ones(2, 1), torch.zeros(2))
        done = torch.tensor(term) | torch.tensor(trunc)
        buf.add(batch, keep=torch.tensor(keep), env_ids=torch.arange(2), done=done)
    return buf


def test_n_step_pairs_stop_at_termination_truncation_and_chain_end():
    buf = hand_built()
    assert len(buf) == 10
    batch = buf.sample(400, torch.Generator().manual_seed(0), n_step=3)
    seen = set()
    rows = zip(batch.obs[:, 0], batch.next_obs[:, 0], batch.steps, batch.terminated, strict=True)
    for o, no, k, term in rows:
        assert (no.item(), k.item(), term.item()) == EXPECTED[int(o)], int(o)
        seen.add(int(o))
    assert seen == set(EXPECTED)
    two = buf.sample(400, torch.Generator().manual_seed(0), n_step=2)
    row0 = two.obs[:, 0] == 0
    assert (two.next_obs[row0, 0] == 2).all() and (two.steps[row0] == 2).all()
    assert not two.terminated[row0].any()


def test_n_step_reward_with_gamma_is_the_discounted_sum_over_the_pair():
    """URLB's n-step return r_t + γ r_{t+1} + … + γ^{k−1} r_{t+k−1}, cut where the pair is cut."""
    buf = hand_built()
    buf.reward[: buf.size] = buf.obs[: buf.size, 0] + 0.5  # r_t = s_t + 0.5; next rows hold s_t + 1, …
    batch = buf.sample(400, torch.Generator().manual_seed(0), n_step=3, gamma=0.9)
    plain = buf.sample(400, torch.Generator().manual_seed(0), n_step=3)
    for o, k, r, r1 in zip(batch.obs[:, 0], batch.steps, batch.reward, plain.reward, strict=True):
        assert r.item() == pytest.approx(sum(0.9**i * (o.item() + i + 0.5) for i in range(int(k))))
        assert r1.item() == o.item() + 0.5  # without gamma: the reward of step t
    one = buf.sample(64, torch.Generator().manual_seed(1), gamma=0.9)  # n = 1: γ changes nothing
    assert torch.equal(one.reward, buf.sample(64, torch.Generator().manual_seed(1)).reward)


def test_n_step_one_draws_exactly_what_the_one_step_buffer_did():
    buf = hand_built()
    gen, ref_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    batch = buf.sample(64, gen)
    idx = torch.randint(buf.size, (64,), generator=ref_gen)  # the sampling code before n-step pairs
    assert batch.steps is None
    for name in ("obs", "action", "next_obs", "terminated", "skill", "reward"):
        assert torch.equal(getattr(batch, name), getattr(buf, name)[idx]), name
    assert torch.equal(gen.get_state(), ref_gen.get_state())
    # n > 1 draws the same indices (same generator use): only next_obs / terminated / steps change
    again = buf.sample(64, torch.Generator().manual_seed(3), n_step=3)
    assert torch.equal(again.obs, batch.obs) and torch.equal(again.action, batch.action)


def test_overwritten_rows_are_never_linked():
    buf = ReplayBuffer(4, obs_dim=1, action_dim=1)
    for t in range(6):  # one env, no episode end: the circular buffer wraps
        o = torch.tensor([[float(t)]])
        buf.add(Batch(o, torch.zeros(1, 1), o + 1, torch.tensor([False])), env_ids=torch.tensor([0]))
    assert buf.obs[:, 0].tolist() == [4.0, 5.0, 2.0, 3.0]
    assert buf.next_index.tolist() == [1, -1, 3, 0]  # 2 -> 3 -> 4 -> 5
    buf = ReplayBuffer(3, obs_dim=1, action_dim=1)
    for _ in range(2):  # env 0's row 0 is overwritten by env 1's second row in the same add
        o = torch.zeros(2, 1)
        buf.add(Batch(o, torch.zeros(2, 1), o, torch.zeros(2, dtype=torch.bool)), env_ids=torch.arange(2))
    assert buf.next_index.tolist() == [-1, 0, -1] and buf.last_index.tolist() == [2, 0]


def test_state_dict_keeps_links_and_old_states_load_unlinked():
    buf = hand_built()
    other = ReplayBuffer(32, obs_dim=1, action_dim=1, skill_dim=1)
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.next_index, buf.next_index) and torch.equal(other.last_index, buf.last_index)
    state = buf.state_dict()  # as saved before n-step links: no next_index rows, no last_index
    old = {
        "rows": {k: v for k, v in state["rows"].items() if k != "next_index"},
        "counters": {k: v for k, v in state["counters"].items() if k != "last_index"},
    }
    other.load_state_dict(old)
    assert (other.next_index == -1).all() and len(other.last_index) == 0
    assert (other.sample(50, n_step=3).steps == 1).all()


def _fake_critics(agent: SAC, target_q: float) -> None:
    def fake_q(critic, o, a):
        out = torch.full((2, len(o)), target_q) if critic is agent.critic_target else torch.zeros(2, len(o))
        return out.requires_grad_(critic is not agent.critic_target)

    agent.q_values = fake_q  # type: ignore[method-assign]
    agent.actor.sample = lambda o: (torch.zeros(len(o), 1), torch.zeros(len(o)))  # type: ignore


def test_sac_discount_replaces_gamma_per_sample():
    torch.manual_seed(0)
    agent = SAC(obs_dim=2, action_dim=1, hidden_dim=8, gamma=0.9)
    obs, action, next_obs = torch.randn(5, 2), torch.randn(5, 1).clamp(-1, 1), torch.randn(5, 2)
    reward, terminated = torch.randn(5), torch.tensor([False, True, False, False, True])
    torch.manual_seed(1)
    default = agent.critic_loss(obs, action, reward, next_obs, terminated)
    torch.manual_seed(1)
    same = agent.critic_loss(obs, action, reward, next_obs, terminated, discount=torch.full((5,), 0.9))
    assert torch.equal(default, same)
    _fake_critics(agent, 10.0)
    discount = torch.tensor([0.9**3, 0.9**2])
    not_done = torch.zeros(2, dtype=torch.bool)
    loss = agent.critic_loss(obs[:2], action[:2], torch.ones(2), next_obs[:2], not_done, discount)
    targets = [1 + 0.9**3 * 10, 1 + 0.9**2 * 10]  # y = r + γ^k Q̄, Q = 0
    assert math.isclose(loss.item(), 0.5 * 2 * sum(y**2 for y in targets) / 2, rel_tol=1e-6)


def test_multi_critic_discount_default_is_gamma():
    torch.manual_seed(0)
    agent = MultiCriticSAC(obs_dim=2, action_dim=1, channel_weights=(1.0, 0.5), hidden_dim=8, gamma=0.8)
    obs, action, next_obs = torch.randn(6, 2), torch.randn(6, 1).clamp(-1, 1), torch.randn(6, 2)
    rewards, terminated = torch.randn(6, 2), torch.tensor([False, True] * 3)
    torch.manual_seed(1)
    default = agent.critic_loss(obs, action, rewards, next_obs, terminated)
    torch.manual_seed(1)
    same = agent.critic_loss(obs, action, rewards, next_obs, terminated, torch.full((6,), 0.8))
    torch.manual_seed(1)
    other = agent.critic_loss(obs, action, rewards, next_obs, terminated, torch.full((6,), 0.8**3))
    assert torch.equal(default, same) and not torch.equal(default, other)


def test_config_rejects_bad_n_step():
    with pytest.raises(ConfigError, match="train.n_step must be positive, got 0"):
        load_config("apt_maze", ["train.n_step=0"])
    with pytest.raises(ConfigError, match="needs an off-policy agent"):
        load_config("ppo_cartpole", ["train.n_step=3"])
    assert load_config("apt_maze").train.n_step == 1
    # the env's reward is summed over the pair (URLB's n-step return), so it may be mixed in
    assert load_config("apt_maze", ["train.n_step=3", "reward.extrinsic_weight=1.0"]).train.n_step == 3


@pytest.mark.parametrize(
    ("preset", "overrides", "culprit"),
    [
        ("slim_tabletop", [], r"reward.channels.reach \(tabletop_reach\)"),
        ("sum_tabletop", ["reward.channels.reach.weight=0.0"], r"reward.channels.reach \(tabletop_reach\)"),
        ("sum_tabletop", ["reward.channels.reach.name=tabletop_metra"],
         r"reward.channels.safety \(tabletop_safety\)"),
        ("apt_maze", ["reward.name=extrinsic"], r"reward.name \(extrinsic\)"),
        ("apt_maze", ["reward.name=sum", "reward.channels={explore: {name: apt}, task: {name: extrinsic}}"],
         r"reward.channels.task \(extrinsic\)"),
    ],
)  # fmt: skip
def test_config_rejects_n_step_with_a_per_step_reward_channel(preset, overrides, culprit):
    """A pair (s_t, s_t+k) carries one reward: per-step rewards r_t+1 .. r_t+k-1 would be dropped."""
    with pytest.raises(ConfigError, match=f"^train.n_step > 1 .*{culprit} is a per-step reward") as err:
        load_config(preset, [*overrides, "train.n_step=3"])
    assert "\n" not in str(err.value)
    load_config(preset, overrides)  # the same reward with one-step pairs is fine


TINY = [
    "agent.hidden_dim=32",
    "agent.batch_size=64",
    "env.num_envs=4",
    "env.kwargs.max_episode_steps=20",  # many episode ends: chains are cut
    "train.progress=false",
    "train.learning_starts=200",
    "train.grad_steps=2",
    "train.log_every=200",
    "eval.num_rollouts=4",
    "eval.figure=false",
    "train.n_step=3",
]


def test_trainer_feeds_the_reward_module_n_step_pairs_and_bootstraps_with_gamma_k():
    trainer = Trainer(load_config("apt_maze", [*TINY, "total_steps=400"]))
    trainer.train()
    buf = trainer.buffer
    nxt = buf.next_index[: buf.size]
    linked = nxt >= 0
    # every link joins consecutive transitions of one episode: s_{t+1} of row t is the obs of its next row
    assert torch.equal(buf.next_obs[: buf.size][linked], buf.obs[nxt[linked]])
    assert 400 // 20 <= int((~linked).sum()) <= 400 // 20 + 4  # unlinked: episode ends, the open rows
    seen: dict[str, object] = {}
    reward_fn, update_fn = trainer.reward_module.reward, trainer.agent.update

    def reward(batch: Batch) -> torch.Tensor:
        seen["batch"] = batch
        return reward_fn(batch)

    def update(*args, discount=None):
        seen["discount"] = discount
        return update_fn(*args, discount=discount)

    trainer.reward_module.reward, trainer.agent.update = reward, update  # type: ignore[method-assign]
    state, size = trainer.learner.gen.get_state(), trainer.cfg.agent.batch_size
    expected = buf.sample(size, torch.Generator().set_state(state), n_step=3)
    idx = torch.randint(buf.size, (size,), generator=torch.Generator().set_state(state))
    trainer.learner.update()
    batch = seen["batch"]
    assert isinstance(batch, Batch) and torch.equal(batch.next_obs, expected.next_obs)
    assert (expected.steps > 1).any() and (expected.steps == 1).any() and expected.steps.max() == 3
    moved = (buf.next_obs[idx] != batch.next_obs).any(1)  # s_{t+k} is not the one-step s_{t+1}
    assert torch.equal(moved, expected.steps > 1)
    assert torch.allclose(seen["discount"], 0.99 ** expected.steps.float())


class Crash(Exception):
    pass


def test_resume_keeps_n_step_links(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer_chunks, "CHUNK_ROWS", 2)  # rows linked after a save lie in clean chunks

    def make(name: str) -> tuple[Trainer, Path]:
        cfg = load_config(
            "apt_maze",
            [*TINY, "total_steps=700", "train.checkpoint_every=200", "train.buffer_size=1000",
             f"run_root={tmp_path}", f"run_name={name}"],
        )  # fmt: skip
        cfg, run_dir = create_run_dir(cfg)
        return Trainer(cfg, run_dir), run_dir

    full, _ = make("a")
    full.train()
    crashed, run_dir = make("b")
    save = crashed.save

    def crash_after_save():
        path = save()
        if crashed.global_step >= 400:  # the second save must rewrite the rows linked since the first
            raise Crash
        return path

    crashed.save = crash_after_save  # type: ignore[method-assign]
    with pytest.raises(Crash):
        crashed.train()
    manifest = json.loads(load_checkpoint(latest_checkpoint(run_dir))["buffer"])
    assert len(manifest["last_index"]) == 4
    resumed = Trainer.resume(run_dir)
    resumed.train()
    assert torch.equal(resumed.buffer.next_index, full.buffer.next_index)
    assert torch.equal(resumed.buffer.last_index, full.buffer.last_index)
    for k, v in full.agent.state_dict().items():
        assert torch.equal(v, resumed.agent.state_dict()[k]), k
