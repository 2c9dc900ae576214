#!/usr/bin/env python
"""A gamma sweep of the sparse-firing regularisers of TTFS networks: regulariser x gamma x seed.

Each cell is one run of ``protocols/ttfs_mnist.py`` in its own process, in
``<sweep>/cells/<cell>/``, run by the sweep runner (:mod:`bioplastic.sweep`)
on a Dask LocalCluster of ``--workers`` processes or on the cluster of
``--scheduler``.  The sweep is
resumable: a cell whose ``run.json`` says ``finished`` is never re-run, an
interrupted cell continues from its checkpoint (running the same command
again continues the sweep; ``--resume`` is accepted and changes nothing).
``<sweep>/sweep.json`` records the training settings; more gammas or seeds
extend a sweep, other settings are refused.  The unregularised cell (``none``,
gamma 0) is always part of the grid.  Outputs: ``cells.csv``, ``summary.csv``,
``halving.csv`` (:mod:`bioplastic.gradient.ttfs.sweep`).

Example (2 processes)::

    python protocols/ttfs_sweep.py --out runs/ttfs-sweep --dataset mnist --hidden 100 \\
        --m-ssr 1e-4 1e-3 1e-2 --f-ssr 1e-4 1e-3 1e-2 --seeds 0 --epochs 2 \\
        --n-train 10000 --workers 2
"""

import sys

from bioplastic import cli


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[0], out_hint="required: the sweep directory", seed=False, threads=None)
    p.add_argument("--m-ssr", type=cli.positive_float, nargs="*", default=[], metavar="GAMMA",
                   help="gammas of M-SSR (> 0; the unregularised cell is always included)")
    p.add_argument("--f-ssr", type=cli.positive_float, nargs="*", default=[], metavar="GAMMA",
                   help="gammas of F-SSR (> 0)")
    p.add_argument("--seeds", type=cli.non_negative_int, nargs="+", default=[0])
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--hidden", type=cli.positive_int, nargs="*", default=[100])
    p.add_argument("--epochs", type=cli.positive_int, default=2)
    p.add_argument("--lr", type=cli.positive_float, default=2e-3)
    p.add_argument("--batch-size", type=cli.positive_int, default=32)
    p.add_argument("--sigma", type=cli.positive_float, default=0.1)
    p.add_argument("--n-train", type=cli.positive_int, default=None)
    p.add_argument("--n-validation", type=cli.non_negative_int, default=5000)
    p.add_argument("--n-test", type=cli.positive_int, default=None)
    p.add_argument("--workers", type=cli.positive_int, default=1,
                   help="worker processes of the LocalCluster (cells in parallel, 1 torch thread each)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler (e.g. tcp://HOST:8786) instead of the LocalCluster")
    args = cli.parse(p, argv)
    if not args.out:
        p.error("argument --out: required (the sweep directory)")
    return args


def main(argv=None):
    args = parse(argv)
    from bioplastic.gradient.ttfs.sweep import run_sweep

    return cli.run(run_sweep, args)


if __name__ == "__main__":
    sys.exit(main())
