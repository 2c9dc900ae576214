"""Clustering of layer activities and weights: t-SNE embeddings and the numbers behind them.

Hao et al. (2020) explain the accuracy of the sym-STDP network with t-SNE
embeddings of the input, hidden and label layer activities (and of the hidden
neurons' weights) that show well-separated class clusters.  A picture is not a
measurement, so this module puts numbers on "well separated":

* :func:`silhouette` -- mean silhouette coefficient of the class labels in the
  original feature space (Euclidean), in [-1, 1];
* :func:`knn_accuracy` -- stratified, cross-validated k-nearest-neighbour
  accuracy (how often a held-out point's neighbours share its class);
* :func:`kmeans_ari` -- adjusted Rand index between an unsupervised k-means
  partition and the class labels (0 = chance, 1 = identical partitions);
* :func:`cluster_metrics` bundles them (plus the kNN accuracy in a 2-D
  embedding, if one is given) and :func:`layer_cluster_table` runs everything
  for several layers at once, with progress output.

All functions take plain arrays: ``X`` of shape ``(n_samples, n_features)``
(one row per test sample, or per hidden neuron for weight vectors) and
``labels`` of shape ``(n_samples,)`` (true class, or assigned class).  Nothing
here touches files or Brian2.

Features are used as they are, **not standardised**: within a layer all
features share one unit (pixel intensity, spike count, or conductance), and
per-feature standardisation would blow up rarely active pixels and nearly
silent neurons into features as important as the informative ones.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "tsne_embedding",
    "silhouette",
    "knn_accuracy",
    "kmeans_ari",
    "cluster_metrics",
    "layer_cluster_table",
    "stratified_subsample",
    "clustering_increases",
]


# ---------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------


def _check_X(X, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued numeric, got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        n_bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")
    return X


def _check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"X has {n} samples but labels has {labels.shape[0]} entries (lengths must match)")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError("labels contain NaN or infinite values")
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        elif labels.dtype.kind not in "OUS":
            raise ValueError(f"labels must be integer class labels, got dtype {labels.dtype}")
    n_classes = np.unique(labels).size
    if n_classes < 2:
        raise ValueError(f"need at least 2 distinct classes in labels, got {n_classes}")
    return labels


def _check(X, labels) -> tuple[np.ndarray, np.ndarray]:
    X = _check_X(X)
    return X, _check_labels(labels, X.shape[0])


# ---------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------


def tsne_embedding(X, seed: int = 0, perplexity: float = 30.0, verbose: int = 0) -> np.ndarray:
    """Two-dimensional t-SNE embedding of the rows of ``X``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Points to embed (e.g. spike counts of a layer, one row per sample, or
        incoming weight vectors, one row per neuron).  Used as they are, not
        standardised (see the module docstring); Euclidean distances.
    seed : int, optional
        Random state of :class:`sklearn.manifold.TSNE`; the result is
        deterministic for a given seed.
    perplexity : float, optional
        t-SNE perplexity (effective number of neighbours).  For tiny inputs it
        is clipped to ``max(1, (n_samples - 1) / 3)`` so that it stays below
        ``n_samples / 3``, as t-SNE requires ``perplexity < n_samples``.
    verbose : int, optional
        Passed to :class:`~sklearn.manifold.TSNE`.

    Returns
    -------
    numpy.ndarray, shape (n_samples, 2)
        The embedding (float64).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, has fewer than 3 rows, or contains NaN.

    Notes
    -----
    Uses ``init="pca"`` (more reproducible global layout than random
    initialisation), ``learning_rate="auto"`` and the Barnes-Hut
    approximation; a few thousand points take seconds to tens of seconds.
    """
    from sklearn.manifold import TSNE

    X = _check_X(X)
    n = X.shape[0]
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {n}")
    if perplexity <= 0:
        raise ValueError(f"perplexity must be positive, got {perplexity}")
    perplexity = float(min(perplexity, max(1.0, (n - 1) / 3.0)))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        learning_rate="auto",
        random_state=seed,
        verbose=verbose,
    )
    with warnings.catch_warnings():
        # constant or duplicated rows (silent samples) are legitimate here
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(tsne.fit_transform(X), dtype=np.float64)


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------


def silhouette(X, labels) -> float:
    """Mean silhouette coefficient of the class partition ``labels`` of ``X``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Points (Euclidean distances, features not standardised).
    labels : array_like, shape (n_samples,)
        Class of each point.

    Returns
    -------
    float
        In [-1, 1]; near 1 when classes form compact, well-separated clusters,
        near 0 when they overlap, negative when points sit closer to another
        class than to their own.

    Raises
    ------
    ValueError
        On NaN, mismatched lengths, fewer than 2 classes, or as many classes as
        points (the silhouette is undefined then).
    """
    from sklearn.metrics import silhouette_score

    X, labels = _check(X, labels)
    n_classes = np.unique(labels).size
    if n_classes > X.shape[0] - 1:
        raise ValueError(
            f"silhouette needs 2 <= n_classes <= n_samples - 1, got {n_classes} classes for {X.shape[0]} samples"
        )
    return float(silhouette_score(X, labels, metric="euclidean"))


def knn_accuracy(X, labels, k: int = 5, folds: int = 5, seed: int = 0) -> float:
    """Stratified cross-validated k-nearest-neighbour accuracy.

    Each point's class is predicted by a distance-weighted
    :class:`~sklearn.neighbors.KNeighborsClassifier` trained on the other
    folds (stratified, shuffled ``folds``-fold split); the result is the
    fraction of all points predicted correctly (pooled over folds, so a
    perfectly separable set scores exactly 1.0).  Distance weighting keeps the
    score meaningful when classes have fewer than ``k`` members (e.g. ten
    hidden neurons per class): the nearest neighbour then outweighs a
    plurality of far ones, instead of ties being broken by class index.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    labels : array_like, shape (n_samples,)
    k : int, optional
        Number of neighbours (clipped to the smallest training-fold size).
    folds : int, optional
        Number of folds; reduced to the size of the largest class if that is
        smaller (classes with fewer members than folds still take part, their
        points are spread over fewer folds).
    seed : int, optional
        Seed of the fold shuffling.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Raises
    ------
    ValueError
        On bad input (see :func:`cluster_metrics`), ``k < 1`` or ``folds < 2``.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    X, labels = _check(X, labels)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    n = X.shape[0]
    _, counts = np.unique(labels, return_counts=True)
    n_splits = int(min(folds, counts.max(), n))
    if n_splits < 2:
        raise ValueError(f"need at least 2 samples in some class for cross-validation, got {n} samples")
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        splits = list(cv.split(X, labels))
        n_train_min = min(len(train) for train, _ in splits)
        k_eff = int(max(1, min(k, n_train_min)))
        pred = cross_val_predict(KNeighborsClassifier(n_neighbors=k_eff, weights="distance"), X, labels, cv=splits)
    return float(np.mean(pred == labels))


