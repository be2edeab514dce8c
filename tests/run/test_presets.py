"""Every shipped preset: it loads and builds its reward module and agent, follows its reference where it
claims to, and trains end to end through the CLI as a user runs it (a new preset is covered without
editing this file)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import torch

from rlinfo.config import load_config, preset_names
from rlinfo.errors import RlinfoError
from rlinfo.rewards import REWARDS
from rlinfo.run.build import build_agent, build_reward, skill_dim_of
from rlinfo.run.cli import main
from rlinfo.run.loop import Trainer

# (obs_dim, action_dim) of the preset envs, as built by rlinfo.envs.make (checked once by hand)
DIMS = {
    "maze:square": (2, 2),
    "ant": (29, 8),
    "half_cheetah": (18, 6),
    "dmc:walker-run": (24, 6),
    "dmc:quadruped-run": (78, 12),
    "tabletop": (12, 2),
}
FAMILY = ("diayn", "metra", "lsd", "dads", "csf", "becl", "cic")
ENVS = ("maze", "ant", "half_cheetah", "walker", "quadruped")


def test_skill_presets_exist_for_every_method_and_env():
    names = set(preset_names())
    methods = [m for m in FAMILY if m in REWARDS]  # a method's presets are required once it is registered
    missing = [f"{m}_{e}" for m in methods for e in ENVS if f"{m}_{e}" not in names]
    assert not missing


@pytest.mark.parametrize("name", [n for n in preset_names() if n.split("_")[0] in FAMILY])
def test_skill_preset_builds_reward_and_agent(name):
    cfg = load_config(name)
    if cfg.env.name in DIMS:
        obs_dim, action_dim = DIMS[cfg.env.name]
    else:  # an env this test does not know: build it once for its dims
        from rlinfo.envs import make

        env = make(cfg.env.name, **cfg.env.kwargs)
        obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
        env.close()
    module = build_reward(cfg, obs_dim, action_dim)
    assert type(module) is REWARDS[cfg.reward.name]
    skill_dim = skill_dim_of(module)
    assert skill_dim >= 1
    ones = torch.ones(action_dim)
    agent = build_agent(cfg.agent, obs_dim + skill_dim, action_dim, -ones, ones, skill_dim=skill_dim)
    x = torch.zeros(3, obs_dim + skill_dim)
    assert agent.act(x).shape == (3, action_dim)
    if cfg.agent.name == "sf_sac":  # ψ has the skill's dimension, given by the build
        assert agent.skill_dim == skill_dim and hasattr(module, "cumulant")


def test_sf_critic_is_trained_on_the_cumulant():
    cfg = load_config("csf_maze", ["env.num_envs=4", "agent.batch_size=8", "train.progress=false"])
    trainer = Trainer(cfg)
    trainer.start()
    trainer.learner.collect(trainer.collector, 0, 20)  # 5 vector steps of 4 envs
    seen = {}
    sample, agent_update = trainer.buffer.sample, trainer.agent.update

    def record_sample(*a, **k):
        seen["batch"] = sample(*a, **k)
        return seen["batch"]

    def record_update(obs, action, reward, next_obs, terminated):
        seen["reward"] = reward
        return agent_update(obs, action, reward, next_obs, terminated)

    trainer.buffer.sample, trainer.agent.update = record_sample, record_update
    trainer.learner.update()
    expected = trainer.reward_module.cumulant(seen["batch"])  # φ after the update, as the trainer uses
    assert seen["reward"].shape == (8, 2)
    torch.testing.assert_close(seen["reward"], expected)


def test_sf_critic_takes_its_skill_dim_from_the_reward_and_needs_a_cumulant():
    cfg = load_config("csf_maze", ["reward.params.skill_dim=3", "env.num_envs=2"])
    trainer = Trainer(cfg)
    try:
        assert trainer.agent.skill_dim == 3 and trainer.agent.critic[-1].weight.shape[-1] == 3
    finally:
        trainer.close()
    for preset in ("metra_maze", "rnd_maze"):  # refused with the config, before anything is built
        with pytest.raises(RlinfoError, match="agent.name=sf_sac needs a reward with a cumulant"):
            load_config(preset, ["agent.name=sf_sac", "env.num_envs=2"])
    with pytest.raises(RlinfoError, match="unknown config key 'agent.params.skill_dim'|skill_dim"):
        Trainer(load_config("csf_maze", ["agent.params.skill_dim=2", "env.num_envs=2"]))


# ----------------------------------------------------------------------------- reference fidelity
def comparison_tables() -> list[tuple[list[str], list[list[str]]]]:
    """The tables of docs/algorithms.md's comparison-preset section: (preset names, rows of cells)."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "algorithms.md").read_text(encoding="utf-8")
    section = text.split("## The METRA paper's comparison presets", 1)[1].split("\n## ", 1)[0]
    tables, current = [], None
    for line in section.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if current is None:
            current = (cells[2:], [])
            tables.append(current)
        elif not set(cells[0]) <= {"-"}:
            current[1].append(cells)
    return tables


