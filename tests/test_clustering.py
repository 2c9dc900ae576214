"""Tests of bioplastic.analysis.clustering on synthetic points with known structure."""

import numpy as np
import pandas as pd
import pytest

from bioplastic.analysis import clustering
from bioplastic.analysis.clustering import (
    cluster_metrics,
    clustering_increases,
    kmeans_ari,
    knn_accuracy,
    layer_cluster_table,
    silhouette,
    stratified_subsample,
    tsne_embedding,
)


def blobs(n_per_class=20, n_classes=10, n_features=12, spread=0.3, separation=10.0, seed=0):
    """Well-separated Gaussian clusters, one per class, on orthogonal axes."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    centres = separation * np.eye(n_classes, n_features)
    X = centres[labels] + rng.normal(0.0, spread, (labels.size, n_features))
    return X, labels


@pytest.fixture(scope="module")
def separated():
    return blobs()


@pytest.fixture(scope="module")
def shuffled(separated):
    X, labels = separated
    return X, np.random.default_rng(1).permutation(labels)


def test_brian2_not_imported():
    import subprocess
    import sys

    code = "import sys, bioplastic.analysis.clustering; assert 'brian2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# metrics: separated clusters beat shuffled labels
# --------------------------------------------------------------------------

def test_silhouette_separated_beats_shuffled(separated, shuffled):
    good = silhouette(*separated)
    bad = silhouette(*shuffled)
    assert good > 0.8
    assert bad < 0.1
    assert good > bad


def test_knn_separated_beats_shuffled(separated, shuffled):
    good = knn_accuracy(*separated)
    bad = knn_accuracy(*shuffled)
    assert good == 1.0  # perfectly separable: exactly 1.0
    assert bad < 0.4
    assert isinstance(good, float)


def test_kmeans_ari_separated_beats_shuffled(separated, shuffled):
    good = kmeans_ari(*separated)
    bad = kmeans_ari(*shuffled)
    assert good == pytest.approx(1.0)
    assert abs(bad) < 0.1


def test_knn_perfectly_separable_two_classes_exactly_one():
    X = np.r_[np.zeros((10, 2)), np.full((10, 2), 100.0)] + np.random.default_rng(0).random((20, 2))
    y = np.repeat([3, 7], 10)
    assert knn_accuracy(X, y, k=5, folds=5) == 1.0


def test_knn_handles_tiny_classes():
    # two points per class, fewer than k: nearest neighbour should still win
    X, y = blobs(n_per_class=2, n_classes=10, n_features=10)
    assert knn_accuracy(X, y, k=5, folds=5) == 1.0


def test_knn_deterministic(shuffled):
    assert knn_accuracy(*shuffled, seed=3) == knn_accuracy(*shuffled, seed=3)


def test_cluster_metrics_keys_and_embedding(separated):
    X, y = separated
    emb = np.c_[y * 10.0, np.zeros_like(y, dtype=float)] + np.random.default_rng(0).random((y.size, 2))
    m = cluster_metrics(X, y, embedding=emb)
    assert set(m) >= {"silhouette", "knn_accuracy", "knn_accuracy_embedding", "kmeans_ari",
                      "n_samples", "n_features"}
    assert m["n_samples"] == X.shape[0] and m["n_features"] == X.shape[1]
    assert m["knn_accuracy_embedding"] == 1.0
    assert "knn_accuracy_embedding" not in cluster_metrics(X, y)


# --------------------------------------------------------------------------
# t-SNE
# --------------------------------------------------------------------------

def test_tsne_shape_determinism_and_separation():
    X, y = blobs(n_per_class=8, n_classes=4, n_features=6)
    e1 = tsne_embedding(X, seed=0)
    e2 = tsne_embedding(X, seed=0)
    assert e1.shape == (X.shape[0], 2)
    np.testing.assert_allclose(e1, e2)
    assert knn_accuracy(e1, y) == 1.0


def test_tsne_tiny_input_clips_perplexity():
    X = np.random.default_rng(0).random((6, 3))
    assert tsne_embedding(X, perplexity=30.0).shape == (6, 2)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("func", [silhouette, knn_accuracy, kmeans_ari, cluster_metrics])
def test_single_class_raises(func):
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match="at least 2 distinct classes"):
        func(X, np.zeros(10, dtype=int))


@pytest.mark.parametrize("func", [silhouette, knn_accuracy, kmeans_ari, cluster_metrics])
def test_mismatched_lengths_raise(func):
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match="lengths must match"):
        func(X, np.arange(9) % 2)


@pytest.mark.parametrize("func", [silhouette, knn_accuracy, kmeans_ari, cluster_metrics])
def test_nan_raises(func):
    X = np.random.default_rng(0).random((10, 3))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        func(X, np.arange(10) % 2)


def test_nan_in_tsne_and_bad_shapes_raise():
    X = np.random.default_rng(0).random((10, 3))
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        tsne_embedding(X)
    with pytest.raises(ValueError, match="2-D"):
        silhouette(np.arange(10.0), np.arange(10) % 2)
    with pytest.raises(ValueError, match="at least 3 points"):
        tsne_embedding(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="embedding must have shape"):
        cluster_metrics(np.random.default_rng(0).random((10, 3)), np.arange(10) % 2,
                        embedding=np.zeros((10, 3)))


def test_silhouette_every_point_its_own_class_raises():
    with pytest.raises(ValueError, match="n_samples - 1"):
        silhouette(np.random.default_rng(0).random((5, 2)), np.arange(5))


# --------------------------------------------------------------------------
# layer table, subsampling, monotonicity
# --------------------------------------------------------------------------

def test_layer_cluster_table_progress_and_order(separated, shuffled):
    X, y = separated
    Xs, ys = shuffled
    small = slice(0, None, 4)  # 50 points keep t-SNE quick
    messages = []
    table, emb = layer_cluster_table(
        {"noisy": (Xs[small], ys[small]), "clean": (X[small], y[small])},
        seed=0, progress=messages.append,
    )
    assert list(table["layer"]) == ["noisy", "clean"]
    assert set(emb) == {"noisy", "clean"} and emb["clean"].shape == (50, 2)
    assert table.set_index("layer").loc["clean", "silhouette"] > table.set_index("layer").loc["noisy", "silhouette"]
    text = "\n".join(messages)
    assert "'clean'" in text and "50 points" in text and " s" in text


def test_layer_cluster_table_without_tsne_and_error_names_layer(separated):
    X, y = separated
    table, emb = layer_cluster_table({"a": (X, y)}, tsne=False, progress=None)
    assert emb == {} and "knn_accuracy_embedding" not in table.columns
    with pytest.raises(ValueError, match="layer 'broken'"):
        layer_cluster_table({"broken": (X, np.zeros(len(y)))}, tsne=False, progress=None)


def test_stratified_subsample_keeps_every_class():
    labels = np.r_[np.zeros(900, int), np.ones(90, int), np.full(10, 2)]
    idx = stratified_subsample(labels, 100, seed=0)
    assert idx.size == 100 and np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=3)
    assert counts[0] == 90 and counts[1] == 9 and counts[2] == 1
    np.testing.assert_array_equal(stratified_subsample(labels, 0), np.arange(1000))
    np.testing.assert_array_equal(stratified_subsample(labels, 5000), np.arange(1000))


def test_clustering_increases():
    t = pd.DataFrame({"layer": ["input", "hidden", "label"],
                      "silhouette": [0.1, 0.2, 0.3], "knn_accuracy": [0.8, 0.9, 0.95]})
    ok, statement = clustering_increases(t)
    assert ok is True and "increases" in statement and "0.200" in statement
    t.loc[2, "knn_accuracy"] = 0.85
    ok, statement = clustering_increases(t)
    assert ok is False and "does not increase" in statement
    with pytest.raises(ValueError, match="missing"):
        clustering_increases(t, order=("input", "other"))


def test_module_exports():
    for name in clustering.__all__:
        assert callable(getattr(clustering, name))
