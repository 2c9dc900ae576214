"""The run record (``run.json``): its common fields, and the software versions it holds.

Every family writes the same common fields (``docs/run_format.rst``);
:func:`new_record` makes them, and a family adds its own.
"""

from __future__ import annotations

import platform
import subprocess
import time

import numpy as np
import pandas as pd

__all__ = ["FORMAT_VERSION", "FAMILIES", "COMMON_FIELDS", "new_record", "software_versions"]

#: Version of the run directory format written and read by this package.
FORMAT_VERSION = 1

#: The families of models whose runs :func:`bioplastic.runs.load_run` reads.
FAMILIES = ("symstdp", "surrogate", "ttfs", "adaptive")

#: Fields every run record holds (a record without ``family`` is a sym-STDP
#: run of the first format and may lack the others but ``format_version``).
COMMON_FIELDS = ("format_version", "family", "protocol", "bioplastic_version", "created",
                 "command", "seed", "versions", "config")


def new_record(family, protocol, command, seed, config, **fields):
    """The common fields of a new run record, plus the family's own *fields*.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    protocol : str
        Name of the protocol that writes the run (its script's name without
        ``.py``, e.g. ``"supervised_mnist"``).
    command : list of str
        The command line (argv).
    seed : int
        The run seed.
    config : dict
        Every option of the run.
    **fields
        The family's own fields; they may not replace a common one.

    Returns
    -------
    dict
        ``format_version`` (:data:`FORMAT_VERSION`), ``family``, ``protocol``,
        ``bioplastic_version``, ``created`` (local ISO time with UTC offset),
        ``command``, ``seed``, ``versions`` (:func:`software_versions`),
        ``config``, then *fields*; write it with
        :func:`bioplastic.runs.write_json`.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    clash = sorted(set(fields) & set(COMMON_FIELDS))
    if clash:
        raise ValueError(f"{', '.join(clash)} are common fields, set by new_record")
    versions = software_versions()
    record = {
        "format_version": FORMAT_VERSION,
        "family": family,
        "protocol": protocol,
        "bioplastic_version": versions["bioplastic"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": list(command),
        "seed": seed,
        "versions": versions,
        "config": config,
    }
    record.update(fields)
    return record


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
