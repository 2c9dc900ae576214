"""Atomic writes, and the matching readers, of the files of a run directory.

Each writer (:func:`atomic_write_bytes`, :func:`write_json`, :func:`save_npz`,
:func:`save_table`) writes a temporary file in the target's directory, flushes
and fsyncs it, and moves it into place with :func:`os.replace`, so a reader
never sees a half-written file and an interrupted write leaves the previous
version untouched.  The readers are :func:`read_json`, :func:`load_npz` and
:func:`read_table`.

Brian2 quantities are recognised by duck typing (this module does not import
Brian2) and written with ``str()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["atomic_write_bytes", "write_json", "read_json", "save_npz", "load_npz",
           "save_table", "read_table"]

_umask_lock = threading.Lock()


def _new_file_mode():
    """Permission bits an ordinary ``open(path, 'w')`` would give a new file."""
    umask = None
    try:  # Linux: read the umask without changing it
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError):
        pass
    if umask is None:
        with _umask_lock:
            umask = os.umask(0o022)
            os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def _atomic_file(path):
    """Yield a binary file that replaces *path* atomically when the block ends.

    The data go to a temporary file in the same directory as *path*; on normal
    exit it is flushed, fsynced and moved over *path* with :func:`os.replace`.
    On any exception the temporary file is removed and the exception
    re-raised, leaving *path* as it was.
    """
    path = Path(path)
    directory = path.parent
    tmp = tempfile.NamedTemporaryFile(
        mode="wb", dir=directory, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    tmp_name = tmp.name
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        # NamedTemporaryFile creates files with mode 0600; give the usual mode.
        os.chmod(tmp_name, _new_file_mode())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make a rename durable (best effort; not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data):
    """Write *data* to *path* atomically.

    Parameters
    ----------
    path : str or path-like
        Destination file; its directory must exist.
    data : bytes-like
        The complete new contents.

    Returns
    -------
    pathlib.Path
        *path*.

    Notes
    -----
    The data are written to a temporary file in the same directory, flushed,
    fsynced and moved over *path* with :func:`os.replace`; if anything fails,
    the temporary file is removed and *path* keeps its previous contents.
    """
    with _atomic_file(path) as f:
        f.write(data)
    return Path(path)


def _is_quantity(obj):
    # Brian2 Quantity (an ndarray subclass), recognised without importing brian2.
    return hasattr(obj, "dim") and hasattr(obj, "has_same_dimensions")


def _jsonable(obj):
    """Convert *obj* recursively into plain JSON types."""
    if _is_quantity(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {_json_key(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_jsonable(v) for v in obj), key=repr)
    if isinstance(obj, (str, bool, int, float)) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot write an object of type {type(obj).__name__} to JSON")


def _json_key(key):
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, os.PathLike):
        key = os.fspath(key)
    return str(key)


def write_json(path, obj):
    """Write *obj* to *path* as pretty, key-sorted JSON, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    obj : object
        Nested dicts/lists of JSON types.  Also accepted: numpy scalars and
        arrays (converted to Python numbers and lists), Brian2 quantities
        (written as ``str(q)``, e.g. ``"20. ms"``), paths (written as
        strings), tuples and sets (written as lists).  Dict keys are written
        as strings.  NaN and infinities are written as ``NaN``/``Infinity``,
        which :func:`read_json` reads back.

    Returns
    -------
    pathlib.Path
        *path*.

    Raises
    ------
    TypeError
        If *obj* contains a value of another type; *path* is then untouched.
    """
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path):
    """Read a JSON file written by :func:`write_json`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_npz(path, compress=True, **arrays):
    """Save arrays to a (by default compressed) ``.npz`` file at *path*, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination file (written exactly there; no ``.npz`` is appended).
    compress : bool
        Compress (smaller) or not (much faster for large float arrays, e.g.
        checkpoints written after every chunk).
    **arrays : array_like
        The arrays, by name.  Object arrays are refused (they would need
        pickling to load).

    Returns
    -------
    pathlib.Path
        *path*.
    """
    converted = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype.kind == "O":
            raise TypeError(f"array {name!r} has dtype object, which .npz cannot "
                            "store without pickling")
        converted[name] = a
    with _atomic_file(path) as f:
        (np.savez_compressed if compress else np.savez)(f, **converted)
    return Path(path)


def load_npz(path):
    """Load every array of an ``.npz`` file into a dict (the file is closed).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of str to ndarray
    """
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def save_table(path, df):
    """Write a DataFrame to *path* as CSV (without the index), atomically.

    Parameters
    ----------
    path : str or path-like
    df : pandas.DataFrame

    Returns
    -------
    pathlib.Path
        *path*.
    """
    text = df.to_csv(index=False, lineterminator="\n")
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_table(path):
    """Read a CSV file written by :func:`save_table` into a DataFrame."""
    return pd.read_csv(path)
