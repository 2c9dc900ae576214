"""SurrogateClassifier: fit on images or spike trains, scikit-learn behaviour, runs as models."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.gradient

from bioplastic.gradient.surrogate.estimator import SurrogateClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_fit_on_images_learns_and_behaves_like_a_classifier(images, one_torch_thread, tmp_path):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    x, y = images
    clf = SurrogateClassifier(n_hidden=40, epochs=3, batch_size=50).fit(x[:500], y[:500])
    assert clf.score(x[500:], y[500:]) > 0.3                    # the defaults learn (0.48 here): chance is 0.1
    proba = clf.predict_proba(x[500:510])
    assert proba.shape == (10, 10) and np.allclose(proba.sum(1), 1)
    assert clf.transform(x[500:510]).shape == (10, 40)
    assert len(clf.history_) == 3
    again = clone(clf).fit(x[:500], y[:500])                    # seeded: the same network
    assert all(np.array_equal(again.weights_[k], clf.weights_[k]) for k in clf.weights_)
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict(x[500:]), clf.predict(x[500:]))
    import bioplastic

    loaded = bioplastic.load(clf.save(tmp_path / "run"))           # the run format, and back
    assert loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.decision_function(x[500:]), clf.decision_function(x[500:]))
    scores = cross_val_score(SurrogateClassifier(n_hidden=20, epochs=1, init_gain=3.0), x[:200], y[:200], cv=2)
    assert scores.shape == (2,)


def test_fit_on_spike_trains(one_torch_thread):
    from bioplastic.data.encoding import make_randman

    from bioplastic.gradient import lif

    data = make_randman(n_classes=3, n_units=10, n_samples=60, nb_steps=50, split=(60, 0, 0), seed=0).train
    x = lif.spikes_from_times(data.times, data.nb_steps).numpy()
    clf = SurrogateClassifier(n_hidden=20, epochs=5, batch_size=30, input="spikes", init_gain=3.0)
    clf.fit(x, data.labels)
    assert clf.n_features_in_ == 10 and set(clf.predict(x)) <= {0, 1, 2}
    with pytest.raises(ValueError, match="spike trains of shape"):
        clf.predict(x[:, :20])
    with pytest.raises(ValueError, match="only zeros and ones"):
        SurrogateClassifier(input="spikes").fit(x * 2, data.labels)


@pytest.mark.parametrize("params, X, message", [
    ({}, lambda x: x.astype(float) * 2, r"pixel values must lie in \[0, 255\]"),
    ({}, lambda x: np.where(np.arange(784) == 1, np.nan, x.reshape(len(x), -1)), "NaN"),
    ({"epochs": 0}, lambda x: x, "epochs must be a positive integer"),
    ({"theta": 1.5}, lambda x: x, r"theta must lie in \(0, 1\)"),
    ({"input": "audio"}, lambda x: x, "input must be one of"),
])
def test_bad_input(images, params, X, message):
    x, y = images
    with pytest.raises(ValueError, match=message):
        SurrogateClassifier(**params).fit(X(x[:20].copy()), y[:20])
    with pytest.raises(ValueError, match="at least two classes"):
        SurrogateClassifier(epochs=1).fit(x[:5], np.zeros(5))


def test_a_protocol_run_loads_as_a_model(tmp_path, one_torch_thread):
    import bioplastic
    from bioplastic.data.encoding import make_randman
    from bioplastic.runs import load_run

    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "protocols" / "surrogate_randman.py"), "--epochs", "2", "--n-samples", "60",
           "--n-hidden", "20", "--init-gain", "3", "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    model = bioplastic.load(out)
    assert isinstance(model, SurrogateClassifier) and model.input == "spikes" and model.n_hidden == 20
    raster = load_run(out).arrays("raster")
    # the run's own test trials: the loaded model fires exactly the recorded hidden spikes
    from bioplastic.gradient import lif

    times = raster["input_times_steps"]
    x = lif.spikes_from_times(times, model.n_steps_).numpy()
    counts = model.transform(x)
    recorded = np.zeros_like(counts)
    np.add.at(recorded, (raster["trial"], raster["neuron"]), 1)
    assert np.array_equal(counts, recorded)
    assert make_randman is not None
