"""bioplastic: spiking networks with local, biologically plausible plasticity in Brian2.

Folders are the architecture (``README.rst``, "What is where"): what every
family shares -- :mod:`bioplastic.data`, :mod:`bioplastic.runs`,
:mod:`bioplastic.analysis` -- and one subpackage per family:
:mod:`bioplastic.symstdp` (with its device layer :mod:`bioplastic.symstdp.device`)
and :mod:`bioplastic.gradient` (surrogate, ttfs, adaptive).  Importing the
package does not import Brian2.
"""

__version__ = "0.1.0"
