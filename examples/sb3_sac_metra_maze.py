"""stable-baselines3 SAC + rlinfo's METRA on the open-square 2-D maze (``maze:square``).

    python examples/sb3_sac_metra_maze.py --steps 30000 --out sb3_metra_skills.png

SB3 trains a skill-conditioned SAC policy; rlinfo supplies the skill wrapper, a replay buffer that
relabels every sampled reward from METRA's current φ (r = (φ(s') − φ(s))ᵀz), and a callback that
trains φ. At the end the script prints the policy state coverage (48 deterministic rollouts with
random skills, 25 steps, fraction of free cells visited) next to a uniform random policy's, and
writes a figure of the skills.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.vec_env import DummyVecEnv

from rlinfo.envs import make, make_vec, maze_layout
from rlinfo.evaluation import plot_skills, policy_state_coverage, rollout_xy
from rlinfo.integrations import IntrinsicReplayBuffer, IntrinsicRewardCallback, SkillObservationWrapper
from rlinfo.rewards import METRA

ENV = "maze:square"


def coverage(policy, skills: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """48 rollouts of one episode each (skill i in sub-env i); xy [N, T + 1, 2] and the coverage."""
    envs = make_vec(ENV, num_envs=len(skills), seed=seed)
    try:
        steps = envs.max_episode_steps
        xy = rollout_xy(envs, policy, skills, steps, seed=seed)
        return xy, policy_state_coverage(xy, maze_layout(envs))
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000, help="environment steps (all envs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--out", default="sb3_metra_skills.png", help="skills figure path")
    parser.add_argument("--json", type=Path, help="also write the measured numbers to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    start = time.perf_counter()

    metra = METRA(obs_dim=2, action_dim=2, skill_dim=2, hidden_dim=128, lr=3e-4)
    venv = DummyVecEnv([
        (lambda i=i: SkillObservationWrapper(make(ENV), metra.skill_space, seed=args.seed * 1000 + i))
        for i in range(args.num_envs)
    ])
    model = SAC(
        "MlpPolicy",
        venv,
        learning_rate=3e-4,
        buffer_size=args.steps,
        learning_starts=2_000,
        batch_size=256,
        train_freq=4,  # every 4 vector steps (4 × num_envs transitions) ...
        gradient_steps=8,  # ... 8 SAC steps: the update-to-data ratio of rlinfo's maze preset
        target_entropy=-1.0,  # METRA: −|A| / 2
        policy_kwargs={"net_arch": [128, 128]},
        replay_buffer_class=IntrinsicReplayBuffer,
        replay_buffer_kwargs={"modules": metra, "extrinsic_weight": 0.0, "intrinsic_weight": 1.0},
        seed=args.seed,
        device="cpu",
    )
    # one φ step per SAC step, on its own fresh samples of raw transitions
    callback = IntrinsicRewardCallback(update_every=4, gradient_steps=8, batch_size=256,
                                       learning_starts=2_000 // args.num_envs, seed=args.seed)
    model.learn(args.steps, callback=callback)
    train_time = time.perf_counter() - start

    skills = metra.skill_space.sample(48, generator=torch.Generator().manual_seed(args.seed + 12345)).numpy()

    def sb3_policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
        return model.predict(np.concatenate([obs, z], axis=1).astype(np.float32), deterministic=True)[0]

    rng = np.random.default_rng(args.seed)

    def random_policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(len(obs), 2)).astype(np.float32)

    xy, cov = coverage(sb3_policy, skills, seed=args.seed + 777)
    _, cov_random = coverage(random_policy, skills, seed=args.seed + 777)
    layout = maze_layout(make(ENV))
    plot_skills(xy, skills, args.out, layout=layout,
                title=f"SB3 SAC + METRA, {args.steps} steps: coverage {cov['coverage']:.2f}")
    total_time = time.perf_counter() - start
    print(f"env steps {args.steps}  train time {train_time:.1f}s  total {total_time:.1f}s")
    print(f"coverage SB3 SAC+METRA {cov['coverage']:.3f} ({int(cov['coverage_cells'])} cells)  "
          f"random policy {cov_random['coverage']:.3f} ({int(cov_random['coverage_cells'])} cells)")
    print(f"skills figure: {args.out}")
    if args.json:
        numbers = {"steps": args.steps, "train_s": train_time, "total_s": total_time,
                   "coverage": cov["coverage"], "coverage_cells": cov["coverage_cells"],
                   "random_coverage": cov_random["coverage"],
                   "random_coverage_cells": cov_random["coverage_cells"]}
        args.json.write_text(json.dumps({k: float(v) for k, v in numbers.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
