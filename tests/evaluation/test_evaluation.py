"""Coverage metric and rollouts: hand-checked cell counts, early termination, the skills figure."""

from __future__ import annotations

import numpy as np
import pytest

from rlinfo.envs import make, maze_layout
from rlinfo.evaluation import plot_skills, policy_state_coverage, rollout_xy, unique_cells
from rlinfo.evaluation.coverage import rollout_paths


def test_unique_cells_floors_both_coordinates():
    xy = np.array([[[0.1, 0.2], [0.9, 0.99], [1.0, 0.5]], [[-0.5, 0.1], [-0.01, 0.9], [1.5, 0.5]]])
    # cells: (0,0), (0,0), (1,0) | (-1,0), (-1,0), (1,0)  ->  3 distinct
    assert unique_cells(xy) == 3


def test_maze_coverage_is_a_fraction_of_free_cells():
    layout = maze_layout(make("maze:square"))
    xy = np.array([[[1.5, 1.5], [2.5, 1.5], [3.5, 1.5], [3.6, 1.7]]])
    result = policy_state_coverage(xy, layout)
    assert result["coverage_cells"] == 3
    assert result["coverage"] == pytest.approx(3 / layout.free_cells)


class _TwoEnvs:
    """A stand-in vector env: env 0 terminates after 2 steps, env 1 runs on; xy = step count."""

    def reset(self, seed=None):
        self.t = 0
        return np.zeros((2, 1)), {"xy": np.zeros((2, 2))}

    def step(self, action):
        self.t += 1
        terminated = np.array([self.t == 2, False])
        xy = np.full((2, 2), float(self.t))
        if self.t == 3:  # next-step autoreset of env 0: back at the start
            xy[0] = 0.0
        return np.zeros((2, 1)), np.zeros(2), terminated, np.zeros(2, bool), {"xy": xy}


def test_rollout_keeps_the_last_position_after_termination():
    xy = rollout_xy(_TwoEnvs(), lambda obs, z: np.zeros((2, 1)), np.zeros((2, 0)), steps=4, seed=0)
    assert xy.shape == (2, 5, 2)
    assert xy[0, :, 0].tolist() == [0, 1, 2, 2, 2]  # the autoreset position is never recorded
    assert xy[1, :, 0].tolist() == [0, 1, 2, 3, 4]


class _Rewarding(_TwoEnvs):
    """_TwoEnvs paying reward t at step t, reporting success from step 2 on in env 1 only."""

    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        info = {**info, "success": [False, self.t >= 2]}
        return obs, np.full(2, float(self.t)), terminated, truncated, info


def test_rollout_returns_stop_at_each_episodes_end():
    paths = rollout_paths(_Rewarding(), lambda obs, z: np.zeros((2, 1)), np.zeros((2, 0)), steps=3, seed=0)
    assert paths["return"].tolist() == [1 + 2, 1 + 2 + 3]  # env 0 ended at step 2: step 3's reward is not its
    assert paths["ended"].tolist() == [True, False] and paths["success"].tolist() == [False, True]


@pytest.mark.parametrize(("preset", "success"), [("ppo_keydoor", True), ("ppo_maze_goal", True),
                                                 ("sac_half_cheetah", False)])  # fmt: skip
def test_one_pass_of_whole_episodes_gives_the_returns_the_separate_episodes_give(preset, success):
    """Coverage rollouts that are whole episodes (eval.max_steps 0) are the episodes episode_returns runs
    (same envs, seeds, skills, clipped deterministic actions): the same return and success. Rollouts cut
    short (eval.max_steps 5) give none, and the trainer's evaluation runs the episodes separately."""
    import torch

    from rlinfo.config import load_config
    from rlinfo.run.evaluate import episode_returns, evaluate_policy, evaluation_skills
    from rlinfo.run.loop import Trainer

    overrides = ["eval.num_rollouts=4", "env.num_envs=4", "env.kwargs.max_episode_steps=30"]
    trainer = Trainer(load_config(preset, overrides))
    cfg, agent, module, device = trainer.cfg, trainer.agent, trainer.reward_module, trainer.device
    torch.manual_seed(0)
    for p in agent.parameters():  # a policy whose actions vary and leave the Box now and then
        p.data.normal_(0.0, 0.5)
    alone = episode_returns(cfg, agent, evaluation_skills(cfg, module, 4), device)
    joint = evaluate_policy(cfg, agent, module, device, returns=True)
    assert {k: joint[k] for k in alone} == alone and ("success" in alone) == success
    assert alone["episodes"] == 4 and np.isfinite(alone["return"])
    short = Trainer(load_config(preset, [*overrides, "eval.max_steps=5"]))
    assert "return" not in evaluate_policy(short.cfg, short.agent, short.reward_module, device, returns=True)
    assert "return" in short.evaluate(None)


