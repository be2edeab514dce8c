"""The README's quick start, timed: install into a fresh virtual environment, then ``rlinfo train``.

    python -m benchmarks.quickstart                 # both phases, in a fresh clone of this checkout
    python -m benchmarks.quickstart --train-only    # the rlinfo train phase, with this Python
    python -m benchmarks.quickstart --train-only total_steps=600   # key=value appended to rlinfo train
    -> docs/results/quickstart.csv (phase, command, seconds, result, machine, note, date): rows of the
       phases measured replace their earlier rows

The install phase clones the checkout's committed state into a temporary folder, makes a virtual
environment there and runs the README's install command in it (its time depends on the network and
the pip cache); the train phase runs the README's ``rlinfo train`` (the embedded default, preset
``metra_maze``) in a fresh folder and records the coverage it prints.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import describe

OUT = Path("docs/results/quickstart.csv")
COLUMNS = ("phase", "command", "seconds", "result", "machine", "note", "date")
INSTALL = "pip install torch==2.13.0 -e ."
TRAIN = "rlinfo train"
ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds ``argv`` took in ``cwd`` and its output; a failure is one line naming the command."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise SystemExit(f"benchmarks.quickstart: `{' '.join(argv)}` failed: {tail[0]}")
    return seconds, done.stdout


def install(folder: Path) -> tuple[float, Path]:
    """A fresh clone of the checkout's HEAD in ``folder`` and the README's install into a new venv there:
    the install's seconds and the venv's ``rlinfo`` command."""
    clone = folder / "rlinfo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    pip = folder / "venv" / "bin" / "pip"
    seconds, _ = timed([str(pip), *INSTALL.split()[1:]], clone)
    return seconds, folder / "venv" / "bin" / "rlinfo"


def train(rlinfo: Path | str, folder: Path, overrides: list[str]) -> tuple[float, str]:
    """The README's ``rlinfo train`` (plus ``overrides``) in ``folder``: its seconds and the coverage line
    it printed."""
    seconds, out = timed([str(rlinfo), "train", *overrides], folder)
    found = re.search(r"^coverage: .*$", out, re.MULTILINE)
    return seconds, found.group(0) if found else ""


def write_rows(rows: list[dict[str, Any]], out: Path) -> None:
    from rlinfo.files import atomic_path

    phases = {r["phase"] for r in rows}
    kept = []
    if out.is_file():
        with out.open(encoding="utf-8") as f:
            kept = [r for r in csv.DictReader(f) if r["phase"] not in phases]
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(sorted([*kept, *rows], key=lambda r: r["phase"] != "install"))


def read_rows(path: Path = OUT) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The phases as Markdown: command, wall time, what it printed, machine and date."""
    lines = ["| phase | command | wall time | result | machine | date |", "|---|---|---|---|---|---|"]
    for r in rows:
        note = f"; {r['note']}" if r["note"] else ""
        result = f"`{r['result']}`" if r["result"] else "—"
        lines.append(f"| {r['phase']} | `{r['command']}` | {float(r['seconds']):.0f} s | {result} "
                     f"| {r['machine']}{note} | {r['date']} |")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-only", action="store_true", help="time rlinfo train with this Python only")
    parser.add_argument("--note", default="", help="e.g. 'shared machine'")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("overrides", nargs="*", help="key=value appended to rlinfo train (a smaller budget)")
    args = parser.parse_args(argv)
    machine, date = describe(), time.strftime("%Y-%m-%d", time.gmtime())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rlinfo: Path | str = str(Path(sys.executable).with_name("rlinfo"))
        if not args.train_only:
            seconds, rlinfo = install(folder)
            rows.append({"phase": "install", "command": INSTALL, "seconds": round(seconds, 1), "result": "",
                         "machine": machine, "note": args.note, "date": date})  # fmt: skip
            print(f"install: {seconds:.0f} s", flush=True)
        seconds, result = train(rlinfo, folder, args.overrides)
        command = " ".join([TRAIN, *args.overrides])
        rows.append({"phase": "train", "command": command, "seconds": round(seconds, 1), "result": result,
                     "machine": machine, "note": args.note, "date": date})  # fmt: skip
        print(f"train: {seconds:.0f} s ({result})", flush=True)
    write_rows(rows, args.out)
    print("\n".join(table(read_rows(args.out))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
