"""One process per run folder: :class:`FolderLock`, held by an open
:class:`~evolearn.experiment.run.Run`, so that a second start or resume in a folder whose run
is still going on is refused before it touches anything."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from evolearn.errors import ParamError


class FolderLock:
    """This process's hold on a run folder: an exclusive ``flock`` on the folder itself (no
    file is written), released by :meth:`release` (idempotent) or when the process ends,
    however it ends. Without ``flock`` (not a POSIX system, or a file system without it) the
    lock holds nothing and the run goes on."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, out_dir: Path) -> FolderLock:
        """ParamError, touching nothing, if another process holds the folder: a run, or the
        resumption of one, is still going on in it."""
        try:
            import fcntl
        except ImportError:
            return cls(None)
        try:
            fd = os.open(out_dir, os.O_RDONLY)
        except OSError:
            return cls(None)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ParamError(
                f"{out_dir} is in use: a run (or the resumption of one) is still going on in "
                f"it. Wait for it to end or stop it first; nothing was touched."
            ) from None
        except OSError:
            os.close(fd)
            return cls(None)
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor releases its flock
