"""The paper's figures, drawn from saved data (never by simulating).

Every plotting function takes arrays or DataFrames (as loaded by
:func:`bioplastic.runs.load_run`) and an ``ax=None`` argument: it draws into
the given Axes, or creates a new figure if none is given, and returns the
Axes (an array of Axes for :func:`plot_weight_snapshots` and
:func:`plot_layer_embeddings`).  Functions that add a colour bar add it next
to their Axes on the same figure.

Use the packaged style for consistent, print-ready output::

    from bioplastic.analysis import figures
    with figures.style():
        ax = figures.plot_confusion(cm, title="supervised readout")
        figures.save_figure(ax.figure, "figs", "confusion", formats=("png", "pdf"))

The code only uses the object-oriented Matplotlib API and works with the
headless ``Agg`` backend (``MPLBACKEND=Agg``).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

__all__ = [
    "style",
    "save_figure",
    "tile_receptive_fields",
    "plot_receptive_fields",
    "plot_theta_distribution",
    "plot_confusion",
    "plot_accuracy_curve",
    "plot_weight_snapshots",
    "plot_raster",
    "plot_label_responses",
    "plot_embedding",
    "plot_layer_embeddings",
    "plot_hidden_label_weights",
]

#: Order (top to bottom) and colours of the layers in :func:`plot_raster`.
RASTER_LAYERS = ("input", "hidden", "inhibitory", "label")
_LAYER_COLOURS = {"input": "0.35", "hidden": "#0072B2", "inhibitory": "#D55E00", "label": "#009E73"}
#: Grey for unassigned neurons (assignment -1).
UNASSIGNED_COLOUR = "0.6"
#: Colour of the gaps between receptive-field tiles.
GAP_COLOUR = "0.82"


# ---------------------------------------------------------------------------
# style and saving
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying the packaged ``bioplastic.mplstyle``.

    The style file ships inside the package and is located with
    :mod:`importlib.resources`, so it works from an installed wheel too.

    Examples
    --------
    >>> with style():                                  # doctest: +SKIP
    ...     ax = plot_theta_distribution(theta_mV)
    """
    ref = importlib.resources.files("bioplastic.analysis") / "bioplastic.mplstyle"
    with importlib.resources.as_file(ref) as path, plt.style.context(str(path)):
        yield


def save_figure(fig, directory, name: str, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Save ``fig`` as ``directory/name.<fmt>`` for each format, atomically.

    Each file is written to a temporary file in ``directory`` and moved into
    place with :func:`os.replace`, so a crash never leaves a truncated figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    directory : str or path-like
        Created if missing.
    name : str
        File stem.
    formats : sequence of str
        Matplotlib output formats, e.g. ``("png", "pdf", "svg")``.

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        fmt = fmt.strip().lower().lstrip(".")
        target = directory / f"{name}.{fmt}"
        tmp = directory / f".{name}.{fmt}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fig.savefig(fh, format=fmt)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        written.append(target)
    return written


def _axes(ax, figsize=None):
    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize)
    return ax


def _class_colours(n_classes: int = 10):
    return sns.color_palette("tab10" if n_classes <= 10 else "husl", n_classes)


# ---------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------


def tile_receptive_fields(
    w_input_hidden, order=None, n_show: int | None = None, ncols: int | None = None, gap: int = 1
) -> np.ndarray:
    """Arrange the incoming weight vectors of hidden neurons as a grid of images.

    Parameters
    ----------
    w_input_hidden : array_like, shape (n_input, n_hidden)
        Input -> hidden weights; ``n_input`` must be a perfect square (784 = 28 x 28).
    order : array_like of int, optional
        Hidden neurons to show, in this order (default: all, by index).
    n_show : int, optional
        Show only the first ``n_show`` neurons of ``order``.
    ncols : int, optional
        Tiles per row (default: ``ceil(sqrt(n_show))``).
    gap : int, optional
        Pixels of NaN between tiles.

    Returns
    -------
    numpy.ndarray
        2-D float image, NaN in gaps and empty grid cells.
    """
    w = np.asarray(w_input_hidden, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"w_input_hidden must be 2-D (n_input, n_hidden), got shape {w.shape}")
    side = int(round(np.sqrt(w.shape[0])))
    if side * side != w.shape[0]:
        raise ValueError(f"n_input = {w.shape[0]} is not a square number of pixels")
    idx = np.arange(w.shape[1]) if order is None else np.asarray(order, dtype=int)
    if n_show is not None:
        idx = idx[: int(n_show)]
    n = idx.size
    if n == 0:
        raise ValueError("no neurons to show")
    ncols = int(ncols) if ncols else int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    step = side + gap
    img = np.full((nrows * step - gap, ncols * step - gap), np.nan)
    for k, j in enumerate(idx):
        r, c = divmod(k, ncols)
        img[r * step : r * step + side, c * step : c * step + side] = w[:, j].reshape(side, side)
    return img


