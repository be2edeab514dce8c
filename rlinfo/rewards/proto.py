"""ProtoRL: prototypical representations (Yarats, Fergus, Lazaric, Pinto 2021, "Reinforcement Learning
with Prototypical Representations", ICML 2021; URLB reference code rll-research/url_benchmark).

Representation: a predictor y = normalise(W_pred s) ∈ S^{pred_dim−1}, M prototypes c_m (unit rows of
``protos``), a projector. Online scores of s, target scores of s′ under an EMA target predictor:

    p_s = softmax(C normalise(proj(W_pred s)) / τ),   q_t = SinkhornKnopp(C y_target(s′) / τ)   (3 iterations)
    L = −Σ_m q_t,m log p_s,m        (swapped-prediction / SwAV-style clustering loss)

The online branch normalises *after* the projector, as URLB's ``update_proto``
(``predictor → projector → normalize``). ``normalize_before_projector=True`` also normalises the
predictor output before the projector, normalise(proj(y(s))).

Sinkhorn-Knopp rescales exp(scores/τ) so that prototypes are used equally over the batch (uniform
column and row marginals); see :func:`sinkhorn_knopp`.

Exploration reward (the kNN entropy estimate of the paper, URLB's ``compute_intr_reward``): for each
prototype one candidate y_j of the batch is drawn from softmax_j(c_mᵀ y_j) and pushed into a FIFO
queue of ``queue_size`` embeddings; a transition's reward is the distance from its y(s′) to its
k-th nearest neighbour in the queue (k = ``topk`` = 3; no log):

    r = ‖y(s′) − q_(k)‖₂.

As in URLB the queue starts as zeros and candidates are enqueued in :meth:`update` (so a following
:meth:`reward` on the same batch sees its own candidates, as URLB's reward does); the predictor's
target is an EMA with rate ``encoder_target_tau`` = 0.05. On states the encoder is the identity.
Defaults (URLB ``proto.yaml``): 512 prototypes, pred_dim 128, proj_dim 512, τ 0.1, queue 2048.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlinfo.nn import adam
from rlinfo.rewards.base import IntrinsicReward, check_float, check_int
from rlinfo.types import Batch


def sinkhorn_knopp(scores: Tensor, num_iters: int = 3) -> Tensor:
    """Balanced soft assignment of B samples to M prototypes from ``scores`` [B, M] (already ÷ τ).

    Q = exp(scores)ᵀ / Σ; then ``num_iters`` times: rows (prototypes) rescaled to 1/M, columns
    (samples) to 1/B; finally each sample's column normalised to sum 1. Returns [B, M].
    """
    q = torch.exp(scores - scores.max()).T  # [M, B]
    q = q / q.sum()
    m, b = q.shape
    for _ in range(num_iters):
        q = q * ((1.0 / m) / q.sum(dim=1, keepdim=True))
        q = q * ((1.0 / b) / q.sum(dim=0, keepdim=True))
    return (q / q.sum(dim=0, keepdim=True)).T


class ProtoRL(IntrinsicReward):
    """ProtoRL reward: distance from y(s′) to its k-th neighbour in a queue of prototype candidates."""

    name = "proto"

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        num_protos: int = 512,
        pred_dim: int = 128,
        proj_dim: int = 512,
        tau: float = 0.1,
        queue_size: int = 2048,
        topk: int = 3,
        num_iters: int = 3,
        encoder_target_tau: float = 0.05,
        lr: float = 1e-4,
        normalize_before_projector: bool = False,
    ) -> None:
        super().__init__()
        ints = {"obs_dim": obs_dim, "num_protos": num_protos, "pred_dim": pred_dim, "proj_dim": proj_dim}
        ints.update(queue_size=queue_size, topk=topk)
        for key, value in ints.items():
            check_int("ProtoRL", key, value, 1)
        check_int("ProtoRL", "action_dim", action_dim, 0)
        check_int("ProtoRL", "num_iters", num_iters, 0)
        if topk > queue_size:
            raise ValueError(f"ProtoRL: topk must be <= queue_size, got topk={topk}, queue_size={queue_size}")
        check_float("ProtoRL", "tau", tau)
        check_float("ProtoRL", "encoder_target_tau", encoder_target_tau)
        check_float("ProtoRL", "lr", lr)
        self.obs_dim, self.action_dim, self.num_protos = obs_dim, action_dim, num_protos
        self.tau, self.topk, self.num_iters, self.target_tau = (
            float(tau),
            topk,
            num_iters,
            float(encoder_target_tau),
        )
        self.normalize_before_projector = bool(normalize_before_projector)
        self.predictor = nn.Linear(obs_dim, pred_dim)
        self.predictor_target = copy.deepcopy(self.predictor).requires_grad_(False)
        self.projector = nn.Sequential(
            nn.Linear(pred_dim, proj_dim), nn.ReLU(), nn.Linear(proj_dim, pred_dim)
        )
        self.protos = nn.Linear(pred_dim, num_protos, bias=False)
        self.register_buffer("queue", torch.zeros(queue_size, pred_dim))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        params = [*self.predictor.parameters(), *self.projector.parameters(), *self.protos.parameters()]
        self.optimizers["proto"] = adam(params, lr)
        self.normalize_protos()

    @torch.no_grad()
    def normalize_protos(self) -> None:
        self.protos.weight.copy_(F.normalize(self.protos.weight, dim=1))

    def embed(self, obs: Tensor) -> Tensor:
        """y(s) = normalise(predictor(s)), shape [B, pred_dim]."""
        return F.normalize(self.predictor(obs.float()), dim=1)

    def queue_distances(self, y: Tensor) -> Tensor:
        """Distance from each row of y to its ``topk``-th nearest queue entry, shape [B]."""
        d = torch.cdist(y, self.queue)
        return torch.topk(d, self.topk, dim=1, largest=False).values[:, -1]

    def reward(self, batch: Batch) -> Tensor:
        with torch.no_grad():
            return self.queue_distances(self.embed(batch.next_obs))

    def loss(self, batch: Batch) -> Tensor:
        """L = −mean_B Σ_m q_t log p_s (differentiable in predictor, projector, prototypes)."""
        h = self.embed(batch.obs) if self.normalize_before_projector else self.predictor(batch.obs.float())
        s = F.normalize(self.projector(h), dim=1)  # online: normalise(proj(W_pred s)), as URLB
        log_p_s = F.log_softmax(self.protos(s) / self.tau, dim=1)
        with torch.no_grad():
            t = F.normalize(self.predictor_target(batch.next_obs.float()), dim=1)
            q_t = sinkhorn_knopp(self.protos(t) / self.tau, self.num_iters)
        return -(q_t * log_p_s).sum(dim=1).mean()

    @torch.no_grad()
    def enqueue(self, y: Tensor) -> None:
        """Push one candidate per prototype, drawn from softmax over the batch of c_mᵀ y_j."""
        probs = F.softmax(self.protos(y).T, dim=1)  # [M, B]
        candidates = y[torch.multinomial(probs, 1).squeeze(1)]
        idx = (self.queue_ptr + torch.arange(len(candidates), device=y.device)) % self.queue.shape[0]
        self.queue[idx] = candidates
        self.queue_ptr.copy_((self.queue_ptr + len(candidates)) % self.queue.shape[0])

    def update(self, batch: Batch) -> dict[str, Tensor]:
        """One prototype step, EMA of the target predictor, then enqueue candidates from y(s′)."""
        self.normalize_protos()
        loss = self.loss(batch)
        self.optimizer_step(loss, "proto")
        self.normalize_protos()
        with torch.no_grad():
            for p, p_t in zip(self.predictor.parameters(), self.predictor_target.parameters(), strict=True):
                p_t.lerp_(p, self.target_tau)
            y = self.embed(batch.next_obs)
            self.enqueue(y)
            r = self.queue_distances(y)
        return {"loss": loss.detach(), "reward_mean": r.mean()}
