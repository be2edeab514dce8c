"""DIAYN in a one-file, CleanRL-style PyTorch loop: SAC + rlinfo's DIAYN reward on maze:square.

    python examples/cleanrl_diayn.py --total-timesteps 30000

Everything but the reward is in this file (a small SAC, a numpy replay buffer, the env loop), as in
CleanRL's ``sac_continuous_action.py``. rlinfo supplies the reward module only:

    r = diayn.reward(Batch(...))   # log q(z|s') − log p(z), from the current discriminator
    diayn.update(batch)            # one cross-entropy step of the discriminator

The buffer stores raw transitions and skills and the reward is recomputed on every sampled batch.
The env is rlinfo's vector maze (gymnasium NEXT_STEP autoreset): the step after an episode ends
only resets that sub-env, so that pseudo-transition is not stored.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlinfo.envs import make_vec, maze_layout
from rlinfo.evaluation import plot_skills, policy_state_coverage, rollout_xy
from rlinfo.rewards import DIAYN
from rlinfo.types import Batch


def mlp(i: int, o: int, h: int = 128) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


class Actor(nn.Module):
    """Tanh-Gaussian policy on [-1, 1]^action_dim."""

    def __init__(self, in_dim: int, action_dim: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, 2 * action_dim)

    def forward(self, x: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(x).chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), torch.zeros(len(x))
        std = log_std.clamp(-5, 2).exp()
        u = mean + std * torch.randn_like(mean)
        a = torch.tanh(u)
        log_prob = (-0.5 * ((u - mean) / std).pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prob = log_prob - torch.log(1 - a.pow(2) + 1e-6).sum(-1)
        return a, log_prob


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total-timesteps", type=int, default=30_000)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--skills", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--learning-starts", type=int, default=2_000)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=0.005)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="cleanrl_diayn_skills.png")
    p.add_argument("--json", type=Path, help="also write the measured numbers to this JSON file")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    envs = make_vec("maze:square", num_envs=args.num_envs, seed=args.seed)
    n, obs_dim, act_dim = args.num_envs, 2, 2
    diayn = DIAYN(obs_dim=obs_dim, action_dim=act_dim, skill_dim=args.skills, hidden_dim=128, lr=args.lr)
    in_dim = obs_dim + args.skills
    actor = Actor(in_dim, act_dim)
    qf1, qf2 = mlp(in_dim + act_dim, 1), mlp(in_dim + act_dim, 1)
    qf1_t, qf2_t = mlp(in_dim + act_dim, 1), mlp(in_dim + act_dim, 1)
    qf1_t.load_state_dict(qf1.state_dict())
    qf2_t.load_state_dict(qf2.state_dict())
    q_opt = torch.optim.Adam([*qf1.parameters(), *qf2.parameters()], lr=args.lr)
    pi_opt = torch.optim.Adam(actor.parameters(), lr=args.lr)
    log_alpha = torch.zeros(1, requires_grad=True)
    a_opt = torch.optim.Adam([log_alpha], lr=args.lr)
    target_entropy = -act_dim / 2

    cap = args.total_timesteps
    buf = {k: np.zeros((cap, d), np.float32) for k, d in
           (("obs", obs_dim), ("act", act_dim), ("next_obs", obs_dim), ("skill", args.skills))}
    buf["term"] = np.zeros(cap, bool)
    size = 0

    skill_gen = torch.Generator().manual_seed(args.seed)
    skills = diayn.skill_space.sample(n, generator=skill_gen).numpy()
    obs, _ = envs.reset(seed=args.seed)
    autoreset = np.zeros(n, bool)  # NEXT_STEP autoreset: this step of that sub-env is a reset
    for global_step in range(0, args.total_timesteps, n):
        if global_step < args.learning_starts:
            actions = rng.uniform(-1, 1, (n, act_dim)).astype(np.float32)
        else:
            with torch.no_grad():
                x = torch.as_tensor(np.concatenate([obs, skills], 1))
                actions = actor(x)[0].numpy()
        next_obs, _, terminated, truncated, _ = envs.step(actions)
        keep = ~autoreset
        k = int(keep.sum())
        for key, val in (("obs", obs), ("act", actions), ("next_obs", next_obs), ("skill", skills),
                         ("term", terminated)):
            buf[key][size : size + k] = np.asarray(val)[keep]
        size += k
        autoreset = np.logical_or(terminated, truncated)
        if autoreset.any():  # a new skill for each episode that just ended
            new = diayn.skill_space.sample(int(autoreset.sum()), generator=skill_gen).numpy()
            skills = skills.copy()
            skills[autoreset] = new
        obs = next_obs

        if global_step < args.learning_starts:
            continue
        for _ in range(max(1, n // 8)):  # update-to-data ratio 1/8, as rlinfo's maze presets
            idx = rng.integers(0, size, args.batch_size)
            b = Batch(*(torch.as_tensor(buf[key][idx]) for key in ("obs", "act", "next_obs", "term")),
                      skill=torch.as_tensor(buf["skill"][idx]))
            reward = diayn.reward(b)  # relabelled now, from the current discriminator
            diayn.update(b)
            s, s2 = torch.cat([b.obs, b.skill], 1), torch.cat([b.next_obs, b.skill], 1)
            alpha = log_alpha.exp().detach()
            with torch.no_grad():
                a2, logp2 = actor(s2)
                q_next = torch.min(qf1_t(torch.cat([s2, a2], 1)), qf2_t(torch.cat([s2, a2], 1))).squeeze(-1)
                target = reward + args.gamma * (~b.terminated).float() * (q_next - alpha * logp2)
            sa = torch.cat([s, b.action], 1)
            q_loss = F.mse_loss(qf1(sa).squeeze(-1), target) + F.mse_loss(qf2(sa).squeeze(-1), target)
            q_opt.zero_grad()
            q_loss.backward()
            q_opt.step()
            a, logp = actor(s)
            sa_pi = torch.cat([s, a], 1)
            pi_loss = (alpha * logp - torch.min(qf1(sa_pi), qf2(sa_pi)).squeeze(-1)).mean()
            pi_opt.zero_grad()
            pi_loss.backward()
            pi_opt.step()
            a_loss = -(log_alpha * (logp.detach() + target_entropy)).mean()
            a_opt.zero_grad()
            a_loss.backward()
            a_opt.step()
            with torch.no_grad():
                for net, tgt in ((qf1, qf1_t), (qf2, qf2_t)):
                    for p_, t_ in zip(net.parameters(), tgt.parameters(), strict=True):
                        t_.lerp_(p_, args.tau)
    envs.close()
    train_time = time.perf_counter() - start

    # evaluation: 48 deterministic rollouts, skill i = one-hot (i mod n_skills)
    eval_skills = diayn.skill_space.from_index(torch.arange(48) % args.skills).numpy()
    eval_envs = make_vec("maze:square", num_envs=48, seed=args.seed + 777)

    def policy(o: np.ndarray, z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return actor(torch.as_tensor(np.concatenate([o, z], 1), dtype=torch.float32), True)[0].numpy()

    xy = rollout_xy(eval_envs, policy, eval_skills, eval_envs.max_episode_steps, seed=args.seed + 777)
    cov = policy_state_coverage(xy, maze_layout(eval_envs))
    plot_skills(xy, eval_skills, args.out, discrete=True, layout=maze_layout(eval_envs),
                title=f"CleanRL-style SAC + DIAYN: coverage {cov['coverage']:.2f}")
    eval_envs.close()
    with torch.no_grad():
        b = Batch(*(torch.as_tensor(buf[key][:size]) for key in ("obs", "act", "next_obs", "term")),
                  skill=torch.as_tensor(buf["skill"][:size]))
        acc = (diayn.logits(b.next_obs).argmax(-1) == b.skill.argmax(-1)).float().mean()
    total_time = time.perf_counter() - start
    print(f"steps {args.total_timesteps}  train {train_time:.1f}s  total {total_time:.1f}s")
    print(f"coverage {cov['coverage']:.3f}  discriminator accuracy (replay) {float(acc):.2f}")
    print(f"skills figure: {args.out}")
    if args.json:
        numbers = {"steps": args.total_timesteps, "skills": args.skills, "train_s": train_time,
                   "total_s": total_time, "coverage": cov["coverage"],
                   "coverage_cells": cov["coverage_cells"], "discriminator_accuracy": acc}
        args.json.write_text(json.dumps({k: float(v) for k, v in numbers.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
