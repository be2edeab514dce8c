"""What a user sees around a run: failures that keep the run, warnings, messages, TensorBoard tags,
figures of every kind of run, and the CLI habits users expect."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rlinfo
from rlinfo.config import load_config
from rlinfo.evaluation import skills_figure
from rlinfo.run.cli import main

MAZE = ["env.num_envs=4", "eval.num_rollouts=4", "train.checkpoint_every=0"]
SHORT = [*MAZE, "total_steps=600", "train.learning_starts=200", "train.grad_steps=4", "train.log_every=200"]


def scalars(run_dir: Path) -> dict[str, list[float]]:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


# ----------------------------------------------------------------------------- the final state is safe


def test_failing_evaluation_keeps_the_final_checkpoint(tmp_path, capsys, monkeypatch):
    import rlinfo.evaluation.plots as plots

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plots, "plot_skills", full_disk)
    code = main(["train", *SHORT, f"run_root={tmp_path}", "run_name=r"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert err[-1].startswith("rlinfo: error: final evaluation failed (OSError")
    assert f"rlinfo eval {tmp_path / 'r'}" in err[-1]
    run_dir = tmp_path / "r"
    assert [p.name for p in (run_dir / "checkpoints").glob("step_*.pt")] == ["step_000000600.pt"]
    monkeypatch.undo()  # the disk has room again: `rlinfo eval` redoes the evaluation from the checkpoint
    assert main(["eval", str(run_dir)]) == 0
    assert (run_dir / "skills.png").is_file() and (run_dir / "eval.json").is_file()


@pytest.mark.parametrize("warmup, policy", [("policy", "untrained"), ("random", "uniformly random")])
def test_too_short_run_warns_that_no_update_happens(tmp_path, capsys, warmup, policy):
    overrides = ["total_steps=2000", "env.num_envs=2", "eval.num_rollouts=2", "eval.max_steps=5"]
    overrides.append(f"train.warmup={warmup}")  # metra_ant warms up with its policy, as the reference
    assert main(["train", "metra_ant", *overrides, f"run_root={tmp_path}"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "rlinfo: warning: total_steps=2000 <= train.learning_starts=10000: no update will happen "
        f"(the policy stays {policy})"
    ]


@pytest.mark.parametrize(
    "override",
    ["env.name=maze:squre", "reward.name=metraa", "reward.params.skill_dimm=2", "reward.params.skill_dim=-2"],
)
def test_bad_env_reward_or_parameter_leaves_no_directory(tmp_path, capsys, override):
    assert main(["train", override, f"run_root={tmp_path / 'runs'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rlinfo: error:")
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- what a run logs and shows


def test_reward_free_run_shows_its_intrinsic_return_and_honest_sps(tmp_path, capsys):
    assert main(["train", "rnd_maze", *SHORT, f"run_root={tmp_path}", "run_name=r"]) == 0
    err = capsys.readouterr().err
    tags = scalars(tmp_path / "r")
    assert tags["charts/intrinsic_return"] and all(v > 0 for v in tags["charts/intrinsic_return"])
    bar = re.findall(r"sps=(\d+), int_return=([0-9.e+-]+)", err)
    assert bar, "the progress bar shows the intrinsic return of a reward-free run"
    sps, int_return = bar[-1]
    assert int(sps) == round(tags["charts/sps"][-1])  # the bar's rate is charts/sps
    assert float(int_return) == pytest.approx(tags["charts/intrinsic_return"][-1], rel=1e-2)
    assert "losses/alpha" not in tags  # α is a learned value, not a loss (its loss is losses/alpha_loss)
    assert "agent/alpha" in tags and "losses/critic" in tags and "losses/rnd/loss" in tags


def test_ppo_logs_sps_values_apart_from_losses_and_stops_at_total_steps(tmp_path, capsys):
    overrides = ["total_steps=3000", "train.rollout_steps=64", f"run_root={tmp_path}", "run_name=p"]
    assert main(["train", "ppo_keydoor", *overrides]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("rlinfo: training PPO on keydoor for 3000 steps")
    tags = scalars(tmp_path / "p")
    expected = {"charts/sps", "losses/policy", "losses/value", "agent/band_low", "agent/phase_weight"}
    assert expected <= set(tags)
    values = ("band_low", "band_high", "phase_weight", "entropy_coef", "approx_kl")
    assert not [t for t in tags if t.startswith("losses/") and t.split("/")[-1] in values]
    steps = int(re.search(r'"steps": (\d+)', (tmp_path / "p" / "eval.json").read_text()).group(1))
    assert 3000 <= steps < 3000 + 64 * 16  # at most one rollout (rollout_steps x num_envs) past
    assert re.findall(r"(\d+)/(\d+) \[", err)[-1] == (str(steps), str(steps))  # the bar ends where it stopped


def test_messages_name_the_method_and_report_success_only_where_defined(tmp_path, capsys):
    overrides = ["total_steps=256", "train.rollout_steps=32", "eval.num_rollouts=2", f"run_root={tmp_path}"]
    assert main(["train", "ppo_cartpole", *overrides]) == 0
    out = capsys.readouterr().out.replace(str(tmp_path), "RUNS")
    expected = "rlinfo: training PPO on gym:CartPole-v1 for 256 steps -> RUNS/ppo_gym-CartPole-v1_s0_"
    assert out.startswith(expected)
    assert "return:" in out and "success" not in out and "none" not in out


# ----------------------------------------------------------------------------- figures of every kind of run


def _walk(n: int, steps: int = 30, one_d: bool = False) -> np.ndarray:
    xy = np.cumsum(np.random.default_rng(0).normal(size=(n, steps, 2)), axis=1)
    if one_d:
        xy[..., 1] = 0.0
    return xy


def test_figure_without_skills_uses_one_colour():
    fig = skills_figure(_walk(5), np.zeros((5, 0)))
    ax = fig.axes[0]
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]  # the five rollouts
    assert len(lines.get_segments()) == 5 and len(np.unique(lines.get_colors(), axis=0)) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["start", "rollout (no skills)"]


def test_one_dimensional_motion_is_x_against_time_with_a_skill_legend():
    skills = np.eye(16)[[0, 3, 3, 7]]
    fig = skills_figure(_walk(4, one_d=True), skills, discrete=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step" and ax.get_ylabel().startswith("x")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["skill 0", "skill 3", "skill 7"]


def test_continuous_skills_get_the_colour_wheel_of_directions():
    z = np.random.default_rng(1).normal(size=(6, 2))
    fig = skills_figure(_walk(6), z)
    wheels = [a for a in fig.axes[0].child_axes if a.name == "polar"]
    assert len(wheels) == 1 and "direction" in wheels[0].get_title()
    assert fig.axes[0].get_xlabel() == "x"


# ----------------------------------------------------------------------------- CLI habits


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        from rlinfo.run.cli import build_parser

        build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlinfo {rlinfo.__version__}"
    assert main(["--version"]) == 0


def test_integer_keys_take_integral_scientific_notation(tmp_path):
    cfg = load_config("metra_maze", ["total_steps=1e6", "train.log_every=2.5e3"])
    assert (cfg.total_steps, cfg.train.log_every) == (1_000_000, 2500)
    assert isinstance(cfg.total_steps, int)
    path = tmp_path / "c.yaml"
    path.write_text("total_steps: 2e5\n")  # YAML reads 2e5 as a string
    assert load_config(path).total_steps == 200_000
    with pytest.raises(rlinfo.errors.ConfigError, match="wrong type for 'total_steps'"):
        load_config(None, ["total_steps=1e-3"])


def test_mujoco_warning_is_printed_once_per_process():
    code = """
