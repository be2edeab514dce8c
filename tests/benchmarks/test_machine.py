"""The machine line every benchmark row records: the CPU's widest vector extension beside its model,
since a virtual machine may call CPUs of very different speeds "AMD EPYC"."""

from __future__ import annotations

import os

import pytest

from benchmarks.machine import describe

CPU = "processor\t: {i}\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 {flags}\n"


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ("avx avx2 fma", " (AVX2)"),
        ("avx2 avx512f avx512_bf16", " (AVX512-BF16)"),
        ("avx2 avx512f", " (AVX512)"),
        ("avx2 avx512f avx512_bf16 amx_tile amx_bf16", " (AMX)"),
        ("sse4_2", ""),
    ],
)
def test_the_line_names_the_widest_vector_extension(tmp_path, flags, shown):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("\n".join(CPU.format(i=i, flags=flags) for i in range(2)))
    assert describe(str(cpuinfo)).startswith(f"AMD EPYC{shown}, {os.cpu_count()} cores")


def test_an_unreadable_cpuinfo_still_gives_a_line(tmp_path):
    assert describe(str(tmp_path / "missing")).endswith(f", {os.cpu_count()} cores")
