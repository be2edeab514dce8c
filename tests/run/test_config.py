"""Config resolution and validation: presets, YAML files, overrides and their one-line errors."""

from __future__ import annotations

import pytest

from rlinfo.config import Config, load_config, preset_names, read_yaml, to_yaml, validate_kwargs
from rlinfo.errors import ConfigError
from rlinfo.rewards import METRA


def test_defaults_are_metra_on_a_maze():
    cfg = load_config()
    assert cfg.reward.name == "metra" and cfg.env.name.startswith("maze:")
    assert isinstance(cfg, Config)


def test_overrides_are_typed_and_applied():
    cfg = load_config(None, ["agent.lr=3e-4", "total_steps=1234", "reward.params.skill_dim=4", "seed=7"])
    assert cfg.agent.lr == pytest.approx(3e-4) and isinstance(cfg.agent.lr, float)
    assert cfg.total_steps == 1234 and cfg.seed == 7
    assert cfg.reward.params == {"skill_dim": 4}


def test_every_preset_loads_and_validates_its_reward_params():
    names = preset_names()
    assert {"metra_maze", "diayn_maze", "metra_ant"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.total_steps > 0


def test_preset_then_override_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\nagent:\n  lr: 0.5\n")
    cfg = load_config(str(f), ["agent.lr=0.25"])
    assert cfg.seed == 3 and cfg.agent.lr == 0.25


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["agent.lrr=1"], "did you mean 'agent.lr'"),
        (["totl_steps=5"], "did you mean 'total_steps'"),
        (["agent.lr=abc"], "'agent.lr'"),
        (["agent.lr=abc"], "expected float"),
        (["total_steps=1.5"], "expected int"),
        (["env=3"], "expected a mapping"),
        (["agent.lr"], "expected key=value"),
        (["agent.gamma=1.5"], "agent.gamma must be in [0, 1]"),
        (["device=tpu"], "device must be"),
        (["run_name=../escape"], "plain directory name"),
    ],
)
def test_bad_overrides_name_the_key(overrides, fragment):
    with pytest.raises(ConfigError) as e:
        load_config(None, overrides)
    message = str(e.value)
    assert fragment in message
    assert "\n" not in message


def test_unknown_key_in_yaml_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("agent:\n  hiden_dim: 64\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'agent.hiden_dim'.*agent.hidden_dim"):
        load_config(str(f))


def test_malformed_yaml_reports_the_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("seed: 1\nagent: [unclosed\n")
    with pytest.raises(ConfigError, match=r"malformed YAML .* line \d+"):
        load_config(str(f))


def test_yaml_must_be_a_mapping_and_is_read_safely(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_yaml(f)
    evil = tmp_path / "evil.yaml"
    evil.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        read_yaml(evil)


def test_unknown_preset_and_missing_file():
    with pytest.raises(ConfigError, match="did you mean 'metra_maze'"):
        load_config("metra_maz")
    with pytest.raises(ConfigError, match="not found"):
        load_config("nope.yaml")


def test_reward_params_are_checked_against_the_constructor():
    validate_kwargs(METRA, {"skill_dim": 3, "lr": 1}, "reward.params", reserved=("obs_dim", "action_dim"))
    with pytest.raises(ConfigError, match="did you mean 'reward.params.skill_dim'"):
        validate_kwargs(METRA, {"skil_dim": 3}, "reward.params", reserved=("obs_dim",))
    with pytest.raises(ConfigError, match="expected float, got str"):
        validate_kwargs(METRA, {"lr": "fast"}, "reward.params")
    with pytest.raises(ConfigError, match="expected bool"):
        validate_kwargs(METRA, {"discrete": 1}, "reward.params")
    with pytest.raises(ConfigError, match="set by rlinfo"):
        validate_kwargs(METRA, {"obs_dim": 3}, "reward.params", reserved=("obs_dim", "action_dim"))


def test_resolved_yaml_round_trips(tmp_path):
    cfg = load_config("diayn_maze", ["seed=5"])
    f = tmp_path / "config.yaml"
    f.write_text(to_yaml(cfg))
    assert load_config(str(f)) == cfg


def test_presets_compose_a_shared_part_with_their_own_keys(tmp_path):
    from rlinfo.config import part_names

    assert {"maze", "ant", "half_cheetah", "walker", "quadruped", "tabletop"} <= set(part_names())
    cfg = load_config("cic_ant")  # base: ant, then CIC's own agent and reward keys
    assert (cfg.env.name, cfg.env.num_envs, cfg.train.grad_steps) == ("ant", 8, 50)
    assert cfg.agent.hidden_dim == 1024
    assert cfg.reward.name == "cic" and cfg.agent.alpha_init == 0.01
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: maze\nreward:\n  name: lsd\nagent:\n  hidden_dim: 64\n")
    cfg = load_config(mine)
    assert (cfg.env.name, cfg.train.rollout_steps) == ("maze:square", 4)
    assert (cfg.agent.hidden_dim, cfg.agent.lr) == (64, 3e-4)
    mine.write_text("base: maez\n")
    with pytest.raises(ConfigError, match="unknown base part 'maez'; did you mean 'maze'"):
        load_config(mine)
    mine.write_text("base: [maze, 3]\n")
    with pytest.raises(ConfigError, match="'base' must be a part name or a list of them"):
        load_config(mine)


def test_a_mapping_inside_a_free_form_mapping_replaces_the_presets_while_a_dotted_key_changes_one_entry():
    """ppo_keydoor's controller is EPO with five options: ``entropy={name: none}`` drops them all (merged,
    ``none`` would refuse the leftover ``kappa_low``), ``entropy.coef=0.1`` changes one, and the rest of
    agent.params stays as the preset has it."""
    replaced = load_config("ppo_keydoor", ["agent.params.entropy={name: none}"]).agent.params
    assert replaced["entropy"] == {"name": "none"} and replaced["update_epochs"] == 4
    changed = load_config("ppo_keydoor", ["agent.params.entropy.coef=0.1"]).agent.params["entropy"]
    assert changed == {"name": "epo", "coef": 0.1, "penalty": 1.0, "band": "relative", "kappa_low": 0.8,
                       "kappa_high": 1.2}  # fmt: skip
