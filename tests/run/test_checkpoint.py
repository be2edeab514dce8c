"""Checkpoints: tensors + JSON only, atomic, and a clear error for anything else."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from rlinfo.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from rlinfo.errors import CheckpointError


def test_round_trip_and_latest_index(tmp_path):
    state = {"agent": {"w": torch.arange(3.0)}, "step": 5, "optim": {"state": {}, "param_groups": []}}
    save_checkpoint(tmp_path, 5, state)
    path = save_checkpoint(tmp_path, 10, {"agent": {"w": torch.ones(2)}})
    assert latest_checkpoint(tmp_path) == path
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["agent"]["w"], torch.ones(2))
    meta = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())
    assert meta["step"] == 10 and meta["version"] == 1
    assert not list((tmp_path / "checkpoints").glob(".*"))  # no temporary files left behind


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"format": "rlinfo-checkpoint", "version": 1, "state": Evil()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="cannot load checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["truncated", "garbage", "foreign", "future"])
def test_bad_files_give_one_line_errors(tmp_path, kind):
    path = save_checkpoint(tmp_path, 1, {"w": torch.randn(100)})
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:50])
    elif kind == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif kind == "foreign":
        torch.save({"weights": torch.ones(1)}, path)
    else:
        torch.save({"format": "rlinfo-checkpoint", "version": 99, "state": {}}, path)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert "\n" not in str(e.value)


def test_missing_run_directory_and_index(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        latest_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        latest_checkpoint(tmp_path)
