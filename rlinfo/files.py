"""Every file rlinfo writes, appends, truncates, renames or deletes goes through this module.

The rules, for run directories, checkpoints, buffer chunks, locks, figures, videos, logs and sweep
and report outputs:

* **Atomic replace.** A file is written to ``.<name>.tmp-*`` beside its target, fsynced and renamed
  into place (:func:`atomic_write`, :func:`atomic_path`): a kill or a full disk leaves the previous
  version, and a symlink planted at the target is replaced, never written through.
* **No-follow opens.** Files opened in place (the run lock, appended logs) and files read back into a
  run (``resume_history.jsonl``) are opened with ``O_NOFOLLOW``: a symlink there is refused in one line.
* **No directory links.** :func:`refuse_links` refuses a run or sweep folder that holds a symlink to a
  directory (``checkpoints/`` pointing elsewhere would let pruning delete outside files).
* **Deleting regular files only.** :func:`remove_file` unlinks a regular file or a symlink itself, never
  what a link points to, and never a directory.

``TRACE``: when a list, every path touched here is appended as ``(kind, path)``; the symlink tests use
it to find every path the code writes or deletes, instead of a hand-written list.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from rlinfo.errors import RlinfoError

TEMP_MARK = ".tmp-"  # temporary files are ".<name>.tmp-<random>"
TRACE: list[tuple[str, Path]] | None = None


def _trace(kind: str, path: Path) -> None:
    if TRACE is not None:
        TRACE.append((kind, Path(path)))


def _temporary(path: Path, suffix: str = "") -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=suffix, dir=path.parent)


def atomic_write(path: Path, write: bytes | Callable[[IO[bytes]], Any]) -> None:
    """Write ``write`` (bytes, or a function of a binary file object) through a temporary file in the
    same directory, fsync it, then ``os.replace`` it onto ``path``."""
    path = Path(path)
    _trace("write", path)
    fd, tmp = _temporary(path)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide figures and metrics from other users
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, bytes):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a full disk while writing has no file name: give the target's
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None or TEMP_MARK in str(e.filename):
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path (same directory and suffix) for a writer that needs a file name (ffmpeg, a CSV
    writer); renamed onto ``path`` when the block ends without an error, removed otherwise."""
    path = Path(path)
    _trace("write", path)
    fd, tmp = _temporary(path, suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before it replaces the previous version
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def save_figure(fig: Any, path: Path, **savefig_kwargs: Any) -> Path:
    """A matplotlib figure as PNG at ``path``, atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", **savefig_kwargs)
    finally:
        plt.close(fig)
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def open_nofollow(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open(path, flags | O_NOFOLLOW)``; a symlink at ``path`` is one :class:`RlinfoError` line."""
    path = Path(path)
    _trace("open", path)
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RlinfoError(
                f"{path} is a symbolic link; rlinfo never writes through links in a run folder (remove it)"
            ) from None
        raise


def open_append(path: Path) -> IO[str]:
    """A text file opened for appending, created if missing, never through a symlink."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    return os.fdopen(fd, "a", encoding="utf-8")


def read_text(path: Path) -> str:
    """A file's text, refusing a symlink (so an outside file is never copied into a run)."""
    fd = open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "r", encoding="utf-8") as f:
        return f.read()


def remove_file(path: Path) -> bool:
    """Delete ``path`` if it is a regular file or a symlink (the link itself); directories and missing
    paths are left alone. Returns whether something was deleted."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return False
    _trace("delete", path)
    path.unlink(missing_ok=True)
    return True


def remove_tree(path: Path) -> None:
    """Delete a folder rlinfo made (a trial that never checkpointed); a link there is refused, and links
    inside it are removed as links (``shutil.rmtree`` never follows them)."""
    import shutil

    path = Path(path)
    if path.is_symlink():
        raise RlinfoError(f"{path} is a symbolic link; rlinfo deletes only folders it made (remove the link)")
    _trace("delete", path)
    shutil.rmtree(path)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete the temporary files a kill left behind below ``directory``; returns how many."""
    stale = [p for p in Path(directory).rglob(f".*{TEMP_MARK}*") if p.is_file() and not p.is_symlink()]
    return sum(remove_file(p) for p in stale)


def refuse_links(folder: Path) -> None:
    """One :class:`RlinfoError` line if ``folder`` holds a symlink to a directory at any depth (links are
    not followed while looking)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            p = Path(root) / name
            if p.is_symlink() and p.is_dir():
                raise RlinfoError(
                    f"{p} is a symbolic link to a directory; rlinfo refuses run and sweep folders that "
                    "link elsewhere (replace it with a real directory)"
                )
