"""The results pipeline: sweep runs -> CSV rows (every evaluation), CSV -> page (committed = generated),
and the random-action baseline reproduced by the evaluation code at its fixed seed."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import random_baseline, results
from rlinfo.run.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_collect_records_every_evaluation_of_every_run(tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    for seed in (0, 1):
        args = ["metra_maze", "total_steps=1200", "train.eval_every=400", "train.learning_starts=200",
                "env.num_envs=4", "eval.num_rollouts=4", "train.progress=false", f"seed={seed}",
                f"run_root={sweep}", f"run_name=s{seed}"]  # fmt: skip
        assert main(["train", *args]) == 0
    out = tmp_path / "rows.csv"
    assert results.collect(sweep, out) == 0
    rows = results.read_csv(out)
    assert {r["seed"] for r in rows} == {0, 1}
    for seed in (0, 1):
        cov = {r["step"]: r["value"] for r in rows if r["seed"] == seed and r["metric"] == "coverage"}
        assert sorted(cov) == [400, 800, 1200]  # the periodic evaluations and the final one
        final = json.loads((sweep / f"s{seed}" / "eval.json").read_text())
        assert cov[1200] == pytest.approx(final["coverage"])
        walls = [r["wall_s"] for r in rows if r["seed"] == seed and r["metric"] == "coverage"]
        assert walls == sorted(walls) and walls[0] >= 0
    assert results.collect(sweep, out) == 0  # idempotent: the same rows again
    assert len(results.read_csv(out)) == len(rows)
    monkeypatch.chdir(tmp_path)  # the command line's default CSV: named after the sweep directory
    assert results.main(["collect", str(sweep)]) == 0
    assert results.read_csv(tmp_path / "docs" / "results" / "sweep.csv") == results.read_csv(out)


def test_the_committed_page_is_what_the_csvs_generate(tmp_path, monkeypatch):
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "img").mkdir()
    # every CSV the page reads: the runs, earlier presets' runs, rollouts, φ measurements, the floor
    csvs = [*(ROOT / "docs" / "results").glob("ant_*.csv"), ROOT / "docs" / "results" / "random_baseline.csv"]
    for path in csvs:
        shutil.copy(path, tmp_path / "docs" / "results" / path.name)
    monkeypatch.chdir(tmp_path)
    assert results.page() == 0
    generated = (tmp_path / "docs" / "results" / "ant_skills.md").read_text()
    assert generated == (ROOT / "docs" / "results" / "ant_skills.md").read_text()
    assert (tmp_path / "docs" / "img" / "ant_skills.png").stat().st_size > 10_000
    assert (tmp_path / "docs" / "img" / "ant_skills_v2_rollouts.png").stat().st_size > 10_000
    assert (tmp_path / "docs" / "img" / "ant_phi_scale.png").stat().st_size > 10_000


def test_a_half_cheetah_comparison_gets_a_page_of_its_own_once_its_csv_exists(tmp_path, monkeypatch):
    """No goal columns or panel (its skills have no goal form), coverage along x, no Ant time-to-skill."""
    from benchmarks import pages

    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "img").mkdir()
    shutil.copy(ROOT / "docs" / "results" / "random_baseline.csv", tmp_path / "docs" / "results")
    monkeypatch.chdir(tmp_path)
    page = Path("docs/results/half_cheetah_skills.md")
    assert page not in pages.pages() and Path("docs/results/ant_skills.md") in pages.pages()
    rows = [{"method": method, "env": "half_cheetah", "seed": 0, "step": step, "wall_s": step / 100,
             "metric": metric, "value": value, "precision": "bfloat16", "machine": "m", "date": "d"}
            for method, cells in (("metra", 40.0), ("lsd", 12.0))
            for step in (64_000, 128_000)
            for metric, value in (("coverage_cells", cells * step / 128_000), ("alignment_cos", 0.5),
                                  ("upright_fraction", 0.9))]  # fmt: skip
    with open("docs/results/half_cheetah_skills.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=results.COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    assert page in pages.pages()
    text = results.page_text("half_cheetah_skills", "half_cheetah")
    assert text.startswith("# Skill discovery on HalfCheetah: the METRA paper's comparison")
    assert "`rlinfo sweep benchmarks/half_cheetah_skills.yaml && python -m benchmarks.results collect " \
           "runs/half_cheetah_skills`" in text and "unit intervals of x" in text
    header = next(line for line in text.splitlines() if line.startswith("| method |"))
    assert "goal" not in header and "coverage (cells)" in header and "upright fraction" in header
    assert "| metra | 1 | 128,000 | 0.4 | 40 |" in text and "| lsd | 1 | 128,000 | 0.4 | 12 |" in text
    floor = np.mean([r["value"] for r in results.read_csv(Path("docs/results/random_baseline.csv"))
                     if (r["env"], r["metric"]) == ("half_cheetah", "coverage_cells")])  # fmt: skip
    assert f"| random actions | 3 | — | — | {floor:.0f} [" in text
    assert "Time to skill" not in text and "metra (40) > lsd (12)" in text
    assert results.page_figure("half_cheetah_skills", "half_cheetah").stat().st_size > 10_000


def test_random_baseline_reproduces_its_committed_rows():
    with (ROOT / "docs" / "results" / "random_baseline.csv").open() as f:
        committed = {(r["env"], int(r["seed"]), r["metric"]): float(r["value"]) for r in csv.DictReader(f)}
    measured = random_baseline.measure("half_cheetah", 0)
    for metric, value in measured.items():
        assert value == pytest.approx(committed[("half_cheetah", 0, metric)], rel=1e-9)


def test_the_papers_ordering_is_checked_pair_by_pair_at_1m_and_against_random():
    compared = {"metra": {"step": 1_000_000, "coverage": 81.0, "seeds": 1},
                "lsd": {"step": 1_000_000, "coverage": 5.0, "seeds": 1},
                "diayn": {"step": 64_000, "coverage": 7.0, "seeds": 1}}  # fmt: skip
    assert results.paper_check(compared, 63.0) == (
        "At 1M steps (seeds: metra 1, lsd 1), the paper's ordering: metra above lsd: holds (81 vs 5). "
        "Below random actions (63 cells): lsd."
    )
    compared["diayn"] = {"step": 1_000_000, "coverage": 9.0, "seeds": 1}
    assert "lsd above diayn: does not hold (5 vs 9)" in results.paper_check(compared, None)
    # both below random actions: neither moves, so their order says nothing
    assert "lsd above diayn: not measurable (5 vs 9, both below random actions)" in results.paper_check(
        compared, 63.0
    )
    # 3 seeds each: the verdict reads the 95% intervals too
    at_1m = {"step": 1_000_000, "kind": "IQM", "seeds": 3}
    compared["metra"] = {**at_1m, "coverage": 74.0, "low": 65.0, "high": 84.0}
    compared["lsd"] = {**at_1m, "coverage": 70.0, "low": 60.0, "high": 72.0}
    assert "metra above lsd: holds, intervals overlap (74 [65, 84] vs 70 [60, 72])" in results.paper_check(
        compared, None
    )
    compared["lsd"].update(coverage=6.0, low=5.0, high=7.0)
    assert "metra above lsd: holds, intervals apart (74 [65, 84] vs 6 [5, 7])" in results.paper_check(
        compared, None
    )
    assert "(seeds: metra 3, lsd 3, diayn 1)" in results.paper_check(compared, None)
    alone = results.paper_check({"metra": compared["metra"]}, 63.0)
    assert alone.startswith("The paper's ordering is checked")


def test_a_metric_a_method_never_reports_gives_an_empty_curve():
    """CIC has no goal skill: its goal-reaching panel is empty, not an error."""
    seeds = {0: {64_000: {"coverage_cells": 5.0, "wall_s": 60.0}},
             1: {64_000: {"coverage_cells": 7.0, "wall_s": 90.0}}}  # fmt: skip
    xs, mean, low, high = results.curve(seeds, "goal_near_HitSuccess3", "step")
    assert len(xs) == len(mean) == len(low) == len(high) == 0
    xs, mean, low, high = results.curve(seeds, "coverage_cells", "wall")
    assert list(mean) == [6.0] and list(low) == [5.0] and list(high) == [7.0] and xs[0] == 75.0 / 3600


def test_ordering_marks_coverages_equal_as_shown():
    compared = {"lsd": {"coverage": 4.0}, "metra": {"coverage": 9.2}, "diayn": {"coverage": 4.4}}
    assert results.ordering(compared) == "metra (9) > diayn (4) = lsd (4)"  # 4.4 before 4.0


def test_the_page_says_which_runs_trained_in_which_precision():
    runs = (("metra", 0, "bfloat16"), ("metra", 0, "bfloat16"), ("lsd", 0, "bfloat16"),
            ("metra", 1, "float32"))
    rows = [{"method": m, "seed": s, "precision": p} for m, s, p in runs]
    assert results.precision_note(rows) == "bfloat16: lsd 0, metra 0; float32: metra 1"
    assert results.precision_note([]) == "—"


def test_the_page_names_each_machine_once_with_its_runs_and_one_date_or_the_span():
    row = {"machine": "AMD EPYC, 2 cores", "date": "2026-12-07", "method": "lsd", "seed": 0}
    assert results.provenance([row, row]) == "Machine: AMD EPYC, 2 cores. Date: 2026-12-07."
    later = {"machine": "Intel Xeon, 8 cores", "date": "2026-12-09", "method": "metra", "seed": 1}
    assert results.provenance([later, row, {**later, "seed": 0}]) == (
        "Machine: AMD EPYC, 2 cores (lsd 0); Intel Xeon, 8 cores (metra 0, metra 1). "
        "Dates: 2026-12-07 to 2026-12-09.")
    assert results.provenance([]) == "Machine: —. Date: —."


def test_a_seed_still_training_is_shown_apart_and_does_not_pull_its_method_back(tmp_path):
    def seed(last: int, cells: float) -> dict:
        return {step: {"coverage_cells": cells * step / last, "upright_fraction": 0.5, "wall_s": step / 100}
                for step in range(64_000, last + 1, 64_000)}  # fmt: skip

    runs = {"metra": {0: seed(192_000, 30.0), 1: seed(128_000, 12.0)}, "lsd": {0: seed(128_000, 5.0)}}
    compared, training = results.split_training(runs)
    assert compared == {"metra": {0: runs["metra"][0]}, "lsd": {0: runs["lsd"][0]}}
    assert training == {"metra": {1: runs["metra"][1]}}
    lines, table = results.method_table(compared, [], "ant")
    assert table["metra"] == {"step": 192_000, "coverage": 30.0, "low": 30.0, "high": 30.0, "kind": "mean",
                              "seeds": 1}  # not back at 128k; fmt: skip
    [line, blank] = results.training_section(training)
    assert line.startswith("**Still training**") and blank == ""
    assert line.endswith(": metra seed 1 at 128,000 env steps (12 cells, upright 0.50).")
    assert results.training_section({}) == []
    results.figure(compared, [], "ant", tmp_path / "curves.png", training)
    assert (tmp_path / "curves.png").stat().st_size > 10_000
