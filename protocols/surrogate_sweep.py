#!/usr/bin/env python
"""A grid of surrogate-gradient Randman runs: shape x beta x variant (x upper bound) x seed.

Each grid cell is one run of ``protocols/surrogate_randman.py`` in its own
process, in ``<sweep>/cells/<cell>/``, run by the sweep runner
(:mod:`bioplastic.sweep`) on a Dask LocalCluster of ``--workers`` processes or
on the cluster of ``--scheduler``.  The sweep is
resumable: a cell whose ``metrics.json`` exists is never re-run, an
interrupted cell continues from its checkpoint (running the same command
again continues the sweep; ``--resume`` is accepted and changes nothing).
``<sweep>/sweep.json`` records the grid; running a different grid into the
same directory is an error.  Outputs: ``cells.csv`` and ``summary.csv``
(:mod:`bioplastic.gradient.surrogate.sweep`).

Example (the shape study at a few betas, 3 seeds, 2 processes)::

    python protocols/surrogate_sweep.py --out runs/sweep-shapes \\
        --surrogates superspike sigmoid esser --betas 1 10 100 --seeds 0 1 2 \\
        --epochs 20 --workers 2
"""

import sys

from bioplastic import cli
from bioplastic.gradient.surrogate.experiment import SURROGATE_NAMES

VARIANTS = ("detached", "dr", "rec", "rec-dr")


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[0], out_hint="required: the sweep directory", seed=False, data=False,
                   threads=None)
    p.add_argument("--surrogates", nargs="+", choices=SURROGATE_NAMES, default=["superspike", "sigmoid", "esser"])
    p.add_argument("--betas", type=cli.positive_float, nargs="+", default=[1.0, 10.0, 100.0])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=["detached"])
    p.add_argument("--upper-nu", type=cli.non_negative_float, nargs="+", default=None,
                   help="grid of population upper-bound thresholds (spike counts); off if omitted")
    p.add_argument("--upper-lambda", type=cli.non_negative_float, default=0.1, help="strength of the upper bound")
    p.add_argument("--seeds", type=cli.non_negative_int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=cli.positive_int, default=30)
    p.add_argument("--lr", type=cli.positive_float, default=0.05)
    p.add_argument("--n-samples", type=cli.int_at_least(3), default=1000, help="Randman samples per class")
    p.add_argument("--init-gain", type=cli.positive_float, default=1.0,
                   help="multiplies the initial input (and recurrent) weights of every cell")
    p.add_argument("--workers", type=cli.positive_int, default=2,
                   help="worker processes of the LocalCluster (cells run in parallel)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler (e.g. tcp://HOST:8786) instead of the LocalCluster")
    args = cli.parse(p, argv)
    if not args.out:
        p.error("argument --out: required (the sweep directory)")
    return args


def main(argv=None):
    args = parse(argv)
    from bioplastic.gradient.surrogate.sweep import run_sweep

    return cli.run(run_sweep, args)


if __name__ == "__main__":
    sys.exit(main())
