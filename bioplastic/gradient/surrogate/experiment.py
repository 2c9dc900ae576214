"""One surrogate-gradient training run: command line, data, model assembly and the run directory.

The protocols ``protocols/surrogate_randman.py`` and
``protocols/surrogate_fashion_mnist.py`` are :func:`main` with a data set
(:func:`randman_data`, :func:`image_data`).  A run directory holds (all
written atomically; ``docs/run_format.rst``)::

    run.json         the run record (format_version 1, family "surrogate"): command, seed,
                     config (every option), model, data, software versions
    checkpoint.npz   resume state (bioplastic.gradient.training)
    checkpoint.json  epochs done, status
    weights.npz      model state_dict: w_in (n_in, n_hidden), w_out (n_hidden, n_out)[, w_rec]
                     (of the last epoch; best_weights.npz: of the best validation epoch, --keep-best)
    epochs.csv       one row per epoch: train/val loss, accuracy, cross_entropy, spikes_per_neuron
    metrics.json     final test (and validation) accuracy, loss, spikes per neuron, wall time
    raster.npz       hidden spikes of the first test trials: trial, step, neuron (one entry
                     per spike), labels, input_times_steps (input spike times in steps of 1 ms)

``metrics.json`` is written last: its presence marks a finished run.

This module imports neither torch nor Brian2 until a run starts, so bad
options are answered at once (exit status 2, :mod:`bioplastic.cli`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bioplastic import cli
from bioplastic.gradient import rundir

RUN_FORMAT = "bioplastic.gradient.surrogate/1"
FAMILY = "surrogate"
N_RASTER = 20
#: Names accepted by ``--surrogate`` (those of :data:`bioplastic.gradient.surrogates.SURROGATES`).
SURROGATE_NAMES = ("superspike", "sigmoid", "esser", "asymptotic", "constant", "true")

__all__ = ["RUN_FORMAT", "parser", "model_config", "run", "main", "add_randman_options", "randman_data",
           "add_image_options", "image_data"]


def parser(description, defaults, data=False):
    """The shared command line (:func:`bioplastic.cli.parser` plus the model and training options)."""
    p = cli.parser(description, out_hint="runs/<protocol>-<date>-<time>", data=data, threads="torch threads")
    p.add_argument("--surrogate", choices=SURROGATE_NAMES, default="superspike", help="surrogate derivative")
    p.add_argument("--beta", type=cli.positive_float, default=10.0, help="surrogate slope (> 0)")
    p.add_argument("--reset", choices=["detached", "differentiable"], default="detached",
                   help="gradient through the multiplicative reset")
    p.add_argument("--recurrent", action="store_true", help="add recurrent hidden weights")
    p.add_argument("--lower", type=cli.non_negative_float, nargs=2, metavar=("LAMBDA", "NU"),
                   default=[100.0, 1e-3], help="per-neuron lower bound on spike counts (Table 1: 100, 1e-3)")
    p.add_argument("--no-lower", action="store_true", help="switch the lower bound off")
    p.add_argument("--upper", type=cli.non_negative_float, nargs=2, metavar=("LAMBDA", "NU"), default=None,
                   help="population upper bound on the mean spike count (L2); off by default")
    p.add_argument("--epochs", type=cli.positive_int, default=defaults.get("epochs", 50))
    p.add_argument("--lr", type=cli.positive_float, default=defaults.get("lr", 0.05), help="Adam learning rate")
    p.add_argument("--batch-size", type=cli.positive_int, default=defaults.get("batch_size", 250))
    p.add_argument("--n-hidden", type=cli.positive_int, default=100)
    p.add_argument("--init-gain", type=cli.positive_float, default=defaults.get("init_gain", 1.0),
                   help="multiplies the initial input (and recurrent) weights of U(-1/sqrt(fan_in), 1/sqrt(fan_in))")
    p.add_argument("--keep-best", action=argparse.BooleanOptionalAction,
                   default=defaults.get("keep_best", False),
                   help="end with the weights of the epoch with the best validation accuracy")
    return p


def model_config(args):
    """The part of the arguments that defines the model and its training (run.json ``training``)."""
    return {
        "surrogate": args.surrogate, "beta": args.beta, "reset": args.reset,
        "recurrent": bool(args.recurrent), "n_hidden": args.n_hidden, "init_gain": args.init_gain,
        "lower": None if args.no_lower else list(args.lower),
        "upper": None if args.upper is None else list(args.upper),
        "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
        "keep_best": bool(args.keep_best),
    }


# --------------------------------------------------------------------------- data sets

def add_randman_options(p):
    g = p.add_argument_group("Randman data")
    g.add_argument("--n-classes", type=cli.int_at_least(2), default=10)
    g.add_argument("--n-units", type=cli.positive_int, default=20)
    g.add_argument("--n-samples", type=cli.int_at_least(3), default=1000, help="samples per class")
    g.add_argument("--split", type=cli.non_negative_int, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="per-class split (default 80/10/10 %% of --n-samples)")
    g.add_argument("--alpha", type=cli.positive_float, default=1.0)
    g.add_argument("--dim-manifold", type=cli.positive_int, default=1)
    g.add_argument("--spectrum", choices=["code", "paper"], default="code")
    g.add_argument("--nb-steps", type=cli.positive_int, default=100)
    g.add_argument("--data-seed", type=cli.non_negative_int, default=None, help="data seed (default: --seed)")


def randman_data(args):
    """``(data_fn, data_config)`` of the spiking Randman task (Zenke & Vogels 2021)."""
    split = args.split or [int(0.8 * args.n_samples), int(0.1 * args.n_samples),
                           args.n_samples - int(0.8 * args.n_samples) - int(0.1 * args.n_samples)]
    config = dict(dataset="randman", n_classes=args.n_classes, n_units=args.n_units,
                  n_samples=args.n_samples, split=list(split), alpha=args.alpha,
                  dim_manifold=args.dim_manifold, spectrum=args.spectrum, nb_steps=args.nb_steps,
                  step_frac=0.5, seed=args.seed if args.data_seed is None else args.data_seed)

    def data_fn(seed):
        from bioplastic.data import encoding

        d = encoding.make_randman(n_classes=args.n_classes, n_units=args.n_units,
                                  n_samples=args.n_samples, dim_manifold=args.dim_manifold,
                                  alpha=args.alpha, nb_steps=args.nb_steps, step_frac=0.5,
                                  spectrum=args.spectrum, split=split, seed=config["seed"])
        return d.train, d.validation, d.test

    return data_fn, config


def add_image_options(p):
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=["fashion-mnist", "mnist"], default="fashion-mnist")
    g.add_argument("--n-train", type=cli.positive_int, default=None,
                   help="training samples (default: all 60000 minus the validation split)")
    g.add_argument("--n-validation", type=cli.non_negative_int, default=5000, help="held out of the training set")
    g.add_argument("--n-test", type=cli.positive_int, default=None, help="test samples (default: all 10000)")
    g.add_argument("--tau-eff", type=cli.positive_float, default=20.0, help="latency-code time constant (steps)")
    g.add_argument("--theta", type=cli.fraction, default=0.2, help="latency-code threshold, in [0, 1)")
    g.add_argument("--nb-steps", type=cli.positive_int, default=100)


def image_data(args):
    """``(data_fn, data_config)`` of latency-coded (Fashion-)MNIST (the spytorch tutorials' code)."""
    config = dict(dataset=args.dataset, code="latency", tau_eff=args.tau_eff, theta=args.theta,
                  nb_steps=args.nb_steps, n_train=args.n_train, n_validation=args.n_validation,
                  n_test=args.n_test, split_seed=args.seed)

    def data_fn(seed):
        from bioplastic.data import datasets, encoding

        images, labels = datasets.load_dataset(args.dataset, "train", args.data_dir)
        train_idx, val_idx = datasets.train_validation_split(len(images), args.n_validation, seed)
        if args.n_train is not None:
            train_idx = train_idx[: args.n_train]
        test_images, test_labels = datasets.load_dataset(args.dataset, "test", args.data_dir)
        if args.n_test is not None:
            test_images, test_labels = test_images[: args.n_test], test_labels[: args.n_test]

        def code(imgs, labs):
            return encoding.latency_encode_images(imgs, labs, args.tau_eff, args.theta, args.nb_steps)

        return (code(images[train_idx], labels[train_idx]), code(images[val_idx], labels[val_idx]),
                code(test_images, test_labels))

    return data_fn, config


# --------------------------------------------------------------------------- the run

def _check_resumable(old, args, config, data_config, out):
    """Refuse to continue a run recorded with other options (naming them)."""
    from bioplastic.runs import RunError

    if "format_version" not in old:  # written before the house format: its config was model_config
        if old.get("config") != model_config(args) or old.get("data") != data_config:
            raise RunError(f"{out} holds a run with another configuration; "
                           f"recorded {old.get('config')} / {old.get('data')}")
        return
    diff = rundir.differing_options(old.get("config", {}), config)
    if diff or old.get("data") != data_config:
        what = "; ".join(f"--{k.replace('_', '-')} (recorded {old['config'].get(k)!r}, now {config.get(k)!r})"
                         for k in diff) or f"data (recorded {old.get('data')}, now {data_config})"
        raise RunError(f"{out} holds a run with another configuration: {what}")


def run(args, name, data_fn, data_config, command=None):
    """Train, evaluate and write one run; return the metrics dict.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`parser` (and the data set's options).
    name : str
        Protocol name (recorded; default run directory prefix).
    data_fn : callable
        ``data_fn(seed) -> (train, validation, test)``, each a
        :class:`bioplastic.data.encoding.SpikeTimes`.
    data_config : dict
        Recorded in run.json under ``data``.
    command : list of str, optional
        argv recorded in run.json (default: this process's).

    Raises
    ------
    bioplastic.runs.RunError
        ``--out`` holds a run and ``--resume`` is not given, or it holds a
        run with other options; training diverges; a bad checkpoint.
    """
    import numpy as np
    import torch

    from bioplastic.gradient import lif, training
    from bioplastic.runs import RunError, check_writable, read_json, save_npz, write_json

    torch.set_num_threads(max(1, args.threads))
    out = Path(args.out or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    record = rundir.new_record(FAMILY, name.replace("-", "_"), args, command=command, format=RUN_FORMAT,
                               threads=args.threads, training=model_config(args), data=data_config)
    if (out / "run.json").exists():
        old = read_json(out / "run.json")
        if not args.resume:
            raise RunError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        _check_resumable(old, args, record["config"], data_config, out)
        record["created"] = old["created"]
    check_writable(out)
    log = rundir.logger(args.quiet)

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
    record["versions"]["torch"] = torch.__version__
    write_json(out / "run.json", record)

    sparse = train.n_units > 100  # e.g. 784 latency-coded pixels: sparse input products

    def as_data(split):
        return (lif.SpikeTimesBatches(split.times, split.nb_steps, sparse=sparse),
                torch.as_tensor(split.labels))

    log(f"[{name}] {len(train)} train / {len(val)} validation / {len(test)} test samples; "
        f"{args.surrogate} beta={args.beta} reset={args.reset} recurrent={bool(args.recurrent)} -> {out}")
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
             labels=test.labels[:N_RASTER], input_times_steps=test.times[:N_RASTER])
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
    metrics = rundir.write_metrics(out, metrics)
    log(f"[{name}] test accuracy {metrics['test_accuracy']:.4f} "
        f"(spikes/neuron {metrics.get('test_spikes_per_neuron', float('nan')):.2f}) -> {out}")
    return metrics


def main(name, description, data_factory, defaults, extra_args=None, argv=None, data=False):
    """Parse *argv*, then :func:`run` through :func:`bioplastic.cli.run`; the exit status.

    Bad options exit 2 before anything is imported or written; library
    errors for bad input (data, run directory, diverged training) exit 2 with
    one line.
    """
    p = parser(description, defaults, data=data)
    if extra_args is not None:
        extra_args(p)
    args = cli.parse(p, argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    def body():
        data_fn, data_config = data_factory(args)
        run(args, name, data_fn, data_config)

    return cli.run(body)
