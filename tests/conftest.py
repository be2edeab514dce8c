"""Shared test settings: small networks run far faster on one CPU thread on a 2-core machine."""

import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_configure(config):
    """Under pytest-xdist with a worker per core, pin each worker to its own core: a trainer with wide
    networks takes every core it may run on (rlinfo.run.host.thread_count), and two workers each
    spinning two threads on two cores run many times slower than each on one."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not (worker and count and hasattr(os, "sched_setaffinity")):
        return
    cores = sorted(os.sched_getaffinity(0))
    if int(count) >= len(cores) > 1:
        os.sched_setaffinity(0, {cores[int(worker.removeprefix("gw")) % len(cores)]})
