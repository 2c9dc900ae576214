"""SymSTDPClassifier: scikit-learn behaviour, bad input, several networks in one process, runs as models."""

import pickle

import numpy as np
import pytest
from brian2 import Hz, ms

from conftest import data_dir, requires_data

import bioplastic
from bioplastic.symstdp.estimator import SymSTDPClassifier

pytestmark = pytest.mark.standalone

# short windows keep the tests fast; everything else is the paper's MNIST variant
FAST = {"input.t_present": 100 * ms, "input.t_rest": 50 * ms}


@pytest.fixture(autouse=True)
def restore_device():
    """Overrides conftest's per-test device reset: the estimators of this module share their builds
    (a reset deletes the compiled project); the module resets the device once, at its end."""
    yield


@pytest.fixture(scope="module", autouse=True)
def reset_device_after_module():
    yield
    from brian2 import set_device
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    set_device("runtime")


@pytest.fixture(scope="module")
def mnist():
    if data_dir() is None:
        pytest.skip("MNIST data not found")
    from bioplastic.data.datasets import load_dataset

    x, y = load_dataset("mnist", "train", data_dir=data_dir())
    xt, yt = load_dataset("mnist", "test", data_dir=data_dir())
    return x[:400], y[:400], xt[:100], yt[:100]


@pytest.fixture(scope="module")
def fitted(mnist):
    """The README example's network (the same build, so tests/test_readme.py reuses the compiled code)."""
    x, y, _, _ = mnist
    return SymSTDPClassifier(n_hidden=50).fit(x, y)


def test_fit_predict_transform(mnist, fitted):
    _, _, xt, yt = mnist
    pred = fitted.predict(xt)
    assert pred.shape == (100,) and set(pred) <= set(range(10))
    proba = fitted.predict_proba(xt)
    assert proba.shape == (100, 10) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(pred, fitted.classes_[proba.argmax(axis=1)])
    assert fitted.score(xt, yt) > 0.2                      # 400 samples of 50 neurons: well above chance
    features = fitted.transform(xt)
    assert features.shape == (100, 50) and features.sum() > 0
    # the same images give the same spikes (the protocols' test-phase input seeds)
    assert np.array_equal(fitted.transform(xt), features)
    # (n, 28, 28) images are the same as flattened ones
    assert np.array_equal(fitted.transform(xt.reshape(-1, 28, 28)), features)
    assert fitted.n_samples_seen_ == 400 and fitted.assignments_.shape == (50,)


def test_a_fitted_network_saved_as_a_run_loads_back(mnist, fitted, tmp_path):
    from bioplastic.runs import RunError, load_run

    _, _, xt, _ = mnist
    fitted.save(tmp_path / "run")
    run = load_run(tmp_path / "run", require=("weights.npz",))
    assert run.family == "symstdp" and run.protocol == "SymSTDPClassifier" and run.n_hidden == 50
    assert run.weights["w_input_hidden"].shape == (784, 50)
    loaded = bioplastic.load(tmp_path / "run")
    assert loaded.get_params() == fitted.get_params()
    assert np.array_equal(loaded.transform(xt[:20]), fitted.transform(xt[:20]))
    assert np.array_equal(loaded.predict(xt[:20]), fitted.predict(xt[:20]))
    with pytest.raises(RunError, match="already holds a run"):
        fitted.save(tmp_path / "run")


def test_several_networks_live_in_one_process(mnist, fitted):
    x, y, xt, _ = mnist
    before = fitted.transform(xt[:20])
    other = SymSTDPClassifier(n_hidden=20, chunk_size=50, overrides=FAST).fit(x[:100], y[:100])
    assert other.transform(xt[:20]).shape == (20, 20)
    assert np.array_equal(fitted.transform(xt[:20]), before)     # rebuilt, same network, same spikes
    assert other.transform(xt[:20]).shape == (20, 20)


def test_seed_and_partial_fit(mnist, fitted):
    from sklearn.base import clone

    x, y, xt, _ = mnist
    same = clone(fitted).fit(x, y)
    assert all(np.array_equal(same.state_[k], fitted.state_[k]) for k in fitted.state_)
    other_seed = clone(fitted).set_params(seed=1).fit(x, y)
    assert not np.array_equal(other_seed.state_["input_hidden.w"], fitted.state_["input_hidden.w"])
    # partial_fit in two halves continues the same seed sequence as fit over all samples
    halves = clone(fitted).partial_fit(x[:200], y[:200], classes=np.arange(10)).partial_fit(x[200:], y[200:])
    assert halves.n_samples_seen_ == 400
    assert halves.predict(xt).shape == (100,)


