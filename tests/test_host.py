"""Process-wide speed settings (rlinfo/run/host.py): torch threads by width, freed memory kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlinfo.config import load_config
from rlinfo.run.host import WIDE, thread_count

# Allocate and free 8 MiB in 1 MiB tensors, as an update does every step, and count page faults.
CHURN = """
import resource, sys, torch
from rlinfo.run.host import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
for _ in range(5):  # warm up: the heap grows once
    xs = [torch.ones(1 << 18) for _ in range(8)]; del xs
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    xs = [torch.ones(1 << 18) for _ in range(8)]; del xs
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_kept_freed_memory_removes_the_page_faults_of_repeated_updates():
    default, kept = page_faults("default"), page_faults("keep")
    # 50 rounds x 8 MiB: glibc returns most of it each round (~100 faults per MiB) unless kept
    assert default > 5000
    assert kept < 100


def test_threads_follow_network_width():
    narrow = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE // 2}"])
    wide = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE}"])
    fixed = load_config("sac_half_cheetah", [f"agent.hidden_dim={WIDE}", "train.threads=3"])
    assert thread_count(narrow) == 1
    assert thread_count(wide) >= 1 and thread_count(fixed) == 3
