"""Every benchmark script runs end to end at a tiny budget, as its docs command runs it, and writes its
table (CSV) and figure: a script that no longer runs against the library fails here, not months later.
The numbers themselves are the benchmarks' business (docs/benchmarks.md), not this test's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# script -> (tiny-budget arguments, files its output folder must hold)
TINY = {
    "tabular_maxent.py": (["--seeds", "0", "--grid-episodes", "20", "--chain-episodes", "20", "--img", "",
                           "--no-progress"], ["tabular_maxent.csv", "tabular_maxent_curves.csv",
                                              "tabular_maxent_counts.csv", "tabular_maxent.png"]),
    "mi_benchmark.py": (["--steps-per-level", "20", "--levels", "2", "--consistency-steps", "20"],
                        ["mi_staircase.csv", "mi_consistency.csv", "mi_traces.csv", "mi_staircase.png"]),
    "update_benchmark.py": (["--rounds", "1", "--updates", "2", "--inner-rounds", "1"],
                            ["update_benchmark.csv", "update_benchmark.png"]),
    "overhead_benchmark.py": (["--steps", "20", "--profile-updates", "2", "--rounds", "1", "--cold-rounds",
                               "2", "--no-compile"], ["overhead_benchmark.csv", "overhead_benchmark.png"]),
    "speed_benchmark.py": (["--rounds", "1", "--steps", "100", "--learning-starts", "100", "--ant-iterations",
                            "1", "--ant-grad-steps", "2"], ["speed_benchmark.csv", "speed_benchmark.png"]),
}  # fmt: skip
OWN_TESTS = {"precision_benchmark.py": "tests/benchmarks/test_precision_benchmark.py",
             "reference_check.py": "tests/rewards/test_reference_check.py"}  # fmt: skip


def test_every_script_is_exercised():
    scripts = {p.name for p in SCRIPTS.glob("*.py")}
    assert scripts == set(TINY) | set(OWN_TESTS)


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_script_runs_at_a_tiny_budget(script, tmp_path):
    args, outputs = TINY[script]
    out = tmp_path / "out"
    cmd = [sys.executable, str(SCRIPTS / script), *args, "--out", str(out)]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    for pattern in outputs:
        found = list(out.rglob(pattern))
        assert found and all(f.stat().st_size > 0 for f in found), (script, pattern, sorted(out.rglob("*")))


def test_speed_e2e_runs_the_cli_and_an_sb3_script_on_the_same_work(monkeypatch):
    """``speed_benchmark.py --e2e`` (minutes a run, so not run here): the rlinfo side is the real command,
    the SB3 side reads its settings from the same resolved preset."""
    import json

    monkeypatch.syspath_prepend(str(SCRIPTS))
    from speed_benchmark import e2e_commands

    from rlinfo.config import load_config

    preset = load_config("sac_half_cheetah", [])
    for starts in (None, 100):
        commands = e2e_commands(1100, starts)
        extra = [] if starts is None else ["train.learning_starts=100"]
        cli = ["-m", "rlinfo.run.cli", "train", "sac_half_cheetah", "total_steps=1100", *extra]
        assert commands["rlinfo"][1:] == cli
        assert commands["SB3"][1] == "-c"
        work = json.loads(commands["SB3"][-1])
        ours = starts if starts is not None else preset.train.learning_starts
        assert work["learning_starts"] == ours - 1  # SB3 updates after it, rlinfo from it on: same count
        a = preset.agent
        assert (work["hidden"], work["layers"], work["lr"], work["batch"], work["tau"], work["gamma"]) == (
            a.hidden_dim, a.num_layers, a.lr, a.batch_size, a.tau, a.gamma)  # fmt: skip
        assert work["buffer"] == preset.train.buffer_size and work["steps"] == 1100
        assert work["eval_rollouts"] == preset.eval.num_rollouts and work["episode_steps"] == 200
        assert work["env_id"] == "HalfCheetah-v5"
        assert work["env_kwargs"]["exclude_current_positions_from_observation"] is False


def test_speed_e2e_report_is_made_from_the_csv_alone(tmp_path):
    from benchmarks import timing  # the repository root is on the path (pyproject.toml)

    values = {"rlinfo, learning_starts=100": [10.0, 12.0], "SB3, learning_starts=100": [11.0, 12.5]}
    runs = timing.Timing(tuple(values), [tuple(values), tuple(reversed(values))])
    for name, seconds in values.items():
        runs.values[(name, "s")], runs.values[(name, "updates")] = seconds, [1000.0, 1000.0]
    path = tmp_path / "speed_e2e.csv"
    timing.write_csv(path, timing.per_round(runs), command="python scripts/speed_benchmark.py --e2e")
    cmd = [sys.executable, str(SCRIPTS / "speed_benchmark.py"), "--e2e-report", str(path)]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    table = (tmp_path / "speed_e2e.md").read_text()
    assert "| rlinfo, learning_starts=100 / SB3, learning_starts=100 | 0.936 | 0.935 (0.909–0.96) |" in table
    assert (tmp_path / "speed_e2e.png").stat().st_size > 0
