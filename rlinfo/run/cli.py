"""The ``rlinfo`` command: ``train``, ``eval``, ``list``, ``sweep`` and ``report``.

Every error caused by input (config, argument, env name, checkpoint, NaN) is printed as one line
``rlinfo: error: ...`` and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from rlinfo import __version__
from rlinfo.errors import one_line

EXAMPLES = """examples:
  rlinfo train                                # the embedded default: METRA on maze:square
  rlinfo train diayn_maze seed=1              # a preset, with an override
  rlinfo train my.yaml agent.lr=1e-4 total_steps=50000
  rlinfo train --resume runs/<run-name> total_steps=200000   # continue a killed/finished run
  rlinfo eval runs/<run-name>                 # coverage + skills.png from the run directory
  rlinfo eval runs/<run-name> --video 9       # + mp4s of 9 evaluation skills in runs/<run-name>/videos
  rlinfo list                                 # algorithms, environments and presets
  rlinfo sweep my_sweep.yaml                  # every trial of a spec on Ray (pip install 'rlinfo[sweep]')
  rlinfo report runs/my_sweep                 # IQM with 95% CIs, curves: report.md, report.csv, *.png
"""


DEFAULT_PRESET = "metra_maze"  # what `rlinfo train` runs without a CONFIG argument


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        message = " ".join(message.splitlines())  # user text may hold line breaks
        self.exit(2, f"rlinfo: error: {message} (see rlinfo --help)\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rlinfo",
        description="Skill discovery and exploration with information-theoretic rewards.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"rlinfo {__version__}")
    commands = "{train,eval,list,sweep,report}"
    sub = parser.add_subparsers(dest="command", metavar=commands, parser_class=_Parser)
    train = sub.add_parser(
        "train",
        help="train an agent",
        description="Train an agent. CONFIG is a preset name (see `rlinfo list`) or a YAML file; "
        "without it the embedded default runs (preset metra_maze: METRA on maze:square). "
        "Overrides are dotted "
        "key=value pairs, e.g. total_steps=50000 seed=1 env.name=ant agent.lr=1e-4 "
        "reward.params.skill_dim=4.",
    )
    train.add_argument("args", nargs="*", metavar="[CONFIG] [key=value ...]")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its latest checkpoint (overrides: e.g. total_steps=...)",
    )
    train.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    ev = sub.add_parser(
        "eval",
        help="evaluate a run directory",
        description="Recompute coverage and skills.png of a run from its directory alone.",
    )
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("--no-figure", action="store_true", help="skip skills.png")
    ev.add_argument(
        "--video",
        nargs="?",
        const=9,
        type=int,
        metavar="N",
        help="also write mp4s of N evaluation skills (default 9): RUN_DIR/videos/grid.mp4 and skill_<i>.mp4",
    )
    ev.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    ls = sub.add_parser("list", help="list algorithms, environments and presets")
    ls.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sw = sub.add_parser(
        "sweep",
        help="run a sweep of trials on Ray",
        description="Run every trial of SPEC (a YAML file: preset, overrides, grid/trials, resources; see "
        "docs/sweeps.md) as an `rlinfo train` run directory under SWEEP_DIR, on a local Ray instance or "
        "a cluster. Re-running the same command resumes a killed sweep. Needs pip install 'rlinfo[sweep]'.",
    )
    sw.add_argument("spec", metavar="SPEC.yaml")
    sw.add_argument("--dir", metavar="SWEEP_DIR", help="where the trials go (default: runs/<spec name>)")
    sw.add_argument("--address", help="an existing Ray cluster (e.g. auto, HOST:6379); default: local Ray")
    sw.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    sw.add_argument("--retry-failed", action="store_true", help="run failed trials again")
    sw.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    rp = sub.add_parser(
        "report",
        help="aggregate runs: IQM with confidence intervals, curves",
        description="Read eval.json and the TensorBoard curves of run directories (or sweep directories "
        "holding them) and write report.md, report.csv and figures into --out.",
    )
    rp.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    rp.add_argument("--out", metavar="DIR", help="output directory (default: the first sweep directory)")
    rp.add_argument("--metric", default="coverage", help="eval.json key to aggregate (default: coverage)")
    rp.add_argument("--curve", help="TensorBoard tag of the curves (default: charts/intrinsic_return or "
                    "charts/episodic_return, whichever the runs have)")
    rp.add_argument("--reps", type=positive_int, default=2000, help="bootstrap resamples (default: 2000)")
    rp.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


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
    agents = {"sac": "SAC", "slim": "multi-critic SAC (SLIM)", "ppo": "PPO"}
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
    from rlinfo.config import load_config
    from rlinfo.run.loop import Trainer
    from rlinfo.run.rundir import create_run_dir

    source = args[0] if args and "=" not in args[0] else None
    overrides = args[1:] if source is not None else args
    source = source or DEFAULT_PRESET
    cfg = load_config(source, overrides)
    cfg = freeze_env_statistics(cfg)
    trainer = Trainer(cfg)  # builds and checks env, reward module and agent: nothing written yet
    try:
        cfg, run_dir = create_run_dir(cfg)
    except BaseException:
        trainer.close()
        raise
    trainer.attach(cfg, run_dir)
    print(f"rlinfo: training {describe(cfg)} on {cfg.env.name} for {cfg.total_steps} steps -> {run_dir}")
    print_result(trainer.train())
    print(f"run directory: {run_dir}  (tensorboard --logdir {run_dir.parent})")
    return 0


def cmd_eval(run_dir: str, figure: bool, videos: int | None = None) -> int:
    if videos is not None:
        if not 1 <= videos <= 64:
            raise ValueError(f"--video takes 1 to 64 skills, got {videos}")
        from rlinfo.evaluation.video import select_gl_backend

        select_gl_backend()  # before MuJoCo is imported: EGL, else OSMesa, else one line naming the package
    from rlinfo.run.evaluate import evaluate_run

    result = evaluate_run(run_dir, figure=figure, videos=videos or 0)
    print(json.dumps(result, sort_keys=True))
    print_result(result)
    return 0


def cmd_list() -> int:
    from rlinfo.config import preset_names
    from rlinfo.envs import list_envs
    from rlinfo.rewards import REWARDS
    from rlinfo.rewards.lookup import plugin_rewards

    plugins = [f"{name} (plugin)" for name in plugin_rewards() if name not in REWARDS]
    print("algorithms (reward.name):  " + ", ".join(["none", *REWARDS, *plugins]) + ", or module:Class")
    print("agents (agent.name):       sac, slim (multi-critic: one critic per reward.channels entry), ppo")
    print("environments (env.name):   " + ", ".join(list_envs()))
    print("presets (rlinfo train NAME): what each trains, its default budget, rough time on a 2-core CPU:")
    for line in preset_lines(preset_names()):
        print("  " + line)
    return 0


# rough env steps per second of a default run on a 2-core CPU, by env family (docs/benchmarks.md)
TYPICAL_SPS = {"maze": 700, "ant": 300, "half_cheetah": 300, "dmc": 250, "tabletop": 500, "keydoor": 2500,
               "maze_goal": 1500, "gym": 2500}  # fmt: skip


def preset_lines(names: list[str]) -> list[str]:
    """One line per preset: name, the first line of its comment, env, total_steps and a rough CPU time."""
    from rlinfo.config import load_config, read_preset_comment

    width = max(map(len, names))
    lines = []
    for name in names:
        cfg = load_config(name)
        family = cfg.env.name.split(":")[0]
        family = "maze_goal" if cfg.env.name == "maze_goal" else family
        minutes = cfg.total_steps / TYPICAL_SPS.get(family, 500) / 60
        rough = f"~{minutes:.0f} min" if minutes >= 1 else "<1 min"
        budget = f"{cfg.total_steps:,} steps, {rough}"
        about = read_preset_comment(name)
        lines.append(f"{name:<{width}}  {cfg.env.name:<18} {budget:<26} {about}")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed as one line
        return int(e.code or 0)
    debug = bool(getattr(args, "debug", False)) or "--debug" in argv
    try:
        if args.command == "train" and args.resume is not None:
            return cmd_resume(args.resume, args.args)
        if args.command == "train":
            return cmd_train(args.args)
        if args.command == "eval":
            return cmd_eval(args.run_dir, figure=not args.no_figure, videos=args.video)
        if args.command == "list":
            return cmd_list()
        if args.command == "sweep":
            from rlinfo.run.sweep import run_sweep

            return run_sweep(args.spec, args.dir, args.address, args.num_cpus, args.retry_failed)
        if args.command == "report":
            from rlinfo.run.report import write_report

            write_report(args.dirs, args.out, metric=args.metric, curve=args.curve, reps=args.reps)
            return 0
        build_parser().print_help()
        return 2
    except KeyboardInterrupt as e:  # a second SIGINT/SIGTERM during training says how to resume
        print(f"rlinfo: {str(e) or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # every failure is one line unless --debug
        if debug:
            raise
        print(f"rlinfo: error: {one_line(str(e), 400) or type(e).__name__}", file=sys.stderr)
        return int(getattr(e, "exit_code", 2))  # a run stopped by a signal: 128 + signal


if __name__ == "__main__":
    sys.exit(main())
