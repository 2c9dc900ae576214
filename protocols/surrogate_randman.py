#!/usr/bin/env python
"""One surrogate-gradient training run on the spiking Randman task (Zenke & Vogels 2021).

Example::

    python protocols/surrogate_randman.py --surrogate superspike --beta 10 --epochs 50 \\
        --out runs/randman-superspike-10

The data set (10 classes x 20 units x 1000 samples, split 800/100/100, one spike
per unit within the first 50 of 100 steps) is generated from ``--seed``; the
run directory format is described in ``bioplastic/gradient/surrogate/experiment.py``
and ``docs/run_format.rst``.
"""

import sys

from bioplastic.gradient.surrogate import experiment


def main(argv=None):
    return experiment.main("surrogate-randman", __doc__.splitlines()[0], experiment.randman_data,
                           defaults={"epochs": 50, "lr": 0.05, "batch_size": 250},
                           extra_args=experiment.add_randman_options, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
