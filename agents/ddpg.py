"""DDPG as URLB's backbone agent (Laskin et al. 2021, "URLB: Unsupervised Reinforcement Learning
Benchmark"; reference code rll-research/url_benchmark, ``agent/ddpg.py`` and ``agent/ddpg.yaml``): a
deterministic tanh actor with fixed Gaussian exploration noise and twin critics with clipped double-Q
targets, in the form of DrQ-v2 (Yarats et al. 2021).

With μ(s) = tanh(f(s)) ∈ [−1, 1]^|A| the actor's normalised action, σ = ``stddev``, c = ``stddev_clip``,
clamp_st(x) = x clamped to [−1 + 10⁻⁶, 1 − 10⁻⁶] in the forward pass with the gradient of the identity
(URLB's ``TruncatedNormal._clamp``), and ε, ε′ ~ N(0, I):

    act (exploration):  a  = clamp(μ(s) + σ ε)                      (the noise itself is not clipped)
    act (evaluation):   a  = μ(s)
    smoothed action:    ã  = clamp_st(μ(s) + clip(σ ε, −c, c))
    y   = r + γ^k (1 − terminated) min_i Q̄_i(s′, ã′),   ã′ from the online actor at s′ (no actor target)
    L_Q = Σ_i E[(Q_i(s, a) − y)²]                                  (URLB: mse(Q1, y) + mse(Q2, y), no ½)
    L_π = −E[min_i Q_i(s, ã)]                                       (the minimum of both, on a noisy ã)
    Q̄  ← (1 − τ) Q̄ + τ Q                                           (after every update)

One :meth:`update` is a critic step on L_Q, then an actor step on L_π with the new critic, then the
Polyak step: URLB's order. Actions are scaled affinely from [−1, 1] to the env's box, a = scale·u + bias
(the identity for dm_control, whose boxes are [−1, 1]; URLB assumes them), and the critics read the
action in the env's units, as stored in the replay buffer.

Networks, for state observations (URLB's ``obs_type=states``; ``feature_dim=50`` is used by URLB only
for pixels, after the conv encoder, and has no counterpart here), H = ``hidden_dim``, L = ``num_layers``:

    actor.trunk   = Linear(|S|, H) → LayerNorm(H) → Tanh
    actor.policy  = [Linear(H, H) → ReLU] × (L − 1) → Linear(H, |A|),  then tanh
    critic.trunk  = Linear(|S| + |A|, H) → LayerNorm(H) → Tanh      (the action enters at the trunk)
    critic.heads  = 2 × ([Linear(H, H) → ReLU] × (L − 1) → Linear(H, 1))   (URLB's Q1, Q2)

L = 2 is URLB's state network (L = 3 its pixel heads' depth). Every Linear is orthogonally initialised
with zero bias (URLB's ``utils.weight_init``); LayerNorm keeps torch's (1, 0) init; ``critic_target``
starts as a copy of ``critic``. URLB's fine-tuning (``init_from``) copies ``actor`` whole and, with
``init_critic``, ``critic.trunk`` only: the same submodule names here. URLB's defaults (``ddpg.yaml``):
H = 1024, lr 1e-4 (Adam, actor and critic), τ = 0.01, σ = 0.2, c = 0.3, batch 1024, ``nstep`` 3,
``update_every_steps`` 2, γ = 0.99, and uniform random actions for the first ``num_seed_frames //
action_repeat`` = 4000 env steps (states), with no update before them.

In an rlinfo run (``agent.name=ddpg``, ``rlinfo/run/build.py``): H, L, lr, γ, τ and the batch come from
``agent.hidden_dim``, ``num_layers``, ``lr``, ``gamma``, ``tau``, ``batch_size`` (SAC's defaults unless
set; ``configs/ddpg_walker.yaml`` sets URLB's), σ and c from ``agent.params.stddev`` and
``agent.params.stddev_clip``; SAC's ``alpha_init``, ``learn_alpha`` and ``target_entropy_scale`` are
refused (``rlinfo/options.py``). The rest maps to existing train keys:

- ``update_every_steps = 2``: ``env.num_envs = 1``, ``train.rollout_steps = 2``, ``train.grad_steps = 1``
  (or 2 envs, ``rollout_steps = 1``, ``grad_steps = 1``): one update per two env steps;
- ``num_expl_steps`` / ``num_seed_frames`` = 4000: ``train.learning_starts = 4000`` (uniform actions and
  no update before it);
- ``nstep = 3``: ``train.n_step = 3``; the replay buffer gives r = Σ_{i<k} γ^i r_{t+i} and the pair
  (s_t, s_{t+k}), and the learner passes ``discount`` = γ^k per sample, so y above uses γ^k.

Differences from URLB, each deliberate:

- n-step pairs near an episode end use k < n steps (URLB never starts a pair there); a termination ends
  the chain and zeroes the bootstrap, (1 − terminated) above (URLB multiplies dm_control's per-step
  discounts, always 1 for its tasks).
- Exploration noise in :meth:`DeterministicActor.sample` comes from a generator the caller passes (the
  off-policy learner's own, seeded ``seed + 2`` and saved in checkpoints), so runs resume bit-identically;
  the smoothing noise inside :meth:`update` comes from torch's global generator, which the loop saves (as
  for SAC).
- σ is a constant (URLB's ``stddev_schedule`` may also be a ``linear(...)`` schedule; ``ddpg.yaml`` sets
  the constant 0.2).
- Skills: the trainer concatenates the skill z to the observation before calling, [s, z], as URLB does
  for its skill agents (``obs_dim`` includes |z|).
- ``train.precision=bfloat16`` leaves these networks in float32: each part's only hidden matmuls are its
  first and last layers, which :class:`rlinfo.nn.MLP` keeps in float32.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from rlinfo.nn import MLP, adam, initialize

CLAMP_EPS = 1e-6  # URLB's TruncatedNormal keeps sampled actions inside (−1 + eps, 1 − eps)


def trunk(in_dim: int, hidden_dim: int) -> nn.Sequential:
    """Linear → LayerNorm → Tanh: URLB's trunk for state observations."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.Tanh())


