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
