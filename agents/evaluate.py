"""Evaluate skills: METRA's policy state coverage and the skills figure, during or after training.

``evaluate_run(run_dir)`` needs nothing but the run directory: it rebuilds the env, the agent and
the reward module from ``config.yaml`` and loads the latest checkpoint (``weights_only``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint, write_json
from rlinfo.config import Config
from rlinfo.errors import CheckpointError, EvaluationError
from rlinfo.evaluation import plot_skills, policy_state_coverage, rollout_xy
from rlinfo.rewards import IntrinsicReward, SkillReward
from rlinfo.rundir import load_run_config

EVAL_SEED_OFFSET = 10_000


def episode_length(envs: Any, default: int = 200) -> int:
    """The time limit of a vector env's episodes (``max_episode_steps`` of its spec)."""
    for candidate in (envs, getattr(envs, "envs", [None])[0]):
        spec = getattr(candidate, "spec", None)
        if spec is not None and getattr(spec, "max_episode_steps", None):
            return int(spec.max_episode_steps)
        steps = getattr(getattr(candidate, "unwrapped", candidate), "max_episode_steps", None)
        if steps:
            return int(steps)
    return default


@dataclass
class SkillRollouts:
    """Trajectories of one evaluation: xy [N, T+1, 2], the skill of each, and the maze (if any)."""

    xy: np.ndarray
    skills: np.ndarray
    discrete: bool
    layout: Any | None
    steps: int


def collect_rollouts(
    cfg: Config, agent: Any, reward_module: IntrinsicReward | None, device: torch.device, random: bool = False
) -> SkillRollouts:
    """``eval.num_rollouts`` deterministic rollouts, one random skill each (``random``: uniform actions)."""
    from rlinfo.agents.builders import make_envs
    from rlinfo.envs import maze_layout

    n = cfg.eval.num_rollouts
    envs = make_envs(cfg, n, cfg.seed + EVAL_SEED_OFFSET)
    try:
        steps = cfg.eval.max_steps or episode_length(envs)
        skill_space = reward_module.skill_space if isinstance(reward_module, SkillReward) else None
        gen = torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET)
        skills = skill_space.sample(n, generator=gen) if skill_space is not None else torch.zeros(n, 0)

        def policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
            if random:
                return envs.action_space.sample()
            x = torch.as_tensor(obs, dtype=torch.float32, device=device)
            if z.shape[-1]:
                x = torch.cat([x, torch.as_tensor(z, dtype=torch.float32, device=device)], dim=-1)
            return agent.act(x, deterministic=True).cpu().numpy()

        xy = rollout_xy(envs, policy, skills.numpy(), steps, seed=cfg.seed + EVAL_SEED_OFFSET)
        layout = maze_layout(envs)
    finally:
        envs.close()
    discrete = bool(skill_space is not None and skill_space.discrete)
    return SkillRollouts(xy, skills.numpy(), discrete, layout, steps)


def evaluate_policy(
    cfg: Config,
    agent: Any,
    reward_module: IntrinsicReward | None,
    device: torch.device,
    figure_path: str | Path | None = None,
) -> dict[str, Any]:
    """Policy state coverage of :func:`collect_rollouts`, and the skills figure if a path is given."""
    r = collect_rollouts(cfg, agent, reward_module, device)
    result: dict[str, Any] = policy_state_coverage(r.xy, r.layout)
    result.update(num_rollouts=len(r.xy), rollout_steps=r.steps, env=cfg.env.name, reward=cfg.reward.name)
    if figure_path is not None:
        what = "of free cells" if r.layout is not None else "cells"
        title = f"{cfg.reward.name} on {cfg.env.name}: coverage {result['coverage']:.3g} ({what})"
        plot_skills(r.xy, r.skills, figure_path, discrete=r.discrete, layout=r.layout, title=title)
    return result


def final_evaluation(run_dir: Path | None, evaluate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a trained run's final ``evaluate()`` (after its final checkpoint is written).

    A failure becomes one :class:`EvaluationError` line that says the checkpoint is safe and how to
    redo the evaluation; the CLI exits non-zero with it.
    """
    try:
        return evaluate()
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        redo = f"; the final checkpoint is saved, `rlinfo eval {run_dir}` redoes it" if run_dir else ""
        raise EvaluationError(f"final evaluation failed ({type(e).__name__}: {reason}){redo}") from e


def write_eval(run_dir: str | Path, result: dict[str, Any]) -> None:
    write_json(Path(run_dir) / "eval.json", result)


def evaluate_run(run_dir: str | Path, figure: bool = True) -> dict[str, Any]:
    """Rebuild a run from its directory alone, evaluate it, rewrite ``eval.json`` and ``skills.png``."""
    from rlinfo.agents.builders import build_agent, build_reward, env_dims, make_envs, skill_dim_of

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    config_path = run_dir / "config.yaml"
    ckpt = latest_checkpoint(run_dir)
    if cfg.agent.name == "ppo":
        return evaluate_ppo_run(cfg, run_dir, ckpt, figure)
    state = load_checkpoint(ckpt)
    device = torch.device("cpu")
    probe = make_envs(cfg, 1, cfg.seed)
    obs_dim, action_dim, low, high = env_dims(probe)
    probe.close()
    module = build_reward(cfg, obs_dim, action_dim)
    weights = list(module.weights.values()) if cfg.agent.name == "slim" and cfg.reward.channels else None
    agent = build_agent(cfg.agent, obs_dim + skill_dim_of(module), action_dim, low, high, weights)
    try:
        agent.load_state_dict(state["agent"])
        if module is not None:
            module.load_state_dict(state["reward"])
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"{ckpt} does not match {config_path}: {str(e).splitlines()[0]}") from None
    result = evaluate_policy(cfg, agent, module, device, run_dir / "skills.png" if figure else None)
    result["steps"] = int(state.get("step", 0))
    write_eval(run_dir, result)
    return result


def evaluate_ppo_run(cfg: Any, run_dir: Path, ckpt: Path, figure: bool) -> dict[str, Any]:
    """A PPO run: return and success of ``eval.num_rollouts`` episodes (plus coverage for skills)."""
    import dataclasses

    from rlinfo.agents.ppo_trainer import PPOTrainer

    cfg = dataclasses.replace(cfg, device="cpu", eval=dataclasses.replace(cfg.eval, figure=figure))
    trainer = PPOTrainer(cfg, run_dir)  # builds envs and networks; writes nothing until train()
    try:
        trainer.load(ckpt)
    except (KeyError, RuntimeError) as e:
        reason = str(e).splitlines()[0]
        raise CheckpointError(f"{ckpt} does not match {run_dir / 'config.yaml'}: {reason}") from None
    result = trainer.evaluate()
    trainer.envs.close()
    write_eval(run_dir, result)
    return result