def plot_receptive_fields(
    w_input_hidden, n_show: int | None = None, order=None, ax=None, cmap: str = "hot_r", colorbar: bool = True
):
    """Receptive fields (input -> hidden weights) as 28 x 28 tiles in one image.

    Parameters
    ----------
    w_input_hidden : array_like, shape (784, n_hidden)
        Input -> hidden weights (dimensionless conductances).
    n_show : int, optional
        Number of neurons to show (default: all).
    order : array_like of int, optional
        Neuron order, e.g. ``np.argsort(assignments, kind="stable")`` to group
        neurons by their assigned class (default: by index).
    ax : matplotlib.axes.Axes, optional
    cmap : str, optional
    colorbar : bool, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    img = tile_receptive_fields(w_input_hidden, order=order, n_show=n_show)
    ax = _axes(ax, figsize=(5.2, 4.6))
    cm = plt.get_cmap(cmap).with_extremes(bad=GAP_COLOUR)
    finite = img[np.isfinite(img)]
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(img, cmap=cm, vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    n = int(np.asarray(w_input_hidden).shape[1] if n_show is None else min(n_show, np.asarray(w_input_hidden).shape[1]))
    ax.set_title(f"Receptive fields ({n} hidden neurons)")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.7, label="weight")
    return ax


def plot_theta_distribution(theta_mV, ax=None):
    """Histogram of the hidden neurons' adaptive thresholds.

    Parameters
    ----------
    theta_mV : array_like, shape (n_hidden,)
        Adaptive threshold increments in mV.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    theta = np.asarray(theta_mV, dtype=float).ravel()
    ax = _axes(ax)
    sns.histplot(x=theta, ax=ax, bins="auto", color="#0072B2", edgecolor="white", linewidth=0.4)
    mean = float(np.mean(theta)) if theta.size else float("nan")
    ax.axvline(mean, color="#D55E00", lw=1.2, ls="--", label=f"mean {mean:.2f} mV")
    ax.set_xlabel(r"adaptive threshold $\theta$ (mV)")
    ax.set_ylabel("hidden neurons")
    ax.set_title(f"Threshold adaptation (n = {theta.size})")
    ax.legend(loc="upper right")
    return ax


