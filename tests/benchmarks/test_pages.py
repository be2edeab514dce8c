"""`python -m benchmarks.pages --check`: the committed results pages and generated tables are what the
committed CSVs give, and a changed CSV value is caught. Runs on a copy of docs/, never in the repo."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from benchmarks import pages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs(tmp_path, monkeypatch) -> Path:
    shutil.copytree(ROOT / "docs" / "results", tmp_path / "docs" / "results")
    for page in pages.BLOCK_PAGES:
        shutil.copy(ROOT / page, tmp_path / page)
    (tmp_path / "docs" / "img").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path / "docs"


def test_the_committed_pages_are_what_the_csvs_generate(docs, capsys):
    assert pages.main(["--check"]) == 0, capsys.readouterr().out
    text = "".join((docs.parent / page).read_text() for page in pages.BLOCK_PAGES)
    assert all(f"<!-- generated: {name} -->" in text for name in pages.BLOCKS)  # every block is on a page


def test_a_changed_csv_value_is_reported_by_page_and_block(docs, capsys):
    path = docs / "results" / "random_baseline.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    first = next(r for r in rows if (r["env"], r["metric"]) == ("ant", "coverage_cells"))
    first["value"] = str(float(first["value"]) + 1)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert pages.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "docs/benchmarks.md: block random_baseline" in out
    assert "docs/results/ant_skills.md" in out and "docs/results/locomotion_benchmark.md" in out
    assert "block metra_ant_curve" not in out  # only what reads the changed CSV
    assert pages.main([]) == 0  # regenerating makes the check pass again
    assert pages.main(["--check"]) == 0


def test_an_unknown_block_is_an_error(docs):
    page = docs / "benchmarks.md"
    page.write_text(page.read_text() + "\n<!-- generated: no_such_table -->\n<!-- end generated -->\n")
    with pytest.raises(SystemExit, match="no_such_table"):
        pages.main(["--check"])
