"""DADS, BeCL and CIC: formulas against hand computations on tiny batches, options, learning."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from helpers import skill_batch
from torch import nn

import rlinfo.rewards as rewards
from rlinfo.rewards import CIC, DADS, REWARDS, BeCL
from rlinfo.rewards.becl import becl_loss
from rlinfo.rewards.cic import cpc_loss
from rlinfo.rewards.dads import dads_reward, mixture_log_prob
from rlinfo.types import Batch

LOG_2PI = math.log(2 * math.pi)


def test_registry_and_exports():
    assert REWARDS["dads"] is DADS and REWARDS["becl"] is BeCL and REWARDS["cic"] is CIC
    assert {"DADS", "BeCL", "CIC"} <= set(rewards.__all__)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (DADS, {"num_prior_samples": 0}, "num_prior_samples"),
        (DADS, {"skill_dist": "ring"}, "skill_dist"),
        (BeCL, {"positives": "some"}, "positives"),
        (BeCL, {"temperature": 0.0}, "temperature"),
        (CIC, {"reward": "cpc"}, "reward"),
        (CIC, {"knn_k": 0}, "knn_k"),
    ],
)
def test_bad_hyperparameters_are_one_line_errors(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as err:
        cls(obs_dim=2, action_dim=1, **kwargs)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------- DADS
def _log_normal(x, mu, sigma):
    return float(np.sum(-0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * LOG_2PI))


def test_mixture_log_prob_matches_hand_computation():
    x = torch.tensor([0.5, -1.0])
    logits = torch.tensor([0.0, math.log(3.0)])  # π = (1/4, 3/4)
    means = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    c1, c2 = _log_normal(x.numpy(), means[0].numpy(), 1.0), _log_normal(x.numpy(), means[1].numpy(), 1.0)
    expected = math.log(0.25 * math.exp(c1) + 0.75 * math.exp(c2))
    assert mixture_log_prob(x, logits, means).item() == pytest.approx(expected, rel=1e-6)
    sigma = np.array([[2.0, 0.5], [1.0, 3.0]])
    c1, c2 = (_log_normal(x.numpy(), means[k].numpy(), sigma[k]) for k in range(2))
    expected = math.log(0.25 * math.exp(c1) + 0.75 * math.exp(c2))
    got = mixture_log_prob(x, logits, means, torch.tensor(sigma, dtype=torch.float32).log())
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_dads_reward_formula_with_and_without_the_positive():
    log_q = torch.tensor([math.log(0.5)])
    log_q_prior = torch.tensor([[math.log(0.1), math.log(0.3), math.log(0.1)]])  # L = 3
    # with the positive: log 0.5 − log((0.5 + 0.5) / 4) = log 2; paper: log 0.5 − log(0.5 / 3) = log 3
    assert dads_reward(log_q, log_q_prior).item() == pytest.approx(math.log(2.0), rel=1e-6)
    assert dads_reward(log_q, log_q_prior, include_positive=False).item() == pytest.approx(math.log(3.0))


class _FixedPrior:
    """A skill prior returning 0.1, 0.2, ... in order (so transition i gets z_{iL+1..iL+L})."""

    dim, discrete = 1, False

    def sample(self, count, generator=None):
        return torch.arange(1, count + 1, dtype=torch.float32).unsqueeze(1) / 10


def _linear_dads(**kwargs) -> DADS:
    """DADS on 1-D states and skills whose single Gaussian has mean μ = s + 2z (num_layers=0)."""
    m = DADS(obs_dim=1, action_dim=1, skill_dim=1, num_layers=0, num_components=1, normalize=False, **kwargs)
    layer = m.dynamics[0]  # outputs (logit, mean[, raw std]) from inputs (s, z)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1] = torch.tensor([1.0, 2.0])
    m.skill_space = _FixedPrior()
    return m


OBS = np.array([[0.0], [1.0], [-1.0]])
NEXT = np.array([[0.5], [1.2], [-2.0]])
ZS = np.array([[0.3], [-0.2], [0.9]])


@pytest.mark.parametrize("include_positive", [True, False])
def test_dads_module_reward_and_loss_against_hand_computation(include_positive):
    m = _linear_dads(num_prior_samples=2, include_positive=include_positive)
    batch = skill_batch(OBS, NEXT, ZS)
    delta = NEXT - OBS
    expected = []
    for i in range(3):  # μ = s + 2z; prior skills of transition i: (2i+1)/10, (2i+2)/10
        q = math.exp(_log_normal(delta[i], OBS[i] + 2 * ZS[i], 1.0))
        prior = ((2 * i + 1) / 10, (2 * i + 2) / 10)
        qs = [math.exp(_log_normal(delta[i], OBS[i] + 2 * z, 1.0)) for z in prior]
        denom = (q + sum(qs)) / 3 if include_positive else sum(qs) / 2
        expected.append(math.log(q / denom))
    r = m.reward(batch)
    assert r.shape == (3,) and not r.requires_grad
    np.testing.assert_allclose(r.numpy(), expected, rtol=1e-5)
    nll = -np.mean([_log_normal(delta[i], OBS[i] + 2 * ZS[i], 1.0) for i in range(3)])
    assert m.update(batch)["loss"].item() == pytest.approx(nll, rel=1e-5)


def test_dads_mask_terminal_leaves_terminated_transitions_out_of_the_loss():
    """``mask_terminal=True`` (the METRA repository's DADS): L_q averages −log q over the transitions that
    did not terminate; the default averages over all three."""
    batch = dataclasses.replace(skill_batch(OBS, NEXT, ZS), terminated=torch.tensor([False, True, False]))
    delta = NEXT - OBS
    nll = [-_log_normal(delta[i], OBS[i] + 2 * ZS[i], 1.0) for i in range(3)]
    masked = _linear_dads(mask_terminal=True).update(batch)["loss"].item()
    assert masked == pytest.approx((nll[0] + nll[2]) / 2, rel=1e-5)
    assert _linear_dads().update(batch)["loss"].item() == pytest.approx(np.mean(nll), rel=1e-5)


def test_dads_learned_variance_is_softplus_clipped():
    m = _linear_dads(learn_variance=True)
    batch = skill_batch(OBS, NEXT, ZS)
    delta = NEXT - OBS
    for raw, sigma in ((math.log(math.e**2.0 - 1), 2.0), (-10.0, 0.3)):  # softplus⁻¹(2) -> σ 2; tiny -> 0.3
        with torch.no_grad():
            m.dynamics[0].bias[2] = raw
        nll = -np.mean([_log_normal(delta[i], OBS[i] + 2 * ZS[i], sigma) for i in range(3)])
        obs_n, delta_n = m._normalized(batch.obs, batch.next_obs)
        got = -m.log_q(obs_n, batch.skill, delta_n).mean().item()
        assert got == pytest.approx(nll, rel=1e-5)


def test_dads_normalisation_standardises_state_and_delta():
    torch.manual_seed(0)
    m = DADS(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=8)
    obs = torch.randn(64, 2) * 3 + 5
    nxt = obs + torch.randn(64, 2) * 0.01 + 0.2
    m.update(skill_batch(obs, nxt, m.skill_space.sample(64)))
    obs_n, delta_n = m._normalized(obs, nxt)
    torch.testing.assert_close(obs_n.mean(0), torch.zeros(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(delta_n.std(0, unbiased=False), torch.ones(2), atol=1e-2, rtol=0)
    z = m.skill_space.sample(1000)
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9  # U[−1, 1]^2 prior


def test_dads_skill_dynamics_likelihood_improves_when_delta_depends_on_z():
    torch.manual_seed(0)
    m = DADS(obs_dim=3, action_dim=1, skill_dim=2, hidden_dim=64, lr=3e-3)
    obs = torch.randn(256, 3)
    z = m.skill_space.sample(256)
    step = torch.cat([z, torch.zeros(256, 1)], dim=1) + 0.05 * torch.randn(256, 3)
    batch = skill_batch(obs, obs + step, z)
    first = m.update(batch)["loss"].item()
    r_before = m.reward(batch).mean().item()
    for _ in range(150):
        last = m.update(batch)["loss"].item()
    assert last < first - 1.0  # log-likelihood up by more than a nat per transition
    r_after = m.reward(batch).mean().item()
    assert r_after > r_before + 1.0  # the own skill explains Δ far better than prior skills (max log 101)


# ---------------------------------------------------------------------------------------------- BeCL
F4 = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-0.6, 0.8]])


def _becl_hand(features, labels, tau, positives):
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    s = f @ f.T / tau
    out = []
    for i in range(len(f)):
        others = [j for j in range(len(f)) if j != i]
        den = sum(math.exp(s[i, j]) for j in others)
        pos = [j for j in others if labels[j] == labels[i]]
        if positives == "single":
            pos = pos[:1] or others[:1]
        out.append(-math.log(sum(math.exp(s[i, j]) for j in pos) / den) if pos else None)
    return out


@pytest.mark.parametrize("positives", ["all", "single"])
@pytest.mark.parametrize("labels", [[0, 0, 0, 1], [1, 0, 0, 2]])
def test_becl_loss_matches_hand_computation(positives, labels):
    expected = _becl_hand(F4, labels, 0.5, positives)
    loss, valid = becl_loss(torch.tensor(F4 * 3.0, dtype=torch.float32), torch.tensor(labels), 0.5, positives)
    assert valid.tolist() == [e is not None for e in expected]
    np.testing.assert_allclose(loss[valid].numpy(), [e for e in expected if e is not None], rtol=1e-5)


def test_becl_single_positive_differs_from_all_positives():
    labels = torch.tensor([0, 0, 0, 1])
    all_pos, _ = becl_loss(torch.tensor(F4, dtype=torch.float32), labels, 0.5, "all")
    single, _ = becl_loss(torch.tensor(F4, dtype=torch.float32), labels, 0.5, "single")
    assert single[0] > all_pos[0] + 0.1  # one positive of two: less mass on the numerator


def test_becl_module_reward_is_exp_minus_loss_and_zero_without_positive():
    m = BeCL(obs_dim=2, action_dim=1, skill_dim=4, hidden_dim=8)
    m.net = nn.Identity()  # f(s') = s'
    labels = [0, 0, 0, 1]
    batch = skill_batch(np.zeros((4, 2)), F4, np.eye(4)[labels])
    expected = [math.exp(-e) if e is not None else 0.0 for e in _becl_hand(F4, labels, 0.5, "all")]
    np.testing.assert_allclose(m.reward(batch).numpy(), expected, rtol=1e-5)
    m.positives = "single"
    expected = [math.exp(-e) for e in _becl_hand(F4, labels, 0.5, "single")]
    np.testing.assert_allclose(m.reward(batch).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("positives", ["all", "single"])
def test_becl_contrastive_accuracy_rises_on_separable_skills(positives):
    torch.manual_seed(0)
    n_skills, b = 4, 128
    m = BeCL(obs_dim=8, action_dim=1, skill_dim=n_skills, hidden_dim=64, lr=3e-3, positives=positives)
    centres = torch.zeros(n_skills, 8)
    centres[:, :2] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    idx = torch.arange(b) % n_skills
    nxt = centres[idx] + 0.15 * torch.randn(b, 8)
    nxt[:, 2:] += 2.0 * torch.randn(b, 6)  # skill information in 2 of 8 dims, swamped by noise
    batch = skill_batch(torch.zeros(b, 8), nxt, np.eye(n_skills)[idx.numpy()])
    first = m.update(batch)
    for _ in range(100):
        last = m.update(batch)
    assert first["accuracy"].item() < 0.6 and last["accuracy"].item() > 0.9  # chance ≈ 31/127
    assert last["loss"].item() < first["loss"].item() - 0.5
    # r = exp(−ℓ) grows (single positive: at most ≈ 1/31, one of 31 equally similar partners)
    assert m.reward(batch).mean().item() > 2 * first["reward_mean"].item()


# ---------------------------------------------------------------------------------------------- CIC
def test_cpc_loss_matches_hand_computation_and_reference_denominator():
    q = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    k = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    kn = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = qn @ kn.T / 0.5
    paper = [-(logits[i, i] - math.log(np.exp(logits[i]).sum())) for i in range(3)]
    neg = [max(np.exp(logits[i]).sum() - math.e**2, 1e-6) for i in range(3)]  # Σ_j − e^{1/T}, clamped
    ref = [-(logits[i, i] - math.log(neg[i] + 1e-6)) for i in range(3)]
    qt, kt = torch.tensor(q, dtype=torch.float32), torch.tensor(k, dtype=torch.float32)
    np.testing.assert_allclose(cpc_loss(qt, kt, 0.5).numpy(), paper, rtol=1e-5)
    np.testing.assert_allclose(cpc_loss(qt, kt, 0.5, subtract_positive=True).numpy(), ref, rtol=1e-5)


def _knn_reward_hand(x, k):
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return np.log(1 + np.sort(d, axis=1)[:, :k].mean(1))


def test_cic_rewards_are_knn_entropy_of_the_next_state_or_transition_embedding():
    m = CIC(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=8, knn_k=2)
    m.state_net = nn.Identity()  # g(s) = s
    m.pred_net = nn.Identity()  # transition embedding = [s, s']
    obs = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-1.0, -1.0]])
    nxt = np.array([[0.5, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 2.0], [-2.0, 0.0]])
    batch = skill_batch(obs, nxt, np.random.default_rng(0).random((5, 2)))
    np.testing.assert_allclose(m.reward(batch).numpy(), _knn_reward_hand(nxt, 2), rtol=1e-5)
    m.reward_kind = "knn_transition"
    trans = np.concatenate([obs, nxt], axis=1)
    np.testing.assert_allclose(m.reward(batch).numpy(), _knn_reward_hand(trans, 2), rtol=1e-5)


def test_cic_cross_reward_as_the_csf_reference_computes_it():
    """knn_cross: distances from g(s_i) to every g(s′_j), j = i included; scaled by the running variance
    of all those distances, clipped, averaged over k, r = log(1 + ·)."""
    m = CIC(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=8, knn_k=2, reward="knn_cross")
    m.state_net = nn.Identity()
    obs = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    nxt = np.array([[0.2, 0.0], [3.0, 0.0], [5.0, 6.0]])
    batch = skill_batch(obs, nxt, np.zeros((3, 2)))
    d = np.linalg.norm(obs[:, None] - nxt[None], axis=-1)  # [i, j], the diagonal counts
    nearest = np.sort(d, axis=1)[:, :2]  # rows: (0.2, 3), (0.8, 2), (1, 6.08)
    np.testing.assert_allclose(m.reward(batch).numpy(), np.log(1 + nearest.mean(1)), rtol=1e-5)
    csf_reference = {"knn_rms": True, "knn_rms_stat": "variance", "knn_clip": 0.1, "skill_dist": "gaussian",
                     "skill_spectral_norm": True}  # fmt: skip
    m = CIC(obs_dim=2, action_dim=1, skill_dim=2, hidden_dim=8, knn_k=2, reward="knn_cross", **csf_reference)
    m.state_net = nn.Identity()
    m.update(batch)  # folds the 6 distances into the running mean / variance (count starts at 1e-4)
    eps, var = 1e-4, nearest.var()
    folded = (1.0 * eps + var * 6 + nearest.mean() ** 2 * eps * 6 / (eps + 6)) / (eps + 6)
    expected = np.log(1 + np.maximum(nearest / folded - 0.1, 0).mean(1))
    np.testing.assert_allclose(m.reward(batch).numpy(), expected, rtol=1e-4)
    assert m.skill_space.dist == "gaussian"
    assert any("parametrizations" in name for name, _ in m.skill_net.named_modules())


def test_cic_loss_of_module_is_cpc_of_query_and_key():
    torch.manual_seed(0)
    m = CIC(obs_dim=3, action_dim=1, skill_dim=4, hidden_dim=16, subtract_positive=True)
    batch = skill_batch(torch.randn(6, 3), torch.randn(6, 3), m.skill_space.sample(6))
    q, k = m.query(batch.skill), m.key(batch.obs, batch.next_obs)
    expected = cpc_loss(q, k, 0.5, subtract_positive=True).mean().item()
    assert m.update(batch)["loss"].item() == pytest.approx(expected, rel=1e-6)
    z = m.skill_space.sample(1000)
    assert z.min() >= 0 and z.max() <= 1  # U[0, 1]^D prior
    assert CIC(obs_dim=2, action_dim=1).skill_space.dim == 64


def _cic_learning(b: int, d: int, subtract_positive: bool) -> tuple[dict, dict]:
    torch.manual_seed(0)
    m = CIC(obs_dim=d, action_dim=1, skill_dim=d, hidden_dim=64, lr=3e-3, subtract_positive=subtract_positive)
    obs = torch.randn(b, d)
    z = m.skill_space.sample(b)
    batch = skill_batch(obs, obs + 2 * (z - 0.5), z)  # s' − s determined by the skill
    first = m.update(batch)
    for _ in range(150):
        last = m.update(batch)
    return first, last


@pytest.mark.parametrize(("b", "d", "subtract_positive"), [(64, 4, False), (256, 16, True)])
def test_cic_contrastive_accuracy_rises_when_transitions_depend_on_z(b, d, subtract_positive):
    first, last = _cic_learning(b, d, subtract_positive)
    assert first["accuracy"].item() < 0.1 and last["accuracy"].item() > 0.6  # chance 1/b
    assert last["loss"].item() < first["loss"].item() - 1.0


def test_cic_reference_denominator_stalls_on_a_small_low_dimensional_batch():
    """Σ_j exp − e^{1/T} hits its 1e-6 clamp when few negatives fit on a low-dimensional sphere."""
    _, paper = _cic_learning(64, 4, subtract_positive=False)
    _, ref = _cic_learning(64, 4, subtract_positive=True)
    assert paper["accuracy"].item() > 0.6 and ref["accuracy"].item() < 0.2


# ---------------------------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("method", ["dads", "becl", "cic"])
def test_maze_preset_trains_end_to_end(method):
    """The trainer samples the module's skills, relabels with its reward and steps its networks."""
    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer

    tiny = ["agent.hidden_dim=32", "agent.batch_size=64", "reward.params.hidden_dim=32", "env.num_envs=4"]
    tiny += ["total_steps=400", "train.learning_starts=200", "train.progress=false", "eval.num_rollouts=4"]
    trainer = Trainer(load_config(f"{method}_maze", tiny))
    module = trainer.reward_module
    before = [p.detach().clone() for p in module.parameters()]
    result = trainer.train()
    assert trainer.learner.num_updates > 0 and 0 < result["coverage"] <= 1
    assert all(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))
    skills = trainer.buffer.skill[: len(trainer.buffer)]
    assert skills.shape[1] == module.skill_space.dim
    target, _, _ = trainer.parts.training_reward(trainer.buffer.sample(64))
    assert target.isfinite().all()


def test_becl_update_on_a_batch_of_one_is_finite():
    """A row without a same-skill partner is left out of the loss, even when it is the only row."""
    module = BeCL(obs_dim=3, action_dim=1, skill_dim=4, hidden_dim=8)
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(1, 3, generator=g)
    done = torch.zeros(1, dtype=torch.bool)
    skill = module.skill_space.sample(1, generator=g)
    batch = Batch(obs=obs, action=torch.zeros(1, 1), next_obs=obs + 1, terminated=done, skill=skill)
    stats = module.update(batch)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in stats.values())
    assert float(module.reward(batch)[0]) == 0.0
