"""Every generated results page, table and figure, from the committed CSVs under docs/results/.

    python -m benchmarks.pages           # rewrite the pages, the generated blocks and the figures
    python -m benchmarks.pages --check   # regenerate the Markdown in memory; exit 1 naming what differs

Whole pages: docs/results/ant_skills.md and, once its CSV exists, docs/results/half_cheetah_skills.md
(benchmarks/results.py), docs/results/urlb_lite.md (once
docs/results/urlb_lite.csv exists, benchmarks/urlb_lite.py), docs/results/entropy.md (once
docs/results/entropy.csv exists, benchmarks/entropy.py), docs/results/speed_e2e.md
(benchmarks/speed_tables.py) and docs/results/locomotion_benchmark.md.
Blocks: the lines of docs/benchmarks.md and docs/estimators.md between ``<!-- generated: NAME -->`` and
``<!-- end generated -->`` are what ``BLOCKS[NAME]()`` returns. Figures are redrawn by the plain command
only: their bytes depend on the matplotlib version, so ``--check`` compares the Markdown.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import (
    entropy,
    exploration,
    integrations,
    locomotion,
    mi,
    quickstart,
    results,
    slim,
    speed_tables,
    tabular_maxent,
    urlb_lite,
)

RESULTS = results.RESULTS
BENCHMARKS = Path("docs/benchmarks.md")
ESTIMATORS = Path("docs/estimators.md")  # the MI tables beside the estimators' reference
BLOCK_PAGES = (BENCHMARKS, ESTIMATORS)  # pages holding generated blocks
BLOCK = re.compile(r"(<!-- generated: (\S+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


# ----------------------------------------------------------------------------- helpers
def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *(f"| {' | '.join(r)} |" for r in rows)]


def data_line(name: str, rows: list[dict[str, Any]]) -> str:
    """Where a block's numbers live, and the commands, machines and dates its rows record."""
    keys = [k for k in ("command", "machine", "date") if rows and k in rows[0]]
    facts = [", ".join(sorted({f"`{r[k]}`" if k == "command" else str(r[k]) for r in rows})) for k in keys]
    return f"Data: [docs/results/{name}.csv](results/{name}.csv)" + "".join(f" · {f}" for f in facts) + "."


def steps_label(step: int) -> str:
    """640000 -> 640k, 1000000 -> 1M, 1040400 -> 1.04M."""
    return f"{step / 1e3:.0f}k" if step < 999_500 else f"{step / 1e6:.3g}M"


def locomotion_rows() -> list[dict[str, Any]]:
    return locomotion.read_rows(RESULTS / "locomotion_benchmark.csv")


