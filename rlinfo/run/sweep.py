"""``rlinfo sweep SPEC.yaml``: every trial of a spec (:mod:`rlinfo.run.sweep_spec`) as one Ray task that
runs ``rlinfo train`` into ``SWEEP_DIR/<trial name>``.

Ray (``pip install 'rlinfo[sweep]'``) schedules the tasks: a new local Ray instance by default, with as
many trials at a time as its CPUs (and GPUs) allow, or an existing cluster with ``--address``. The
driver keeps at most as many tasks in flight as the cluster's resources can run, so "running" is what
runs; ``SWEEP_DIR/sweep.json`` holds every trial's status (pending, running, done, failed) and the
one-line error of a failed one, rewritten at every change. ``--only PATTERN`` (repeatable, shell-style
on trial names, e.g. ``'seed=1__*'``) runs a subset, say one machine's share; the others are ``skipped``.

Fault tolerance is decided from the run directories themselves, so re-running the same command after
a kill resumes: a trial whose ``eval.json`` reports ``steps >= total_steps`` is done and never touched
again; one with a checkpoint resumes from it (``rlinfo train --resume``, or ``rlinfo eval`` when it was
killed during its final evaluation); one killed before its first checkpoint starts again. A failed
trial stays failed (listed, exit status 1) until ``--retry-failed``. Each trial's output goes to
``SWEEP_DIR/logs/<trial>.log``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlinfo.config import to_dict
from rlinfo.errors import ConfigError, RlinfoError
from rlinfo.files import open_append, refuse_links, remove_tree, write_json
from rlinfo.run.rundir import is_number, read_eval
from rlinfo.run.sweep_spec import Spec, Trial, read_spec

STATUS = "sweep.json"
STATES = ("done", "running", "pending", "interrupted", "failed", "skipped")  # a trial's, in sweep.json
LOGS = "logs"
INSTALL = "rlinfo sweep needs Ray: pip install 'rlinfo[sweep]'"
LOCK_WAIT_S = 120.0  # a trial of a killed sweep may take a moment to die and release its lock
STOP_GRACE_S = 300.0  # for running trials to finish their iteration and checkpoint when the sweep stops
MIN_ETA_WORK = 0.05  # trials' worth of env steps finished before an ETA is shown
HEARTBEAT_S = 600.0  # between lines on the running trials' progress (a trial may train for hours)


# ----------------------------------------------------------------------------- one trial (Ray worker)


def eval_steps(run_dir: Path) -> int:
    """The ``steps`` of a run's ``eval.json``, or -1 when there is none (or it is malformed)."""
    try:
        return int(read_eval(run_dir)["steps"])
    except RlinfoError:
        return -1


def checkpoint_step(run_dir: Path) -> int:
    """The step of the run's latest checkpoint (``checkpoints/latest.json``), or -1 when there is none."""
    try:
        step = json.loads((run_dir / "checkpoints" / "latest.json").read_text())["step"]
        return int(step) if is_number(step) else -1
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def is_finished(run_dir: Path, total_steps: int) -> bool:
    return eval_steps(run_dir) >= total_steps


def wait_unlocked(run_dir: Path, timeout: float = LOCK_WAIT_S) -> None:
    """Wait until no process writes ``run_dir`` (its lock is free); one-line error after ``timeout``."""
    from rlinfo.run.lock import LockedError, RunLock

    deadline = time.monotonic() + timeout
    while run_dir.is_dir():
        try:
            RunLock(run_dir).release()
            return
        except LockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def trial_command(sweep_dir: Path, trial: Trial, total_steps: int) -> list[str]:
    """The ``rlinfo`` arguments that bring a trial from the state of its directory to done."""
    run_dir = sweep_dir / trial.name
    step = checkpoint_step(run_dir)
    if step >= total_steps:  # killed during the final evaluation
        return ["eval", str(run_dir)]
    if step >= 0:
        return ["train", "--resume", str(run_dir), *trial.overrides]
    if run_dir.exists():  # killed before its first checkpoint: nothing learned is lost by starting again
        remove_tree(run_dir)
    return ["train", *trial.train_args(sweep_dir)]


