#!/usr/bin/env python
"""Figures of TTFS runs and sweeps, from saved data only (never re-simulating).

Usage::

    python analysis/ttfs_figures.py --sweep runs/ttfs-sweep-mnist --run runs/ttfs-mnist-400 \\
        [--out figs/ttfs] [--formats png,pdf] [--sample 0]

Writes, into ``--out`` (default: ``<sweep or run>/figures``):

* ``accuracy_vs_spikes``  test accuracy against spikes per sample per
  regulariser (from the sweep's ``cells.csv``);
* ``spikes_per_layer``    spikes per sample in each layer against gamma per
  regulariser (sweep, averaged over seeds), or the run's spikes per layer;
* ``spike_time_histograms`` and ``raster`` of one test sample through the
  layers (from the run's ``test_spikes.npz``).
"""

import argparse
import sys
from pathlib import Path

import numpy as np


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", default=None, help="sweep directory of protocols/ttfs_sweep.py")
    p.add_argument("--run", default=None, help="run directory of protocols/ttfs_mnist.py")
    p.add_argument("--out", default=None)
    p.add_argument("--formats", default="png")
    p.add_argument("--sample", type=int, default=0, help="test sample of the raster")
    args = p.parse_args(argv)
    if args.sweep is None and args.run is None:
        p.error("give --sweep and/or --run")
    return args


def main(argv=None):
    args = parse(argv)
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd

    from bioplastic.analysis.figures import save_figure, style
    from bioplastic.gradient.ttfs import figures as tf
    from bioplastic.runs import load_npz, read_json

    out = Path(args.out or Path(args.sweep or args.run) / "figures")
    formats = tuple(args.formats.split(","))
    written = []
    with style():
        if args.sweep is not None:
            cells = pd.read_csv(Path(args.sweep) / "cells.csv")
            ax = tf.plot_accuracy_vs_spikes(cells)
            written += save_figure(ax.figure, out, "accuracy_vs_spikes", formats)
            ax = tf.plot_layer_spikes_vs_gamma(cells)
            written += save_figure(ax.figure, out, "spikes_per_layer", formats)
        if args.run is not None:
            run = Path(args.run)
            t_max = read_json(run / "run.json")["network"]["t_max"]
            spikes = load_npz(run / "test_spikes.npz")
            layers = [spikes[f"layer{i}"] for i in range(len(spikes) - 1)]
            ax = tf.plot_spike_time_histograms(layers, t_max)
            written += save_figure(ax.figure, out, "spike_time_histograms", formats)
            ax = tf.plot_raster([t[args.sample] for t in layers], t_max)
            ax.set_title(f"test sample {args.sample} (label {int(spikes['labels'][args.sample])})")
            written += save_figure(ax.figure, out, "raster", formats)
            if args.sweep is None:
                ev = pd.read_csv(run / "evaluations.csv")
                test = ev[ev.split == "test"].iloc[0]
                cols = sorted(c for c in ev.columns if c.startswith("spikes_l"))
                ax = tf.plot_spikes_per_layer({"test": np.array([test[c] for c in cols])})
                written += save_figure(ax.figure, out, "spikes_per_layer", formats)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