import warnings
from rlinfo.envs import make
for name in ["half_cheetah", "half_cheetah", "dmc:cheetah-run", "dmc:cheetah-run"]:
    make(name).close()
warnings.warn("another warning")
"""
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert err.count("settotalmass") == 1
    assert "another warning" in err  # other warnings are not hidden


def test_eval_video_writes_mp4s_of_the_evaluation_skills(tmp_path, capsys):
    import imageio.v2 as imageio

    overrides = ["total_steps=200", "train.learning_starts=100", "env.num_envs=2", "agent.hidden_dim=32"]
    overrides += ["reward.params.hidden_dim=32", "eval.num_rollouts=2", "eval.max_steps=10"]
    assert main(["train", "metra_ant", *overrides, f"run_root={tmp_path}", "run_name=a"]) == 0
    capsys.readouterr()
    # as a user runs it: a fresh process picks the rendering backend before MuJoCo is imported
    cmd = [sys.executable, "-m", "rlinfo.run.cli", "eval", str(tmp_path / "a"), "--video", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    videos = tmp_path / "a" / "videos"
    assert sorted(p.name for p in videos.iterdir()) == ["grid.mp4", "skill_0.mp4", "skill_1.mp4"]
    frames = list(imageio.get_reader(str(videos / "grid.mp4"), format="FFMPEG").iter_data())
    assert len(frames) >= 5 and frames[0].shape[:2] == (144, 2 * 192)  # two skills side by side
    assert frames[0].std() > 10  # a rendered scene, not a blank frame
    assert main(["eval", str(tmp_path / "a"), "--video", "0"]) == 2
    assert "--video takes 1 to 64 skills" in capsys.readouterr().err
