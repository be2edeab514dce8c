"""stable-baselines3 integration: real SB3 SAC and PPO on maze:square with rlinfo reward modules."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv

from rlinfo.envs import make
from rlinfo.integrations import (
    IntrinsicReplayBuffer,
    IntrinsicRewardCallback,
    OnPolicyIntrinsicCallback,
    SkillObservationWrapper,
    split_obs,
)
from rlinfo.rewards import METRA, RND
from rlinfo.types import Batch


def _skill_venv(module, n_envs=2, seed=0):
    return DummyVecEnv([
        (lambda i=i: SkillObservationWrapper(make("maze:square"), module.skill_space, seed=seed + i))
        for i in range(n_envs)
    ])


def _sac(module, venv, **buffer_kwargs):
    kwargs = {"modules": module, "intrinsic_weight": 1.0, "extrinsic_weight": 1.0, **buffer_kwargs}
    return SAC("MlpPolicy", venv, learning_starts=50, batch_size=32, buffer_size=2000, seed=0, device="cpu",
               policy_kwargs={"net_arch": [32, 32]}, replay_buffer_class=IntrinsicReplayBuffer,
               replay_buffer_kwargs=kwargs)


def test_wrapper_samples_skill_per_episode_and_splits():
    metra = METRA(obs_dim=2, action_dim=2, skill_dim=3, hidden_dim=8)
    env = SkillObservationWrapper(make("maze:square"), metra.skill_space, seed=1)
    assert env.observation_space.shape == (5,)
    obs, info = env.reset(seed=3)
    o, z = env.split(obs)
    np.testing.assert_array_equal(z, env.skill)
    np.testing.assert_array_equal(info["skill"], env.skill)
    assert np.isclose(np.linalg.norm(z), 1.0, atol=1e-5)
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(again, obs)  # seeded reset reproduces the skill
    other, _ = env.reset()
    assert not np.array_equal(other[2:], obs[2:])
    for _ in range(25):
        nxt, _, _, truncated, _ = env.step(np.ones(2, np.float32))
        np.testing.assert_array_equal(nxt[2:], other[2:])  # skill fixed within the episode
    assert truncated
    env.set_skill(np.array([0.0, 1.0, 0.0]))
    fixed, _ = env.reset()
    np.testing.assert_array_equal(fixed[2:], [0.0, 1.0, 0.0])
    venv = _skill_venv(metra)
    vobs = venv.reset()
    skills = np.stack(venv.get_attr("skill"))
    np.testing.assert_array_equal(split_obs(vobs, 3)[1], skills)
    venv.env_method("set_skill", np.array([1.0, 0.0, 0.0]), indices=[1])
    assert np.array_equal(venv.reset()[1, 2:], [1.0, 0.0, 0.0])


def test_sac_rewards_relabelled_from_current_module_at_sample_time():
    torch.manual_seed(0)
    metra = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=16)
    model = _sac(metra, _skill_venv(metra), extrinsic_weight=0.5, intrinsic_weight=2.0)
    model.learn(100)
    buf = model.replay_buffer
    assert isinstance(buf, IntrinsicReplayBuffer) and buf.size() > 0
    buf.rewards[: buf.pos] = np.random.default_rng(0).normal(size=buf.rewards[: buf.pos].shape)

    def sample():
        np.random.seed(123)
        s = buf.sample(64)
        return s, {k: v.clone() for k, v in buf.last_components.items()}

    s1, c1 = sample()
    obs, z = split_obs(s1.observations, 2)
    nxt, _ = split_obs(s1.next_observations, 2)
    by_hand = metra.reward(Batch(obs=obs, action=s1.actions, next_obs=nxt,
                                 terminated=s1.dones.reshape(-1).bool(), skill=z))
    torch.testing.assert_close(s1.rewards.reshape(-1), 0.5 * c1["extrinsic"] + 2.0 * by_hand)
    with torch.no_grad():
        for p in metra.phi_net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    s2, c2 = sample()
    torch.testing.assert_close(s2.observations, s1.observations)
    torch.testing.assert_close(c2["extrinsic"], c1["extrinsic"])
    assert not torch.allclose(s2.rewards, s1.rewards)
    assert torch.all(s1.dones == 0)  # maze episodes only truncate: timeouts are not terminal


def test_intrinsic_reward_callback_trains_module_from_buffer():
    torch.manual_seed(0)
    metra = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=16)
    model = _sac(metra, _skill_venv(metra))
    before = [p.clone() for p in metra.phi_net.parameters()]
    cb = IntrinsicRewardCallback(update_every=2, batch_size=16, gradient_steps=2, seed=0)
    model.learn(40, callback=cb)
    assert cb.n_updates == 2 * 20 // 2
    assert any(not torch.equal(p, q) for p, q in zip(metra.phi_net.parameters(), before, strict=True))
    assert cb.modules == [metra]


class _Snapshot(BaseCallback):
    """Keeps SB3's rollout rewards and advantages as they are before the intrinsic callback runs."""

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rewards = self.model.rollout_buffer.rewards.copy()
        self.advantages = self.model.rollout_buffer.advantages.copy()


