"""Figures of the adaptive-scaling family, drawn from saved tables (torch-free).

Every function takes arrays or DataFrames (as the protocols write them) and
an ``ax=None`` argument, draws into the given Axes (or a new figure) and
returns the Axes.  Use :func:`bioplastic.analysis.figures.style` and
:func:`bioplastic.analysis.figures.save_figure` around them.  Nothing here imports
torch or Brian2.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["MODEL_COLOURS", "plot_robustness", "plot_continual", "plot_rate_callback", "plot_fixed_point"]

#: one colour per model / method, the same in every figure
MODEL_COLOURS = {"plain": "#4d4d4d", "scaling": "#d95f02", "ewc": "#1b9e77", "replay": "#7570b3"}

_PERTURBATION_LABELS = {
    "event_noise": "spurious-event probability per step",
    "event_dropout": "event dropout probability",
    "weight_noise": "relative weight noise $\\sigma$",
}


def _axes(ax):
    if ax is None:
        _fig, ax = plt.subplots(figsize=(4.0, 3.0))
    return ax


def _require(df, columns, what):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing} (has {list(df.columns)})")


def plot_robustness(summary: pd.DataFrame, perturbation: str, ax=None):
    """Test accuracy against perturbation strength, mean and standard deviation over seeds, per model.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv`` of the robustness protocol: ``model``,
        ``perturbation``, ``strength``, ``mean``, ``std``, ``n_seeds``.
    perturbation : str
        Which perturbation to draw.
    """
    _require(summary, ["model", "perturbation", "strength", "mean", "std"], "the robustness summary")
    part = summary[summary["perturbation"] == perturbation]
    if part.empty:
        raise ValueError(f"no rows for perturbation {perturbation!r}; "
                         f"the table has {sorted(summary['perturbation'].unique())}")
    ax = _axes(ax)
    for model, rows in part.groupby("model", sort=False):
        rows = rows.sort_values("strength")
        std = rows["std"].fillna(0.0).to_numpy()
        colour = MODEL_COLOURS.get(model)
        ax.plot(rows["strength"], rows["mean"], "o-", color=colour, label=model, ms=3)
        ax.fill_between(rows["strength"], rows["mean"] - std, rows["mean"] + std, color=colour, alpha=0.2, lw=0)
    n = int(part["n_seeds"].min()) if "n_seeds" in part else None
    ax.set_xlabel(_PERTURBATION_LABELS.get(perturbation, perturbation))
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(perturbation.replace("_", " ") + (f" ({n} seeds, mean ± sd)" if n else ""))
    ax.legend(frameon=False)
    return ax


def plot_continual(summary: pd.DataFrame, scenario: str, metric: str = "average_accuracy", ax=None):
    """Average accuracy (or forgetting) after each task, per method, mean ± sd over seeds.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv`` of the continual protocol: ``method``, ``scenario``,
        ``after_task``, ``<metric>_mean``, ``<metric>_std``.
    scenario : {"task", "class"}
    metric : {"average_accuracy", "forgetting"}
    """
    if metric not in ("average_accuracy", "forgetting"):
        raise ValueError(f"metric must be 'average_accuracy' or 'forgetting', got {metric!r}")
    _require(summary, ["method", "scenario", "after_task", f"{metric}_mean", f"{metric}_std"],
             "the continual-learning summary")
    part = summary[summary["scenario"] == scenario]
    if part.empty:
        raise ValueError(f"no rows for scenario {scenario!r}")
    ax = _axes(ax)
    for method, rows in part.groupby("method", sort=False):
        rows = rows.sort_values("after_task")
        rows = rows[np.isfinite(rows[f"{metric}_mean"])]
        ax.errorbar(rows["after_task"] + 1, rows[f"{metric}_mean"], yerr=rows[f"{metric}_std"].fillna(0.0),
                    fmt="o-", ms=3, capsize=2, color=MODEL_COLOURS.get(method), label=method)
    ax.set_xlabel("tasks learnt")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_xticks(sorted(part["after_task"].unique() + 1))
    ax.set_ylim(0, 1)
    ax.set_title(f"{scenario}-incremental")
    ax.legend(frameon=False)
    return ax


def plot_rate_callback(rates: pd.DataFrame, step_at: int | None = None, ax=None):
    """Hidden population rate over time around a step of input intensity, per model.

    Parameters
    ----------
    rates : DataFrame
        Columns ``model``, ``step``, ``rate`` (spikes per neuron and step).
    step_at : int, optional
        Step at which the input intensity changed (a vertical line).
    """
    _require(rates, ["model", "step", "rate"], "the rate table")
    ax = _axes(ax)
    for model, rows in rates.groupby("model", sort=False):
        rows = rows.sort_values("step")
        ax.plot(rows["step"], rows["rate"], color=MODEL_COLOURS.get(model), label=model, lw=1)
        if step_at is not None:
            before = rows.loc[(rows["step"] < step_at) & (rows["step"] >= step_at // 2), "rate"].mean()
            ax.axhline(before, color=MODEL_COLOURS.get(model), ls=":", lw=0.8)
    if step_at is not None:
        ax.axvline(step_at, color="k", lw=0.8, ls="--")
    ax.set_xlabel("time step")
    ax.set_ylabel("hidden spikes per neuron and step")
    ax.legend(frameon=False)
    return ax


def plot_fixed_point(r, a_star, r_ref: float | None = None, ax=None):
    """The scaling rule's fixed point ``a*(r)`` against the afferent intensity ``r``."""
    r, a_star = np.asarray(r, dtype=float), np.asarray(a_star, dtype=float)
    if r.shape != a_star.shape:
        raise ValueError(f"r and a_star differ in shape: {r.shape} vs {a_star.shape}")
    ax = _axes(ax)
    ax.plot(r, a_star, color=MODEL_COLOURS["scaling"])
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    if r_ref is not None:
        ax.axvline(r_ref, color="k", lw=0.6, ls=":")
    ax.set_xlabel("afferent intensity $r$ (spikes per step)")
    ax.set_ylabel("fixed point $a^*(r)$")
    return ax
