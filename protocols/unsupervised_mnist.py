"""Unsupervised STDP network of Diehl & Cook (2015) on MNIST, built from bioplastic's parts.

Their STDP rule and neuron (``bioplastic.symstdp.models.DIEHL_COOK_2015``) in the
network and engine of the sym-STDP protocols; read out by neuron assignment (the
``assignment`` column).  The hidden layer never sees a label; a label layer
learns beside it and gives the ``supervised`` column.  Run without arguments
for a small demonstration (N_E = 100, 2000 training samples, 1000 test
samples); the paper's sizes: ``--n-hidden 100 --n-train all`` (82.9 %, one
epoch), ``--n-hidden 400 --epochs 3`` (87.0 %), 1600 (91.9 %, 7 epochs),
6400 (95.0 %, 15 epochs).  ``--model hao-2020`` gives the sym-STDP network
on the same command line, for side-by-side runs.
"""

import sys

from bioplastic.symstdp.cli import main

if __name__ == "__main__":
    sys.exit(main("mnist", default_hidden=100, default_train=2000, default_test=1000,
                  description=__doc__, model="diehl-cook-2015"))