def _gae(rewards, values, episode_starts, last_values, dones, gamma, lam):
    n = len(rewards)
    adv = np.zeros_like(rewards)
    last = 0.0
    for t in reversed(range(n)):
        if t == n - 1:
            nonterminal, next_v = 1.0 - dones.astype(np.float32), last_values
        else:
            nonterminal, next_v = 1.0 - episode_starts[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_v * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv


class _RolloutCapture(BaseCallback):
    """The rollout buffer after the callbacks before it ran, the last dones and V(s_last) of this rollout's
    policy (PPO's train() changes the policy afterwards)."""

    FIELDS = ("values", "episode_starts", "advantages", "returns", "rewards", "observations", "actions")

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, np.ndarray] = {}

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        rb = self.model.rollout_buffer
        self.data.update({k: getattr(rb, k).copy() for k in self.FIELDS})
        self.data["dones"] = np.asarray(self.locals["dones"]).copy()
        with torch.no_grad():
            new_obs = torch.as_tensor(self.locals["new_obs"])
            self.data["last_values"] = self.model.policy.predict_values(new_obs).numpy().reshape(-1)


def test_ppo_advantages_equal_manual_gae_over_extrinsic_plus_intrinsic():
    torch.manual_seed(0)
    rnd = RND(obs_dim=2, action_dim=2, hidden_dim=16, rep_dim=8)
    rnd.err_rms.var.fill_(1e-4)  # make the bonus large compared with the value bootstrap
    rnd.err_rms.count.fill_(1.0)  # (statistics that count: an empty one would use the batch's own)
    venv = DummyVecEnv([lambda: make("maze:square") for _ in range(2)])
    model = PPO("MlpPolicy", venv, n_steps=40, batch_size=40, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16]})
    snap = _Snapshot()
    cb = OnPolicyIntrinsicCallback(rnd, intrinsic_weight=0.7, extrinsic_weight=1.0, n_epochs=0)
    capture = _RolloutCapture()
    model.learn(80, callback=CallbackList([snap, cb, capture]))
    captured = capture.data
    # the recorded next observations: new_obs, or the terminal observation at episode ends (step 25)
    nxt = cb.last_next_obs
    np.testing.assert_array_equal(nxt[:-1][~captured["episode_starts"][1:].astype(bool)],
                                  captured["observations"][1:][~captured["episode_starts"][1:].astype(bool)])
    ends = np.flatnonzero(captured["episode_starts"][1:, 0])  # step 24: the episode truncated after 25 steps
    assert list(ends) == [24]
    assert not np.allclose(nxt[24], captured["observations"][25])  # terminal observation, not the reset one
    assert np.all(np.abs(nxt[24] - captured["observations"][24]) <= 0.5 + 1e-6)  # one move away from s_24
    batch = Batch(obs=torch.as_tensor(captured["observations"].reshape(-1, 2)),
                  action=torch.as_tensor(captured["actions"].reshape(-1, 2)),
                  next_obs=torch.as_tensor(nxt.reshape(-1, 2)), terminated=torch.zeros(80, dtype=torch.bool))
    r_int = rnd.reward(batch).numpy().reshape(40, 2)
    combined = snap.rewards + 0.7 * r_int
    np.testing.assert_allclose(captured["rewards"], combined, rtol=1e-5, atol=1e-5)
    expected = _gae(combined, captured["values"], captured["episode_starts"], captured["last_values"],
                    captured["dones"], model.gamma, model.gae_lambda)
    np.testing.assert_allclose(captured["advantages"], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(captured["returns"], expected + captured["values"], rtol=1e-4, atol=1e-4)
    assert not np.allclose(snap.advantages, captured["advantages"], atol=1e-3)  # SB3's own GAE missed r_int


def test_ppo_callback_trains_module_and_works_with_skills():
    torch.manual_seed(0)
    metra = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=16)
    before = [p.clone() for p in metra.phi_net.parameters()]
    model = PPO("MlpPolicy", _skill_venv(metra), n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16]})
    cb = OnPolicyIntrinsicCallback(metra, extrinsic_weight=0.0, n_epochs=2, batch_size=16, seed=0)
    model.learn(64, callback=cb)
    assert cb.last_intrinsic is not None and cb.last_intrinsic.shape == (32, 2)
    assert any(not torch.equal(p, q) for p, q in zip(metra.phi_net.parameters(), before, strict=True))


