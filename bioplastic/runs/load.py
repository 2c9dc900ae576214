"""Loading a run directory back: one loader, :func:`load_run`, for every family.

Every run directory (``docs/run_format.rst``) holds ``run.json`` (the run
record, whose ``family`` names the family that wrote it) and, once finished,
``metrics.json``; arrays are in ``*.npz`` files and tables in ``*.csv`` files.
:func:`load_run` reads the record and returns

* a :class:`SymSTDPRun` for a sym-STDP run (``family`` ``"symstdp"``, or no
  ``family``: the records of the first sym-STDP runs lack it), with its
  five files checked against each other and the record;
* a :class:`Run` for a run of any other family, with its record and metrics
  checked and every other file read on request (:meth:`Run.table`,
  :meth:`Run.arrays`).

A missing file raises :class:`IncompleteRunError`, an unreadable or
ill-formed one :class:`RunFormatError`; both name the file and the directory.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pandas as pd

from .errors import IncompleteRunError, RunDirectoryError, RunFormatError
from .io import load_npz, read_json, read_table
from .record import COMMON_FIELDS, FAMILIES, FORMAT_VERSION

__all__ = ["COMMON_REQUIRED_FILES", "REQUIRED_FILES", "OPTIONAL_FILES", "Run", "SymSTDPRun",
           "load_run"]

#: Files every finished run directory holds, whatever its family.
COMMON_REQUIRED_FILES = ("run.json", "metrics.json")

#: Files every finished sym-STDP run directory holds.
REQUIRED_FILES = (
    "run.json",
    "metrics.json",
    "weights.npz",
    "test_samples.csv",
    "test_counts.npz",
)

#: Files a sym-STDP run directory may hold (:class:`SymSTDPRun` loads them on first access).
OPTIONAL_FILES = ("training.csv", "evaluations.csv", "snapshots.npz", "raster.npz")

_WEIGHT_KEYS = ("w_input_hidden", "w_hidden_label", "theta_mV", "assignments")
_COUNT_KEYS = ("hidden_counts", "label_counts", "labels", "sample_index", "images")
_SAMPLE_COLUMNS = ("sample_index", "label", "pred_supervised", "pred_assignment",
                   "n_hidden_spikes", "n_presentations", "intensity")


# --------------------------------------------------------------------------
# reading one file, with errors that name it
# --------------------------------------------------------------------------

def _file_name(name, suffix):
    """``"training"`` or ``"training.csv"`` -> ``"training.csv"``."""
    name = str(name)
    return name if name.endswith(suffix) else name + suffix


def _require_file(run_dir, name):
    path = Path(run_dir) / name
    if not path.is_file():
        raise IncompleteRunError(f"run directory {str(run_dir)!r} has no {name}")
    return path


def _read_json_file(run_dir, name):
    try:
        return read_json(Path(run_dir) / name)
    except (OSError, ValueError) as exc:  # ValueError: json.JSONDecodeError, UnicodeDecodeError
        raise RunFormatError(f"cannot read {name} in {str(run_dir)!r}: {exc}") from exc


def _read_npz_file(run_dir, name):
    try:
        return load_npz(Path(run_dir) / name)
    except Exception as exc:  # a damaged .npz raises anything from BadZipFile to EOFError
        raise RunFormatError(f"cannot read {name} in {str(run_dir)!r}: {exc}") from exc


def _read_csv_file(run_dir, name):
    try:
        return read_table(Path(run_dir) / name)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RunFormatError(f"cannot read {name} in {str(run_dir)!r}: {exc}") from exc


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


# --------------------------------------------------------------------------
# the run of any family
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """A run directory loaded back (see :func:`load_run`); the part every family shares.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    record : dict
        Contents of ``run.json``.
    metrics : dict or None
        Contents of ``metrics.json`` (None if absent and not required).
    family : str
        ``record["family"]`` (``"symstdp"`` for a record without it).
    protocol : str or None
        ``record["protocol"]``.
    files : tuple of str
        The files of the directory, relative to it (``/``-separated, sorted;
        no temporary files), as they are when read.

    Every ``*.csv`` table and ``*.npz`` file is read on request, each time
    anew: :meth:`table` and :meth:`arrays`.
    """

    path: Path
    record: dict = dataclasses.field(repr=False)
    metrics: dict | None = dataclasses.field(repr=False, default=None)

    @property
    def family(self):
        """The family that wrote the run (``"symstdp"`` if the record names none)."""
        return self.record.get("family", "symstdp")

    @property
    def protocol(self):
        """The protocol that wrote the run (None if the record names none)."""
        return self.record.get("protocol")

    @property
    def files(self):
        """Files of the run directory, relative to it, sorted (temporary files left out)."""
        return tuple(sorted(
            p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        ))

    def table(self, name):
        """The table ``<name>.csv`` (``name`` with or without ``.csv``) as a DataFrame.

        Raises
        ------
        IncompleteRunError
            If the file is absent.
        RunFormatError
            If it cannot be read as CSV.
        """
        name = _file_name(name, ".csv")
        _require_file(self.path, name)
        return _read_csv_file(self.path, name)

    def arrays(self, name):
        """The arrays of ``<name>.npz`` (``name`` with or without ``.npz``), as a dict.

        Raises
        ------
        IncompleteRunError
            If the file is absent.
        RunFormatError
            If it cannot be read as ``.npz`` (pickled objects are refused).
        """
        name = _file_name(name, ".npz")
        _require_file(self.path, name)
        return _read_npz_file(self.path, name)

    def __repr__(self):
        return f"Run({str(self.path)!r}, family={self.family!r}, protocol={self.protocol!r})"


# --------------------------------------------------------------------------
# the sym-STDP run
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class SymSTDPRun(Run):
    """A sym-STDP run directory loaded back (see :func:`load_run`).

    Attributes
    ----------
    path, record, metrics, family, protocol, files
        As for every :class:`Run`.
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

    def _present(self, name):
        return (self.path / name).is_file()

    @functools.cached_property
    def training(self):
        """``training.csv`` as a DataFrame, or None if absent."""
        return _read_csv_file(self.path, "training.csv") if self._present("training.csv") else None

    @functools.cached_property
    def evaluations(self):
        """``evaluations.csv`` as a DataFrame, or None if absent."""
        if not self._present("evaluations.csv"):
            return None
        return _read_csv_file(self.path, "evaluations.csv")

    @functools.cached_property
    def snapshots(self):
        """Arrays of ``snapshots.npz`` (shapes checked), or None if absent."""
        if not self._present("snapshots.npz"):
            return None
        snaps = _read_npz_file(self.path, "snapshots.npz")
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
        return _read_npz_file(self.path, "raster.npz") if self._present("raster.npz") else None

    def __repr__(self):
        return (f"Run({str(self.path)!r}, n_hidden={self.record.get('n_hidden')}, "
                f"dataset={self.record.get('dataset')!r})")


