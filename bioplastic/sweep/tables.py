"""The sweep's tables and figure, gathered from its finished cells.

``results.csv`` is tidy: one row per finished cell and metric (the cell's
name, its value on every swept axis, ``metric``, ``value``), taken from each
cell's ``metrics.json`` (numbers only; nested tables become dotted names).
``summary.csv`` holds the main metric per combination of the swept axes other
than ``seed`` (or ``seeds``): ``mean``, ``std`` (over seeds) and ``n``.  ``figure.png`` draws
the main metric against each swept axis (mean and standard deviation over
seeds).  Every file is written atomically; the figure reads only the table.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

__all__ = ["SEED_AXES", "flat_metrics", "main_metric", "results_table", "summary_table", "plot_sweep", "collect"]

#: The axes treated as repetitions (error bars) rather than as parameters.
SEED_AXES = ("seed", "seeds")


def flat_metrics(metrics, prefix=""):
    """``{"a": 1, "b": {"c": 2}}`` -> ``{"a": 1.0, "b.c": 2.0}`` (finite numbers only; booleans dropped)."""
    flat = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_metrics(value, prefix=f"{name}."))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
            flat[name] = float(value)
    return flat


def main_metric(spec, table):
    """The spec's ``metric``, else the first of the table's metrics that names a test accuracy."""
    if spec.metric:
        return spec.metric
    names = list(dict.fromkeys(table["metric"])) if not table.empty else []
    for prefix in ("test_accuracy", "accuracy", "test_"):
        for name in names:
            if name.startswith(prefix):
                return name
    return names[0] if names else None


def results_table(out, spec, cells):
    """The tidy table of every finished cell of the sweep in *out*."""
    import pandas as pd

    from bioplastic.runs import read_json
    from bioplastic.sweep.runner import is_finished

    rows = []
    for cell in cells:
        cell_dir = Path(out) / "cells" / cell.name
        if not is_finished(cell_dir):
            continue
        try:
            metrics = read_json(cell_dir / "metrics.json")
        except (OSError, ValueError):
            continue
        for metric, value in flat_metrics(metrics).items():
            rows.append({"cell": cell.name, **cell.values, "metric": metric, "value": value})
    columns = ["cell", *spec.axes, "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def summary_table(table, metric, axes):
    """Mean, standard deviation and count of *metric* per combination of the non-seed *axes*."""
    import pandas as pd

    keys = [a for a in axes if a not in SEED_AXES]
    sub = table[table["metric"] == metric]
    if sub.empty:
        return pd.DataFrame(columns=[*keys, "metric", "mean", "std", "n"])
    if keys:
        grouped = sub.groupby(keys, sort=True, dropna=False)["value"]
        summary = grouped.agg(mean="mean", std="std", n="count").reset_index()
    else:
        v = sub["value"]
        summary = pd.DataFrame([{"mean": v.mean(), "std": v.std(), "n": v.count()}])
    summary.insert(len(keys), "metric", metric)
    return summary


def plot_sweep(table, metric, axes, ax=None):
    """The main metric against each non-seed axis (one panel per axis); returns the Axes (array).

    With two or more non-seed axes, each panel colours by the next axis.
    Error bars: standard deviation over seeds.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    keys = [a for a in axes if a not in SEED_AXES] or list(axes[:1])
    sub = table[table["metric"] == metric]
    if ax is None:
        _, ax = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
        axs = ax.ravel()
    else:
        axs = np.atleast_1d(ax).ravel()
    for i, key in enumerate(keys):
        hue = next((k for k in keys if k != key), None)
        numeric = sub[key].map(lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)).all()
        data = sub.assign(**{key: sub[key] if numeric else sub[key].astype(str)})
        if hue is not None:
            data = data.assign(**{hue: data[hue].astype(str)})
        sns.lineplot(data=data, x=key, y="value", hue=hue, marker="o", errorbar="sd", ax=axs[i],
                     err_style="bars")
        if numeric and len(set(data[key])) > 2 and data[key].min() > 0 and data[key].max() / data[key].min() >= 10:
            axs[i].set_xscale("log")
        axs[i].set_xlabel(key)
        axs[i].set_ylabel(metric)
    return ax


def collect(out, spec, cells, figure=True):
    """Write ``results.csv``, ``summary.csv`` (and ``figure.png``); returns ``(table, summary)``."""
    import io

    from bioplastic.runs import atomic_write_bytes, save_table

    out = Path(out)
    table = results_table(out, spec, cells)
    save_table(out / "results.csv", table)
    metric = main_metric(spec, table)
    summary = summary_table(table, metric, spec.axes) if metric else table.iloc[0:0]
    save_table(out / "summary.csv", summary)
    if figure and metric and not table[table["metric"] == metric].empty:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        ax = plot_sweep(table, metric, spec.axes)
        fig = ax.ravel()[0].figure
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        plt.close(fig)
        atomic_write_bytes(out / "figure.png", buf.getvalue())
    return table, summary
