#!/usr/bin/env python
"""Run a trained TTFS network (a run of ttfs_mnist.py) in Brian2 and compare it with the exact model.

Reads ``weights.npz`` and ``run.json`` of the run directory, simulates the
test samples in Brian2 (``--device runtime`` or ``cpp_standalone``, time step
``--dt-fraction`` of the window), and writes ``brian2_check_<device>.json`` into the
run directory (or ``--out``): the statistics of
:func:`bioplastic.gradient.ttfs.bridge.compare` (layer-by-layer lag of every
spike behind the exact crossing, silent-set mismatches, end-to-end errors,
class agreement), the command and the wall time.  With ``--precise`` the
sub-step correction is on and the file is ``brian2_check_<device>_precise.json``.
The body is :func:`bioplastic.gradient.ttfs.experiment.bridge_check`.

Example::

    python protocols/ttfs_bridge_check.py runs/ttfs-mnist-400 --device cpp_standalone
"""

import sys

from bioplastic import cli
from bioplastic.gradient.ttfs import experiment


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[0], out_hint="the run directory", seed=False, threads=None)
    experiment.add_bridge_options(p)
    return cli.parse(p, argv)


def main(argv=None):
    args = parse(argv)

    def body():
        experiment.bridge_check(args)  # returns the record; the exit status is 0

    return cli.run(body)


if __name__ == "__main__":
    sys.exit(main())
