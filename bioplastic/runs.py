"""The run directory: atomic writes, the run record, and loading a run back.

A run directory (see ``docs/run_format.rst``, format_version 1) alone suffices
to make every figure of a training run.  This module provides

* atomic writers (:func:`atomic_write_bytes`, :func:`write_json`,
  :func:`save_npz`, :func:`save_table`): each writes a temporary file in the
  target's directory, flushes and fsyncs it, and moves it into place with
  :func:`os.replace`, so a reader never sees a half-written file and an
  interrupted write leaves the previous version untouched;
* the matching readers (:func:`read_json`, :func:`load_npz`, :func:`read_table`);
* :func:`software_versions` for the run record, and :func:`check_writable` to
  fail early, before any training, when the output directory is unusable;
* :func:`lock_run_directory`, which keeps a second process from writing into
  a run directory that a running process owns (an OS lock on ``run.lock``,
  released by the operating system when the process ends, even on ``kill -9``);
* :func:`load_run`, which checks and loads a finished run into a :class:`Run`;
* :func:`write_synthetic_run`, a small format-valid run with plausible
  structured data, for testing analysis and figure code without training.

This module does not import Brian2 (Brian2 quantities are recognised by duck
typing and written with ``str()``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

import numpy as np
import pandas as pd

__all__ = [
    "FORMAT_VERSION",
    "REQUIRED_FILES",
    "OPTIONAL_FILES",
    "RunError",
    "RunDirectoryError",
    "IncompleteRunError",
    "RunFormatError",
    "atomic_write_bytes",
    "write_json",
    "read_json",
    "save_npz",
    "load_npz",
    "save_table",
    "read_table",
    "software_versions",
    "check_writable",
    "LOCK_FILE",
    "RunLockedError",
    "lock_run_directory",
    "Run",
    "load_run",
    "write_synthetic_run",
]

#: Version of the run directory format written and read by this module.
FORMAT_VERSION = 1

#: Files every finished run directory holds.
REQUIRED_FILES = (
    "run.json",
    "metrics.json",
    "weights.npz",
    "test_samples.csv",
    "test_counts.npz",
)

#: Files a run directory may hold (:class:`Run` loads them on first access).
OPTIONAL_FILES = ("training.csv", "evaluations.csv", "snapshots.npz", "raster.npz")

_MB = 1024 * 1024


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

class RunError(Exception):
    """Base class of the errors raised for run directories."""


class RunDirectoryError(RunError):
    """The run directory is missing, not a directory, or unusable for writing."""


class IncompleteRunError(RunError):
    """The run directory lacks files that are required."""


class RunFormatError(RunError, ValueError):
    """A run file has the wrong format version, or contents of the wrong shape."""


class RunLockedError(RunDirectoryError):
    """Another process holds the run directory's lock (it is training or testing there)."""


# --------------------------------------------------------------------------
# atomic writers
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------

