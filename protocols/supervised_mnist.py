"""Supervised sym-STDP network of Hao et al. (2020) on MNIST.

Run without arguments for a small demonstration that finishes in minutes
(N_E = 100, 2000 training samples, 1000 test samples, cpp_standalone); the
paper's settings are e.g. ``--n-hidden 400 --epochs 1`` (all 60000 samples).
"""

import sys

from bioplastic.symstdp.cli import main

if __name__ == "__main__":
    sys.exit(main("mnist", default_hidden=100, default_train=2000, default_test=1000,
                  description=__doc__))
