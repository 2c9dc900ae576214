"""Plot functions of the surrogate-gradient family (no torch needed)."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bioplastic.gradient.surrogate import figures  # noqa: E402


def test_figures_draw_the_data_without_torch():
    cells = pd.DataFrame({"surrogate": ["superspike"] * 4 + ["esser"] * 4,
                          "variant": "detached", "beta": [1, 1, 10, 10] * 2,
                          "seed": [0, 1] * 4, "nu_upper": [1.0, 1.0, 4.0, 4.0] * 2,
                          "test_accuracy": [0.5, 0.6, 0.8, 0.9, 0.4, 0.4, 0.7, 0.7],
                          "test_spikes_per_neuron": [1.0, 1.2, 3.0, 3.4] * 2})
    fig, axes = plt.subplots(1, 4)
    ax = figures.accuracy_vs_beta(axes[0], cells, hue=["surrogate", "variant"], chance=0.1)
    lines = {c.get_label(): c.lines[0] for c in ax.containers}  # one errorbar per line
    assert set(lines) == {"superspike detached", "esser detached"}
    np.testing.assert_allclose(np.asarray(lines["superspike detached"].get_ydata(), dtype=float),
                               [0.55, 0.85])
    assert ax.get_xscale() == "log"
    ax = figures.accuracy_vs_activity(axes[1], cells[cells["surrogate"] == "superspike"])
    line = ax.containers[0].lines[0]  # one point per nu, sorted by activity, means over seeds
    np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float), [1.1, 3.2])
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), [0.55, 0.85])
    assert ax.get_xscale() == "log"
    figures.learning_curves(axes[2], pd.DataFrame({"epoch": [1, 2], "train_accuracy": [0.3, 0.5],
                                                   "val_accuracy": [0.2, 0.4]}))
    ax = figures.raster(axes[3], [0, 0, 1], [3, 5, 7], [2, 4, 6], trial=0,
                        input_times=np.array([[1, 100], [2, 3]]), n_hidden=10, nb_steps=100)
    hidden, inputs = ax.get_lines()
    assert list(hidden.get_xdata()) == [3, 5] and list(hidden.get_ydata()) == [2, 4]
    assert list(inputs.get_xdata()) == [1] and list(inputs.get_ydata()) == [-1]  # 100 = no spike
    plt.close(fig)


def test_figures_module_does_not_import_torch():
    import subprocess

    code = "import sys, bioplastic.gradient.surrogate.figures; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
