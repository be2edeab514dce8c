"""Process-wide settings that make training fast on the host CPU, applied once by ``build``.

- Torch threads (:func:`thread_count`): one for small networks, every core for wide ones.
- Freed memory stays with the process (:func:`keep_freed_memory`): an update allocates and frees the
  same tensors every step. glibc hands the freed top of its heap back to the kernel once more than
  its trim threshold is free there, so the next update's tensors are fresh pages, each faulted in and
  zeroed on first write: tens to hundreds of page faults per SAC update, up to ~1,600 for 1024-unit
  networks, a few percent of the update's time (``scripts/update_benchmark.py``). Raising the trim
  threshold (and fixing the size from which blocks get their own mapping) keeps those pages for the
  next update; the cost is that the process's resident memory stays at its peak instead of shrinking.
- Memory (:func:`available_memory`, :func:`check_network_memory`): networks and buffers larger than
  the memory available are refused in one line before anything is allocated.
"""

from __future__ import annotations

import ctypes
import os

from rlinfo.config import Config
from rlinfo.errors import RlinfoError

WIDE = 256  # from this many hidden units, matmuls of batch 256 gain from a second core

# glibc mallopt parameters (malloc.h) and the values set
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD = 1 << 30  # free memory kept at the top of the heap before any is returned
MMAP_THRESHOLD = 32 << 20  # blocks from this size get their own mapping (glibc's maximum on 64 bit)


def thread_count(cfg: Config) -> int:
    """``train.threads``, or by network width when it is 0: one thread for small networks (the per-op
    overhead of splitting dominates), every available core for networks of ``WIDE`` units or more.

    Measured on a 2-core CPU (CHANGELOG.md, 2026-12-01): metra_ant (1024 units) 137 → 242 env steps/s,
    SAC on half_cheetah (256 units) 133 → 205 env steps/s from one thread to two.
    """
    if cfg.train.threads:
        return cfg.train.threads
    widths = [cfg.agent.hidden_dim, int(cfg.reward.params.get("hidden_dim", 0) or 0)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if max(widths) >= WIDE else 1


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (see the module docstring); False where the C
    library is not glibc (macOS, musl, Windows), which then keeps its own policy."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError, TypeError):  # no mallopt (macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def network_bytes(hidden_dim: int, num_layers: int, copies: int) -> int:
    """A lower bound on the training memory of ``copies`` MLPs of ``num_layers`` hidden layers of width
    ``hidden_dim``: the hidden-to-hidden weights alone, float32, each with a gradient and two Adam moments."""
    return 4 * 4 * copies * hidden_dim * hidden_dim * max(num_layers - 1, 1)


def check_network_memory(cfg: Config) -> None:
    """Refuse networks larger than the memory available now, before building them (one line). The agent
    counts 5 networks (actor, two critics, two targets); a reward module's ``hidden_dim``/``num_layers``
    parameters count 2."""
    agent = network_bytes(cfg.agent.hidden_dim, cfg.agent.num_layers, 5)
    params = cfg.reward.params if isinstance(cfg.reward.params, dict) else {}
    width, layers = params.get("hidden_dim"), params.get("num_layers", 2)
    reward = network_bytes(width, layers, 2) if isinstance(width, int) and isinstance(layers, int) else 0
    available = available_memory()
    if available is not None and agent + reward > available:
        keys = "agent.hidden_dim × agent.num_layers"
        if reward > agent:
            keys = "reward.params.hidden_dim × reward.params.num_layers"
        raise RlinfoError(
            f"the networks need at least {(agent + reward) / 2**30:.1f} GiB ({keys}), more than the "
            f"{available / 2**30:.1f} GiB of memory available"
        )


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``; None elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
