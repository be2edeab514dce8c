"""Evaluate a trained agent: METRA's policy state coverage and the skills figure (envs that report
``info["xy"]``), and the return and success of deterministic episodes (PPO runs), during or after training.

Evaluating a saved run from its directory alone is ``rlinfo.run.reevaluate.evaluate_run``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from rlinfo.config import Config
from rlinfo.errors import EvaluationError
from rlinfo.evaluation import goal_reaching, policy_state_coverage, rollout_paths, upright_fraction
from rlinfo.evaluation.alignment import alignment_figure, final_displacements, rollout_diagnostics
from rlinfo.files import write_json
from rlinfo.rewards import IntrinsicReward, SkillReward

T = TypeVar("T")

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
    """Trajectories of one evaluation: xy [N, T+1, 2], the skill of each, the maze (if any), the torso's
    tilt cosine [N, T+1] (locomotion envs; else None), and each episode's return [N], whether it ended
    within the T steps [N] and whether it succeeded [N] (None where the env reports no success)."""

    xy: np.ndarray
    skills: np.ndarray
    discrete: bool
    layout: Any | None
    steps: int
    upright: np.ndarray | None = None
    returns: np.ndarray | None = None
    ended: np.ndarray | None = None
    success: np.ndarray | None = None


def evaluation_skills(cfg: Config, reward_module: IntrinsicReward | None, n: int) -> Tensor:
    """``n`` evaluation skills [n, skill_dim] (skill_dim 0 without skills), for coverage rollouts, videos and
    PPO's evaluation episodes. Discrete skills are spread evenly over the K skills, as the reference
    evaluation does (row i has skill ⌊i·K/n⌋: 48 rollouts of 16 skills give each skill 3; a video of 4
    skills shows skills 0, 4, 8, 12); continuous ones are the first n draws from the prior with a
    generator seeded ``seed + EVAL_SEED_OFFSET`` (a video's skills are the coverage rollouts' first n)."""
    if not isinstance(reward_module, SkillReward):
        return torch.zeros(n, 0)
    if cfg.finetune.skill_vector:  # a fine-tuning run's chosen skill
        return torch.tensor([cfg.finetune.skill_vector], dtype=torch.float32).repeat(n, 1)
    space = reward_module.skill_space
    if space.discrete:
        return space.from_index(torch.arange(n) * space.dim // n)
    gen = torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET)
    return reward_module.skill_space.sample(n, generator=gen)


def collect_rollouts(
    cfg: Config,
    agent: Any,
    reward_module: IntrinsicReward | None,
    device: torch.device,
    random: bool = False,
    on_step: Callable[[], object] | None = None,
) -> SkillRollouts:
    """``eval.num_rollouts`` deterministic rollouts, one random skill each (``random``: uniform actions)."""
    from rlinfo.envs import maze_layout
    from rlinfo.run.build import make_envs

    n = cfg.eval.num_rollouts
    envs = make_envs(cfg, n, cfg.seed + EVAL_SEED_OFFSET)
    try:
        steps = cfg.eval.max_steps or episode_length(envs)
        skill_space = reward_module.skill_space if isinstance(reward_module, SkillReward) else None
        skills = evaluation_skills(cfg, reward_module, n)

        act = deterministic_policy(agent, device, envs.single_action_space)

        def policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
            return envs.action_space.sample() if random else act(obs, z)

        paths = rollout_paths(envs, policy, skills.numpy(), steps, cfg.seed + EVAL_SEED_OFFSET, on_step)
        layout = maze_layout(envs)
    finally:
        envs.close()
    discrete = bool(skill_space is not None and skill_space.discrete)
    return SkillRollouts(paths["xy"], skills.numpy(), discrete, layout, steps, paths.get("upright"),
                         paths["return"], paths["ended"], paths.get("success"))  # fmt: skip


def deterministic_policy(
    agent: Any, device: torch.device, space: Any = None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(obs [N, o], skills [N, d]) -> the agent's deterministic actions [N, a] (skills appended to obs),
    clipped to a Box ``space`` (a Gaussian policy's mean may leave it; a tanh policy's never does)."""

    def policy(obs: np.ndarray, z: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(obs, dtype=torch.float32, device=device)
        if z.shape[-1]:
            x = torch.cat([x, torch.as_tensor(z, dtype=torch.float32, device=device)], dim=-1)
        action = agent.act(x, deterministic=True).cpu().numpy()
        return np.clip(action, space.low, space.high) if hasattr(space, "low") else action

    return policy


def write_videos(
    cfg: Config,
    agent: Any,
    reward_module: IntrinsicReward | None,
    device: torch.device,
    out_dir: Path,
    n: int,
) -> list[Path]:
    """mp4s of the first ``n`` evaluation skills (the same skills as the coverage rollouts): a grid and one
    file per skill, in ``out_dir`` (rlinfo/evaluation/video.py)."""
    from rlinfo.evaluation.video import skill_videos

    def write(envs: Any, policy: Any, skills: np.ndarray, steps: int, seed: int) -> list[Path]:
        from rlinfo.run.monitor import phase_bar

        frames = steps // 2 + 1 + (steps % 2 > 0)  # skill_frames: every 2nd state, the last one always
        with phase_bar(f"rendering {n} skill videos", total=frames, unit="frame") as bar:
            return skill_videos(
                envs, policy, skills, steps, seed, out_dir, per_skill=True, on_frame=bar.update
            )

    return with_video_rollouts(cfg, agent, reward_module, device, n, write)


def skills_gif(
    cfg: Config, agent: Any, reward_module: IntrinsicReward | None, device: torch.device, n: int
) -> bytes:
    """The first ``n`` evaluation skills tiled into one animated GIF (periodic TensorBoard videos)."""
    from rlinfo.evaluation.video import grid_gif

    return with_video_rollouts(cfg, agent, reward_module, device, n, grid_gif)


def with_video_rollouts(
    cfg: Config,
    agent: Any,
    reward_module: IntrinsicReward | None,
    device: torch.device,
    n: int,
    render: Callable[[Any, Any, np.ndarray, int, int], T],
) -> T:
    """``render(envs, policy, skills, steps, seed)`` on ``n`` fresh evaluation envs, with the first ``n``
    evaluation skills and the deterministic policy."""
    from rlinfo.run.build import make_envs

    envs = make_envs(cfg, n, cfg.seed + EVAL_SEED_OFFSET)
    try:
        steps = cfg.eval.max_steps or episode_length(envs)
        skills = evaluation_skills(cfg, reward_module, n)
        policy = deterministic_policy(agent, device, envs.single_action_space)
        seed = cfg.seed + EVAL_SEED_OFFSET
        return render(envs, policy, skills.numpy(), steps, seed)
    finally:
        envs.close()


def evaluate_policy(
    cfg: Config,
    agent: Any,
    reward_module: IntrinsicReward | None,
    device: torch.device,
    figure_path: str | Path | None = None,
    on_step: Callable[[], object] | None = None,
    returns: bool = False,
) -> dict[str, Any]:
    """Policy state coverage of :func:`collect_rollouts` and the rollouts' diagnostics (displacement
    spread; for skills, how well each skill's displacement follows it); with a path, the skills figure
    and, for skill methods, ``alignment.png`` beside it. ``returns``: also :func:`episode_returns`'s
    ``return``/``episodes``/``success`` where every rollout was a whole episode (the same episodes it
    would run: same envs, seeds, skills and clipped deterministic actions), so one pass serves both."""
    r = collect_rollouts(cfg, agent, reward_module, device, on_step=on_step)
    result: dict[str, Any] = policy_state_coverage(r.xy, r.layout)
    if returns and r.returns is not None and r.ended is not None and r.ended.all():
        result.update({"return": float(r.returns.mean()), "episodes": len(r.returns)})
        if r.success is not None:
            result["success"] = float(r.success.mean())
    result.update(num_rollouts=len(r.xy), rollout_steps=r.steps, env=cfg.env.name, reward=cfg.reward.name)
    result.update(rollout_diagnostics(r.xy, r.skills, r.discrete))
    if r.upright is not None:
        result["upright_fraction"] = upright_fraction(r.upright)
    result.update(goal_metrics(cfg, agent, reward_module, device, on_step))
    if figure_path is not None:
        from rlinfo.evaluation.plots import plot_skills  # matplotlib, only where a figure is drawn

        what = "of free cells" if r.layout is not None else "cells"
        title = f"{cfg.reward.name} on {cfg.env.name}: coverage {result['coverage']:.3g} ({what})"
        plot_skills(r.xy, r.skills, figure_path, discrete=r.discrete, layout=r.layout, title=title)
        if r.skills.shape[1]:
            path = Path(figure_path).parent / "alignment.png"
            alignment_figure(final_displacements(r.xy), r.skills, r.discrete, path)
    return result


GOAL_METRICS = ("final_distance", "EndSuccess3", "HitSuccess3", "EndSuccess1", "HitSuccess1")


def goal_metrics(
    cfg: Config,
    agent: Any,
    module: IntrinsicReward | None,
    device: torch.device,
    on_step: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Zero-shot goal reaching (``rlinfo.evaluation.goal_reaching``) of skills with a goal skill (METRA, LSD,
    CSF, continuous DIAYN) on mazes, ant and half_cheetah: ``eval.num_rollouts`` goals, the metrics prefixed
    ``goal_`` (ant, half_cheetah: goals at the reference's range, ``GOAL_RANGES``) and ``goal_near_`` (the
    range a short budget reaches, ``NEAR_GOAL_RANGES``); ``{}`` for other methods and envs."""
    from rlinfo.envs import maze_layout
    from rlinfo.evaluation.goals import GOAL_RANGES, NEAR_GOAL_RANGES
    from rlinfo.run.build import make_envs

    if not isinstance(module, SkillReward) or not module.has_goal_skill:
        return {}
    if not (cfg.env.name.startswith("maze:") or cfg.env.name in GOAL_RANGES):
        return {}
    seed = cfg.seed + EVAL_SEED_OFFSET
    envs = make_envs(cfg, cfg.eval.num_rollouts, seed)
    ranges = {"goal_": None}
    if cfg.env.name in NEAR_GOAL_RANGES:
        ranges["goal_near_"] = NEAR_GOAL_RANGES[cfg.env.name]
    out: dict[str, float] = {}
    try:
        layout, max_steps = maze_layout(envs), cfg.eval.max_steps or None
        for prefix, goal_range in ranges.items():
            result = goal_reaching(
                agent, module, envs, cfg.env.name, layout, max_steps, seed, device=device,
                goal_range=goal_range, on_step=on_step,
            )
            out.update({f"{prefix}{k}": float(result[k]) for k in GOAL_METRICS if k in result})
    finally:
        envs.close()
    return out


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


@torch.inference_mode()
def episode_returns(
    cfg: Config,
    agent: Any,
    skills: torch.Tensor,
    device: torch.device,
    on_step: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Mean return (and success, where the env reports it) of one deterministic episode per skill row."""
    returns, success = episode_return_rows(cfg, agent, skills, device, on_step, with_success=True)
    result: dict[str, Any] = {"return": float(returns.mean()), "episodes": len(skills)}
    if success is not None:  # only envs that define success report it
        result["success"] = float(success.mean())
    return result


@torch.inference_mode()
def episode_return_rows(
    cfg: Config,
    agent: Any,
    skills: torch.Tensor,
    device: torch.device,
    on_step: Callable[[], object] | None = None,
    with_success: bool = False,
) -> Any:
    """The return of one deterministic episode per skill row [n] (and, ``with_success``, whether each
    succeeded [n], or None where the env reports no success)."""
    from rlinfo.run.build import make_envs

    n = len(skills)
    envs = make_envs(cfg, n, cfg.seed + EVAL_SEED_OFFSET)
    try:
        space = envs.single_action_space
        obs, _ = envs.reset(seed=cfg.seed + EVAL_SEED_OFFSET)
        ret, success, live, has_success = np.zeros(n), np.zeros(n, dtype=bool), np.ones(n, dtype=bool), False
        while live.any():
            x = torch.as_tensor(obs, dtype=torch.float32, device=device)
            if skills.shape[-1]:
                x = torch.cat([x, skills.to(device)], dim=-1)
            action = agent.act(x, deterministic=True).cpu().numpy()
            if hasattr(space, "low"):  # Gaussian policies: clip to the Box
                action = np.clip(action, space.low, space.high)
            obs, rew, term, trunc, info = envs.step(action)
            if on_step is not None:
                on_step()
            ret += np.where(live, rew, 0.0)
            if "success" in info:
                has_success = True
                success |= np.asarray(info["success"], dtype=bool) & live
            live &= ~(term | trunc)
    finally:
        envs.close()
    if with_success:
        return ret, (success if has_success else None)
    return ret
