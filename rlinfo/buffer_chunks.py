"""The replay buffer on disk: fixed-size chunk files, written incrementally at each checkpoint.

A checkpoint rewrites only the chunks written since the previous one, plus those holding each env's
latest row (whose n-step link ``next_index`` is set when that env's next row arrives). Chunk names carry
the step, so the previous checkpoint's chunks stay intact until the new checkpoint is in place;
:meth:`BufferChunks.prune` then deletes unreferenced ones. The buffer's contents go through its own
get/set pair (:meth:`ReplayBuffer.rows` / ``set_rows``, ``counters`` / ``set_counters``); files are
tensors read with ``weights_only=True``, the manifest is JSON in the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlinfo.buffers import FIELDS, ReplayBuffer
from rlinfo.checkpoint import load_tensors, sha256, tensor_bytes, verify_sha256
from rlinfo.errors import CheckpointError
from rlinfo.files import atomic_write, remove_file

CHUNK_ROWS = 65_536  # transitions per buffer chunk file
CHUNK_FORMAT = "rlinfo-buffer-chunk"


def _segments(start: int, count: int, capacity: int) -> list[tuple[int, int]]:
    """The index ranges ``[a, b)`` of ``count`` circular writes starting at ``start``."""
    end = start + count
    if end <= capacity:
        return [(start, end)] if count else []
    return [(start, capacity), (0, end - capacity)]


class BufferChunks:
    """Incremental chunked storage of a :class:`ReplayBuffer` in ``directory``."""

    def __init__(self, directory: Path, chunk_rows: int | None = None) -> None:
        self.dir, self.chunk_rows = Path(directory), int(chunk_rows or CHUNK_ROWS)
        self.files: dict[int, str] = {}  # chunk index -> file name of the latest saved version
        self.hashes: dict[str, str] = {}  # file name -> SHA-256 of its bytes
        self.saved_added = 0  # buffer.added at the last save
        self.saved_last: list[int] = []  # buffer.last_index at the last save: rows linked (changed) later

    def dirty(self, buffer: ReplayBuffer) -> list[int]:
        """Indices of the chunks holding transitions added since the last save."""
        new, rows = buffer.added - self.saved_added, self.chunk_rows
        if new >= buffer.capacity:
            return list(range(-(-buffer.size // rows)))
        ids = {i // rows for i in self.saved_last if 0 <= i < buffer.size}
        for a, b in _segments(self.saved_added % buffer.capacity, new, buffer.capacity):
            ids.update(range(a // rows, (b - 1) // rows + 1))
        return sorted(ids)

    def write(self, buffer: ReplayBuffer, step: int) -> dict[str, Any]:
        """Write the dirty chunks; return the manifest (JSON) that the checkpoint records."""
        for c in self.dirty(buffer):
            lo, hi = c * self.chunk_rows, min((c + 1) * self.chunk_rows, buffer.size)
            payload: dict[str, Any] = {"format": CHUNK_FORMAT, "rows": hi - lo, **buffer.rows(lo, hi)}
            name = f"chunk_{c:06d}_{step:09d}.pt"
            data = tensor_bytes(payload)
            atomic_write(self.dir / name, data)
            self.files[c], self.hashes[name] = name, sha256(data)
        counters = buffer.counters()
        self.saved_added, self.saved_last = counters["added"], counters["last_index"]
        files = [self.files[c] for c in sorted(self.files)]
        hashes = {f: self.hashes[f] for f in files if self.hashes.get(f)}
        return {"chunk_rows": self.chunk_rows, **counters, "files": files, "sha256": hashes}

    def prune(self) -> None:
        """Delete chunk files (and temporary files) that the latest manifest does not reference."""
        keep = set(self.files.values())
        for path in self.dir.glob("*"):
            if path.name not in keep and path.name.startswith(("chunk_", ".chunk_")):
                remove_file(path)

    def load(
        self, buffer: ReplayBuffer, manifest: dict[str, Any], on_chunk: Callable[[], object] | None = None
    ) -> None:
        """Fill ``buffer`` from the chunk files named in ``manifest`` (``on_chunk()`` after each: a bar)."""
        if manifest["capacity"] != buffer.capacity or manifest["chunk_rows"] != self.chunk_rows:
            raise CheckpointError(
                f"saved buffer has capacity {manifest['capacity']} in chunks of {manifest['chunk_rows']}; "
                f"this run has {buffer.capacity} in chunks of {self.chunk_rows}"
            )
        size, row = int(manifest["size"]), 0
        for c, name in enumerate(manifest["files"]):
            if Path(name).name != name or not name.startswith(f"chunk_{c:06d}_"):
                raise CheckpointError(f"corrupt buffer manifest: bad chunk file name {name!r}")
            expected = manifest.get("sha256", {}).get(name)  # None: saved before checksums
            verify_sha256(self.dir / name, expected)
            self.hashes[name] = expected or ""
            chunk = load_tensors(self.dir / name, CHUNK_FORMAT)
            rows = {k: v for k, v in chunk.items() if k in FIELDS}
            if len(rows.get("obs", ())) != int(chunk["rows"]):
                raise CheckpointError(f"corrupt buffer chunk {self.dir / name}")
            row += buffer.set_rows(row, rows)
            self.files[c] = name
            if on_chunk is not None:
                on_chunk()
        if row != size:
            raise CheckpointError(f"buffer chunks in {self.dir} hold {row} transitions, expected {size}")
        buffer.set_counters(manifest)
        self.saved_last = [int(i) for i in manifest.get("last_index", [])]
        self.saved_added = buffer.added
