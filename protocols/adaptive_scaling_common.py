"""Shared command line, data and model of the adaptive-scaling protocols.

Both protocols train :class:`bioplastic.gradient.adaptive_network.AdaptiveScalingNetwork`
with and without scaling on the offline N-MNIST stand-in (saccade event
streams made from MNIST, :func:`bioplastic.event_streams.mnist_event_dataset`),
with the surrogate family's loop (:func:`bioplastic.gradient.training.fit`) and
loss (:class:`bioplastic.gradient.lif.MaxOverTimeLoss`).  The scaling rule is
a reading of the abstract of Xu et al. 2025 (hypothesis).

A run directory holds (all written atomically)::

    run.json        the run record: command, seeds, configuration, data, versions, status
    <table>.csv     tidy results, rewritten after every finished unit of work
    summary.csv     means and standard deviations over seeds (written at the end)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

RUN_FORMAT = "bioplastic.gradient.adaptive_scaling/1"


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def parser(description, defaults=None):
    """The shared command line (data, network, training, scaling rule, output)."""
    d = {"epochs": 5, "n_train": 300, "n_test": 100, "lr": 2e-3}
    d.update(defaults or {})
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("data (offline N-MNIST stand-in from MNIST)")
    g.add_argument("--n-train-per-class", type=_positive_int, default=d["n_train"])
    g.add_argument("--n-test-per-class", type=_positive_int, default=d["n_test"])
    g.add_argument("--n-steps", type=_positive_int, default=30, help="time bins over the three saccades")
    g.add_argument("--pool", type=_positive_int, default=2, help="OR-pooling of the 34x34 frame")
    g.add_argument("--data-seed", type=int, default=0, help="samples and threshold mismatch of the streams")
    g.add_argument("--data-dir", default=None, help="folder holding mnist/ (else $BIOPLASTIC_DATA)")
    g = p.add_argument_group("network and training")
    g.add_argument("--n-hidden", type=_positive_int, default=100)
    g.add_argument("--init-gain", type=_positive_float, default=3.0,
                   help="multiplies the initial input weights U(-1/sqrt(n_in), 1/sqrt(n_in))")
    g.add_argument("--epochs", type=_positive_int, default=d["epochs"])
    g.add_argument("--lr", type=_positive_float, default=d["lr"], help="Adam learning rate")
    g.add_argument("--batch-size", type=_positive_int, default=64)
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="model seeds (initial weights, shuffling, perturbation noise)")
    g = p.add_argument_group("adaptive scaling (relaxation rule: a reading of the abstract, hypothesis)")
    g.add_argument("--kappa", type=float, default=10.0, help="sensitivity to the afferent intensity")
    g.add_argument("--r-ref", type=float, default=0.05, help="intensity with a* = 1 (spikes per step)")
    g.add_argument("--eta", type=float, default=0.2, help="relaxation rate, q = 1 - eta")
    g.add_argument("--tau-trace", type=_positive_float, default=20.0, help="presynaptic trace time constant (ms)")
    p.add_argument("--threads", type=_positive_int, default=1, help="torch threads")
    p.add_argument("--out", default=None, help="run directory (default: runs/<protocol>-<date>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def config_of(args):
    """The arguments that define data, model and training (recorded in run.json)."""
    return {
        "data": {"dataset": "mnist saccade event streams (offline N-MNIST stand-in)",
                 "n_train_per_class": args.n_train_per_class, "n_test_per_class": args.n_test_per_class,
                 "n_steps": args.n_steps, "pool": args.pool, "seed": args.data_seed},
        "network": {"n_hidden": args.n_hidden, "init_gain": args.init_gain, "surrogate": "superspike",
                    "beta": 10.0, "loss": "MaxOverTimeLoss(lower=Table 1 defaults)"},
        "training": {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "optimizer": "Adam"},
        "scaling": {"rule": "relaxation", "kappa": args.kappa, "r_ref": args.r_ref, "eta": args.eta,
                    "tau_trace_ms": args.tau_trace, "status": "a reading of the abstract (hypothesis)"},
    }


def logger(args):
    if args.quiet:
        return lambda text: None
    return lambda text: print(text, file=sys.stderr, flush=True)


def start_run(args, name):
    """Check the output directory, write the first run record; return (out, record)."""
    from bioplastic.runs import check_writable, software_versions, write_json
    import torch

    out = Path(args.out or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if (out / "run.json").exists():
        raise SystemExit(f"error: {out} already holds a run; choose another --out")
    check_writable(out)
    record = {"format": RUN_FORMAT, "protocol": name, "command": [sys.executable] + sys.argv,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seeds": list(args.seeds),
              "threads": args.threads, "config": config_of(args), "status": "running",
              "versions": dict(software_versions(), torch=torch.__version__)}
    write_json(out / "run.json", record)
    return out, record


def finish_run(out, record, **extra):
    from bioplastic.runs import write_json

    record.update(extra)
    record["status"] = "finished"
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(out / "run.json", record)


def load_data(args, log):
    """``(x_train, y_train, x_test, y_test)`` as numpy arrays."""
    from bioplastic.event_streams import mnist_event_dataset

    t0 = time.perf_counter()
    x_train, y_train = mnist_event_dataset("train", args.n_train_per_class, args.n_steps, args.pool,
                                           seed=args.data_seed, data_dir=args.data_dir)
    x_test, y_test = mnist_event_dataset("test", args.n_test_per_class, args.n_steps, args.pool,
                                         seed=args.data_seed + 1, data_dir=args.data_dir)
    log(f"event streams: {len(y_train)} train / {len(y_test)} test, {x_train.shape[2]} inputs x "
        f"{args.n_steps} steps, {x_train.mean():.4f} spikes per input and step "
        f"({time.perf_counter() - t0:.1f} s)")
    return x_train, y_train, x_test, y_test


def make_model(args, n_in, seed, scaling):
    """The network with (*scaling* true) or without adaptive scaling; same initial weights for the same seed."""
    import torch
    from brian2 import ms

    from bioplastic.gradient.adaptive_network import AdaptiveScalingNetwork
    from bioplastic.gradient.adaptive_scaling import AdaptiveScaling, RelaxationRule
    from bioplastic.gradient.lif import LIFParams

    params = LIFParams(n_in=n_in, n_hidden=args.n_hidden, n_out=10, nb_steps=args.n_steps)
    sc = None
    if scaling:
        sc = AdaptiveScaling(n_in, rule=RelaxationRule(kappa=args.kappa, r_ref=args.r_ref, eta=args.eta),
                             tau_trace=args.tau_trace * ms, dt=params.dt)
    return AdaptiveScalingNetwork(params, scaling=sc, init_gain=args.init_gain,
                                  generator=torch.Generator().manual_seed(int(seed)))


def loss_function():
    from bioplastic.gradient.lif import MaxOverTimeLoss

    return MaxOverTimeLoss(lower={})
