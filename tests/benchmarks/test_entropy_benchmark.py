"""The entropy-controller benchmark: its sweep specs give every controller exactly its listed options; a
tiny sweep from the real spec is collected into the CSVs and turned into the page; collapse and
explosion are read from the curves as the page defines them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.entropy import CONTROLLERS, build_controller
from benchmarks import entropy
from rlinfo.run.sweep_spec import read_spec


@pytest.mark.parametrize("task", list(entropy.TASKS))
def test_every_controller_runs_with_exactly_its_listed_options(task):
    path = entropy.TASKS[task][0]
    listed = {t["name"]: t["agent.params.entropy"] for t in yaml.safe_load(Path(path).read_text())["trials"]}
    assert tuple(listed) == CONTROLLERS == entropy.CONTROLLERS
    trials = read_spec(path).trials
    assert len(trials) == len(CONTROLLERS) * 5
    for trial in trials:
        config = trial.config(Path("sweeps"))
        spec = config.agent.params["entropy"]
        assert spec == listed[trial.name.split("__")[0]]  # none of the preset's EPO options left over
        assert config.env.name == task and config.total_steps == 200_000
        build_controller(dict(spec), max_entropy=1.0)  # every option accepted


def test_runs_of_the_real_spec_are_collected_and_paged(tmp_path, monkeypatch):
    """Four of the spec's trials (none at seeds 0-2, lpreg at seed 0) trained as the sweep trains them,
    at 4,096 steps."""
    from rlinfo.run.cli import main

    sweep = tmp_path / "runs"
    chosen = ("none__seed=0", "none__seed=1", "none__seed=2", "lpreg__seed=0")
    for trial in (t for t in read_spec(entropy.TASKS["keydoor"][0]).trials if t.name in chosen):
        assert main(["train", *trial.train_args(sweep), "total_steps=4096"]) == 0
    out = tmp_path / "results"
    assert entropy.collect([sweep], out) == 0
    runs, curves = entropy.load(out)
    made = sorted((r["controller"], r["seed"]) for r in runs)
    assert made == [("lpreg", 0), ("none", 0), ("none", 1), ("none", 2)]
    for r in runs:
        result = json.loads((sweep / f"{r['controller']}__seed={r['seed']}" / "eval.json").read_text())
        assert r["eval_success"] == result["success"] and r["steps"] == result["steps"] >= 4096
        mine = [c for c in curves if (c["controller"], c["seed"]) == (r["controller"], r["seed"])]
        steps = [c["step"] for c in mine]  # one point per update (16 envs × 128 steps), entropy ≤ log 4
        assert steps == sorted(steps) and len(steps) == len({*steps}) >= 2 and steps[-1] <= r["steps"]
        assert all(0 < c["entropy"] <= 1.3863 for c in mine)
    assert entropy.collect([sweep], out) == 0  # again: the same rows, none doubled
    assert entropy.load(out) == (runs, curves)
    monkeypatch.setattr(entropy, "FIGURE", tmp_path / "img" / "entropy.png")
    text = entropy.page_text(out)
    assert "| keydoor | none | 3 |" in text and "| keydoor | lpreg | 1 |" in text
    assert entropy.figure(runs, curves, tmp_path / "fig.png").stat().st_size > 10_000


def test_collapse_and_explosion_are_read_from_the_halves_of_the_curve():
    """keydoor: collapse below 0.139 nats in the first half, explosion above 1.317 in the second."""
    run = {"task": "keydoor", "controller": "none", "seed": 0, "steps": 400, "eval_success": 1.0}

    def curve(entropies):
        return [{"task": "keydoor", "controller": "none", "seed": 0, "step": 100 * (i + 1), "entropy": h,
                 "train_success": 0.25 * i} for i, h in enumerate(entropies)]  # fmt: skip

    cases = {(1.0, 0.1, 1.0, 1.0): (True, False), (1.0, 1.0, 0.1, 1.33): (False, True),
             (1.33, 1.0, 1.0, 0.5): (False, False)}  # fmt: skip
    for entropies, (collapsed, exploded) in cases.items():
        (row,) = entropy.per_run([run], curve(entropies))
        assert (row["collapsed"], row["exploded"]) == (collapsed, exploded)
        assert row["final_entropy"] == pytest.approx(sum(entropies) / 4)
        assert row["train_success"] == 0.75  # the update at step 400 ≥ 0.9 × 400 only