def resolved(cfg, key: str):
    """A config value by dotted key; an unset ``reward.params`` / ``agent.params`` key gives the default of
    the reward class's / the SAC agent's constructor."""
    import inspect

    from omegaconf import OmegaConf

    node = OmegaConf.structured(cfg)
    value = OmegaConf.select(node, key, default="<unset>")
    if value == "<unset>" and key.startswith(("reward.params.", "agent.params.")):
        from rlinfo.agents import SAC, SuccessorFeatureSAC

        agent_cls = SuccessorFeatureSAC if cfg.agent.name == "sf_sac" else SAC
        cls = REWARDS[cfg.reward.name] if key.startswith("reward.") else agent_cls
        param = inspect.signature(cls.__init__).parameters.get(key.split(".")[-1])
        assert param is not None, f"{cls.__name__} has no parameter {key}"
        value = param.default
    return value


def test_comparison_presets_mirror_the_reference():
    import yaml

    tables = comparison_tables()
    assert [t[0] for t in tables] == [
        ["metra_ant", "lsd_ant", "diayn_ant", "dads_ant"],
        ["metra_half_cheetah", "lsd_half_cheetah", "diayn_half_cheetah", "dads_half_cheetah"],
        ["csf_ant", "cic_ant"],
    ]
    checked = 0
    for presets, rows in tables:
        configs = {p: load_config(p) for p in presets}
        for flag, key, *values in rows:
            key = key.strip("`")
            for preset, cell in zip(presets, values, strict=True):
                if cell == "—":
                    continue
                expected = yaml.safe_load(cell.strip("`"))
                got = resolved(configs[preset], key)
                assert got == expected, f"{preset}: {key} = {got!r}, reference ({flag}) gives {expected!r}"
                checked += 1
    assert checked > 200


@pytest.mark.parametrize("preset", ["csf_ant", "cic_ant"])
def test_comparison_agents_take_sac_options_and_refuse_typos(preset):
    """``agent.params`` reach SAC's constructor, through the successor-feature SAC's ``**kwargs`` too: the
    tanh policy of the comparison presets is built; a misspelt key is a one-line config error."""
    from rlinfo.config import ConfigError

    cfg = load_config(preset, ["agent.hidden_dim=16"])
    agent = build_agent(cfg.agent, 29, 8, -torch.ones(8), torch.ones(8), skill_dim=2)
    assert any(isinstance(m, torch.nn.Tanh) for m in agent.actor.modules())
    bad = load_config(preset, ["agent.hidden_dim=16", "agent.params.actor_activaton=tanh"]).agent
    with pytest.raises(ConfigError, match="did you mean 'agent.params.actor_activation'"):
        build_agent(bad, 29, 8, -torch.ones(8), torch.ones(8), skill_dim=2)


