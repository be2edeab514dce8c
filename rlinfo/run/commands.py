"""What each ``rlinfo`` command does, once its arguments are parsed (``rlinfo.run.cli`` parses them), and
the one-line error handling every command shares. A sweep trial runs ``train`` / ``eval`` through this
module too (``rlinfo.run.sweep``), the same code path as the command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rlinfo.errors import one_line

DEFAULT_PRESET = "metra_maze"  # what `rlinfo train` runs without a CONFIG argument


def guarded(command: Callable[[], int], debug: bool = False) -> int:
    """Run ``command``: every failure becomes one ``rlinfo: error:`` line on stderr and an exit status
    (2, or 128 + signal for a run stopped by a signal); ``debug`` re-raises instead."""
    try:
        return command()
    except KeyboardInterrupt as e:  # a second SIGINT/SIGTERM during training says how to resume
        print(f"rlinfo: {str(e) or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # every failure is one line unless --debug
        if debug:
            raise
        print(f"rlinfo: error: {one_line(str(e), 400) or type(e).__name__}", file=sys.stderr)
        return int(getattr(e, "exit_code", 2))


def run_argv(argv: list[str]) -> int:
    """``train [--resume RUN_DIR] ARGS...`` or ``eval RUN_DIR`` as the command line runs them (a sweep
    trial's command)."""
    if argv[:2] == ["train", "--resume"]:
        return guarded(lambda: cmd_resume(argv[2], argv[3:]))
    if argv[:1] == ["train"]:
        return guarded(lambda: cmd_train(argv[1:]))
    if argv[:1] == ["eval"] and len(argv) == 2:
        return guarded(lambda: cmd_eval(argv[1], figure=True))
    raise ValueError(f"not a run command: {argv}")


def cmd_resume(run_dir: str, overrides: list[str]) -> int:
    from rlinfo.errors import RlinfoError
    from rlinfo.run.loop import Trainer

    if any("=" not in a for a in overrides):
        raise RlinfoError("with --resume give only key=value overrides; the config comes from RUN_DIR")
    trainer = Trainer.resume(run_dir, overrides)
    cfg = trainer.cfg
    print(f"rlinfo: resuming {run_dir} at step {trainer.global_step} of {cfg.total_steps}")
    if not trainer.env_restored:
        print(f"rlinfo: {cfg.env.name} cannot be restored mid-episode: the run continues with new episodes "
              "(an episode boundary), not bit-identically (docs/reliability.md)")  # fmt: skip
    print_result(trainer.train())
    return 0


def run_config(source: str, overrides: list[str]) -> Any:
    """The config a run of ``source`` with ``overrides`` is made with: what its config.yaml holds."""
    from rlinfo.config import load_config

    return freeze_env_statistics(load_config(source, overrides))


def freeze_env_statistics(cfg: Any) -> Any:
    """The preset observation statistics written into ``env.kwargs`` (``normalize_obs: true``), so that the
    run's config.yaml holds the very numbers it trains with and eval and resume rebuild the same env."""
    import dataclasses

    from rlinfo.envs.normalize import freeze_obs_stats

    try:
        kwargs = freeze_obs_stats(cfg.env.name, dict(cfg.env.kwargs))
    except ValueError:  # no preset statistics for this env: building it gives the one-line error
        return cfg
    return dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs=kwargs))


def describe(cfg: Any) -> str:
    """What a run trains, for messages: e.g. "metra with SAC", "rnd + reach with SLIM", "PPO"."""
    agents = {"sac": "SAC", "slim": "multi-critic SAC (SLIM)", "ppo": "PPO", "ddpg": "DDPG"}
    agent = agents.get(cfg.agent.name, cfg.agent.name)
    if cfg.reward.channels:
        rewards = " + ".join(f"{ch} ({spec['name']})" for ch, spec in cfg.reward.channels.items())
    elif cfg.reward.name != "none":
        rewards = cfg.reward.name
    else:
        return agent
    return f"{rewards} with {agent}"


def print_result(result: dict[str, Any]) -> None:
    """The headline numbers of an evaluation: task return (and success where the env defines it), coverage."""
    if "return" in result:
        success = f", success: {result['success']:.3g}" if "success" in result else ""
        print(f"return: {result['return']:.4g}{success} ({result['episodes']} episodes)")
    if "coverage" in result:
        print(f"coverage: {result['coverage']:.4g} ({int(result['coverage_cells'])} cells)")


def cmd_train(args: list[str]) -> int:
    # CONFIG: a preset name or a YAML file (whose path may hold "="); the rest are key=value overrides
    source = args[0] if args and ("=" not in args[0] or args[0].endswith((".yaml", ".yml"))) else None
    overrides = args[1:] if source is not None else args
    return start_run(run_config(source or DEFAULT_PRESET, overrides))


