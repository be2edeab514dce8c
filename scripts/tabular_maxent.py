"""Tabular maximum-entropy exploration: EntGame and UCBVI-Ent vs a random policy (Tiapkin et al., 2023).

Environments of the paper: the 21 × 21 grid world (start in the centre, p_success 0.95, H = 20,
|S| = 441) and the double chain (L = 31, p_fail 0.1, H = 20). Each method plays the same number
of episodes for several seeds; the metric is the entropy (nats) of the empirical state visitation
of all samples, d(s) = N(s)/(episodes · H), against samples = episodes · H, compared with log |S|.
Also reported: the exact visitation entropy of each method's output policy (dynamic programming;
EntGame: the uniform mixture of its sampler policies, UCBVI-Ent/Random: the final policy), the
exact trajectory entropy of the final policy, and two oracles on the true model: MVEE (maximum
visitation entropy over policy mixtures, Frank–Wolfe; the best any explorer can reach) and MTEE
(maximum trajectory entropy, soft VI; what UCBVI-Ent converges to).

    python scripts/tabular_maxent.py --out docs/results     # ~3-4 min on one CPU core
    python scripts/tabular_maxent.py --grid-episodes 30000  # the paper's 600k grid-world samples

Prints a Markdown table (benchmarks/tabular_maxent.py) and writes to ``--out`` tabular_maxent.csv (the
summary, with the command, machine and date), tabular_maxent_curves.csv (entropy against samples),
tabular_maxent_counts.csv (state visits per run); the figure (benchmarks/tabular_maxent.py,
from those CSVs) goes to ``--img`` (default docs/img/tabular_maxent.png; '' puts it in ``--out``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small mat-vecs: BLAS threads only contend with each other

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ (the table, the CSV columns)
from benchmarks.tabular_maxent import figure as tabular_figure  # noqa: E402
from benchmarks.tabular_maxent import markdown, mvee  # noqa: E402
from benchmarks.timing import meta  # noqa: E402
from rlinfo.tabular import (  # noqa: E402
    EntGame,
    FiniteMDP,
    RandomPolicy,
    RunResult,
    UCBVIEnt,
    double_chain,
    entropy,
    gridworld,
    mtee_oracle_policy,
    policy_visitation,
    run,
    trajectory_entropy,
)

ENVS: dict[str, Callable[[], FiniteMDP]] = {"gridworld": gridworld, "double_chain": double_chain}
# method label -> planner factory; clip=True is the reference config's setting on the double chain
METHODS: dict[str, dict[str, Callable[[], object]]] = {
    "gridworld": {"EntGame": EntGame, "UCBVI-Ent": UCBVIEnt, "Random": RandomPolicy},
    "double_chain": {
        "EntGame": EntGame,
        "EntGame (clip)": lambda: EntGame(clip=True),
        "UCBVI-Ent": UCBVIEnt,
        "Random": RandomPolicy,
    },
}
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("bench_out/tabular_maxent"))
    p.add_argument("--img", default="docs/img/tabular_maxent.png", help="figure ('': in --out)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--envs", nargs="+", choices=list(ENVS), default=list(ENVS))
    p.add_argument("--grid-episodes", type=int, default=5000, help="episodes of H = 20 (paper: 30000)")
    p.add_argument("--chain-episodes", type=int, default=5000, help="episodes of H = 20 (paper: 5000)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args()


def run_all(args: argparse.Namespace) -> dict[str, dict[str, list[RunResult]]]:
    """results[env][method] = one RunResult per seed."""
    from tqdm import tqdm

    episodes = {"gridworld": args.grid_episodes, "double_chain": args.chain_episodes}
    jobs = [(e, m, s) for e in args.envs for m in METHODS[e] for s in args.seeds]
    results: dict[str, dict[str, list[RunResult]]] = {e: {m: [] for m in METHODS[e]} for e in args.envs}
    for env, method, seed in tqdm(jobs, desc="runs", disable=args.no_progress):
        mdp = ENVS[env]()
        planner = METHODS[env][method]()
        res = run(planner, mdp, episodes[env], seed=seed, progress=not args.no_progress)
        results[env][method].append(res)
    return results


def summarise(results: dict[str, dict[str, list[RunResult]]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for env, by_method in results.items():
        mdp = ENVS[env]()
        for method, runs in by_method.items():
            fin = np.array([r.entropy[-1] for r in runs])
            exact = np.array([r.exact_entropy for r in runs])
            te = np.array([trajectory_entropy(mdp, r.policy) for r in runs])
            rows.append(_row(env, method, runs[0].samples[-1], len(runs), fin, exact, te, mdp))
        nan = np.array([np.nan])
        d_mvee, gap = mvee(mdp.name)
        h_mvee = np.array([entropy(d_mvee)])
        rows.append(_row(env, f"MVEE oracle (FW gap {gap:.3f})", 0, 1, nan, h_mvee, nan, mdp))
        oracle = mtee_oracle_policy(mdp)
        d = policy_visitation(mdp, oracle).mean(axis=0)
        te_o = np.array([trajectory_entropy(mdp, oracle)])
        rows.append(_row(env, "MTEE oracle", 0, 1, nan, np.array([entropy(d)]), te_o, mdp))
    return rows


def _row(env, method, samples, n, fin, exact, te, mdp) -> dict[str, object]:  # noqa: ANN001
    def ms(x: np.ndarray) -> tuple[float, float]:
        return float(np.mean(x)), float(np.std(x))

    return {
        "env": env,
        "method": method,
        "samples": int(samples),
        "seeds": n,
        "visit_entropy_mean": ms(fin)[0],
        "visit_entropy_std": ms(fin)[1],
        "exact_entropy_mean": ms(exact)[0],
        "exact_entropy_std": ms(exact)[1],
        "traj_entropy_mean": ms(te)[0],
        "log_S": float(np.log(mdp.n_states)),
    }


Results = dict[str, dict[str, list[RunResult]]]


def each_run(results: Results) -> Iterator[tuple[str, str, int, RunResult]]:
    """(env, method, seed index, run) of every run in ``results``."""
    for env, by_method in results.items():
        for method, runs in by_method.items():
            for i, r in enumerate(runs):
                yield env, method, i, r


def write_csv(results: Results, rows: list[dict[str, object]], out: Path) -> None:
    with open(out / "tabular_maxent_curves.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env", "method", "seed_index", "samples", "visitation_entropy"])
        for env, method, i, r in each_run(results):
            pairs = zip(r.samples, r.entropy, strict=True)
            w.writerows([env, method, i, int(n), f"{e:.6f}"] for n, e in pairs)
    with open(out / "tabular_maxent_counts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env", "method", "seed_index", "state", "count"])
        for env, method, i, r in each_run(results):
            w.writerows([env, method, i, s, int(c)] for s, c in enumerate(r.state_counts) if c)
    stamped = [{**r, **meta()} for r in rows]  # + command, machine, date, python and torch versions
    with open(out / "tabular_maxent.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(stamped[0]))
        w.writeheader()
        w.writerows(stamped)


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    results = run_all(args)
    rows = summarise(results)
    table = markdown(rows)
    print(table)
    print(f"wall time {time.time() - start:.0f} s")
    write_csv(results, rows, args.out)
    figure = Path(args.img) if args.img else args.out / "tabular_maxent.png"
    tabular_figure(args.out / "tabular_maxent_curves.csv", args.out / "tabular_maxent_counts.csv", figure)
    print(f"wrote {args.out}/tabular_maxent.csv, tabular_maxent_curves.csv, tabular_maxent_counts.csv "
          f"and {figure}")


if __name__ == "__main__":
    main()
