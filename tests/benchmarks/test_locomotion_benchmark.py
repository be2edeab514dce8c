"""scripts/locomotion_benchmark.py: which command each run needs, and curves read back from TensorBoard."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "locomotion_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("locomotion_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fresh_resumed_and_finished_runs(bench, tmp_path) -> None:
    args = bench.parse_args(["--steps", "1000", "--out", str(tmp_path), "--rlinfo", "rl", "--device", "cuda"])
    fresh = bench.train_command(args, "metra", "ant", 0)
    assert fresh[:3] == ["rl", "train", "metra_ant"]
    assert {"total_steps=1000", "train.eval_every=100", "device=cuda", "run_name=metra_ant_s0"} <= set(fresh)
    run = tmp_path / "runs" / "metra_ant_s0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "step_500.pt").write_bytes(b"")
    assert bench.train_command(args, "metra", "ant", 0) == [
        "rl",
        "train",
        "--resume",
        str(run),
        "total_steps=1000",
    ]
    (run / "eval.json").write_text(json.dumps({"steps": 1000}))
    assert bench.train_command(args, "metra", "ant", 0) is None  # finished: skipped


def test_eval_curve_sums_wall_clock_over_resumed_segments(bench, tmp_path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    for i, (t0, t_eval, step, cells) in enumerate([(1000.0, 1010.0, 100, 12.0), (5000.0, 5030.0, 200, 40.0)]):
        w = SummaryWriter(str(tmp_path), filename_suffix=f".{i}")
        w.add_scalar("charts/sps", 1.0, step - 50, walltime=t0)  # the segment's first event
        w.add_scalar("eval/coverage_cells", cells, step, walltime=t_eval)
        w.close()
        for f in tmp_path.glob(f"events.out.tfevents.*.{i}"):
            os.utime(f, (t_eval, t_eval))  # file order = segment order
    rows = bench.eval_curve(tmp_path)
    assert [(r["step"], r["wall_s"], r["metric"], r["value"]) for r in rows] == [
        (100, 10.0, "coverage_cells", 12.0),
        (200, 10.0 + 30.0, "coverage_cells", 40.0),  # the 4000 s pause between segments does not count
    ]
    table = bench.final_table(
        [{"method": "metra", "env": "ant", "seed": 0, **r} for r in rows], {"ant": 71.0}
    )
    assert table == [
        {"method": "metra", "env": "ant", "seeds": 1, "steps": 200.0, "wall_min": 40 / 60,
         "coverage_cells": 40.0, "random_cells": 71.0}
    ]  # fmt: skip
