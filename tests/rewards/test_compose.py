"""Reward composition: Normalized, WeightedSum, RewardChannels, ExtrinsicReward, config channels."""

import numpy as np
import pytest
import torch

from rlinfo.checkpoint import load_checkpoint, save_checkpoint
from rlinfo.config import load_config
from rlinfo.errors import ConfigError
from rlinfo.rewards import (
    METRA,
    RND,
    ExtrinsicReward,
    IntrinsicReward,
    Normalized,
    RewardChannels,
    SkillReward,
    WeightedSum,
)
from rlinfo.run.build import build_channels, build_reward, skill_dim_of
from rlinfo.types import Batch


class Fixed(IntrinsicReward):
    """A reward given by a lookup of obs[:, 0] * scale + shift (no networks)."""

    name = "fixed"

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        super().__init__()
        self.scale, self.shift = scale, shift
        self.updates = 0

    def reward(self, batch: Batch) -> torch.Tensor:
        return batch.obs[:, 0] * self.scale + self.shift

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        self.updates += 1
        return {"n": torch.tensor(float(self.updates))}


def _batch(obs: torch.Tensor, reward: torch.Tensor | None = None, skill: torch.Tensor | None = None) -> Batch:
    n = obs.shape[0]
    return Batch(
        obs, torch.zeros(n, 2), obs + 1, torch.zeros(n, dtype=torch.bool), skill=skill, reward=reward
    )


def test_weighted_sum_and_channels_arithmetic():
    obs = torch.tensor([[1.0, 0.0], [2.0, 0.0], [-3.0, 0.0]])
    ext = torch.tensor([0.5, -1.0, 2.0])
    a, b = Fixed(2.0, 1.0), Fixed(-1.0, 0.0)
    ws = WeightedSum({"a": a, "b": b, "task": ExtrinsicReward()}, {"a": 0.5, "b": 3.0, "task": -2.0})
    batch = _batch(obs, ext)
    ra, rb = np.array([3.0, 5.0, -5.0]), np.array([-1.0, -2.0, 3.0])
    expected = 0.5 * ra + 3.0 * rb - 2.0 * ext.numpy()
    np.testing.assert_allclose(ws.reward(batch).numpy(), expected, rtol=1e-6)
    ch = RewardChannels({"b": b, "a": a})
    assert ch.names == ["b", "a"]
    np.testing.assert_allclose(ch.rewards(batch).numpy(), np.stack([rb, ra], axis=1), rtol=1e-6)
    stats = ws.update(batch)
    assert set(stats) == {"a/n", "b/n"} and a.updates == 1 and b.updates == 1
    with pytest.raises(ValueError, match="ExtrinsicReward needs batch.reward"):
        ExtrinsicReward().reward(_batch(obs))


@pytest.mark.parametrize("momentum", [0.0, 0.3])
@pytest.mark.parametrize("mode", ["std", "meanstd"])
def test_normalized_statistics_match_numpy(mode, momentum):
    torch.manual_seed(0)
    chunks = [torch.randn(n, 1) * 3 + 2 for n in (5, 40, 17)]
    norm = Normalized(Fixed(), mode=mode, momentum=momentum, eps=0.0)
    for c in chunks:
        norm.update(_batch(c.expand(-1, 2)))
    x = torch.cat(chunks)[:, 0].double().numpy()
    if momentum == 0:
        mean, var = x.mean(), x.var()
    else:  # EMA of batch mean / variance of the mixture, the first batch sets the statistics
        mean, var = chunks[0].double().mean().item(), chunks[0].double().var(unbiased=False).item()
        for c in chunks[1:]:
            bm, bv = c.double().mean().item(), c.double().var(unbiased=False).item()
            var = (1 - momentum) * var + momentum * bv + momentum * (1 - momentum) * (bm - mean) ** 2
            mean = (1 - momentum) * mean + momentum * bm
    assert norm.mean.item() == pytest.approx(mean, rel=1e-4)
    assert norm.var.item() == pytest.approx(var, rel=1e-4)
    probe = torch.tensor([[1.0, 0.0], [7.0, 0.0]])
    expected = (probe[:, 0].numpy() - (mean if mode == "meanstd" else 0.0)) / np.sqrt(var)
    np.testing.assert_allclose(norm.reward(_batch(probe)).numpy(), expected, rtol=1e-4)