def plot_hidden_label_weights(w_hidden_label, assignments, ax=None, cmap: str = "viridis"):
    """Hidden -> label (E -> C) weights, hidden neurons sorted by assigned class.

    Within a class, neurons are sorted by decreasing weight onto the label
    neuron of their class; unassigned neurons (-1) come last.  Hidden neurons
    are on the x axis (class boundaries marked), label neurons on the y axis.

    Parameters
    ----------
    w_hidden_label : array_like, shape (n_hidden, n_label)
    assignments : array_like of int, shape (n_hidden,)
        Assigned class per hidden neuron, -1 if it never fired.
    ax : matplotlib.axes.Axes, optional
    cmap : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    w = np.asarray(w_hidden_label, dtype=float)
    a = np.asarray(assignments).astype(int)
    if w.ndim != 2 or a.shape != (w.shape[0],):
        raise ValueError(f"shapes do not match: w_hidden_label {w.shape}, assignments {a.shape}")
    n_hidden, n_label = w.shape
    key = np.where(a < 0, n_label + 1, a)
    own = np.where(a >= 0, w[np.arange(n_hidden), np.clip(a, 0, n_label - 1)], 0.0)
    order = np.lexsort((-own, key))
    ax = _axes(ax, figsize=(6.4, 2.8))
    sns.heatmap(
        w[order].T,
        ax=ax,
        cmap=cmap,
        vmin=0.0,
        xticklabels=False,
        yticklabels=list(range(n_label)),
        cbar_kws={"label": "weight", "shrink": 0.8},
        rasterized=True,
    )
    sorted_a = a[order]
    ticks, labels = [], []
    for cls in dict.fromkeys(sorted_a.tolist()):  # classes in display order
        pos = np.flatnonzero(sorted_a == cls)
        ticks.append(pos.mean() + 0.5)
        labels.append("–" if cls < 0 else str(cls))
        if pos[0] > 0:
            ax.axvline(pos[0], color="white", lw=0.6)
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("hidden neurons, grouped by assigned class (– = unassigned)")
    ax.set_ylabel("label neuron")
    ax.set_title("Hidden → label weights")
    return ax


def plot_weight_snapshots(
    snapshots: Mapping, n_neurons: int = 8, axes=None, neurons=None, max_snapshots: int = 6, cmap: str = "hot_r"
):
    """Receptive fields of a few hidden neurons over the course of training.

    Parameters
    ----------
    snapshots : mapping
        ``samples_seen`` (n_snap,), ``w_input_hidden`` (n_snap, 784, n_hidden)
        (as in ``snapshots.npz``).
    n_neurons : int, optional
        Number of neurons per snapshot (evenly spaced over the neuron index,
        unless ``neurons`` is given).
    axes : array_like of matplotlib.axes.Axes, optional
        One Axes per snapshot row; ``len(axes)`` snapshots are shown.
    neurons : array_like of int, optional
        Explicit neuron indices.
    max_snapshots : int, optional
        If there are more snapshots (and ``axes`` is None), show this many,
        evenly spaced and always including the first and the last.
    cmap : str, optional

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        One Axes per shown snapshot (top = earliest), each a row of tiles
        sharing one colour scale.
    """
    seen = np.asarray(snapshots["samples_seen"]).ravel()
    w = np.asarray(snapshots["w_input_hidden"])
    if w.ndim != 3 or w.shape[0] != seen.size:
        raise ValueError(f"w_input_hidden must be (n_snap, n_input, n_hidden) with n_snap = {seen.size}, got {w.shape}")
    n_snap, _, n_hidden = w.shape
    if n_snap == 0:
        raise ValueError("no snapshots")
    if neurons is None:
        neurons = np.unique(np.linspace(0, n_hidden - 1, min(n_neurons, n_hidden)).round().astype(int))
    neurons = np.asarray(neurons, dtype=int)
    n_rows = len(axes) if axes is not None else min(n_snap, max_snapshots)
    which = np.unique(np.linspace(0, n_snap - 1, n_rows).round().astype(int))
    created = axes is None
    if created:
        fig, axes = plt.subplots(
            which.size, 1, figsize=(0.7 * neurons.size + 1.4, 0.8 * which.size + 0.6), squeeze=False
        )
        axes = axes[:, 0]
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    vmax = float(np.max(w[which][:, :, neurons])) or 1.0
    cm = plt.get_cmap(cmap).with_extremes(bad=GAP_COLOUR)
    im = None
    for ax, s in zip(axes, which):
        img = tile_receptive_fields(w[s], order=neurons, ncols=neurons.size)
        im = ax.imshow(img, cmap=cm, vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_visible(False)
        ax.set_ylabel(f"{int(seen[s]):,}", rotation=0, ha="right", va="center", fontsize=8)
    for ax in axes[which.size :]:
        ax.set_axis_off()
    axes[0].set_title(f"Receptive fields during training (neurons {', '.join(map(str, neurons))})", fontsize=9)
    if created:
        axes[0].figure.supylabel("samples seen", fontsize=8)
    if im is not None:
        axes[0].figure.colorbar(im, ax=list(axes[: which.size]), shrink=0.8, label="weight")
    return axes[: which.size]


# ---------------------------------------------------------------------------
# readout and learning
# ---------------------------------------------------------------------------


def plot_confusion(confusion, title: str | None = None, ax=None, annotate: bool | None = None):
    """Confusion matrix heatmap: counts annotated, colour = fraction of the true class.

    Parameters
    ----------
    confusion : array_like, shape (n_classes, n_classes) or (n_classes, n_classes + 1)
        ``confusion[i, j]`` = number of samples of true class ``i`` predicted
        as ``j``.  An extra last column is shown as "none" (no prediction, e.g.
        no spikes).
    title : str, optional
        Title prefix; the accuracy (trace / total) is appended.
    ax : matplotlib.axes.Axes, optional
    annotate : bool, optional
        Write the counts in the cells (default: if at most 15 classes).

    Returns
    -------
    matplotlib.axes.Axes
    """
    cm = np.asarray(confusion, dtype=float)
    if cm.ndim != 2 or cm.shape[1] not in (cm.shape[0], cm.shape[0] + 1):
        raise ValueError(f"confusion must be (n, n) or (n, n + 1), got shape {cm.shape}")
    n = cm.shape[0]
    total = cm.sum()
    acc = float(np.trace(cm[:, :n]) / total) if total > 0 else float("nan")
    row = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, row, out=np.zeros_like(cm), where=row > 0)
    if annotate is None:
        annotate = n <= 15
    xlabels = [str(j) for j in range(n)] + (["none"] if cm.shape[1] > n else [])
    ax = _axes(ax, figsize=(4.6, 3.9))
    sns.heatmap(
        frac,
        ax=ax,
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        square=True,
        annot=cm.astype(int) if annotate else False,
        fmt="d",
        annot_kws={"fontsize": 6},
        xticklabels=xlabels,
        yticklabels=[str(i) for i in range(n)],
        cbar_kws={"label": "fraction of true class", "shrink": 0.8},
        linewidths=0.3,
        linecolor="white",
    )
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title + ': ' if title else ''}accuracy {acc:.1%} (n = {int(total)})")
    return ax


def plot_accuracy_curve(training_df: pd.DataFrame | None, evaluations_df: pd.DataFrame | None = None, ax=None):
    """Accuracy versus training samples seen.

    Parameters
    ----------
    training_df : pandas.DataFrame or None
        ``training.csv``: ``samples_seen`` and ``train_accuracy_assignment``
        (running accuracy of each chunk, predicted before learning it); epoch
        boundaries are marked if there is an ``epoch`` column with several
        epochs.
    evaluations_df : pandas.DataFrame, optional
        ``evaluations.csv``: ``samples_seen``, ``split``,
        ``accuracy_supervised``, ``accuracy_assignment`` and optionally
        ``kind``.  Evaluations during training (the fixed evaluation subset)
        are drawn as one line per split and readout; rows of kind ``"final"``
        (the whole test or validation split after training) as single stars.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if training_df is None and evaluations_df is None:
        raise ValueError("need training_df or evaluations_df")
    ax = _axes(ax, figsize=(5.2, 3.4))
    if training_df is not None and len(training_df):
        t = training_df.sort_values("samples_seen")
        ax.plot(
            t["samples_seen"],
            t["train_accuracy_assignment"],
            color="0.45",
            lw=1.0,
            marker="." if len(t) < 60 else None,
            label="training chunks (assignment, before learning)",
        )
        if "epoch" in t and t["epoch"].nunique() > 1:
            starts = t.groupby("epoch")["samples_seen"].min().sort_index()
            sizes = t.groupby("epoch")["n_samples"].first() if "n_samples" in t else None
            for e, s in list(starts.items())[1:]:
                x0 = s - (sizes[e] if sizes is not None else 0)
                ax.axvline(x0, color="0.8", lw=0.8, ls=":", zorder=0)
    if evaluations_df is not None and len(evaluations_df):
        ev = evaluations_df
        is_final = (ev["kind"] == "final") if "kind" in ev else pd.Series(False, index=ev.index)
        colours = {split: f"C{k}" for k, split in enumerate(sorted(ev["split"].unique()))}
        styles = {"accuracy_supervised": ("-", "o", "supervised"), "accuracy_assignment": ("--", "s", "assignment")}
        for split, df in ev[~is_final].groupby("split", sort=True):
            df = df.sort_values("samples_seen")
            n = f", n = {int(df['n_samples'].iloc[-1])}" if "n_samples" in df else ""
            for col, (ls, marker, name) in styles.items():
                if col in df:
                    ax.plot(df["samples_seen"], df[col], ls=ls, marker=marker, ms=4, color=colours[split],
                            label=f"{split}{n} ({name})")
        final_markers = {"accuracy_supervised": ("*", "supervised"), "accuracy_assignment": ("P", "assignment")}
        for split, df in ev[is_final].groupby("split", sort=True):
            n = f", n = {int(df['n_samples'].iloc[-1])}" if "n_samples" in df else ""
            for col, (marker, name) in final_markers.items():
                if col in df:
                    ax.plot(df["samples_seen"], df[col], ls="none", marker=marker, ms=9, mec="k", mew=0.6,
                            color=colours[split], label=f"{split}, whole split{n} ({name})")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("accuracy")
    ax.set_title("Learning curve")
    ax.legend(loc="best")
    return ax


