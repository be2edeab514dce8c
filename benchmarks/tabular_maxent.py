"""The tabular maximum-entropy benchmark's table and figure, from its CSVs (docs/results/tabular_maxent.csv:
the summary; tabular_maxent_curves.csv, tabular_maxent_counts.csv: the entropy curves and state visits),
so that ``scripts/tabular_maxent.py`` (from the CSVs it has just written) and ``python -m benchmarks.pages``
(from the committed ones) draw the same ones."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

NUMBERS = ("visit_entropy_mean", "visit_entropy_std", "exact_entropy_mean", "exact_entropy_std",
           "traj_entropy_mean", "log_S")  # fmt: skip


def read_summary(path: Path) -> list[dict[str, object]]:
    """The rows of the script's summary.csv, with counts and entropies as numbers."""
    with path.open(encoding="utf-8") as f:
        rows: list[dict[str, object]] = list(csv.DictReader(f))
    for r in rows:
        r.update({k: float(r[k]) for k in NUMBERS} | {k: int(r[k]) for k in ("samples", "seeds")})
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    head = (
        "| env | method | samples | seeds | visitation entropy (samples) | exact, output policy "
        "| trajectory entropy, final π | log S |\n|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        vis = f"{r['visit_entropy_mean']:.3f} ± {r['visit_entropy_std']:.3f}"
        vis = "—" if np.isnan(r["visit_entropy_mean"]) else vis
        te = "—" if np.isnan(r["traj_entropy_mean"]) else f"{r['traj_entropy_mean']:.2f}"
        lines.append(
            f"| {r['env']} | {r['method']} | {r['samples'] or '—'} | {r['seeds']} | {vis} "
            f"| {r['exact_entropy_mean']:.3f} ± {r['exact_entropy_std']:.3f} | {te} "
            f"| {r['log_S']:.3f} |"
        )
    return head + "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figure
RESULTS = Path("docs/results")
FIGURE = Path("docs/img/tabular_maxent.png")
COLORS = {"EntGame": "C0", "EntGame (clip)": "C9", "UCBVI-Ent": "C1", "Random": "C7"}
MVEE_ITERS = 300  # Frank–Wolfe iterations of the MVEE oracle (gap ~0.016 nats on the grid world)


@functools.cache
def mvee(mdp_name: str) -> tuple[np.ndarray, float]:
    """MVEE oracle (d̄, Frank–Wolfe gap) of the grid world or the double chain, computed once."""
    from rlinfo.tabular import double_chain, gridworld, mvee_oracle

    mdp = {m().name: m() for m in (gridworld, double_chain)}[mdp_name]
    return mvee_oracle(mdp, MVEE_ITERS)


def read_rows(path: Path, ints: tuple[str, ...], floats: tuple[str, ...]) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        rows: list[dict[str, object]] = list(csv.DictReader(f))
    for r in rows:
        r.update({k: int(r[k]) for k in ints} | {k: float(r[k]) for k in floats})
    return rows


CURVES, COUNTS = RESULTS / "tabular_maxent_curves.csv", RESULTS / "tabular_maxent_counts.csv"


def figure(curves: Path = CURVES, counts: Path = COUNTS, path: Path = FIGURE) -> Path:
    """Visitation entropy against samples (mean ± std over seeds) per env with log |S| and the MVEE
    oracle; the double chain's mean visitation; the grid world's visitation maps (seed 0) beside the
    MVEE and MTEE oracles' (computed on the true model)."""
    from matplotlib.colors import LogNorm

    from rlinfo.evaluation.plots import plt
    from rlinfo.files import save_figure
    from rlinfo.tabular import (
        double_chain,
        entropy,
        gridworld,
        mtee_oracle_policy,
        policy_visitation,
    )

    curve_rows = read_rows(curves, ("seed_index", "samples"), ("visitation_entropy",))
    count_rows = read_rows(counts, ("seed_index", "state"), ("count",))
    models = {"gridworld": gridworld(), "double_chain": double_chain()}
    fig = plt.figure(figsize=(20, 8), layout="constrained")
    grid = fig.add_gridspec(2, 5)

    def visitation(env: str, method: str, seed: int | None) -> np.ndarray:
        """d(s) of one seed's samples, or the mean over seeds of each seed's d(s)."""
        mine = [r for r in count_rows if (r["env"], r["method"]) == (env, method)]
        seeds = sorted({r["seed_index"] for r in mine}) if seed is None else [seed]
        ds = []
        for s in seeds:
            d = np.zeros(models[env].n_states)
            for r in mine:
                if r["seed_index"] == s:
                    d[r["state"]] = r["count"]
            ds.append(d / d.sum())
        return np.mean(ds, axis=0)

    envs = [e for e in models if any(r["env"] == e for r in curve_rows)]
    for col, env in zip((slice(0, 2), slice(2, 4)), envs, strict=False):
        ax, mdp = fig.add_subplot(grid[0, col]), models[env]
        for method in dict.fromkeys(r["method"] for r in curve_rows if r["env"] == env):
            mine = [r for r in curve_rows if (r["env"], r["method"]) == (env, method)]
            seeds = sorted({r["seed_index"] for r in mine})
            ent = np.array([[r["visitation_entropy"] for r in mine if r["seed_index"] == s] for s in seeds])
            x = [r["samples"] for r in mine if r["seed_index"] == seeds[0]]
            m, s = ent.mean(axis=0), ent.std(axis=0)
            ax.plot(x, m, label=method, color=COLORS.get(method))
            ax.fill_between(x, m - s, m + s, color=COLORS.get(method), alpha=0.2)
        ax.axhline(np.log(mdp.n_states), ls="--", color="k", label="log |S|")
        ax.axhline(entropy(mvee(mdp.name)[0]), ls=":", color="C3", label="MVEE oracle")
        ax.set(xscale="log", xlabel="samples (episodes × H)", ylabel="visitation entropy (nats)", title=env)
        ax.legend(fontsize=8)
    if "double_chain" in envs:
        ax = fig.add_subplot(grid[0, 4])
        for method in dict.fromkeys(r["method"] for r in count_rows if r["env"] == "double_chain"):
            d = visitation("double_chain", method, None)
            ax.plot(d, marker=".", label=method, color=COLORS.get(method))
        ax.set(xlabel="state", ylabel="visitation d(s)", title="double chain: visitation (mean over seeds)")
        ax.legend(fontsize=8)
    if "gridworld" in envs:
        mdp = models["gridworld"]
        methods = dict.fromkeys(r["method"] for r in count_rows if r["env"] == "gridworld")
        maps = {m: visitation("gridworld", m, 0) for m in methods}
        maps["MVEE oracle"] = mvee(mdp.name)[0]
        maps["MTEE oracle"] = policy_visitation(mdp, mtee_oracle_policy(mdp)).mean(axis=0)
        norm = LogNorm(vmin=1e-5, vmax=max(v.max() for v in maps.values()))
        heat_axes = []
        for i, (method, d) in enumerate(list(maps.items())[:5]):
            ax = fig.add_subplot(grid[1, i])
            heat_axes.append(ax)
            im = ax.imshow(np.maximum(d, 1e-5).reshape(mdp.grid_shape), norm=norm, cmap="viridis")
            ax.set(title=f"{method}: H(d) = {entropy(d):.2f}", xticks=[], yticks=[])
        fig.colorbar(im, ax=heat_axes, shrink=0.8, label="visitation d(s) (seed 0; oracles exact)")
    fig.suptitle("Tabular max-entropy exploration (Tiapkin et al., 2023)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path, dpi=110)