def test_skill_reward_is_exposed_and_two_are_refused():
    metra = METRA(obs_dim=3, action_dim=2, skill_dim=3, hidden_dim=8)
    ws = WeightedSum(
        {"skill": Normalized(metra), "explore": RND(obs_dim=3, action_dim=2)}, {"skill": 1, "explore": 1}
    )
    assert isinstance(ws, SkillReward) and skill_dim_of(ws) == 3 and ws.skill_space is metra.skill_space
    obs, goal = torch.randn(4, 3), torch.randn(4, 3)
    torch.testing.assert_close(ws.skill_for_goal(obs, goal), metra.skill_for_goal(obs, goal))
    assert not isinstance(RewardChannels({"e": RND(obs_dim=3, action_dim=2)}), SkillReward)
    other = METRA(obs_dim=3, action_dim=2, hidden_dim=8)
    with pytest.raises(ValueError, match="at most one skill reward"):
        RewardChannels({"a": metra, "b": other})
    with pytest.raises(ValueError, match="weights must name exactly"):
        WeightedSum({"a": Fixed()}, {"b": 1.0})


def test_checkpoint_round_trip_keeps_running_stats(tmp_path):
    torch.manual_seed(0)
    metra = METRA(obs_dim=3, action_dim=2, hidden_dim=8)

    def make():
        return WeightedSum(
            {
                "skill": METRA(obs_dim=3, action_dim=2, hidden_dim=8),
                "explore": Normalized(RND(obs_dim=3, action_dim=2)),
            },
            {"skill": 1.0, "explore": 0.5},
        )

    ws = make()
    for _ in range(3):
        obs = torch.randn(16, 3)
        ws.update(_batch(obs, skill=metra.skill_space.sample(16)))
    path = save_checkpoint(tmp_path, 3, {"reward": ws.state_dict(), "reward_optim": ws.optimizer_state()})
    state = load_checkpoint(path)
    fresh = make()
    fresh.load_state_dict(state["reward"])
    fresh.load_optimizer_state(state["reward_optim"])
    norm = fresh.channels["explore"]
    assert norm.count.item() == 48 and norm.mean.item() == pytest.approx(ws.channels["explore"].mean.item())
    assert norm.var.item() == pytest.approx(ws.channels["explore"].var.item())
    probe = _batch(torch.randn(5, 3), skill=metra.skill_space.sample(5))
    torch.testing.assert_close(fresh.reward(probe), ws.reward(probe))
    adam = fresh.optimizers["explore/predictor"].state_dict()["state"]
    assert adam and int(adam[0]["step"]) == 3


def test_config_channels_build_and_errors():
    cfg = load_config(
        None,
        [
            "reward.name=none",
            "reward.channels.skill.name=metra",
            "reward.channels.skill.params.hidden_dim=8",
            "reward.channels.explore.name=rnd",
            "reward.channels.explore.normalize=meanstd",
            "reward.channels.explore.weight=0.5",
            "reward.channels.task.name=extrinsic",
        ],
    )
    total = build_reward(cfg, 4, 2)
    assert isinstance(total, WeightedSum) and skill_dim_of(total) == 2
    assert total.weights == {"skill": 1.0, "explore": 0.5, "task": 1.0}
    channels = build_channels(cfg, 4, 2)
    assert channels.names == ["skill", "explore", "task"] and skill_dim_of(channels) == 2
    assert (
        isinstance(channels.channels["explore"], Normalized)
        and channels.channels["explore"].mode == "meanstd"
    )
    bad = {
        "reward.channels.x.nme=rnd": r"'reward\.channels\.x\.nme'; did you mean 'reward\.channels\.x\.name'",
        "reward.channels.x.name=rdn": r"unknown reward\.channels\.x\.name 'rdn'; did you mean 'rnd'",
        "reward.channels.x.params.hiden_dim=3": r"'reward\.channels\.x\.params\.hiden_dim'; did you mean",
        "reward.channels.x.weight=big": r"wrong type for 'reward\.channels\.x\.weight'",
        "reward.channels.x.normalize=yes_please": r"'reward\.channels\.x\.normalize' must be",
        "reward.channels.x.params.hidden_dim=-1": r"reward\.channels\.x\.params: RND: hidden_dim must be",
    }
    for override, message in bad.items():
        with pytest.raises(ConfigError, match=message) as e:
            extra = [] if ".name=" in override else ["reward.channels.x.name=rnd"]
            build_reward(load_config(None, [*extra, override]), 4, 2)
        assert "\n" not in str(e.value)
