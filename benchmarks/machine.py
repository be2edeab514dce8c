"""One line describing the machine a benchmark ran on: CPU model, its widest vector extension, cores,
and the GPU if any. A virtual machine may name only "AMD EPYC" for CPUs whose speeds differ: an AVX2
core multiplies float32 slower than an AVX512 one, and bfloat16 tens of times slower than one with
AVX512-BF16 (measured: 0.8 against 207 GFLOP/s)."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable

# (flag in /proc/cpuinfo, name), widest first: the first one a CPU has describes it
VECTOR = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX512"), ("avx2", "AVX2"))


def describe(cpuinfo: str = "/proc/cpuinfo") -> str:
    from rlinfo.nn import cpu_info

    info = cpu_info(cpuinfo) or {}
    model = info.get("model name", platform.processor() or platform.machine())
    flags = set(info.get("flags", "").split())
    extensions = [name for flag, name in VECTOR if flag in flags][:1]
    text = f"{model}{f' ({extensions[0]})' if extensions else ''}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            text += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return text


def measurable(precisions: Iterable[str]) -> list[str]:
    """``precisions`` without bfloat16 where this CPU emulates it (tens of times slower than float32:
    minutes a contender, and a measure of the emulation, not of rlinfo), saying so once."""
    from rlinfo.nn import cpu_has_bfloat16

    wanted = list(precisions)
    if "bfloat16" not in wanted or cpu_has_bfloat16() is not False:
        return wanted
    print("bfloat16 left out: this CPU has no native bfloat16 matmul (avx512_bf16 or amx_bf16)")
    return [p for p in wanted if p != "bfloat16"]
