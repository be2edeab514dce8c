"""PPO: GAE and the clipped loss by hand, checkpoint round trip, seeding, and CartPole learning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlinfo.agents.ppo import PPO, clipped_policy_loss, gae, value_loss
from rlinfo.checkpoint import load_checkpoint, save_checkpoint
from rlinfo.config import load_config, preset_names
from rlinfo.errors import ConfigError
from rlinfo.run.build import build_ppo
from rlinfo.run.loop import Trainer

FAST = ["train.progress=false", "eval.num_rollouts=8"]


def test_gae_matches_hand_computation_with_termination_and_truncation():
    # one env, 4 steps; step 1 terminates, step 2 is the reset step (done), step 3 truncates
    gamma, lam = 0.5, 0.5
    r = torch.tensor([[1.0], [2.0], [0.0], [3.0]])
    v = torch.tensor([[0.5], [1.0], [9.0], [2.0], [4.0]])  # V(s_0..s_4); s_2 = terminal obs (unused)
    term = torch.tensor([[False], [True], [False], [False]])
    done = torch.tensor([[False], [True], [True], [True]])
    adv, ret = gae(r, v, term, done, gamma, lam)
    d3 = 3.0 + 0.5 * 4.0 - 2.0  # truncation bootstraps V(s'_3) = 4
    d2 = 0.0 + 0.5 * 2.0 - 9.0  # reset step: its own delta, chain cut after it
    d1 = 2.0 - 1.0  # termination: no bootstrap
    d0 = 1.0 + 0.5 * 1.0 - 0.5
    expected = torch.tensor([[d0 + 0.25 * d1], [d1], [d2], [d3]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + v[:-1])


def test_clipped_policy_loss_hand_example():
    old = torch.zeros(3)
    new = torch.log(torch.tensor([1.5, 0.5, 1.1]))
    adv = torch.tensor([1.0, 1.0, -2.0])
    # ratios 1.5 (A>0: clipped to 1.2), 0.5 (A>0: min keeps 0.5), 1.1 (A<0: inside the range)
    expected = -(1.2 * 1.0 + 0.5 * 1.0 + 1.1 * -2.0) / 3
    assert clipped_policy_loss(new, old, adv, 0.2).item() == pytest.approx(expected)
    loss_neg = clipped_policy_loss(torch.log(torch.tensor([0.5])), torch.zeros(1), torch.tensor([-1.0]), 0.2)
    assert loss_neg.item() == pytest.approx(0.8)  # ratio 0.5, A<0: max(0.5·(−1), 0.8·(−1)) → −0.8


def test_value_clipping_takes_the_larger_error():
    v, old, ret = torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([2.0])
    assert value_loss(v, old, ret, None).item() == 0.0
    assert value_loss(v, old, ret, 0.5).item() == pytest.approx(0.5 * 1.5**2)


def test_continuous_and_discrete_policies_shapes_and_entropy():
    cont = PPO(4, 2, discrete=False, log_std_init=0.0)
    lp, ent = cont.log_prob_entropy(torch.zeros(5, 4), torch.zeros(5, 2))
    gauss = 2 * 0.5 * (1 + torch.log(torch.tensor(2 * torch.pi)))  # Σ_d ½ log(2πe σ²), σ = 1
    torch.testing.assert_close(ent, gauss.expand(5))
    disc = PPO(4, 3, discrete=True)
    assert disc.act(torch.zeros(5, 4)).shape == (5,)
    _, ent = disc.log_prob_entropy(torch.zeros(5, 4), torch.zeros(5))
    assert (ent <= torch.log(torch.tensor(3.0)) + 1e-6).all()


def test_skill_columns_are_not_normalised():
    agent = PPO(3, 2, skill_dim=1)
    agent.obs_rms.update(torch.tensor([[10.0, 20.0], [30.0, 40.0]]))
    x = agent.normalize(torch.tensor([[20.0, 30.0, 7.0]]))
    torch.testing.assert_close(x[0, 2], torch.tensor(7.0))
    assert x[0, :2].abs().max() < 1e-3


def test_save_load_round_trip(tmp_path):
    agent = PPO(3, 2, entropy={"name": "target", "target": 0.5})
    agent.obs_rms.update(torch.randn(10, 3))
    agent.controller.update(2.0)
    path = save_checkpoint(tmp_path, 7, {"agent": agent.state_dict()})
    other = PPO(3, 2, entropy={"name": "target", "target": 0.5})
    other.load_state_dict(load_checkpoint(path)["agent"])
    x = torch.randn(4, 3)
    torch.testing.assert_close(other.act(x, deterministic=True), agent.act(x, deterministic=True))
    torch.testing.assert_close(other.controller.coef, agent.controller.coef)
    torch.testing.assert_close(other.obs_rms.mean, agent.obs_rms.mean)


def cartpole(seed: int, steps: int) -> Trainer:
    cfg = load_config("ppo_cartpole", [*FAST, f"seed={seed}", f"total_steps={steps}"])
    return Trainer(cfg)


def test_same_seed_same_training():
    a, b = cartpole(3, 2048), cartpole(3, 2048)
    a.train(), b.train()
    for pa, pb in zip(a.agent.parameters(), b.agent.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert a.history == b.history


def test_trainer_checkpoint_restores_agent(tmp_path):
    cfg = load_config("ppo_keydoor", [*FAST, "total_steps=4096", "train.checkpoint_every=0"])
    trainer = Trainer(cfg, tmp_path)
    trainer.train()
    other = Trainer(cfg)
    other.load_networks(load_checkpoint(tmp_path / "checkpoints" / f"step_{trainer.global_step:09d}.pt"))
    torch.testing.assert_close(other.agent.controller.coef, trainer.agent.controller.coef)
    torch.testing.assert_close(other.agent.obs_rms.mean, trainer.agent.obs_rms.mean)


def test_ppo_solves_cartpole():
    trainer = cartpole(0, 100_000)  # the preset: 500 on 9 of seeds 0-9 (docs/benchmarks.md)
    result = trainer.train()
    assert result["return"] >= 475  # deterministic policy, 8 evaluation episodes
    assert trainer.history[-1]["episodic_return"] >= 475


@pytest.mark.parametrize("name", [n for n in preset_names() if n.startswith("ppo_")])
def test_ppo_presets_build(name):
    cfg = load_config(name, FAST + ["env.num_envs=2"])
    trainer = Trainer(cfg)
    assert trainer.agent.discrete == (cfg.env.name != "maze_goal")
    trainer.close()


def test_bad_entropy_config_is_a_config_error():
    cfg = load_config("ppo_keydoor", ["agent.params.entropy.name=bogus"])
    with pytest.raises(ConfigError, match="entropy: name must be one of"):
        build_ppo(cfg.agent, 3, 4, True)


def test_intrinsic_skill_reward_plugs_in():
    """r = w_ext r_ext + w_int r_int(batch) on real transitions, 0 on reset steps; skill appended."""
    overrides = [
        *FAST,
        "agent.name=ppo",
        "env.name=maze:square",
        "env.num_envs=2",
        "env.kwargs.max_episode_steps=3",
        "train.rollout_steps=5",
        "reward.name=diayn",
        "reward.params.skill_dim=4",
        "reward.intrinsic_weight=2.0",
        "reward.extrinsic_weight=0.0",
    ]
    trainer = Trainer(load_config(None, overrides))
    assert trainer.parts.skill_dim == 4 and trainer.agent.skill_dim == 4
    trainer.start()
    learner = trainer.learner
    learner.collect(trainer.collector, 0, 10)
    data = learner.rollout
    assert data["mask"][:, 0].tolist() == [True, True, True, False, True]  # step 3 is the reset step
    reward, _ = learner.rewards(data, trainer.collector)
    expected = 2.0 * trainer.reward_module.reward(learner.flat_batch(data, data["mask"]))
    torch.testing.assert_close(reward[data["mask"]], expected)
    assert (reward[~data["mask"]] == 0).all()
    gen = torch.Generator().manual_seed(1)  # the trainer's skill generator: seed + 1
    space = trainer.reward_module.skill_space
    first, second = space.sample(2, generator=gen), space.sample(2, generator=gen)
    assert all(torch.equal(data["skill"][t], first) for t in range(4))  # episode 1, reset step included
    assert torch.equal(data["skill"][4], second)  # new episodes get new skills
    assert data["obs"].shape[-1] == 2 and trainer.collector.agent_input(data["obs"][0], first).shape == (2, 6)


def test_eval_rebuilds_a_ppo_run_and_reproduces_its_final_evaluation(tmp_path):
    """`rlinfo eval RUN_DIR` on a PPO run: config + latest checkpoint alone give the same episodes."""
    from rlinfo.run.reevaluate import evaluate_run
    from rlinfo.run.rundir import create_run_dir

    cfg = load_config("ppo_cartpole", [*FAST, "total_steps=2048", f"run_root={tmp_path}", "run_name=cp"])
    cfg, run_dir = create_run_dir(cfg)
    trained = Trainer(cfg, run_dir).train()
    (run_dir / "eval.json").unlink()
    evaluated = evaluate_run(run_dir, figure=False)
    assert evaluated["return"] == pytest.approx(trained["return"]) and evaluated["episodes"] == 8
    assert evaluated["steps"] == trained["steps"]
    assert (run_dir / "eval.json").exists()


class Killed(Exception):
    """Stands in for a kill right after a checkpoint."""


ENV_CASES = {
    "maze+rnd": ["env.name=maze:square", "reward.name=rnd", "reward.params.hidden_dim=32"],
    "cartpole": ["env.name=gym:CartPole-v1", "reward.name=none", "reward.extrinsic_weight=1.0"],
}


@pytest.mark.parametrize("case", sorted(ENV_CASES))
def test_killed_ppo_run_resumes_bit_identically_on_cpu(tmp_path, case):
    """PPO killed after a checkpoint and resumed ends exactly as the run that was never interrupted
    (networks, optimiser, running statistics, history, evaluation): on the maze with an intrinsic reward,
    and on gymnasium's CartPole, whose mid-episode state (pole, cart, time limit, RNG) is restored."""
    from rlinfo.run.rundir import create_run_dir

    overrides = [*FAST, "agent.name=ppo", *ENV_CASES[case], "env.num_envs=4", "train.rollout_steps=32",
                 "agent.params.norm_return=true", "total_steps=1024", "train.checkpoint_every=256",
                 "train.log_every=128", f"run_root={tmp_path}"]  # fmt: skip

    def make(name: str) -> tuple[Trainer, Path]:
        cfg, run_dir = create_run_dir(load_config(None, [*overrides, f"run_name={name}"]))
        return Trainer(cfg, run_dir), run_dir

    full, _ = make("full")
    result_full = full.train()
    crashed, run_dir = make("crashed")
    save = crashed.save

    def save_then_die():
        path = save()
        if crashed.global_step >= 512:
            raise Killed
        return path

    crashed.save = save_then_die
    with pytest.raises(Killed):
        crashed.train()
    resumed = Trainer.resume(run_dir)
    assert resumed.global_step == crashed.global_step >= 512 and resumed.env_restored
    result_resumed = resumed.train()
    assert crashed.history + resumed.history == full.history
    assert result_resumed == result_full
    for a, b in ((full.agent, resumed.agent), (full.reward_module, resumed.reward_module)):
        if a is None:
            continue
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
    adam = [t.agent.optimizers["ppo"].state_dict()["state"] for t in (full, resumed)]
    assert all(torch.equal(adam[0][k]["exp_avg"], adam[1][k]["exp_avg"]) for k in adam[0])


