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

    ======================================  ==============================================
    run (``family`` in its ``run.json``)    returns
    ======================================  ==============================================
    sym-STDP (``protocols/supervised_*``)   a fitted :class:`~bioplastic.symstdp.estimator.SymSTDPClassifier`
    surrogate (``protocols/surrogate_*``)   a fitted :class:`~bioplastic.gradient.surrogate.estimator.SurrogateClassifier`
    TTFS (``protocols/ttfs_mnist.py``)      a fitted :class:`~bioplastic.gradient.ttfs.estimator.TTFSClassifier`
    adaptive scaling, robustness study      ``{cell: AdaptiveScalingNetwork}``, one trained network per
                                            seed and model (:func:`bioplastic.gradient.adaptive.experiment.load_models`)
    ======================================  ==============================================

    The gradient families need the ``gradient`` extra.  The other adaptive
    studies (continual learning, homeostasis) keep no trained network: this
    raises :class:`bioplastic.runs.RunError` for them, and their tables load
    with :func:`bioplastic.runs.load_run`.
    """
    from bioplastic.runs import RunError, load_run

    run = load_run(run_dir, require=())
    if run.family == "symstdp":
        from bioplastic.symstdp.estimator import SymSTDPClassifier

        return SymSTDPClassifier.from_run(run_dir)
    if run.family == "surrogate":
        from bioplastic.gradient.surrogate.estimator import SurrogateClassifier

        return SurrogateClassifier.from_run(run_dir)
    if run.family == "ttfs":
        from bioplastic.gradient.ttfs.estimator import TTFSClassifier

        return TTFSClassifier.from_run(run_dir)
    if run.family == "adaptive":
        from bioplastic.gradient.adaptive.experiment import load_models

        return load_models(run_dir)
    raise RunError(f"{run_dir} is a {run.family!r} run: no model to load")
