"""Lower-precision updates (``train.precision=bfloat16``, rlinfo.nn.compute_dtype).

Inside ``compute_dtype(torch.bfloat16)`` the networks built by ``mlp``/``ensemble_mlp`` multiply in
bfloat16 between their first and last layers (those stay float32) and return float32; outside (and in
other threads) nothing changes. A bfloat16 run keeps float32 weights and optimiser states, is
deterministic at a fixed seed, and acts in float32.
"""

from __future__ import annotations

import threading

import pytest
import torch

from rlinfo.agents.sac import SAC
from rlinfo.config import load_config
from rlinfo.errors import ConfigError, RlinfoError
from rlinfo.nn import compute_dtype, cpu_has_bfloat16, ensemble_mlp, mlp
from rlinfo.run.build import build
from rlinfo.run.loop import Trainer
from tests.run.test_overlap import make


@pytest.mark.parametrize("make_net", [lambda: mlp(5, 3, 64), lambda: ensemble_mlp(2, 5, 3, 64)])
def test_networks_multiply_in_bfloat16_inside_the_block_only(make_net):
    torch.manual_seed(0)
    net, x = make_net(), torch.randn(32, 5)
    exact = net(x)
    with compute_dtype(torch.bfloat16):
        low = net(x)
        other_thread: list[torch.Tensor] = []
        worker = threading.Thread(target=lambda: other_thread.append(net(x)))
        worker.start()
        worker.join()
    assert low.dtype == torch.float32 and exact.dtype == torch.float32
    assert not torch.equal(low, exact)  # the matmuls really ran in bfloat16 ...
    assert torch.allclose(low, exact, atol=3e-2, rtol=3e-2)  # ... with bfloat16's 8-bit mantissa
    assert torch.equal(other_thread[0], exact)  # the setting is per thread
    assert torch.equal(net(x), exact)  # and ends with the block


@pytest.mark.parametrize("make_net", [lambda: mlp(5, 1, 64), lambda: ensemble_mlp(2, 5, 1, 64)])
def test_only_the_hidden_layers_multiply_in_bfloat16_so_large_outputs_keep_their_digits(make_net):
    torch.manual_seed(0)
    net, x = make_net(), torch.randn(256, 5)
    with torch.no_grad():
        net[-1].bias.fill_(300.0)  # a critic's Q ≈ 300: bfloat16 would round it to a multiple of 2
    dtypes: list[torch.dtype] = []
    for layer in net[0::2]:  # the linear layers
        layer.register_forward_hook(lambda module, inputs, out: dtypes.append(out.dtype))
    exact = net(x)
    dtypes.clear()
    with compute_dtype(torch.bfloat16):
        low = net(x)
    assert dtypes == [torch.float32, torch.bfloat16, torch.float32]  # first and last layers in float32
    assert 0 < (low - exact).abs().max() < 0.05  # rounding 300 itself to bfloat16 would err by up to 1


def test_a_bfloat16_sac_update_keeps_float32_state_and_tracks_the_float32_update():
    torch.manual_seed(0)
    full = SAC(8, 2, hidden_dim=64, alpha_init=1.0)
    low = SAC(8, 2, hidden_dim=64, alpha_init=1.0)
    low.load_state_dict(full.state_dict())
    gen = torch.Generator().manual_seed(1)
    obs, next_obs = torch.randn(128, 8, generator=gen), torch.randn(128, 8, generator=gen)
    action, reward = torch.rand(128, 2, generator=gen) * 2 - 1, torch.randn(128, generator=gen)
    batch = (obs, action, reward, next_obs, torch.zeros(128, dtype=torch.bool))
    for k in range(5):
        torch.manual_seed(k)
        stats_full = full.update(*batch)
        torch.manual_seed(k)
        with compute_dtype(torch.bfloat16):
            stats_low = low.update(*batch)
    for name in ("critic", "actor", "entropy", "alpha_loss"):
        assert stats_low[name].dtype == torch.float32, name
        assert torch.allclose(stats_low[name], stats_full[name], rtol=0.05, atol=0.05), name
    assert all(p.dtype == torch.float32 for p in low.parameters())
    states = [s for opt in low.optimizers.values() for s in opt.state.values()]
    assert states and all(v.dtype == torch.float32 for s in states for v in s.values())
    moved = [(p - q).abs().max() for p, q in zip(low.parameters(), full.parameters(), strict=True)]
    assert max(moved) > 0 and max(moved) < 1e-2  # different rounding, the same five Adam steps


