"""Bring your own reward: a class in a user file or an installed plugin trains through `rlinfo train`,
a broken class is refused in one line, and docs/custom_rewards.md's commands run as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.run.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["total_steps=600", "train.learning_starts=200", "env.num_envs=4", "eval.num_rollouts=4",
        "train.progress=false"]  # fmt: skip
BROKEN = """
from rlinfo.rewards import IntrinsicReward

class NoUpdate(IntrinsicReward):
    def __init__(self, obs_dim, action_dim):
        super().__init__()
    def reward(self, batch):
        return batch.obs[:, 0]

class NoDims(IntrinsicReward):
    def __init__(self, size=3):
        super().__init__()
    def reward(self, batch):
        return batch.obs[:, 0]
    def update(self, batch):
        return {}

class NotAReward:
    pass
"""


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A working directory holding examples/my_reward.py and a broken module, as a user's project."""
    shutil.copy(ROOT / "examples" / "my_reward.py", tmp_path / "my_reward.py")
    (tmp_path / "broken_rewards.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    for name in ("my_reward", "broken_rewards"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_a_reward_class_in_a_user_file_trains_and_resumes(user_folder):
    args = ["metra_maze", "reward.name=my_reward:Surprise", "reward.params={}", *TINY, "run_name=s"]
    assert main(["train", *args]) == 0
    run = user_folder / "runs" / "s"
    assert json.loads((run / "eval.json").read_text())["reward"] == "my_reward:Surprise"
    state = load_checkpoint(latest_checkpoint(run))
    weights = [v for k, v in state["reward"].items() if k.startswith("model.")]
    assert set(state["reward_optim"]) == {"model"}
    assert weights and all(torch.isfinite(w).all() for w in weights)
    assert main(["train", "--resume", str(run), "total_steps=800"]) == 0
    assert json.loads((run / "eval.json").read_text())["steps"] >= 800


def test_an_installed_plugin_reward_trains_by_its_entry_point_name(user_folder, monkeypatch, capsys):
    site = user_folder / "site"
    (site / "surprise_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "surprise_plugin-0.1.dist-info" / "METADATA").write_text("Name: surprise-plugin\nVersion: 0.1\n")
    (site / "surprise_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[rlinfo.rewards]\nsurprise = surprise_plugin:Surprise\n"
    )
    # the plugin's optimiser is torch.optim's own: any optimiser in self.optimizers trains and is saved
    example = (user_folder / "my_reward.py").read_text()
    (site / "surprise_plugin.py").write_text(
        example.replace("adam(self.model.parameters(), lr)", "torch.optim.Adam(self.model.parameters(), lr)")
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "surprise_plugin", raising=False)
    assert main(["list"]) == 0
    assert "surprise (plugin)" in capsys.readouterr().out
    assert main(["train", "metra_maze", "reward.name=surprise", "reward.params={}", *TINY, "run_name=p"]) == 0
    assert json.loads((user_folder / "runs" / "p" / "eval.json").read_text())["reward"] == "surprise"
    saved = load_checkpoint(latest_checkpoint(user_folder / "runs" / "p"))["reward_optim"]["model"]
    assert saved["state"] and all(s["step"] > 0 for s in saved["state"].values())


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken_rewards:NoUpdate", "does not implement update(batch)"),
        ("broken_rewards:NoDims", "must accept obs_dim and action_dim"),
        ("broken_rewards:NotAReward", "is not a subclass of rlinfo.rewards.IntrinsicReward"),
        ("broken_rewards:Missing", "has no 'Missing'"),
        ("no_such_module:X", "cannot import 'no_such_module'"),
    ],
)
def test_a_broken_reward_class_is_refused_in_one_line(user_folder, capsys, name, words):
    assert main(["train", "metra_maze", f"reward.name={name}", "reward.params={}", *TINY, "run_name=b"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not (user_folder / "runs" / "b").exists()


def test_params_on_the_command_line_replace_a_presets_mapping():
    from rlinfo.config import load_config

    assert load_config("metra_maze", ["reward.name=rnd", "reward.params={}"]).reward.params == {}
    assert load_config("metra_maze", ["reward.params={skill_dim: 3}"]).reward.params == {"skill_dim": 3}
    merged = load_config("metra_maze", ["reward.params.skill_dim=3"]).reward.params
    assert merged["skill_dim"] == 3 and merged["hidden_dim"] == 128  # one key: still merged


def guide_commands() -> list[str]:
    text = (ROOT / "docs" / "custom_rewards.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip().startswith("rlinfo ")]


def test_the_guide_runs_as_written(tmp_path):
    """Every `rlinfo` command of docs/custom_rewards.md, in a copy of examples/: train, resume, sweep,
    report."""
    pytest.importorskip("ray")
    work = tmp_path / "examples"
    work.mkdir()
    for name in ("my_reward.py", "sweep_my_reward.yaml"):
        shutil.copy(ROOT / "examples" / name, work / name)
    commands = guide_commands()
    assert [c.split()[1] for c in commands] == ["train", "train", "sweep", "report"]
    for command in commands:
        if command.startswith("rlinfo sweep"):
            command += " --num-cpus 2"
        out = subprocess.run(command, shell=True, cwd=work, capture_output=True, text=True)
        assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    report = (work / "runs" / "sweep_my_reward" / "report.md").read_text()
    assert "my_reward:Surprise" in report or "surprise" in report.lower()
    assert "rnd" in report
