"""One bad file never blocks a report or a sweep: malformed or non-finite eval.json files are named in
one line and left out, NaN never reaches an aggregate, and JSON booleans are not numbers."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest

from rlinfo.run.cli import main
from rlinfo.run.sweep import eval_steps, is_finished

TINY = ["total_steps=300", "train.learning_starts=100", "env.num_envs=4", "eval.num_rollouts=4",
        "train.progress=false"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for seed in range(3):
        where = [f"run_root={root}", f"run_name=good{seed}"]
        assert main(["train", "metra_maze", *TINY, f"seed={seed}", *where]) == 0
    return root


def break_copy(runs: Path, dest: Path, name: str, edit) -> Path:
    shutil.copytree(runs / "good0", dest / name)
    path = dest / name / "eval.json"
    text = edit(path.read_text())
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace('"steps": 300', '"steps": 1e999'), "'steps' must be a finite whole number"),
        (lambda t: "{not json", "unreadable"),
        (lambda t: "[1, 2]", "expected a JSON object"),
        (lambda t: json.dumps(json.loads(t) | {"coverage": float("nan")}), "not a finite number"),
        (lambda t: json.dumps(json.loads(t) | {"coverage": True}), "not a finite number"),
    ],
)
def test_report_names_a_broken_eval_json_and_aggregates_the_others(runs, tmp_path, capsys, edit, words):
    folder = tmp_path / "folder"
    for seed in range(3):
        shutil.copytree(runs / f"good{seed}", folder / f"good{seed}")
    bad = break_copy(runs, folder, "broken", edit)
    assert main(["report", str(folder), "--reps", "50"]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "broken" in line]
    assert len(warned) == 1 and words in warned[0] and str(bad.parent) in warned[0]
    with (folder / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["runs"] == "3" and rows[0]["seeds"] == "0 1 2"
    for key in ("mean", "std", "iqm", "iqm_low", "iqm_high"):
        assert math.isfinite(float(rows[0][key])), rows[0]


def test_sweep_status_treats_a_non_finite_steps_as_unfinished(runs, tmp_path):
    break_copy(runs, tmp_path, "inf", lambda t: t.replace('"steps": 300', '"steps": 1e999'))
    break_copy(runs, tmp_path, "bool", lambda t: t.replace('"steps": 300', '"steps": true'))
    for name in ("inf", "bool"):
        assert eval_steps(tmp_path / name) == -1
        assert not is_finished(tmp_path / name, 300)
    assert eval_steps(runs / "good0") == 300


def test_report_warns_on_fewer_than_three_runs_and_gives_their_range(runs, tmp_path, capsys):
    for n, kind in ((2, "range"), (3, "95% CI")):
        folder = tmp_path / f"n{n}"
        for seed in range(n):
            shutil.copytree(runs / f"good{seed}", folder / f"good{seed}")
        assert main(["report", str(folder), "--reps", "50"]) == 0
        err = capsys.readouterr().err
        with (folder / "report.csv").open() as f:
            row = next(csv.DictReader(f))
        assert row["interval"] == kind
        text = (folder / "report.md").read_text()
        if n == 2:
            evals = [json.loads((folder / f"good{s}" / "eval.json").read_text()) for s in range(2)]
            values = [e["coverage"] for e in evals]
            assert float(row["iqm_low"]) == pytest.approx(min(values))
            assert float(row["iqm_high"]) == pytest.approx(max(values))
            assert "2 runs; a 95% interval needs at least 3" in err and "Too few runs" in text
        else:
            assert "needs at least 3" not in err and "Too few runs" not in text


def test_urlb_normalisation_divides_by_the_expert_score_and_pools_each_domain(runs, tmp_path):
    """Returns 984·(0.5, 0.6, 0.7) on walker_stand and 796·(0.1, 0.2, 0.3) on walker_run: normalised IQMs
    0.6 and 0.2 (3 runs: the mean), and the walker domain's IQM over all 6 scores trims one from each end:
    mean(0.2, 0.3, 0.5, 0.6) = 0.4."""
    from rlinfo.envs.urlb import EXPERT_SCORES

    dest = tmp_path / "urlb"
    for task, fractions in (("walker_stand", (0.5, 0.6, 0.7)), ("walker_run", (0.1, 0.2, 0.3))):
        for seed, fraction in enumerate(fractions):
            run = dest / f"{task}{seed}"
            shutil.copytree(runs / f"good{seed}", run)
            config = run / "config.yaml"
            config.write_text(config.read_text().replace("name: maze:square", f"name: urlb:{task}", 1))
            result = json.loads((run / "eval.json").read_text())
            (run / "eval.json").write_text(json.dumps(result | {"return": fraction * EXPERT_SCORES[task]}))
    out = tmp_path / "r"
    assert main(["report", str(dest), "--normalize", "urlb", "--reps", "200", "--out", str(out)]) == 0
    with (tmp_path / "r" / "report.csv").open() as f:
        iqm = {r["env"]: float(r["iqm"]) for r in csv.DictReader(f) if r["metric"] == "return / expert"}
    assert iqm == pytest.approx({"urlb:walker_stand": 0.6, "urlb:walker_run": 0.2,
                                 "walker (all tasks)": 0.4, "all envs": 0.4})  # fmt: skip


def test_urlb_normalisation_names_a_run_outside_urlb(runs, tmp_path, capsys):
    args = ["report", str(runs), "--normalize", "urlb", "--metric", "coverage", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlinfo: error: --normalize urlb: maze:square is not a URLB task (known: urlb:")
    assert not (tmp_path / "r").exists()


def test_the_urlb_expert_scores_are_the_published_ones():
    from rlinfo.envs.urlb import EXPERT_SCORES, URLB_TASKS

    assert list(EXPERT_SCORES) == [task for tasks in URLB_TASKS.values() for task in tasks]

    assert EXPERT_SCORES == {
        "walker_stand": 984, "walker_walk": 971, "walker_run": 796, "walker_flip": 799,
        "quadruped_walk": 866, "quadruped_run": 888, "quadruped_stand": 920, "quadruped_jump": 888,
        "jaco_reach_top_left": 191, "jaco_reach_top_right": 223, "jaco_reach_bottom_left": 193,
        "jaco_reach_bottom_right": 203,
    }  # fmt: skip


def test_label_names_groups_by_one_key_where_other_keys_vary(runs, tmp_path, capsys):
    """Three seeds that also differ in eval.max_steps: by default three groups of one run (the varying key
    joins each label); with --label agent.name, one group of three named by that key only."""
    for seed in range(3):
        shutil.copytree(runs / f"good{seed}", tmp_path / "in" / f"good{seed}")
        config = tmp_path / "in" / f"good{seed}" / "config.yaml"
        text = config.read_text()
        assert "  max_steps: 0\n" in text
        config.write_text(text.replace("  max_steps: 0\n", f"  max_steps: {100 + seed}\n", 1))

    def groups(*extra: str) -> list[dict[str, str]]:
        out = ["--out", str(tmp_path / "r")]
        assert main(["report", str(tmp_path / "in"), "--reps", "50", *out, *extra]) == 0
        with (tmp_path / "r" / "report.csv").open() as f:
            return list(csv.DictReader(f))

    assert sorted(r["runs"] for r in groups()) == ["1", "1", "1"]
    labelled = groups("--label", "agent.name")
    assert [(r["method"], r["runs"]) for r in labelled] == [("metra agent.name=sac", "3")]
    assert main(["report", str(tmp_path / "in"), "--label", "agent.nope", "--out", str(tmp_path / "x")]) == 2
    assert "--label: no run has the config key 'agent.nope'" in capsys.readouterr().err


def test_bootstrap_intervals_do_not_depend_on_the_global_rng():
    """The interval comes from the seed alone, whatever NumPy's global generator holds, and the caller's
    global generator is left as it was."""
    import numpy as np

    from rlinfo.run.report_stats import bootstrap

    scores = np.array([[0.34], [0.40], [0.27]])
    intervals = set()
    for i in range(20):
        np.random.seed(i)
        state = np.random.get_state()[1].copy()
        intervals.add(tuple(bootstrap(scores, 500)[1].ravel()))
        assert (np.random.get_state()[1] == state).all()
    assert len(intervals) == 1
    many = np.random.default_rng(0).normal(size=(8, 2))
    assert len({tuple(bootstrap(many, 500, seed)[1].ravel()) for seed in range(3)}) == 3  # the seed counts


def test_report_needs_no_rliable(runs, tmp_path):
    """The base install reports: with rliable unimportable, ``rlinfo report`` writes its 95% intervals and
    figures."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['rliable'] = None; from rlinfo.run.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")  # fmt: skip
    out = tmp_path / "report"
    args = ["report", str(runs), "--reps", "100", "--out", str(out)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    with (out / "report.csv").open() as f:
        row = next(csv.DictReader(f))
    assert row["interval"] == "95% CI"
    assert float(row["iqm_low"]) <= float(row["iqm"]) <= float(row["iqm_high"])
    assert (out / "intervals.png").stat().st_size > 0 and (out / "curves.png").stat().st_size > 0


def rliable_bootstrap(scores, reps, seed):
    """rliable's percentile stratified bootstrap of the IQM over runs and tasks (of each point of a
    curve ``[runs, tasks, P]``), seeded as its draws from NumPy's global generator need."""
    import warnings

    import numpy as np
    from rliable import library, metrics

    def statistic(x):  # a curve's IQM at each point, as rliable's docs compute sample-efficiency curves
        return (
            metrics.aggregate_iqm(x)
            if x.ndim == 2
            else np.array([metrics.aggregate_iqm(x[..., p]) for p in range(x.shape[-1])])
        )

    outside = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # arch's notice about its random_state keyword
            point, interval = library.get_interval_estimates(
                {"m": scores}, statistic, reps=reps, random_state=np.random.RandomState(seed)
            )
    finally:
        np.random.set_state(outside)
    return np.atleast_1d(point["m"]), np.asarray(interval["m"]).reshape(2, -1)


# runs × tasks, and curves [runs, tasks, points] (rliable computes a curve's statistic one point at a time,
# which makes those slow to check); the last case is drawn in several blocks
CASES = [
    ((1, 1), 200),
    ((3, 1), 200),
    ((3, 2), 200),
    ((5, 3), 200),
    ((10, 12), 200),
    ((3, 1, 8), 60),
    ((3, 2, 7), 60),
    ((1, 1, 5), 60),
    ((20, 1, 5), 60),
    ((10, 2, 3), 60),
    ((100, 30), 1_500),
]


@pytest.mark.parametrize(("shape", "reps"), CASES)
def test_bootstrap_is_rliables_stratified_bootstrap_bit_for_bit(shape, reps):
    """Points and intervals equal rliable's to the last bit: on runs × tasks and on curves, on floats, ties,
    integers and float32, for two seeds; the largest draws are made in several blocks."""
    import numpy as np

    from rlinfo.run.report_stats import bootstrap

    rng = np.random.default_rng(sum(shape) + reps)
    kinds = (rng.normal(size=shape), rng.integers(0, 4, size=shape), rng.random(shape).astype(np.float32))
    assert shape != CASES[-1][0] or reps > (1 << 22) // np.prod(shape)  # more than one block
    for scores in kinds:
        for seed in (0, 7):
            ours, theirs = bootstrap(scores, reps, seed), rliable_bootstrap(scores, reps, seed)
            for a, b in zip(ours, theirs, strict=True):
                assert a.shape == b.shape and (a == b).all(), (scores.dtype, seed, a, b)


@pytest.mark.parametrize("shape", [(1,), (3,), (4,), (5, 1), (3, 4), (7, 3), (10, 12)])
def test_iqm_is_rliables_aggregate_iqm_bit_for_bit(shape):
    """The interquartile mean the reports and results pages bootstrap: scipy's trim_mean(·, 0.25) as
    rliable computes it, to the last bit, on scores with ties and on integers; and along an axis."""
    import numpy as np
    from rliable import metrics
    from scipy.stats import trim_mean

    from rlinfo.run.report_stats import iqm

    rng = np.random.default_rng(sum(shape))
    kinds = (rng.normal(size=shape), rng.integers(0, 4, size=shape), rng.random(shape).astype(np.float32))
    for scores in kinds:
        assert iqm(scores) == metrics.aggregate_iqm(scores)
        if scores.ndim == 2:
            assert (iqm(scores, axis=0) == trim_mean(scores, 0.25, axis=0)).all()
    assert iqm(np.array([1.0, 2.0, 3.0, 100.0])) == 2.5  # the middle half of four: 2 and 3
