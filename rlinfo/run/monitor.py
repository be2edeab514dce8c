"""What a run shows while it trains: the progress bar and the TensorBoard tag of each logged value.

Tags, one per value, never two values under one tag:

- ``charts/sps``, ``charts/episodic_return``, ``charts/episodic_length``, ``charts/intrinsic_return``,
  ``charts/success``;
- ``losses/<name>`` for the agent's losses, ``losses/<module>/<name>`` for a reward module's;
- ``rewards/<reward name>/<stat>`` for the rewards the agent is trained on;
- everything else that is learned or scheduled but is not a loss (SAC's α, METRA's λ, EPO's band and
  phase weight, PPO's KL) under its owner: ``agent/<name>`` or ``<module>/<name>``.

The bar's rate is the same number as ``charts/sps`` (steps per second over the last log interval);
tqdm's own smoothed rate is not shown, so the two can never disagree.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from tqdm import tqdm

BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def progress_bar(total: int, initial: int, enabled: bool) -> tqdm:
    """A bar over env steps; the caller shows ``sps`` (and returns) as its postfix."""
    return tqdm(
        total=total, initial=min(initial, total), disable=not enabled, unit="step",
        dynamic_ncols=True, bar_format=BAR_FORMAT,
    )


def phase_bar(description: str, enabled: bool = True, total: int | None = None, unit: str = "step") -> tqdm:
    """A transient bar for a phase that takes seconds to minutes (evaluation, rendering, loading): its
    ``update`` is the callback the phase calls per step; it disappears when the phase ends."""
    return tqdm(total=total, desc=f"rlinfo: {description}", disable=not enabled, unit=unit, leave=False,
                dynamic_ncols=True)  # fmt: skip


def advance(bar: tqdm, before: int, after: int) -> None:
    """Move the bar from step ``before`` to ``after``; a last rollout that ends past the total extends it.

    (PPO collects whole rollouts, so it may stop up to one rollout after ``total_steps``; the bar then
    shows the steps actually taken, the number eval.json reports.)
    """
    if after > bar.total:
        bar.total = after
    bar.update(after - before)


def stat_tag(group: str, stat: str, loss_names: tuple[str, ...], reward_name: str) -> str:
    """The TensorBoard tag of one update statistic ``<group>/<stat>`` (see the module docstring).

    ``group`` is ``agent`` for the agent's statistics, ``reward`` for the trained-on rewards, or the
    name of a reward module; ``loss_names`` are the agent's statistics that are losses.
    """
    if group == "reward":
        return f"rewards/{reward_name}/{stat}"
    if group == "agent":
        return f"losses/{stat}" if stat in loss_names else f"agent/{stat}"
    return f"losses/{group}/{stat}" if stat.startswith("loss") else f"{group}/{stat}"


def warn(message: str) -> None:
    """One warning line on stderr (printed above a running bar)."""
    tqdm.write(f"rlinfo: warning: {message}", file=sys.stderr)


def add_gif(writer: Any, tag: str, gif: bytes, step: int) -> None:
    """An animated GIF as a TensorBoard image (shown, and played, in the Images tab)."""
    from PIL import Image
    from tensorboard.compat.proto.summary_pb2 import Summary

    width, height = Image.open(io.BytesIO(gif)).size
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif)
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
