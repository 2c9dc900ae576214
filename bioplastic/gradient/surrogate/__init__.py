"""Surrogate-gradient networks (Zenke & Vogels 2021): the family's own parts.

The LIF map, the surrogate derivatives, the regularisers and the training loop
are the gradient core (:mod:`bioplastic.gradient`); here: :mod:`.figures`.
"""
