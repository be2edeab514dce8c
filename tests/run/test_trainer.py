"""The training loop on real environments: storage rules, determinism, checkpoints, smoke runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.run.loop import Trainer
from rlinfo.run.reevaluate import evaluate_run
from rlinfo.run.rundir import create_run_dir

TINY = [
    "agent.hidden_dim=32",
    "agent.batch_size=64",
    "reward.params.hidden_dim=32",
    "train.progress=false",
    "eval.num_rollouts=8",
]


def tiny(preset: str, *overrides: str, tmp_path=None):
    extra = [f"run_root={tmp_path}"] if tmp_path is not None else []
    return load_config(preset, [*TINY, *extra, *overrides])


def test_autoreset_steps_are_never_stored_and_truncation_is_not_termination():
    cfg = tiny(
        "metra_maze",
        "env.num_envs=2",
        "env.kwargs.max_episode_steps=5",
        "train.rollout_steps=12",
        "total_steps=20",
        "train.learning_starts=1000",
        "train.grad_steps=0",
    )
    trainer = Trainer(cfg)
    trainer.train()
    # 12 vector steps x 2 envs; each env hits its 5-step limit twice, so steps 6 and 12 are resets
    assert len(trainer.buffer) == 20 == trainer.global_step
    obs, next_obs = trainer.buffer.obs[:20], trainer.buffer.next_obs[:20]
    max_step = 0.5 * np.sqrt(2) + 1e-5
    assert (next_obs - obs).norm(dim=1).max() <= max_step  # no jump back to the start
    assert not trainer.buffer.terminated[:20].any()  # time-limit truncations bootstrap
    # every stored skill is constant within an episode and resampled at each reset
    skills = trainer.buffer.skill[:20]
    assert torch.allclose(skills[0], skills[2]) and not torch.allclose(skills[0], skills[10])


def test_skill_every_redraws_the_skill_within_an_episode_and_at_each_reset():
    """``train.skill_every=5`` on 12-step episodes: the stored skills change after steps 5 and 10 of each
    episode and at the reset, and nowhere else (URLB's skill agents redraw every 50 steps)."""
    cfg = tiny(
        "metra_maze",
        "env.num_envs=1",
        "env.kwargs.max_episode_steps=12",
        "train.rollout_steps=25",  # 24 transitions and one reset step
        "total_steps=24",
        "train.learning_starts=1000",
        "train.grad_steps=0",
        "train.skill_every=5",
    )
    trainer = Trainer(cfg)
    trainer.train(final_evaluation=False)
    skills = trainer.buffer.skill[:24]
    changes = [t for t in range(1, 24) if not torch.equal(skills[t], skills[t - 1])]
    assert changes == [5, 10, 12, 17, 22]
    trainer.close()


def test_same_seed_gives_identical_metrics_on_cpu():
    overrides = [
        "total_steps=1000",
        "env.num_envs=4",
        "train.learning_starts=200",
        "train.grad_steps=4",
        "train.log_every=200",
    ]
    runs = []
    for _ in range(2):
        trainer = Trainer(tiny("metra_maze", *overrides))
        trainer.train()
        runs.append((trainer.history, trainer.buffer.obs[: len(trainer.buffer)].clone()))
    (h1, b1), (h2, b2) = runs
    assert len(h1) >= 4 and h1 == h2
    assert torch.equal(b1, b2)
    other = Trainer(tiny("metra_maze", *overrides, "seed=1"))
    other.train()
    assert other.history != h1


def test_checkpoint_round_trip_gives_same_actions_and_eval(tmp_path):
    cfg = tiny(
        "metra_maze", "total_steps=1600", "train.learning_starts=400", "train.grad_steps=8", tmp_path=tmp_path
    )
    cfg, run_dir = create_run_dir(cfg)
    trainer = Trainer(cfg, run_dir)
    result = trainer.train()
    for name in ("config.yaml", "eval.json", "skills.png"):
        assert (run_dir / name).is_file()
    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {"charts/sps", "charts/episodic_return", "losses/critic", "losses/actor", "agent/alpha"}
    expected |= {"losses/metra/loss_phi", "metra/dual_lambda", "rewards/metra/mean", "eval/coverage"}
    expected |= {"charts/intrinsic_return"}  # a reward-free run shows what it optimises
    assert expected <= tags, expected - tags
    state = load_checkpoint(latest_checkpoint(run_dir))
    assert state["step"] == trainer.global_step
    fresh = Trainer(cfg)
    fresh.agent.load_state_dict(state["agent"])
    x = torch.randn(64, trainer.agent.actor.net[0].in_features)
    assert torch.equal(fresh.agent.act(x, deterministic=True), trainer.agent.act(x, deterministic=True))
    (run_dir / "skills.png").unlink()
    again = evaluate_run(run_dir)
    assert again["coverage"] == result["coverage"] and again["steps"] == result["steps"]
    assert (run_dir / "skills.png").is_file()


@pytest.mark.parametrize(
    ("env", "extra"),
    [("ant", ["env.kwargs.max_episode_steps=50"]), ("dmc:walker-walk", ["env.kwargs.max_episode_steps=50"])],
)
def test_smoke_runs_on_mujoco_and_dm_control(env, extra):
    cfg = tiny(
        "metra_maze",
        f"env.name={env}",
        "env.num_envs=2",
        "total_steps=300",
        "train.rollout_steps=50",
        "train.learning_starts=100",
        "train.grad_steps=5",
        "train.log_every=100",
        "eval.num_rollouts=2",
        *extra,
    )
    trainer = Trainer(cfg)
    result = trainer.train()
    assert trainer.global_step >= 300 and trainer.learner.num_updates > 0
    assert trainer.history and all(np.isfinite(v) for row in trainer.history for v in row.values())
    assert result["coverage_cells"] >= 1 and result["rollout_steps"] == 50
    obs_dim = trainer.buffer.obs.shape[1]
    assert obs_dim == (29 if env == "ant" else 24)


def test_callbacks_see_every_collect_and_learn_phase_in_order(tmp_path):
    """The seam benchmarks observe the loop through (no monkeypatching): hooks in loop order, with the
    env step; a run without the final evaluation returns nothing and writes no eval.json."""
    from rlinfo.run.callbacks import Callback
    from rlinfo.run.rundir import create_run_dir

    events: list[tuple[str, int]] = []

    class Recorder(Callback):
        def on_collect_start(self, trainer, step):
            events.append(("collect_start", step))

        def on_collect_end(self, trainer, step):
            events.append(("collect_end", step))

        def on_learn_start(self, trainer, step):
            events.append(("learn_start", step))

        def on_learn_end(self, trainer, step):
            events.append(("learn_end", step))

    overrides = ["total_steps=256", "train.learning_starts=64", "env.num_envs=4", "train.progress=false"]
    cfg = load_config("metra_maze", [*overrides, f"run_root={tmp_path}", "run_name=c"])
    cfg, run_dir = create_run_dir(cfg)
    trainer = Trainer(cfg, run_dir, callbacks=[Recorder()])
    assert trainer.train(final_evaluation=False) == {}
    assert not (run_dir / "eval.json").exists()
    kinds = [k for k, _ in events]
    assert kinds == ["collect_start", "collect_end", "learn_start", "learn_end"] * (len(kinds) // 4)
    ends = [s for k, s in events if k == "collect_end"]
    assert ends == sorted(ends) and ends[0] == 16 and ends[-1] == trainer.global_step >= 256
    assert all(s == e for (k, s), (_, e) in zip(events[1::4], events[2::4], strict=True))  # learn at the step


@pytest.mark.parametrize("bootstrap", [True, False])
def test_time_limit_truncations_are_stored_as_terminations_only_when_asked(bootstrap):
    """maze:square's 25-step episodes end by truncation only: with train.time_limit_bootstrap=false (the
    METRA reference's trainer) every episode's last stored step is terminal; by default none is."""
    flag = f"train.time_limit_bootstrap={str(bootstrap).lower()}"
    cfg = load_config("metra_maze", ["total_steps=200", "env.num_envs=4", "train.learning_starts=1000",
                                     "train.progress=false", flag])  # fmt: skip
    trainer = Trainer(cfg)
    try:
        trainer.train(final_evaluation=False)
        terminated = trainer.buffer.terminated[: len(trainer.buffer)]
    finally:
        trainer.close()
    episodes = 4 * (200 // 4 // 25)  # every env finished 2 episodes of 25 steps (a reset step between)
    assert int(terminated.sum()) == (0 if bootstrap else episodes)


@pytest.mark.parametrize("warmup", ["random", "policy"])
def test_the_steps_before_learning_starts_act_as_train_warmup_says(warmup):
    """An actor made to always output ≈ (0.5, −0.5) (zero weights, its mean in the last bias, a tiny std):
    with train.warmup=random the stored pre-learning actions are uniform over [−1, 1]², with
    train.warmup=policy (the METRA and CSF reference trainers) they are the actor's."""
    cfg = load_config("metra_maze", ["total_steps=200", "env.num_envs=4", "train.learning_starts=1000",
                                     "train.progress=false", f"train.warmup={warmup}"])  # fmt: skip
    trainer = Trainer(cfg)
    try:
        last = trainer.agent.actor.net[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([0.5493, -0.5493, -20.0, -20.0]))  # atanh(±0.5), log std (clamped)
        trainer.train(final_evaluation=False)
        actions = trainer.buffer.action[: len(trainer.buffer)]
    finally:
        trainer.close()
    assert len(actions) == 200
    if warmup == "policy":
        torch.testing.assert_close(actions, torch.tensor([0.5, -0.5]).expand_as(actions), atol=0.05, rtol=0)
    else:
        assert actions.min() < -0.9 and actions.max() > 0.9 and actions.std(0).min() > 0.4


def test_warmup_is_refused_for_ppo_and_for_unknown_values():
    from rlinfo.errors import ConfigError

    with pytest.raises(ConfigError, match="train.warmup must be one of random, policy, got 'agent'"):
        load_config("metra_maze", ["train.warmup=agent"])
    with pytest.raises(ConfigError, match="train.warmup=policy needs an off-policy agent"):
        load_config("ppo_cartpole", ["train.warmup=policy"])


def test_a_rollout_of_episode_length_plus_one_holds_one_whole_episode_per_env():
    """The METRA reference's epoch: every env collects one whole path, then the updates. With 25-step
    maze episodes and rollout_steps 26 (25 transitions and the reset step), every update phase starts
    between episodes, and each epoch adds num_envs × 25 transitions."""
    from rlinfo.run.callbacks import Callback

    seen: list[tuple[int, list[int]]] = []

    class Watch(Callback):
        def on_learn_start(self, trainer, step):
            seen.append((step, trainer.collector.ep_length.tolist()))

    cfg = load_config("metra_maze", ["total_steps=400", "env.num_envs=4", "train.rollout_steps=26",
                                     "train.learning_starts=100", "train.progress=false"])  # fmt: skip
    trainer = Trainer(cfg, callbacks=[Watch()])
    try:
        trainer.train(final_evaluation=False)
    finally:
        trainer.close()
    assert [step for step, _ in seen] == [100, 200, 300, 400]
    assert all(lengths == [0, 0, 0, 0] for _, lengths in seen)