def _load_symstdp(path, record, metrics):
    """Check and load the files of a sym-STDP run (those present)."""
    n_hidden = record.get("n_hidden")
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 1:
        hint = ("" if "family" in record else
                "; a run of another family must name it in the record's \"family\"")
        raise RunFormatError(
            f"run.json in {str(path)!r} has no valid n_hidden (got {n_hidden!r}){hint}"
        )
    n_input = int(record.get("n_input", 784))
    n_label = int(record.get("n_label", 10))

    def present(name):
        return (path / name).is_file()

    weights = None
    if present("weights.npz"):
        weights = _read_npz_file(path, "weights.npz")
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
        test_counts = _read_npz_file(path, "test_counts.npz")
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
        test_samples = _read_csv_file(path, "test_samples.csv")
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

    return SymSTDPRun(path=path, record=record, metrics=metrics, weights=weights,
                      test_samples=test_samples, test_counts=test_counts)


# --------------------------------------------------------------------------
# the loader
# --------------------------------------------------------------------------

def _check_record(record, path):
    """The checks of ``run.json`` that every family's record passes."""
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
    if "family" not in record:  # a sym-STDP run of the first format
        return
    if record["family"] not in FAMILIES:
        raise RunFormatError(
            f"run.json in {str(path)!r} names the family {record['family']!r}; this "
            f"version of bioplastic reads {', '.join(FAMILIES)}"
        )
    missing = [f for f in COMMON_FIELDS if f not in record]
    if missing:
        raise RunFormatError(
            f"run.json in {str(path)!r} lacks the common field(s) {', '.join(missing)}"
        )


