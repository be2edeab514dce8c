"""The GPU path (skipped without CUDA; scripts/gpu_check.sh runs it on a GPU machine): with device=cuda
the replay buffer, sampling, relabelling and updates stay on the GPU, and a run checkpoints, resumes and
evaluates through the CLI as on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rlinfo.config import load_config
from rlinfo.run.cli import main
from rlinfo.run.loop import Trainer
from tests.run.test_resume import TINY

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (scripts/gpu_check.sh)")


@pytest.mark.parametrize(
    "overlap, graph, precision",
    [
        (False, False, "float32"),
        (True, True, "float32"),
        (False, True, "bfloat16"),
    ],  # two streams, two threads
)
def test_training_stays_on_the_gpu(overlap: bool, graph: bool, precision: str) -> None:
    speed = [f"train.overlap={overlap}", f"train.cuda_graph={graph}", f"train.precision={precision}"]
    cfg = load_config("metra_maze", [*TINY, "total_steps=800", "device=cuda", *speed])
    trainer = Trainer(cfg)
    trainer.train()
    batch = trainer.buffer.sample(32, trainer.learner.gen)
    assert batch.obs.device.type == "cuda" and batch.skill is not None and batch.skill.device.type == "cuda"
    target, _, _ = trainer.parts.training_reward(batch)
    assert target.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in trainer.agent.parameters())
    assert all(p.device.type == "cuda" for p in trainer.reward_module.parameters())
    assert all(torch.isfinite(p).all() for p in trainer.agent.parameters())


def test_gpu_run_checkpoints_resumes_and_evaluates_from_the_cli(tmp_path: Path) -> None:
    args = ["metra_maze", *TINY, "total_steps=800", "device=cuda", "train.cuda_graph=true"]
    args += [f"run_root={tmp_path}", "run_name=gpu"]
    assert main(["train", *args]) == 0
    run_dir = tmp_path / "gpu"
    assert main(["train", "--resume", str(run_dir), "total_steps=1200"]) == 0
    assert json.loads((run_dir / "eval.json").read_text())["steps"] >= 1200
    assert main(["eval", str(run_dir), "--no-figure"]) == 0
