"""URLB-lite end to end at a tiny budget: the pretraining sweep, the fine-tuning sweep it writes (DIAYN
twice: random and grid skills; DDPG from scratch), the collected CSV and the generated page."""

from __future__ import annotations

import pytest

from benchmarks import results, urlb_lite

SHORT = ("env.kwargs.max_episode_steps=50", "eval.num_rollouts=2", "train.learning_starts=100")


def test_urlb_lite_pretrains_finetunes_collects_and_writes_its_page(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")
    root = tmp_path / "runs"
    pretrain = (*SHORT, "total_steps=300", "train.checkpoint_every=300")
    finetune = (*SHORT, "total_steps=200", "train.eval_every=100")
    grid = {"seed": [0], "preset": ["apt_urlb_walker", "diayn_urlb_walker"]}
    assert urlb_lite.run(root, ("walker_run",), pretrain, finetune, grid, cpus=2) == 0
    names = sorted(p.parent.name for p in (root / "finetune").glob("*/eval.json"))
    assert names == ["walker_run__apt__seed0", "walker_run__ddpg__scratch__seed0",
                     "walker_run__diayn__grid__seed0", "walker_run__diayn__random__seed0"]  # fmt: skip
    out = tmp_path / "urlb_lite.csv"
    assert urlb_lite.collect(root, out) == 0
    rows = results.read_csv(out)
    methods = {r["method"] for r in rows}
    assert methods == {"apt", "diayn (random)", "diayn (grid)", "ddpg (scratch)"}
    assert {r["step"] for r in rows} == {100, 200} and {r["env"] for r in rows} == {"urlb:walker_run"}
    # a run still going (its eval.json short of total_steps) is left out: finals are at the full budget
    import json
    import shutil

    going = root / "finetune" / "walker_run__apt__seed9"
    shutil.copytree(root / "finetune" / "walker_run__apt__seed0", going)
    evaluation = json.loads((going / "eval.json").read_text())
    (going / "eval.json").write_text(json.dumps({**evaluation, "steps": 100}))
    capsys.readouterr()
    assert urlb_lite.collect(root, out) == 0
    assert "4 fine-tuning runs (1 unfinished left out)" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "img").mkdir()
    assert urlb_lite.page(out) == 0
    text = (tmp_path / "docs" / "results" / "urlb_lite.md").read_text()
    for method in methods:
        assert f"| {method} | 1 |" in text
    # the budget stated is the spec's preset's and the rows' (one task, 200 fine-tuning steps here)
    assert "DDPG with 128-unit networks and batch 128, 100,000 pretraining steps, 200 fine-tuning steps on " \
        "walker_run" in text
    assert (tmp_path / "docs" / "img" / "urlb_lite.png").stat().st_size > 10_000


def test_the_full_protocol_overrides_resolve_for_every_method_of_the_spec():
    """``run --full`` gives every pretraining preset URLB's sizes, the reward modules' networks too."""
    import yaml

    from rlinfo.config import load_config

    spec = yaml.safe_load(urlb_lite.SPEC.read_text(encoding="utf-8"))
    for preset in spec["grid"]["preset"]:
        cfg = load_config(preset, urlb_lite.FULL_PRETRAIN)
        assert (cfg.agent.hidden_dim, cfg.agent.batch_size, cfg.total_steps) == (1024, 1024, 2_000_000)
        assert cfg.reward.params["hidden_dim"] == 1024 and cfg.device == "cuda"


@pytest.mark.parametrize("status", [1, 130])  # a failed trial; stopped by a signal
def test_an_unfinished_pretraining_sweep_stops_before_fine_tuning(tmp_path, monkeypatch, status):
    """Fine-tuning needs every pretraining run: an interrupted or failed pretraining sweep ends ``run``
    with its status and writes no fine-tuning spec (rerunning the command resumes the pretraining)."""
    import rlinfo.run.sweep

    calls = []

    def sweep(spec, out, num_cpus=None):
        calls.append(out)
        return status

    monkeypatch.setattr(rlinfo.run.sweep, "run_sweep", sweep)
    assert urlb_lite.run(tmp_path, grid={"seed": [0]}) == status
    assert calls == [tmp_path / "pretrain"] and not (tmp_path / "finetune.yaml").exists()


def scores(center: float, spread: float = 0.01) -> dict[str, dict[int, float]]:
    """Expert-normalised finals on walk and run, 3 seeds, close to ``center``."""
    return {task: {seed: center + spread * (seed - 1) for seed in range(3)}
            for task in ("urlb:walker_walk", "urlb:walker_run")}  # fmt: skip


def test_verdict_says_above_or_below_scratch_and_whether_the_intervals_are_apart():
    tasks = ["urlb:walker_walk", "urlb:walker_run"]
    finals = {"ddpg (scratch)": scores(0.30), "cic": scores(0.60), "apt": scores(0.31, spread=0.2),
              "metra": scores(0.10)}  # fmt: skip
    text = urlb_lite.verdict(finals, ["ddpg (scratch)"], tasks)
    assert text.startswith(  # the methods by score, highest first
        "DDPG from scratch scores 0.30 on the walker IQM; cic 0.60 (above, intervals apart);")
    assert "apt 0.31 (above, intervals overlap)" in text and "metra 0.10 (below, intervals apart)" in text
    assert text.endswith("APT or CIC above DDPG from scratch with the intervals apart: cic.")
    finals["cic"] = scores(0.30, spread=0.2)
    assert urlb_lite.verdict(finals, ["ddpg (scratch)"], tasks).endswith(
        "with the intervals apart: none at this budget (pretraining did not measurably help here).")
    two_seeds = {m: {t: {0: v[0], 1: v[1]} for t, v in per.items()} for m, per in finals.items()}
    assert "not measurable with fewer than 3 seeds" in urlb_lite.verdict(two_seeds, ["ddpg (scratch)"], tasks)


def test_the_page_names_each_methods_fine_tuning_skill_choice():
    methods = ["apt", "cic", "ddpg (scratch)", "diayn (grid)", "diayn (random)", "metra"]
    assert urlb_lite.skill_choices(methods) == "cic: mean, diayn: random and grid, metra: regress"
