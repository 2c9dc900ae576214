"""Evaluation speed: a trained network on test images, one process against several.

One run measures, on this machine and under its present load, side by side:

* sequential evaluation (the protocols' default: one sample after the other,
  one random stream) in one process;
* with ``--copies P``, the same through P copies of the frozen network at once
  (population mode, :func:`bioplastic.symstdp.training.evaluate_batched`) on
  ``--device`` (cpp_standalone or cuda_standalone), again checked spike for spike;
* independent evaluation (``--evaluation independent``: keyed random numbers,
  every window from rest) in one process, and split over ``--workers``
  processes (:func:`bioplastic.symstdp.training.evaluate`), checking that the
  split gives the same spikes, sample for sample.

The network is a finished protocol run's (``--run RUN_DIR``: its checkpoint
and parameters, through :func:`bioplastic.load`); the images are the first
``--samples`` of the test split.  Compilation is outside the timings (each
Engine is built first; the workers' start-up, which builds the same Engine
from the compiled code, is inside).

Example::

    python benchmarks/bench_evaluation.py --run runs/mnist-6400 --samples 2000 --workers 1 2 --json eval.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_description  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a finished sym-STDP run directory")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--copies", type=int, nargs="*", default=[], metavar="P",
                    help="also evaluate through P copies of the network at once (population mode, "
                         "training.evaluate_batched), checking the same spikes as one process")
    ap.add_argument("--device", default="cpp_standalone", choices=["cpp_standalone", "cuda_standalone"],
                    help="device of the batched evaluation (--copies)")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from brian2.devices import reinit_and_delete

    import bioplastic
    from bioplastic.analysis import readout
    from bioplastic.data.datasets import load_dataset
    from bioplastic.symstdp.device.engine import Engine
    from bioplastic.symstdp.experiment import test_phase_seeds
    from bioplastic.symstdp.training import evaluate, evaluate_batched, pixel_rates, run_phase

    clf = bioplastic.load(args.run)
    params = clf._params()
    model_kwargs = clf._net_model().engine_kwargs()
    x, y = load_dataset(clf.variant, "test", data_dir=args.data_dir)
    x, y = clf._images(x[: args.samples], reset=False), y[: args.samples].astype(np.int64)
    rates = pixel_rates(x, params.input)
    machine = machine_description()
    print(f"machine: {machine}; {load_average()}; run {args.run}: N_E = {params.n_hidden}, "
          f"float32 {clf.float32}, {len(y)} test samples", flush=True)
    results = {"machine": machine, "run": str(args.run), "n_hidden": params.n_hidden,
               "samples": int(len(y)), "float32": bool(clf.float32), "timings": {}}

    def report(label, seconds, res):
        acc = readout.accuracy(readout.supervised_predictions(res.label_counts), y)
        results["timings"][label] = {"seconds": seconds, "samples_per_second": len(y) / seconds,
                                     "accuracy_supervised": acc}
        print(f"{label:34s} {seconds:8.1f} s  {len(y) / seconds:8.1f} samples/s  label-layer accuracy "
              f"{acc:.4f}  [{load_average()}]", flush=True)

    options = dict(device="cpp_standalone", chunk_size=args.chunk_size, float32=clf.float32, seed=0,
                   verbose=False, **model_kwargs)
    reinit_and_delete()
    eng = Engine(params, **options)
    t0 = time.perf_counter()
    _, seq = run_phase(eng, clf.state_, rates, y, False, test_phase_seeds(0))
    report("sequential, 1 process", time.perf_counter() - t0, seq)
    eng.close()
    del eng
    reinit_and_delete()
    eng = Engine(params, evaluation="independent", **options)
    ids = 1_000_000 + np.arange(len(y))
    first = None
    for w in args.workers:
        t0 = time.perf_counter()
        res = evaluate(eng, clf.state_, rates, y, ids, workers=w)
        report(f"independent, {w} process{'es' if w > 1 else ''}", time.perf_counter() - t0, res)
        if first is None:
            first = (w, res)
        else:
            same = all(np.array_equal(getattr(first[1], k), getattr(res, k))
                       for k in ("hidden_counts", "label_counts", "n_presentations"))
            results["timings"][f"independent, {w} processes"]["same_spikes_as_1"] = bool(same)
            print(f"  {w} processes: the same spikes as {first[0]}, sample for sample: {same}", flush=True)
    for copies in args.copies:
        eng.close()
        del eng
        reinit_and_delete()
        chunk = max(1, min(args.chunk_size, -(-len(y) // copies)))
        eng = Engine(params, **dict(options, device=args.device, chunk_size=chunk),
                     population=copies, seeds=[0] * copies)
        t0 = time.perf_counter()
        res = evaluate_batched(eng, clf.state_, rates, y, ids, seed=0)
        label = f"{copies} copies at once, {args.device}"
        report(label, time.perf_counter() - t0, res)
        same = all(np.array_equal(getattr(first[1], k), getattr(res, k))
                   for k in ("hidden_counts", "label_counts", "n_presentations"))
        results["timings"][label].update(same_spikes_as_1=bool(same), chunk_size=chunk)
        print(f"  {copies} copies: the same spikes as one process, sample for sample: {same}", flush=True)
    t = results["timings"]
    base = t["sequential, 1 process"]["seconds"]
    for label, v in t.items():
        v["speedup_vs_sequential"] = base / v["seconds"]
        print(f"{label:34s} {base / v['seconds']:.2f}x the sequential evaluation (same run)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
