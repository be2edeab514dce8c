"""``rlinfo sweep`` on a local Ray (2 CPUs), killed and resumed; ``rlinfo report`` on the result; specs."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlinfo.errors import ConfigError
from rlinfo.run.cli import main
from rlinfo.run.sweep import checkpoint_step, wait_unlocked
from rlinfo.run.sweep_spec import read_spec

TINY = {
    "total_steps": 400,
    "env.num_envs": 4,
    "eval.num_rollouts": 4,
    "eval.figure": False,
    "train.learning_starts": 100,
    "train.checkpoint_every": 100,
    "train.log_every": 100,
    "agent.batch_size": 32,
}
SPEC = {
    "preset": "metra_maze",
    "overrides": TINY,
    "grid": {"preset": ["metra_maze", "diayn_maze"], "seed": [0, 1]},
    "resources": {"cpus": 1},
}
NAMES = ["metra_maze__seed=0", "metra_maze__seed=1", "diayn_maze__seed=0", "diayn_maze__seed=1"]


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


def finished(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "eval.json").read_text())["steps"] >= 400
    except (OSError, ValueError, KeyError):
        return False


def digests(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of a run directory (its checkpoints, eval.json, events, config)."""
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid`` (Ray puts its workers in process groups of their own)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def test_sweep_killed_after_first_trial_resumes_and_reports(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "maze.yaml", SPEC)
    sweep_dir = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "rlinfo.run.cli", "sweep", str(spec), "--dir", str(sweep_dir)]
    cmd += ["--num-cpus", "2"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while not any(finished(sweep_dir / n) for n in NAMES):
            assert first.poll() is None, first.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.2)
    finally:
        kill_session(first.pid)  # the driver and every Ray process it started (workers too), at once
        first.wait()
    for name in NAMES:  # the kernel releases a killed process's lock when it is reaped
        wait_unlocked(sweep_dir / name)
    done = [n for n in NAMES if finished(sweep_dir / n)]
    assert len(done) < len(NAMES)
    kept = {n: digests(sweep_dir / n) for n in done}
    interrupted = [n for n in NAMES if 0 <= checkpoint_step(sweep_dir / n) < 400]  # mid-run checkpoints
    assert any(k.startswith("checkpoints/step_") for k in kept[done[0]])

    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(NAMES) - len(done)} to run" in again.stdout
    for name in NAMES:
        assert finished(sweep_dir / name), name
    for name in done:  # untouched: same bytes, nothing added or removed
        assert digests(sweep_dir / name) == kept[name], name
    for name in interrupted:  # resumed from their checkpoint (`rlinfo train --resume`), not restarted
        assert (sweep_dir / name / "resume_history.jsonl").is_file(), name
    status = json.loads((sweep_dir / "sweep.json").read_text())
    assert status["counts"] == {"done": 4, "failed": 0, "interrupted": 0, "pending": 0, "running": 0,
                                "skipped": 0}

    assert main(["report", str(sweep_dir), "--reps", "200"]) == 0
    rows = list(csv.DictReader((sweep_dir / "report.csv").open()))
    assert {(r["method"], r["runs"]) for r in rows} == {("metra", "2"), ("diayn", "2")}
    for r in rows:
        assert float(r["iqm_low"]) <= float(r["iqm"]) <= float(r["iqm_high"])
    text = (sweep_dir / "report.md").read_text()
    assert "| maze:square | metra | 0,1 |" in text
    assert "range [" in text and "2 runs: no CI" in text and "Too few runs for an interval" in text
    assert (sweep_dir / "intervals.png").stat().st_size > 0 and (sweep_dir / "curves.png").stat().st_size > 0


def test_failed_trial_keeps_its_one_line_error_until_retry_failed(tmp_path: Path) -> None:
    from rlinfo.run.sweep import Progress, plan, run_trial

    spec = read_spec(write_spec(tmp_path / "bad.yaml", {**SPEC, "overrides": {**TINY, "device": "cuda:7"}}))
    trial = spec.trials[0]
    result = run_trial(str(tmp_path / "sweep"), trial)  # what the Ray task runs, here in-process
    assert result["status"] == "failed" and "cuda" in result["error"] and "\n" not in result["error"]
    assert "rlinfo: error:" in (tmp_path / "sweep" / "logs" / f"{trial.name}.log").read_text()
    trials = plan(tmp_path / "sweep", spec, retry_failed=False)
    trials[trial.name].update(status="failed", error=result["error"])
    Progress(tmp_path / "sweep", spec, trials).save()
    assert plan(tmp_path / "sweep", spec, retry_failed=False)[trial.name]["status"] == "failed"
    assert plan(tmp_path / "sweep", spec, retry_failed=False)[trial.name]["error"] == result["error"]
    assert plan(tmp_path / "sweep", spec, retry_failed=True)[trial.name]["status"] == "pending"


