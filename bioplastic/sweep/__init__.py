"""One resumable sweep runner for every family, on Dask distributed.

A sweep is a spec (a TOML file: the protocol script, its fixed options and the
axes to sweep; :mod:`bioplastic.sweep.spec`) and a directory.  Every grid cell
is an ordinary run directory made by the protocol itself; the runner
(:mod:`bioplastic.sweep.runner`) runs the missing cells on a Dask cluster
(a LocalCluster on this machine by default, or any scheduler by address),
retries a cell whose worker dies (it continues from its checkpoint), refuses a
changed grid on the same directory, and gathers one tidy table, a summary over
seeds and a figure (:mod:`bioplastic.sweep.tables`).

From the command line::

    python -m bioplastic.sweep protocols/sweeps/symstdp_size_seeds.toml --out runs/size-seeds
    python -m bioplastic.sweep SPEC --out DIR --scheduler tcp://HOST:8786

From Python::

    from bioplastic.sweep import load_spec, run_sweep
    run_sweep(load_spec("protocols/sweeps/symstdp_size_seeds.toml"), "runs/size-seeds")
"""

from bioplastic.sweep.spec import (
    Cell,
    Spec,
    SpecError,
    SweepError,
    find_protocol,
    load_spec,
    spec_from_dict,
)

__all__ = ["Cell", "Spec", "SpecError", "SweepError", "find_protocol", "load_spec", "spec_from_dict",
           "run_sweep", "run_cells", "collect"]


def run_sweep(*args, **kwargs):
    """See :func:`bioplastic.sweep.runner.run_sweep` (imports Dask on first use)."""
    from bioplastic.sweep.runner import run_sweep as _run

    return _run(*args, **kwargs)


def run_cells(*args, **kwargs):
    """See :func:`bioplastic.sweep.runner.run_cells`."""
    from bioplastic.sweep.runner import run_cells as _run

    return _run(*args, **kwargs)


def collect(*args, **kwargs):
    """See :func:`bioplastic.sweep.tables.collect`."""
    from bioplastic.sweep.tables import collect as _collect

    return _collect(*args, **kwargs)