def _check_metrics(metrics, path):
    if not isinstance(metrics, dict):
        raise RunFormatError(f"metrics.json in {str(path)!r} is not a JSON object")
    nested = sorted(k for k, v in metrics.items() if isinstance(v, (dict, list)))
    if nested:
        raise RunFormatError(
            f"metrics.json in {str(path)!r} is not flat: {', '.join(nested)} "
            "hold(s) a list or an object (final figures are numbers, strings, true/false or null)"
        )


def load_run(run_dir, require=None):
    """Load a run directory of any family, checking it is complete and consistent.

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.
    require : iterable of str, optional
        Files that must be present.  Default: the files every finished run
        of the record's family holds (:data:`REQUIRED_FILES` for sym-STDP,
        :data:`COMMON_REQUIRED_FILES` for the others).  ``run.json`` is always
        required.  ``metrics.json`` and the core sym-STDP files are loaded
        if present, else left as None; others are read on request (or, for
        sym-STDP's :data:`OPTIONAL_FILES`, on first access), and may be
        listed here to require them.

    Returns
    -------
    Run
        A :class:`SymSTDPRun` for a record with ``family`` ``"symstdp"`` or
        without ``family``; a :class:`Run` for the other families.

    Raises
    ------
    RunDirectoryError
        If *run_dir* does not exist or is not a directory.
    IncompleteRunError
        If required files are missing; the message names every missing file
        and the directory.
    RunFormatError
        If a file cannot be read (the message names it); if ``run.json`` is
        not a JSON object, has a ``format_version`` other than
        :data:`FORMAT_VERSION`, names an unknown family or lacks a common
        field (:data:`~bioplastic.runs.COMMON_FIELDS`; a record without
        ``family`` may); if ``metrics.json`` is not a flat JSON object; or,
        for sym-STDP, if an array's shape disagrees with the run record (e.g.
        ``w_input_hidden`` is not ``(n_input, n_hidden)``).
    """
    path = Path(run_dir)
    if not path.exists():
        raise RunDirectoryError(f"run directory {str(path)!r} does not exist")
    if not path.is_dir():
        raise RunDirectoryError(f"{str(path)!r} is not a run directory (not a directory)")

    explicit = None if require is None else [f for f in require if f != "run.json"]
    if not (path / "run.json").is_file():
        missing = ["run.json"] + [f for f in explicit or () if not (path / f).is_file()]
        raise IncompleteRunError(
            f"run directory {str(path)!r} is incomplete: missing {', '.join(missing)}"
        )
    record = _read_json_file(path, "run.json")
    _check_record(record, path)
    family = record.get("family", "symstdp")

    if explicit is None:
        explicit = [f for f in (REQUIRED_FILES if family == "symstdp" else COMMON_REQUIRED_FILES)
                    if f != "run.json"]
    missing = [f for f in explicit if not (path / f).is_file()]
    if missing:
        raise IncompleteRunError(
            f"run directory {str(path)!r} is incomplete: missing {', '.join(missing)}"
        )

    metrics = None
    if (path / "metrics.json").is_file():
        metrics = _read_json_file(path, "metrics.json")
        _check_metrics(metrics, path)

    if family == "symstdp":
        return _load_symstdp(path, record, metrics)
    return Run(path=path, record=record, metrics=metrics)