def test_sac_save_load_round_trip_with_wrapper_and_buffer(tmp_path):
    torch.manual_seed(0)
    metra = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=16)
    model = _sac(metra, _skill_venv(metra))
    model.learn(120, callback=IntrinsicRewardCallback(batch_size=16))
    obs = _skill_venv(metra, seed=7).reset()
    actions, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "sac")
    model.save_replay_buffer(tmp_path / "buffer")

    # reload with the live module passed back in (the alternative: the module copy saved in the zip)
    loaded = SAC.load(tmp_path / "sac", env=_skill_venv(metra), device="cpu",
                      replay_buffer_kwargs={"modules": metra, "extrinsic_weight": 1.0})
    again, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_allclose(again, actions, rtol=1e-6, atol=1e-6)
    assert isinstance(loaded.replay_buffer, IntrinsicReplayBuffer) and loaded.replay_buffer.modules == [metra]
    loaded.load_replay_buffer(tmp_path / "buffer")
    buf = loaded.replay_buffer
    assert isinstance(buf, IntrinsicReplayBuffer) and buf.size() == model.replay_buffer.size()
    assert buf.skill_dim == 2
    np.testing.assert_array_equal(buf.observations, model.replay_buffer.observations)
    np.random.seed(0)
    r_loaded = buf.sample(16).rewards
    np.random.seed(0)
    r_orig = model.replay_buffer.sample(16).rewards
    torch.testing.assert_close(r_loaded, r_orig)

    plain = SAC.load(tmp_path / "sac", env=_skill_venv(metra), device="cpu")  # module copy from the zip
    mod = plain.replay_buffer.modules[0]
    assert mod is not metra and isinstance(mod, METRA)
    for p, q in zip(mod.parameters(), metra.parameters(), strict=True):
        assert torch.equal(p, q)
    plain.learn(20, callback=IntrinsicRewardCallback(batch_size=8), reset_num_timesteps=False)


@pytest.mark.parametrize("bad", [{"intrinsic_weight": [1.0, 2.0]}])
def test_buffer_rejects_mismatched_weights(bad):
    metra = METRA(obs_dim=2, action_dim=2, hidden_dim=8)
    with pytest.raises(ValueError, match="weights"):
        _sac(metra, _skill_venv(metra), **bad)


