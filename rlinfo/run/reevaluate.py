"""``rlinfo eval RUN_DIR``: rebuild a run from its directory alone (``config.yaml`` and the latest
checkpoint, ``weights_only``) and evaluate it again. Above both the loop and the evaluation code, so
neither imports the other."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint
from rlinfo.errors import CheckpointError
from rlinfo.run.evaluate import write_eval, write_videos
from rlinfo.run.rundir import load_run_config


def evaluate_run(run_dir: str | Path, figure: bool = True, videos: int = 0) -> dict[str, Any]:
    """Rebuild a run from its directory alone, evaluate it, rewrite ``eval.json`` and ``skills.png``;
    with ``videos = n > 0`` also write mp4s of n evaluation skills to ``RUN_DIR/videos/``.

    When no process trains the run (its lock is free), the evaluation's ``eval/*`` TensorBoard scalars
    are written at the checkpoint's step too: a run killed during its final evaluation gets the same
    files as one that finished it."""
    from torch.utils.tensorboard import SummaryWriter

    from rlinfo.run.lock import LockedError, RunLock
    from rlinfo.run.loop import Trainer

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    ckpt = latest_checkpoint(run_dir)
    cfg = dataclasses.replace(cfg, device="cpu")
    trainer = Trainer(cfg)  # builds envs and networks; writes nothing
    try:
        state = load_checkpoint(ckpt)
        try:
            trainer.load_networks(state)
        except CheckpointError as e:
            raise CheckpointError(f"{ckpt} does not match {run_dir / 'config.yaml'}: {e}") from None
        trainer.global_step = int(state.get("step", 0))
        try:
            lock: RunLock | None = RunLock(run_dir)
        except LockedError:  # a run training now logs its own evaluations
            lock = None
        if lock is not None:
            trainer.lock, trainer.writer = lock, SummaryWriter(str(run_dir))  # closed by trainer.close()
        result = trainer.evaluate(figure_path=run_dir / "skills.png" if figure else None)
        if videos:
            out = run_dir / "videos"
            paths = write_videos(cfg, trainer.agent, trainer.reward_module, trainer.device, out, videos)
            result["videos"] = [str(p.relative_to(run_dir)) for p in paths]
    finally:
        trainer.close()
    write_eval(run_dir, result)
    return result
