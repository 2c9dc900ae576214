"""What the gradient families' scikit-learn estimators share: fit by the family-wide loop, read out logits.

:class:`GradientClassifier` is the base of
:class:`~bioplastic.gradient.surrogate.estimator.SurrogateClassifier` and
:class:`~bioplastic.gradient.ttfs.estimator.TTFSClassifier`.  A subclass
says what its network is and how it reads data; the base trains it with
:func:`bioplastic.gradient.training.fit` (the loop every protocol uses) and
turns its logits into ``predict``, ``predict_proba`` and
``decision_function``:

``_check_hyperparameters()``
    ValueError for a bad hyper-parameter.
``_inputs(X, reset, y=None)``
    The network's input (a tensor or a batch source) and *y*, validated.
``_network()``
    A new network for ``n_features_in_`` inputs and ``classes_``.
``_loss()``
    The ``loss_fn(model, x, y)`` of the family.
``_keep(net)``
    Store the trained network as numpy arrays (``weights_``, ...).
``_logits(X)``
    ``(n_samples, n_classes)`` logits of the fitted network.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets

from bioplastic._estimators import check_two_classes, decision_of, softmax

__all__ = ["GradientClassifier"]


class GradientClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Base of the gradient families' estimators (not used on its own; see the module docstring)."""

    def fit(self, X, y):
        """Train a new network on *X*, *y* for ``epochs`` epochs (Adam, minibatches in a seeded order)."""
        import torch

        from bioplastic.gradient import training

        self._check_hyperparameters()
        torch.set_num_threads(int(self.threads))
        data, y = self._inputs(X, reset=True, y=y)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        check_two_classes(self.classes_)
        net = self._network()
        self.history_ = training.fit(net, self._loss(), (data, torch.as_tensor(y_idx)),
                                     epochs=int(self.epochs), lr=float(self.lr),
                                     batch_size=int(self.batch_size), seed=int(self.seed),
                                     progress=bool(self.verbose))
        self._keep(net)
        return self

    def decision_function(self, X):
        """The logits ``(n_samples, n_classes)``; for two classes their difference ``(n_samples,)``."""
        return decision_of(self._logits(X))

    def predict_proba(self, X):
        """Softmax of the logits."""
        return softmax(self._logits(X))

    def predict(self, X):
        """The class of the largest logit."""
        logits = self._logits(X)                 # checks that the network is fitted
        return self.classes_[np.argmax(logits, axis=1)]
