#!/usr/bin/env python
"""What the error readout rule would have learned from a saved sym-STDP run's hidden layer.

Usage::

    python analysis/readout_replay.py RUN_DIR [--eta 0.03] [--exponent 4] [--every 10000] [--json OUT.json]

The label pathway feeds nothing back to the hidden layer, so a run's hidden
responses (``train_counts/``: the hidden spike counts of every training window,
in order) are those of the same run with any other label rule.  This replays
:func:`bioplastic.analysis.readout.replay_normalised_error` (the rule of the
model ``hao-2020-error-readout``, in numpy) over them from uniform initial
weights, and scores the learned weights on the run's frozen test responses
(``test_counts.npz``) by the label neurons' drives (``argmax r @ w``), beside the
run's own label layer.  The test responses are those of the run's final
network, so scores along the way (``--every``) are a lower bound of what a
network stopped there would give.

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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--eta", type=float, default=0.03, help="learning rate per presynaptic spike (0.03: the "
                    "model's value at N_E = 6400)")
    ap.add_argument("--exponent", type=float, default=4.0)
    ap.add_argument("--every", type=int, default=10000, help="score on the test responses every N windows")
    ap.add_argument("--seed", type=int, default=0, help="seed of the uniform initial weights")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from bioplastic.analysis import readout

    files = sorted((args.run / "train_counts").glob("chunk_*.npz"))
    test, record = args.run / "test_counts.npz", args.run / "run.json"
    if not files or not test.is_file() or not record.is_file():
        print(f"{args.run}: no train_counts/chunk_*.npz, test_counts.npz or run.json (a finished sym-STDP "
              "protocol run keeps them)", file=sys.stderr)
        return 2
    stdp = json.loads(record.read_text())["params"]["stdp_label"]
    w_total, w_max = float(stdp["w_total"]), float(stdp["w_max"])
    with np.load(test) as t:
        xt, yt, label_counts = t["hidden_counts"].astype(float), t["labels"], t["label_counts"]
    w = np.random.default_rng(args.seed).uniform(0, float(stdp["w_init_max"]), (xt.shape[1], label_counts.shape[1]))
    curve, seen, next_score = [], 0, args.every
    for f in files:
        with np.load(f) as z:
            x, y = z["hidden_counts"], z["labels"]
        w = readout.replay_normalised_error(w, x, y, w_total, args.eta, args.exponent, w_max)
        seen += len(y)
        if seen >= next_score or f == files[-1]:
            acc = readout.accuracy(np.argmax(xt @ w, axis=1), yt)
            curve.append({"windows": seen, "test_accuracy_drive": acc})
            print(f"  {seen:7d} windows: test accuracy (argmax drive) {acc:.4f}", flush=True)
            next_score = seen + args.every
    result = {"run": str(args.run), "eta": args.eta, "exponent": args.exponent, "w_total": w_total,
              "w_max": w_max, "seed": args.seed, "n_windows": seen, "n_test": int(len(yt)),
              "label_layer": readout.accuracy(readout.supervised_predictions(label_counts), yt),
              "error_readout_replay": curve[-1]["test_accuracy_drive"], "curve": curve}
    print(f"{args.run}: label layer {result['label_layer']:.4f}; error readout replayed over {seen} windows "
          f"{result['error_readout_replay']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
