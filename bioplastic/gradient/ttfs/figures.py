"""Figures of TTFS runs, drawn from saved data (this module does not import torch).

Every function takes arrays or DataFrames as saved by ``protocols/ttfs_mnist.py``
and ``protocols/ttfs_sweep.py`` and an ``ax=None`` argument: it draws into
the given Axes (or a new figure) and returns the Axes.

* :func:`plot_accuracy_vs_spikes` -- test accuracy against total spikes per
  sample, one curve per regulariser (the papers' axis of comparison);
* :func:`plot_spikes_per_layer` -- spikes per sample in each layer;
* :func:`plot_layer_spikes_vs_gamma` -- spikes per layer against gamma, per regulariser;
* :func:`plot_spike_time_histograms` -- distribution of spike times per layer;
* :func:`plot_raster` -- one sample's spikes through the layers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_accuracy_vs_spikes", "plot_spikes_per_layer", "plot_layer_spikes_vs_gamma",
           "plot_spike_time_histograms",
           "plot_raster", "REGULARIZER_STYLE"]

REGULARIZER_STYLE = {"none": dict(color="0.2", marker="*", label="no regulariser"),
                     "m-ssr": dict(color="C0", marker="o", label="M-SSR (hypothesis H1)"),
                     "f-ssr": dict(color="C3", marker="s", label="F-SSR (hypothesis H2)")}


def _axes(ax, figsize=(4.5, 3.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_accuracy_vs_spikes(cells, ax=None, spikes="spikes_total", accuracy="test_accuracy"):
    """Accuracy against spikes per sample, one curve per regulariser.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per run with columns ``regularizer``, ``gamma``, *spikes*
        and *accuracy* (``cells.csv`` of a sweep).  Rows of the same
        regulariser and gamma (seeds) are averaged; the unregularised mean is
        prepended to each regulariser's curve.
    ax : matplotlib.axes.Axes, optional
    spikes, accuracy : str
        Column names.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    mean = cells.groupby(["regularizer", "gamma"], as_index=False)[[spikes, accuracy]].mean()
    base = mean[mean.regularizer == "none"]
    for reg in ("m-ssr", "f-ssr", "none"):           # the reference point on top
        style = REGULARIZER_STYLE[reg]
        part = mean[mean.regularizer == reg].sort_values("gamma")
        if part.empty:
            continue
        if reg != "none":
            line = pd.concat([base, part])
            ax.plot(line[spikes], 100 * line[accuracy], "-", color=style["color"], lw=1)
            for _, row in part.iterrows():
                ax.annotate(f"{row['gamma']:g}", (row[spikes], 100 * row[accuracy]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points", color=style["color"])
        ax.plot(part[spikes], 100 * part[accuracy], linestyle="none", marker=style["marker"],
                color=style["color"], label=style["label"], markersize=9 if reg == "none" else 6)
    ax.set_xlabel("spikes per sample (all layers)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_spikes_per_layer(counts, labels=None, ax=None):
    """Grouped bars of spikes per sample in each layer.

    Parameters
    ----------
    counts : dict of str to sequence of float
        For each run (legend entry) the spikes per sample of each layer
        (hidden layers first, output last).
    labels : sequence of str, optional
        Layer names (default ``hidden 1, ..., output``).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    n_layers = max(len(c) for c in counts.values())
    if labels is None:
        labels = [f"hidden {i + 1}" for i in range(n_layers - 1)] + ["output"]
    width = 0.8 / max(1, len(counts))
    x = np.arange(n_layers)
    for k, (name, c) in enumerate(counts.items()):
        ax.bar(x + (k - (len(counts) - 1) / 2) * width, c, width, label=name)
    ax.set_xticks(x, labels)
    ax.set_ylabel("spikes per sample")
    ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_layer_spikes_vs_gamma(cells, ax=None):
    """Spikes per sample of each layer against gamma, one colour per regulariser.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``cells.csv`` of a sweep: ``regularizer``, ``gamma`` and
        ``spikes_l1``, ``spikes_l2``, ... (averaged over seeds here).  The
        unregularised values are drawn as dashed horizontal lines.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    layers = sorted(c for c in cells.columns if c.startswith("spikes_l"))
    names = [f"hidden {i + 1}" for i in range(len(layers) - 1)] + ["output"]
    mean = cells.groupby(["regularizer", "gamma"], as_index=False)[layers].mean()
    markers = "ovs^Dx"
    for reg in ("m-ssr", "f-ssr"):
        part = mean[mean.regularizer == reg].sort_values("gamma")
        for k, (col, name) in enumerate(zip(layers, names)):
            ax.plot(part["gamma"], part[col], marker=markers[k % len(markers)],
                    color=REGULARIZER_STYLE[reg]["color"], label=f"{reg}, {name}")
    ax.set_xscale("log")
    base = mean[mean.regularizer == "none"]
    for k, (col, name) in enumerate(zip(layers, names)):
        if len(base):
            ax.axhline(base[col].iloc[0], color="0.3", ls="--", lw=0.8)
            ax.annotate(f"no regulariser, {name}", (ax.get_xlim()[0], base[col].iloc[0]), fontsize=7,
                        xytext=(2, 2), textcoords="offset points", color="0.3")
    ax.set_yscale("log")
    ax.set_xlabel("gamma")
    ax.set_ylabel("spikes per sample")
    ax.legend(frameon=False, fontsize=7)
    return ax


def plot_spike_time_histograms(layer_times, t_max, ax=None, bins=60, names=None):
    """Histograms of the spike times of each layer (silent neurons left out).

    Parameters
    ----------
    layer_times : sequence of numpy.ndarray
        ``(n_samples, n_l)`` spike times per layer (``inf`` = silent), input
        first (as in ``test_spikes.npz``).
    t_max : float
        Window end (x range).
    ax : matplotlib.axes.Axes, optional
    bins : int
    names : sequence of str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    if names is None:
        names = ["input"] + [f"layer {i}" for i in range(1, len(layer_times) - 1)] + ["output"]
    edges = np.linspace(0, t_max, bins + 1)
    for name, t in zip(names, layer_times):
        t = np.asarray(t, dtype=float)
        finite = t[np.isfinite(t)]
        frac = finite.size / t.size if t.size else 0.0
        ax.hist(finite, bins=edges, density=True, histtype="step",
                label=f"{name} ({100 * frac:.0f}% fire)")
    ax.axvline(t_max, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("spike time (units of the input window)")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_raster(layer_times, t_max, ax=None, names=None):
    """One sample's spikes through the layers, stacked (input at the bottom).

    Parameters
    ----------
    layer_times : sequence of numpy.ndarray
        ``(n_l,)`` spike times of each layer for ONE sample (``inf`` = silent),
        input first.
    t_max : float
    ax : matplotlib.axes.Axes, optional
    names : sequence of str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, figsize=(5, 4))
    if names is None:
        names = ["input"] + [f"layer {i}" for i in range(1, len(layer_times) - 1)] + ["output"]
    # each layer gets a band of equal height, neurons spread evenly within it
    ticks = []
    for k, (name, t) in enumerate(zip(names, layer_times)):
        t = np.asarray(t, dtype=float)
        idx = np.nonzero(np.isfinite(t))[0]
        y = k + 0.05 + 0.9 * (idx + 0.5) / len(t)
        ax.scatter(t[idx], y, s=2 if len(t) > 100 else 10, color=f"C{k}", lw=0)
        ticks.append((k + 0.5, f"{name}\n{len(idx)}/{len(t)} fire"))
        if k:
            ax.axhline(k, color="0.85", lw=0.5)
    ax.set_ylim(0, len(layer_times))
    ax.set_yticks([p for p, _ in ticks], [s for _, s in ticks], fontsize=7)
    ax.axvline(t_max, color="0.5", lw=0.8, ls=":")
    ax.set_xlim(0, t_max * 1.02)
    ax.set_xlabel("time (units of the input window)")
    return ax
