#!/usr/bin/env python
"""Surrogate-gradient training on latency-coded Fashion-MNIST (or MNIST), 100 hidden units.

The images are coded as in the spytorch tutorials (one spike per pixel at
``int(20 ln(x/(x - 0.2)))`` steps, pixels x <= 0.2 silent, 100 steps of 1 ms);
the network and the run directory are those of ``surrogate_randman.py``
(:mod:`bioplastic.gradient.surrogate.experiment`).  A validation split is held
out of the training set for tuning; the test set is only evaluated once, at
the end.

Example::

    python protocols/surrogate_fashion_mnist.py --epochs 10 --lr 1e-2 --init-gain 4 \\
        --out runs/fmnist-superspike

The defaults (lr 1e-2, input weights x4, 10 epochs, the weights of the epoch
with the best validation accuracy are kept) were chosen on the validation
split.
"""

import sys

from bioplastic.gradient.surrogate import experiment


def main(argv=None):
    return experiment.main(
        "surrogate-fashion-mnist", __doc__.splitlines()[0], experiment.image_data,
        defaults={"epochs": 10, "lr": 1e-2, "batch_size": 256, "init_gain": 4.0, "keep_best": True},
        extra_args=experiment.add_image_options, argv=argv, data=True)


if __name__ == "__main__":
    sys.exit(main())
