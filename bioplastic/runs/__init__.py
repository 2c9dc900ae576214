"""The run directory: atomic writes, the run record, the lock, and loading a run back.

A run directory (``docs/run_format.rst``, format_version 1) alone suffices to
make every figure of a run, whatever the family that wrote it.  This package
provides, each from its module:

* :mod:`~bioplastic.runs.io`: atomic writers (:func:`atomic_write_bytes`,
  :func:`write_json`, :func:`save_npz`, :func:`save_table`; a temporary file
  in the target's directory, flushed, fsynced and moved into place with
  :func:`os.replace`) and the matching readers (:func:`read_json`,
  :func:`load_npz`, :func:`read_table`);
* :mod:`~bioplastic.runs.record`: the run record's common fields
  (:func:`new_record`, :data:`COMMON_FIELDS`, :data:`FAMILIES`) and
  :func:`software_versions`;
* :mod:`~bioplastic.runs.disk`: :func:`check_writable`, to fail early, before
  any training, when the output directory is unusable, and
  :func:`lock_run_directory`, which keeps a second process out of a run
  directory a running process owns (an OS lock on ``run.lock``, released by
  the operating system when the process ends, even on ``kill -9``);
* :mod:`~bioplastic.runs.load`: :func:`load_run`, the one loader, which
  checks a run directory of any family and returns a :class:`Run` (a
  :class:`SymSTDPRun` for sym-STDP runs);
* :mod:`~bioplastic.runs.errors`: :class:`RunError` and its subclasses.

Everything is importable from :mod:`bioplastic.runs` itself.  The package does
not import Brian2 (Brian2 quantities are recognised by duck typing and written
with ``str()``).
"""

# numpy under the name the tests patch (``runs.np.savez``: a checkpoint write
# that fills the disk); the writers look it up as ``numpy`` in runs.io.
import numpy as np  # noqa: F401

from .disk import LOCK_FILE, check_writable, lock_run_directory
from .errors import IncompleteRunError, RunDirectoryError, RunError, RunFormatError, RunLockedError
from .io import atomic_write_bytes, load_npz, read_json, read_table, save_npz, save_table, write_json
from .load import COMMON_REQUIRED_FILES, OPTIONAL_FILES, REQUIRED_FILES, Run, SymSTDPRun, load_run
from .record import COMMON_FIELDS, FAMILIES, FORMAT_VERSION, new_record, software_versions

__all__ = [
    "FORMAT_VERSION",
    "FAMILIES",
    "COMMON_FIELDS",
    "COMMON_REQUIRED_FILES",
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
    "new_record",
    "software_versions",
    "check_writable",
    "LOCK_FILE",
    "RunLockedError",
    "lock_run_directory",
    "Run",
    "SymSTDPRun",
    "load_run",
]
