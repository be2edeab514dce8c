"""``rlinfo finetune``: what is reused from the snapshot and what starts fresh, the seed phase, the choice
of skill (a toy task where exactly one skill is rewarded), the run directory it writes, bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import load_config
from rlinfo.run.cli import main
from rlinfo.run.finetune import choose_skill, finetune_config
from rlinfo.run.loop import Trainer

TINY = ["env.num_envs=4", "eval.num_rollouts=4", "train.progress=false", "eval.figure=false"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pre")
    args = ["metra_maze", "total_steps=600", "train.learning_starts=200", *TINY, f"run_root={root}",
            "run_name=pre"]  # fmt: skip
    assert main(["train", *args]) == 0
    return root / "pre"


def test_finetune_reuses_the_actor_starts_the_critic_fresh_and_makes_no_update_in_the_seed_phase(
    pretrained, tmp_path, monkeypatch
):
    """A fine-tuning run that ends inside its seed phase (400 of 4,000 random steps): the actor is the
    snapshot's, the critics are not; no update was made, and the policy never acted."""
    from rlinfo.agents.sac import SAC

    acted = []  # deterministic: evaluation; stochastic: collection
    original = SAC.act
    monkeypatch.setattr(SAC, "act", lambda self, x, deterministic=False: acted.append(deterministic)
                        or original(self, x, deterministic))  # fmt: skip
    args = ["task=maze:square", "skill=fixed", "total_steps=400", "train.eval_every=0", *TINY,
            f"run_root={tmp_path}", "run_name=ft"]  # fmt: skip
    assert main(["finetune", str(pretrained), *args]) == 0
    assert acted and all(acted)  # the final evaluation acted; collection never did (uniform random actions)
    snapshot = load_checkpoint(latest_checkpoint(pretrained))["agent"]
    state = load_checkpoint(latest_checkpoint(tmp_path / "ft"))
    tuned = state["agent"]
    actor = [k for k in snapshot if k.startswith("actor.")]
    critic = [k for k in snapshot if k.startswith("critic") and "target" not in k]
    assert actor and critic
    for k in actor:
        assert torch.equal(tuned[k], snapshot[k]), k
    assert not any(torch.equal(tuned[k], snapshot[k]) for k in critic if tuned[k].dim() > 1)
    assert json.loads(state["meta"])["learner"]["num_updates"] == 0
    cfg = load_config(tmp_path / "ft" / "config.yaml")
    assert (cfg.env.name, cfg.reward.intrinsic_weight, cfg.reward.extrinsic_weight) == ("maze:square", 0, 1)
    assert cfg.finetune.source == str(pretrained.resolve()) and cfg.finetune.snapshot == 600
    assert cfg.finetune.skill == "fixed" and len(cfg.finetune.skill_vector) == 2
    assert finetune_config(pretrained, ["task=maze:square"]).finetune.skill == "regress"  # METRA's default
    result = json.loads((tmp_path / "ft" / "eval.json").read_text())
    assert result["episodes"] == 4 and "return" in result and "coverage" not in result


def test_ddpg_finetune_reuses_actor_and_critic_trunk_and_starts_heads_and_target_fresh(tmp_path):
    """URLB's init_from on a DDPG run (the URLB-lite walker preset, shortened): after the seed phase's
    random steps, the actor and critic.trunk equal the snapshot's; the Q heads and the target differ."""
    short = ["env.kwargs.max_episode_steps=50", "eval.num_rollouts=2", "train.progress=false",
             "eval.figure=false"]  # fmt: skip
    pre = ["apt_urlb_walker", "total_steps=300", "train.learning_starts=100", *short, f"run_root={tmp_path}",
           "run_name=pre"]  # fmt: skip
    assert main(["train", *pre]) == 0
    args = ["task=walker_run", "total_steps=200", "train.eval_every=0", *short, f"run_root={tmp_path}",
            "run_name=ft"]  # fmt: skip
    assert main(["finetune", str(tmp_path / "pre"), *args]) == 0
    snapshot = load_checkpoint(latest_checkpoint(tmp_path / "pre"))
    state = load_checkpoint(latest_checkpoint(tmp_path / "ft"))
    reused = [k for k in snapshot["agent"] if k.startswith(("actor.", "critic.trunk."))]
    heads = ("critic.heads.", "critic_target.")
    fresh = [k for k, v in snapshot["agent"].items() if k.startswith(heads) and v.dim() > 1]
    assert reused and fresh
    for k in reused:
        assert torch.equal(state["agent"][k], snapshot["agent"][k]), k
    for k in fresh:
        assert not torch.equal(state["agent"][k], snapshot["agent"][k]), k
    assert all(not opt["state"] for opt in state["agent_optim"].values())  # no step taken: fresh moments
    assert json.loads(state["meta"])["learner"]["num_updates"] == 0
    cfg = load_config(tmp_path / "ft" / "config.yaml")
    assert (cfg.env.name, cfg.finetune.skill, cfg.finetune.snapshot) == ("urlb:walker_run", "random", 300)


