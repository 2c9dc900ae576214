"""Resumable sweeps of the gradient families: grid cells run as protocol processes.

A sweep directory holds ``sweep.json`` (what defines the grid), one run
directory per cell under ``cells/<cell>/`` (a run of the family's protocol,
in the house run format) and tidy tables made from the finished cells.  A cell
that has finished is never run again; an interrupted cell continues from its
checkpoint.  The families' grids are in :mod:`bioplastic.gradient.surrogate.sweep`
and :mod:`bioplastic.gradient.ttfs.sweep`; this module runs the cells
(``workers`` processes at a time).  (A later runner replaces this one.)
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bioplastic.runs import RunError

__all__ = ["SweepError", "PROTOCOLS", "protocol_script", "run_cells"]

#: The folder of the protocol scripts (the cells run them).
PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


class SweepError(RunError):
    """The sweep directory belongs to another grid."""


def protocol_script(name):
    """The path of ``protocols/<name>`` (the script each cell runs)."""
    return PROTOCOLS / name


def run_cells(todo, command_for, workers, log, on_finished):
    """Run each cell of *todo* as ``command_for(cell)`` in its own process, *workers* at a time.

    ``on_finished(cell, seconds)`` is called (in this thread) after each cell
    that exits with status 0; a failed cell is logged with the tail of its
    standard error.  Returns the number of failed cells.
    """
    def run_one(cell):
        t0 = time.perf_counter()
        proc = subprocess.run(command_for(cell), capture_output=True, text=True)
        return cell, proc, time.perf_counter() - t0

    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_one, c) for c in todo]
        for k, future in enumerate(as_completed(futures), 1):
            cell, proc, seconds = future.result()
            if proc.returncode != 0:
                failed += 1
                log(f"[sweep {k}/{len(todo)}] {cell['name']}: FAILED ({proc.stderr.strip()[-500:]})")
                continue
            log(f"[sweep {k}/{len(todo)}] {on_finished(cell, seconds)}")
    return failed
