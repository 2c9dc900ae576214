"""Supervised sym-STDP network of Hao et al. (2020) on Fashion-MNIST.

Images are scaled to a mean pixel value of 30, as in the authors' code.
Without arguments: a small demonstration (N_E = 400, 2000 training samples,
1000 test samples); the paper's setting is e.g. ``--n-train all --n-test all`` (and ``--n-hidden 6400``).
"""

import sys

from bioplastic.symstdp.cli import main

if __name__ == "__main__":
    sys.exit(main("fashion-mnist", default_hidden=400, default_train=2000, default_test=1000,
                  description=__doc__))
