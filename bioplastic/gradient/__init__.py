"""Gradient-trained spiking networks (optional extra ``bioplastic[gradient]``: PyTorch, NIR).

A user of the sym-STDP models never imports this package.  Its modules are
imported one by one (``from bioplastic.gradient import lif``); importing the
package itself imports nothing heavy.  Each trained network has a bridge to
Brian2 equations whose raster is checked against the PyTorch forward pass.
"""
