"""The quick-start benchmark: the train phase runs the README's command (at a tiny budget here), records
what it printed, and a re-run replaces only the phases it measured."""

from __future__ import annotations

import csv

import pytest

from benchmarks import quickstart


def test_the_train_phase_is_timed_recorded_and_replaces_only_its_own_row(tmp_path, capsys):
    out = tmp_path / "quickstart.csv"
    install = {"phase": "install", "command": quickstart.INSTALL, "seconds": 88.0, "result": "",
               "machine": "m", "note": "", "date": "2026-11-23"}  # fmt: skip
    quickstart.write_rows([install], out)
    tiny = ["total_steps=600", "train.learning_starts=100", "env.num_envs=4", "eval.num_rollouts=4"]
    assert quickstart.main(["--train-only", "--out", str(out), *tiny]) == 0
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["phase"] for r in rows] == ["install", "train"] and rows[0]["seconds"] == "88.0"
    assert rows[1]["command"] == "rlinfo train " + " ".join(tiny)
    assert rows[1]["result"].startswith("coverage: ") and float(rows[1]["seconds"]) > 0
    lines = quickstart.table(rows)
    assert lines[2] == "| install | `pip install torch==2.13.0 -e .` | 88 s | — | m | 2026-11-23 |"
    assert lines[3].startswith("| train | `rlinfo train total_steps=600") and "`coverage: " in lines[3]


def test_a_failing_phase_is_one_line_naming_its_command(tmp_path):
    with pytest.raises(SystemExit, match=r"`.* train nope_preset` failed: .*nope_preset"):
        argv = [quickstart.sys.executable, "-m", "rlinfo.run.cli", "train", "nope_preset"]
        quickstart.timed(argv, tmp_path)