class OneSkillTask(gym.Env):
    """Five steps; reward 1 on a step whose action is within 0.05 of 0.375, else 0."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        reward = float(abs(float(action[0]) - 0.375) < 0.05)
        return np.zeros(1, np.float32), reward, False, self.t >= 5, {}


def skill_k_acts(actor: torch.nn.Module, obs_dim: int, targets: list[float]) -> None:
    """Weights for which skill k's deterministic action is targets[k]: the one-hot skill passes two
    identity ReLU layers, the output layer maps it to atanh(target)."""
    linears = [m for m in actor.net if isinstance(m, torch.nn.Linear)]
    k = len(targets)
    with torch.no_grad():
        for layer in linears:
            layer.weight.zero_()
            layer.bias.zero_()
        linears[0].weight[:k, obs_dim : obs_dim + k] = torch.eye(k)
        linears[1].weight[:k, :k] = torch.eye(k)
        linears[2].weight[0, :k] = torch.atanh(torch.tensor(targets))


@pytest.mark.parametrize("choice", ["grid", "random"])
def test_grid_finds_the_one_rewarded_skill_and_random_does_not(choice):
    gym.register("rlinfo-test/OneSkill-v0", entry_point=OneSkillTask)
    cfg = load_config("diayn_maze", ["env.name=gym:rlinfo-test/OneSkill-v0", "env.kwargs={}", *TINY,
                                     "reward.intrinsic_weight=0", "reward.extrinsic_weight=1",
                                     "reward.params.skill_dim=8", f"finetune.skill={choice}",
                                     "eval.num_rollouts=16"])  # fmt: skip
    trainer = Trainer(cfg)
    try:
        space = trainer.reward_module.skill_space
        targets = np.linspace(-0.875, 0.875, space.dim).tolist()  # skill 5 of 8 acts 0.375: the rewarded one
        assert space.dim == 8 and targets[5] == 0.375
        skill_k_acts(trainer.agent.actor, 1, targets)
        chosen = choose_skill(trainer)
        finetune = dataclasses.replace(cfg.finetune, skill_vector=chosen)
        trainer.cfg = dataclasses.replace(cfg, finetune=finetune)
        result = trainer.evaluate(None)
        skills = trainer.sample_skills(64)
    finally:
        trainer.close()
    if choice == "grid":
        assert int(np.argmax(chosen)) == 5
        assert result["return"] == 5.0  # every evaluation episode with the rewarded skill, every step
        assert torch.equal(skills, skills[:1].repeat(64, 1))
    else:
        assert chosen == []
        assert result["return"] == pytest.approx(5.0 / 8)  # evaluation spreads the 8 skills evenly
        assert len({int(i) for i in skills.argmax(-1)}) > 4  # a fresh skill per episode


def test_mean_is_cics_fine_tuning_skill_half_of_every_coordinate():
    """CIC's reference fine-tunes with z = ½·𝟙, the mean of its U[0, 1]^64 prior; Gaussian and U[−1, 1]^d
    priors give 0; one-hot and sphere priors have no mean that is a skill."""
    from rlinfo.errors import RlinfoError
    from rlinfo.run.finetune import DEFAULT_SKILL, prior_mean
    from rlinfo.skills import ContinuousSkills, DiscreteSkills

    assert DEFAULT_SKILL["cic"] == "mean" and DEFAULT_SKILL["becl"] == "fixed"
    trainer = Trainer(load_config("cic_urlb_walker", [*TINY[1:], "finetune.skill=mean"]))
    try:
        assert choose_skill(trainer) == [0.5] * 64
    finally:
        trainer.close()
    assert prior_mean(ContinuousSkills(3, "cube")) == prior_mean(ContinuousSkills(3, "gaussian")) == [0.0] * 3
    for space in (ContinuousSkills(2, "sphere"), DiscreteSkills(16)):
        with pytest.raises(RlinfoError, match="skill=mean: the mean of"):
            prior_mean(space)


class PointTask(gym.Env):
    """A point in the plane moved by its action (x += 0.1·a); reward Δxᵀw* with w* = (0.6, −0.8)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    w_star = np.array([0.6, -0.8])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = np.zeros(2), 0
        return self.x.astype(np.float32), {}

    def step(self, action):
        before, self.t = self.x, self.t + 1
        self.x = self.x + 0.1 * np.asarray(action, dtype=np.float64)
        reward = float((self.x.astype(np.float32) - before.astype(np.float32)) @ self.w_star)
        return self.x.astype(np.float32), reward, False, self.t >= 10, {}


def test_regress_recovers_the_rewarded_direction(monkeypatch):
    """With φ the identity, the task reward is exactly Δφᵀw*: the regressed skill is w*/‖w*‖ (METRA's
    skills lie on the unit circle)."""
    from rlinfo.rewards.wdm import WDMSkillReward

    gym.register("rlinfo-test/Point-v0", entry_point=PointTask)
    cfg = load_config("metra_maze", ["env.name=gym:rlinfo-test/Point-v0", "env.kwargs={}", *TINY,
                                     "reward.intrinsic_weight=0", "reward.extrinsic_weight=1",
                                     "finetune.skill=regress", "train.learning_starts=400"])  # fmt: skip
    trainer = Trainer(cfg)
    try:
        assert isinstance(trainer.reward_module, WDMSkillReward)
        monkeypatch.setattr(type(trainer.reward_module), "delta_phi", lambda self, b: b.next_obs - b.obs)
        chosen = choose_skill(trainer)
    finally:
        trainer.close()
    assert chosen == pytest.approx([0.6, -0.8], abs=1e-4)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "needs task=<task>"),
        (["task=maze:square", "snapshot=7"], "has no snapshot at step 7 (it has 600"),
        (["task=maze:square", "skill=best"], "skill= takes random, fixed, mean, grid, regress, got 'best'"),
        (["task=maze:square", "skill=mean"], "skill=mean: the mean of skills on the sphere is not a skill"),
        (["task=maze:square", "oops"], "takes key=value arguments after RUN_DIR, got 'oops'"),
        (["task=urlb:nope"], "unknown"),
    ],
)
def test_bad_finetune_input_is_one_line_and_writes_nothing(pretrained, tmp_path, capsys, args, words):
    assert main(["finetune", str(pretrained), *args, f"run_root={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlinfo: error: ") and words in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
