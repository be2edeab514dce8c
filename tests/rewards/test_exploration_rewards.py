"""APT, ICM, Disagreement and ProtoRL: formulas on tiny batches against numpy, and learning checks."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlinfo.rewards import APT, ICM, REWARDS, Disagreement, ProtoRL, make_reward
from rlinfo.rewards.proto import sinkhorn_knopp
from rlinfo.types import Batch


def _batch(obs, action, next_obs) -> Batch:
    obs, action, next_obs = (
        torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in (obs, action, next_obs)
    )
    return Batch(obs, action, next_obs, torch.zeros(obs.shape[0], dtype=torch.bool))


def _apt_numpy(h: np.ndarray, k: int, include_self: bool, m: float = 1.0, clip: float = 0.0, c: float = 1.0):
    d = np.sqrt(((h[:, None, :] - h[None, :, :]) ** 2).sum(-1))
    if not include_self:
        np.fill_diagonal(d, np.inf)
    knn = np.sort(d, axis=1)[:, :k]
    return np.log(c + np.maximum(knn / m - clip, 0.0).mean(1)), knn


@pytest.mark.parametrize("include_self", [False, True])
def test_apt_matches_brute_force(include_self):
    rng = np.random.default_rng(0)
    s2 = rng.normal(size=(20, 3))
    apt = APT(obs_dim=3, action_dim=2, k=4, include_self=include_self)
    r = apt.reward(_batch(np.zeros_like(s2), np.zeros((20, 2)), s2))
    expected, _ = _apt_numpy(s2, 4, include_self)
    np.testing.assert_allclose(r.numpy(), expected, rtol=1e-5)
    if include_self:  # the self distance 0 is averaged in: k - 1 true neighbours
        _, knn = _apt_numpy(s2, 4, True)
        assert (knn[:, 0] == 0).all()


def test_apt_running_mean_option_matches_numpy():
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(15, 2)) * s for s in (1.0, 3.0)]
    apt = APT(obs_dim=2, action_dim=1, k=3, knn_rms=True, clip=0.05)
    for b in batches:
        apt.update(_batch(b, np.zeros((15, 1)), b))
    m = np.concatenate([_apt_numpy(b, 3, False)[1].ravel() for b in batches]).mean()
    probe = rng.normal(size=(10, 2))
    before = apt.rms.mean.clone()
    r = apt.reward(_batch(probe, np.zeros((10, 1)), probe))
    assert torch.equal(apt.rms.mean, before)  # reward() leaves the running mean alone
    np.testing.assert_allclose(r.numpy(), _apt_numpy(probe, 3, False, m=m, clip=0.05)[0], rtol=1e-5)


def test_apt_icm_representation_trains_its_trunk():
    torch.manual_seed(0)
    apt = APT(obs_dim=4, action_dim=2, k=3, representation="icm", rep_dim=8, hidden_dim=16, lr=1e-2)
    s, a = torch.randn(64, 4), torch.rand(64, 2) * 2 - 1
    b = Batch(s, a, s + 0.3 * torch.cat([a, a], -1), torch.zeros(64, dtype=torch.bool))
    first = apt.update(b)["icm_loss"]
    for _ in range(60):
        stats = apt.update(b)
    assert stats["icm_loss"] < 0.7 * first
    h = apt.icm.encode(b.next_obs).detach().numpy()
    np.testing.assert_allclose(apt.reward(b).numpy(), _apt_numpy(h, 3, False)[0], rtol=1e-4)


@pytest.mark.parametrize("reward_type", ["squared", "log"])
def test_icm_reward_formula_with_linear_forward_model(reward_type):
    icm = ICM(obs_dim=2, action_dim=1, rep_dim=0, num_layers=0, eta=0.5, reward_type=reward_type)
    with torch.no_grad():  # f(s, a) = [s0 + a, 2 s1]
        icm.forward_model[0].weight.copy_(torch.tensor([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]))
        icm.forward_model[0].bias.zero_()
    s, a, s2 = (
        np.array([[1.0, 2.0], [0.0, -1.0]]),
        np.array([[0.5], [1.0]]),
        np.array([[1.0, 1.0], [3.0, 2.0]]),
    )
    pred = np.stack([s[:, 0] + a[:, 0], 2 * s[:, 1]], axis=1)
    eps = np.linalg.norm(pred - s2, axis=1)
    expected = 0.25 * eps**2 if reward_type == "squared" else np.log1p(0.5 * eps)
    np.testing.assert_allclose(icm.reward(_batch(s, a, s2)).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("discrete", [False, True])
def test_icm_losses_fall_on_toy_dynamics(discrete):
    torch.manual_seed(0)
    n, moves = 128, torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    s = torch.randn(n, 2)
    if discrete:
        a = torch.randint(3, (n,))
        s2 = s + 0.5 * moves[a]
    else:
        a = torch.rand(n, 2) * 2 - 1
        s2 = s + 0.5 * a
    icm = ICM(
        obs_dim=2, action_dim=3 if discrete else 2, rep_dim=16, hidden_dim=64, discrete=discrete, lr=3e-3
    )
    b = Batch(s, a, s2, torch.zeros(n, dtype=torch.bool))
    first = icm.update(b)
    for _ in range(150):
        stats = icm.update(b)
    assert stats["inverse_loss"] < 0.5 * first["inverse_loss"]
    assert stats["loss"] < 0.5 * first["loss"]


def test_disagreement_batched_ensemble_equals_separate_models():
    torch.manual_seed(0)
    dis = Disagreement(obs_dim=3, action_dim=2, ensemble_size=5, hidden_dim=8, num_layers=2)
    separate = []
    for i in range(5):  # five ordinary MLPs with member i's weights
        layers = [m for m in dis.models if hasattr(m, "weight")]
        net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
        with torch.no_grad():
            for lin, ens in zip([net[0], net[2], net[4]], layers, strict=True):
                lin.weight.copy_(ens.weight[i].T)
                lin.bias.copy_(ens.bias[i, 0])
        separate.append(net)
    s, a = torch.randn(7, 3), torch.randn(7, 2)
    b = Batch(s, a, torch.randn(7, 3), torch.zeros(7, dtype=torch.bool))
    preds = np.stack([net(torch.cat([s, a], -1)).detach().numpy() for net in separate])
    np.testing.assert_allclose(dis.predictions(b).detach().numpy(), preds, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        dis.reward(b).numpy(), preds.var(axis=0, ddof=1).mean(-1), rtol=1e-4, atol=1e-7
    )


def test_disagreement_is_lower_on_trained_data():
    torch.manual_seed(0)
    dis = Disagreement(obs_dim=2, action_dim=2, hidden_dim=32, lr=3e-3)
    s, a = torch.rand(128, 2), torch.rand(128, 2) * 2 - 1
    seen = Batch(s, a, s + 0.1 * a, torch.zeros(128, dtype=torch.bool))
    first = dis.update(seen)["loss"]
    for _ in range(200):
        stats = dis.update(seen)
    assert stats["loss"] < 0.1 * first
    far = Batch(s + 5.0, a, s + 5.0 + 0.1 * a, seen.terminated)
    assert dis.reward(far).mean() > 10 * dis.reward(seen).mean()


def test_sinkhorn_knopp_hand_computed_and_balances():
    # exp(scores) = K = [[1, 2], [3, 4]] (samples x prototypes), one iteration:
    # Q = Kᵀ/10; rows to 1/2: [[.125, .375], [1/6, 1/3]]; columns to 1/2, then to 1:
    # sample 0 -> (.125, 1/6) ∝ (3, 4), sample 1 -> (.375, 1/3) ∝ (9, 8)
    scores = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64).log()
    expected = torch.tensor([[3 / 7, 4 / 7], [9 / 17, 8 / 17]], dtype=torch.float64)
    torch.testing.assert_close(sinkhorn_knopp(scores, 1), expected)
    rng = np.random.default_rng(0)
    balanced = sinkhorn_knopp(torch.tensor(rng.normal(size=(6, 4)) * 3), 200).numpy()
    np.testing.assert_allclose(balanced.sum(1), 1.0, rtol=1e-5)  # each sample a distribution
    np.testing.assert_allclose(balanced.sum(0), 6 / 4, rtol=1e-3)  # prototypes used equally


@pytest.mark.parametrize("before", [False, True])
def test_proto_loss_by_hand(before):
    """Identity predictor / prototypes, projector h -> relu(h) + (1, 0), τ = 1, one Sinkhorn step."""
    proto = ProtoRL(obs_dim=2, action_dim=1, num_protos=2, pred_dim=2, proj_dim=2, tau=1.0, num_iters=1,
                    normalize_before_projector=before)  # fmt: skip
    eye = torch.eye(2)
    with torch.no_grad():
        for lin in (proto.predictor, proto.predictor_target, proto.projector[0], proto.projector[2]):
            lin.weight.copy_(eye)
            lin.bias.zero_()
        proto.projector[2].bias.copy_(torch.tensor([1.0, 0.0]))
        proto.protos.weight.copy_(eye)
    b = _batch([[3.0, 4.0], [0.0, 2.0]], [[0.0], [0.0]], [[1.0, 0.0], [0.0, 5.0]])
    # online s: URLB normalise(relu((3, 4)) + (1, 0)) = normalise(4, 4); normalise(1, 2)
    # normalised first: normalise(relu((.6, .8)) + (1, 0)) = normalise(1.6, .8); normalise(1, 1)
    s = np.array([[1.6, 0.8], [1.0, 1.0]] if before else [[4.0, 4.0], [1.0, 2.0]])
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(1, keepdims=True))
    # target t = normalise(s') = e_0, e_1: exp scores [[e, 1], [1, e]] are already balanced
    e = math.e
    q = np.array([[e, 1.0], [1.0, e]]) / (e + 1)
    expected = -(q * log_p).sum(1).mean()
    assert proto.loss(b).item() == pytest.approx(expected, rel=1e-6)


def test_proto_reward_is_kth_neighbour_in_queue_and_queue_is_fifo():
    torch.manual_seed(0)
    proto = ProtoRL(obs_dim=3, action_dim=1, num_protos=4, pred_dim=5, proj_dim=8, queue_size=10, topk=3)
    s = torch.randn(12, 3)
    b = Batch(s, torch.zeros(12, 1), torch.randn(12, 3), torch.zeros(12, dtype=torch.bool))
    for step in range(3):
        proto.update(b)
        assert int(proto.queue_ptr) == (4 * (step + 1)) % 10
    y = proto.embed(b.next_obs).detach().numpy()
    queue = proto.queue.numpy()
    last = queue[[8, 9, 0, 1]]  # the third update wrapped around the end of the FIFO queue
    assert all(np.isclose(np.abs(y - q).sum(1), 0, atol=1e-6).any() for q in last)  # batch embeddings
    d = np.sqrt(((y[:, None] - queue[None]) ** 2).sum(-1))
    np.testing.assert_allclose(proto.reward(b).numpy(), np.sort(d, axis=1)[:, 2], rtol=1e-4, atol=1e-6)
    norms = proto.protos.weight.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(4))


def test_proto_loss_falls():
    torch.manual_seed(0)
    proto = ProtoRL(obs_dim=4, action_dim=1, num_protos=8, pred_dim=8, proj_dim=16, queue_size=32, lr=1e-2)
    s = torch.randn(64, 4)
    b = Batch(s, torch.zeros(64, 1), s + 0.01 * torch.randn(64, 4), torch.zeros(64, dtype=torch.bool))
    first = proto.update(b)["loss"]
    for _ in range(100):
        stats = proto.update(b)
    assert stats["loss"] < first - 0.2


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("apt", {"k": 0}, "APT: k must be an int >= 1"),
        ("apt", {"representation": "pixels"}, "APT: representation must be one of"),
        ("icm", {"beta": 1.5}, r"ICM: beta must be in \[0, 1\]"),
        ("icm", {"reward_type": "cube"}, "ICM: reward_type must be one of"),
        ("disagreement", {"ensemble_size": 1}, "Disagreement: ensemble_size must be an int >= 2"),
        ("proto", {"topk": 50, "queue_size": 10}, "ProtoRL: topk must be <= queue_size"),
        ("empowerment", {"discrete": True, "action_dim": 1}, "Empowerment: action_dim must be an int >= 2"),
    ],
)
def test_bad_arguments_give_one_line_errors(name, kwargs, message):
    args = {"obs_dim": 3, "action_dim": 2, **kwargs}
    with pytest.raises(ValueError, match=message) as e:
        make_reward(name, **args)
    assert "\n" not in str(e.value)
    assert name in REWARDS