def test_pickle_and_pipeline(mnist, fitted):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x, y, xt, yt = mnist
    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.predict(xt), fitted.predict(xt))
    pipe = make_pipeline(SymSTDPClassifier(n_hidden=50),
                         LogisticRegression(max_iter=500))
    pipe.fit(x, y)
    assert 0.0 <= pipe.score(xt, yt) <= 1.0


def test_cross_validation(mnist):
    from sklearn.model_selection import cross_val_score

    x, y, _, _ = mnist
    scores = cross_val_score(SymSTDPClassifier(n_hidden=20, chunk_size=50, overrides=FAST),
                             x[:150], y[:150], cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("make, message", [
    (lambda x, y: (x[:, :10, :10], y), None),                       # other sizes are allowed (n_input)
    (lambda x, y: (np.where(np.arange(784) == 3, np.nan, x.reshape(len(x), -1)), y), "NaN"),
    (lambda x, y: (x.astype(float) * 2, y), "pixel values must lie in [0, 255]"),
    (lambda x, y: (x.astype(float) - 1, y), "pixel values must lie in [0, 255]"),
    (lambda x, y: (x, np.zeros_like(y)), "at least two classes"),
    (lambda x, y: (x.reshape(len(x), 2, 14, 28), y), "Found array with dim 4"),
    (lambda x, y: (x, y[:-1]), "inconsistent numbers of samples"),
    (lambda x, y: (x, None), "requires y to be passed, but the target y is None"),
])
def test_bad_input_is_a_clear_value_error(mnist, make, message):
    x, y, _, _ = mnist
    X, Y = make(x[:20].copy(), y[:20].copy())
    # runtime mode: no compilation for a network of another input size
    clf = SymSTDPClassifier(n_hidden=5, chunk_size=20, overrides=FAST, device="runtime")
    if message is None:
        clf.fit(X[:4], Y[:4])
        assert clf.n_features_in_ == 100
        return
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        clf.fit(X, Y)


def test_few_features_keep_the_scaling_target_per_pixel():
    """Three 'pixels': the input scaling target follows (78.4 * 3 / 784); the weights stay
    finite (with the 784-pixel target they grew to 1e291, found by check_estimator)."""
    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(12, 3)) * 255, np.arange(12) % 3
    # no re-presentations: three pixels seldom drive 5 hidden spikes (runtime mode stays quick)
    clf = SymSTDPClassifier(n_hidden=5, chunk_size=12, overrides={**FAST, "input.min_spikes": 0},
                            device="runtime").fit(X, y)
    assert clf._params().stdp_input.w_total == pytest.approx(78.4 * 3 / 784)
    assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in clf.state_.values())
    w = clf.state_["input_hidden.w"]
    assert w.max() <= 1.0 and w.reshape(3, 5).sum(axis=0) == pytest.approx(78.4 * 3 / 784, rel=0.05)


def test_an_unfitted_network_says_so():
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "predict_proba", "transform", "score"):
        args = (np.zeros((2, 784)),) + ((np.zeros(2),) if method == "score" else ())
        with pytest.raises(NotFittedError):
            getattr(SymSTDPClassifier(), method)(*args)


