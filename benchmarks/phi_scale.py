"""How large φ's steps get during training: the batch mean of ‖Δφ‖ = ‖φ(s′) − φ(s)‖ against env steps.

    python -m benchmarks.phi_scale runs/ant_skills runs/diag  -> docs/results/ant_phi_scale.csv
    python -m benchmarks.pages                                -> docs/img/ant_phi_scale.png

For the methods with a state representation φ and the reward r = Δφᵀz (METRA, LSD, CSF), every run under
the given folders logs ``<method>/delta_phi_norm`` at each φ update's batch. The CSV keeps its mean over
bins of 16k env steps, with the run's initialisation and warm-up (the settings the comparison presets
mirror from the reference). METRA's constraint holds ‖Δφ‖ near 1 once skills move; CSF's contrastive
loss pulls Δφ to 0 wherever behaviour does not depend on z (docs/algorithms.md, CSF), so a CSF run whose
‖Δφ‖ keeps shrinking has not found skills to be contrasted.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runs import read_csv, training_time, write_csv

RESULTS = Path("docs/results")
OUT = RESULTS / "ant_phi_scale.csv"
BIN = 16_000  # env steps per point
COLUMNS = ("run", "method", "seed", "agent_init", "reward_init", "warmup", "step", "delta_phi_norm",
           "machine", "date")  # fmt: skip


def run_rows(run_dir: Path, env: str = "ant", bin_steps: int = BIN) -> list[dict[str, Any]]:
    """The binned ‖Δφ‖ of one run (none for a run without ``<method>/delta_phi_norm`` or of another env)."""
    from benchmarks.results import segments
    from rlinfo.run.rundir import load_run_config

    cfg = load_run_config(run_dir)
    tag = f"{cfg.reward.name}/delta_phi_norm"
    values: dict[int, float] = {}
    for events in segments(run_dir):  # a resumed run repeats some steps: the later segment wins
        values.update({step: value for _, step, t, value in events if t == tag})
    if cfg.env.name != env or not values:
        return []
    bins: dict[int, dict[int, float]] = defaultdict(dict)
    for step, value in values.items():
        bins[step // bin_steps][step] = value
    meta = {"run": f"{run_dir.parent.name}/{run_dir.name}", "method": cfg.reward.name, "seed": cfg.seed,
            "agent_init": cfg.agent.params.get("init", "torch"),
            "reward_init": cfg.reward.params.get("init", "torch"), "warmup": cfg.train.warmup}  # fmt: skip
    # each bin's mean, placed at its last logged step
    return [meta | {"step": max(b), "delta_phi_norm": float(np.mean(list(b.values())))}
            for _, b in sorted(bins.items())]  # fmt: skip


def collect(folders: list[Path], out: Path = OUT) -> int:
    """The rows of every run under ``folders`` into ``out``: a run collected again replaces all its rows
    (its bins move as it grows); the rows of other runs stay. Dated by each run's last event."""
    from benchmarks.machine import describe

    machine = describe()
    runs = sorted(p.parent for folder in folders for p in folder.glob("*/config.yaml"))
    new = [row | {"machine": machine, "date": training_time(run)[1]} for run in runs for row in run_rows(run)]
    fresh = {r["run"] for r in new}
    rows = [r for r in load(out) if r["run"] not in fresh] + new
    write_csv(out, COLUMNS, sorted(rows, key=lambda r: (r["run"], r["step"])))
    print(f"{len(fresh)} runs with φ, {len(rows)} rows in {out}")
    return 0


def load(path: Path = OUT) -> list[dict[str, Any]]:
    rows = read_csv(path, ints=("seed", "step"), floats=("delta_phi_norm",))
    return sorted(rows, key=lambda r: (r["run"], r["step"]))


def figure(path: Path, image: Path) -> Path:
    """‖Δφ‖ against env steps, one line per run on a log scale: colour by method, style by settings."""
    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure

    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in load(path):
        runs[r["run"]].append(r)
    colours = {"metra": "tab:blue", "lsd": "tab:green", "csf": "tab:red"}
    styles = {("garage", "policy"): "-", ("torch", "policy"): "--", ("torch", "random"): ":"}  # reward init
    fig, ax = plt.subplots(figsize=(7.5, 6.0))
    for name, rows in sorted(runs.items()):
        first = rows[0]
        settings = (first["reward_init"], first["warmup"])
        label = f"{first['method']} seed {first['seed']}: {inits(first)}, warm-up {settings[1]} ({name})"
        steps, sizes = [r["step"] / 1e6 for r in rows], [r["delta_phi_norm"] for r in rows]
        style = styles.get(settings, "-.")
        ax.plot(steps, sizes, style, color=colours.get(first["method"], "0.4"), lw=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("env steps (millions)")
    ax.set_ylabel("‖φ(s′) − φ(s)‖, batch mean (log scale)")
    ax.set_title(f"how large φ's steps get on Ant (mean over {BIN // 1000}k-step bins)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, image, dpi=100)


def inits(row: dict[str, Any]) -> str:
    """The run's initialisation in words: one name when agent and reward share it."""
    agent, reward = row["agent_init"], row["reward_init"]
    return f"init {agent}" if agent == reward else f"init {agent} (agent), {reward} (reward)"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Per run: its settings and its first and last binned ‖Δφ‖."""
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        runs[r["run"]].append(r)
    lines = ["| run | method | seed | initialisation | warm-up | first ‖Δφ‖ | last ‖Δφ‖ |", "|---" * 7 + "|"]
    for name, rs in sorted(runs.items()):
        first, last = rs[0], rs[-1]
        sizes = [f"{r['delta_phi_norm']:.3f} at {r['step']:,}" for r in (first, last)]
        init = inits(first).removeprefix("init ")
        cells = [name, first["method"], str(first["seed"]), init, first["warmup"], *sizes]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="folders of run directories (sweeps)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    return collect(args.folders, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
