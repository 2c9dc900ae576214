#!/usr/bin/env python
"""Train a time-to-first-spike MLP (Sakemi et al. 2023) on MNIST or Fashion-MNIST.

One spike per pixel (``t = t_in (1 - x)``), fully connected layers of
non-leaky IF neurons with step currents (one spike at most each), exact
spike-time gradients, softmax cross-entropy on the negative output times,
optionally plus ``gamma`` times a sparse-firing regulariser (M-SSR or F-SSR:
HYPOTHESES for the papers' forms, see bioplastic/gradient/ttfs/regularizers.py).
Training uses the family-wide loop ``bioplastic.gradient.training.fit``; the
run (and its directory: run.json, metrics.json, epochs.csv, evaluations.csv,
weights.npz, test_spikes.npz, checkpoint.npz) is
:func:`bioplastic.gradient.ttfs.experiment.run`.

Example (the measured baseline of docs/ttfs.rst)::

    python protocols/ttfs_mnist.py --dataset mnist --hidden 400 --epochs 3 \\
        --out runs/ttfs-mnist-400
"""

import sys

from bioplastic import cli
from bioplastic.gradient.ttfs import experiment


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[0],
                   out_hint="runs/ttfs-<dataset>-<regularizer>-g<gamma>-seed<seed>-<time>",
                   threads="torch threads")
    experiment.add_options(p)
    return experiment.check_options(p, cli.parse(p, argv))


def main(argv=None):
    args = parse(argv)

    def body():
        experiment.run(args)  # returns the record; the exit status is 0

    return cli.run(body)


if __name__ == "__main__":
    sys.exit(main())
