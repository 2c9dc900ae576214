"""Shared command line and run logic of the surrogate-gradient protocols.

A run directory holds (all written atomically)::

    run.json         the run record: command, seed, config, model, data, software versions
    checkpoint.npz   resume state (bioplastic.gradient.training)
    checkpoint.json  epochs done, status
    weights.npz      model state_dict: w_in (n_in, n_hidden), w_out (n_hidden, n_out)[, w_rec]
                     (of the last epoch; best_weights.npz: of the best validation epoch, --keep-best)
    epochs.csv       one row per epoch: train/val loss, accuracy, cross_entropy, spikes_per_neuron
    metrics.json     final test (and validation) accuracy, loss, spikes per neuron, wall time
    raster.npz       hidden spikes of the first test trials: trial, step, neuron, labels, inputs

``metrics.json`` is written last: its presence marks a finished run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

RUN_FORMAT = "bioplastic.gradient.surrogate/1"
N_RASTER = 20


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def parser(description, defaults):
    """The shared command line; *defaults* overrides per protocol."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--surrogate", default="superspike",
                   help="superspike, sigmoid, esser, asymptotic, constant or true")
    p.add_argument("--beta", type=_positive_float, default=10.0, help="surrogate slope (> 0)")
    p.add_argument("--reset", choices=["detached", "differentiable"], default="detached",
                   help="gradient through the multiplicative reset")
    p.add_argument("--recurrent", action="store_true", help="add recurrent hidden weights")
    p.add_argument("--lower", type=float, nargs=2, metavar=("LAMBDA", "NU"), default=[100.0, 1e-3],
                   help="per-neuron lower bound on spike counts (Table 1: 100, 1e-3)")
    p.add_argument("--no-lower", action="store_true", help="switch the lower bound off")
    p.add_argument("--upper", type=float, nargs=2, metavar=("LAMBDA", "NU"), default=None,
                   help="population upper bound on the mean spike count (L2); off by default")
    p.add_argument("--epochs", type=int, default=defaults.get("epochs", 50))
    p.add_argument("--lr", type=float, default=defaults.get("lr", 0.05), help="Adam learning rate")
    p.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 250))
    p.add_argument("--n-hidden", type=int, default=100)
    p.add_argument("--init-gain", type=float, default=defaults.get("init_gain", 1.0),
                   help="multiplies the initial input (and recurrent) weights of U(-1/sqrt(fan_in), 1/sqrt(fan_in))")
    p.add_argument("--keep-best", action=argparse.BooleanOptionalAction,
                   default=defaults.get("keep_best", False),
                   help="end with the weights of the epoch with the best validation accuracy")
    p.add_argument("--seed", type=int, default=0, help="seeds the data set, weights and shuffling")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", default=None, help="run directory (default: runs/<name>-<date>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true")
    return p


def model_config(args):
    """The part of the arguments that defines the model and its training."""
    return {
        "surrogate": args.surrogate, "beta": args.beta, "reset": args.reset,
        "recurrent": bool(args.recurrent), "n_hidden": args.n_hidden, "init_gain": args.init_gain,
        "lower": None if args.no_lower else list(args.lower),
        "upper": None if args.upper is None else list(args.upper),
        "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
        "keep_best": bool(args.keep_best),
    }


def run(args, name, data_fn, data_config):
    """Train, evaluate and write one run; return the metrics dict.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`parser`.
    name : str
        Protocol name (default run directory prefix).
    data_fn : callable
        ``data_fn(seed) -> (train, validation, test)``, each a
        :class:`bioplastic.data.encoding.SpikeTimes`.
    data_config : dict
        Recorded in run.json under ``data``.
    """
    import numpy as np
    import torch

    from bioplastic.gradient import lif, training
    from bioplastic.runs import check_writable, read_json, save_npz, software_versions, write_json

    torch.set_num_threads(max(1, args.threads))
    out = Path(args.out or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    config = model_config(args)
    record = {"format": RUN_FORMAT, "protocol": name, "command": [sys.executable] + sys.argv,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seed": args.seed,
              "threads": args.threads, "config": config, "data": data_config}
    if (out / "run.json").exists():
        old = read_json(out / "run.json")
        if not args.resume:
            raise SystemExit(f"error: {out} already holds a run; pass --resume to continue it "
                             "or choose another --out")
        if old["config"] != config or old["data"] != data_config:
            raise SystemExit(f"error: {out} holds a run with another configuration; "
                             f"recorded {old['config']} / {old['data']}")
        record["created"] = old["created"]
    check_writable(out)
    log = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))

    t0 = time.perf_counter()
    train, val, test = data_fn(args.seed)
    params = lif.LIFParams(n_in=train.n_units, n_hidden=args.n_hidden,
                           n_out=int(max(train.labels.max(), test.labels.max())) + 1,
                           nb_steps=train.nb_steps)
    model = lif.SpikingNetwork(params, surrogate=args.surrogate, beta=args.beta,
                               recurrent=args.recurrent,
                               differentiable_reset=args.reset == "differentiable",
                               init_gain=args.init_gain,
                               generator=torch.Generator().manual_seed(args.seed))
    loss_fn = lif.MaxOverTimeLoss(
        lower=None if args.no_lower else {"strength": args.lower[0], "threshold": args.lower[1]},
        upper=None if args.upper is None else {"strength": args.upper[0], "threshold": args.upper[1]})
    record["model"] = model.config()
    record["versions"] = dict(software_versions(), torch=torch.__version__)
    write_json(out / "run.json", record)

    sparse = train.n_units > 100  # e.g. 784 latency-coded pixels: sparse input products

    def as_data(split):
        return (lif.SpikeTimesBatches(split.times, split.nb_steps, sparse=sparse),
                torch.as_tensor(split.labels))

    log(f"[{name}] {len(train)} train / {len(val)} validation / {len(test)} test samples; "
        f"{config['surrogate']} beta={config['beta']} reset={config['reset']} "
        f"recurrent={config['recurrent']} -> {out}")
    records = training.fit(model, loss_fn, as_data(train), epochs=args.epochs, lr=args.lr,
                           batch_size=args.batch_size, val_data=as_data(val) if len(val) else None,
                           seed=args.seed, out=out, resume=args.resume, progress=not args.quiet,
                           log=log, keep_best="val_accuracy" if args.keep_best and len(val) else None)
    test_metrics = training.evaluate(model, loss_fn, as_data(test), prefix="test")
    # raster of the first test trials, for figures
    x = lif.spikes_from_times(test.times[:N_RASTER], test.nb_steps)
    with torch.no_grad():
        spikes = model(x).spikes.numpy()
    trial, step, neuron = np.nonzero(spikes)
    save_npz(out / "raster.npz", trial=trial, step=step, neuron=neuron,
             labels=test.labels[:N_RASTER], input_times=test.times[:N_RASTER])
    metrics = {k: v for k, v in test_metrics.items()}
    if len(records):
        last = records.iloc[-1]
        for key in ("val_accuracy", "val_loss", "train_accuracy", "train_loss"):
            if key in records:
                metrics[key] = float(last[key])
        if "val_accuracy" in records:
            best = records["val_accuracy"].idxmax()
            metrics["best_val_accuracy"] = float(records.loc[best, "val_accuracy"])
            metrics["best_val_epoch"] = int(records.loc[best, "epoch"])
    metrics["epochs"] = int(len(records))
    metrics["weights_from_epoch"] = (metrics.get("best_val_epoch", len(records)) if args.keep_best
                                     else int(len(records)))
    metrics["wall_seconds"] = time.perf_counter() - t0
    metrics["n_train"], metrics["n_validation"], metrics["n_test"] = len(train), len(val), len(test)
    write_json(out / "metrics.json", metrics)
    log(f"[{name}] test accuracy {metrics['test_accuracy']:.4f} "
        f"(spikes/neuron {metrics.get('test_spikes_per_neuron', float('nan')):.2f}) -> {out}")
    return metrics


def main(name, description, data_fn_factory, defaults, extra_args=None, argv=None):
    """Parse arguments and run; errors become a message and exit status 2."""
    p = parser(description, defaults)
    if extra_args is not None:
        extra_args(p)
    args = p.parse_args(argv)
    if args.resume and not args.out:
        p.error("--resume needs --out RUN_DIR")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from bioplastic.data.datasets import DataError
    from bioplastic.gradient.training import CheckpointError, TrainingDivergedError
    from bioplastic.runs import RunError

    try:
        data_fn, data_config = data_fn_factory(args)
        run(args, name, data_fn, data_config)
    except (ValueError, DataError, RunError, CheckpointError, TrainingDivergedError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