def test_rollout_is_scored_before_the_reward_module_trains_on_it():
    """RND, CleanRL and the SB3 callback score a rollout first: training RND on the rollout before
    scoring it shrinks the bonus of exactly the novel states (ratio 31.7 vs 7.6)."""
    overrides = [*FAST, "agent.name=ppo", "env.name=maze:square", "env.num_envs=8",
                 "train.rollout_steps=64", "reward.name=rnd", "reward.extrinsic_weight=0.0"]  # fmt: skip
    torch.manual_seed(0)
    trainer = Trainer(load_config(None, overrides))
    trainer.start()
    learner = trainer.learner
    learner.collect(trainer.collector, 0, 10**9)
    data = learner.rollout
    module, mask = trainer.reward_module, data["mask"]
    familiar = learner.flat_batch(data, mask)
    for _ in range(100):  # RND has seen the states around the start many times
        module.update(familiar)
    novel = torch.zeros_like(mask)
    novel[:, 0] = mask[:, 0]  # env 0's transitions (1/8 of the rows) become novel states
    data["next_obs"][novel] = data["next_obs"][novel] + 6.0
    batch = learner.flat_batch(data, mask)
    before = module.reward(batch)  # what the module gives before it trains on this rollout
    scored = {}
    rewards = learner.rewards

    def spy(d, collector):
        reward, stats = rewards(d, collector)
        scored["r"] = reward[mask]
        return reward, stats

    learner.rewards = spy
    learner.learn(trainer.global_step, 0.0, trainer.collector)
    torch.testing.assert_close(scored["r"], before)  # intrinsic weight 1, no return scaling
    after = module.reward(batch)  # the old order: update on the rollout, then score it
    is_novel = novel[mask]

    def ratio(r):
        return float(r[is_novel].mean() / r[~is_novel].mean())

    assert ratio(scored["r"]) > 1.5 * ratio(after) and ratio(scored["r"]) > 5