def head(hidden_dim: int, out_dim: int, num_layers: int) -> MLP:
    """[Linear(H, H) → ReLU] × (num_layers − 1) → Linear(H, out): what follows the trunk."""
    layers: list[nn.Module] = []
    for _ in range(num_layers - 1):
        layers += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
    return MLP(*layers, nn.Linear(hidden_dim, out_dim))


def clamp_straight_through(u: Tensor) -> Tensor:
    """u clamped to [−1 + eps, 1 − eps], with the gradient of the identity (URLB's ``_clamp``)."""
    clamped = u.clamp(-1.0 + CLAMP_EPS, 1.0 - CLAMP_EPS)
    return u + (clamped - u).detach()


class DeterministicActor(nn.Module):
    """μ(s) = tanh(policy(trunk(s))) with fixed Gaussian noise σ; actions scaled to the box [low, high]."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        low: Tensor,
        high: Tensor,
        hidden_dim: int,
        num_layers: int,
        stddev: float,
    ) -> None:
        super().__init__()
        self.trunk = trunk(obs_dim, hidden_dim)
        self.policy = head(hidden_dim, action_dim, num_layers)
        self.stddev = stddev
        self.register_buffer("scale", (high - low) / 2.0)
        self.register_buffer("bias", (high + low) / 2.0)

    def forward(self, obs: Tensor) -> Tensor:
        """μ(s) ∈ [−1, 1]^|A|, the normalised action."""
        return torch.tanh(self.policy(self.trunk(obs)))

    def mode(self, obs: Tensor) -> Tensor:
        """The noiseless action μ(s), in the env's units."""
        return self(obs) * self.scale + self.bias

    def sample(
        self, obs: Tensor, generator: torch.Generator | None = None, clip: float | None = None
    ) -> tuple[Tensor, Tensor]:
        """(action in the env's units, μ(s)): u = clamp_st(μ(s) + noise), noise = σ ε, clipped to [−c, c]
        when ``clip`` = c is given (the updates) and unclipped otherwise (exploration, as URLB's ``act``).
        ε comes from ``generator`` (None: torch's global generator)."""
        mu = self(obs)
        noise = self.stddev * torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        if clip is not None:
            noise = noise.clamp(-clip, clip)
        return clamp_straight_through(mu + noise) * self.scale + self.bias, mu


