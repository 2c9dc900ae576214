"""Readout: turning spike counts into class predictions, and scoring them.

Two readouts are used throughout :mod:`bioplastic`:

* the **supervised** readout: the prediction is the label-layer neuron that
  fired most (:func:`supervised_predictions`);
* the **assignment** readout of Diehl & Cook (2015): every hidden neuron is
  assigned the class to which it responds most on average
  (:func:`assign_neurons`), and a sample is classified as the class whose
  assigned neurons fired most on average (:func:`assignment_predictions`).

Two diagnostics fit other readouts to the same counts: a class-mean template
(:func:`class_mean_predictions`, what a Hebbian label pathway with weight
normalisation approximates) and a logistic regression
(:func:`linear_readout_predictions`, scikit-learn).

The readouts return ``-1`` for a sample on which the relevant neurons were
silent; :func:`accuracy` counts ``-1`` as wrong and :func:`confusion_matrix`
leaves such samples out.  Ties are always broken towards the lowest class
index, so every function here is deterministic.

This module is pure numpy; it does not import Brian2.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "supervised_predictions",
    "assign_neurons",
    "RollingAssignment",
    "assignment_predictions",
    "class_mean_predictions",
    "linear_readout_predictions",
    "accuracy",
    "confusion_matrix",
]


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------

def _check_n_classes(n_classes):
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(
        n_classes, (int, np.integer)
    ):
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes}")
    return int(n_classes)


def _as_counts(x, name, ndim=2):
    """Return spike counts *x* as a float64 array, after checking them."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must be a numeric array of spike counts, got dtype {a.dtype}"
        )
    if a.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional, got shape {a.shape} "
            f"({a.ndim}-dimensional)"
        )
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(a < 0):
        raise ValueError(f"{name} contains negative spike counts")
    return a


