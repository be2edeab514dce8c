"""CUDA-graph replay of the learner's update step (``train.cuda_graph: true`` with ``device=cuda``).

A small network's update on a GPU is bound by kernel launches, not arithmetic: hundreds of launches of
microsecond kernels, each paid for in Python. A CUDA graph records them once and replays them as one
launch. The update step ``fn(batch, flag) -> stats`` (reward module, relabelling, agent; sampling stays
outside) qualifies: its shapes never change, it reads no value back to the host (statistics are
detached device tensors) and keeps its state in tensors (Adam with ``capturable=True``).

    calls 1..WARMUP   eager, on a side stream (allocator, cuBLAS workspaces, optimiser state)
    next call         capture fn(static_batch, flag) into a graph (one per value of ``flag``), replay it
    later calls       copy the batch into static_batch, replay, return copies of the outputs

If capture fails (an op that syncs with the host, a shape that changes) the step warns once and runs
eagerly from then on. On the CPU, or with the option off, the step is ``fn`` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rlinfo.optim import Optimizer
from rlinfo.run.monitor import warn
from rlinfo.types import Batch

Step = Callable[[Batch, bool], dict[str, Tensor]]
Replay = Callable[[], None]
WARMUP = 3  # eager calls before capture


def cuda_capture(fn: Step, static: Batch, flag: bool, pool: Any) -> tuple[Replay, dict[str, Tensor]]:
    """Record ``fn(static, flag)`` into a CUDA graph (nothing runs yet); its replay and output tensors."""
    graph = torch.cuda.CUDAGraph()
    # thread_local: the overlapped collector's thread may use CUDA while this thread captures
    with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
        out = fn(static, flag)
    return graph.replay, out


Capture = Callable[[Step, Batch, bool, Any], tuple[Replay, dict[str, Tensor]]]


class GraphedStep:
    """``fn`` replayed from CUDA graphs once warm (see the module docstring). ``capture`` is the
    recorder (``cuda_capture``; the CPU tests pass one that re-runs ``fn`` on the static tensors)."""

    def __init__(self, fn: Step, device: torch.device, enabled: bool, capture: Capture | None = None) -> None:
        self.fn, self.cuda = fn, device.type == "cuda"
        self.enabled = enabled and (self.cuda or capture is not None)
        self.record: Capture = capture or cuda_capture
        self.calls = 0
        self.graphs: dict[bool, tuple[Replay, Batch, dict[str, Tensor]]] = {}  # flag -> (replay, in, out)
        self.pool: Any = None

    def __call__(self, batch: Batch, flag: bool) -> dict[str, Tensor]:
        if not self.enabled:
            return self.fn(batch, flag)
        if flag in self.graphs:
            replay, static, out = self.graphs[flag]
            copy_into(static, batch)
            replay()
            return {k: v.clone() for k, v in out.items()}  # the next replay overwrites ``out``
        self.calls += 1
        if self.calls <= WARMUP:
            return self.on_side_stream(batch, flag)
        try:
            return self.capture(batch, flag)
        except RuntimeError as e:  # not capturable: eager from now on (the update was not applied)
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            warn(f"train.cuda_graph: the update could not be captured ({reason}); running eagerly")
            self.enabled, self.graphs = False, {}
            return self.fn(batch, flag)

    def on_side_stream(self, batch: Batch, flag: bool) -> dict[str, Tensor]:
        if not self.cuda:
            return self.fn(batch, flag)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            out = self.fn(batch, flag)
        torch.cuda.current_stream().wait_stream(stream)
        return out

    def capture(self, batch: Batch, flag: bool) -> dict[str, Tensor]:
        static = dataclasses.replace(batch, **{k: v.clone() for k, v in tensors(batch).items()})
        if self.cuda and self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        replay, out = self.record(self.fn, static, flag, self.pool)  # records the update without running it
        self.graphs[flag] = (replay, static, out)
        replay()  # now run it
        return {k: v.clone() for k, v in out.items()}


def tensors(batch: Batch) -> dict[str, Tensor]:
    """The batch's tensor fields by name."""
    return {f.name: v for f in dataclasses.fields(batch) if isinstance(v := getattr(batch, f.name), Tensor)}


def copy_into(static: Batch, batch: Batch) -> None:
    """Copy ``batch`` into the captured input tensors (same fields, shapes and dtypes)."""
    for name, value in tensors(batch).items():
        getattr(static, name).copy_(value)


def make_capturable(optimizers: list[Optimizer]) -> None:
    """Adam/AdamW keep their step count on the device, so a replayed graph advances it."""
    for opt in optimizers:
        for group in opt.param_groups:
            if "capturable" in group:
                group["capturable"] = True
