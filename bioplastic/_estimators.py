"""What the scikit-learn estimators of every family share: hyper-parameter and image checks.

:class:`~bioplastic.symstdp.estimator.SymSTDPClassifier`,
:class:`~bioplastic.gradient.surrogate.estimator.SurrogateClassifier` and
:class:`~bioplastic.gradient.ttfs.estimator.TTFSClassifier` take images the
same way and refuse bad hyper-parameters with the same messages.  No Brian2,
no torch.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["PIXEL_MAX", "check_positive_ints", "check_positive_floats", "check_seed", "check_choice",
           "validate_images"]

#: Largest pixel value (8-bit images).
PIXEL_MAX = 255.0


def check_positive_ints(est, names):
    """ValueError unless every hyper-parameter in *names* is an integer >= 1 (not a bool)."""
    for name in names:
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_positive_floats(est, names):
    """ValueError unless every hyper-parameter in *names* is a finite number > 0."""
    for name in names:
        value = getattr(est, name)
        if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                           and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_seed(est, name="seed"):
    """ValueError unless the hyper-parameter *name* is an integer >= 0."""
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_choice(est, name, choices):
    """ValueError unless the hyper-parameter *name* is one of *choices*."""
    value = getattr(est, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def validate_images(est, X, reset, y=None, what="the input rate of each pixel"):
    """Images as float64 ``(n, n_pixels)`` (``(n, h, w)`` is flattened), checked; and *y* if given.

    scikit-learn's ``validate_data`` (shape, NaN, ``n_features_in_``, the
    length of *y*) and a range check: pixel values in ``[0, 255]``
    (``"Negative values in data"`` for negatives, as scikit-learn's
    positive-only estimators say).  *what* says what a pixel value means to
    the estimator, in the message.
    """
    X_arr = X
    if getattr(X, "ndim", 0) == 3:
        X_arr = np.asarray(X).reshape(len(X), -1)
    if y is None:
        X_arr = validate_data(est, X_arr, reset=reset, dtype=np.float64)
    else:
        X_arr, y = validate_data(est, X_arr, y, reset=reset, dtype=np.float64)
    if X_arr.size and (X_arr.min() < 0 or X_arr.max() > PIXEL_MAX):
        negative = "Negative values in data: " if X_arr.min() < 0 else ""
        raise ValueError(f"{negative}pixel values must lie in [0, 255] ({what}); "
                         f"got values in [{X_arr.min():g}, {X_arr.max():g}]")
    return X_arr if y is None else (X_arr, y)


def new_run_directory(run_dir):
    """*run_dir* as a writable, empty run directory (:class:`bioplastic.runs.RunError` if it holds a run)."""
    from pathlib import Path

    from bioplastic import runs

    out = runs.check_writable(Path(run_dir))
    if (out / "run.json").exists():
        raise runs.RunError(f"{out} already holds a run; choose another directory")
    return out


def write_gradient_run(est, run_dir, family, fields, weights, metrics=None):
    """Write a fitted gradient-family estimator as the run directory its protocols write.

    ``weights.npz`` (*weights*: name -> array), ``metrics.json`` and, last,
    ``run.json`` (family *family*, protocol the estimator's class name,
    ``config`` its hyper-parameters, ``classes``, and *fields*); all atomic.
    """
    import json

    from bioplastic import runs
    from bioplastic.gradient import rundir

    out = new_run_directory(run_dir)
    config = json.loads(json.dumps(est.get_params(), default=str))
    record = runs.new_record(family, type(est).__name__, rundir.command_of(), int(est.seed), config,
                             classes=est.classes_.tolist(), **json.loads(json.dumps(fields, default=str)))
    runs.save_npz(out / "weights.npz", **weights)
    rundir.write_metrics(out, metrics or {})
    runs.write_json(out / "run.json", record)
    return out


def check_two_classes(classes):
    """ValueError unless *classes* holds at least two classes (scikit-learn's wording: "one class")."""
    if len(classes) < 2:
        raise ValueError(f"the network needs samples of at least two classes; got one class: "
                         f"{list(np.asarray(classes).tolist())}")


def decision_of(logits):
    """scikit-learn's ``decision_function`` of per-class *logits*: ``(n,)`` for two classes, else as is."""
    return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits


def softmax(logits):
    """Row-wise softmax of *logits* ``(n, n_classes)``."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)