def random_coverage(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per env: random actions' mean coverage (cells) at the seeds the runs used (same evaluation seeds)."""
    random_rows = results.read_csv(RESULTS / "random_baseline.csv")
    random_rows = [r for r in random_rows if r["metric"] == "coverage_cells"]
    out = {}
    for env in sorted({r["env"] for r in rows}):
        seeds = {r["seed"] for r in rows if r["env"] == env}
        values = [r["value"] for r in random_rows if r["env"] == env and r["seed"] in seeds]
        if values:
            out[env] = float(np.mean(values))
    return out


# ----------------------------------------------------------------------------- blocks
def random_baseline() -> list[str]:
    """Random actions through the evaluation code, per env: coverage per seed and the upright fraction."""
    rows = results.read_csv(RESULTS / "random_baseline.csv")
    body = []
    for env in sorted({r["env"] for r in rows}):
        mine = sorted((r for r in rows if r["env"] == env), key=lambda r: r["seed"])
        cells = [r["value"] for r in mine if r["metric"] == "coverage_cells"]
        fraction = [r["value"] for r in mine if r["metric"] == "coverage"]  # mazes: of the free cells
        upright = [r["value"] for r in mine if r["metric"] == "upright_fraction"]
        seeds = sorted({r["seed"] for r in mine})
        shown = " / ".join(f"{c:.0f}" + (f" ({f:.2f})" if fraction else "")
                           for c, f in zip(cells, fraction or cells, strict=True))  # fmt: skip
        mean = f"{np.mean(cells):.1f}" + (f" ({np.mean(fraction):.3f})" if fraction else "")
        upright_mean = f"{np.mean(upright):.2f}" if upright else "—"
        body.append([env, ", ".join(map(str, seeds)), shown, mean, upright_mean])
    head = ["env", "seeds", "coverage: cells (mazes: fraction of free cells), per seed", "mean",
            "upright fraction (mean)"]  # fmt: skip
    return [*table(head, body), "", data_line("random_baseline", rows)]


def curve(method: str, env: str, metrics: tuple[tuple[str, str, str], ...], width: int = 12) -> list[str]:
    """One run's evaluations as rows of ``(metric, label, format)`` against env steps, split into tables of
    at most ``width`` columns; ``wall_s`` is the training wall-clock, shown in minutes."""
    points: dict[int, dict[str, float]] = {}
    rows = locomotion_rows()
    for r in rows:
        if (r["method"], r["env"]) == (method, env):
            points.setdefault(r["step"], {"wall_s": r["wall_s"] / 60})[r["metric"]] = r["value"]
    steps = sorted(points)
    n = math.ceil(len(steps) / math.ceil(len(steps) / width))
    lines: list[str] = []
    for chunk in (steps[i : i + n] for i in range(0, len(steps), n)):
        body = [[label, *(format(points[s][m], spec) if m in points[s] else "" for s in chunk)]
                for m, label, spec in metrics]  # fmt: skip
        lines += [*table(["env steps", *map(steps_label, chunk)], body), ""]
    return [*lines, data_line("locomotion_benchmark", rows)]


Final = tuple[str, str, list[int], list[float], tuple[float, float, float, str]]


def finals(rows: list[dict[str, Any]], metric: str) -> list[Final]:
    """Per env and method of a collected sweep: its seeds, ``metric`` at each seed's last evaluation, and
    their IQM with the 95% stratified-bootstrap interval (``results.summary``)."""
    out = []
    for env in sorted({r["env"] for r in rows}):
        for method, seeds in sorted(results.by_run(rows, env).items()):
            values = [steps[max(steps)][metric] for _, steps in sorted(seeds.items())]
            out.append((env, method, sorted(seeds), values, results.summary(values)))
    return out


def final_scores(name: str, metric: str) -> list[str]:
    """A collected sweep (benchmarks/results.py's CSV format): per env and method, the metric at each seed's
    last evaluation, its mean and its IQM with the 95% stratified-bootstrap interval, as ``rlinfo report``
    gives them."""
    rows = results.read_csv(RESULTS / f"{name}.csv")
    body = []
    for env, method, seeds, values, (iqm, low, high, _) in finals(rows, metric):
        cells = [" / ".join(f"{v:.3g}" for v in values), f"{np.mean(values):.3f}", f"{iqm:.3f}",
                 f"[{low:.3f}, {high:.3f}]"]  # fmt: skip
        body.append([env, method, ",".join(map(str, seeds)), *cells])
    head = ["env", "method", "seeds", f"{metric}, per seed", f"mean {metric}", "IQM", "IQM 95% CI"]
    return [*table(head, body), "", data_line(name, rows)]


def sweep_figure(name: str, metric: str) -> Path:
    """``rlinfo report``'s interval figure, drawn from a collected sweep's CSV alone: each method's IQM of
    ``metric`` at the last evaluation with its 95% stratified-bootstrap interval
    (docs/img/<name>_intervals.png)."""
    from rlinfo.run.report_plots import intervals_figure
    from rlinfo.run.report_stats import Row

    rows, csv_rows = [], results.read_csv(RESULTS / f"{name}.csv")
    for env, method, seeds, values, (iqm, low, high, kind) in finals(csv_rows, metric):
        extra = {} if kind == "IQM" else {"interval": "range"}
        rows.append(Row(env, method, seeds, np.array(values), iqm, low, high, extra))
    return intervals_figure(Path(f"docs/img/{name}_intervals.png"), rows, metric)


METHOD_ORDER = ("diayn", "metra", "lsd", "csf", "dads", "becl", "cic")


def random_floor(baseline: list[dict[str, Any]], env: str, metric: str, seeds: set[int]) -> list[float]:
    """Random actions' ``metric`` on ``env`` at ``seeds`` (docs/results/random_baseline.csv's rows)."""
    return [r["value"] for r in sorted(baseline, key=lambda r: r["seed"])
            if (r["env"], r["metric"]) == (env, metric) and r["seed"] in seeds]  # fmt: skip


def skill_table(name: str, metrics: tuple[tuple[str, str], ...]) -> list[str]:
    """A collected sweep of skill methods on mazes: per env and method, the first metric per seed, then
    every metric's IQM over seeds with its 95% stratified-bootstrap interval (from 3 seeds; below that the
    mean and the range), at each run's last evaluation; and random actions' mean over the same seeds
    (docs/results/random_baseline.csv) where it has the first metric. ``metrics``: (eval.json key, title)."""
    rows = results.read_csv(RESULTS / f"{name}.csv")
    baseline = results.read_csv(RESULTS / "random_baseline.csv")
    first = metrics[0][0]
    body = []
    for env in sorted({r["env"] for r in rows}, key=lambda e: (e != "maze:square", e)):
        runs = results.by_run(rows, env)
        for method in sorted(runs, key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m)):
            finals = [steps[max(steps)] for _, steps in sorted(runs[method].items())]
            step = min(max(steps) for steps in runs[method].values())
            cells = [env, method, ",".join(map(str, sorted(runs[method]))), f"{step:,}",
                     " / ".join(f"{f[first]:.2f}" for f in finals)]  # fmt: skip
            for metric, _ in metrics:
                values = [f[metric] for f in finals if metric in f]
                if values:
                    point, low, high, kind = results.summary(values)
                    note = "" if kind == "IQM" else " (mean, range)"
                    cells.append(f"{point:.2f} [{low:.2f}, {high:.2f}]{note}")
                else:
                    cells.append("—")
            body.append(cells)
        seeds = {seed for seeds in runs.values() for seed in seeds}
        floor = random_floor(baseline, env, first, seeds)
        if floor:
            mean = f"{np.mean(floor):.2f} (mean)"
            per_seed = " / ".join(f"{v:.2f}" for v in floor)
            body.append([env, "random actions", ",".join(map(str, sorted(seeds))), "—", per_seed, mean,
                         *["—"] * (len(metrics) - 1)])  # fmt: skip
    head = ["env", "method", "seeds", "env steps", f"{metrics[0][1]}, per seed",
            *(f"{title}, IQM [95% CI]" for _, title in metrics)]  # fmt: skip
    return [*table(head, body), "", data_line(name, rows)]


