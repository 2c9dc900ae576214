"""Figures of the surrogate-gradient studies: data in, Axes out (no torch, no Brian2).

Each function draws on a given :class:`matplotlib.axes.Axes` from plain
tables, as written by ``protocols/surrogate_sweep.py`` (``cells.csv``) and
``protocols/surrogate_randman.py`` (``epochs.csv``, ``raster.npz``), and
returns the Axes.  ``analysis/surrogate_figures.py`` reads run directories and
calls them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_vs_beta", "accuracy_vs_activity", "learning_curves", "raster"]


def _mean_std(table, by, value):
    g = table.groupby(by)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def accuracy_vs_beta(ax, cells, hue="surrogate", value="test_accuracy", chance=None):
    """Test accuracy against the surrogate slope beta (the paper's Fig. 3 / Fig. 5 kind).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    cells : pandas.DataFrame
        Columns ``beta``, *hue* and *value* (one row per run, e.g. one per seed).
    hue : str or list of str
        Column(s) naming a line (e.g. ``"surrogate"`` or ``["surrogate", "variant"]``).
    value : str
        The accuracy column.
    chance : float, optional
        Draw a dotted line at chance level.
    """
    hue = [hue] if isinstance(hue, str) else list(hue)
    stats = _mean_std(cells, hue + ["beta"], value)
    for key, line in stats.groupby(hue):
        key = key if isinstance(key, tuple) else (key,)
        line = line.sort_values("beta")
        label = " ".join(str(k) for k in key)
        ax.errorbar(line["beta"], line["mean"], yerr=line["std"], marker="o", capsize=2, label=label)
    if chance is not None:
        ax.axhline(chance, ls=":", color="0.5", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"surrogate slope $\beta$")
    ax.set_ylabel("test accuracy")
    ax.legend(frameon=False, fontsize="small")
    return ax


def accuracy_vs_activity(ax, cells, activity="test_spikes_per_neuron", value="test_accuracy",
                         chance=None, label_nu=True):
    """Accuracy against mean spikes per neuron and trial (the critical-activity curve).

    One point per upper bound ``nu_upper``: mean over seeds of the measured
    activity (x) and of ``value`` (y), bars one standard deviation over seeds
    in both directions.  The x axis is logarithmic.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    cells : pandas.DataFrame
        One row per run, with ``nu_upper``, ``activity`` and ``value`` columns.
    chance : float, optional
        Draws the chance level as a dotted line.
    label_nu : bool
        Writes each point's ``nu_upper`` next to it.
    """
    stats = cells.groupby("nu_upper").agg(
        x=(activity, "mean"), xerr=(activity, "std"), y=(value, "mean"),
        yerr=(value, "std")).reset_index()
    stats = stats.sort_values("x")
    ax.errorbar(stats["x"], stats["y"], xerr=stats["xerr"].fillna(0.0),
                yerr=stats["yerr"].fillna(0.0), marker="o", capsize=2)
    if label_nu:
        for nu, x, y in zip(stats["nu_upper"], stats["x"], stats["y"]):
            ax.annotate(f"\u03bd={nu:g}", (x, y), textcoords="offset points", xytext=(3, -10),
                        fontsize="x-small")
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    from matplotlib import ticker

    ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("hidden spikes per neuron and trial")
    ax.set_ylabel("test accuracy")
    return ax


def learning_curves(ax, epochs, columns=("train_accuracy", "val_accuracy")):
    """Per-epoch curves from an ``epochs.csv`` table."""
    for col in columns:
        if col in epochs:
            ax.plot(epochs["epoch"], epochs[col], label=col.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(frameon=False, fontsize="small")
    return ax


def raster(ax, trial_index, step, neuron, trial=0, input_times=None, n_hidden=None, nb_steps=None,
           dt_ms=1.0):
    """Hidden spike raster of one trial (from ``raster.npz``), with the input spikes below.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    trial_index, step, neuron : array_like
        The ``trial``, ``step`` and ``neuron`` arrays of ``raster.npz``.
    trial : int
        Which trial to draw.
    input_times : array_like, optional
        ``input_times_steps`` of ``raster.npz`` (``(trials, n_in)``, ``nb_steps`` =
        no spike); drawn as units ``-n_in .. -1``.
    n_hidden : int, optional
        For the y limits.
    nb_steps : int, optional
        Trial length: sets the x limits; input times ``>= nb_steps`` (no
        spike) are not drawn.
    dt_ms : float
        Step length in ms.
    """
    sel = np.asarray(trial_index) == trial
    ax.plot(np.asarray(step)[sel] * dt_ms, np.asarray(neuron)[sel], "|", color="k", ms=3)
    if input_times is not None:
        t = np.asarray(input_times)[trial]
        units = np.arange(len(t))
        fired = t < nb_steps if nb_steps is not None else np.ones(len(t), dtype=bool)
        ax.plot(t[fired] * dt_ms, -1 - units[fired], "|", color="tab:blue", ms=3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("input (blue) / hidden neuron")
    if nb_steps is not None:
        ax.set_xlim(0, nb_steps * dt_ms)
    if n_hidden is not None:
        ax.set_ylim(-1 - (0 if input_times is None else np.asarray(input_times).shape[1]), n_hidden)
    return ax
