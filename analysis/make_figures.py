#!/usr/bin/env python
"""Make every figure of a saved run, and measure how well its layers cluster.

Usage::

    python analysis/make_figures.py RUN_DIR [--max-points 2000] [--seed 0]
                                            [--no-tsne] [--formats png,pdf]
    python analysis/make_figures.py RUN_DIR --curve-only    # also while it trains

Reads a run directory (``docs/run_format.rst``) and writes

* ``RUN_DIR/figures/<name>.<fmt>`` for every figure (receptive fields,
  thresholds, both confusion matrices, learning curve, weight snapshots,
  raster, label responses, t-SNE embeddings, hidden -> label weights);
* ``RUN_DIR/analysis.json``: per-layer clustering metrics (silhouette, kNN
  accuracy, k-means ARI; see :mod:`bioplastic.analysis.clustering`) and
  ``clustering_increases``, whether silhouette and kNN accuracy both increase
  from the input pixels to the hidden to the label layer;
* ``RUN_DIR/analysis_layers.csv``: the same metrics as a table.

Layers: ``input`` (pixels of the test images), ``hidden`` and ``label``
(spike counts on the test samples), all coloured by the true class, and
``weights`` (incoming weight vectors of hidden neurons that have an
assignment, coloured by the assigned class).  Metrics and embeddings use one
class-stratified random subsample of at most ``--max-points`` points per
layer (0 = all).

``--curve-only`` draws just ``figures/accuracy_curve`` (accuracy against
training samples seen, from ``training.csv`` and ``evaluations.csv``), and
works on a run that is still training.

Exit status: 0 on success, 2 if RUN_DIR is not a complete run directory (the
message names the missing files) or an option is invalid.

Nothing is simulated; no Brian2 is imported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2

#: Layers whose clustering should increase, from input to output.
LAYER_ORDER = ("input", "hidden", "label")

LAYER_DESCRIPTIONS = {
    "input": "pixel intensities (/255) of test images, coloured by true class",
    "hidden": "hidden-layer spike counts on test samples, coloured by true class",
    "label": "label-layer spike counts on test samples, coloured by true class",
    "weights": "input->hidden weight vectors of assigned hidden neurons, coloured by assigned class",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make_figures.py",
        description="Make the figures of a saved bioplastic run and measure layer clustering "
        "(writes RUN_DIR/figures/, RUN_DIR/analysis.json and RUN_DIR/analysis_layers.csv).",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory (see docs/run_format.rst)")
    parser.add_argument(
        "--max-points",
        type=int,
        default=2000,
        metavar="N",
        help="at most N points per layer (class-stratified subsample) for t-SNE and the "
        "clustering metrics; 0 = all (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: %(default)s)")
    parser.add_argument(
        "--no-tsne", action="store_true", help="skip the t-SNE embeddings (metrics in the original spaces only)"
    )
    parser.add_argument(
        "--curve-only", action="store_true",
        help="only the accuracy-against-samples-seen figure; works on a run still training",
    )
    parser.add_argument(
        "--formats",
        default="png,pdf",
        metavar="FMTS",
        help="comma-separated figure formats (default: %(default)s)",
    )
    return parser


def _import_bioplastic():
    """Import the package, falling back to the source tree next to this script."""
    try:
        import bioplastic  # noqa: F401
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bioplastic.analysis import clustering, figures, readout
    from bioplastic import runs

    return clustering, figures, readout, runs


def _error(msg: str) -> int:
    print(f"make_figures.py: error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _log(msg: str) -> None:
    print(msg, flush=True)


def _clean(value):
    """NaN -> None, numpy scalars -> Python numbers (for analysis.json)."""
    import math

    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _confusion_with_silent(readout, labels, predictions, n_classes):
    """Confusion matrix, plus a last "none" column for silent samples (if any)."""
    import numpy as np

    labels = np.asarray(labels, dtype=int)
    predictions = np.asarray(predictions, dtype=int)
    cm = readout.confusion_matrix(labels, predictions, n_classes=n_classes)
    silent = np.bincount(labels[predictions < 0], minlength=n_classes)
    if silent.any():
        cm = np.column_stack([cm, silent])
    return cm


def collect_layers(run, clustering, max_points: int, seed: int):
    """Points and classes of every layer to cluster.

    Returns
    -------
    layers : dict of str to (X, labels)
    skipped : dict of str to str
        Layers left out, with the reason.
    """
    import numpy as np

    counts = run.test_counts
    y = np.asarray(counts["labels"], dtype=int)
    idx = clustering.stratified_subsample(y, max_points, seed=seed)
    images = np.asarray(counts["images"], dtype=float)
    layers = {
        "input": (images[idx].reshape(idx.size, -1) / 255.0, y[idx]),
        "hidden": (np.asarray(counts["hidden_counts"], dtype=float)[idx], y[idx]),
        "label": (np.asarray(counts["label_counts"], dtype=float)[idx], y[idx]),
    }
    skipped = {}
    assignments = np.asarray(run.weights["assignments"], dtype=int)
    assigned = np.flatnonzero(assignments >= 0)
    sub = assigned[clustering.stratified_subsample(assignments[assigned], max_points, seed=seed)]
    n_classes = np.unique(assignments[sub]).size
    if n_classes < 2 or sub.size < max(3, n_classes + 1):
        skipped["weights"] = (
            f"too few assigned hidden neurons to cluster ({sub.size} neurons in {n_classes} classes)"
        )
    else:
        w = np.asarray(run.weights["w_input_hidden"], dtype=float)
        layers["weights"] = (w[:, sub].T, assignments[sub])
    return layers, skipped


def _curve_only(run_dir, formats, figures, runs, plt) -> int:
    """Just the accuracy curve, from whatever a (possibly running) run has written."""
    try:
        run = runs.load_run(run_dir, require=())
    except runs.RunError as err:
        return _error(str(err))
    if run.training is None and run.evaluations is None:
        return _error(f"{run_dir} has neither training.csv nor evaluations.csv yet")
    with figures.style():
        ax = figures.plot_accuracy_curve(run.training, run.evaluations)
        paths = figures.save_figure(ax.figure, Path(run.path) / "figures", "accuracy_curve", formats)
        plt.close(ax.figure)
    for p in paths:
        _log(f"wrote {p}")
    return EXIT_OK


def main(argv=None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    formats = [f.strip().lower().lstrip(".") for f in args.formats.split(",") if f.strip()]
    if not formats:
        return _error("--formats names no format")
    if args.max_points < 0:
        return _error("--max-points must be >= 0")

    t_start = time.perf_counter()
    # heavy imports only after parsing, so that --help is fast
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # a script that only writes files needs no GUI
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    clustering, figures, readout, runs = _import_bioplastic()

    supported = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    bad = [f for f in formats if f not in supported]
    if bad:
        return _error(f"unsupported figure format(s) {', '.join(bad)}; choose from {', '.join(sorted(supported))}")

    if args.curve_only:
        return _curve_only(args.run_dir, formats, figures, runs, plt)
    try:
        run = runs.load_run(args.run_dir)
    except runs.RunError as err:
        return _error(str(err))
    run_dir = Path(run.path)
    fig_dir = run_dir / "figures"
    _log(f"run {run_dir}: {run.record.get('dataset', '?')}, n_hidden = {run.n_hidden}, "
         f"{len(run.test_samples)} test samples")

    n_label = run.n_label
    w_ih = np.asarray(run.weights["w_input_hidden"], dtype=float)
    w_hl = np.asarray(run.weights["w_hidden_label"], dtype=float)
    theta = np.asarray(run.weights["theta_mV"], dtype=float)
    assignments = np.asarray(run.weights["assignments"], dtype=int)
    samples = run.test_samples
    y_true = samples["label"].to_numpy(dtype=int)

    # ------------------------------------------------------------ clustering
    layers, skipped = collect_layers(run, clustering, args.max_points, args.seed)
    for name, reason in skipped.items():
        _log(f"layer {name!r} skipped: {reason}")
    tables, embeddings = [], {}
    for name, (X, labels) in layers.items():
        try:
            table, emb = clustering.layer_cluster_table(
                {name: (X, labels)}, seed=args.seed, tsne=not args.no_tsne, progress=_log
            )
        except ValueError as err:
            skipped[name] = str(err)
            _log(f"layer {name!r} skipped: {err}")
            continue
        tables.append(table)
        embeddings.update(emb)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["layer"])
    if all(name in set(table["layer"]) for name in LAYER_ORDER):
        increases, statement = clustering.clustering_increases(table, order=LAYER_ORDER)
    else:
        increases, statement = None, "not determined: some of the layers input, hidden, label could not be clustered"
    _log(statement)

    # ------------------------------------------------------------ figures
    written: list[Path] = []

    def save(name, ax_or_axes):
        fig = np.ravel(ax_or_axes)[0].figure
        paths = figures.save_figure(fig, fig_dir, name, formats)
        plt.close(fig)
        written.extend(paths)
        _log(f"wrote figures/{name}.{{{','.join(formats)}}}")

    with figures.style():
        order = np.lexsort((np.arange(assignments.size), np.where(assignments < 0, n_label, assignments)))
        if order.size > 400:  # keep tiles legible: 400 neurons spread over the classes
            order = order[np.linspace(0, order.size - 1, 400).round().astype(int)]
        save("receptive_fields", figures.plot_receptive_fields(w_ih, order=order))
        save("theta_distribution", figures.plot_theta_distribution(theta))
        for readout_name, column in (("supervised", "pred_supervised"), ("assignment", "pred_assignment")):
            cm = _confusion_with_silent(readout, y_true, samples[column].to_numpy(dtype=int), n_label)
            save(f"confusion_{readout_name}", figures.plot_confusion(cm, title=f"{readout_name} readout"))
        if run.training is not None or run.evaluations is not None:
            save("accuracy_curve", figures.plot_accuracy_curve(run.training, run.evaluations))
        if run.snapshots is not None:
            save("weight_snapshots", figures.plot_weight_snapshots(run.snapshots))
        if run.raster is not None:
            sizes = {"input": run.n_input, "hidden": run.n_hidden, "inhibitory": run.n_hidden, "label": n_label}
            save("raster", figures.plot_raster(run.raster, sizes=sizes))
        save(
            "label_responses",
            figures.plot_label_responses(run.test_counts["label_counts"], run.test_counts["labels"]),
        )
        save("hidden_label_weights", figures.plot_hidden_label_weights(w_hl, assignments))
        if embeddings:
            emb_labels = {name: layers[name][1] for name in embeddings}
            for name, emb in embeddings.items():
                row = table.set_index("layer").loc[name]
                coloured = "assigned class" if name == "weights" else "true class"
                title = (f"{name} ({coloured}): silhouette {row['silhouette']:.2f}, "
                         f"kNN {row['knn_accuracy']:.0%}")
                save(f"embedding_{name}", figures.plot_embedding(emb, emb_labels[name], title=title))
            save("embeddings", figures.plot_layer_embeddings(embeddings, emb_labels, table=table))

    # ------------------------------------------------------------ numbers
    layer_metrics = {}
    for rec in table.to_dict(orient="records"):
        name = rec.pop("layer")
        layer_metrics[name] = {k: _clean(v) for k, v in rec.items()}
        layer_metrics[name]["description"] = LAYER_DESCRIPTIONS.get(name, "")
    metrics = run.metrics or {}
    analysis = {
        "run_dir": str(run_dir),
        "dataset": run.record.get("dataset"),
        "n_hidden": run.n_hidden,
        "seed": args.seed,
        "max_points": args.max_points,
        "tsne": not args.no_tsne,
        "test_accuracy_supervised": metrics.get("test_accuracy_supervised"),
        "test_accuracy_assignment": metrics.get("test_accuracy_assignment"),
        "layers": layer_metrics,
        "skipped_layers": skipped,
        "clustering_increases": increases,
        "clustering_statement": statement,
        "clustering_criterion": "silhouette and kNN accuracy both increase strictly along input -> hidden -> label",
        "figures": sorted(str(p.relative_to(run_dir)) for p in written),
        "elapsed_seconds": round(time.perf_counter() - t_start, 2),
    }
    runs.write_json(run_dir / "analysis.json", analysis)
    runs.save_table(run_dir / "analysis_layers.csv", table)
    _log(f"wrote analysis.json and analysis_layers.csv ({len(written)} figure files) "
         f"in {time.perf_counter() - t_start:.1f} s")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
