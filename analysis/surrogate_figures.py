#!/usr/bin/env python
"""Figures of the surrogate-gradient runs, read from saved run and sweep directories.

Usage::

    python analysis/surrogate_figures.py [--sweep SWEEP_DIR ...] [--run RUN_DIR ...]
                                         [--out FIG_DIR] [--formats png,pdf]

* for each ``--sweep`` (``protocols/surrogate_sweep.py``): test accuracy
  against beta, one line per surrogate and variant (``accuracy_vs_beta``), and
  when the sweep has an upper-bound grid, accuracy against spikes per neuron
  (``accuracy_vs_activity``, the critical-activity curve);
* for each ``--run`` (``protocols/surrogate_randman.py`` or
  ``surrogate_fashion_mnist.py``): learning curves and the hidden raster of
  the first test trial.

Figures go to ``--out`` (default: ``figures/`` inside each directory).  Nothing
is simulated; neither torch nor Brian2 is imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", nargs="*", default=[], help="sweep directories (with cells.csv)")
    p.add_argument("--run", nargs="*", default=[], help="run directories (with epochs.csv)")
    p.add_argument("--out", default=None, help="figure directory (default: <dir>/figures)")
    p.add_argument("--formats", default="png", help="comma-separated, e.g. png,pdf")
    args = p.parse_args(argv)
    if not args.sweep and not args.run:
        p.error("give at least one --sweep or --run directory")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bioplastic.analysis.figures import save_figure, style
    from bioplastic.gradient.surrogate import figures
    from bioplastic.runs import load_npz, read_json, read_table

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    written = []
    with style():
        for sweep in map(Path, args.sweep):
            if not (sweep / "cells.csv").exists():
                print(f"error: {sweep} has no cells.csv (not a finished sweep)", file=sys.stderr)
                return 2
            cells = read_table(sweep / "cells.csv")
            out = Path(args.out) if args.out else sweep / "figures"
            out.mkdir(parents=True, exist_ok=True)
            n_classes = read_json(next((sweep / "cells").glob("*/run.json")))["data"]["n_classes"]
            fig, ax = plt.subplots(figsize=(4.5, 3.2))
            figures.accuracy_vs_beta(ax, cells, hue=["surrogate", "variant"], chance=1 / n_classes)
            written += save_figure(fig, out, "accuracy_vs_beta", formats)
            plt.close(fig)
            if cells["nu_upper"].notna().any():
                fig, ax = plt.subplots(figsize=(4.5, 3.2))
                figures.accuracy_vs_activity(ax, cells[cells["nu_upper"].notna()],
                                             chance=1 / n_classes)
                written += save_figure(fig, out, "accuracy_vs_activity", formats)
                plt.close(fig)
        for run in map(Path, args.run):
            if not (run / "epochs.csv").exists():
                print(f"error: {run} has no epochs.csv", file=sys.stderr)
                return 2
            out = Path(args.out) if args.out else run / "figures"
            out.mkdir(parents=True, exist_ok=True)
            fig, ax = plt.subplots(figsize=(4.5, 3.2))
            figures.learning_curves(ax, read_table(run / "epochs.csv"))
            written += save_figure(fig, out, f"{run.name}-learning_curves", formats)
            plt.close(fig)
            if (run / "raster.npz").exists():
                r = load_npz(run / "raster.npz")
                record = read_json(run / "run.json")
                n_hidden = record["config"]["n_hidden"]
                fig, ax = plt.subplots(figsize=(4.5, 3.2))
                input_times = r["input_times_steps"] if "input_times_steps" in r else r["input_times"]
                figures.raster(ax, r["trial"], r["step"], r["neuron"], trial=0,
                               input_times=input_times if input_times.shape[1] <= 100 else None,
                               n_hidden=n_hidden, nb_steps=record["data"]["nb_steps"])
                written += save_figure(fig, out, f"{run.name}-raster", formats)
                plt.close(fig)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
