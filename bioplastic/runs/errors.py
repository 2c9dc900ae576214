"""The errors raised for run directories (every one a :class:`RunError`)."""

from __future__ import annotations

__all__ = ["RunError", "RunDirectoryError", "IncompleteRunError", "RunFormatError",
           "RunLockedError"]


class RunError(Exception):
    """Base class of the errors raised for run directories."""


class RunDirectoryError(RunError):
    """The run directory is missing, not a directory, or unusable for writing."""


class IncompleteRunError(RunError):
    """The run directory lacks files that are required."""


class RunFormatError(RunError, ValueError):
    """A run file is unreadable, has the wrong format version, or contents of the wrong shape."""


class RunLockedError(RunDirectoryError):
    """Another process holds the run directory's lock (it is training or testing there)."""
