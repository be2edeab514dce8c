"""One writer per run directory: an OS lock (``flock``) on ``RUN_DIR/.lock`` held while a run trains.

A second ``rlinfo train --resume`` of the same directory is refused in one line; ``rlinfo eval`` takes
no lock and may read while a run trains. The OS releases the lock when the process ends, even by
SIGKILL, so a killed run never leaves its directory locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from rlinfo.checkpoint import describe_os_error
from rlinfo.errors import RlinfoError
from rlinfo.files import open_nofollow

LOCK_FILE = ".lock"


class LockedError(RlinfoError):
    """The run directory's lock is held by another process."""


class RunLock:
    """Holds the run directory's lock from construction until :meth:`release`."""

    def __init__(self, run_dir: Path) -> None:
        path = Path(run_dir) / LOCK_FILE
        try:
            self.fd: int | None = open_nofollow(path, os.O_RDWR | os.O_CREAT)
        except OSError as e:
            raise RlinfoError(describe_os_error(e, f"cannot open {path}")) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            owner = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockedError(
                    f"{run_dir} is being written by another rlinfo process (pid {owner}); "
                    "wait for it to finish or stop it first"
                ) from None
            raise RlinfoError(describe_os_error(e, f"cannot lock {path}")) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