def test_the_eta_counts_env_steps_left_not_trials_left(tmp_path: Path) -> None:
    """A trial resumed near its end finishes fast; the ETA scales its wall time to a whole trial's steps
    and charges each unfinished trial only the steps after its latest checkpoint."""
    from rlinfo.run.sweep import Progress, duration, plan

    spec = read_spec(write_spec(tmp_path / "s.yaml", SPEC))  # 4 trials of 400 steps
    root = tmp_path / "sweep"
    progress = Progress(root, spec, plan(root, spec, retry_failed=False))
    resumed, half = NAMES[:2]
    (root / half / "checkpoints").mkdir(parents=True)
    (root / half / "checkpoints" / "latest.json").write_text(json.dumps({"step": 200}))
    assert progress.eta(slots=2) == "?"  # nothing finished here yet
    progress.finished(resumed, wall_s=0.5, left_at_start=0.01)  # only its evaluation: not a speed
    assert progress.eta(slots=2) == "?"
    progress.finished(resumed, wall_s=90.0, left_at_start=0.25)  # 360 s per trial's worth of steps
    progress.trials[resumed]["status"] = "done"
    # left: half (0.5 of its steps) and the other two (1 each) = 2.5 trials' worth, 2 at a time
    assert progress.eta(slots=2) == duration(360 * 2.5 / 2) == "00:07:30"
    assert duration(2 * 86400 + 3 * 3600 + 4 * 60 + 5) == "2d 03:04:05"
    # the line printed every HEARTBEAT_S while trials train
    assert (
        progress.running_steps([half, NAMES[2]])
        == f"running: {half} at 200 of 400, {NAMES[2]} before its first checkpoint"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**SPEC, "gird": {"seed": [0]}}, "unknown key 'gird'; did you mean 'grid'?"),
        ({"preset": "metra_maze", "grid": {}}, "give 'grid' or 'trials'"),
        ({"grid": {"seed": []}}, "'grid.seed' must be a non-empty list"),
        ({"grid": {"seed": 3}}, "'grid.seed' must be a non-empty list"),
        ({"grid": {"run_name": ["a"]}}, "'grid.run_name' is set by the sweep"),
        ({"grid": {"agent.lrr": [1e-4]}}, "unknown config key 'agent.lrr'"),
        ({"grid": {"seed": [0]}, "resources": {"cpu": 1}}, "unknown key 'resources.cpu'"),
        ({"grid": {"seed": [0]}, "trials": [{"seed": 0}]}, "'seed' is in both 'trials[0]' and 'grid'"),
        ({"trials": [{"seed": 0}, {"seed": 0}]}, "two trials are both named seed=0"),
        ({"grid": {"preset": ["nope_maze"]}}, "nope_maze"),
        ({"trials": [{"name": "a b", "seed": 0}]}, "'trials[0].name' must be a word"),
        ({"trials": [{"name": "a", "seed": 0}, {"name": "a", "seed": 1}]}, "two trials are both named a"),
    ],
)
def test_bad_spec_is_one_line_naming_the_key(tmp_path: Path, spec: dict, message: str, capsys) -> None:
    path = write_spec(tmp_path / "spec.yaml", spec)
    with pytest.raises(ConfigError, match=None) as info:
        read_spec(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert main(["sweep", str(path), "--dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()


def test_trial_names_are_deterministic_and_short(tmp_path: Path) -> None:
    grid = {"seed": [0, 1], "agent.lr": [1e-4], "env.name": ["maze:tree"]}
    names = [t.name for t in read_spec(write_spec(tmp_path / "s.yaml", {"grid": grid})).trials]
    assert names == [f"seed={s}__agent.lr=0.0001__env.name=maze-tree" for s in (0, 1)]
    long = {"grid": {"reward.params.hidden_dim": [128], "seed": list(range(3)), "agent.lr": [1e-4] * 1}}
    long["overrides"] = {"eval.max_steps": 10}
    long["trials"] = [{"train.log_every": 1000 + i, "agent.hidden_dim": 64} for i in range(2)]
    again = read_spec(write_spec(tmp_path / "t.yaml", long)).trials
    assert [t.name for t in again] == [t.name for t in read_spec(tmp_path / "t.yaml").trials]
    assert all(len(t.name) <= 96 for t in again) and len({t.name for t in again}) == 6


def test_a_named_trial_is_called_by_its_name_and_sets_only_its_overrides(tmp_path: Path) -> None:
    spec = {"grid": {"seed": [0, 1]}, "trials": [{"name": "slow", "agent.lr": 1e-5}, {"agent.lr": 1e-3}]}
    trials = read_spec(write_spec(tmp_path / "s.yaml", spec)).trials
    assert [t.name for t in trials] == ["slow__seed=0", "slow__seed=1", "agent.lr=0.001__seed=0",
                                        "agent.lr=0.001__seed=1"]  # fmt: skip
    overrides = trials[0].overrides
    assert "agent.lr=1e-05" in overrides and not any(o.startswith("name=") for o in overrides)
    assert trials[0].config(tmp_path).agent.lr == 1e-5


def test_sweep_without_ray_says_how_to_install(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as in a base install
    path = write_spec(tmp_path / "spec.yaml", SPEC)
    assert main(["sweep", str(path), "--dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "rlinfo: error: rlinfo sweep needs Ray: pip install 'rlinfo[sweep]'\n"


def test_base_install_is_free_of_ray() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith(("ray", "rliable"))]
    code = "import sys, rlinfo.run.cli, rlinfo.run.sweep, rlinfo.run.report; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "False\n"


def test_trial_made_with_other_identity_keys_is_failed_not_mixed(tmp_path: Path) -> None:
    from rlinfo.run.rundir import create_run_dir
    from rlinfo.run.sweep import plan

    sweep_dir = tmp_path / "sweep"
    spec = read_spec(write_spec(tmp_path / "a.yaml", SPEC))
    for trial in spec.trials[:2]:
        create_run_dir(trial.config(sweep_dir))
    edited = {**SPEC, "overrides": {**TINY, "agent.hidden_dim": 64, "total_steps": 800}}
    trials = plan(sweep_dir, read_spec(write_spec(tmp_path / "a.yaml", edited)), retry_failed=True)
    assert trials[NAMES[0]]["status"] == "failed"
    assert trials[NAMES[0]]["error"].endswith("with other values of agent.hidden_dim than the spec gives")
    longer = {**SPEC, "overrides": {**TINY, "total_steps": 800}}  # a larger budget is a resume, not a change
    trials = plan(sweep_dir, read_spec(write_spec(tmp_path / "a.yaml", longer)), retry_failed=False)
    assert trials[NAMES[0]]["status"] == "pending"


def test_trial_of_an_env_with_preset_statistics_resumes(tmp_path: Path) -> None:
    """``rlinfo train`` writes the preset observation statistics into config.yaml; re-running the sweep
    must see the same config, not a changed one (which would fail every finished HalfCheetah trial)."""
    from rlinfo.run.sweep import plan, trial_command

    overrides = {**TINY, "total_steps": 64, "env.num_envs": 2, "train.learning_starts": 32,
                 "agent.batch_size": 16, "eval.num_rollouts": 2}  # fmt: skip
    base = {"preset": "metra_half_cheetah", "grid": {"seed": [0]}}
    spec = read_spec(write_spec(tmp_path / "hc.yaml", {**base, "overrides": overrides}))
    sweep_dir = tmp_path / "sweep"
    (trial,) = spec.trials
    assert main(trial_command(sweep_dir, trial, 64)) == 0
    assert "obs_mean" in (sweep_dir / trial.name / "config.yaml").read_text()
    assert plan(sweep_dir, spec, retry_failed=False)[trial.name]["status"] == "done"
    longer = {**base, "overrides": {**overrides, "total_steps": 128}}
    trials = plan(sweep_dir, read_spec(write_spec(tmp_path / "hc.yaml", longer)), retry_failed=False)
    assert trials[trial.name]["status"] == "pending"
    assert trial_command(sweep_dir, trial, 128)[:2] == ["train", "--resume"]


def test_ctrl_c_records_interrupted_trials_and_the_rerun_says_resumed(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the driver): each running trial checkpoints where it stands, sweep.json says
    which trials were interrupted, the last line summarises; the next run says "resumed <trial> at step
    N" for them, not "started", and stops on SIGTERM (``kill``) the same way (a background job may
    ignore SIGINT)."""
    long = {**TINY, "total_steps": 40_000, "train.checkpoint_every": 200}
    spec = write_spec(tmp_path / "long.yaml", {**SPEC, "overrides": long, "grid": {"seed": [0, 1]}})
    sweep_dir = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "rlinfo.run.cli", "sweep", str(spec), "--dir", str(sweep_dir)]
    cmd += ["--num-cpus", "2"]

    def interrupt_once(expect: str, how: signal.Signals) -> list[str]:
        # SIGINT as in a terminal, even where this test runs as a background job (which ignores SIGINT)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        lines: list[str] = []
        try:
            for line in proc.stdout:  # type: ignore[union-attr]
                lines.append(line.rstrip())
                if expect in line:
                    break
            while not any(checkpoint_step(p) > max(0, started.get(p, 0)) for p in sweep_dir.glob("seed=*")):
                assert proc.poll() is None, "\n".join(lines)
                time.sleep(0.2)  # a checkpoint past the start: training is under way
            proc.send_signal(how)
            rest, _ = proc.communicate()
            return lines + rest.splitlines()
        finally:
            kill_session(proc.pid)
            proc.wait()

    started: dict[Path, int] = {}
    first = interrupt_once("started seed=", signal.SIGINT)
    status = json.loads((sweep_dir / "sweep.json").read_text())
    assert status["counts"]["running"] == 0 and status["counts"]["interrupted"] >= 1, status["counts"]
    assert first[-1].startswith("sweep: 0/2 done") and "interrupted" in first[-1], first[-4:]
    # each running trial was stopped as Ctrl-C stops a run: at a checkpoint of the step where it stood
    for p in sweep_dir.glob("seed=*"):
        log = (sweep_dir / "logs" / f"{p.name}.log").read_text()
        stop = re.search(r"stopped by SIGINT at step (\d+); checkpoint saved", log)
        assert stop and checkpoint_step(p) == int(stop[1]), log[-500:]
    for p in sweep_dir.glob("seed=*"):
        wait_unlocked(p)
        started[p] = checkpoint_step(p)
    second = interrupt_once("resumed seed=", signal.SIGTERM)
    resumed = [line for line in second if " resumed seed=" in line]
    assert resumed and re.search(r"resumed seed=\d at step \d+", resumed[0]), second
    assert "interrupted" in second[-1], second[-4:]
    assert json.loads((sweep_dir / "sweep.json").read_text())["counts"]["running"] == 0


def test_trials_that_resolve_to_the_same_config_are_refused(tmp_path: Path) -> None:
    grid = {"agent.lr": ["1e-4", "0.0001"]}  # one learning rate written two ways
    spec = write_spec(tmp_path / "dup.yaml", {"preset": "metra_maze", "grid": grid})
    with pytest.raises(ConfigError, match="agent.lr=1e-4 and agent.lr=0.0001 resolve to the same config"):
        read_spec(spec)


def test_only_runs_the_matching_trials_and_skips_the_rest(tmp_path: Path, capsys) -> None:
    """``--only`` splits a sweep (one machine's share): matching trials run, the others are listed as
    skipped and keep no directory; a pattern that matches nothing is a one-line error that runs nothing."""
    spec = write_spec(tmp_path / "maze.yaml", SPEC)
    sweep_dir = tmp_path / "sweep"
    args = ["sweep", str(spec), "--dir", str(sweep_dir), "--num-cpus", "2"]

    assert main([*args, "--only", "*seed=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlinfo: error: --only '*seed=2' matches none of the 4 trials") and "\n" not in err
    assert not sweep_dir.exists()

    assert main([*args, "--only", "*seed=1"]) == 0
    out = capsys.readouterr().out
    assert "4 trials, 2 to run (2 not matched by --only)" in out
    assert out.strip().splitlines()[-1].startswith("sweep: 2/4 done, 2 skipped")
    trials = json.loads((sweep_dir / "sweep.json").read_text())["trials"]
    assert {n: t["status"] for n, t in trials.items()} == {
        "metra_maze__seed=0": "skipped", "metra_maze__seed=1": "done",
        "diayn_maze__seed=0": "skipped", "diayn_maze__seed=1": "done",
    }  # fmt: skip
    assert finished(sweep_dir / "metra_maze__seed=1") and finished(sweep_dir / "diayn_maze__seed=1")
    assert not (sweep_dir / "metra_maze__seed=0").exists() and not (sweep_dir / "diayn_maze__seed=0").exists()


@pytest.mark.parametrize("native", [True, False])
def test_the_driver_shows_each_option_warning_once_with_its_trial_count(tmp_path: Path, monkeypatch, native):
    """A trial's warnings go to its log; the driver says them up front (bfloat16 emulated: 60x slower)."""
    import rlinfo.nn
    from rlinfo.run.sweep import trial_warnings

    monkeypatch.setattr(rlinfo.nn, "cpu_has_bfloat16", lambda: native)
    bf16 = {**SPEC, "overrides": {**TINY, "train.precision": "bfloat16"}}
    spec = read_spec(write_spec(tmp_path / "bf16.yaml", bf16))
    warnings = trial_warnings(tmp_path / "sweep", spec.trials)
    if native:
        assert warnings == {}
    else:
        [(message, count)] = warnings.items()
        assert message.startswith("train.precision=bfloat16: this CPU has no native bfloat16") and count == 4
    assert trial_warnings(tmp_path / "sweep", read_spec(write_spec(tmp_path / "f32.yaml", SPEC)).trials) == {}
