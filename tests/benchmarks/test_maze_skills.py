"""The maze skill-family benchmark: its sweep spec is every method on both mazes at 3 seeds, and runs
of its trials (trained as the sweep trains them, at a tiny budget) become the generated table and
figure, goal columns for the goal-skill methods only and random actions as the floor."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import pages, results
from rlinfo.run.cli import main
from rlinfo.run.sweep_spec import read_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "benchmarks" / "maze_skills.yaml"
METRICS = (("coverage", "coverage"), ("goal_EndSuccess3", "goals: end ≤ 3 away"))


def test_the_spec_is_every_maze_method_on_both_mazes_at_three_seeds():
    trials = read_spec(SPEC).trials
    assert len(trials) == 7 * 2 * 3
    presets = {t.preset for t in trials}
    assert presets == {f"{m}_maze" for m in ("diayn", "metra", "lsd", "csf", "dads", "becl", "cic")}
    assert all("total_steps=20000" in t.overrides for t in trials)


def test_runs_of_its_trials_become_the_table_and_figure(tmp_path, monkeypatch):
    chosen = {"env.name=maze-tree__metra_maze__seed=0", "env.name=maze-tree__metra_maze__seed=1",
              "env.name=maze-tree__diayn_maze__seed=0"}  # fmt: skip
    tiny = ["total_steps=600", "train.learning_starts=100", "eval.num_rollouts=4", "env.num_envs=4"]
    for trial in (t for t in read_spec(SPEC).trials if t.name in chosen):
        assert main(["train", *trial.train_args(tmp_path / "runs"), *tiny]) == 0
    monkeypatch.setattr(pages, "RESULTS", tmp_path)
    shutil.copy(ROOT / "docs" / "results" / "random_baseline.csv", tmp_path)
    assert results.collect(tmp_path / "runs", tmp_path / "maze_skills.csv") == 0
    lines = pages.skill_table("maze_skills", METRICS)
    rows = {line.split(" | ")[1]: line for line in lines if line.startswith("| maze:tree")}
    assert set(rows) == {"metra", "diayn", "random actions"}
    assert "| 0,1 |" in rows["metra"] and "(mean, range)" in rows["metra"]
    assert rows["diayn"].endswith("| — |")  # no goal skill: no goal column
    assert "| 0,1 | — | 0.16 / 0.13 | 0.15 (mean) |" in rows["random actions"]  # the runs' seeds only
    assert pages.skill_figure("maze_skills", tmp_path / "fig.png").stat().st_size > 10_000
