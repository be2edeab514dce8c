"""``train.cuda_graph``: the update replayed from captured graphs learns exactly what the eager update does.

On the CPU the CUDA recorder is replaced by one with a graph's contract: recording runs nothing, each
replay recomputes the step on the *static* input tensors and writes into the *same* output tensors.
That checks the plumbing a GPU run relies on (inputs copied in, outputs copied out before the next
replay, one graph per reward-update flag, warm-up, the eager fallback). The real capture runs in the
tests marked ``gpu`` (scripts/gpu_check.sh) on a machine with CUDA.
"""

from __future__ import annotations

import pytest
import torch

from rlinfo.config import load_config
from rlinfo.errors import RlinfoError
from rlinfo.run.build import build
from rlinfo.run.graphs import WARMUP, GraphedStep
from rlinfo.run.loop import Trainer
from rlinfo.types import Batch
from tests.run.test_resume import TINY, assert_same_buffer

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (scripts/gpu_check.sh)")


def replaying_capture(fn, static: Batch, flag: bool, pool):  # type: ignore[no-untyped-def]
    """A CPU stand-in for ``cuda_capture``: nothing runs when recording; a replay reruns ``fn`` on the
    static inputs and overwrites the one set of output tensors, as a replayed CUDA graph does."""
    out: dict[str, torch.Tensor] = {}

    def replay() -> None:
        result = fn(static, flag)
        for k, v in result.items():
            if k in out:
                out[k].copy_(v)
            else:
                out[k] = v.detach().clone()

    return replay, out


def trained(overrides: list[str], graphed: bool, capture=replaying_capture) -> Trainer:  # type: ignore[no-untyped-def]
    trainer = Trainer(load_config("metra_maze", [*TINY, "total_steps=1000", *overrides]))
    if graphed:
        learner = trainer.learner
        learner.learn_step = GraphedStep(learner.learn_batch, trainer.device, True, capture=capture)
    trainer.train()
    return trainer


@pytest.mark.parametrize("every", [1, 2])  # 2: two graphs, with and without the reward-module update
def test_replayed_updates_learn_what_eager_updates_learn(every: int) -> None:
    overrides = [f"train.reward_update_every={every}"]
    eager, graphed = trained(overrides, False), trained(overrides, True)
    step = graphed.learner.learn_step
    assert step.enabled and set(step.graphs) == ({True} if every == 1 else {True, False})
    assert graphed.learner.num_updates > WARMUP + 2
    assert graphed.history == eager.history  # every logged statistic, so outputs are copied out per replay
    assert_same_buffer(graphed.buffer, eager.buffer)
    for k, v in eager.agent.state_dict().items():
        assert torch.equal(v, graphed.agent.state_dict()[k]), k
    for k, v in eager.reward_module.state_dict().items():
        assert torch.equal(v, graphed.reward_module.state_dict()[k]), k


def test_a_step_that_cannot_be_captured_warns_once_and_runs_eagerly(capsys) -> None:
    def refusing(fn, static, flag, pool):  # type: ignore[no-untyped-def]
        raise RuntimeError("operation not permitted when stream is capturing")

    eager, fallback = trained([], False), trained([], True, capture=refusing)
    assert not fallback.learner.learn_step.enabled
    assert capsys.readouterr().err.count("could not be captured (operation not permitted") == 1
    for k, v in eager.agent.state_dict().items():
        assert torch.equal(v, fallback.agent.state_dict()[k]), k


def test_cuda_graph_is_off_on_the_cpu_and_refused_where_it_cannot_replay(capsys, tmp_path) -> None:
    trainer = Trainer(
        load_config("metra_maze", [*TINY, "total_steps=400", "train.cuda_graph=true", f"run_root={tmp_path}"])
    )
    assert not trainer.learner.learn_step.enabled  # device cpu: the plain eager update
    trainer.train()  # says so, once
    assert capsys.readouterr().err.count("train.cuda_graph=true needs device=cuda") == 1
    with pytest.raises(RlinfoError, match="train.cuda_graph=true needs an off-policy agent"):
        build(load_config("ppo_cartpole", ["train.cuda_graph=true"]))
    with pytest.raises(RlinfoError, match="cannot replay agent.params.entropy"):
        build(load_config("metra_maze", ["train.cuda_graph=true", "agent.params.entropy={name: fixed}"]))


@gpu
def test_cuda_graph_captures_and_learns_on_the_gpu() -> None:
    """The real capture (random numbers inside a graph come from other Philox offsets than eager
    ones, so the two runs are compared by what they learn, not bit for bit)."""
    cfg = load_config("metra_maze", [*TINY, "total_steps=1000", "device=cuda", "train.cuda_graph=true"])
    trainer = Trainer(cfg)
    before = {k: v.clone() for k, v in trainer.agent.state_dict().items()}
    result = trainer.train()
    step = trainer.learner.learn_step
    assert step.enabled and step.graphs  # captured, not fallen back
    assert trainer.buffer.obs.device.type == "cuda"
    assert all(torch.isfinite(torch.tensor(v)) for row in trainer.history for v in row.values())
    assert not torch.equal(before["actor.net.0.weight"], trainer.agent.state_dict()["actor.net.0.weight"])
    assert result["coverage"] > 0
