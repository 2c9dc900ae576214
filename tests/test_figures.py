"""Tests of bioplastic.analysis.figures and analysis/make_figures.py on synthetic data (headless)."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from _synthetic_run import write_synthetic_run  # noqa: E402
from bioplastic.analysis import figures  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "analysis" / "make_figures.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def saved(ax_or_axes, tmp_path, name="fig"):
    """Save the figure of an Axes (or array of Axes) as PNG; check the file is non-empty."""
    fig = np.ravel(ax_or_axes)[0].figure
    paths = figures.save_figure(fig, tmp_path, name, formats=("png",))
    assert paths == [tmp_path / f"{name}.png"]
    assert paths[0].stat().st_size > 1000
    assert not list(tmp_path.glob(".*.tmp"))
    return paths[0]


# --------------------------------------------------------------------------
# every figure function
# --------------------------------------------------------------------------

def test_style_is_packaged_and_applied():
    default = plt.rcParams["axes.spines.top"]
    with figures.style():
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["pdf.fonttype"] == 42
    assert plt.rcParams["axes.spines.top"] == default


def test_receptive_fields_one_image(rng, tmp_path):
    w = rng.random((784, 12))
    with figures.style():
        ax = figures.plot_receptive_fields(w, n_show=9, order=np.arange(12)[::-1])
    images = ax.get_images()
    assert len(images) == 1
    assert images[0].get_array().shape == (3 * 29 - 1, 3 * 29 - 1)
    saved(ax, tmp_path)


def test_tile_receptive_fields_places_neurons():
    w = np.zeros((784, 3))
    w[:, 2] = 1.0
    img = figures.tile_receptive_fields(w, order=[2, 0], ncols=2)
    assert img.shape == (28, 57)
    assert np.all(img[:, :28] == 1.0) and np.all(np.isnan(img[:, 28]))
    with pytest.raises(ValueError, match="square"):
        figures.tile_receptive_fields(np.zeros((10, 2)))


def test_theta_distribution(rng, tmp_path):
    ax = figures.plot_theta_distribution(rng.normal(20, 3, 50))
    assert "mV" in ax.get_xlabel()
    saved(ax, tmp_path)


@pytest.mark.parametrize("extra_column", [False, True])
def test_confusion(rng, tmp_path, extra_column):
    cm = rng.integers(0, 5, (10, 10)) + np.diag(np.full(10, 40))
    if extra_column:
        cm = np.column_stack([cm, np.full(10, 2)])
    _, ax = plt.subplots()
    assert figures.plot_confusion(cm, title="supervised", ax=ax) is ax
    expected = np.trace(cm[:, :10]) / cm.sum()
    assert f"{expected:.1%}" in ax.get_title() and "supervised" in ax.get_title()
    if extra_column:
        assert ax.get_xticklabels()[-1].get_text() == "none"
    saved(ax, tmp_path)


def test_accuracy_curve(tmp_path):
    training = pd.DataFrame({
        "chunk": range(6), "epoch": [0, 0, 0, 1, 1, 1], "samples_seen": np.arange(1, 7) * 50,
        "n_samples": 50, "train_accuracy_assignment": [np.nan, 0.5, 0.6, 0.7, 0.75, 0.8],
    })
    evaluations = pd.DataFrame({
        "samples_seen": [150, 300, 300], "split": ["validation", "validation", "test"],
        "accuracy_supervised": [0.7, 0.8, 0.79], "accuracy_assignment": [0.65, 0.78, 0.77],
        "n_samples": 40,
    })
    ax = figures.plot_accuracy_curve(training, evaluations)
    assert len(ax.get_lines()) >= 5
    saved(ax, tmp_path)
    assert figures.plot_accuracy_curve(training) is not None
    with pytest.raises(ValueError):
        figures.plot_accuracy_curve(None, None)


def test_accuracy_curve_draws_evaluations_during_training_as_lines_and_final_as_stars(tmp_path):
    evaluations = pd.DataFrame({
        "samples_seen": [100, 200, 300, 300, 300], "split": ["validation"] * 4 + ["test"],
        "accuracy_supervised": [0.5, 0.6, 0.7, 0.72, 0.71], "accuracy_assignment": [0.4, 0.5, 0.6, 0.62, 0.61],
        "n_samples": [50, 50, 50, 400, 1000],
        "kind": ["during-training"] * 3 + ["final", "final"],
    })
    ax = figures.plot_accuracy_curve(None, evaluations)
    lines = {line.get_label(): line for line in ax.get_lines()}
    during = lines["validation, n = 50 (supervised)"]
    assert list(during.get_xdata()) == [100, 200, 300] and during.get_linestyle() == "-"
    final = lines["test, whole split, n = 1000 (supervised)"]
    assert list(final.get_ydata()) == [0.71] and final.get_linestyle() == "None"
    assert list(lines["validation, whole split, n = 400 (assignment)"].get_ydata()) == [0.62]
    assert len(lines) == 6
    saved(ax, tmp_path)


def test_weight_snapshots(rng, tmp_path):
    snaps = {"samples_seen": np.array([0, 100, 200, 300, 400, 500, 600, 700]),
             "w_input_hidden": rng.random((8, 784, 10)).astype(np.float32)}
    axes = figures.plot_weight_snapshots(snaps, n_neurons=4)
    assert isinstance(axes, np.ndarray) and axes.size == 6  # max_snapshots
    assert axes[0].get_ylabel() == "0" and axes[-1].get_ylabel() == "700"
    saved(axes, tmp_path)
    _, given = plt.subplots(2, 1)
    assert figures.plot_weight_snapshots(snaps, axes=given).size == 2


def test_raster(rng, tmp_path):
    raster = {}
    for name, n in [("input", 784), ("hidden", 30), ("inhibitory", 30), ("label", 10)]:
        k = 40
        raster[f"{name}_i"] = rng.integers(0, n, k)
        raster[f"{name}_t_ms"] = rng.uniform(0, 350, k)
    raster.update(label=np.int64(4), sample_index=np.int64(17), t_present_ms=np.float64(350.0),
                  t_rest_ms=np.float64(150.0))
    ax = figures.plot_raster(raster, sizes={"hidden": 30, "inhibitory": 30})
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert [t.split("\n")[0] for t in ticks] == ["input", "hidden", "inhibitory", "label"]
    assert "17" in ax.get_title() and "4" in ax.get_title()
    assert len(ax.patches) == 2  # presentation and rest shaded
    saved(ax, tmp_path)


def test_label_responses(rng, tmp_path):
    y = rng.integers(0, 10, 100)
    counts = rng.poisson(1.0, (100, 10))
    counts[np.arange(100), y] += 10
    ax = figures.plot_label_responses(counts, y)
    saved(ax, tmp_path)


def test_embedding_with_unassigned(rng, tmp_path):
    y = np.r_[rng.integers(0, 10, 60), [-1, -1]]
    ax = figures.plot_embedding(rng.normal(size=(62, 2)), y, title="weights")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "unassigned" in legend and len(legend) == np.unique(y).size
    assert ax.get_title() == "weights"
    saved(ax, tmp_path)


def test_layer_embeddings(rng, tmp_path):
    y = rng.integers(0, 10, 30)
    emb = {k: rng.normal(size=(30, 2)) for k in ("input", "hidden", "label")}
    table = pd.DataFrame({"layer": ["input", "hidden", "label"], "silhouette": [0.1, 0.2, 0.3],
                          "knn_accuracy": [0.5, 0.6, 0.7]})
    axes = figures.plot_layer_embeddings(emb, {k: y for k in emb}, table=table)
    assert axes.size == 3 and "0.30" in axes[2].get_title()
    saved(axes, tmp_path)


def test_hidden_label_weights(rng, tmp_path):
    a = np.r_[np.arange(20) % 10, [-1]]
    w = rng.random((21, 10)) * 0.1
    w[np.arange(20), a[:20]] += 1.0
    ax = figures.plot_hidden_label_weights(w, a)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "–"
    saved(ax, tmp_path)
    with pytest.raises(ValueError):
        figures.plot_hidden_label_weights(w, a[:-1])


def test_figures_do_not_import_brian2():
    code = "import sys, bioplastic.analysis.figures; assert 'brian2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --------------------------------------------------------------------------
# analysis/make_figures.py
# --------------------------------------------------------------------------

def test_make_figures_on_synthetic_run(tmp_path, capsys):
    run_dir = write_synthetic_run(tmp_path / "run")
    mf = load_script()
    assert mf.main([str(run_dir), "--max-points", "60"]) == 0
    out = capsys.readouterr().out
    assert "t-SNE of layer 'hidden'" in out and "done in" in out

    fig_dir = run_dir / "figures"
    expected = ["receptive_fields", "theta_distribution", "confusion_supervised", "confusion_assignment",
                "accuracy_curve", "weight_snapshots", "raster", "label_responses", "hidden_label_weights",
                "embedding_input", "embedding_hidden", "embedding_label", "embedding_weights", "embeddings"]
    for name in expected:
        for fmt in ("png", "pdf"):
            path = fig_dir / f"{name}.{fmt}"
            assert path.is_file() and path.stat().st_size > 1000, path

    analysis = json.loads((run_dir / "analysis.json").read_text())
    assert set(analysis["layers"]) == {"input", "hidden", "label", "weights"}
    for name, m in analysis["layers"].items():
        assert -1 <= m["silhouette"] <= 1 and 0 <= m["knn_accuracy"] <= 1, name
        assert "kmeans_ari" in m and "knn_accuracy_embedding" in m
    assert analysis["layers"]["input"]["n_samples"] == 60
    assert analysis["layers"]["weights"]["n_samples"] == 19  # one silent, unassigned neuron
    assert isinstance(analysis["clustering_increases"], bool)
    assert "input -> hidden -> label" in analysis["clustering_statement"]
    assert "figures/raster.pdf" in analysis["figures"]

    table = pd.read_csv(run_dir / "analysis_layers.csv")
    assert list(table["layer"]) == ["input", "hidden", "label", "weights"]


def test_make_figures_no_tsne_single_format(tmp_path):
    run_dir = write_synthetic_run(tmp_path / "run", n_hidden=12, n_test=40, seed=1)
    for name in ("snapshots.npz", "raster.npz", "training.csv", "evaluations.csv"):
        (run_dir / name).unlink()
    mf = load_script()
    assert mf.main([str(run_dir), "--no-tsne", "--formats", "png"]) == 0
    pngs = {p.stem for p in (run_dir / "figures").glob("*.png")}
    assert "confusion_supervised" in pngs and "raster" not in pngs and "accuracy_curve" not in pngs
    assert not any(p.startswith("embedding") for p in pngs)
    assert not list((run_dir / "figures").glob("*.pdf"))
    analysis = json.loads((run_dir / "analysis.json").read_text())
    assert analysis["tsne"] is False and "knn_accuracy_embedding" not in analysis["layers"]["hidden"]


def test_make_figures_incomplete_run_exit_2(tmp_path, capsys):
    run_dir = write_synthetic_run(tmp_path / "run")
    (run_dir / "weights.npz").unlink()
    (run_dir / "metrics.json").unlink()
    mf = load_script()
    assert mf.main([str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "weights.npz" in err and "metrics.json" in err
    assert not (run_dir / "figures").exists() and not (run_dir / "analysis.json").exists()


def test_make_figures_foreign_dir_exit_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a run")
    mf = load_script()
    assert mf.main([str(tmp_path)]) == 2
    assert "run.json" in capsys.readouterr().err
    assert mf.main([str(tmp_path / "does-not-exist")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_make_figures_bad_format_exit_2(tmp_path, capsys):
    run_dir = write_synthetic_run(tmp_path / "run")
    mf = load_script()
    assert mf.main([str(run_dir), "--formats", "png,docx"]) == 2
    assert "docx" in capsys.readouterr().err


def test_make_figures_help_is_fast():
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0 and "--max-points" in proc.stdout and "--no-tsne" in proc.stdout
    assert elapsed < 5.0
    code = ("import runpy, sys; sys.argv = ['make_figures.py', '--help']\n"
            "try:\n    runpy.run_path(%r, run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "assert 'matplotlib' not in sys.modules and 'sklearn' not in sys.modules" % str(SCRIPT))
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_make_figures_curve_only_works_on_a_run_still_training(tmp_path, capsys):
    run_dir = write_synthetic_run(tmp_path / "run")
    for name in ("metrics.json", "weights.npz", "test_counts.npz", "test_samples.csv"):
        (run_dir / name).unlink()  # as while it trains
    mf = load_script()
    assert mf.main([str(run_dir)]) == 2
    assert mf.main([str(run_dir), "--curve-only", "--formats", "png"]) == 0
    assert [p.name for p in (run_dir / "figures").iterdir()] == ["accuracy_curve.png"]
    for name in ("training.csv", "evaluations.csv"):
        (run_dir / name).unlink()
    assert mf.main([str(run_dir), "--curve-only"]) == 2
    assert "neither training.csv nor evaluations.csv" in capsys.readouterr().err
