"""``rlinfo finetune RUN_DIR task=walker_run [snapshot=STEP] [skill=CHOICE] [key=value ...]``: URLB's
fine-tuning protocol on a pretrained run (Laskin et al. 2021, "URLB"; the CIC fork's 100k budget).

A fine-tuning run is an ordinary run directory (resumable with ``rlinfo train --resume``) whose
config.yaml is the pretrained run's with these changes:

- ``env.name``: the task (``task=walker_run`` is ``urlb:walker_run``; a full env name also works);
- the reward is the task's: ``reward.extrinsic_weight = 1``, ``reward.intrinsic_weight = 0`` (the reward
  module stays only for its skill space: it is neither trained nor scored);
- ``total_steps = 100000``; the first ``train.learning_starts = 4000`` steps take uniformly random actions
  and make no updates (the seed phase); an evaluation of 10 episodes every 10,000 steps, task returns;
- ``finetune.source`` / ``finetune.snapshot``: where the weights come from; ``finetune.skill`` and the
  chosen ``finetune.skill_vector``.

Weights: a fresh agent is built, then the snapshot's **actor** and (DDPG) the **critic's trunk** are
copied into it; the Q heads, the target critic, the optimisers and SAC's temperature start fresh, as
URLB's ``init_from`` does. The reward module is loaded whole (its φ chooses ``regress`` skills).

Skill choice (``skill=``), for skill methods:

    random   skills drawn from the prior as in pretraining: every episode, or every
             ``train.skill_every`` steps (URLB's DIAYN: 50)
    fixed    one skill drawn from the prior (seeded), kept for the whole run (BeCL)
    mean     the prior's mean, kept for the whole run: ½·𝟙 for CIC's U[0, 1]^d skills (CIC), 0 for
             Gaussian and U[−1, 1]^d skills
    grid     every discrete skill, or ``finetune.grid_size`` prior draws, one deterministic episode each
             on the task; the best return's skill is kept (IRM searches a grid the same way)
    regress  ``learning_starts`` uniformly random steps on the task, then the least-squares fit
             r ≈ Δφᵀw with Δφ = φ(s′) − φ(s) (METRA, LSD, CSF: their reward is Δφᵀz); z = w scaled to
             the prior (unit length on the sphere, √d·w/‖w‖ for Gaussian skills, argmax wᵀz_k for
             discrete ones). APS regresses its task vector on successor features the same way.

Differences from URLB: ``grid`` and ``regress`` spend their episodes / random steps before the run, on
their own env, so the chosen skill is in config.yaml from the first step (URLB's APS regresses on the
seed phase's own frames).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlinfo.config import Config, load_config
from rlinfo.errors import RlinfoError
from rlinfo.options import FINETUNE_SKILLS as SKILL_CHOICES

# the reference's skill choice per method (reward.name); methods without skills have none
DEFAULT_SKILL = {"diayn": "random", "cic": "mean", "becl": "fixed", "dads": "random", "metra": "regress",
                 "lsd": "regress", "csf": "regress"}  # fmt: skip
# parameter-name prefixes copied from the snapshot: the actor, and the critic's trunk where it has one
REUSED = {"ddpg": ("actor.", "critic.trunk."), "sac": ("actor.",)}
PROTOCOL = ["total_steps=100000", "train.learning_starts=4000", "train.eval_every=10000",
            "eval.num_rollouts=10", "reward.intrinsic_weight=0", "reward.extrinsic_weight=1"]  # fmt: skip
OWN_KEYS = ("task", "snapshot", "skill")


def parse_args(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """``task=``, ``snapshot=``, ``skill=`` apart from the config overrides."""
    own: dict[str, str] = {}
    overrides = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise RlinfoError(f"rlinfo finetune takes key=value arguments after RUN_DIR, got {arg!r}")
        if key.strip() in OWN_KEYS:
            own[key.strip()] = value.strip()
        else:
            overrides.append(arg)
    if "task" not in own:
        raise RlinfoError("rlinfo finetune needs task=<task> (e.g. task=walker_run, or an env name)")
    return own, overrides


def snapshot_step(run_dir: Path, step: int | None) -> int:
    """``step`` if ``run_dir`` holds its checkpoint (None: the newest step); one line naming the steps."""
    if not run_dir.is_dir():
        raise RlinfoError(f"pretrained run directory not found: {run_dir}")
    steps = sorted(int(f.stem.removeprefix("step_")) for f in (run_dir / "checkpoints").glob("step_*.pt"))
    if not steps:
        raise RlinfoError(f"{run_dir} has no checkpoint to fine-tune from")
    if step is None:
        return steps[-1]
    if step not in steps:
        raise RlinfoError(f"{run_dir} has no snapshot at step {step} (it has {', '.join(map(str, steps))}; "
                          "train.keep_checkpoints=0 keeps them all)")  # fmt: skip
    return step


def snapshot_file(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step_{step:09d}.pt"


def finetune_config(run_dir: Path, args: list[str]) -> Config:
    """The fine-tuning run's config: the pretrained run's, changed as the module docstring says."""
    from rlinfo.run.rundir import load_run_config

    own, overrides = parse_args(args)
    source = load_run_config(run_dir)
    if source.agent.name not in REUSED:
        raise RlinfoError(f"rlinfo finetune needs an off-policy run (agent.name {', '.join(REUSED)}); "
                          f"{run_dir} is agent.name={source.agent.name}")  # fmt: skip
    if source.reward.channels:
        raise RlinfoError("rlinfo finetune takes runs of one reward module, not reward.channels")
    try:
        step = int(own["snapshot"]) if "snapshot" in own else None
    except ValueError:
        raise RlinfoError(f"snapshot= takes a checkpoint's step, got {own['snapshot']!r}") from None
    snapshot = snapshot_step(run_dir, step)
    has_skills = source.reward.name in DEFAULT_SKILL
    skill = own.get("skill", DEFAULT_SKILL.get(source.reward.name, "random"))
    if skill not in SKILL_CHOICES:
        raise RlinfoError(f"skill= takes {', '.join(SKILL_CHOICES)}, got {skill!r}")
    if skill != "random" and not has_skills:
        raise RlinfoError(f"skill={skill}: {source.reward.name} has no skills to choose")
    task = own["task"]
    env = task if ":" in task else f"urlb:{task}"
    mine = [f"env.name={env}", "run_name=''", *PROTOCOL, f"finetune.source={run_dir.resolve()}",
            f"finetune.snapshot={snapshot}", f"finetune.skill={skill}"]  # fmt: skip
    return load_config(run_dir / "config.yaml", [*mine, *overrides])


def start_from_snapshot(trainer: Any) -> Config:
    """A new fine-tuning run (``finetune.source`` set): the snapshot's weights into the fresh parts, then
    the skill chosen (unless the config holds one); returns the config with the chosen skill."""
    import dataclasses

    cfg: Config = trainer.cfg
    source = Path(cfg.finetune.source)
    init_from_snapshot(trainer, snapshot_file(source, snapshot_step(source, cfg.finetune.snapshot or None)))
    if not cfg.finetune.skill_vector:
        skill = choose_skill(trainer)
        cfg = dataclasses.replace(cfg, finetune=dataclasses.replace(cfg.finetune, skill_vector=skill))
        trainer.cfg = cfg
    return cfg


def init_from_snapshot(trainer: Any, path: Path) -> None:
    """The snapshot's actor (and critic trunk) into the fresh agent; its reward module whole."""
    from rlinfo.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    prefixes = REUSED[trainer.cfg.agent.name]
    agent = trainer.agent.state_dict()
    reused = {k: v for k, v in state["agent"].items() if k.startswith(prefixes)}
    for key, value in reused.items():
        if key not in agent or agent[key].shape != value.shape:
            have = tuple(agent[key].shape) if key in agent else "nothing"
            raise RlinfoError(f"the task's agent does not fit the snapshot: {key} is {tuple(value.shape)} in "
                              f"{path}, {have} here (another observation or action space?)")  # fmt: skip
    trainer.agent.load_state_dict({**agent, **reused})
    if trainer.reward_module is not None and "reward" in state:
        trainer.reward_module.load_state_dict(state["reward"])


