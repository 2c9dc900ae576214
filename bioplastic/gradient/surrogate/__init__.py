"""Surrogate-gradient networks (Zenke & Vogels 2021): the family's own parts.

The LIF map, the surrogate derivatives, the regularisers and the training loop
are the gradient core (:mod:`bioplastic.gradient`); here: :mod:`.experiment`
(one training run: options, data sets, model assembly, the run directory;
the body of ``protocols/surrogate_randman.py`` and
``surrogate_fashion_mnist.py``), :mod:`.sweep` (the Randman grid of
``protocols/surrogate_sweep.py``) and :mod:`.figures` (plots, no torch).
"""