def kmeans_ari(X, labels, k: int = 10, seed: int = 0) -> float:
    """Adjusted Rand index of a k-means partition of ``X`` against ``labels``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    labels : array_like, shape (n_samples,)
    k : int, optional
        Number of k-means clusters (``KMeans(n_clusters=k, n_init=10)``);
        clipped to the number of distinct points.
    seed : int, optional
        Random state of :class:`~sklearn.cluster.KMeans`.

    Returns
    -------
    float
        Adjusted Rand index: 1 for identical partitions, about 0 for chance
        agreement (can be slightly negative).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    X, labels = _check(X, labels)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_distinct = np.unique(X, axis=0).shape[0]
    k_eff = int(min(k, n_distinct))
    if k_eff < 2:
        # a single cluster agrees with nothing beyond chance
        return 0.0
    km = KMeans(n_clusters=k_eff, n_init=10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on duplicated points
        pred = km.fit_predict(X)
    return float(adjusted_rand_score(labels, pred))


def cluster_metrics(X, labels, embedding=None, seed: int = 0) -> dict:
    """All clustering numbers for one set of points and their classes.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Points in their original feature space.
    labels : array_like, shape (n_samples,)
        Class of each point.
    embedding : array_like, shape (n_samples, 2), optional
        A 2-D embedding of the same points (e.g. from :func:`tsne_embedding`);
        if given, ``knn_accuracy_embedding`` measures how separated the
        classes look in the picture.
    seed : int, optional
        Seed for the cross-validation folds and k-means.

    Returns
    -------
    dict
        ``silhouette`` (float), ``knn_accuracy`` (float, k=5, 5 folds),
        ``knn_accuracy_embedding`` (float, only if ``embedding`` is given),
        ``kmeans_ari`` (float, k=10), ``n_samples`` (int), ``n_features`` (int),
        ``n_classes`` (int).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or contains NaN/inf, if ``labels`` does not match
        ``X`` in length, has fewer than 2 classes, or if ``embedding`` does not
        have shape ``(n_samples, 2)``.
    """
    X, labels = _check(X, labels)
    out = {
        "silhouette": silhouette(X, labels),
        "knn_accuracy": knn_accuracy(X, labels, seed=seed),
    }
    if embedding is not None:
        emb = _check_X(embedding, "embedding")
        if emb.shape != (X.shape[0], 2):
            raise ValueError(f"embedding must have shape ({X.shape[0]}, 2), got {emb.shape}")
        out["knn_accuracy_embedding"] = knn_accuracy(emb, labels, seed=seed)
    out["kmeans_ari"] = kmeans_ari(X, labels, seed=seed)
    out["n_samples"] = int(X.shape[0])
    out["n_features"] = int(X.shape[1])
    out["n_classes"] = int(np.unique(labels).size)
    return out


def layer_cluster_table(
    layers: Mapping[str, tuple],
    seed: int = 0,
    tsne: bool = True,
    progress: Callable[[str], object] | None = print,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Clustering metrics (and t-SNE embeddings) for several layers.

    Parameters
    ----------
    layers : mapping of str to (X, labels)
        Layer name -> points ``X`` (n_samples, n_features) and their classes
        ``labels`` (n_samples,).  Order is kept in the table.
    seed : int, optional
        Seed for t-SNE, cross-validation folds and k-means.
    tsne : bool, optional
        Compute a t-SNE embedding per layer (the slow part: seconds to tens of
        seconds for a few thousand points); if False the table has no
        ``knn_accuracy_embedding`` column and no embeddings are returned.
    progress : callable or None, optional
        Called with one line of text per step (layer name, number of points,
        elapsed seconds); ``None`` for silence.

    Returns
    -------
    table : pandas.DataFrame
        One row per layer: ``layer`` and the keys of :func:`cluster_metrics`,
        plus ``tsne_seconds`` (NaN without t-SNE).
    embeddings : dict of str to numpy.ndarray
        Layer name -> (n_samples, 2) embedding (empty if ``tsne`` is False).

    Raises
    ------
    ValueError
        If any layer's input is invalid; the message names the layer.
    """
    say = progress if progress is not None else (lambda _msg: None)
    rows = []
    embeddings: dict[str, np.ndarray] = {}
    for name, (X, labels) in layers.items():
        try:
            X, labels = _check(X, labels)
        except ValueError as err:
            raise ValueError(f"layer {name!r}: {err}") from None
        emb = None
        t_tsne = float("nan")
        if tsne:
            say(f"t-SNE of layer {name!r}: {X.shape[0]} points x {X.shape[1]} features ...")
            t0 = time.perf_counter()
            emb = tsne_embedding(X, seed=seed)
            t_tsne = time.perf_counter() - t0
            embeddings[name] = emb
            say(f"t-SNE of layer {name!r} done in {t_tsne:.1f} s")
        t0 = time.perf_counter()
        try:
            metrics = cluster_metrics(X, labels, embedding=emb, seed=seed)
        except ValueError as err:
            raise ValueError(f"layer {name!r}: {err}") from None
        say(
            f"metrics of layer {name!r}: silhouette {metrics['silhouette']:.3f}, "
            f"kNN accuracy {metrics['knn_accuracy']:.3f}, k-means ARI {metrics['kmeans_ari']:.3f} "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        rows.append({"layer": name, **metrics, "tsne_seconds": t_tsne})
    columns = ["layer", "silhouette", "knn_accuracy"]
    if tsne:
        columns.append("knn_accuracy_embedding")
    columns += ["kmeans_ari", "n_samples", "n_features", "n_classes", "tsne_seconds"]
    return pd.DataFrame(rows, columns=columns), embeddings


# ---------------------------------------------------------------------------
# helpers for analyses
# ---------------------------------------------------------------------------


def stratified_subsample(labels, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a class-stratified random subsample of at most ``max_points``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Class of each item.
    max_points : int or None
        Maximum number of indices; ``None`` or ``<= 0`` (or ``>= n``) keeps all.
    seed : int, optional
        Seed of the random choice.

    Returns
    -------
    numpy.ndarray of int
        Sorted indices into ``labels``.  Every class keeps a share proportional
        to its size (at least one item while ``max_points`` allows).
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if max_points is None or max_points <= 0 or max_points >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # largest-remainder allocation of max_points over classes
    quota = counts / n * max_points
    take = np.floor(quota).astype(int)
    if max_points >= classes.size:
        take = np.maximum(take, 1)
    take = np.minimum(take, counts)
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    i = 0
    while take.sum() < max_points:
        c = order[i % classes.size]
        if take[c] < counts[c]:
            take[c] += 1
        i += 1
    while take.sum() > max_points:
        c = int(np.argmax(take))
        take[c] -= 1
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=take[c], replace=False) for c in range(classes.size)]
    return np.sort(np.concatenate(chosen))