def run_trial(sweep_dir: str, trial: Trial) -> dict[str, Any]:
    """Run one trial through the ``rlinfo`` CLI (the same code path as ``rlinfo train``).

    Returns ``{"name", "status": done|failed|interrupted, "error", "wall_s", "eval"}`` (interrupted: the run
    stopped at a checkpoint on SIGINT/SIGTERM); never raises for an error of the run itself (that is the
    trial's one-line error).
    """
    from rlinfo.run.commands import run_argv

    start = time.perf_counter()
    root = Path(sweep_dir)
    run_dir = root / trial.name
    result: dict[str, Any] = {"name": trial.name, "status": "failed", "error": "", "eval": {}}
    try:
        (root / LOGS).mkdir(parents=True, exist_ok=True)
        refuse_links(root)
        log = open_append(root / LOGS / f"{trial.name}.log")
    except (OSError, RlinfoError) as e:  # a linked or unwritable log: the trial fails in one line
        result["error"] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        result["wall_s"] = time.perf_counter() - start
        return result
    with log:
        try:
            total = trial.config(root).total_steps
            wait_unlocked(run_dir)
            if not is_finished(run_dir, total):
                argv = trial_command(root, trial, total)
                print(f"$ rlinfo {' '.join(argv)}", file=log, flush=True)
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    code = run_argv(argv)
                log.flush()
                if code != 0:
                    result["error"] = last_error(root / LOGS / f"{trial.name}.log") or f"exit status {code}"
                if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):  # stopped at a checkpoint
                    result["status"] = "interrupted"
            if is_finished(run_dir, total):
                result["status"] = "done"
                result["eval"] = read_eval(run_dir)
            elif not result["error"]:
                result["error"] = f"no eval.json with steps >= {total} in {run_dir}"
        except Exception as e:  # a broken directory, a full disk: still one line, the sweep goes on
            result["error"] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"[sweep] {result['status']} {result['error']}", file=log)
    result["wall_s"] = time.perf_counter() - start
    return result


def last_error(log_path: Path) -> str:
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line for line in lines if line.startswith("rlinfo: error:")]
    return errors[-1].removeprefix("rlinfo: error:").strip() if errors else ""


# ----------------------------------------------------------------------------- the driver


