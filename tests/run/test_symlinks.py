"""Nothing outside a run or sweep folder is written, truncated or deleted through a symlink.

The paths are not a hand-written list: each command first runs with ``rlinfo.files.TRACE`` on, which
records every path the file layer writes, opens or deletes. Then, for every recorded path, a fresh copy
of the folder gets a symlink there (to an outside file, and to an outside directory), and for every
directory on the way a symlink to an outside copy of it; the command runs again and every outside
file must be byte-identical afterwards. A refused command must say why in one line.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from rlinfo import files
from rlinfo.run.cli import main

TINY = ["env.num_envs=4", "eval.num_rollouts=4", "train.learning_starts=200", "train.progress=false",
        "train.checkpoint_every=200", "train.keep_checkpoints=1", "train.log_every=200"]  # fmt: skip


def digest_tree(path: Path) -> dict[str, str]:
    if path.is_file():
        return {"": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A folder holding a finished tiny run ``runs/r`` (600 steps)."""
    root = tmp_path_factory.mktemp("base")
    args = [*TINY, "total_steps=600", f"run_root={root / 'runs'}", "run_name=r"]
    assert main(["train", "metra_maze", *args]) == 0
    return root


def run_traced(command: Callable[[Path], object], root: Path) -> set[Path]:
    """The paths below ``root`` that the file layer touched while ``command(root)`` ran."""
    files.TRACE = []
    try:
        command(root)
        touched = {p for _, p in files.TRACE}
    finally:
        files.TRACE = None
    out = set()
    for p in touched:
        p = Path(p).resolve() if not Path(p).is_absolute() else Path(p)
        if p.is_relative_to(root) and files.TEMP_MARK not in p.name:
            out.add(p.relative_to(root))
    return out


def plantings(rel: Path, top: int) -> list[str]:
    """Ways to plant a link at ``rel`` (a file link, a directory link) and at each folder above it that
    lies inside the command's folder (``top``: how many leading parts name that folder itself)."""
    return ["file", "dir"] + [f"parent{i}" for i in range(top, len(rel.parts) - 1)]


def plant(root: Path, rel: Path, how: str, outside: Path) -> Path:
    """Put a symlink at ``root/rel`` (or at one of its folders) pointing outside; return the target."""
    target_file, target_dir = outside / "precious.txt", outside / "precious_dir"
    target_file.write_bytes(b"do not touch\n")
    target_dir.mkdir(exist_ok=True)
    (target_dir / "step_000000001.pt").write_bytes(b"not a checkpoint of yours\n")
    if how in ("file", "dir"):
        link = root / rel
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        elif link.exists() or link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target_file if how == "file" else target_dir)
        return outside
    folder = root / Path(*rel.parts[: int(how[len("parent") :]) + 1])
    copy = outside / f"copy_of_{folder.name}"
    if folder.exists():
        shutil.copytree(folder, copy, symlinks=True)
        shutil.rmtree(folder)
    else:
        copy.mkdir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(copy, target_is_directory=True)
    return outside


def check_command(base: Path, tmp_path: Path, command: Callable[[Path], int], capsys, top: int) -> int:
    discovery = tmp_path / "discover"
    shutil.copytree(base, discovery, symlinks=True)
    paths = run_traced(command, discovery)
    assert paths, "the command wrote nothing"
    cases = 0
    for rel in sorted(paths):
        for how in plantings(rel, top):
            cases += 1
            root, outside = tmp_path / f"case{cases}", tmp_path / f"outside{cases}"
            shutil.copytree(base, root, symlinks=True)
            outside.mkdir()
            plant(root, rel, how, outside)
            before = digest_tree(outside)
            capsys.readouterr()
            code = command(root)
            assert digest_tree(outside) == before, f"{rel} ({how}): an outside file changed"
            segments = [x for x in re.split(r"[\r\n]", capsys.readouterr().err) if x.strip()]
            if code != 0:  # one error line (after any transient progress bar)
                errors = [x for x in segments if x.startswith("rlinfo: error:")]
                assert len(errors) == 1 and segments[-1] == errors[0], (rel, how, segments[-3:])
            shutil.rmtree(root)
            shutil.rmtree(outside)
    return cases


def test_resume_never_writes_through_links(base, tmp_path, capsys):
    def resume(root: Path) -> int:
        return main(["train", "--resume", str(root / "runs" / "r"), "total_steps=800"])

    assert check_command(base, tmp_path, resume, capsys, top=2) >= 10  # the folder: runs/r


def test_eval_never_writes_through_links(base, tmp_path, capsys):
    def evaluate(root: Path) -> int:
        return main(["eval", str(root / "runs" / "r")])

    assert check_command(base, tmp_path, evaluate, capsys, top=2) >= 3


def test_report_never_writes_through_links(base, tmp_path, capsys):

    def report(root: Path) -> int:
        return main(["report", str(root / "runs"), "--reps", "50"])

    assert check_command(base, tmp_path, report, capsys, top=1) >= 4  # the folder: runs


def test_sweep_trial_never_writes_through_links(base, tmp_path, capsys):
    from rlinfo.run.sweep import run_trial
    from rlinfo.run.sweep_spec import Trial

    trial = Trial("t", "metra_maze", (*TINY, "total_steps=400"))

    def sweep(root: Path) -> int:
        result = run_trial(str(root / "sweep"), trial)
        return 0 if result["status"] == "done" else 1

    def one_line(root: Path) -> int:  # run_trial reports errors in its result, not on stderr
        code = sweep(root)
        if code:
            print("rlinfo: error: trial failed", file=__import__("sys").stderr)
        return code

    assert check_command(base, tmp_path, one_line, capsys, top=1) >= 3  # the folder: sweep


def test_lock_link_truncates_nothing(base, tmp_path, capsys):
    root = tmp_path / "copy"
    shutil.copytree(base, root, symlinks=True)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"keep me\n")
    lock = root / "runs" / "r" / ".lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(secret)
    assert main(["train", "--resume", str(root / "runs" / "r"), "total_steps=800"]) == 2
    assert secret.read_bytes() == b"keep me\n"
    assert "is a symbolic link" in capsys.readouterr().err
