"""The stable-baselines3 integration section of docs/benchmarks.md: the three examples -> a CSV -> its tables.

    python -m benchmarks.integrations run [--seeds 0 1 2] [--out docs/results/integrations.csv]
    python -m benchmarks.integrations tables      # no runs: the tables from the CSV

``run`` runs, one after another and one subprocess each (this Python), the section's commands:

    for s in 0 1 2; do python examples/sb3_sac_metra_maze.py --seed $s; done
    python examples/sb3_ppo_rnd.py
    python examples/cleanrl_diayn.py

each with ``--json`` added (the example writes its measured numbers there) and in a temporary working
directory (the skills figures they write are not kept). ``--steps N`` passes a smaller budget to all three
(their ``--steps`` / ``--total-timesteps``); the command recorded then says so. The rows (example, seed,
metric, value, command, machine, date; one per number, ``wall_s`` being the whole subprocess) replace
those of the same example and seed already in the CSV, which is written atomically.

``sac_metra_table``, ``ppo_rnd_table`` and ``diayn_line`` give the Markdown of the section's three
results, each followed by an empty line and its data line.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NAME = "integrations"
OUT = Path("docs/results") / f"{NAME}.csv"
COLUMNS = ("example", "seed", "metric", "value", "command", "machine", "date")
# example -> the option that sets its env-step budget
EXAMPLES = {"sb3_sac_metra_maze": "--steps", "sb3_ppo_rnd": "--steps", "cleanrl_diayn": "--total-timesteps"}
SAC, PPO, DIAYN = EXAMPLES


# ----------------------------------------------------------------------------- run
def commands(seeds: list[int], steps: int | None = None,
             examples: list[str] | None = None) -> list[tuple[str, int, list[str]]]:  # fmt: skip
    """(example, seed, arguments) of each run, in the section's order: SAC + METRA once per seed, the PPO
    and DIAYN examples once at their default seed 0."""
    out = []
    for example, budget in EXAMPLES.items():
        if examples is not None and example not in examples:
            continue
        for seed in seeds if example == SAC else [0]:
            args = ["--seed", str(seed)] if example == SAC else []
            out.append((example, seed, args + ([budget, str(steps)] if steps is not None else [])))
    return out


def command_text(example: str, args: list[str]) -> str:
    return " ".join(["python", f"examples/{example}.py", *args])


def run_example(example: str, seed: int, args: list[str], machine: str) -> list[dict[str, Any]]:
    """One example in a subprocess; a row per number it reports, and its whole wall time as ``wall_s``."""
    with tempfile.TemporaryDirectory(prefix=f"{example}-") as work:
        numbers = Path(work) / "numbers.json"
        argv = [sys.executable, str(ROOT / "examples" / f"{example}.py"), *args, "--json", str(numbers)]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=work, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
            raise SystemExit(f"{command_text(example, args)} failed (exit {done.returncode}):\n{tail}")
        values = json.loads(numbers.read_text(encoding="utf-8"))
    values["wall_s"] = wall
    date = time.strftime("%Y-%m-%d", time.gmtime())
    command = command_text(example, args)
    return [{"example": example, "seed": seed, "metric": metric, "value": float(value), "command": command,
             "machine": machine, "date": date} for metric, value in sorted(values.items())]  # fmt: skip


def read_rows(path: Path = OUT) -> list[dict[str, Any]]:
    if not Path(path).is_file():
        return []
    with Path(path).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["seed"], r["value"] = int(r["seed"]), float(r["value"])
    return rows


def order(r: dict[str, Any]) -> tuple:
    known = list(EXAMPLES)
    return (known.index(r["example"]) if r["example"] in known else len(known), r["example"], r["seed"],
            r["metric"])  # fmt: skip


def write_rows(rows: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """``rows`` replace the CSV's rows of the same (example, seed); the merged rows, as written."""
    from rlinfo.files import atomic_path

    ran = {(r["example"], r["seed"]) for r in rows}
    kept = [r for r in read_rows(out) if (r["example"], r["seed"]) not in ran]
    merged = sorted(kept + rows, key=order)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "value": f"{r['value']:.6g}"} for r in merged)
    return read_rows(out)


def run(seeds: list[int], out: Path = OUT, steps: int | None = None,
        examples: list[str] | None = None) -> int:  # fmt: skip
    from benchmarks.machine import describe

    machine = describe()
    todo = commands(seeds, steps, examples)
    rows: list[dict[str, Any]] = []
    for i, (example, seed, args) in enumerate(todo, 1):
        mine = run_example(example, seed, args, machine)
        rows += mine
        wall = next(r["value"] for r in mine if r["metric"] == "wall_s")
        print(f"[{i}/{len(todo)}] {command_text(example, args)}: {wall:.0f} s", flush=True)
    merged = write_rows(rows, out)
    print(f"{len(rows)} rows -> {out}\n")
    print("\n".join(tables(merged)))
    return 0