@dataclass
class Progress:
    """Counts, the ETA and ``sweep.json`` of the whole sweep."""

    sweep_dir: Path
    spec: Spec
    trials: dict[str, dict[str, Any]]
    started: float = 0.0
    # for the ETA: the wall time of the trials this invocation finished, and how many trials' worth of
    # env steps they trained (a trial resumed at 90% of its steps counts 0.1)
    busy_s: float = 0.0
    work_done: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)  # trial -> total_steps, read once

    def total(self, name: str) -> int:
        """A trial's ``total_steps`` (its resolved config, read once)."""
        if name not in self.totals:
            trial = next(t for t in self.spec.trials if t.name == name)
            self.totals[name] = max(int(trial.config(self.sweep_dir).total_steps), 1)
        return self.totals[name]

    def fraction_left(self, name: str) -> float:
        """The share of a trial's env steps that its latest checkpoint has not reached yet."""
        step = checkpoint_step(self.sweep_dir / name)
        return min(max(1.0 - step / self.total(name), 0.0), 1.0) if step > 0 else 1.0

    def running_steps(self, names: list[str]) -> str:
        """Where each running trial stands: the step of its latest checkpoint of its total."""
        where = []
        for name in names:
            step = checkpoint_step(self.sweep_dir / name)
            at = f"at {step:,} of {self.total(name):,}" if step > 0 else "before its first checkpoint"
            where.append(f"{name} {at}")
        return "running: " + ", ".join(where)

    def finished(self, name: str, wall_s: float, left_at_start: float) -> None:
        """Count a trial that this invocation ran to its end in ``wall_s``, from ``left_at_start``."""
        if left_at_start >= MIN_ETA_WORK:  # an evaluation-only resume says nothing of training speed
            self.busy_s += wall_s
            self.work_done += left_at_start

    def set(self, name: str, **fields: Any) -> None:
        self.trials[name].update(fields)
        self.save()

    def count(self, status: str) -> int:
        return sum(t["status"] == status for t in self.trials.values())

    def eta(self, slots: int) -> str:
        """Seconds per trial's worth of steps (from the trials finished here) × the steps left / slots."""
        left = [n for n, t in self.trials.items() if t["status"] in ("pending", "running")]
        if not left:
            return "0s"
        if self.work_done < MIN_ETA_WORK:
            return "?"
        seconds = self.busy_s / self.work_done * sum(map(self.fraction_left, left)) / max(slots, 1)
        return duration(seconds)

    def line(self, slots: int, event: str) -> str:
        n = len(self.trials)
        done, running, failed = self.count("done"), self.count("running"), self.count("failed")
        counts = f"{done}/{n} done, {running} running, {failed} failed"
        return f"sweep [{counts}, ETA {self.eta(slots)}] {event}"

    def save(self) -> None:
        counts = {s: self.count(s) for s in STATES}
        data = {"spec": str(self.spec.path), "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "counts": counts, "trials": self.trials}  # fmt: skip
        write_json(self.sweep_dir / STATUS, data)


def duration(seconds: float) -> str:
    """``H:MM:SS``, with days in front past 24 hours (``2d 03:04:05``)."""
    days, rest = divmod(int(round(seconds)), 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def load_status(sweep_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        return dict(json.loads((sweep_dir / STATUS).read_text())["trials"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def identity_change(sweep_dir: Path, trial: Trial) -> str:
    """The config keys an existing trial directory has with other values than the spec now gives."""
    from rlinfo.run.resume import changed_keys, resumable
    from rlinfo.run.rundir import load_run_config

    run_dir = sweep_dir / trial.name
    if not (run_dir / "config.yaml").is_file():
        return ""
    try:
        saved = to_dict(load_run_config(run_dir))
    except RlinfoError as e:
        return str(e)
    spec = to_dict(trial.config(sweep_dir))
    if not spec["finetune"]["skill_vector"]:  # a fine-tuning run chooses its skill when it starts
        spec["finetune"]["skill_vector"] = saved["finetune"]["skill_vector"]
    changed = [k for k in changed_keys(saved, spec) if not resumable(k)]
    if not changed:
        return ""
    return f"{run_dir} was made with other values of {', '.join(changed)} than the spec gives"


MAX_TRIES = 3  # per trial and invocation, when its Ray worker dies


def selected(spec: Spec, only: list[str] | None) -> set[str]:
    """The names of the trials that ``--only`` patterns (shell-style, e.g. ``seed=1__*``) match; all
    trials without patterns. A pattern that matches no trial is an error: a typo must not run nothing."""
    names = [t.name for t in spec.trials]
    if not only:
        return set(names)
    chosen: set[str] = set()
    for pattern in only:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            raise ConfigError(f"--only {pattern!r} matches none of the {len(names)} trials of {spec.path} "
                              f"(names look like {names[0]})")  # fmt: skip
        chosen.update(matched)
    return chosen


def plan(
    sweep_dir: Path, spec: Spec, retry_failed: bool, only: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Every trial's status before this invocation runs anything (from the run directories on disk); a
    trial that would run but is not matched by ``only`` is ``skipped`` this time."""
    chosen = selected(spec, only)
    old = load_status(sweep_dir)
    trials: dict[str, dict[str, Any]] = {}
    for trial in spec.trials:
        before = old.get(trial.name, {})
        entry = {"preset": trial.preset, "overrides": list(trial.overrides), "status": "pending", "error": "",
                 "attempts": int(before.get("attempts", 0))}  # fmt: skip
        total = trial.config(sweep_dir).total_steps
        mismatch = identity_change(sweep_dir, trial)
        if mismatch:
            entry.update(status="failed", error=mismatch)
        elif is_finished(sweep_dir / trial.name, total):
            entry.update(status="done", steps=eval_steps(sweep_dir / trial.name))
        elif before.get("status") == "failed" and not retry_failed:
            entry.update(status="failed", error=before.get("error", ""))
        elif trial.name not in chosen:
            entry.update(status="skipped")
        trials[trial.name] = entry
    return trials


def trial_warnings(sweep_dir: Path, trials: list[Trial]) -> dict[str, int]:
    """The option warnings (``rlinfo.options.option_warnings``) of the trials about to run, each with the
    number of trials it concerns, read here on the driver, since a trial's own go to its log only. A
    device this machine cannot resolve (a cluster's GPU) is left to the trial."""
    from rlinfo.options import option_warnings
    from rlinfo.run.build import resolve_device

    counts: dict[str, int] = {}
    for trial in trials:
        cfg = trial.config(sweep_dir)
        try:
            device = resolve_device(cfg.device)
        except RlinfoError:
            continue
        for message in option_warnings(cfg, device):
            counts[message] = counts.get(message, 0) + 1
    return counts


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RlinfoError(INSTALL) from None
    return ray


def slots(ray: Any, spec: Spec) -> int:
    """How many trials the cluster's resources run at once (at least 1)."""
    resources = ray.cluster_resources()
    fits = [resources.get("CPU", 1.0) / spec.cpus] if spec.cpus > 0 else []
    if spec.gpus > 0:
        fits.append(resources.get("GPU", 0.0) / spec.gpus)
    return max(int(min(fits)) if fits else 1, 1)


def run_sweep(
    spec_path: str | Path,
    sweep_dir: str | Path | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    retry_failed: bool = False,
    only: list[str] | None = None,
) -> int:
    """Run (or resume) a sweep, or only its trials whose names match a pattern of ``only``; 0 when every
    trial that ran is done, 1 when some failed."""
    spec = read_spec(spec_path)
    selected(spec, only)  # a pattern that matches nothing stops here, before anything is written
    root = Path(sweep_dir) if sweep_dir is not None else Path("runs") / Path(spec_path).stem
    ray = import_ray()
    root.mkdir(parents=True, exist_ok=True)
    refuse_links(root)
    progress = Progress(root, spec, plan(root, spec, retry_failed, only), started=time.perf_counter())
    progress.save()
    todo = [t for t in spec.trials if progress.trials[t.name]["status"] == "pending"]
    skipped = progress.count("skipped")
    left_out = f" ({skipped} not matched by --only)" if skipped else ""
    print(f"sweep {spec.path} -> {root}: {len(spec.trials)} trials, {len(todo)} to run{left_out}")
    for message, count in trial_warnings(root, todo).items():  # each trial's log has them too
        print(f"sweep: warning ({count} trial{'s' * (count > 1)}): {message}")
    if todo:
        local = address in (None, "", "local")
        # local workers import what the driver could: reward classes named module:Class in this folder
        pythonpath = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)
        ray.init(
            address="local" if local else address,
            num_cpus=num_cpus if local else None,
            runtime_env={"env_vars": {"PYTHONPATH": pythonpath}} if local else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            configure_logging=True,
        )
        interrupted = False
        previous = stop_on_sigterm()
        try:
            run_all(ray, progress, todo, str(root.resolve()))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            try:
                ray.shutdown()
            except KeyboardInterrupt:  # a second Ctrl-C while Ray stops: still record and summarise
                interrupted = True
        if interrupted:
            for t in progress.trials.values():
                if t["status"] == "running":
                    t["status"] = "interrupted"  # its directory keeps its checkpoints: a re-run resumes it
            progress.save()
            print(summary(progress, root) + "; interrupted: run the same command again to resume")
            return 130
    print(summary(progress, root))
    return 1 if progress.count("failed") else 0


def stop_on_sigterm() -> Any:
    """SIGTERM (``kill``) stops the sweep as Ctrl-C does (a sweep started in the background ignores SIGINT);
    returns the handler it replaced (None off the main thread, where handlers cannot be set)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)


def summary(progress: Progress, root: Path) -> str:
    """The sweep's last line (every failure on a line of its own before it)."""
    lines = [f"failed: {n}: {t['error']}" for n, t in progress.trials.items() if t["status"] == "failed"]
    states = ("failed", "interrupted", "pending", "skipped")
    left = [f"{progress.count(s)} {s}" for s in states if progress.count(s)]
    counts = ", ".join(left)
    hint = " (re-run with --retry-failed to run them again)" if progress.count("failed") else ""
    done = f"{progress.count('done')}/{len(progress.trials)} done"
    lines.append(f"sweep: {done}{', ' + counts if counts else ''}{hint}; status: {root / STATUS}")
    return "\n".join(lines)


def run_all(ray: Any, progress: Progress, todo: list[Trial], sweep_dir: str) -> None:
    """Submit trials as Ray tasks, at most as many in flight as the cluster runs; record each result."""
    spec = progress.spec
    # no retries inside Ray: a trial whose worker dies is resubmitted here, so every retry is printed
    # and counted in sweep.json's ``attempts`` (the trial resumes from its last checkpoint)
    task = ray.remote(num_cpus=spec.cpus, num_gpus=spec.gpus, max_calls=1, max_retries=0)(run_trial)
    queue, running = list(todo), {}
    tries: dict[str, int] = {}
    left_at_start: dict[str, float] = {}  # trial -> the share of its steps left when it was submitted
    heartbeat = time.perf_counter()
    try:
        while queue or running:
            n_slots = slots(ray, spec)
            while queue and len(running) < n_slots:
                trial = queue.pop(0)
                running[task.remote(sweep_dir, trial)] = (trial, time.perf_counter())
                left_at_start[trial.name] = progress.fraction_left(trial.name)
                attempts = progress.trials[trial.name]["attempts"] + 1
                tries[trial.name] = tries.get(trial.name, 0) + 1
                progress.set(trial.name, status="running", error="", attempts=attempts)
                step = checkpoint_step(Path(sweep_dir) / trial.name)
                event = f"resumed {trial.name} at step {step}" if step >= 0 else f"started {trial.name}"
                print(progress.line(n_slots, event), flush=True)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=10.0)
            if not ready and time.perf_counter() - heartbeat >= HEARTBEAT_S:
                heartbeat = time.perf_counter()
                names = [trial.name for trial, _ in running.values()]
                print(progress.line(n_slots, progress.running_steps(names)), flush=True)
            for ref in ready:
                trial, started = running.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as e:  # the worker or its node died: run_trial itself never raises
                    text = str(e).strip().splitlines()
                    reason = f"{type(e).__name__}: {text[0] if text else ''}"
                    if tries[trial.name] < MAX_TRIES:
                        queue.insert(0, trial)
                        progress.set(trial.name, status="pending", error=reason)
                        print(progress.line(n_slots, f"retrying {trial.name} (try {tries[trial.name] + 1} of "
                                                     f"{MAX_TRIES}) after {reason}"), flush=True)  # fmt: skip
                        continue
                    result = {"status": "failed", "error": reason}
                wall = time.perf_counter() - started
                if result["status"] == "done":
                    progress.finished(trial.name, wall, left_at_start[trial.name])
                fields = {
                    "status": result["status"],
                    "error": result.get("error", ""),
                    "wall_s": round(wall, 1),
                }
                if "steps" in result.get("eval", {}):
                    fields["steps"] = result["eval"]["steps"]
                progress.set(trial.name, **fields)
                detail = f": {fields['error']}" if fields["error"] else f" in {wall:.0f} s"
                print(progress.line(n_slots, f"{result['status']} {trial.name}{detail}"), flush=True)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM of the sweep
        stop_running(ray, list(running))
        raise


def stop_running(ray: Any, refs: list[Any], grace_s: float = STOP_GRACE_S) -> None:
    """Ctrl-C or SIGTERM of the sweep: interrupt each running trial as Ctrl-C would (``ray.cancel``
    without force raises SIGINT's handler in the worker), so that it checkpoints where it stands and
    stops, and wait up to ``grace_s`` for them. Trials still running then die with the workers and
    resume from their last periodic checkpoint. A second Ctrl-C stops the wait."""
    if not refs:
        return
    print(f"sweep: stopping {len(refs)} running trials at their next checkpoint", flush=True)
    for ref in refs:
        ray.cancel(ref, force=False)
    ray.wait(refs, num_returns=len(refs), timeout=grace_s)