class TwinCritic(nn.Module):
    """Q_1, Q_2 on one shared trunk: Q_i(s, a) = heads[i](trunk([s, a]))."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_dim: int, num_layers: int) -> None:
        super().__init__()
        self.trunk = trunk(obs_dim + action_dim, hidden_dim)
        self.heads = nn.ModuleList([head(hidden_dim, 1, num_layers) for _ in range(2)])

    def forward(self, obs: Tensor, action: Tensor) -> Tensor:
        """[2, B]: both Q values."""
        h = self.trunk(torch.cat([obs, action], dim=-1))
        return torch.stack([q(h).squeeze(-1) for q in self.heads])


class DDPG(nn.Module):
    """The agent: networks, optimisers and :meth:`update` (see the module docstring). Inputs are flat
    tensors; a skill-conditioned run passes [s, z]."""

    loss_names = ("critic", "actor")  # the statistics of :meth:`update` that are losses

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        action_low: Tensor | None = None,
        action_high: Tensor | None = None,
        hidden_dim: int = 1024,
        num_layers: int = 2,
        lr: float = 1e-4,
        gamma: float = 0.99,
        tau: float = 0.01,
        stddev: float = 0.2,
        stddev_clip: float = 0.3,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"DDPG needs num_layers >= 1 (the trunk is one), got {num_layers}")
        if not stddev >= 0 or not stddev_clip >= 0:
            raise ValueError(f"DDPG needs stddev >= 0 and stddev_clip >= 0, got {stddev} and {stddev_clip}")
        low = torch.full((action_dim,), -1.0) if action_low is None else torch.as_tensor(action_low).float()
        high = torch.full((action_dim,), 1.0) if action_high is None else torch.as_tensor(action_high).float()
        self.gamma, self.tau = gamma, tau
        self.stddev, self.stddev_clip = float(stddev), float(stddev_clip)
        self.actor = DeterministicActor(obs_dim, action_dim, low, high, hidden_dim, num_layers, self.stddev)
        self.critic = TwinCritic(obs_dim, action_dim, hidden_dim, num_layers)
        initialize(self.actor, "orthogonal")  # URLB's: orthogonal weights (gain 1), zero biases
        initialize(self.critic, "orthogonal")
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.optimizers = {
            "actor": adam(self.actor.parameters(), lr),
            "critic": adam(self.critic.parameters(), lr),
        }
        self.progress = 0.0  # set by the learner; unused (σ is constant)

    @torch.inference_mode()
    def act(self, obs: Tensor, deterministic: bool = False) -> Tensor:
        """μ(s), or μ(s) + σ ε clamped to the box (torch's global generator; the learner passes its own
        to ``actor.sample``)."""
        return self.actor.mode(obs) if deterministic else self.actor.sample(obs)[0]

    @torch.no_grad()
    def target(
        self, reward: Tensor, next_obs: Tensor, terminated: Tensor, discount: Tensor | None = None
    ) -> Tensor:
        """y = r + γ^k (1 − terminated) min_i Q̄_i(s′, ã′) [B]."""
        gamma = self.gamma if discount is None else discount  # [B] for n-step pairs
        next_action, _ = self.actor.sample(next_obs, clip=self.stddev_clip)
        next_q = self.critic_target(next_obs, next_action).min(dim=0).values
        return reward + gamma * (~terminated).float() * next_q

    def critic_loss(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> Tensor:
        """L_Q = Σ_i E[(Q_i(s, a) − y)²]."""
        y = self.target(reward, next_obs, terminated, discount)
        q = self.critic(obs, action)
        return ((q - y.unsqueeze(0)) ** 2).mean(dim=1).sum()

    def actor_loss(self, obs: Tensor) -> Tensor:
        """L_π = −E[min_i Q_i(s, ã)], ã = clamp_st(μ(s) + clip(σ ε, −c, c))."""
        action, _ = self.actor.sample(obs, clip=self.stddev_clip)
        self.critic.requires_grad_(False)  # gradients flow through the action only
        q = self.critic(obs, action).min(dim=0).values
        self.critic.requires_grad_(True)
        return -q.mean()

    def update(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        next_obs: Tensor,
        terminated: Tensor,
        discount: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """A critic step, an actor step on the new critic, then the Polyak step of the target critic.

        ``discount`` [B] replaces γ per sample (γ^k for n-step pairs), ``None`` keeps γ.
        """
        loss_q = self.critic_loss(obs, action, reward, next_obs, terminated, discount)
        self._step(loss_q, "critic")
        loss_pi = self.actor_loss(obs)
        self._step(loss_pi, "actor")
        with torch.no_grad():
            torch._foreach_lerp_(
                list(self.critic_target.parameters()), list(self.critic.parameters()), self.tau
            )
        return {"critic": loss_q.detach(), "actor": loss_pi.detach()}

    def _step(self, loss: Tensor, name: str) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
