"""Where standalone projects are built, and with how many ``make`` jobs.

Shared by the C++ and CUDA device code (:mod:`.engine`, :mod:`.cuda`); imports
nothing of either, so that neither imports the other for these.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_build_root", "make_jobs"]


def default_build_root() -> Path:
    """Where compiled projects are cached: ``$BIOPLASTIC_BUILD_DIR`` or the user cache."""
    env = os.environ.get("BIOPLASTIC_BUILD_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "bioplastic" / "build"


def make_jobs() -> int:
    """Parallel ``make`` jobs for a standalone build: one per core, bounded by memory.

    A C++ or nvcc compile of one generated file takes up to about 1.5 GiB, and an
    unbounded ``-j`` was OOM-killed on small machines; nvcc builds (about 40
    files) on a 16-core machine gain most from the extra jobs.
    """
    jobs = os.cpu_count() or 1
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        avail_gib = int(info["MemAvailable"].split()[0]) / 2**20
        jobs = min(jobs, max(1, int(avail_gib / 1.5)))
    except (OSError, KeyError, ValueError):
        jobs = min(jobs, 4)
    return jobs