def test_fidelity_check_catches_a_changed_value(monkeypatch):
    import rlinfo.config

    real = rlinfo.config.read_yaml

    def patched(source):
        raw = real(source)
        if source == "lsd_ant":
            raw["reward"]["params"]["lr"] = 3.0e-5  # the original LSD paper's φ lr
        return raw

    monkeypatch.setattr(rlinfo.config, "read_yaml", patched)
    with pytest.raises(AssertionError, match="lsd_ant: reward.params.lr"):
        test_comparison_presets_mirror_the_reference()


def test_urlb_presets_redraw_skills_as_their_references():
    """URLB's DIAYN and CIC and BeCL's code draw a new skill every 50 steps (``update_skill_every_step``);
    METRA and LSD, rlinfo's additions, keep one per episode as their own papers."""
    names = ("diayn", "cic", "becl", "metra", "lsd")
    every = {f"{n}_urlb_walker": load_config(f"{n}_urlb_walker").train.skill_every for n in names}
    assert every == {"diayn_urlb_walker": 50, "cic_urlb_walker": 50, "becl_urlb_walker": 50,
                     "metra_urlb_walker": 0, "lsd_urlb_walker": 0}  # fmt: skip


# -----------------------------------------------------------------------------
# Every preset in configs/ end to end through the CLI, as a user runs it, with the figure on.
def tiny_overrides(preset: str, run_root: Path) -> list[str]:
    """Overrides that shrink a preset's budget and widths (never its env, reward or agent)."""
    cfg = load_config(preset)
    out = [f"run_root={run_root}", "run_name=run", "env.num_envs=2", "agent.hidden_dim=32"]
    out += ["eval.num_rollouts=3", "eval.max_steps=12", "train.checkpoint_every=0"]
    if cfg.agent.name == "ppo":
        out += ["total_steps=64", "train.rollout_steps=16"]
    else:  # 48 random steps, then two rollout/update rounds
        out += ["total_steps=96", "train.learning_starts=48", "train.rollout_steps=12", "train.grad_steps=2"]
        out += ["agent.batch_size=32", "train.buffer_size=2000", "train.log_every=24"]
    module = REWARDS.get(cfg.reward.name) if not cfg.reward.channels else None
    if module is not None and "hidden_dim" in inspect.signature(module).parameters:
        out.append("reward.params.hidden_dim=32")
    return out


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


@pytest.mark.parametrize("preset", preset_names())
def test_preset_trains_evaluates_and_resumes(preset, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", preset, *tiny_overrides(preset, tmp_path)]) == 0, capsys.readouterr().err

    # the final state, the evaluation and the figure
    assert checkpoints(run_dir), "no final checkpoint"
    result = json.loads((run_dir / "eval.json").read_text())
    steps = result["steps"]
    assert steps >= load_config(run_dir / "config.yaml").total_steps
    reports_positions = "coverage" in result  # every env with info["xy"] (all but gym:<id> tasks)
    assert reports_positions or load_config(preset).env.name.startswith("gym:")
    figure = run_dir / "skills.png"
    assert figure.is_file() == reports_positions
    if reports_positions:
        assert figure.stat().st_size > 10_000

    # `rlinfo eval` rebuilds the run from its directory; --no-figure leaves the figure alone
    figure.unlink(missing_ok=True)
    assert main(["eval", str(run_dir), "--no-figure"]) == 0
    assert not figure.exists()
    assert main(["eval", str(run_dir)]) == 0
    assert figure.is_file() == reports_positions
    again = json.loads((run_dir / "eval.json").read_text())
    assert again["steps"] == steps
    if reports_positions:
        assert again["coverage"] == result["coverage"]  # deterministic rollouts of the same checkpoint

    # resume continues from the final checkpoint, off-policy and on-policy alike
    capsys.readouterr()
    code = main(["train", "--resume", str(run_dir), f"total_steps={steps + 24}"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((run_dir / "eval.json").read_text())["steps"] >= steps + 24
    assert len(checkpoints(run_dir)) >= 2
