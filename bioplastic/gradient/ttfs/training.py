"""Adapter from TTFS networks to the family-wide loop :func:`bioplastic.gradient.training.fit`.

This module holds no training loop: :class:`TTFSObjective` is the
``loss_fn(model, x, y)`` that :func:`~bioplastic.gradient.training.fit` and
:func:`~bioplastic.gradient.training.evaluate` call.  It returns the loss
``CE(softmax(-t_out / sigma), y) + gamma * R`` (``R`` one of the regularisers
of :mod:`.regularizers`, summed over layers and averaged over the batch),
the predictions, and per-batch metrics that become columns of ``epochs.csv``:

``ce``, ``reg``
    The two parts of the loss.
``spikes_l1`` ... ``spikes_lL``, ``spikes_total``
    Mean spikes per sample in each layer (hidden layers first, output last)
    and in all of them.
``no_output``
    Fraction of samples without any output spike.

Silent layers: a layer that fires no spike for a whole minibatch blocks all
gradients below it.  The objective warns (:class:`SilentLayerWarning`) the
first time this happens, and raises :class:`SilentLayerError` after
``patience`` consecutive training minibatches with a silent layer, instead of
letting training run on without learning.
"""

from __future__ import annotations

import warnings

import torch

from bioplastic.gradient.training import BatchResult
from bioplastic.gradient.ttfs.coding import predict, ttfs_cross_entropy
from bioplastic.gradient.ttfs.network import spike_counts
from bioplastic.gradient.ttfs.regularizers import REGULARIZERS, network_regularizer

__all__ = ["TTFSObjective", "SilentLayerWarning", "SilentLayerError"]


class SilentLayerWarning(RuntimeWarning):
    """A layer fired no spike for a whole minibatch."""


class SilentLayerError(RuntimeError):
    """A layer stayed silent for many minibatches in a row; training cannot go on."""


class TTFSObjective:
    """Loss function of a TTFS network for :func:`bioplastic.gradient.training.fit`.

    Parameters
    ----------
    regularizer : {"none", "m-ssr", "f-ssr"}
        See :mod:`.regularizers` (both are hypotheses for the papers' forms).
    gamma : float
        Coefficient of the regulariser (>= 0).
    sigma : float
        Softmax temperature on the output times (> 0).
    patience : int
        Consecutive training minibatches with a silent layer before
        :class:`SilentLayerError`.

    Raises
    ------
    ValueError
        Unknown regulariser, ``gamma < 0`` or ``sigma <= 0``.
    """

    def __init__(self, regularizer="none", gamma=0.0, sigma=0.1, patience=20):
        if regularizer not in REGULARIZERS:
            raise ValueError(f"unknown regulariser {regularizer!r}; choose one of {sorted(REGULARIZERS)}")
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0; got {gamma}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0; got {sigma}")
        self.regularizer = regularizer
        self.gamma = float(gamma)
        self.sigma = float(sigma)
        self.patience = int(patience)
        self._silent_streak = 0
        self._warned = False

    def _check_silence(self, model, counts):
        silent = [i + 1 for i in range(counts.shape[1]) if counts[:, i].sum() == 0]
        if not model.training:
            return
        if not silent:
            self._silent_streak = 0
            return
        self._silent_streak += 1
        text = (f"layer(s) {silent} fired no spike for a whole minibatch of {len(counts)} samples; "
                "no gradient reaches the layers below")
        if self._silent_streak >= self.patience:
            raise SilentLayerError(
                f"{text} for {self._silent_streak} minibatches in a row. Training cannot recover: "
                "use larger initial weights (init_mean), a longer window t_max, a smaller gamma or "
                "a smaller learning rate.")
        if not self._warned:
            warnings.warn(text, SilentLayerWarning, stacklevel=3)
            self._warned = True

    def __call__(self, model, x, y):
        times = model(x)
        t_out = times[-1]
        ce = ttfs_cross_entropy(t_out, y, model.t_max, self.sigma)
        if self.gamma > 0 and self.regularizer != "none":
            reg = network_regularizer(self.regularizer, x, times, list(model.weights),
                                      model.t_max, model.v_th)
        else:
            reg = ce.new_zeros(())
        counts = spike_counts(times)
        self._check_silence(model, counts)
        metrics = {"ce": float(ce.detach()), "reg": float(reg.detach())}
        mean_counts = counts.mean(dim=0)
        for i, c in enumerate(mean_counts):
            metrics[f"spikes_l{i + 1}"] = float(c)
        metrics["spikes_total"] = float(mean_counts.sum())
        metrics["no_output"] = float((counts[:, -1] == 0).to(torch.float64).mean())
        return BatchResult(ce + self.gamma * reg, predictions=predict(t_out), metrics=metrics)
