"""Process-wide speed settings (rlinfo/run/host.py): torch threads by width, freed memory kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlinfo.config import load_config
from rlinfo.run.host import WIDE, thread_count

# Allocate and free 80 MiB in 1 MiB tensors, as an update does every step, and count page faults.
CHURN = """
import resource, sys, torch
from rlinfo.run.host import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
for _ in range(2):  # warm up: the heap grows once
    xs = [torch.ones(1 << 18) for _ in range(80)]; del xs
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    xs = [torch.ones(1 << 18) for _ in range(80)]; del xs
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(modes: list[str]) -> list[int]:
    """Page faults of the churn in one fresh process per mode, run side by side."""
    children = [
        subprocess.Popen([sys.executable, "-c", CHURN, mode], stdout=subprocess.PIPE, text=True)
        for mode in modes
    ]
    return [int(child.communicate()[0].split()[-1]) for child in children]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_kept_freed_memory_removes_the_page_faults_of_repeated_updates():
    *default, kept_a, kept_b = page_faults(["default"] * 6 + ["keep"] * 2)
    # By default glibc hands the freed top of its heap back each round (3 x 80 MiB, 256 faults per MiB)
    # unless, by the chance of the process's earlier allocations (~30% of processes here), a live block
    # sits above it; six processes make sure the default is seen trimming.
    assert max(default) > 30_000
    # kept: at most the first round's growth, in every process
    assert kept_a < 1_000 and kept_b < 1_000


def test_threads_follow_network_width():
    narrow = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE // 2}"])
    wide = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE}"])
    fixed = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE}", "train.threads=3"])
    assert thread_count(narrow) == 1
    assert thread_count(wide) >= 1 and thread_count(fixed) == 3
