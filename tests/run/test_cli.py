"""The `rlinfo` command: train/eval/list, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from rlinfo.run.cli import main

TINY = [
    "total_steps=800",
    "env.num_envs=4",
    "agent.hidden_dim=32",
    "reward.params.hidden_dim=32",
    "train.learning_starts=200",
    "train.grad_steps=4",
    "train.progress=false",
    "eval.num_rollouts=8",
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_then_eval_reproduces_coverage(tmp_path, capsys):
    code, out, _ = run(capsys, "train", *TINY, f"run_root={tmp_path}", "run_name=r")
    assert code == 0
    run_dir = tmp_path / "r"
    trained = json.loads((run_dir / "eval.json").read_text())
    assert f"coverage: {trained['coverage']:.4g}" in out
    assert (run_dir / "config.yaml").is_file() and (run_dir / "skills.png").is_file()
    copy = tmp_path / "copied"
    shutil.copytree(run_dir, copy)  # the run directory alone is enough
    (copy / "eval.json").unlink()
    (copy / "skills.png").unlink()
    code, out, _ = run(capsys, "eval", str(copy))
    assert code == 0
    evaluated = json.loads((copy / "eval.json").read_text())
    assert evaluated["coverage"] == trained["coverage"] and (copy / "skills.png").is_file()


def test_existing_explicit_run_name_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("precious")
    code, _, err = run(capsys, "train", *TINY, f"run_root={tmp_path}", "run_name=taken")
    assert code == 2 and "already exists" in err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "agent.lrr=1"], "did you mean 'agent.lr'"),
        (["train", "metra_maz"], "did you mean 'metra_maze'"),
        (["train", "env.name=maze:tre"], "maze:tree"),
        (["train", "reward.name=metr"], "did you mean 'metra'"),
        (["train", "reward.params.skil_dim=3"], "reward.params.skill_dim"),
        (["train", "env.kwargs.max_step=-1"], "max_step"),
        (["eval", "/nonexistent/run"], "not found"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv, fragment, capsys, tmp_path):
    code, out, err = run(capsys, *argv, *([f"run_root={tmp_path}"] if argv[0] == "train" else []))
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_argparse_errors_exit_2_in_one_line(capsys):
    assert main(["eval"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_list_names_algorithms_envs_and_presets(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("metra", "diayn", "maze:tree", "ant", "dmc:walker-run", "metra_maze", "metra_ant"):
        assert name in out
    from rlinfo.config import preset_names

    for preset in preset_names():  # one line each: what it trains, on what, its budget and rough time
        line = next(x for x in out.splitlines() if x.strip().startswith(preset + " "))
        assert re.search(r"\d[\d,]* steps, (~\d+ min|<1 min)", line) and len(line) < 180, line
    assert "METRA (Park et al. 2024) on the open-square 2-D maze" in out


def test_a_preset_typo_suggests_a_few_names_not_all(capsys):
    code, _, err = run(capsys, "train", "metra_mze")
    assert code == 2 and "did you mean 'metra_maze'" in err
    assert err.count("_") < 12 and len(err) < 200  # a few candidates, not the 51 names


def test_installed_entry_point_prints_no_traceback(tmp_path):
    exe = shutil.which("rlinfo")
    assert exe is not None, "the rlinfo console script is not installed"
    proc = subprocess.run([exe, "train", "agent.lrr=1"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("rlinfo: error: unknown config key 'agent.lrr'")
    assert len(proc.stderr.strip().splitlines()) == 1
    debug = subprocess.run(
        [exe, "--debug", "train", "agent.lrr=1"], capture_output=True, text=True, cwd=tmp_path
    )
    assert "Traceback" in debug.stderr
    help_ = subprocess.run([exe, "train", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert help_.returncode == 0 and "key=value" in help_.stdout


def test_off_policy_runs_end_within_one_vector_step_of_total_steps(tmp_path, capsys):
    """The README's promise: SAC stops at the first vector step reaching total_steps (< num_envs past it)."""
    import json

    args = ["metra_maze", "total_steps=600", "train.learning_starts=100", "eval.num_rollouts=2",
            "train.progress=false", f"run_root={tmp_path}", "run_name=r"]  # fmt: skip
    assert main(["train", *args]) == 0
    steps = json.loads((tmp_path / "r" / "eval.json").read_text())["steps"]
    assert steps == 608 and 600 <= steps < 600 + 16  # 16 envs: 38 vector steps


def test_long_phases_show_progress(tmp_path, capsys):
    """The final evaluation, loading the replay buffer on resume and the report's bootstrap each show a
    bar (on stderr, removed when the phase ends)."""
    args = ["metra_maze", "total_steps=600", "train.learning_starts=100", "eval.num_rollouts=4",
            f"run_root={tmp_path}", "run_name=r"]  # fmt: skip
    assert main(["train", *args]) == 0
    assert "rlinfo: evaluating (4 rollouts)" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "r"), "total_steps=800"]) == 0
    err = capsys.readouterr().err
    assert "rlinfo: loading the replay buffer (608 transitions)" in err and "rlinfo: evaluating" in err
    assert main(["report", str(tmp_path), "--reps", "20"]) == 0
    assert "rlinfo: bootstrapping 1 groups" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["--help", "--version", "list"])
def test_help_version_and_list_start_without_loading_torch(command):
    """`rlinfo --help`, `--version` and `list` answer without importing torch (the slow part of starting)."""
    code = "\n".join(["import sys", "from rlinfo.run.cli import main", "try:", f"    main([{command!r}])",
                      "except SystemExit:", "    pass", "print('torch' in sys.modules)"])  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_a_config_file_whose_path_holds_an_equals_sign_is_the_config(tmp_path, capsys):
    """Sweep trial directories are named like seed=0__apt: their config.yaml is a CONFIG, not an override."""
    folder = tmp_path / "seed=0__mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("base: maze\nreward:\n  name: diayn\n")
    args = [str(folder / "config.yaml"), "total_steps=200", "train.learning_starts=100", "env.num_envs=4",
            "eval.num_rollouts=4", "train.progress=false", f"run_root={tmp_path}", "run_name=r"]  # fmt: skip
    assert main(["train", *args]) == 0
    assert "diayn" in capsys.readouterr().out