def plot_label_responses(label_counts, labels, ax=None, annotate: bool | None = None):
    """Mean spike count of each label neuron per true class (heatmap).

    Parameters
    ----------
    label_counts : array_like, shape (n_samples, n_label)
        Label-layer spike counts per test sample.
    labels : array_like, shape (n_samples,)
        True class per sample (0 .. n_label - 1).
    ax : matplotlib.axes.Axes, optional
    annotate : bool, optional
        Write the means into the cells (default: if at most 15 label neurons).

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts = np.asarray(label_counts, dtype=float)
    y = np.asarray(labels).astype(int)
    if counts.ndim != 2 or y.shape != (counts.shape[0],):
        raise ValueError(f"shapes do not match: label_counts {counts.shape}, labels {y.shape}")
    n_label = counts.shape[1]
    n_classes = max(n_label, int(y.max()) + 1 if y.size else 0)
    mean = np.full((n_classes, n_label), np.nan)
    for c in range(n_classes):
        sel = y == c
        if sel.any():
            mean[c] = counts[sel].mean(axis=0)
    if annotate is None:
        annotate = n_label <= 15
    ax = _axes(ax, figsize=(4.6, 3.9))
    sns.heatmap(
        mean,
        ax=ax,
        cmap="rocket_r",
        vmin=0.0,
        square=True,
        annot=annotate,
        fmt=".1f",
        annot_kws={"fontsize": 6},
        cbar_kws={"label": "mean spike count", "shrink": 0.8},
        linewidths=0.3,
        linecolor="white",
    )
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("label neuron")
    ax.set_ylabel("true class")
    ax.set_title("Label-layer responses")
    return ax


# ---------------------------------------------------------------------------
# activity
# ---------------------------------------------------------------------------


def _scalar(x, default=None):
    if x is None:
        return default
    a = np.asarray(x)
    return a.item() if a.size == 1 else default


def plot_raster(raster: Mapping, ax=None, sizes: Mapping[str, int] | None = None):
    """Spike raster of one test presentation, four layers stacked.

    Each layer occupies a band of equal height (neuron index scaled to the
    band), so the 10 label neurons are as visible as the 784 inputs; bands
    are labelled with the layer name and size.  The presentation
    ``[0, t_present_ms)`` and the following rest period are shaded.  Spike
    times are taken as relative to the presentation onset (shifted by
    ``t_start_ms`` if the raster has such an entry).

    Parameters
    ----------
    raster : mapping
        ``{layer}_i`` and ``{layer}_t_ms`` for ``layer`` in ``input``,
        ``hidden``, ``inhibitory``, ``label`` (missing layers are skipped);
        optionally ``label``, ``sample_index``, ``t_present_ms``, ``t_rest_ms``.
    ax : matplotlib.axes.Axes, optional
    sizes : mapping of str to int, optional
        Number of neurons per layer (default: 784 input, 10 label, and the
        largest spiking index + 1 for the others).

    Returns
    -------
    matplotlib.axes.Axes
    """
    sizes = dict(sizes or {})
    t0 = float(_scalar(raster.get("t_start_ms"), 0.0))
    layers = [name for name in RASTER_LAYERS if f"{name}_i" in raster and f"{name}_t_ms" in raster]
    if not layers:
        raise ValueError(f"raster has none of the layers {RASTER_LAYERS} (keys {sorted(raster)})")
    ax = _axes(ax, figsize=(5.6, 4.0))
    t_present = _scalar(raster.get("t_present_ms"))
    t_rest = _scalar(raster.get("t_rest_ms"), 0.0)
    if t_present is not None:
        ax.axvspan(0.0, float(t_present), color="#FFF2CC", zorder=0, lw=0, label="presentation")
        if t_rest:
            ax.axvspan(float(t_present), float(t_present) + float(t_rest), color="0.93", zorder=0, lw=0, label="rest")
    hidden_max = max(
        (int(np.max(raster[f"{n}_i"])) + 1 for n in ("hidden", "inhibitory") if np.size(raster.get(f"{n}_i", [])) > 0),
        default=1,
    )
    defaults = {"input": 784, "label": 10, "hidden": hidden_max, "inhibitory": hidden_max}
    band, gap = 1.0, 0.2
    ticks, ticklabels = [], []
    for k, name in enumerate(layers):
        i = np.asarray(raster[f"{name}_i"], dtype=float).ravel()
        t = np.asarray(raster[f"{name}_t_ms"], dtype=float).ravel() - t0
        n = int(max(sizes.get(name, defaults[name]), int(i.max()) + 1 if i.size else 1))
        base = (len(layers) - 1 - k) * (band + gap)  # first layer on top
        y = base + (i + 0.5) / n * band
        few = n <= 50  # few neurons: one visible row per neuron, vertical ticks
        ax.scatter(t, y, s=30 if few else (1.5 if i.size > 2000 else 3), marker="|" if few else ".",
                   lw=1.0 if few else 0.8, color=_LAYER_COLOURS[name], rasterized=i.size > 5000)
        ticks.append(base + band / 2)
        ticklabels.append(f"{name}\n({n}, {i.size} sp.)")
        if k:
            ax.axhline(base + band + gap / 2, color="0.75", lw=0.5)
    ax.set_yticks(ticks)
    ax.set_yticklabels(ticklabels, fontsize=7)
    ax.set_ylim(-gap / 2, len(layers) * (band + gap) - gap / 2)
    ax.set_xlabel("time from stimulus onset (ms)")
    title = "Spike raster"
    lab, idx = _scalar(raster.get("label")), _scalar(raster.get("sample_index"))
    if idx is not None or lab is not None:
        title += f" (test sample {idx if idx is not None else '?'}, class {lab if lab is not None else '?'})"
    ax.set_title(title)
    if t_present is not None:
        ax.legend(loc="upper right", fontsize=6.5, frameon=True, framealpha=0.9)
    return ax


def plot_embedding(embedding, labels, title: str | None = None, ax=None, class_names: Sequence[str] | None = None):
    """Scatter of a 2-D embedding, points coloured by class, with a legend.

    Parameters
    ----------
    embedding : array_like, shape (n, 2)
        E.g. from :func:`bioplastic.analysis.clustering.tsne_embedding`.
    labels : array_like of int, shape (n,)
        Class per point; -1 is drawn grey as "unassigned".
    title : str, optional
    ax : matplotlib.axes.Axes, optional
    class_names : sequence of str, optional
        Names for classes 0, 1, ... (default: the numbers).

    Returns
    -------
    matplotlib.axes.Axes
    """
    emb = np.asarray(embedding, dtype=float)
    y = np.asarray(labels).astype(int)
    if emb.ndim != 2 or emb.shape[1] != 2 or y.shape != (emb.shape[0],):
        raise ValueError(f"need embedding (n, 2) and labels (n,), got {emb.shape} and {y.shape}")
    ax = _axes(ax, figsize=(4.6, 4.0))
    classes = np.unique(y)
    colours = _class_colours(max(10, int(classes.max()) + 1 if classes.size else 10))
    size = float(np.clip(3000.0 / max(emb.shape[0], 1), 2.0, 25.0))
    for c in classes:
        sel = y == c
        if c < 0:
            colour, name = UNASSIGNED_COLOUR, "unassigned"
        else:
            colour = colours[c]
            name = class_names[c] if class_names is not None and c < len(class_names) else str(c)
        ax.scatter(emb[sel, 0], emb[sel, 1], s=size, color=colour, label=name, lw=0, alpha=0.85, rasterized=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=max(1.0, 20.0 / size) ** 0.5,
              handletextpad=0.2, borderaxespad=0.3, title="class")
    return ax


def plot_layer_embeddings(
    embeddings: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], table: pd.DataFrame | None = None, axes=None
):
    """Side-by-side embeddings of several layers (the paper's t-SNE figure).

    Parameters
    ----------
    embeddings : mapping of str to array (n, 2)
        Layer name -> embedding, in display order.
    labels : mapping of str to array (n,)
        Layer name -> class per point.
    table : pandas.DataFrame, optional
        From :func:`bioplastic.analysis.clustering.layer_cluster_table`; if given, each
        title carries the layer's silhouette and kNN accuracy.
    axes : array_like of matplotlib.axes.Axes, optional
        One per layer.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    names = list(embeddings)
    if axes is None:
        _fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names) + 0.8, 3.4), squeeze=False)
        axes = axes[0]
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    rows = table.set_index("layer") if table is not None else None
    for k, (ax, name) in enumerate(zip(axes, names)):
        title = name
        if rows is not None and name in rows.index:
            r = rows.loc[name]
            title += f"\nsil. {r['silhouette']:.2f}, kNN {r['knn_accuracy']:.0%}"
        plot_embedding(embeddings[name], labels[name], title=title, ax=ax)
        if k < len(names) - 1:
            ax.get_legend().remove()
    return axes
