#!/usr/bin/env python
"""What the error readout rule would have learned from a saved sym-STDP run's hidden layer.

Usage::

    python analysis/readout_replay.py RUN_DIR [--eta 0.03 ...] [--exponent 4 ...] [--every 10000]
                                      [--responses validation|test] [--json OUT.json]

The label pathway feeds nothing back to the hidden layer, so a run's hidden
responses (``train_counts/``: the hidden spike counts of every training window,
in order) are those of the same run with any other label rule.  This replays
:func:`bioplastic.analysis.readout.replay_normalised_error` (the rule of the
model ``hao-2020-error-readout``, in numpy) over them from uniform initial
weights, for every combination of ``--eta`` and ``--exponent``, and scores the
learned weights by the label neurons' drives (``argmax r @ w``) on the run's
frozen responses to its validation split (``validation_counts.npz``; choose
the rule's values on these) or to the test set (``--responses test``, for
reporting), beside the run's own label layer on the same responses.  The
responses are those of the run's final network, so scores along the way
(``--every``) are a lower bound of what a network stopped there would give.
A sample shown again (fewer than ``min_spikes`` hidden spikes) counts as one
window of its summed counts.

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
    ap.add_argument("--eta", type=float, nargs="+", default=[0.1],
                    help="learning rate(s) per presynaptic spike (0.1: the model's value at N_E = 6400)")
    ap.add_argument("--exponent", type=float, nargs="+", default=[4.0])
    ap.add_argument("--every", type=int, default=10000, help="score every N windows")
    ap.add_argument("--responses", choices=["validation", "test"], default="validation",
                    help="score on the validation responses (default; validation_counts.npz) or the test "
                         "responses (test_counts.npz)")
    ap.add_argument("--responses-file", type=Path, default=None,
                    help="the responses from another file of the same layout (e.g. recomputed for a run "
                         "that predates validation_counts.npz)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the uniform initial weights")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from bioplastic.analysis import readout

    files = sorted((args.run / "train_counts").glob("chunk_*.npz"))
    responses = args.responses_file or args.run / f"{args.responses}_counts.npz"
    record = args.run / "run.json"
    if not files or not responses.is_file() or not record.is_file():
        print(f"{args.run}: no train_counts/chunk_*.npz, {responses.name} or run.json (a finished sym-STDP "
              "protocol run keeps them; validation_counts.npz needs --n-validation)", file=sys.stderr)
        return 2
    stdp = json.loads(record.read_text())["params"]["stdp_label"]
    w_total, w_max = float(stdp["w_total"]), float(stdp["w_max"])
    with np.load(responses) as t:
        xt, yt, label_counts = t["hidden_counts"].astype(float), t["labels"], t["label_counts"]
    w0 = np.random.default_rng(args.seed).uniform(0, float(stdp["w_init_max"]),
                                                   (xt.shape[1], label_counts.shape[1]))
    label_layer = readout.accuracy(readout.supervised_predictions(label_counts), yt)
    print(f"{args.run}: {args.responses} responses ({len(yt)} samples), the run's label layer "
          f"{label_layer:.4f}")
    replays = []
    for eta in args.eta:
        for exponent in args.exponent:
            w, curve, seen, next_score = w0, [], 0, args.every
            for f in files:
                with np.load(f) as z:
                    x, y = z["hidden_counts"], z["labels"]
                w = readout.replay_normalised_error(w, x, y, w_total, eta, exponent, w_max)
                seen += len(y)
                if seen >= next_score or f == files[-1]:
                    curve.append({"windows": seen,
                                  "accuracy_drive": readout.accuracy(np.argmax(xt @ w, axis=1), yt)})
                    next_score = seen + args.every
            replays.append({"eta": eta, "exponent": exponent, "n_windows": seen,
                            "accuracy_drive": curve[-1]["accuracy_drive"], "curve": curve})
            print(f"  eta {eta:g}, exponent {exponent:g}: {curve[-1]['accuracy_drive']:.4f} after {seen} "
                  "windows (" + ", ".join(f"{c['accuracy_drive']:.3f}" for c in curve[-4:]) + " over the "
                  "last scores)", flush=True)
    result = {"run": str(args.run), "responses": args.responses, "responses_file": str(responses),
              "n_samples": int(len(yt)), "w_total": w_total, "w_max": w_max, "seed": args.seed,
              "label_layer": label_layer, "replays": replays}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
