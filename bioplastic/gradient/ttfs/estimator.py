"""The time-to-first-spike network as a scikit-learn estimator (Sakemi et al. 2023).

:class:`TTFSClassifier` trains :class:`bioplastic.gradient.ttfs.network.TTFSNetwork`
with the family-wide loop :func:`bioplastic.gradient.training.fit` and the
objective of ``protocols/ttfs_mnist.py`` (:class:`~.training.TTFSObjective`)
on images given as arrays (pixel values 0-255; each pixel spikes once, at
``t_in (1 - x / 255)``).  The fitted weights are numpy arrays, so the
estimator clones, pickles and cross-validates like any scikit-learn
classifier; :meth:`TTFSClassifier.from_run` (and :func:`bioplastic.load`)
gives the network of a protocol's run directory::

    from bioplastic.gradient.ttfs.estimator import TTFSClassifier
    clf = TTFSClassifier(hidden=(100,), epochs=3).fit(x_train, y_train)
    clf.score(x_test, y_test)
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from bioplastic._estimators import (check_choice, check_positive_floats, check_positive_ints, check_seed,
                                    validate_images, write_gradient_run)
from bioplastic.gradient.estimator import GradientClassifier

__all__ = ["TTFSClassifier"]

REGULARIZERS = ("none", "m-ssr", "f-ssr")


class TTFSClassifier(GradientClassifier):
    """A multilayer network of non-leaky neurons that spike once; the earliest output wins.

    The defaults are those of ``protocols/ttfs_mnist.py``.

    Parameters
    ----------
    hidden : tuple of int, default (400,)
        Hidden layer sizes (``()``: one layer of synapses).
    regularizer : {"none", "m-ssr", "f-ssr"}, default "none"
        Sparse-firing regulariser (both forms are hypotheses:
        :mod:`bioplastic.gradient.ttfs.regularizers`).
    gamma : float, default 0.0
        Its coefficient (>= 0; > 0 needs a regulariser).
    sigma : float, default 0.1
        Softmax temperature on the output spike times.
    epochs : int, default 3
    lr : float, default 2e-3
        Adam learning rate.
    batch_size : int, default 32
    t_in : float, default 1.0
        Input window (the unit of every spike time).
    t_max : float or None, default None
        Window end of all layers (> ``t_in``); default ``(layers + 1) * t_in``.
    init_mean, init_std : float, default 6.0, 3.0
        Initial weights (:class:`~bioplastic.gradient.ttfs.network.TTFSNetwork`).
    seed : int, default 0
        Initial weights and minibatch order.
    threads : int, default 1
        Torch threads.
    verbose : bool, default False
        One line per epoch.

    Attributes
    ----------
    classes_, n_features_in_ : as usual (``n_features_in_``: pixels)
    weights_ : list of ndarray
        ``(n_out, n_in)`` per layer of synapses.
    t_max_ : float
        The window end used.
    history_ : pandas.DataFrame
        One row per epoch.

    Notes
    -----
    :meth:`predict` takes the class of the earliest output spike.  A sample
    whose output layer stays silent reads every output at ``t_max``: its
    probabilities are uniform and it is predicted as the first class (the
    protocol counts it as wrong: its accuracy can be a little lower).
    """

    def __init__(self, hidden=(400,), regularizer="none", gamma=0.0, sigma=0.1, epochs=3, lr=2e-3,
                 batch_size=32, t_in=1.0, t_max=None, init_mean=6.0, init_std=3.0, seed=0, threads=1,
                 verbose=False):
        self.hidden = hidden
        self.regularizer = regularizer
        self.gamma = gamma
        self.sigma = sigma
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.t_in = t_in
        self.t_max = t_max
        self.init_mean = init_mean
        self.init_std = init_std
        self.seed = seed
        self.threads = threads
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def _check_hyperparameters(self):
        check_positive_ints(self, ("epochs", "batch_size", "threads"))
        check_positive_floats(self, ("sigma", "lr", "t_in"))
        check_seed(self)
        check_choice(self, "regularizer", REGULARIZERS)
        hidden = tuple(self.hidden) if isinstance(self.hidden, (tuple, list)) else None
        if hidden is None or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                                 for h in hidden):
            raise ValueError(f"hidden must be a tuple of positive layer sizes, got {self.hidden!r}")
        if not (np.isfinite(self.gamma) and self.gamma >= 0):
            raise ValueError(f"gamma must be >= 0, got {self.gamma!r}")
        if self.regularizer == "none" and self.gamma != 0:
            raise ValueError("gamma > 0 needs regularizer 'm-ssr' or 'f-ssr'")
        if self.t_max is not None and not self.t_max > self.t_in:
            raise ValueError(f"t_max ({self.t_max}) must be longer than the input window t_in ({self.t_in})")

    def _inputs(self, X, reset, y=None):
        """Input spike times ``(n, n_pixels)`` (float32 tensor) of images *X*, and *y* if given."""
        from bioplastic.gradient.ttfs.coding import encode_images

        checked = validate_images(self, X, reset, y, what="each pixel's spike time")
        X_arr, y = checked if y is not None else (checked, None)
        return encode_images(X_arr / 255.0, t_in=float(self.t_in)), y

    def _network(self):
        from bioplastic.gradient.ttfs.network import TTFSNetwork

        sizes = (int(self.n_features_in_), *(int(h) for h in self.hidden), len(self.classes_))
        return TTFSNetwork(sizes, t_max=self.t_max, t_in=float(self.t_in), init_mean=float(self.init_mean),
                           init_std=float(self.init_std), seed=int(self.seed))

    def _fitted_network(self):
        import torch

        check_is_fitted(self, "weights_")
        net = self._network()
        net.load_state_dict({f"weights.{i}": torch.as_tensor(w) for i, w in enumerate(self.weights_)})
        net.eval()
        return net

    def _loss(self):
        from bioplastic.gradient.ttfs.training import TTFSObjective

        return TTFSObjective(self.regularizer, float(self.gamma), float(self.sigma))

    def _keep(self, net):
        self.weights_ = [w.detach().cpu().numpy().copy() for w in net.weights]
        self.t_max_ = net.t_max

    @classmethod
    def from_run(cls, run_dir):
        """The trained network of a TTFS run directory (``protocols/ttfs_mnist.py``), ready to predict.

        Raises
        ------
        bioplastic.runs.RunError
            Not a TTFS run, or no ``weights.npz`` (an unfinished run).
        """
        from pathlib import Path

        from bioplastic import runs

        run_dir = Path(run_dir)
        loaded = runs.load_run(run_dir)
        if loaded.family != "ttfs":
            raise runs.RunError(f"{run_dir} is a {loaded.family!r} run, not a TTFS run")
        record = loaded.record
        cfg, network = record["config"], record.get("network")
        path = run_dir / "weights.npz"
        if network is None or not path.exists():
            raise runs.RunError(f"{run_dir} has no trained network (no weights.npz or no 'network' "
                                "in run.json): an unfinished run")
        sizes = [int(s) for s in network["sizes"]]
        clf = cls(hidden=tuple(sizes[1:-1]), regularizer=cfg.get("regularizer", "none"),
                  gamma=float(cfg.get("gamma", 0.0)), sigma=float(cfg.get("sigma", 0.1)),
                  epochs=int(cfg.get("epochs", 3)), lr=float(cfg.get("lr", 2e-3)),
                  batch_size=int(cfg.get("batch_size", 32)), t_in=float(network["t_in"]),
                  t_max=float(network["t_max"]), init_mean=float(cfg.get("init_mean", 6.0)),
                  init_std=float(cfg.get("init_std", 3.0)), seed=int(record.get("seed", 0)))
        w = runs.load_npz(path)
        clf.weights_ = [np.asarray(w[f"weights.{i}"]) for i in range(len(sizes) - 1)]
        clf.n_features_in_ = sizes[0]
        clf.classes_ = np.asarray(record.get("classes", np.arange(sizes[-1])))
        clf.t_max_ = float(network["t_max"])
        return clf

    def save(self, run_dir):
        """Write the fitted network as a run directory (the protocol's format); :func:`bioplastic.load` reads it.

        ``run.json`` (family "ttfs", protocol "TTFSClassifier", the
        hyper-parameters as ``config``, ``network`` as the protocol records
        it), ``weights.npz`` (``weights.0``, ...) and ``metrics.json``.
        """
        check_is_fitted(self, "weights_")
        sizes = [int(self.n_features_in_), *(int(h) for h in self.hidden), len(self.classes_)]
        network = {"sizes": sizes, "t_max": float(self.t_max_), "t_in": float(self.t_in), "v_th": 1.0}
        return write_gradient_run(self, run_dir, "ttfs", {"network": network},
                                  {f"weights.{i}": w for i, w in enumerate(self.weights_)},
                                  {"epochs": len(getattr(self, "history_", ()))})

    # ------------------------------------------------------------------ inference
    def spike_times(self, X, batch=1000):
        """Spike times of every layer after the input: a list of ``(n_samples, n_l)`` arrays, ``inf`` = silent.

        Times are in units of the input window ``t_in``.
        """
        import torch

        check_is_fitted(self, "weights_")
        times, _ = self._inputs(X, reset=False)
        net = self._fitted_network()
        layers = [[] for _ in net.weights]
        with torch.no_grad():
            for start in range(0, len(times), batch):
                for i, t in enumerate(net(times[start:start + batch])):
                    layers[i].append(t.to(torch.float64).numpy())
        sizes = net.sizes[1:]
        return [np.concatenate(parts) if parts else np.zeros((0, n)) for parts, n in zip(layers, sizes)]

    def _logits(self, X):
        """``-t_out / sigma`` (silent outputs at ``t_max``), the training loss's logits; the
        earliest output spike has the largest (ties and a silent layer: the first class)."""
        t_out = self.spike_times(X)[-1]
        return -np.where(np.isfinite(t_out), t_out, self.t_max_) / float(self.sigma)

    def transform(self, X):
        """Spike times of the last hidden layer (silent at ``t_max``); the output layer's if none."""
        layers = self.spike_times(X)
        t = layers[-2] if len(layers) > 1 else layers[-1]
        return np.where(np.isfinite(t), t, self.t_max_)
