"""bioplastic: spiking networks with local, biologically plausible plasticity in Brian2.

The package is organised in rooms, one mechanism each (see ``README.rst``):
:mod:`~bioplastic.params`, :mod:`~bioplastic.neurons`, :mod:`~bioplastic.plasticity`,
:mod:`~bioplastic.schedule`, :mod:`~bioplastic.network`, :mod:`~bioplastic.engine`,
:mod:`~bioplastic.readout`, :mod:`~bioplastic.datasets`, :mod:`~bioplastic.runs`,
:mod:`~bioplastic.clustering`.  Importing the package does not import Brian2.
"""

__version__ = "0.1.0"
