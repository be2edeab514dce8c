"""The ``rlinfo`` command: ``train``, ``finetune``, ``eval``, ``list``, ``sweep`` and ``report``.

Every error caused by input (config, argument, env name, checkpoint, NaN) is printed as one line
``rlinfo: error: ...`` and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from rlinfo import __version__
from rlinfo.run.commands import cmd_eval, cmd_finetune, cmd_list, cmd_resume, cmd_train, guarded

EXAMPLES = """examples:
  rlinfo train                                # the embedded default: METRA on maze:square
  rlinfo train diayn_maze seed=1              # a preset, with an override
  rlinfo train my.yaml agent.lr=1e-4 total_steps=50000
  rlinfo train --resume runs/<run-name> total_steps=200000   # continue a killed/finished run
  rlinfo finetune runs/<run-name> task=walker_run   # URLB fine-tuning of a pretrained run (100k steps)
  rlinfo eval runs/<run-name>                 # coverage + skills.png from the run directory
  rlinfo eval runs/<run-name> --video 9       # + mp4s of 9 evaluation skills in runs/<run-name>/videos
  rlinfo list                                 # algorithms, environments and presets
  rlinfo sweep my_sweep.yaml                  # every trial of a spec on Ray (pip install 'rlinfo[sweep]')
  rlinfo report runs/my_sweep                 # IQM with 95% CIs, curves: report.md, report.csv, *.png
"""




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
    commands = "{train,finetune,eval,list,sweep,report}"
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
    ft = sub.add_parser(
        "finetune",
        help="fine-tune a pretrained run on a task (URLB protocol)",
        description="Fine-tune the run in RUN_DIR on a task's reward as URLB does: its snapshot's actor "
        "(and DDPG's critic trunk) reused, fresh Q heads and optimisers, 4,000 random seed steps, 100,000 "
        "steps, 10 evaluation episodes every 10,000. task=walker_run (urlb:walker_run) or an env name; "
        "snapshot=STEP (default: the newest checkpoint); skill=random|fixed|mean|grid|regress (default: the "
        "method's reference); other key=value pairs override the config. Writes a new run directory.",
    )
    ft.add_argument("run_dir", metavar="RUN_DIR")
    ft.add_argument("args", nargs="*", metavar="task=TASK [snapshot=STEP] [skill=CHOICE] [key=value]")
    ft.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
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
    sw.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run only the trials whose names match this shell-style pattern (e.g. 'seed=1__*'); repeatable",
    )
    sw.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    rp = sub.add_parser(
        "report",
        help="aggregate runs: IQM with confidence intervals, curves",
        description="Read eval.json and the TensorBoard curves of run directories (or sweep directories "
        "holding them) and write report.md, report.csv and figures into --out.",
    )
    rp.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    rp.add_argument("--out", metavar="DIR", help="output directory (default: the first sweep directory)")
    rp.add_argument("--metric", help="eval.json key (default: coverage; with --normalize: return)")
    rp.add_argument("--curve", help="TensorBoard tag of the curves (default: charts/intrinsic_return or "
                    "charts/episodic_return, whichever the runs have)")
    rp.add_argument("--reps", type=positive_int, default=2000, help="bootstrap resamples (default: 2000)")
    rp.add_argument("--normalize", choices=["urlb"], help="urlb: divide each run's return by URLB's expert "
                    "score of its task; IQM per task, per domain and over all tasks")
    rp.add_argument("--label", metavar="KEY", help="config key that names each group (e.g. "
                    "agent.params.entropy.name; default: every key that varies among a method's runs)")
    rp.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed as one line
        return int(e.code or 0)
    debug = bool(getattr(args, "debug", False)) or "--debug" in argv
    return guarded(lambda: dispatch(args), debug)


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "train" and args.resume is not None:
        return cmd_resume(args.resume, args.args)
    if args.command == "train":
        return cmd_train(args.args)
    if args.command == "finetune":
        return cmd_finetune(args.run_dir, args.args)
    if args.command == "eval":
        return cmd_eval(args.run_dir, figure=not args.no_figure, videos=args.video)
    if args.command == "list":
        return cmd_list()
    if args.command == "sweep":
        from rlinfo.run.sweep import run_sweep

        return run_sweep(args.spec, args.dir, args.address, args.num_cpus, args.retry_failed, args.only)
    if args.command == "report":
        from rlinfo.run.report import write_report

        write_report(args.dirs, args.out, args.metric, args.curve, args.reps, args.normalize, args.label)
        return 0
    build_parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