def test_unseen_labels_and_features_after_fit(mnist, fitted):
    x, y, xt, _ = mnist
    with pytest.raises(ValueError, match=r"labels \[11\] are not among the classes"):
        pickle.loads(pickle.dumps(fitted)).partial_fit(x[:5], np.array([11, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match="784 features"):
        fitted.predict(xt[:, :20, :20].reshape(len(xt), -1))


@pytest.mark.parametrize("params, message", [
    ({"n_hidden": 0}, "n_hidden must be a positive integer"),
    ({"epochs": 1.5}, "epochs must be a positive integer"),
    ({"variant": "cifar"}, "variant must be one of"),
    ({"readout": "vote"}, "readout must be one of"),
    ({"overrides": {"label.teacher_rate": 3 * ms}}, "teacher_rate"),
])
def test_bad_hyperparameters(mnist, params, message):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match=message):
        SymSTDPClassifier(**params).fit(x[:10], y[:10])


def test_overrides_are_quantities():
    from bioplastic.symstdp.params import model_params, with_overrides

    p = with_overrides(model_params("mnist", 100), {"label.teacher_rate": 100 * Hz, "stdp_input.nu": 0.02})
    assert p.label.teacher_rate == 100 * Hz and p.stdp_input.nu == 0.02
    assert with_overrides(model_params("mnist", 100), {"label.teacher_rate": "100*Hz"}).label == p.label


@requires_data
def test_a_protocol_run_loads_as_a_model_that_reproduces_its_test(tiny_run):
    from bioplastic.data.datasets import load_dataset
    from bioplastic.runs import load_run

    model = bioplastic.load(tiny_run)
    assert isinstance(model, SymSTDPClassifier) and model.n_hidden == 40 and model.seed == 3
    run = load_run(tiny_run)
    xt, _ = load_dataset("mnist", "test", data_dir=data_dir())
    n = len(run.test_samples)
    hidden = model.transform(xt[:n])
    assert np.array_equal(hidden, run.test_counts["hidden_counts"])     # the run's test spikes, exactly
    _, label = model._respond(xt[:n])
    assert np.array_equal(label, run.test_counts["label_counts"])


@requires_data
def test_a_run_older_than_a_parameter_loads_a_changed_one_does_not(tiny_run, tmp_path):
    import shutil

    from bioplastic.runs import RunError, read_json, write_json

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    record = read_json(run / "run.json")
    del record["params"]["input"]["t_rest_jump"]        # made before the parameter existed
    write_json(run / "run.json", record)
    assert bioplastic.load(run).n_hidden == 40
    record["params"]["excitatory"]["tau_m"] = "1. s"      # made with other defaults
    write_json(run / "run.json", record)
    with pytest.raises(RunError, match=r"does not build .*excitatory.tau_m \(recorded '1. s'"):
        bioplastic.load(run)


def test_load_says_what_is_missing(tmp_path):
    from bioplastic.runs import RunError, new_record, write_json

    write_json(tmp_path / "run.json", new_record("ttfs", "ttfs_mnist", ["x"], 0, {"seed": 0}))
    write_json(tmp_path / "metrics.json", {"test_accuracy": 0.5})
    with pytest.raises(RunError, match="has no trained network.*unfinished run"):
        bioplastic.load(tmp_path)
    write_json(tmp_path / "run.json", new_record("adaptive", "adaptive_scaling_continual", ["x"], 0,
                                                 {"seed": 0}))
    with pytest.raises(RunError, match="keeps no trained networks"):
        bioplastic.load(tmp_path)


def test_spikes_of_a_few_samples_as_data_and_as_neo(mnist, fitted):
    neo = pytest.importorskip("neo")
    import elephant.statistics as es
    import quantities as pq

    x, _, xt, yt = mnist
    rec = fitted.spikes(xt[:3])
    assert len(rec) == 3 and rec.sizes == {"input": 784, "hidden": 50, "inhibitory": 50, "label": 10}
    for s in range(3):
        i, t = rec.trains["hidden"][s]
        assert len(i) == len(t) and ((t >= 0) & (t < rec.t_window_ms)).all()
        # a sample is accepted once it drives at least 5 hidden spikes (else it is shown again)
        assert len(i) >= 5 or rec.n_presentations[s] > 1
        assert (rec.trains["input"][s][1] < rec.t_present_ms).all()      # no input during the rest
    neuron = int(rec.trains["hidden"][0][0][0])
    assert rec.times("hidden", 0, neuron).dimensions == ms.dimensions
    block = rec.to_neo()
    assert isinstance(block, neo.Block) and len(block.segments) == 3
    trains = block.segments[0].spiketrains
    assert len(trains) == 50 + 10 and trains[0].annotations["layer"] == "hidden"
    assert sum(len(st) for st in trains[:50]) == len(rec.trains["hidden"][0][0])
    rate = es.mean_firing_rate(trains[neuron])
    assert rate.rescale(pq.Hz) >= 0
    # the analysis module's table of the same block (Elephant's rates and CVs)
    from bioplastic.analysis.spike_trains import spike_train_statistics

    table = spike_train_statistics(block)
    assert len(table) == 3 * 60 and set(table.layer) == {"hidden", "label"}
    hidden = table[(table.layer == "hidden") & (table["sample"] == 0)]
    assert hidden.spikes.sum() == len(rec.trains["hidden"][0][0])
    row = hidden[hidden.neuron == neuron].iloc[0]
    assert row.rate_Hz == pytest.approx(row.spikes / (rec.t_window_ms / 1000))
    assert table.cv_isi[table.spikes < 3].isna().all() and (table.cv_isi[table.spikes >= 3] >= 0).all()
    with pytest.raises(ValueError, match="records 1 to max_samples=20 samples"):
        fitted.spikes(xt[:21])
    # the compiled network is built again afterwards
    assert fitted.predict(xt[:5]).shape == (5,)


@pytest.mark.slow
def test_grid_search_in_two_processes(mnist):
    from sklearn.model_selection import GridSearchCV

    x, y, _, _ = mnist
    search = GridSearchCV(SymSTDPClassifier(n_hidden=10, chunk_size=50, overrides=FAST),
                          {"seed": [0, 1]}, cv=2, n_jobs=2)
    search.fit(x[:100], y[:100])
    assert set(search.cv_results_["param_seed"]) == {0, 1}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(x[100:110]).shape == (10,)
