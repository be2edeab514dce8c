"""The long-run locomotion benchmark: its sweep trains METRA on Ant and HalfCheetah as documented, and
``benchmarks.results collect`` turns its runs into rows of docs/results/locomotion_benchmark.csv's form."""

from __future__ import annotations

from pathlib import Path

from benchmarks import locomotion, results
from rlinfo.run.sweep_spec import read_spec

SPEC = Path(__file__).resolve().parents[2] / "benchmarks" / "locomotion.yaml"


def test_spec_runs_metra_on_ant_and_half_cheetah_to_1m():
    configs = [t.config(Path("sweeps")) for t in read_spec(SPEC).trials]
    assert sorted((c.reward.name, c.env.name, c.seed) for c in configs) == [
        ("metra", "ant", 0), ("metra", "half_cheetah", 0)]  # fmt: skip
    assert {(c.total_steps, c.train.eval_every, c.train.threads) for c in configs} == {(1_000_000, 64_000, 1)}


def test_a_collected_run_reads_as_the_committed_csv(tmp_path):
    from rlinfo.run.cli import main

    sweep = tmp_path / "runs"
    trial = next(t for t in read_spec(SPEC).trials if t.name == "metra_half_cheetah__seed=0")
    tiny = ["total_steps=4000", "train.eval_every=2000", "train.learning_starts=1000", "eval.num_rollouts=16",
            "agent.hidden_dim=32", "reward.params.hidden_dim=32"]  # fmt: skip
    assert main(["train", *trial.train_args(sweep), *tiny]) == 0
    out = tmp_path / "locomotion_benchmark.csv"
    assert results.collect(sweep, out) == 0
    rows = locomotion.read_rows(out)
    coverage = sorted(r["step"] for r in rows if r["metric"] == "coverage_cells")
    assert {(r["method"], r["env"], r["seed"]) for r in rows} == {("metra", "half_cheetah", 0)}
    assert len(coverage) >= 2 and coverage[-1] >= 4000  # the periodic evaluations and the final one
    (last,) = locomotion.final_table(rows, {"half_cheetah": 9.0})
    assert last["method"] == "metra" and last["env"] == "half_cheetah"