def skill_figure(name: str, path: Path) -> Path:
    """Per env, each method's coverage at its runs' last evaluation: the IQM over seeds (dot) with its 95%
    interval (bar; the range below 3 seeds) and every seed (small marks), random actions dashed; one
    fraction-of-free-cells axis from 0 to 1 for every panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.read_csv(RESULTS / f"{name}.csv")
    baseline = results.read_csv(RESULTS / "random_baseline.csv")
    envs = sorted({r["env"] for r in rows}, key=lambda e: (e != "maze:square", e))
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 3.6), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        runs = results.by_run(rows, env)
        methods = sorted(runs, key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))
        for y, method in enumerate(methods):
            values = [steps[max(steps)]["coverage"] for _, steps in sorted(runs[method].items())]
            point, low, high, _ = results.summary(values)
            ax.plot([low, high], [y, y], color="C0", lw=3, alpha=0.5)
            ax.plot(point, y, "o", color="C0")
            ax.plot(values, [y] * len(values), "|", color="0.2", ms=9)
        seeds = {seed for seeds in runs.values() for seed in seeds}
        floor = random_floor(baseline, env, "coverage", seeds)
        if floor:
            ax.axvline(float(np.mean(floor)), color="0.4", ls="--", lw=1, label="random actions")
            ax.legend(fontsize=8, loc="lower right")
        ax.set_yticks(range(len(methods)), methods)
        ax.invert_yaxis()  # the table's order, top down
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("policy state coverage (fraction of free cells)")
        ax.set_title(f"{env}: IQM, 95% interval, seeds")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tabular_maxent_table(name: str) -> list[str]:
    rows = tabular_maxent.read_summary(RESULTS / f"{name}.csv")
    return [*tabular_maxent.markdown(rows).splitlines(), "", data_line(name, rows)]


def entropy_table() -> list[str]:
    """The entropy-controller table and what it means (the page docs/results/entropy.md has the rest)."""
    if not (RESULTS / "entropy.csv").is_file():
        return ["No data yet: run the command above."]
    runs, curves = entropy.load(RESULTS)
    rows = entropy.per_run(runs, curves)
    facts = sorted({f"{r['machine']}, {r['date']}" for r in runs})
    return [*entropy.table(rows), "", f"**What it means.** {entropy.verdict(rows)}", "",
            f"Data: [docs/results/entropy.csv](results/entropy.csv) · {'; '.join(facts)}."]  # fmt: skip


WALL = ("wall_s", "training wall-clock (min)", ".0f")
SPREAD = ("skill_spread", "spread of the skills' final x (`eval/skill_spread`)", ".3g")
BLOCKS: dict[str, Callable[[], list[str]]] = {
    "random_baseline": random_baseline,
    "quickstart": lambda: [*quickstart.table(quickstart.read_rows(RESULTS / "quickstart.csv")), "",
                           "Data: [docs/results/quickstart.csv](results/quickstart.csv)."],
    "entropy": entropy_table,
    "exploration": exploration.block,
    "slim_tabletop": slim.block,
    "tabular_maxent": partial(tabular_maxent_table, "tabular_maxent"),
    "tabular_maxent_600k": partial(tabular_maxent_table, "tabular_maxent_600k"),
    "sweep_maze": partial(final_scores, "sweep_maze", "coverage"),
    "ppo_cartpole": partial(final_scores, "ppo_cartpole", "return"),
    "mi_staircase": mi.staircase_block,
    "mi_consistency": mi.consistency_block,
    "mi_exact_critic": mi.exact_block,
    "speed": speed_tables.speed_block,
    "speed_e2e": speed_tables.e2e_lines,
    "update_benchmark": speed_tables.update_block,
    "overhead": speed_tables.overhead_block,
    "precision": speed_tables.precision_block,
    "precision_rounding": speed_tables.rounding_block,
    "maze_coverage": partial(skill_table, "maze_coverage", (("coverage", "coverage"),)),
    "maze_skills": partial(skill_table, "maze_skills", (
        ("coverage", "coverage"), ("goal_EndSuccess3", "goals: end ≤ 3 away"),
        ("goal_HitSuccess3", "goals: reached ≤ 3"), ("goal_final_distance", "goals: final distance"))),
    "sb3_sac_metra": integrations.sac_metra_table,
    "sb3_ppo_rnd": integrations.ppo_rnd_table,
    "cleanrl_diayn": integrations.diayn_line,
    "metra_ant_curve": partial(curve, "metra", "ant", (("coverage_cells", "coverage (cells)", ".0f"), WALL)),
    "metra_half_cheetah_curve": partial(
        curve, "metra", "half_cheetah", (("coverage_cells", "coverage (x cells)", ".0f"), SPREAD, WALL)
    ),
}


# figures of generated blocks: drawn by the plain command once their CSV exists
FIGURES: dict[str, Callable[[], Path]] = {
    "maze_coverage": partial(skill_figure, "maze_coverage", Path("docs/img/maze_coverage.png")),
    "maze_skills": partial(skill_figure, "maze_skills", Path("docs/img/maze_skills.png")),
    "exploration": exploration.figure,
    "slim_tabletop": slim.figure,
    "precision_benchmark": speed_tables.precision_figure,
    "sweep_maze": partial(sweep_figure, "sweep_maze", "coverage"),
    "mi_traces": mi.staircase_figure,
    "speed_benchmark": speed_tables.speed_figure,
    "update_benchmark": speed_tables.update_figure,
    "overhead_benchmark": speed_tables.overhead_figure,
    "tabular_maxent": tabular_maxent.figure,
}


def block_figures() -> str:
    drawn = [draw() for name, draw in FIGURES.items() if (RESULTS / f"{name}.csv").is_file()]
    return ", ".join(map(str, drawn)) or "no block figures"


def fill(path: Path) -> str:
    """The text of ``path`` with every generated block replaced by what its function returns now."""

    def render(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise SystemExit(f"{path}: unknown generated block {name!r} (known: {', '.join(BLOCKS)})")
        return match.group(1) + "\n".join(BLOCKS[name]()) + "\n" + match.group(4)

    return BLOCK.sub(render, path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- pages
def locomotion_page() -> str:
    """The last evaluation of every long run, with random actions' coverage at the runs' seeds."""
    rows = locomotion_rows()
    return locomotion.markdown(locomotion.final_table(rows, random_coverage(rows))) + "\n"


def locomotion_figure() -> Path:
    rows, path = locomotion_rows(), Path("docs/img/locomotion_benchmark.png")
    locomotion.figure(rows, random_coverage(rows), sorted({r["env"] for r in rows}), path)
    return path


def pages() -> dict[Path, tuple[Callable[[], str], Callable[[], Path | str] | None]]:
    """Each generated Markdown file: the function that writes its text and the one that draws its figure."""
    out: dict[Path, tuple[Callable[[], str], Callable[[], Path | str] | None]] = {
        RESULTS / "locomotion_benchmark.md": (locomotion_page, locomotion_figure),
        BENCHMARKS: (partial(fill, BENCHMARKS), block_figures),
    }
    for name, env in results.SKILL_PAGES.items():  # the skill-discovery comparisons
        if name == "ant_skills" or (RESULTS / f"{name}.csv").is_file():
            text, figure = partial(results.page_text, name, env), partial(results.page_figure, name, env)
            out[RESULTS / f"{name}.md"] = (text, figure)
    if ESTIMATORS.is_file():
        out[ESTIMATORS] = (partial(fill, ESTIMATORS), None)
    if (RESULTS / "entropy.csv").is_file():
        out[RESULTS / "entropy.md"] = (entropy.page_text, entropy.page_figure)
    if (RESULTS / "speed_e2e.csv").is_file():
        out[RESULTS / "speed_e2e.md"] = (speed_tables.e2e_text, speed_tables.e2e_figure)
    if (RESULTS / "urlb_lite.csv").is_file():
        out[RESULTS / "urlb_lite.md"] = (urlb_lite.page_text, urlb_lite.page_figure)
    return out


def differences(path: Path, generated: str) -> list[str]:
    """What differs between the committed file and ``generated``: the file, or each block of a block page."""
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    if committed == generated:
        return []
    if path not in BLOCK_PAGES:
        return [str(path)]
    new = {m.group(2): m.group(3) for m in BLOCK.finditer(generated)}
    old = BLOCK.finditer(committed)
    return [f"{path}: block {m.group(2)}" for m in old if new.get(m.group(2)) != m.group(3)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed Markdown only")
    args = parser.parse_args(argv)
    from rlinfo.files import write_text

    stale = []
    for path, (text, draw) in pages().items():
        generated = text()
        if args.check:
            stale += differences(path, generated)
            continue
        if not path.is_file() or path.read_text(encoding="utf-8") != generated:
            write_text(path, generated)
        print(f"{path}" + (f" and {draw()}" if draw else ""))
    for line in stale:
        print(f"differs from what docs/results/ generates: {line}")
    if stale:
        print("run `python -m benchmarks.pages` to regenerate")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
