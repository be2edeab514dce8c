"""Every preset in configs/ end to end through the CLI, as a user runs it, with the figure on.

For each preset: ``rlinfo train`` (final checkpoint, eval.json, skills.png wherever the env reports
positions), ``rlinfo eval`` with and without ``--no-figure``, then ``rlinfo train --resume``. Only
budgets and widths are shrunk (steps, learning_starts, rollouts, batch and
hidden sizes, number of envs); every code path is the preset's own. A new preset is covered
without editing this file.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from rlinfo.config import load_config, preset_names
from rlinfo.rewards import REWARDS
from rlinfo.run.cli import main


def tiny_overrides(preset: str, run_root: Path) -> list[str]:
    """Overrides that shrink a preset's budget and widths (never its env, reward or agent)."""
    cfg = load_config(preset)
    out = [f"run_root={run_root}", "run_name=run", "env.num_envs=2", "agent.hidden_dim=32"]
    out += ["eval.num_rollouts=3", "eval.max_steps=12", "train.checkpoint_every=0"]
    if cfg.agent.name == "ppo":
        out += ["total_steps=64", "train.rollout_steps=16"]
    else:  # 48 random steps, then two rollout/update rounds
        out += ["total_steps=96", "train.learning_starts=48", "train.rollout_steps=12", "train.grad_steps=2"]
        out += ["agent.batch_size=32", "train.buffer_size=2000", "train.log_every=24"]
    module = REWARDS.get(cfg.reward.name) if not cfg.reward.channels else None
    if module is not None and "hidden_dim" in inspect.signature(module).parameters:
        out.append("reward.params.hidden_dim=32")
    return out


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


@pytest.mark.parametrize("preset", preset_names())
def test_preset_trains_evaluates_and_resumes(preset, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", preset, *tiny_overrides(preset, tmp_path)]) == 0, capsys.readouterr().err

    # the final state, the evaluation and the figure
    assert checkpoints(run_dir), "no final checkpoint"
    result = json.loads((run_dir / "eval.json").read_text())
    steps = result["steps"]
    assert steps >= load_config(run_dir / "config.yaml").total_steps
    reports_positions = "coverage" in result  # every env with info["xy"] (all but gym:<id> tasks)
    assert reports_positions or load_config(preset).env.name.startswith("gym:")
    figure = run_dir / "skills.png"
    assert figure.is_file() == reports_positions
    if reports_positions:
        assert figure.stat().st_size > 10_000

    # `rlinfo eval` rebuilds the run from its directory; --no-figure leaves the figure alone
    figure.unlink(missing_ok=True)
    assert main(["eval", str(run_dir), "--no-figure"]) == 0
    assert not figure.exists()
    assert main(["eval", str(run_dir)]) == 0
    assert figure.is_file() == reports_positions
    again = json.loads((run_dir / "eval.json").read_text())
    assert again["steps"] == steps
    if reports_positions:
        assert again["coverage"] == result["coverage"]  # deterministic rollouts of the same checkpoint

    # resume continues from the final checkpoint, off-policy and on-policy alike
    capsys.readouterr()
    code = main(["train", "--resume", str(run_dir), f"total_steps={steps + 24}"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((run_dir / "eval.json").read_text())["steps"] >= steps + 24
    assert len(checkpoints(run_dir)) >= 2