def cmd_finetune(run_dir: str, args: list[str]) -> int:
    """``rlinfo finetune RUN_DIR task=...``: a new run from its fine-tuning config (run/finetune.py)."""
    from pathlib import Path

    from rlinfo.run.finetune import finetune_config

    return start_run(freeze_env_statistics(finetune_config(Path(run_dir), args)))


def start_run(cfg: Any) -> int:
    """Build the run, create its directory, train; a fine-tuning config (``finetune.source``) first takes
    its snapshot's weights and chooses its skill (rlinfo/run/finetune.py)."""
    from rlinfo.run.loop import Trainer
    from rlinfo.run.rundir import create_run_dir

    trainer = Trainer(cfg)  # builds and checks env, reward module and agent: nothing written yet
    try:
        if cfg.finetune.source:
            from rlinfo.run.finetune import start_from_snapshot

            cfg = start_from_snapshot(trainer)
        cfg, run_dir = create_run_dir(cfg)
    except BaseException:
        trainer.close()
        raise
    trainer.attach(cfg, run_dir)
    what = f"training {describe(cfg)}"
    if cfg.finetune.source:
        vector = cfg.finetune.skill_vector
        skill = f", skill {[round(v, 3) for v in vector]}" if vector else ""
        what = (f"fine-tuning {describe(cfg)} from {cfg.finetune.source} at step {cfg.finetune.snapshot} "
                f"({cfg.finetune.skill} skill{skill})")  # fmt: skip
    print(f"rlinfo: {what} on {cfg.env.name} for {cfg.total_steps} steps -> {run_dir}")
    print_result(trainer.train())
    print(f"run directory: {run_dir}  (tensorboard --logdir {run_dir.parent})")
    return 0


def cmd_eval(run_dir: str, figure: bool, videos: int | None = None) -> int:
    if videos is not None:
        if not 1 <= videos <= 64:
            raise ValueError(f"--video takes 1 to 64 skills, got {videos}")
        from rlinfo.evaluation.video import select_gl_backend

        select_gl_backend()  # before MuJoCo is imported: EGL, else OSMesa, else one line naming the package
    from rlinfo.run.reevaluate import evaluate_run

    result = evaluate_run(run_dir, figure=figure, videos=videos or 0)
    print(json.dumps(result, sort_keys=True))
    print_result(result)
    return 0


def cmd_list() -> int:
    from rlinfo.config import preset_names
    from rlinfo.envs import list_envs
    from rlinfo.reward_names import BUILTIN_REWARDS, plugin_rewards

    plugins = [f"{name} (plugin)" for name in plugin_rewards() if name not in BUILTIN_REWARDS]
    names = ["none", *BUILTIN_REWARDS, *plugins]
    print("algorithms (reward.name):  " + ", ".join(names) + ", or module:Class")
    print("agents (agent.name):       sac, sf_sac (successor features, CSF), slim (multi-critic: one critic "
          "per reward.channels entry), ddpg (URLB's backbone), ppo")
    print("environments (env.name):   " + ", ".join(list_envs()))
    print("presets (rlinfo train NAME): what each trains, its default budget, rough time on a 2-core CPU:")
    for line in preset_lines(preset_names()):
        print("  " + line)
    return 0


# rough env steps per second of a default run on a 2-core CPU, by env family (docs/benchmarks.md)
# env steps per second of a preset's family on a 2-core CPU (urlb: DDPG updating every 2 steps)
TYPICAL_SPS = {"maze": 700, "ant": 300, "half_cheetah": 300, "dmc": 250, "urlb": 150, "tabletop": 500,
               "keydoor": 2500, "maze_goal": 1500, "gym": 2500}  # fmt: skip


def preset_lines(names: list[str]) -> list[str]:
    """One line per preset: name, the first line of its comment, env, total_steps and a rough CPU time."""
    from rlinfo.config import Config, EnvConfig, read_preset_comment, read_yaml

    width = max(map(len, names))
    lines = []
    for name in names:
        data = read_yaml(name)  # the preset and its parts as written: no validation, no torch (fast)
        env = str(data.get("env", {}).get("name", EnvConfig.name))
        steps = int(data.get("total_steps", Config.total_steps))
        family = "maze_goal" if env == "maze_goal" else env.split(":")[0]
        minutes = steps / TYPICAL_SPS.get(family, 500) / 60
        rough = f"~{minutes:.0f} min" if minutes >= 1 else "<1 min"
        budget = f"{steps:,} steps, {rough}"
        lines.append(f"{name:<{width}}  {env:<18} {budget:<26} {read_preset_comment(name)}")
    return lines