def choose_skill(trainer: Any) -> list[float]:
    """The skill the run keeps (``finetune.skill``), or [] for ``random``."""
    cfg: Config = trainer.cfg
    choice = cfg.finetune.skill
    if choice == "random":
        return []
    space = trainer.reward_module.skill_space
    gen = torch.Generator().manual_seed(cfg.seed)
    if choice == "fixed":
        return space.sample(1, generator=gen)[0].tolist()
    if choice == "mean":
        return prior_mean(space)
    if choice == "grid":
        n = space.dim if space.discrete else cfg.finetune.grid_size
        candidates = space.from_index(torch.arange(n)) if space.discrete else space.sample(n, generator=gen)
        returns = grid_returns(cfg, trainer.agent, candidates, trainer.device)
        return candidates[int(np.argmax(returns))].tolist()
    return regressed_skill(trainer, space)


def prior_mean(space: Any) -> list[float]:
    """E[z] of a prior whose mean is itself a skill (CIC fine-tunes with ½·𝟙 of U[0, 1]^d)."""
    mean = space.mean()
    if mean is None:
        kind = "one-hot skills" if space.discrete else f"skills on the {space.dist}"
        raise RlinfoError(f"skill=mean: the mean of {kind} is not a skill the prior draws; choose "
                          "skill=fixed, grid or regress")  # fmt: skip
    return mean.tolist()