def test_bfloat16_run_is_deterministic_acts_in_float32_and_can_switch_on_resume(tmp_path):
    a, _ = make(tmp_path, "a", "total_steps=800", "train.precision=bfloat16")
    a.train()
    b, _ = make(tmp_path, "b", "total_steps=800", "train.precision=bfloat16")
    b.train()
    assert a.history == b.history
    for k, v in a.agent.state_dict().items():
        assert v.dtype != torch.bfloat16, k
        assert torch.equal(v, b.agent.state_dict()[k]), k
    full, _ = make(tmp_path, "c", "total_steps=800")
    full.train()
    differs = [k for k, v in full.agent.state_dict().items() if not torch.equal(v, a.agent.state_dict()[k])]
    assert differs, "train.precision=bfloat16 changed nothing"
    resumed = Trainer.resume(tmp_path / "a", ["total_steps=1200", "train.precision=float32"])
    assert resumed.learner.matmul_dtype is None
    resumed.train()
    assert resumed.global_step >= 1200


def test_bad_precision_values_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="train.precision must be one of float32, bfloat16, got 'float16'"):
        load_config("metra_maze", ["train.precision=float16"])
    with pytest.raises(RlinfoError, match="train.precision=bfloat16 needs an off-policy agent"):
        build(load_config("ppo_cartpole", ["train.precision=bfloat16"]))


@pytest.mark.parametrize(
    "text, native",
    [("flags\t\t: fpu avx2 avx512f avx512_bf16\n", True), ("flags\t\t: fpu sse amx_bf16 amx_tile\n", True),
     ("flags\t\t: fpu avx2 avx512f\n", False), ("processor\t: 0\n", None)],
)  # fmt: skip
def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path, text, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\n" + text)
    assert cpu_has_bfloat16(str(cpuinfo)) is native


def test_native_bfloat16_is_unknown_without_proc_cpuinfo(tmp_path):
    assert cpu_has_bfloat16(str(tmp_path / "missing")) is None  # not Linux: no warning either way


@pytest.mark.parametrize("native", [True, False, None])
def test_training_in_bfloat16_on_a_cpu_without_native_bfloat16_warns_in_one_line(
    monkeypatch, capsys, tmp_path, native
):
    import rlinfo.nn

    monkeypatch.setattr(rlinfo.nn, "cpu_has_bfloat16", lambda: native)
    expected = "rlinfo: warning: train.precision=bfloat16: this CPU has no native bfloat16 matmul"
    trainer, _ = make(tmp_path, "low", "total_steps=400", "train.precision=bfloat16")
    assert expected not in capsys.readouterr().err  # building (also for rlinfo eval / rlinfo.load): silent
    trainer.train()
    assert (expected in capsys.readouterr().err) == (native is False)
    make(tmp_path, "full", "total_steps=400")[0].train()  # float32 never warns
    assert "bfloat16" not in capsys.readouterr().err


def test_precision_benchmark_measures_the_reward_rounding_of_a_skill_run(tmp_path):
    import importlib.util
    from pathlib import Path

    from rlinfo.nn import MLP

    script = Path(__file__).resolve().parents[2] / "scripts" / "precision_benchmark.py"
    spec = importlib.util.spec_from_file_location("precision_benchmark", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    trainer, run_dir = make(tmp_path, "metra", "total_steps=600")
    trainer.train()
    forward = MLP.forward
    measured = bench.reward_rounding(run_dir, episodes=2)
    assert MLP.forward is forward  # the every-layer rule was only borrowed
    assert measured["step"] == trainer.global_step and measured["transitions"] > 2
    assert measured["error, every layer bfloat16"] > 0 and measured["error, hidden layers bfloat16"] > 0
    assert measured["reward std"] > 0
