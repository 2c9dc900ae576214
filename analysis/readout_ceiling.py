#!/usr/bin/env python
"""How much of a saved sym-STDP run's accuracy is the hidden layer's, and how much the readout's.

Usage::

    python analysis/readout_ceiling.py RUN_DIR [--n-fit 50000] [--C 10] [--json OUT.json]

Reads the run's training responses (``train_counts/``: the hidden spike counts
of every training sample, learning on) and its frozen test responses
(``test_counts.npz``), fits three readouts on the last ``--n-fit`` training
samples and scores them on the test set, beside the run's own label layer:

* class-mean template (:func:`bioplastic.analysis.readout.class_mean_predictions`:
  what the Hebbian label pathway with weight normalisation approximates);
* assignment (Diehl & Cook 2015), from the same fitting samples;
* logistic regression (:func:`bioplastic.analysis.readout.linear_readout_predictions`):
  what a fitted, discriminative linear readout of the same counts reaches.

Nothing is simulated.  Exit status 2 when RUN_DIR lacks the saved counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_counts(run, n_fit):
    """The last ``n_fit`` training samples' hidden counts and labels, and the test counts."""
    files = sorted((run / "train_counts").glob("chunk_*.npz"))
    test = run / "test_counts.npz"
    if not files or not test.is_file():
        raise FileNotFoundError(f"{run}: no train_counts/chunk_*.npz or test_counts.npz (a finished "
                                "sym-STDP protocol run keeps both)")
    xs, ys, n = [], [], 0
    for f in reversed(files):
        with np.load(f) as z:
            xs.append(z["hidden_counts"])
            ys.append(z["labels"])
        n += len(ys[-1])
        if n >= n_fit:
            break
    x, y = np.concatenate(xs[::-1])[-n_fit:], np.concatenate(ys[::-1])[-n_fit:]
    with np.load(test) as t:
        return x, y, t["hidden_counts"], t["labels"], t["label_counts"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--n-fit", type=int, default=50000, help="training samples to fit on (the last ones)")
    ap.add_argument("--C", type=float, default=10.0, help="inverse regularisation of the logistic regression")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from bioplastic.analysis import readout

    try:
        x, y, xt, yt, label_counts = load_counts(args.run, args.n_fit)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    assignments = readout.assign_neurons(x, y)
    result = {
        "run": str(args.run), "n_fit": int(len(y)), "n_test": int(len(yt)), "C": args.C,
        "label_layer": readout.accuracy(readout.supervised_predictions(label_counts), yt),
        "class_mean_template": readout.accuracy(readout.class_mean_predictions(x, y, xt), yt),
        "assignment": readout.accuracy(readout.assignment_predictions(xt, assignments), yt),
        "logistic_regression": readout.accuracy(readout.linear_readout_predictions(x, y, xt, C=args.C), yt),
    }
    print(f"{args.run}: fitted on the last {len(y)} training samples, scored on {len(yt)} test samples:")
    for key in ("label_layer", "class_mean_template", "assignment", "logistic_regression"):
        print(f"  {key.replace('_', ' '):22s} {result[key]:.4f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