def test_skills_figure_is_written(tmp_path):
    layout = maze_layout(make("maze:square"))
    xy = np.cumsum(np.random.default_rng(0).normal(size=(6, 10, 2)) * 0.3, axis=1) + 5.5
    path = plot_skills(xy, np.eye(6), tmp_path / "s.png", discrete=True, layout=layout, title="t")
    assert path.stat().st_size > 5_000


def test_phi_skills_report_zero_shot_goal_reaching_in_their_evaluation(tmp_path):
    """METRA's evaluation adds goal_* metrics (one goal per rollout); methods without a goal skill do not."""
    import json

    from rlinfo.run.cli import main

    for preset, has_goals in (("metra_maze", True), ("diayn_maze", False)):
        overrides = ["total_steps=400", "train.learning_starts=200", "eval.num_rollouts=4", "env.num_envs=4"]
        assert main(["train", preset, *overrides, f"run_root={tmp_path}", f"run_name={preset}"]) == 0
        result = json.loads((tmp_path / preset / "eval.json").read_text())
        goals = {k: v for k, v in result.items() if k.startswith("goal_")}
        if has_goals:
            assert set(goals) == {f"goal_{k}" for k in ("final_distance", "EndSuccess3", "HitSuccess3",
                                                         "EndSuccess1", "HitSuccess1")}  # fmt: skip
            assert 0 <= goals["goal_EndSuccess3"] <= goals["goal_HitSuccess3"] <= 1
            assert goals["goal_final_distance"] > 0
        else:
            assert goals == {}


def test_discrete_evaluation_skills_are_spread_evenly():
    """A 16-skill preset evaluates every skill with 3 of its 48 rollouts (the reference's protocol);
    continuous skills stay draws from the prior."""
    from rlinfo.config import load_config
    from rlinfo.run.build import build_reward
    from rlinfo.run.evaluate import evaluation_skills

    for preset in ("metra_half_cheetah", "lsd_half_cheetah", "diayn_half_cheetah", "dads_half_cheetah"):
        cfg = load_config(preset, ["reward.params.hidden_dim=8"])
        module = build_reward(cfg, 18, 6)
        skills = evaluation_skills(cfg, module, cfg.eval.num_rollouts)
        counts = np.bincount(module.skill_space.index(skills).numpy(), minlength=16)
        assert cfg.eval.num_rollouts == 48 and counts.tolist() == [3] * 16, preset
    cfg = load_config("diayn_ant", ["reward.params.hidden_dim=8"])
    z = evaluation_skills(cfg, build_reward(cfg, 29, 8), 48)
    assert z.shape == (48, 2) and len(np.unique(z.numpy().round(6), axis=0)) == 48


def test_upright_fraction_tells_a_flipped_ant_from_a_standing_one():
    from rlinfo.envs import make_vec
    from rlinfo.evaluation import rollout_paths, upright_fraction

    envs = make_vec("ant", num_envs=2, seed=0)
    try:
        paths = rollout_paths(envs, lambda obs, z: np.zeros((2, 8)), np.zeros((2, 0)), steps=5, seed=0)
        assert paths["upright"].shape == (2, 6) and paths["xy"].shape == (2, 6, 2)
        assert upright_fraction(paths["upright"]) == 1.0  # standing still, torso level
        for sub in envs.envs:  # turn each torso upside down: quaternion (w, x, y, z) = (0, 1, 0, 0)
            data = sub.unwrapped.data
            data.qpos[3:7] = [0.0, 1.0, 0.0, 0.0]
            data.qpos[2] = 0.3
            import mujoco

            mujoco.mj_forward(sub.unwrapped.model, data)
        _, _, _, _, info = envs.step(np.zeros((2, 8)))
        assert np.all(np.asarray(info["upright"]) < -0.9)
        assert upright_fraction(np.asarray(info["upright"])[:, None]) == 0.0
    finally:
        envs.close()


def test_matplotlib_loads_only_where_a_figure_is_drawn():
    """Coverage and the run's evaluation code import without matplotlib (half a second); the figure
    functions load it on first use."""
    import subprocess
    import sys

    code = ("import sys, rlinfo.evaluation as e, rlinfo.run.evaluate\n"
            "assert 'matplotlib' not in sys.modules\n"
            "e.plot_skills\n"
            "assert 'matplotlib' in sys.modules")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)
