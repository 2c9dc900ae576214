"""The run directory on disk: checking it is usable, and locking it.

:func:`check_writable` fails early, before any training, when the output
directory is unusable; :func:`lock_run_directory` keeps a second process from
writing into a run directory that a running process owns (an OS lock on
``run.lock``, released by the operating system when the process ends, even on
``kill -9``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from .errors import RunDirectoryError, RunLockedError

__all__ = ["check_writable", "LOCK_FILE", "lock_run_directory"]

#: Name of the lock file inside a run directory.
LOCK_FILE = "run.lock"

_MB = 1024 * 1024


def check_writable(directory, min_free_bytes=50 * _MB):
    """Make sure *directory* exists, is writable, and has free space.

    Call this before training starts, so that a bad output path fails in
    seconds rather than after hours.

    Parameters
    ----------
    directory : str or path-like
        The run directory; created (with its parents) if missing.
    min_free_bytes : int, optional
        Minimum free space required on its file system (default 50 MB).

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    RunDirectoryError
        If the directory cannot be created, is not a directory, cannot be
        written to, or has less than *min_free_bytes* free.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise RunDirectoryError(
            f"run directory {str(directory)!r} exists but is not a directory"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(
            f"cannot create run directory {str(directory)!r}: {exc}"
        ) from exc
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test.") as f:
            f.write(b"bioplastic")
            f.flush()
    except OSError as exc:
        raise RunDirectoryError(
            f"run directory {str(directory)!r} is not writable: {exc}"
        ) from exc
    free = shutil.disk_usage(directory).free
    if free < min_free_bytes:
        raise RunDirectoryError(
            f"run directory {str(directory)!r} has only {free / _MB:.1f} MB free; "
            f"at least {min_free_bytes / _MB:.1f} MB are required"
        )
    return directory



@contextlib.contextmanager
def lock_run_directory(directory):
    """Hold the run directory's lock for the duration of the ``with`` block.

    The lock is an exclusive :func:`fcntl.flock` on ``<directory>/run.lock``,
    taken without waiting.  The operating system releases it when the holder
    ends in any way (normal exit, exception, Ctrl-C, ``kill -9``), so a lock
    left by a killed process never blocks a later ``--resume``.  The file
    itself stays (it is reused; removing it would let two processes lock
    different files); while held it names the holder (pid, host, start
    time), for the error message of a second process.

    Parameters
    ----------
    directory : str or path-like
        An existing run directory.

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    RunLockedError
        If another process holds the lock; the message names it.
    RunDirectoryError
        If the lock file cannot be created.
    """
    path = Path(directory) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunDirectoryError(f"cannot create the lock file {str(path)!r}: {exc}") from exc
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                except OSError:
                    holder = ""
                raise RunLockedError(
                    f"run directory {str(directory)!r} is in use by another process"
                    + (f" ({holder})" if holder else "")
                    + "; wait until it has finished (or stop it), or choose another --out"
                ) from None
        info = (f"pid {os.getpid()} on {socket.gethostname()}, started "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')}").encode()
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
