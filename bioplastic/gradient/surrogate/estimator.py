"""The surrogate-gradient network as a scikit-learn estimator (Zenke & Vogels 2021).

:class:`SurrogateClassifier` trains :class:`bioplastic.gradient.lif.SpikingNetwork`
with :func:`bioplastic.gradient.training.fit` (the loop every protocol uses)
on arrays: images (pixel values 0-255, latency-coded as in spytorch's
tutorials, as ``protocols/surrogate_fashion_mnist.py`` does) or spike
trains ``(n, nb_steps, n_in)`` of zeros and ones (``input="spikes"``, e.g.
Randman).  The fitted weights are held as numpy arrays, so the estimator
clones, pickles and cross-validates like any scikit-learn classifier::

    from bioplastic.gradient.surrogate.estimator import SurrogateClassifier
    clf = SurrogateClassifier(n_hidden=100, epochs=5).fit(x_train, y_train)
    clf.score(x_test, y_test)
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from bioplastic._estimators import (check_choice, check_positive_floats, check_positive_ints, check_seed,
                                    validate_images, write_gradient_run)
from bioplastic.gradient.estimator import GradientClassifier

__all__ = ["SurrogateClassifier", "INPUTS"]

#: What ``X`` holds: images (latency-coded here) or spike trains.
INPUTS = ("images", "spikes")


class SurrogateClassifier(GradientClassifier):
    """One hidden layer of LIF neurons trained with surrogate gradients; max-over-time readout.

    Parameters
    ----------
    n_hidden : int, default 100
    surrogate : str, default "superspike"
        Surrogate derivative (``bioplastic.gradient.surrogates``: superspike,
        sigmoid, esser, asymptotic, constant).
    beta : float, default 10.0
        Surrogate slope.
    recurrent, differentiable_reset : bool, default False
    init_gain : float, default 4.0
        Multiplies the initial input (and recurrent) weights.  The paper's
        initialisation is 1, but on sparse input (a latency-coded image has
        one spike per bright pixel) such a network starts silent and cannot
        learn (a warning says so); 4 is ``protocols/surrogate_fashion_mnist.py``'s.
    lower_bound : bool, default True
        The per-neuron lower bound on spike counts of the paper (Table 1's
        defaults), which keeps hidden neurons from falling silent.
    epochs : int, default 10
    lr : float, default 1e-2
        Adam learning rate (the image protocol's).
    batch_size : int, default 256
    input : {"images", "spikes"}, default "images"
        Images ``(n, n_pixels)`` or ``(n, 28, 28)`` with pixel values in
        [0, 255], latency-coded with ``tau_eff``, ``theta`` and ``nb_steps``;
        or spike trains ``(n, nb_steps, n_in)`` of zeros and ones.
    nb_steps : int, default 100
        Time steps of a latency-coded image.
    tau_eff, theta : float, default 20.0, 0.2
        The latency code (spytorch's): a pixel of intensity ``x`` (in [0, 1])
        spikes once, at step ``int(tau_eff * ln(x / (x - theta)))``; ``x <= theta`` never.
    seed : int, default 0
        Initial weights and minibatch order.
    threads : int, default 1
        Torch threads.
    verbose : bool, default False
        One line per epoch.

    Attributes
    ----------
    classes_, n_features_in_ : as usual (``n_features_in_``: input units)
    weights_ : dict of ndarray
        ``w_in`` (n_in, n_hidden), ``w_out`` (n_hidden, n_classes) and ``w_rec`` if recurrent.
    history_ : pandas.DataFrame
        One row per epoch (loss, accuracy, spikes per neuron).
    """

    def __init__(self, n_hidden=100, surrogate="superspike", beta=10.0, recurrent=False,
                 differentiable_reset=False, init_gain=4.0, lower_bound=True, epochs=10, lr=1e-2,
                 batch_size=256, input="images", nb_steps=100, tau_eff=20.0, theta=0.2, seed=0, threads=1,
                 verbose=False):
        self.n_hidden = n_hidden
        self.surrogate = surrogate
        self.beta = beta
        self.recurrent = recurrent
        self.differentiable_reset = differentiable_reset
        self.init_gain = init_gain
        self.lower_bound = lower_bound
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.input = input
        self.nb_steps = nb_steps
        self.tau_eff = tau_eff
        self.theta = theta
        self.seed = seed
        self.threads = threads
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.three_d_array = self.input == "spikes"
        return tags

    # ------------------------------------------------------------------ data
    def _check_hyperparameters(self):
        check_positive_ints(self, ("n_hidden", "epochs", "batch_size", "nb_steps", "threads"))
        check_positive_floats(self, ("beta", "lr", "init_gain", "tau_eff"))
        check_seed(self)
        if not 0 < self.theta < 1:
            raise ValueError(f"theta must lie in (0, 1), got {self.theta!r}")
        check_choice(self, "input", INPUTS)

    def _inputs(self, X, reset, y=None):
        """``(SpikeTimesBatches or tensor, y)`` from *X* (validated)."""
        import torch

        from bioplastic.data.encoding import latency_spike_times
        from bioplastic.gradient import lif

        if self.input == "images":
            checked = validate_images(self, X, reset, y, what="the latency code's intensity")
            X_arr, y = checked if y is not None else (checked, None)
            times = latency_spike_times(X_arr / 255.0, self.tau_eff, self.theta, self.nb_steps)
            data = lif.SpikeTimesBatches(times, self.nb_steps, sparse=X_arr.shape[1] > 100)
            return data, y
        X_arr = np.asarray(X, dtype=np.float64)
        if X_arr.ndim != 3:
            raise ValueError(f"spike trains must have shape (n_samples, nb_steps, n_in), got {X_arr.shape}")
        if not np.isin(X_arr, (0.0, 1.0)).all():
            raise ValueError("spike trains must hold only zeros and ones")
        if reset:
            self.n_features_in_ = X_arr.shape[2]
            self.n_steps_ = X_arr.shape[1]
        elif X_arr.shape[1:] != (self.n_steps_, self.n_features_in_):
            raise ValueError(f"spike trains of shape {X_arr.shape[1:]} given; the network was fitted on "
                             f"{(self.n_steps_, self.n_features_in_)}")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(X_arr):
                raise ValueError(f"X holds {len(X_arr)} samples but y {len(y)}")
        return torch.as_tensor(X_arr, dtype=torch.float32), y

    def _network(self):
        import torch

        from bioplastic.gradient import lif

        steps = self.nb_steps if self.input == "images" else self.n_steps_
        params = lif.LIFParams(n_in=int(self.n_features_in_), n_hidden=int(self.n_hidden),
                               n_out=len(self.classes_), nb_steps=int(steps))
        return lif.SpikingNetwork(params, surrogate=self.surrogate, beta=float(self.beta),
                                  recurrent=bool(self.recurrent),
                                  differentiable_reset=bool(self.differentiable_reset),
                                  init_gain=float(self.init_gain),
                                  generator=torch.Generator().manual_seed(int(self.seed)))

    def _fitted_network(self):
        import torch

        check_is_fitted(self, "weights_")
        net = self._network()
        net.load_state_dict({k: torch.as_tensor(v) for k, v in self.weights_.items()})
        net.eval()
        return net

    def _loss(self):
        from bioplastic.gradient import lif

        return lif.MaxOverTimeLoss(lower={} if self.lower_bound else None)

    def _keep(self, net):
        self.weights_ = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}

    def save(self, run_dir):
        """Write the fitted network as a run directory (the protocols' format); :func:`bioplastic.load` reads it.

        ``run.json`` (family "surrogate", protocol "SurrogateClassifier",
        the hyper-parameters as ``config``, ``model`` and ``data`` as the
        protocols record them), ``weights.npz`` and ``metrics.json``.
        """
        check_is_fitted(self, "weights_")
        steps = self.nb_steps if self.input == "images" else self.n_steps_
        model = {"params": {"n_in": int(self.n_features_in_), "n_hidden": int(self.n_hidden),
                            "n_out": len(self.classes_), "nb_steps": int(steps)},
                 "surrogate": self.surrogate, "beta": float(self.beta), "recurrent": bool(self.recurrent),
                 "differentiable_reset": bool(self.differentiable_reset), "init_gain": float(self.init_gain)}
        data = ({"code": "latency", "tau_eff": float(self.tau_eff), "theta": float(self.theta)}
                if self.input == "images" else {"code": "spikes"})
        return write_gradient_run(self, run_dir, "surrogate", {"model": model, "data": data}, self.weights_,
                                  {"epochs": len(getattr(self, "history_", ()))})

    # ------------------------------------------------------------------ inference
    def _forward(self, X, batch=1000):
        import torch

        check_is_fitted(self, "weights_")
        data, _ = self._inputs(X, reset=False)
        net = self._fitted_network()
        logits, counts = [], []
        with torch.no_grad():
            for start in range(0, len(data), batch):
                index = torch.arange(start, min(start + batch, len(data)))
                x = data[index] if not isinstance(data, torch.Tensor) else data[index]
                out = net(x)
                logits.append(out.logits.numpy())
                counts.append(out.spikes.sum(dim=1).numpy())
        if not logits:
            return np.zeros((0, len(self.classes_))), np.zeros((0, int(self.n_hidden)))
        return np.concatenate(logits), np.concatenate(counts)

    def _logits(self, X):
        return self._forward(X)[0]

    def transform(self, X):
        """Hidden spike counts per sample (n_samples, n_hidden), float64."""
        return self._forward(X)[1].astype(np.float64)

    @classmethod
    def from_run(cls, run_dir):
        """The trained network of a surrogate-gradient run directory (``protocols/surrogate_*.py``)."""
        from pathlib import Path

        from bioplastic import runs
        from bioplastic.gradient.training import load_weights

        run_dir = Path(run_dir)
        loaded = runs.load_run(run_dir)
        if loaded.family != "surrogate":
            raise runs.RunError(f"{run_dir} is a {loaded.family!r} run, not a surrogate-gradient run")
        record = loaded.record
        model, data = record["model"], record.get("data", {})
        p = model["params"]
        image = data.get("code") == "latency"
        clf = cls(n_hidden=int(p["n_hidden"]), surrogate=model["surrogate"], beta=float(model["beta"]),
                  recurrent=bool(model["recurrent"]), differentiable_reset=bool(model["differentiable_reset"]),
                  init_gain=float(model.get("init_gain", 1.0)), input="images" if image else "spikes",
                  nb_steps=int(p["nb_steps"]), tau_eff=float(data.get("tau_eff", 20.0)),
                  theta=float(data.get("theta", 0.2)), seed=int(record.get("seed", 0)))
        clf.n_features_in_ = int(p["n_in"])
        clf.n_steps_ = int(p["nb_steps"])
        clf.classes_ = np.asarray(record.get("classes", np.arange(int(p["n_out"]))))
        if "config" in record and record.get("protocol") == cls.__name__:   # written by save()
            clf.set_params(**{k: v for k, v in record["config"].items() if k in clf.get_params()})
        path = run_dir / "weights.npz"
        if not path.exists():
            raise runs.RunError(f"{run_dir} has no weights.npz (the trained weights)")
        clf.weights_ = {k: np.asarray(v) for k, v in load_weights(path).items()}
        return clf