def clustering_increases(
    table: pd.DataFrame,
    order: Sequence[str] = ("input", "hidden", "label"),
    metrics: Sequence[str] = ("silhouette", "knn_accuracy"),
) -> tuple[bool, str]:
    """Whether the given metrics all increase strictly along ``order`` of layers.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`layer_cluster_table` (column ``layer``).
    order : sequence of str
        Layer names, from input towards output.
    metrics : sequence of str
        Columns that must each increase strictly from one layer to the next.

    Returns
    -------
    increases : bool
    statement : str
        A one-sentence, human-readable account with the numbers.
    """
    t = table.set_index("layer")
    missing = [name for name in order if name not in t.index]
    if missing:
        raise ValueError(f"layers missing from the table: {missing}")
    parts = []
    ok = True
    for m in metrics:
        values = [float(t.loc[name, m]) for name in order]
        inc = all(b > a for a, b in zip(values, values[1:]))
        ok &= inc
        chain = " -> ".join(f"{v:.3f}" for v in values)
        parts.append(f"{m} {chain} ({'increases' if inc else 'does not increase'})")
    verdict = "Clustering increases" if ok else "Clustering does not increase monotonically"
    statement = f"{verdict} along {' -> '.join(order)}: " + "; ".join(parts) + "."
    return bool(ok), statement