def _as_ints(x, name, low, high):
    """Return *x* as a 1-d int64 array with values in ``[low, high)``."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be an array of integers, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(
            f"{name} must be 1-dimensional, got shape {a.shape} "
            f"({a.ndim}-dimensional)"
        )
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must contain integer values")
    a = a.astype(np.int64)
    bad = (a < low) | (a >= high)
    if np.any(bad):
        first = int(a[np.argmax(bad)])
        raise ValueError(
            f"{name} must lie in [{low}, {high - 1}]; found {first} "
            f"({int(bad.sum())} value(s) out of range)"
        )
    return a


def _check_same_length(a, name_a, b, name_b):
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} and {name_b} have different numbers of samples: "
            f"{a.shape[0]} != {b.shape[0]}"
        )


# --------------------------------------------------------------------------
# readouts
# --------------------------------------------------------------------------

def supervised_predictions(label_counts):
    """Predict the class of each sample from the label-layer spike counts.

    Parameters
    ----------
    label_counts : array_like, shape (n_samples, n_classes)
        Spike count of every label neuron on every sample (non-negative).

    Returns
    -------
    predictions : ndarray of int64, shape (n_samples,)
        Index of the label neuron that fired most on each sample, or ``-1``
        for samples on which no label neuron fired.  Ties are broken towards
        the **lowest** index among the maxima.

    Raises
    ------
    ValueError
        If *label_counts* is not 2-d, not numeric, or holds negative or
        non-finite values.

    Examples
    --------
    >>> supervised_predictions([[0, 3, 1], [2, 2, 0], [0, 0, 0]])
    array([ 1,  0, -1])
    """
    counts = _as_counts(label_counts, "label_counts", ndim=2)
    if counts.shape[1] == 0:
        return np.full(counts.shape[0], -1, dtype=np.int64)
    pred = np.argmax(counts, axis=1).astype(np.int64)  # first maximum wins
    pred[counts.max(axis=1) <= 0] = -1
    return pred


def assign_neurons(hidden_counts, labels, n_classes=10):
    """Assign each hidden neuron to the class it responds to most.

    The response of a neuron to a class is its spike count averaged over the
    samples of that class (Diehl & Cook, 2015).  Averaging (rather than
    summing) makes the assignment insensitive to class imbalance.

    Parameters
    ----------
    hidden_counts : array_like, shape (n_samples, n_hidden)
        Spike count of every hidden neuron on every sample (non-negative).
    labels : array_like of int, shape (n_samples,)
        True class of every sample, in ``[0, n_classes)``.
    n_classes : int, optional
        Number of classes (default 10).

    Returns
    -------
    assignments : ndarray of int64, shape (n_hidden,)
        The assigned class of every hidden neuron, or ``-1`` for neurons that
        did not fire on any sample.  Classes without samples are never
        assigned; ties are broken towards the lowest class index.

    Raises
    ------
    ValueError
        On wrong dimensions, negative counts, labels out of range, or
        mismatched numbers of samples.

    Examples
    --------
    >>> counts = [[4, 0, 0], [0, 2, 0], [1, 3, 0]]
    >>> assign_neurons(counts, [0, 1, 1], n_classes=2)
    array([ 0,  1, -1])
    """
    n_classes = _check_n_classes(n_classes)
    counts = _as_counts(hidden_counts, "hidden_counts", ndim=2)
    labels = _as_ints(labels, "labels", 0, n_classes)
    _check_same_length(counts, "hidden_counts", labels, "labels")

    onehot = np.zeros((labels.size, n_classes))
    onehot[np.arange(labels.size), labels] = 1.0
    return _assign_from_sums(onehot.T @ counts, onehot.sum(axis=0))


def _assign_from_sums(sums, n_per_class):
    """Assignments from per-class response sums (n_classes, n_hidden) and class sizes."""
    n_classes, n_hidden = sums.shape
    means = np.full((n_classes, n_hidden), -np.inf)
    present = n_per_class > 0
    means[present] = sums[present] / n_per_class[present, None]
    assignments = np.full(n_hidden, -1, dtype=np.int64)
    fired = sums.sum(axis=0) > 0
    if np.any(fired):
        assignments[fired] = np.argmax(means[:, fired], axis=0)
    return assignments


class RollingAssignment:
    """Neuron assignments over the last ``window`` training responses, updated incrementally.

    Equivalent to :func:`assign_neurons` on the last ``window`` rows added,
    at a cost per :meth:`add` proportional to the rows added (not to the
    window), so that a training loop can predict every chunk with the
    assignments known before it.

    Parameters
    ----------
    n_hidden : int
    n_classes : int
    window : int
        Number of most recent samples that count.
    """

    def __init__(self, n_hidden, n_classes=10, window=60000):
        self.n_classes = _check_n_classes(n_classes)
        if window < 1:
            raise ValueError("window must be positive")
        self.window = int(window)
        self.counts = np.zeros((0, int(n_hidden)), dtype=np.uint16)
        self.labels = np.zeros(0, dtype=np.int64)
        self._sums = np.zeros((self.n_classes, int(n_hidden)))
        self._n = np.zeros(self.n_classes)

    def _tally(self, counts, labels, sign):
        np.add.at(self._sums, labels, sign * counts.astype(float))
        self._n += sign * np.bincount(labels, minlength=self.n_classes)

    def add(self, hidden_counts, labels):
        """Add responses (n, n_hidden) of samples with ``labels``; forget the oldest beyond the window."""
        counts = np.asarray(hidden_counts)
        labels = _as_ints(labels, "labels", 0, self.n_classes)
        _check_same_length(counts, "hidden_counts", labels, "labels")
        self._tally(counts, labels, +1)
        self.counts = np.vstack([self.counts, np.minimum(counts, 65535).astype(np.uint16)])
        self.labels = np.concatenate([self.labels, labels])
        excess = len(self.labels) - self.window
        if excess > 0:
            self._tally(self.counts[:excess], self.labels[:excess], -1)
            self.counts = self.counts[excess:]
            self.labels = self.labels[excess:]

    def __len__(self):
        return len(self.labels)

    def assignments(self):
        """Current assignments, as :func:`assign_neurons` would give (-1: never fired)."""
        return _assign_from_sums(self._sums, self._n)


def assignment_predictions(hidden_counts, assignments, n_classes=10):
    """Predict the class of each sample from assigned hidden neurons.

    The score of a class on a sample is the mean spike count of the hidden
    neurons assigned to that class (Diehl & Cook, 2015); the prediction is the
    class with the highest score.  Classes without assigned neurons are
    ignored (score ``-inf``), and so are unassigned neurons (``-1``).

    Parameters
    ----------
    hidden_counts : array_like, shape (n_samples, n_hidden)
        Spike count of every hidden neuron on every sample (non-negative).
    assignments : array_like of int, shape (n_hidden,)
        Class of every hidden neuron in ``[0, n_classes)``, or ``-1`` for an
        unassigned neuron, as returned by :func:`assign_neurons`.
    n_classes : int, optional
        Number of classes (default 10).

    Returns
    -------
    predictions : ndarray of int64, shape (n_samples,)
        Predicted class of every sample, or ``-1`` for samples on which no
        assigned neuron fired.  Ties are broken towards the lowest class index.

    Raises
    ------
    ValueError
        On wrong dimensions, negative counts, assignments out of range, or if
        the number of neurons in *hidden_counts* and *assignments* differ.

    Examples
    --------
    >>> counts = [[4, 0, 2], [0, 2, 2], [0, 0, 5]]
    >>> assignment_predictions(counts, [0, 1, -1], n_classes=2)
    array([ 0,  1, -1])
    """
    n_classes = _check_n_classes(n_classes)
    counts = _as_counts(hidden_counts, "hidden_counts", ndim=2)
    assignments = _as_ints(assignments, "assignments", -1, n_classes)
    if counts.shape[1] != assignments.size:
        raise ValueError(
            f"hidden_counts has {counts.shape[1]} neurons (columns) but "
            f"assignments has {assignments.size} entries"
        )

    assigned = assignments >= 0
    onehot = np.zeros((assignments.size, n_classes))
    onehot[np.flatnonzero(assigned), assignments[assigned]] = 1.0
    n_assigned = onehot.sum(axis=0)                     # (n_classes,)
    sums = counts @ onehot                              # (n_samples, n_classes)
    scores = np.full(sums.shape, -np.inf)
    has = n_assigned > 0
    scores[:, has] = sums[:, has] / n_assigned[has]

    pred = np.full(counts.shape[0], -1, dtype=np.int64)
    active = counts[:, assigned].sum(axis=1) > 0
    if np.any(active):
        pred[active] = np.argmax(scores[active], axis=1)
    return pred


# --------------------------------------------------------------------------
# readout ceilings (diagnostics: what other readouts of the same counts give)
# --------------------------------------------------------------------------

def class_mean_predictions(fit_counts, fit_labels, hidden_counts, n_classes=10):
    """Template readout: each class's mean response, normalised to sum 1, as its weights.

    The score of class ``c`` on a sample is ``sum_j m_cj x_j`` with ``m_c`` the
    mean hidden response to class ``c`` on the fitting samples divided by its
    sum: what a Hebbian label pathway with multiplicative normalisation of each
    label neuron's weights (sym-STDP with a teacher and synaptic scaling)
    converges to, up to its nonlinearity.  A diagnostic beside the label layer.

    Parameters
    ----------
    fit_counts : array_like, shape (n_fit, n_hidden)
    fit_labels : array_like of int, shape (n_fit,)
    hidden_counts : array_like, shape (n_samples, n_hidden)
    n_classes : int, optional

    Returns
    -------
    predictions : ndarray of int64, shape (n_samples,)
        ``-1`` for silent samples and classes never seen in the fit.

    Examples
    --------
    >>> class_mean_predictions([[3, 0], [0, 2]], [0, 1], [[1, 0], [0, 5], [0, 0]], n_classes=2)
    array([ 0,  1, -1])
    """
    n_classes = _check_n_classes(n_classes)
    fit = _as_counts(fit_counts, "fit_counts", ndim=2)
    y = _as_ints(fit_labels, "fit_labels", 0, n_classes)
    _check_same_length(fit, "fit_counts", y, "fit_labels")
    counts = _as_counts(hidden_counts, "hidden_counts", ndim=2)
    if counts.shape[1] != fit.shape[1]:
        raise ValueError(f"hidden_counts has {counts.shape[1]} neurons, fit_counts {fit.shape[1]}")
    templates = np.zeros((n_classes, fit.shape[1]))
    for c in range(n_classes):
        if np.any(y == c):
            m = fit[y == c].mean(axis=0)
            templates[c] = m / m.sum() if m.sum() > 0 else 0.0
    scores = counts @ templates.T
    scores[:, templates.sum(axis=1) == 0] = -np.inf
    pred = np.full(counts.shape[0], -1, dtype=np.int64)
    active = counts.sum(axis=1) > 0
    pred[active] = np.argmax(scores[active], axis=1)
    return pred


def linear_readout_predictions(fit_counts, fit_labels, hidden_counts, C=10.0, max_iter=300):
    """A fitted linear readout of the same counts: multinomial logistic regression.

    Each sample's counts are divided by their sum (silent samples stay 0), then
    scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` is fitted
    on the fitting samples.  Not a model of the network: the upper reference
    a discriminative readout of this hidden layer reaches, beside the label
    layer (a Hebbian template, :func:`class_mean_predictions`).

    Returns
    -------
    predictions : ndarray of int64, shape (n_samples,)
    """
    from sklearn.linear_model import LogisticRegression

    fit = _as_counts(fit_counts, "fit_counts", ndim=2)
    counts = _as_counts(hidden_counts, "hidden_counts", ndim=2)
    y = np.asarray(fit_labels)
    _check_same_length(fit, "fit_counts", y, "fit_labels")

    def norm(a):
        return a / np.maximum(a.sum(axis=1, keepdims=True), 1)

    clf = LogisticRegression(C=float(C), max_iter=int(max_iter)).fit(norm(fit), y)
    return clf.predict(norm(counts)).astype(np.int64)


def _is_block(x):
    """Whether ``x`` is one 2-D block of counts (an array or nested sequence), not a sequence of chunks."""
    if isinstance(x, np.ndarray):
        return True
    if isinstance(x, (list, tuple)):
        try:
            return np.asarray(x).ndim == 2
        except ValueError:       # ragged: chunks of different lengths
            return False
    return False


def replay_normalised_error(weights, hidden_counts, labels, w_total, eta, exponent=4.0, w_max=8.0):
    """The error readout rule of the label pathway, replayed in numpy on saved hidden responses.

    Window by window, as the network does it
    (:func:`bioplastic.symstdp.plasticity.normalised_error_rule`): scale each
    label neuron's weights to sum ``w_total``, then with ``r`` the window's
    hidden counts, ``d = r @ w`` the label neurons' drives and
    ``p = d**n / sum(d**n)``::

        w <- clip(w + eta * outer(r, onehot(label) - p), 0, w_max)

    On one network's own windows it gives that network's weights
    (``tests/test_error_readout.py``); on the training responses saved by a
    run with another label rule (the label pathway feeds nothing back, so
    the hidden responses are the same) it tells what the rule would have
    learned (``analysis/readout_replay.py``).

    Parameters
    ----------
    weights : array_like, shape (n_hidden, n_classes)
        Initial weights (not modified).
    hidden_counts : array_like, shape (n_windows, n_hidden), or iterable of such chunks
        The windows' hidden spike counts, in the order they were shown (an
        iterable of 2-D chunks is read chunk by chunk).
    labels : array_like or iterable of arrays of int, shape (n_windows,)
        The windows' classes (chunked like ``hidden_counts``).
    w_total, eta, exponent, w_max : float

    Returns
    -------
    ndarray, shape (n_hidden, n_classes)
        The weights after the last window (before the next window's scaling).
    """
    w = np.array(weights, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (n_hidden, n_classes), got shape {w.shape}")
    for name, v in (("w_total", w_total), ("eta", eta), ("exponent", exponent), ("w_max", w_max)):
        if not float(v) > 0:
            raise ValueError(f"{name} must be positive, got {v!r}")
    chunks = zip([hidden_counts], [labels]) if _is_block(hidden_counts) else zip(hidden_counts, labels)
    n_classes = w.shape[1]
    for counts, ys in chunks:
        counts = _as_counts(counts, "hidden_counts", ndim=2).astype(float)
        ys = _as_ints(ys, "labels", 0, n_classes)
        _check_same_length(counts, "hidden_counts", ys, "labels")
        if counts.shape[1] != w.shape[0]:
            raise ValueError(f"hidden_counts has {counts.shape[1]} neurons, weights {w.shape[0]}")
        for r, c in zip(counts, ys):
            w *= float(w_total) / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
            d = (r @ w) ** float(exponent)
            err = -d / (d.sum() + 1e-30)
            err[c] += 1.0
            w += float(eta) * np.outer(r, err)
            np.clip(w, 0.0, float(w_max), out=w)
    return w


# --------------------------------------------------------------------------
# scores
# --------------------------------------------------------------------------

def accuracy(predictions, labels):
    """Fraction of samples predicted correctly.

    Parameters
    ----------
    predictions : array_like of int, shape (n_samples,)
        Predicted classes; ``-1`` (no spikes) is allowed and counts as wrong.
    labels : array_like of int, shape (n_samples,)
        True classes (non-negative).

    Returns
    -------
    float
        Fraction in ``[0, 1]``.

    Raises
    ------
    ValueError
        If the arrays are not 1-d, have different shapes, are empty, or hold
        non-integer values, predictions below -1 or negative labels.

    Examples
    --------
    >>> accuracy([0, 1, -1, 2], [0, 1, 1, 1])
    0.5
    """
    pred = np.asarray(predictions)
    true = np.asarray(labels)
    if pred.shape != true.shape:
        raise ValueError(
            f"predictions and labels have different shapes: "
            f"{pred.shape} != {true.shape}"
        )
    pred = _as_ints(pred, "predictions", -1, np.iinfo(np.int64).max)
    true = _as_ints(true, "labels", 0, np.iinfo(np.int64).max)
    if pred.size == 0:
        raise ValueError("accuracy of an empty set of predictions is undefined")
    return float(np.mean(pred == true))


def confusion_matrix(labels, predictions, n_classes=10):
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    labels : array_like of int, shape (n_samples,)
        True classes, in ``[0, n_classes)``.
    predictions : array_like of int, shape (n_samples,)
        Predicted classes, in ``[0, n_classes)`` or ``-1`` (no spikes).
    n_classes : int, optional
        Number of classes (default 10).

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``C[i, j]`` is the number of samples of true class ``i`` predicted as
        class ``j``.  Samples predicted ``-1`` are **not counted**, so a row
        sums to the number of samples of that class that received a
        prediction; the silent ones are ``(labels == i).sum() - C[i].sum()``.

    Raises
    ------
    ValueError
        On wrong dimensions, mismatched lengths, or values out of range.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, -1], n_classes=2)
    array([[1, 1],
           [0, 1]])
    """
    n_classes = _check_n_classes(n_classes)
    true = _as_ints(labels, "labels", 0, n_classes)
    pred = _as_ints(predictions, "predictions", -1, n_classes)
    _check_same_length(true, "labels", pred, "predictions")
    keep = pred >= 0
    flat = true[keep] * n_classes + pred[keep]
    counts = np.bincount(flat, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)
