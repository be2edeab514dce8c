"""The speed benchmarks' timing harness (benchmarks/timing.py) on fake contenders that count instead of
reading a clock: the alternation order, the statistics, the ratio over rounds and what is written."""

from __future__ import annotations

import csv
import io
import itertools

import pytest

from benchmarks import timing


def counting(log: list[str], name: str, values: list[float]):
    """A contender that records when it ran and returns its next value."""
    it = iter(values)

    def run() -> float:
        log.append(name)
        return next(it)

    return run


def test_every_contender_runs_once_per_round_and_each_leads_as_often():
    log: list[str] = []
    names = ["a", "b", "c"]
    contenders = {n: counting(log, n, [1.0] * 6) for n in names}
    runs = timing.measure(contenders, rounds=6, log=None)
    rounds = [tuple(log[i : i + 3]) for i in range(0, len(log), 3)]
    assert rounds == runs.orders
    assert all(sorted(r) == names for r in rounds)
    assert sorted(r[0] for r in rounds) == ["a", "a", "b", "b", "c", "c"]  # no one always goes first
    assert len(set(rounds)) > 1
    assert timing.orders(names, 6, seed=0) == timing.orders(names, 6, seed=0)  # a fixed seed: repeatable


def test_warmup_rounds_run_but_are_not_recorded():
    log: list[str] = []
    runs = timing.measure({"a": counting(log, "a", [100.0, 1.0, 2.0])}, rounds=2, warmup=1, log=None)
    assert log == ["a"] * 3
    assert runs.values == {("a", "value"): [1.0, 2.0]}
    assert len(runs.orders) == 2


def test_summary_is_median_min_max_and_spread_per_measure():
    fast = iter([{"steps/s": 10.0, "ms": 1.0}, {"steps/s": 30.0, "ms": 3.0}, {"steps/s": 20.0, "ms": 2.0}])
    runs = timing.measure({"fast": lambda: next(fast), "slow": iter([5.0, 5.0, 5.0]).__next__}, 3,
                          name="steps/s", log=None)  # fmt: skip
    rows = {(r["contender"], r["measure"]): r for r in timing.summary(runs)}
    assert rows[("fast", "steps/s")] == {"contender": "fast", "measure": "steps/s", "rounds": 3,
                                         "median": 20.0, "min": 10.0, "max": 30.0, "spread": 1.0}  # fmt: skip
    assert rows[("fast", "ms")]["median"] == 2.0
    assert rows[("slow", "steps/s")]["spread"] == 0.0


def test_ratio_is_taken_round_by_round():
    a, b = iter([10.0, 12.0, 30.0]), iter([5.0, 12.0, 10.0])
    runs = timing.measure({"a": a.__next__, "b": b.__next__}, 3, log=None)
    row = timing.ratio(runs, "a", "b")
    assert row["contender"] == "a / b"
    assert (row["median"], row["min"], row["max"], row["rounds"]) == (2.0, 1.0, 3.0, 3)
    assert row["of_medians"] == pytest.approx(12.0 / 10.0)


def test_per_round_rows_read_back_as_the_same_timing(tmp_path):
    counter = itertools.count()
    runs = timing.measure(
        {n: lambda: {"s": float(next(counter)), "updates": 7.0} for n in "xyz"}, 4, log=None
    )
    rows = timing.per_round(runs)
    assert len(rows) == 4 * 3 * 2
    assert [(r["round"], r["position"]) for r in rows] == sorted((r["round"], r["position"]) for r in rows)
    path = tmp_path / "rounds.csv"
    timing.write_csv(path, rows, command="python x.py --e2e", note="shared machine")
    back = timing.read_rounds(path)
    assert back.orders == runs.orders
    assert back.values == runs.values


def test_csv_has_the_rows_then_command_machine_date_and_versions(tmp_path):
    path = tmp_path / "out" / "speed.csv"
    timing.write_csv(path, [{"contender": "a", "median": 1.5}, {"contender": "b", "median": 2.0, "extra": 1}],
                     command="python scripts/speed_benchmark.py --e2e", note="shared machine")  # fmt: skip
    with path.open() as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["contender", "median", "extra", *timing.META]
    assert rows[0]["command"] == "python scripts/speed_benchmark.py --e2e"
    assert rows[0]["machine"].endswith("; shared machine") and "cores" in rows[0]["machine"]
    assert rows[0]["extra"] == "" and rows[1]["extra"] == "1"
    assert all(rows[0][k] for k in ("date", "python", "torch"))


def test_markdown_table_columns_and_cells():
    row = {
        "contender": "a / b",
        "measure": "s ratio",
        "rounds": 3,
        "median": 0.912345,
        "min": 0.8,
        "max": 1.1,
    }
    text = timing.markdown([row], {"who": "contender", "value": timing.spread_cell, "n": "rounds"})
    assert text.splitlines() == ["| who | value | n |", "|---|---|---|", "| a / b | 0.9123 (0.8–1.1) | 3 |"]
    assert timing.spread_cell({**row, "rounds": 1}) == "0.9123"
    assert timing.markdown([{"x": None}], ["x"]).splitlines()[-1] == "| – |"


def test_figure_is_written(tmp_path):
    rows = [{"contender": "a", "median": 2.0, "min": 1.0, "max": 3.0}, {"contender": "b", "median": 1.0}]
    timing.figure(rows, tmp_path / "f.png", "wall time (s)", refs={"target": 1.5})
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_csv_text_is_plain_csv():
    text = timing.csv_text([{"a": 1}], {"m": "x, y"})
    assert list(csv.reader(io.StringIO(text))) == [["a", "m"], ["1", "x, y"]]


def test_on_round_sees_every_finished_round():
    seen: list[int] = []
    values = iter(range(10))
    timing.measure({"a": lambda: float(next(values))}, 3, warmup=1, log=None,
                   on_round=lambda t: seen.append(len(t.values[("a", "value")])))  # fmt: skip
    assert seen == [1, 2, 3]
