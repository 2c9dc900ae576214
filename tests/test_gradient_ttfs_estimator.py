"""TTFSClassifier: fit on images, scikit-learn behaviour, bad input (runs load in test_gradient_ttfs_protocol)."""

import pickle

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.gradient

from bioplastic.gradient.ttfs.estimator import TTFSClassifier  # noqa: E402


def test_fit_learns_and_behaves_like_a_classifier(images, one_torch_thread, tmp_path):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    x, y = images
    clf = TTFSClassifier(hidden=(30,), epochs=3).fit(x[:500].reshape(-1, 28, 28), y[:500])
    assert clf.score(x[500:], y[500:]) > 0.5                    # chance is 0.1
    proba = clf.predict_proba(x[500:510])
    assert proba.shape == (10, 10) and np.allclose(proba.sum(1), 1)
    assert np.array_equal(clf.classes_[proba.argmax(1)], clf.predict(x[500:510]))
    features = clf.transform(x[500:510])
    assert features.shape == (10, 30) and np.all(features <= clf.t_max_)
    times = clf.spike_times(x[500:510])
    assert [t.shape for t in times] == [(10, 30), (10, 10)]
    assert len(clf.history_) == 3
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict(x[500:]), clf.predict(x[500:]))
    import bioplastic

    loaded = bioplastic.load(clf.save(tmp_path / "run"))           # the run format, and back
    assert loaded.get_params() == {**clf.get_params(), "t_max": clf.t_max_}
    assert np.array_equal(loaded.decision_function(x[500:]), clf.decision_function(x[500:]))
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(TTFSClassifier(hidden=(), epochs=3, batch_size=16), x[:200], y[:200], cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.2)
    labels = np.array(list("abcdefghij"))[y[:200]]              # any labels, not only 0..9
    assert set(TTFSClassifier(hidden=(), epochs=1).fit(x[:200], labels).predict(x[:5])) <= set(labels)


@pytest.mark.parametrize("params, X, message", [
    ({}, lambda x: x.astype(float) * 2, r"pixel values must lie in \[0, 255\]"),
    ({}, lambda x: x.astype(float) - 1, "Negative values in data"),
    ({}, lambda x: np.where(np.arange(784) == 1, np.nan, x.reshape(len(x), -1)), "NaN"),
    ({"hidden": (0,)}, lambda x: x, "hidden must be a tuple of positive layer sizes"),
    ({"hidden": 30}, lambda x: x, "hidden must be a tuple"),
    ({"gamma": 0.1}, lambda x: x, "gamma > 0 needs regularizer"),
    ({"regularizer": "l2"}, lambda x: x, "regularizer must be one of"),
    ({"t_max": 0.5}, lambda x: x, "longer than the input window"),
    ({"epochs": 1.5}, lambda x: x, "epochs must be a positive integer"),
])
def test_bad_input(images, params, X, message):
    x, y = images
    with pytest.raises(ValueError, match=message):
        TTFSClassifier(**params).fit(X(x[:20].copy()), y[:20])


def test_one_class_unfitted_and_wrong_size(images):
    from sklearn.exceptions import NotFittedError

    x, y = images
    with pytest.raises(ValueError, match="at least two classes"):
        TTFSClassifier(epochs=1).fit(x[:5], np.zeros(5))
    with pytest.raises(NotFittedError):
        TTFSClassifier().predict(x[:2])
    clf = TTFSClassifier(hidden=(), epochs=1).fit(x[:50], y[:50])
    with pytest.raises(ValueError, match="784 features"):
        clf.predict(x[:5, :20, :20].reshape(5, -1))
