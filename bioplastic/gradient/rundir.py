"""The run record of the gradient families (surrogate, ttfs, adaptive), in the house format.

Every gradient run directory holds ``run.json`` (the record built by
:func:`new_record`: ``format_version`` 1, ``family``, ``protocol``,
``bioplastic_version``, ``created``, ``command`` (argv list), ``seed``,
``versions``, ``config`` -- every option -- plus the family's own fields),
``metrics.json`` (a flat dict of final numbers, :func:`write_metrics`), arrays
in ``.npz`` and tidy tables in ``.csv``, all written atomically by
:mod:`bioplastic.runs`; see ``docs/run_format.rst``.

This module imports neither torch nor Brian2 (torch's version is read only if
torch is already imported).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

__all__ = ["FORMAT_VERSION", "FAMILIES", "NOT_COMPARED", "config_of", "new_record", "command_of",
           "write_metrics", "differing_options", "logger", "now"]

#: Version of the run directory format (shared with every family, ``docs/run_format.rst``).
FORMAT_VERSION = 1
#: The gradient families, as ``run.json`` names them in ``family``.
FAMILIES = ("surrogate", "ttfs", "adaptive")
#: Options that do not change the results (not compared on ``--resume``).
NOT_COMPARED = ("out", "resume", "quiet", "threads", "data_dir")


def now():
    """The current local time in ISO 8601 with the UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _plain(value):
    """JSON-ready: tuples -> lists, non-finite floats -> None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def config_of(args):
    """Every option of *args* (an ``argparse.Namespace``) by its name, as ``run.json`` stores it."""
    return json.loads(json.dumps(_plain(dict(sorted(vars(args).items()))), default=str))


def differing_options(recorded, config, ignore=NOT_COMPARED):
    """The option names whose values differ between two ``config`` dicts (ignoring *ignore*)."""
    keys = sorted((set(recorded) | set(config)) - set(ignore))
    return [k for k in keys if recorded.get(k) != config.get(k)]


def _display_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def command_of(script=None, argv=None):
    """The command of this process as an argv list (``sys.executable``, the script, its arguments)."""
    if script is None:
        return [sys.executable] + list(sys.argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    return [sys.executable, _display_path(os.path.abspath(str(script)))] + argv


def new_record(family, protocol, args, command=None, seed=None, **fields):
    """A new ``run.json`` record of a gradient run.

    Parameters
    ----------
    family : {"surrogate", "ttfs", "adaptive"}
    protocol : str
        The protocol's name (its script's name).
    args : argparse.Namespace
        The parsed options (all of them are recorded under ``config``).
    command : list of str, optional
        argv of the run (default: this process's).
    seed : int or list, optional
        Default ``args.seed``.
    fields
        The family's own fields.
    """
    from bioplastic import runs

    record = runs.new_record(family, protocol, list(command) if command is not None else command_of(),
                             getattr(args, "seed", None) if seed is None else seed, config_of(args),
                             **json.loads(json.dumps(_plain(fields), default=str)))
    if "torch" in sys.modules:
        record["versions"]["torch"] = sys.modules["torch"].__version__
    return record


def write_metrics(out, metrics):
    """Write ``metrics.json``: a flat dict of final numbers (non-finite values become null)."""
    from bioplastic.runs import write_json

    flat = {}
    for key, value in metrics.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, (dict, list, tuple)):
            raise ValueError(f"metrics.json is flat: {key!r} holds a {type(value).__name__}")
        flat[str(key)] = _plain(value)
    write_json(os.path.join(str(out), "metrics.json"), flat)
    return flat


def logger(quiet):
    """A progress printer on standard error (nothing when *quiet*)."""
    if quiet:
        return lambda text: None
    return lambda text: print(text, file=sys.stderr, flush=True)
