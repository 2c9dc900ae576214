"""bioplastic: spiking networks with local, biologically plausible plasticity in Brian2.

Folders are the architecture (``README.rst``, "What is where"): what every
family shares -- :mod:`bioplastic.data`, :mod:`bioplastic.runs`,
:mod:`bioplastic.analysis` -- and one subpackage per family:
:mod:`bioplastic.symstdp` (with its device layer :mod:`bioplastic.symstdp.device`)
and :mod:`bioplastic.gradient` (surrogate, ttfs, adaptive).  Importing the
package does not import Brian2.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "SymSTDPClassifier", "load"]


def __getattr__(name):
    if name == "SymSTDPClassifier":   # imported on first use (scikit-learn, not Brian2)
        from bioplastic.symstdp.estimator import SymSTDPClassifier

        return SymSTDPClassifier
    raise AttributeError(f"module 'bioplastic' has no attribute {name!r}")


def load(run_dir):
    """The trained model of a run directory, ready to predict new data.

    Sym-STDP runs (``protocols/supervised_*.py``) load as a fitted
    :class:`~bioplastic.symstdp.estimator.SymSTDPClassifier`, surrogate-gradient
    runs (``protocols/surrogate_*.py``) as a fitted
    :class:`~bioplastic.gradient.surrogate.estimator.SurrogateClassifier`
    (needs the ``gradient`` extra).  The TTFS and adaptive-scaling runs are not
    loadable as models yet: their records load with
    :func:`bioplastic.runs.load_run`, and this raises a clear error.
    """
    from bioplastic.runs import RunError, load_run

    run = load_run(run_dir)
    if run.family == "symstdp":
        from bioplastic.symstdp.estimator import SymSTDPClassifier

        return SymSTDPClassifier.from_run(run_dir)
    if run.family == "surrogate":
        from bioplastic.gradient.surrogate.estimator import SurrogateClassifier

        return SurrogateClassifier.from_run(run_dir)
    raise RunError(f"{run_dir} is a {run.family!r} run: loading it as a model is not available yet "
                   "(sym-STDP and surrogate-gradient runs are); bioplastic.runs.load_run(run_dir) "
                   "reads its records")