def _distribution_version(name, module=None):
    """Version of an installed distribution, or None if it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
    if module is None:
        return None
    try:  # e.g. a source checkout on sys.path without installed metadata
        mod = __import__(module)
    except Exception:
        return None
    return getattr(mod, "__version__", None)


def _compiler_version():
    try:
        out = subprocess.run(
            ["gcc", "--version"], capture_output=True, text=True, timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.strip().splitlines()
    return lines[0].strip() if lines else None


def software_versions():
    """Versions of the software a run depends on, for the run record.

    Returns
    -------
    dict
        Keys ``python``, ``platform``, ``bioplastic``, ``brian2``, ``numpy``,
        ``pandas``, ``scikit-learn``, ``brian2cuda`` and ``compiler`` (the
        first line of ``gcc --version``).  A value is ``None`` where the
        package or compiler is missing.  Brian2 is not imported unless its
        installed metadata cannot be found.
    """
    from bioplastic import __version__ as bioplastic_version

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "bioplastic": bioplastic_version,
        "brian2": _distribution_version("brian2", "brian2"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": _distribution_version("scikit-learn", "sklearn"),
        "brian2cuda": _distribution_version("brian2cuda"),
        "compiler": _compiler_version(),
    }


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


# --------------------------------------------------------------------------
# the run directory's lock
# --------------------------------------------------------------------------

#: Name of the lock file inside a run directory.
LOCK_FILE = "run.lock"


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


# --------------------------------------------------------------------------
# loading a run
# --------------------------------------------------------------------------

_WEIGHT_KEYS = ("w_input_hidden", "w_hidden_label", "theta_mV", "assignments")
_COUNT_KEYS = ("hidden_counts", "label_counts", "labels", "sample_index", "images")
_SAMPLE_COLUMNS = ("sample_index", "label", "pred_supervised", "pred_assignment",
                   "n_hidden_spikes", "n_presentations", "intensity")


def _check_keys(arrays, keys, filename, run_dir):
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise RunFormatError(
            f"{filename} in run directory {str(run_dir)!r} lacks the array(s) "
            f"{', '.join(missing)}"
        )


def _check_shape(array, expected, what, run_dir):
    if tuple(array.shape) != tuple(expected):
        raise RunFormatError(
            f"{what} in run directory {str(run_dir)!r} has shape "
            f"{tuple(array.shape)}, expected {tuple(expected)}"
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """A run directory loaded back (see :func:`load_run`).

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    record : dict
        Contents of ``run.json``.
    metrics : dict or None
        Contents of ``metrics.json`` (None if absent and not required).
    weights : dict of ndarray or None
        Arrays of ``weights.npz``.
    test_samples : pandas.DataFrame or None
        ``test_samples.csv``.
    test_counts : dict of ndarray or None
        Arrays of ``test_counts.npz``.
    training, evaluations : pandas.DataFrame or None
        ``training.csv`` and ``evaluations.csv``, read on first access; None
        if the file is absent.
    snapshots, raster : dict of ndarray or None
        ``snapshots.npz`` and ``raster.npz``, read on first access; None if
        the file is absent.
    """

    path: Path
    record: dict = dataclasses.field(repr=False)
    metrics: dict | None = dataclasses.field(repr=False, default=None)
    weights: dict | None = dataclasses.field(repr=False, default=None)
    test_samples: pd.DataFrame | None = dataclasses.field(repr=False, default=None)
    test_counts: dict | None = dataclasses.field(repr=False, default=None)

    @property
    def n_hidden(self):
        """Number of hidden neurons (from ``run.json``)."""
        return int(self.record["n_hidden"])

    @property
    def n_input(self):
        """Number of input neurons (from ``run.json``; 784 if absent)."""
        return int(self.record.get("n_input", 784))

    @property
    def n_label(self):
        """Number of label neurons (from ``run.json``; 10 if absent)."""
        return int(self.record.get("n_label", 10))

    def _optional(self, name):
        path = self.path / name
        return path if path.is_file() else None

    @functools.cached_property
    def training(self):
        """``training.csv`` as a DataFrame, or None if absent."""
        path = self._optional("training.csv")
        return None if path is None else read_table(path)

    @functools.cached_property
    def evaluations(self):
        """``evaluations.csv`` as a DataFrame, or None if absent."""
        path = self._optional("evaluations.csv")
        return None if path is None else read_table(path)

    @functools.cached_property
    def snapshots(self):
        """Arrays of ``snapshots.npz`` (shapes checked), or None if absent."""
        path = self._optional("snapshots.npz")
        if path is None:
            return None
        snaps = load_npz(path)
        _check_keys(snaps, ("samples_seen", "w_input_hidden", "theta_mV"),
                    "snapshots.npz", self.path)
        n_snap = snaps["samples_seen"].shape[0]
        _check_shape(snaps["samples_seen"], (n_snap,),
                     "snapshots.npz['samples_seen']", self.path)
        _check_shape(snaps["w_input_hidden"], (n_snap, self.n_input, self.n_hidden),
                     "snapshots.npz['w_input_hidden']", self.path)
        _check_shape(snaps["theta_mV"], (n_snap, self.n_hidden),
                     "snapshots.npz['theta_mV']", self.path)
        return snaps

    @functools.cached_property
    def raster(self):
        """Arrays of ``raster.npz``, or None if absent."""
        path = self._optional("raster.npz")
        return None if path is None else load_npz(path)

    def __repr__(self):
        return (f"Run({str(self.path)!r}, n_hidden={self.record.get('n_hidden')}, "
                f"dataset={self.record.get('dataset')!r})")


def load_run(run_dir, require=REQUIRED_FILES):
    """Load a run directory, checking it is complete and consistent.

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.
    require : iterable of str, optional
        Files that must be present (default: the five files every finished
        run has, :data:`REQUIRED_FILES`).  ``run.json`` is always required.
        A core file not required is loaded if present, else left as None;
        optional files (``training.csv``, ...) may be listed here to require
        them and are always loaded lazily.

    Returns
    -------
    Run

    Raises
    ------
    RunDirectoryError
        If *run_dir* does not exist or is not a directory.
    IncompleteRunError
        If required files are missing; the message names every missing file
        and the directory.
    RunFormatError
        If ``run.json`` is unreadable, has a ``format_version`` other than
        :data:`FORMAT_VERSION`, or an array's shape disagrees with the run
        record (e.g. ``w_input_hidden`` is not ``(n_input, n_hidden)``).
    """
    path = Path(run_dir)
    if not path.exists():
        raise RunDirectoryError(f"run directory {str(path)!r} does not exist")
    if not path.is_dir():
        raise RunDirectoryError(f"{str(path)!r} is not a run directory (not a directory)")

    required = ["run.json"] + [f for f in require if f != "run.json"]
    missing = [f for f in required if not (path / f).is_file()]
    if missing:
        raise IncompleteRunError(
            f"run directory {str(path)!r} is incomplete: missing "
            f"{', '.join(missing)}"
        )

    try:
        record = read_json(path / "run.json")
    except (OSError, ValueError) as exc:
        raise RunFormatError(f"cannot read run.json in {str(path)!r}: {exc}") from exc
    if not isinstance(record, dict):
        raise RunFormatError(f"run.json in {str(path)!r} is not a JSON object")
    version = record.get("format_version")
    if version is None:
        raise RunFormatError(
            f"run.json in {str(path)!r} has no format_version; this version of "
            f"bioplastic reads format_version {FORMAT_VERSION}"
        )
    if version != FORMAT_VERSION:
        raise RunFormatError(
            f"run.json in {str(path)!r} has format_version {version}, but this "
            f"version of bioplastic reads format_version {FORMAT_VERSION}"
        )
    n_hidden = record.get("n_hidden")
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 1:
        raise RunFormatError(
            f"run.json in {str(path)!r} has no valid n_hidden (got {n_hidden!r})"
        )
    n_input = int(record.get("n_input", 784))
    n_label = int(record.get("n_label", 10))

    def present(name):
        return (path / name).is_file()

    metrics = None
    if present("metrics.json"):
        try:
            metrics = read_json(path / "metrics.json")
        except ValueError as exc:
            raise RunFormatError(
                f"cannot read metrics.json in {str(path)!r}: {exc}"
            ) from exc

    weights = None
    if present("weights.npz"):
        weights = load_npz(path / "weights.npz")
        _check_keys(weights, _WEIGHT_KEYS, "weights.npz", path)
        _check_shape(weights["w_input_hidden"], (n_input, n_hidden),
                     "weights.npz['w_input_hidden']", path)
        _check_shape(weights["w_hidden_label"], (n_hidden, n_label),
                     "weights.npz['w_hidden_label']", path)
        _check_shape(weights["theta_mV"], (n_hidden,), "weights.npz['theta_mV']", path)
        _check_shape(weights["assignments"], (n_hidden,),
                     "weights.npz['assignments']", path)

    test_counts = None
    if present("test_counts.npz"):
        test_counts = load_npz(path / "test_counts.npz")
        _check_keys(test_counts, _COUNT_KEYS, "test_counts.npz", path)
        n_test = test_counts["labels"].shape[0]
        _check_shape(test_counts["labels"], (n_test,), "test_counts.npz['labels']", path)
        _check_shape(test_counts["hidden_counts"], (n_test, n_hidden),
                     "test_counts.npz['hidden_counts']", path)
        _check_shape(test_counts["label_counts"], (n_test, n_label),
                     "test_counts.npz['label_counts']", path)
        _check_shape(test_counts["sample_index"], (n_test,),
                     "test_counts.npz['sample_index']", path)
        _check_shape(test_counts["images"], (n_test, 28, 28),
                     "test_counts.npz['images']", path)

    test_samples = None
    if present("test_samples.csv"):
        test_samples = read_table(path / "test_samples.csv")
        missing_cols = [c for c in _SAMPLE_COLUMNS if c not in test_samples.columns]
        if missing_cols:
            raise RunFormatError(
                f"test_samples.csv in {str(path)!r} lacks the column(s) "
                f"{', '.join(missing_cols)}"
            )
        if test_counts is not None and len(test_samples) != test_counts["labels"].shape[0]:
            raise RunFormatError(
                f"test_samples.csv in {str(path)!r} has {len(test_samples)} rows but "
                f"test_counts.npz has {test_counts['labels'].shape[0]} samples"
            )

    return Run(path=path, record=record, metrics=metrics, weights=weights,
               test_samples=test_samples, test_counts=test_counts)


# --------------------------------------------------------------------------
# a synthetic run, for tests of analysis and figure code
# --------------------------------------------------------------------------

def _class_prototypes(rng, n_label=10):
    """One 28x28 image per class: a Gaussian blob at a class-dependent place."""
    yy, xx = np.mgrid[0:28, 0:28]
    angles = 2 * np.pi * np.arange(n_label) / n_label
    protos = np.empty((n_label, 28, 28))
    for c, a in enumerate(angles):
        cy, cx = 14 + 7 * np.sin(a), 14 + 7 * np.cos(a)
        protos[c] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 3.0 ** 2))
    return protos


def _poisson_spikes(rng, rates_hz, t_ms):
    """Indices and times (ms) of independent Poisson spike trains."""
    counts = rng.poisson(np.asarray(rates_hz, dtype=float) * t_ms / 1000.0)
    idx = np.repeat(np.arange(counts.size), counts)
    times = rng.uniform(0.0, t_ms, size=idx.size)
    order = np.argsort(times, kind="stable")
    return idx[order].astype(np.int64), times[order]


def write_synthetic_run(run_dir, n_hidden=20, n_test=60, seed=0):
    """Write a small, format-valid run directory filled with synthetic data.

    The data are random but structured like a real run: hidden neuron ``j``
    prefers class ``j % 10`` (the last neuron of a run with more than ten is
    silent and unassigned), test images show a class-dependent blob, the
    label layer is right most of the time and silent on a few samples, and
    the files ``training.csv``, ``evaluations.csv``, ``snapshots.npz`` (three
    snapshots) and ``raster.npz`` are written too.  The result is
    deterministic for a given *seed* apart from ``versions`` in ``run.json``.
    Meant for testing analysis and figure code without training a network.

    Parameters
    ----------
    run_dir : str or path-like
        Directory to write (created if missing; existing files are replaced).
    n_hidden : int, optional
        Number of hidden neurons (default 20).
    n_test : int, optional
        Number of test samples (default 60).
    seed : int, optional
        Seed of the random generator (default 0).

    Returns
    -------
    pathlib.Path
        The run directory.
    """
    from bioplastic.analysis.readout import accuracy, assignment_predictions, supervised_predictions

    if n_hidden < 1 or n_test < 1:
        raise ValueError("n_hidden and n_test must be positive")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_input, n_label = 784, 10
    # n_train: training samples per epoch; each epoch is n_train // chunk_size chunks
    epochs, chunk_size, n_train, n_validation = 2, 50, 100, 40
    versions = software_versions()

    # --- model: assignments, weights, thresholds -------------------------
    assignments = np.arange(n_hidden, dtype=np.int64) % n_label
    silent = np.zeros(n_hidden, dtype=bool)
    if n_hidden > n_label:
        silent[-1] = True
        assignments[-1] = -1
    protos = _class_prototypes(rng, n_label)
    w_input_hidden = np.empty((n_input, n_hidden))
    for j in range(n_hidden):
        base = protos[j % n_label].ravel() if not silent[j] else np.zeros(n_input)
        w_input_hidden[:, j] = np.clip(
            0.8 * base + rng.uniform(0, 0.15, n_input), 0.0, 1.0
        )
    w_hidden_label = rng.uniform(0.0, 0.1, (n_hidden, n_label))
    w_hidden_label[~silent, assignments[~silent]] += rng.uniform(0.5, 1.0, (~silent).sum())
    theta_mV = rng.uniform(2.0, 20.0, n_hidden)
    theta_mV[silent] = 0.0

    # --- test set ---------------------------------------------------------
    labels = rng.integers(0, n_label, n_test).astype(np.uint8)
    sample_index = np.sort(rng.choice(10000, size=n_test, replace=False)).astype(np.int64)
    images = np.clip(
        255 * protos[labels] * rng.uniform(0.7, 1.0, (n_test, 1, 1))
        + rng.normal(0, 12, (n_test, 28, 28)),
        0, 255,
    ).astype(np.uint8)
    # "perceived" class: right ~85% of the time
    perceived = np.where(rng.random(n_test) < 0.85, labels,
                         rng.integers(0, n_label, n_test))
    prefers = (assignments[None, :] == perceived[:, None]) & ~silent[None, :]
    hidden_rate = np.where(prefers, 6.0, 0.4)
    hidden_rate[:, silent] = 0.0
    hidden_counts = rng.poisson(hidden_rate)
    label_rate = np.full((n_test, n_label), 0.5)
    label_rate[np.arange(n_test), perceived] = 8.0
    label_counts = rng.poisson(label_rate)
    mute = rng.random(n_test) < 0.05          # a few samples without label spikes
    label_counts[mute] = 0
    hidden_counts = hidden_counts.astype(np.uint16)
    label_counts = label_counts.astype(np.uint16)

    pred_sup = supervised_predictions(label_counts)
    pred_asg = assignment_predictions(hidden_counts, assignments, n_label)
    n_hidden_spikes = hidden_counts.sum(axis=1).astype(np.int64)
    n_presentations = 1 + (n_hidden_spikes < 5).astype(np.int64) \
        + (n_hidden_spikes < 2).astype(np.int64)
    intensity = 2.0 * (1 + (n_presentations - 1) * 0.5)
    test_samples = pd.DataFrame({
        "sample_index": sample_index,
        "label": labels.astype(np.int64),
        "pred_supervised": pred_sup,
        "pred_assignment": pred_asg,
        "n_hidden_spikes": n_hidden_spikes,
        "n_presentations": n_presentations,
        "intensity": intensity,
        **{f"label_count_{k}": label_counts[:, k].astype(np.int64)
           for k in range(n_label)},
    })
    acc_sup = accuracy(pred_sup, labels)
    acc_asg = accuracy(pred_asg, labels)

    # --- training history -------------------------------------------------
    n_chunks_per_epoch = n_train // chunk_size
    rows, seen, wall_total = [], 0, 0.0
    chunk = 0
    for epoch in range(epochs):
        for _ in range(n_chunks_per_epoch):
            n_pres = chunk_size + int(rng.integers(0, 8))
            wall = float(chunk_size * rng.uniform(0.08, 0.12))
            seen += chunk_size
            wall_total += wall
            train_acc = np.nan if chunk == 0 else float(
                np.clip(0.9 - 0.6 * np.exp(-seen / 60.0) + rng.normal(0, 0.02), 0, 1)
            )
            rows.append({
                "chunk": chunk, "epoch": epoch, "samples_seen": seen,
                "n_samples": chunk_size, "n_presentations": n_pres,
                "train_accuracy_assignment": train_acc,
                "wall_seconds": wall, "samples_per_second": chunk_size / wall,
            })
            chunk += 1
    training = pd.DataFrame(rows)
    n_train_total = int(seen)

    eval_rows = []
    for seen_at in training["samples_seen"].iloc[n_chunks_per_epoch - 1::n_chunks_per_epoch]:
        level = 0.85 - 0.5 * np.exp(-seen_at / 80.0)
        eval_rows.append({
            "samples_seen": int(seen_at), "split": "validation",
            "accuracy_supervised": float(np.clip(level + rng.normal(0, 0.02), 0, 1)),
            "accuracy_assignment": float(np.clip(level - 0.05 + rng.normal(0, 0.02), 0, 1)),
            "n_samples": n_validation, "epoch": seen_at / n_train, "kind": "during-training",
            "wall_seconds": 0.05 * n_validation,
        })
    eval_rows.append({
        "samples_seen": n_train_total, "split": "test",
        "accuracy_supervised": acc_sup, "accuracy_assignment": acc_asg,
        "n_samples": n_test, "epoch": n_train_total / n_train, "kind": "final",
        "wall_seconds": 0.05 * n_test,
    })
    evaluations = pd.DataFrame(eval_rows)

    # --- snapshots: from random initial weights to the final ones ----------
    w0 = rng.uniform(0.0, 0.3, (n_input, n_hidden))
    fractions = np.array([0.0, 0.5, 1.0])
    snap_seen = (fractions * n_train_total).astype(np.int64)
    snap_w = np.stack([(1 - f) * w0 + f * w_input_hidden for f in fractions])
    snap_theta = np.stack([f * theta_mV for f in fractions])

    # --- raster of the first test sample ---------------------------------
    t_present_ms, t_rest_ms = 350.0, 150.0
    first = 0
    in_i, in_t = _poisson_spikes(rng, images[first].ravel() / 255.0 * 63.75, t_present_ms)
    h_rate = np.where(assignments == labels[first], 20.0, 1.0)
    h_rate[silent] = 0.0
    hid_i, hid_t = _poisson_spikes(rng, h_rate, t_present_ms)
    inh_i, inh_t = _poisson_spikes(rng, h_rate * 0.8, t_present_ms)
    l_rate = np.full(n_label, 1.0)
    l_rate[labels[first]] = 25.0
    lab_i, lab_t = _poisson_spikes(rng, l_rate, t_present_ms)

    # --- records ----------------------------------------------------------
    wall_train = float(training["wall_seconds"].sum())
    wall_test = float(n_test * 0.05)
    record = {
        "format_version": FORMAT_VERSION,
        "bioplastic_version": versions["bioplastic"],
        "created": "2000-01-01T00:00:00+00:00",
        "command": ["bioplastic.runs.write_synthetic_run", str(run_dir)],
        "seed": int(seed),
        "device": "synthetic",
        "threads": 1,
        "float32": False,
        "dataset": "mnist",
        "n_input": n_input,
        "n_hidden": int(n_hidden),
        "n_label": n_label,
        "epochs": epochs,
        "n_train": n_train,
        "n_test": int(n_test),
        "n_validation": n_validation,
        "chunk_size": chunk_size,
        "params": {
            "neurons": {"tau_m": "100. ms", "v_rest": "-65. mV",
                        "v_thresh": "-52. mV", "v_reset": "-65. mV",
                        "refractory": "5. ms"},
            "plasticity": {"eta": "0.01", "tau_pre": "20. ms", "tau_post": "20. ms",
                           "w_max": "1.0"},
            "schedule": {"t_present": "350. ms", "t_rest": "150. ms",
                         "intensity": "2.0", "min_spikes": "5"},
        },
        "versions": versions,
        "synthetic": True,
    }
    metrics = {
        "test_accuracy_supervised": acc_sup,
        "test_accuracy_assignment": acc_asg,
        "n_train": n_train_total,
        "n_test": int(n_test),
        "wall_seconds": wall_train + wall_test + 1.0,
        "train_wall_seconds": wall_train,
        "test_wall_seconds": wall_test,
        "ms_per_train_sample": 1000.0 * wall_train / n_train_total,
        "epochs": epochs,
        "validation_accuracy_supervised": float(evaluations["accuracy_supervised"].iloc[-2]),
        "validation_accuracy_assignment": float(evaluations["accuracy_assignment"].iloc[-2]),
    }

    # --- write, run.json last (a directory with run.json is complete) ------
    save_npz(run_dir / "weights.npz", w_input_hidden=w_input_hidden,
             w_hidden_label=w_hidden_label, theta_mV=theta_mV, assignments=assignments)
    save_npz(run_dir / "test_counts.npz", hidden_counts=hidden_counts,
             label_counts=label_counts, labels=labels, sample_index=sample_index,
             images=images)
    save_table(run_dir / "test_samples.csv", test_samples)
    save_table(run_dir / "training.csv", training)
    save_table(run_dir / "evaluations.csv", evaluations)
    save_npz(run_dir / "snapshots.npz", samples_seen=snap_seen,
             w_input_hidden=snap_w.astype(np.float32),
             theta_mV=snap_theta.astype(np.float32))
    save_npz(run_dir / "raster.npz",
             input_i=in_i, input_t_ms=in_t, hidden_i=hid_i, hidden_t_ms=hid_t,
             inhibitory_i=inh_i, inhibitory_t_ms=inh_t, label_i=lab_i, label_t_ms=lab_t,
             label=np.int64(labels[first]), sample_index=np.int64(sample_index[first]),
             t_present_ms=np.float64(t_present_ms), t_rest_ms=np.float64(t_rest_ms))
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "run.json", record)
    return run_dir
