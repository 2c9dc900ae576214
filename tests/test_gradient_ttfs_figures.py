"""TTFS figures: drawn from saved data, without torch."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.gradient


def test_figures_module_does_not_import_torch():
    code = ("import sys, bioplastic.gradient.ttfs.figures; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plots_draw_from_arrays():
    import matplotlib
    matplotlib.use("Agg")
    from bioplastic.gradient.ttfs import figures as tf

    cells = pd.DataFrame({"regularizer": ["none", "m-ssr", "m-ssr", "f-ssr"],
                          "gamma": [0.0, 1e-3, 1e-2, 1e-3],
                          "spikes_total": [120.0, 80.0, 40.0, 60.0],
                          "test_accuracy": [0.97, 0.965, 0.95, 0.96]})
    ax = tf.plot_accuracy_vs_spikes(cells)
    # one marker series per regulariser, plus the connecting lines of the two regularisers
    assert len(ax.lines) == 5
    assert ax.get_xlabel().startswith("spikes per sample")
    ax = tf.plot_spikes_per_layer({"a": [100, 10], "b": [50, 9]})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hidden 1", "output"]
    inf = np.inf
    layers = [np.array([[0.1, 1.0], [0.5, 0.2]]), np.array([[1.5, inf, 1.2], [inf, inf, 1.9]]),
              np.array([[2.5, inf], [2.1, 2.2]])]
    ax = tf.plot_spike_time_histograms(layers, 3.0)
    assert "50% fire" in ax.get_legend().get_texts()[1].get_text()
    ax = tf.plot_raster([t[0] for t in layers], 3.0)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 + 2 + 1


def test_layer_spikes_against_gamma():
    import matplotlib
    matplotlib.use("Agg")
    from bioplastic.gradient.ttfs import figures as tf

    cells = pd.DataFrame({"regularizer": ["none", "m-ssr", "m-ssr", "f-ssr", "f-ssr"],
                          "gamma": [0.0, 1e-4, 1e-3, 1e-4, 1e-3],
                          "spikes_l1": [60.0, 30, 8, 20, 9], "spikes_l2": [9.8, 7.6, 8.1, 6.5, 5.8]})
    ax = tf.plot_layer_spikes_vs_gamma(cells)
    # two regularisers x two layers, plus two reference lines
    assert len(ax.lines) == 6 and ax.get_xscale() == "log"