class _Edge(gym.Env):
    """A point from the origin moving 0.5·a per step: terminates outside the unit disc, truncates after
    4 steps inside it (DummyVecEnv then sets info["TimeLimit.truncated"]): both episode ends occur."""

    observation_space = gym.spaces.Box(-5.0, 5.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = np.zeros(2, np.float32), 0
        return self.pos.copy(), {}

    def step(self, action):
        self.pos = self.pos + 0.5 * np.clip(action, -1, 1).astype(np.float32)
        self.t += 1
        terminated = bool(np.linalg.norm(self.pos) > 1.0)
        return self.pos.copy(), 1.0, terminated, not terminated and self.t >= 4, {}


def test_replay_buffer_terminal_observations_and_timeouts_on_a_terminating_env():
    """terminated = dones · (1 − timeouts); next_obs of an ended episode is its terminal observation."""
    torch.manual_seed(0)
    rnd = RND(obs_dim=2, action_dim=2, hidden_dim=8, rep_dim=4)
    model = SAC("MlpPolicy", DummyVecEnv([_Edge, _Edge]), learning_starts=1000, buffer_size=500, seed=0,
                device="cpu", replay_buffer_class=IntrinsicReplayBuffer,
                replay_buffer_kwargs={"modules": rnd, "intrinsic_weight": 2.0,
                                      "extrinsic_weight": 0.0})  # fmt: skip
    model.learn(150)
    buf = model.replay_buffer
    outside = np.linalg.norm(buf.next_observations[: buf.pos], axis=-1) > 1.0  # [rows, envs]
    assert outside.any() and buf.timeouts[: buf.pos].any()  # both episode ends were stored
    np.testing.assert_array_equal(buf.dones[: buf.pos], outside | (buf.timeouts[: buf.pos] > 0))
    batch = buf.sample_batch(400, np.random.default_rng(0))
    torch.testing.assert_close(batch.terminated.float(), (batch.next_obs.norm(dim=-1) > 1.0).float())
    np.random.seed(1)
    s = buf.sample(256)
    terminal = (s.next_observations.norm(dim=-1) > 1.0).float()
    assert terminal.sum() > 0 and torch.equal(s.dones.reshape(-1), terminal)
    by_hand = rnd.reward(Batch(obs=s.observations, action=s.actions, next_obs=s.next_observations,
                               terminated=terminal.bool()))  # fmt: skip
    torch.testing.assert_close(s.rewards.reshape(-1), 2.0 * by_hand)


def test_ppo_callback_terminal_observations_and_gae_on_a_terminating_env():
    torch.manual_seed(0)
    rnd = RND(obs_dim=2, action_dim=2, hidden_dim=8, rep_dim=4)
    model = PPO("MlpPolicy", DummyVecEnv([_Edge, _Edge]), n_steps=32, batch_size=32, n_epochs=1, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16]})  # fmt: skip
    snap = _Snapshot()
    cb = OnPolicyIntrinsicCallback(rnd, intrinsic_weight=0.5, extrinsic_weight=1.0, n_epochs=0)
    capture = _RolloutCapture()
    model.learn(64, callback=CallbackList([snap, cb, capture]))
    captured = capture.data
    nxt, terminated = cb.last_next_obs, np.stack(cb._terminated)
    ends = captured["episode_starts"][1:] > 0  # step t ended an episode
    outside = np.linalg.norm(nxt, axis=-1) > 1.0
    assert outside.any() and (ends & ~outside[:-1]).any()  # terminations and truncations
    # next observations at episode ends are the terminal ones (the reset one is the origin), and
    # only leaving the disc is terminal: a timeout is not
    np.testing.assert_array_equal(terminated, outside)
    assert not np.allclose(nxt[:-1][ends], 0.0)
    batch = Batch(obs=torch.as_tensor(captured["observations"].reshape(-1, 2)),
                  action=torch.as_tensor(captured["actions"].reshape(-1, 2)),
                  next_obs=torch.as_tensor(nxt.reshape(-1, 2)),
                  terminated=torch.as_tensor(terminated.reshape(-1)))  # fmt: skip
    combined = snap.rewards + 0.5 * rnd.reward(batch).numpy().reshape(32, 2)
    np.testing.assert_allclose(captured["rewards"], combined, rtol=1e-5, atol=1e-5)
    expected = _gae(combined, captured["values"], captured["episode_starts"], captured["last_values"],
                    captured["dones"], model.gamma, model.gae_lambda)  # fmt: skip
    np.testing.assert_allclose(captured["advantages"], expected, rtol=1e-4, atol=1e-4)
