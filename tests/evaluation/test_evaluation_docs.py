"""docs/evaluation.md explains every key an evaluation writes: real evaluations of a skill method with
continuous skills and goal reaching (Ant), with discrete skills (HalfCheetah), a maze run, and a PPO task
with success, each key looked up in the page's table."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from rlinfo.config import load_config
from rlinfo.run.loop import Trainer

PAGE = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"
SMALL = ["agent.hidden_dim=16", "reward.params.hidden_dim=16", "eval.num_rollouts=4", "eval.max_steps=10"]


def documented_keys() -> set[str]:
    table = PAGE.read_text(encoding="utf-8").split("<!-- eval-keys", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            keys.update(re.findall(r"`([a-zA-Z_0-9]+)`", line.split("|")[1]))
    return keys


def evaluate(preset: str, *overrides: str) -> dict:
    torch.manual_seed(0)
    trainer = Trainer(load_config(preset, [*SMALL, *overrides]))
    try:
        return trainer.evaluate(None)
    finally:
        trainer.close()


def test_every_eval_json_key_is_explained():
    written: set[str] = set()
    for preset, extra in [("metra_ant", ()), ("diayn_half_cheetah", ()), ("diayn_maze", ()),
                          ("rnd_maze", ()), ("ppo_keydoor", ("agent.hidden_dim=16",))]:  # fmt: skip
        written |= set(evaluate(preset, *extra))
    written.add("videos")  # rlinfo eval --video (tests/envs/test_video.py writes them)
    missing = written - documented_keys()
    assert not missing, f"docs/evaluation.md does not explain {sorted(missing)}"
    for key in ("coverage", "alignment_cos", "skill_spread", "upright_fraction", "goal_near_HitSuccess3",
                "return", "success"):  # fmt: skip
        assert key in written  # each family of keys was really produced
