"""Gradient-trained spiking networks (optional extra ``bioplastic[gradient]``: PyTorch, NIR).

A user of the sym-STDP models never imports this package.  Its modules are
imported one by one (``from bioplastic.gradient import lif``); importing the
package itself imports nothing heavy.  Each trained network has a bridge to
Brian2 equations whose raster is checked against the PyTorch forward pass.

Surrogate-gradient family (Zenke & Vogels 2021; docs/surrogate_gradient.rst):
``surrogates`` (spike functions with surrogate derivatives), ``lif`` (the
discrete LIF map, eq. 4.1, and its loss), ``regularizers`` (spike-count
bounds), ``training`` (the one training loop of the gradient families),
``brian2_bridge`` (the same map as Brian2 equations), ``nir_io`` (NIR export
and import); its figures are in ``surrogate.figures`` (plots, no torch).
Time-to-first-spike family: ``ttfs/``; adaptive synaptic scaling: ``adaptive/``.
Shared by the three: ``rundir`` (the run record in the house run format,
``docs/run_format.rst``) and ``sweep`` (cells of a sweep run as processes).
Data encodings (Randman,
latency code) are in :mod:`bioplastic.data.encoding`.
"""
