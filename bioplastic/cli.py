"""The one command-line layer of every protocol script (``protocols/``).

Each protocol builds its parser with :func:`parser`, which defines the options
every family shares (``--out``, ``--resume``, ``--seed``, ``--data-dir``,
``--threads``, ``--quiet``) once, adds its own options with the typed
validators below, and runs its body through :func:`run`:

>>> from bioplastic import cli
>>> p = cli.parser("Train the thing.", out_hint="runs/thing-<date>-<time>")
>>> _ = p.add_argument("--epochs", type=cli.positive_int, default=3)
>>> _ = p.add_argument("--lr", type=cli.positive_float, default=1e-3)
>>> args = cli.parse(p, ["--epochs", "2"])
>>> (args.epochs, args.lr, args.seed)
(2, 0.001, 0)

Every numeric option is checked when the command line is parsed: a bad value
is answered by argparse with one line naming the option and the accepted range
(``error: argument --epochs: must be an integer >= 1, got '0'``), exit status
2, before anything is imported, computed or written.  :func:`parse` also checks
the shared options (``--resume`` needs ``--out``; ``--out`` must not name a
file).  Errors raised by the library while the protocol runs (bad data, a run
directory in use or holding another run, an impossible parameter) are turned
by :func:`run` into one line on standard error and exit status 2; Ctrl-C stops
with status 130.  This module imports nothing heavy (no Brian2, no torch), so
``--help`` and bad options answer at once.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

__all__ = ["parser", "parse", "run", "default_out", "positive_int", "non_negative_int", "count_or_all",
           "positive_float", "non_negative_float", "finite_float", "fraction", "unit_interval",
           "int_at_least", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED"]

#: Exit status of a run refused for bad input (options, data, run directory).
EXIT_BAD_INPUT = 2
#: Exit status of a run stopped by Ctrl-C or SIGTERM (resumable with ``--resume``).
EXIT_INTERRUPTED = 130


# --- typed validators: each raises argparse.ArgumentTypeError with the accepted range -------------

def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def int_at_least(low):
    """A validator for integers ``>= low``."""
    def check(text):
        value = _int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value
    check.__name__ = f"int_at_least_{low}"
    return check


positive_int = int_at_least(1)
positive_int.__doc__ = "An integer >= 1."
non_negative_int = int_at_least(0)
non_negative_int.__doc__ = "An integer >= 0."


def count_or_all(text):
    """A sample count >= 1, or ``all`` (returned as None)."""
    if text == "all":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or 'all', got {text!r}") from None


def _float_in(text, ok, accepted):
    """``float(text)`` if it is finite and ``ok(value)``, else an error naming ``accepted``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"must be {accepted}, got {text!r}")
    return value


def finite_float(text):
    """A finite real number."""
    return _float_in(text, lambda v: True, "a finite number")


def positive_float(text):
    """A finite number > 0."""
    return _float_in(text, lambda v: v > 0, "a finite number > 0")


def non_negative_float(text):
    """A finite number >= 0."""
    return _float_in(text, lambda v: v >= 0, "a finite number >= 0")


def fraction(text):
    """A number in [0, 1)."""
    return _float_in(text, lambda v: 0 <= v < 1, "a number in [0, 1)")


def unit_interval(text):
    """A number in [0, 1]."""
    return _float_in(text, lambda v: 0 <= v <= 1, "a number in [0, 1]")


# --- the parser and the shared options ------------------------------------------------------------

def parser(description, out_hint="runs/<protocol>-<date>-<time>", seed=True, data=True, threads="threads",
           **kwargs):
    """An :class:`argparse.ArgumentParser` with the options every protocol shares.

    Parameters
    ----------
    description : str
        The protocol's help text (its module docstring).
    out_hint : str
        How the default run directory is named, for ``--help``.
    seed, data : bool
        Whether the protocol takes ``--seed`` and ``--data-dir``.
    threads : str or None
        Help text tail for ``--threads`` (``None``: no such option).
    """
    p = argparse.ArgumentParser(description=description,
                                formatter_class=kwargs.pop("formatter_class",
                                                           argparse.ArgumentDefaultsHelpFormatter),
                                **kwargs)
    g = p.add_argument_group("run directory and reproducibility (every protocol)")
    g.add_argument("--out", default=None, help=f"run directory (default: {out_hint})")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    if seed:
        g.add_argument("--seed", type=non_negative_int, default=0, help="random seed (recorded in run.json)")
    if data:
        g.add_argument("--data-dir", default=None,
                       help="folder holding mnist/ and fashion-mnist/ (else $BIOPLASTIC_DATA, else the user cache)")
    if threads:
        g.add_argument("--threads", type=positive_int, default=1, help=threads)
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


#: Environment variable: when set, :func:`parse` exits with status 0 right after
#: the options are parsed and checked (the sweep runner checks every cell's
#: options this way before any cell runs).
CHECK_OPTIONS_ENV = "BIOPLASTIC_CHECK_OPTIONS"


def parse(p, argv=None):
    """Parse ``argv`` and check the shared options (bad ones exit 2 via ``p.error``)."""
    args = p.parse_args(argv)
    out = getattr(args, "out", None)
    if getattr(args, "resume", False) and not out:
        p.error("--resume needs --out RUN_DIR (the run to continue)")
    if out is not None:
        if out == "":
            p.error("argument --out: must name a directory, got ''")
        path = Path(out)
        if path.exists() and not path.is_dir():
            p.error(f"argument --out: {out!r} exists and is not a directory")
        for parent in path.resolve().parents:
            if parent.exists():
                if not parent.is_dir():
                    p.error(f"argument --out: {str(parent)!r} is a file, not a directory")
                break
    if os.environ.get(CHECK_OPTIONS_ENV):
        raise SystemExit(0)
    return args


def default_out(name, args=None):
    """``args.out`` if given, else ``runs/<name>-<date>-<time>``."""
    if args is not None and getattr(args, "out", None):
        return args.out
    return os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")


def _bad_input_errors():
    """The library's error types that mean bad input (imported lazily: they import numpy)."""
    from bioplastic.data.datasets import DataError
    from bioplastic.runs import RunError

    return (DataError, RunError, ValueError)


def run(body, *args, interrupted=None, **kwargs):
    """Call ``body(*args, **kwargs)`` and map its outcome to an exit status.

    0 on success (or ``body``'s own return value if it is an int); 2 with one line
    ``error: ...`` for bad input (data errors, run-directory errors,
    ``ValueError``); 130 on Ctrl-C (and for the exception types in
    ``interrupted``, whose message says how to resume); 1 with one line for an
    ``OSError`` (a full disk).  Anything else is a bug and keeps its traceback.
    """
    interrupted = tuple(interrupted or ())
    try:
        status = body(*args, **kwargs)
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C); continue with the same command plus --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - mapped by type below
        if interrupted and isinstance(err, interrupted):
            print(f"\n{err}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(err, _bad_input_errors()):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if isinstance(err, OSError):
            print(f"error: {err}", file=sys.stderr)
            return 1
        raise
    # a body returns None or results (a metrics dict): success; or an int exit status
    return status if isinstance(status, int) and not isinstance(status, bool) else 0
