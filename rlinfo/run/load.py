"""``rlinfo.load(run_dir)``: a trained run in one's own code, as stable-baselines3's ``load(...).predict``.

    run = rlinfo.load("runs/metra_maze-square_s0_...")
    z = run.skill_space.sample(1)[0]                # skill methods: the skill to follow
    action = run.policy.act(obs, skill=z)           # deterministic by default; numpy in, numpy out
    r = run.reward_module.reward(batch)             # the trained intrinsic reward

The run is rebuilt from its ``config.yaml`` and latest checkpoint on the CPU (``device=`` to choose).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.config import Config
from rlinfo.errors import RlinfoError
from rlinfo.rewards import IntrinsicReward, SkillReward
from rlinfo.run.rundir import load_run_config
from rlinfo.skills import SkillSpace


class Policy:
    """A trained agent's actions for observations (and skills, for skill-conditioned agents)."""

    def __init__(self, agent: Any, obs_dim: int, skill_dim: int, device: torch.device) -> None:
        self.agent, self.obs_dim, self.skill_dim, self.device = agent, obs_dim, skill_dim, device

    @torch.inference_mode()
    def act(self, obs: Any, skill: Any = None, deterministic: bool = True) -> np.ndarray:
        """Action(s) for ``obs`` [obs_dim] or [N, obs_dim]; ``skill`` [skill_dim] or [N, skill_dim]."""
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        single = x.dim() == 1
        x = x.reshape(-1, x.shape[-1])
        if x.shape[-1] != self.obs_dim:
            raise RlinfoError(f"obs has {x.shape[-1]} dimensions; this policy takes {self.obs_dim}")
        if self.skill_dim:
            if skill is None:
                raise RlinfoError(
                    "this policy is skill-conditioned: pass skill=..., e.g. run.skill_space.sample(1)[0]"
                )
            z = torch.as_tensor(np.asarray(skill), dtype=torch.float32, device=self.device)
            z = z.reshape(-1, z.shape[-1]).expand(len(x), -1)
            if z.shape[-1] != self.skill_dim:
                raise RlinfoError(f"skill has {z.shape[-1]} dimensions; this policy takes {self.skill_dim}")
            x = torch.cat([x, z], dim=-1)
        action = self.agent.act(x, deterministic=deterministic).cpu().numpy()
        return action[0] if single else action


@dataclass
class LoadedRun:
    """What :func:`load` returns."""

    policy: Policy
    reward_module: IntrinsicReward | None
    skill_space: SkillSpace | None
    config: Config
    step: int  # env steps the checkpoint was trained for


def load(run_dir: str | Path, device: str = "cpu") -> LoadedRun:
    """The policy, reward module and skill space of the latest checkpoint of ``run_dir``."""
    from rlinfo.run.loop import Trainer

    cfg = load_run_config(run_dir)
    state = load_checkpoint(latest_checkpoint(run_dir))
    small = dataclasses.replace(cfg, device=device, env=dataclasses.replace(cfg.env, num_envs=1))
    trainer = Trainer(small)
    try:
        trainer.load_networks(state)
    finally:
        trainer.close()
    parts, module = trainer.parts, trainer.reward_module
    agent = parts.agent.eval()
    skill_space = module.skill_space if isinstance(module, SkillReward) else None
    policy = Policy(agent, parts.obs_dim, parts.skill_dim, parts.device)
    return LoadedRun(policy, module, skill_space, cfg, int(state.get("step", 0)))
