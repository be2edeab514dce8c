"""URLB-lite end to end at a tiny budget: the pretraining sweep, the fine-tuning sweep it writes (DIAYN
twice: random and grid skills; DDPG from scratch), the collected CSV and the generated page."""

from __future__ import annotations

import pytest

from benchmarks import results, urlb_lite

SHORT = ("env.kwargs.max_episode_steps=50", "eval.num_rollouts=2", "train.learning_starts=100")


def test_urlb_lite_pretrains_finetunes_collects_and_writes_its_page(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    pytest.importorskip("rliable")
    root = tmp_path / "runs"
    pretrain = (*SHORT, "total_steps=300", "train.checkpoint_every=300")
    finetune = (*SHORT, "total_steps=200", "train.eval_every=100")
    grid = {"seed": [0], "preset": ["apt_urlb_walker", "diayn_urlb_walker"]}
    assert urlb_lite.run(root, ("walker_run",), pretrain, finetune, grid, cpus=2) == 0
    names = sorted(p.name for p in (root / "finetune").glob("*/eval.json"))
    assert len(names) == 4  # apt, diayn (random), diayn (grid), ddpg from scratch
    out = tmp_path / "urlb_lite.csv"
    assert urlb_lite.collect(root, out) == 0
    rows = results.read_csv(out)
    methods = {r["method"] for r in rows}
    assert methods == {"apt", "diayn (random)", "diayn (grid)", "ddpg (scratch)"}
    assert {r["step"] for r in rows} == {100, 200} and {r["env"] for r in rows} == {"urlb:walker_run"}
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
