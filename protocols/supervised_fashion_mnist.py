"""Supervised sym-STDP network of Hao et al. (2020) on Fashion-MNIST.

Images are scaled to a mean pixel value of 30, as in the authors' code.
Without arguments: a small demonstration that learns within a minute (N_E = 100,
5000 training samples, 1000 test samples: 69.7 % supervised, 66.0 % assignment,
50 s on a 2-core AMD EPYC, seed 0); the paper's settings are e.g. ``--n-hidden 400
--n-train all --n-test all`` (and ``--n-hidden 6400``).  N_E below 400 takes the
N_E = 400 parameter set.
"""

import sys

from bioplastic.symstdp.cli import main

if __name__ == "__main__":
    sys.exit(main("fashion-mnist", default_hidden=100, default_train=5000, default_test=1000,
                  description=__doc__))