def grid_returns(cfg: Config, agent: Any, candidates: torch.Tensor, device: torch.device) -> np.ndarray:
    """One deterministic episode on the task per candidate skill: their returns."""
    from rlinfo.run.evaluate import episode_return_rows

    return episode_return_rows(cfg, agent, candidates, device)


def regressed_skill(trainer: Any, space: Any) -> list[float]:
    """Least squares r ≈ Δφᵀw on uniformly random steps of the task, w mapped onto the skill prior."""
    from rlinfo.rewards.wdm import WDMSkillReward
    from rlinfo.run.build import make_envs
    from rlinfo.types import Batch

    cfg: Config = trainer.cfg
    module = trainer.reward_module
    if not isinstance(module, WDMSkillReward):
        raise RlinfoError(f"skill=regress needs a reward Δφᵀz (metra, lsd, csf), not {cfg.reward.name}")
    envs = make_envs(cfg, cfg.env.num_envs, cfg.seed)
    envs.action_space.seed(cfg.seed)
    deltas, rewards = [], []
    try:
        obs, _ = envs.reset(seed=cfg.seed)
        resetting = np.zeros(envs.num_envs, dtype=bool)  # autoreset: these sub-envs' next step is a reset
        for _ in range(max(cfg.train.learning_starts // cfg.env.num_envs, 1)):
            next_obs, reward, term, trunc, _ = envs.step(envs.action_space.sample())
            real = ~resetting  # a reset step's (last obs, first obs) is no transition
            s, s_next = (torch.as_tensor(x[real], dtype=torch.float32) for x in (obs, next_obs))
            batch = Batch(s, torch.zeros(len(s), 0), s_next, torch.zeros(len(s)))
            with torch.no_grad():
                deltas.append(module.delta_phi(batch.to(trainer.device)).cpu())
            rewards.append(torch.as_tensor(reward[real], dtype=torch.float32))
            obs, resetting = next_obs, term | trunc
    finally:
        envs.close()
    dphi, r = torch.cat(deltas), torch.cat(rewards)
    w = torch.linalg.lstsq(dphi, r.unsqueeze(-1)).solution.squeeze(-1)
    if not torch.isfinite(w).all() or w.norm() < 1e-12:
        raise RlinfoError(f"skill=regress: the task reward does not vary with Δφ over {len(r)} random steps "
                          "(nothing to fit); choose skill=grid or skill=fixed")  # fmt: skip
    if space.discrete:
        k = int((space.from_index(torch.arange(space.dim)) @ w).argmax())
        return space.from_index(torch.tensor([k]))[0].tolist()
    direction = w / w.norm().clamp_min(1e-12)
    scale = 1.0 if space.dist == "sphere" else float(np.sqrt(space.dim))
    return (scale * direction).tolist()