# ----------------------------------------------------------------------------- tables
def data_line(rows: list[dict[str, Any]]) -> str:
    from benchmarks.pages import data_line as line  # imported here: pages.py may register these blocks

    return line(NAME, rows)


def markdown_table(head: list[str], body: list[list[str]]) -> list[str]:
    from benchmarks.pages import table

    return table(head, body)


def metrics(rows: list[dict[str, Any]], example: str) -> dict[int, dict[str, float]]:
    """seed -> {metric: value} of one example."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["example"] == example:
            out[r["seed"]][r["metric"]] = r["value"]
    return dict(sorted(out.items()))


def no_data(example: str) -> list[str]:
    return [f"No data for `{example}` yet: run `python -m benchmarks.integrations run`."]


def sac_metra_table(rows: list[dict[str, Any]] | None = None) -> list[str]:
    """SB3 SAC + METRA on maze:square: coverage per seed, the random policy's, the script's wall time,
    and their means."""
    rows = read_rows() if rows is None else rows
    seeds = metrics(rows, SAC)
    if not seeds:
        return no_data(SAC)
    columns = (("coverage", "{:.2f}"), ("random_coverage", "{:.2f}"), ("wall_s", "{:.0f}"))
    body = [[str(seed), *(spec.format(m[k]) for k, spec in columns)] for seed, m in seeds.items()]
    means = [spec.format(sum(m[k] for m in seeds.values()) / len(seeds)) for k, spec in columns]
    body.append(["mean", f"**{means[0]}**", *means[1:]])
    head = ["seed", "SB3 SAC + METRA", "random policy", "wall time (s)"]
    return [*markdown_table(head, body), "", data_line([r for r in rows if r["example"] == SAC])]


def ppo_rnd_table(rows: list[dict[str, Any]] | None = None) -> list[str]:
    """SB3 PPO + RND against PPO alone on maze:tree: cells visited in training, final-policy coverage and
    train time of each."""
    rows = read_rows() if rows is None else rows
    seeds = metrics(rows, PPO)
    if not seeds:
        return no_data(PPO)
    free = {m["free_cells"] for m in seeds.values()}
    body = []
    for seed, m in seeds.items():
        for key, label in (("ppo_rnd", "PPO + RND"), ("ppo_alone", "PPO alone")):
            cells = m[f"{key}_cells_visited"]
            body.append([label if len(seeds) == 1 else f"{label} (seed {seed})",
                         f"{cells:.0f} ({cells / m['free_cells']:.2f})", f"{m[f'{key}_coverage']:.2f}",
                         f"{m[f'{key}_train_s']:.0f}"])  # fmt: skip
    head = ["run", f"cells visited during training (of {' / '.join(f'{c:.0f}' for c in sorted(free))})",
            "coverage of 48 stochastic rollouts of the final policy", "train time (s)"]  # fmt: skip
    return [*markdown_table(head, body), "", data_line([r for r in rows if r["example"] == PPO])]


def diayn_line(rows: list[dict[str, Any]] | None = None) -> list[str]:
    """The CleanRL-style SAC + DIAYN example in one sentence: coverage, discriminator accuracy, wall time."""
    rows = read_rows() if rows is None else rows
    seeds = metrics(rows, DIAYN)
    if not seeds:
        return no_data(DIAYN)
    lines = []
    for seed, m in seeds.items():
        skills = f"{m['skills']:.0f}"
        lines.append(
            f"**CleanRL-style SAC + DIAYN on maze:square** ({skills} skills, {m['steps']:,.0f} env steps, "
            f"seed {seed}): coverage {m['coverage']:.2f} (48 deterministic rollouts, skill i mod {skills}), "
            f"discriminator accuracy on the replay buffer {m['discriminator_accuracy']:.2f}; "
            f"{m['wall_s']:.0f} s."
        )
    return [*lines, "", data_line([r for r in rows if r["example"] == DIAYN])]


def tables(rows: list[dict[str, Any]] | None = None) -> list[str]:
    """The three blocks, one after another."""
    rows = read_rows() if rows is None else rows
    return [*sac_metra_table(rows), "", *ppo_rnd_table(rows), "", *diayn_line(rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the examples -> the CSV, and print the tables")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="seeds of the SB3 SAC + METRA example")  # fmt: skip
    r.add_argument("--out", type=Path, default=OUT)
    r.add_argument("--steps", type=int, default=None,
                   help="env-step budget of every example (default: each example's own)")  # fmt: skip
    r.add_argument("--examples", nargs="+", choices=list(EXAMPLES), default=None,
                   help="only these (default: all three)")  # fmt: skip
    t = sub.add_parser("tables", help="print the tables from the CSV")
    t.add_argument("--csv", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.seeds, args.out, args.steps, args.examples)
    print("\n".join(tables(read_rows(args.csv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
