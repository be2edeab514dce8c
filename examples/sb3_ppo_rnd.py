"""stable-baselines3 PPO + rlinfo's RND exploration bonus on a reward-free 2-D maze.

    python examples/sb3_ppo_rnd.py --env maze:tree --steps 100000

The maze gives no reward, so PPO alone keeps a near-random policy; with RND (Burda et al. 2019) the
policy is paid for reaching states its predictor has not yet learned. ``OnPolicyIntrinsicCallback``
adds the bonus to each finished rollout and recomputes returns and advantages before PPO's update
(SB3 computes GAE before ``on_rollout_end``, so the recompute is what makes the bonus count).

The script trains PPO + RND and, for comparison, PPO without the bonus at the same budget, then
reports the cells visited during training and the coverage of 48 stochastic rollouts of each final
policy (fraction of the maze's free cells).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv

from rlinfo.envs import make, make_vec, maze_layout
from rlinfo.evaluation import policy_state_coverage, rollout_xy, unique_cells
from rlinfo.integrations import OnPolicyIntrinsicCallback
from rlinfo.rewards import RND


class VisitedCells(BaseCallback):
    """Collects every position seen during training (``info["xy"]``)."""

    def __init__(self) -> None:
        super().__init__()
        self.xy: list[np.ndarray] = []

    def _on_step(self) -> bool:
        self.xy.append(np.stack([info["xy"] for info in self.locals["infos"]]))
        return True


def train(env: str, steps: int, seed: int, bonus: bool) -> tuple[PPO, int, float]:
    """PPO (with or without RND) for ``steps`` env steps; the model, cells visited, and seconds."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    venv = DummyVecEnv([lambda: make(env) for _ in range(8)])
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=4, gamma=0.99, ent_coef=0.0,
                policy_kwargs={"net_arch": [64, 64]}, seed=seed, device="cpu")
    visited = VisitedCells()
    callbacks: list[BaseCallback] = [visited]
    if bonus:
        rnd = RND(obs_dim=2, action_dim=2, hidden_dim=128, rep_dim=32, lr=1e-3)
        callbacks.append(OnPolicyIntrinsicCallback(rnd, intrinsic_weight=1.0, extrinsic_weight=1.0,
                                                   n_epochs=1, batch_size=256, seed=seed))
    model.learn(steps, callback=CallbackList(callbacks))
    return model, unique_cells(np.concatenate(visited.xy)), time.perf_counter() - start


def final_coverage(model: PPO, env: str, seed: int) -> float:
    """Coverage of 48 stochastic one-episode rollouts of the trained policy."""
    envs = make_vec(env, num_envs=48, seed=seed)
    try:
        def policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=False)[0]

        xy = rollout_xy(envs, policy, np.zeros((48, 0)), envs.max_episode_steps, seed=seed)
        return policy_state_coverage(xy, maze_layout(envs))["coverage"]
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="maze:tree")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the measured numbers to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    free = maze_layout(make(args.env)).free_cells
    numbers = {"steps": args.steps, "free_cells": free}
    for bonus in (True, False):
        model, cells, seconds = train(args.env, args.steps, args.seed, bonus)
        cov = final_coverage(model, args.env, args.seed + 777)
        name = "PPO + RND" if bonus else "PPO alone"
        print(f"{name:10s} {args.env} {args.steps} steps, {seconds:.1f}s: cells visited in training "
              f"{cells}/{free} ({cells / free:.2f}), final-policy coverage {cov:.3f}")
        prefix = "ppo_rnd" if bonus else "ppo_alone"
        numbers |= {f"{prefix}_cells_visited": cells, f"{prefix}_coverage": cov, f"{prefix}_train_s": seconds}
    if args.json:
        args.json.write_text(json.dumps({k: float(v) for k, v in numbers.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
