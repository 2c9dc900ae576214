#!/usr/bin/env python
"""Train a time-to-first-spike MLP (Sakemi et al. 2023) on MNIST or Fashion-MNIST.

One spike per pixel (``t = t_in (1 - x)``), fully connected layers of
non-leaky IF neurons with step currents (one spike at most each), exact
spike-time gradients, softmax cross-entropy on the negative output times,
optionally plus ``gamma`` times a sparse-firing regulariser (M-SSR or F-SSR:
HYPOTHESES for the papers' forms, see bioplastic/gradient/ttfs/regularizers.py).
Training uses the family-wide loop ``bioplastic.gradient.training.fit``.

The run directory (``--out``) holds, all written atomically:

``run.json``          command, arguments, seeds, data, software, status, results
``epochs.csv``        one row per epoch: train/validation loss, accuracy,
                      cross-entropy, regulariser, spikes per sample per layer,
                      seconds (written by ``fit``)
``evaluations.csv``   validation and test evaluations of the final network,
                      with spikes per sample per layer
``weights.npz``       the final weights (``weights.0``, ``weights.1``, ...)
``checkpoint.npz``    resume state (``--resume``)
``test_spikes.npz``   spike times of every layer for the first ``--n-raster``
                      test samples (``layer0`` = input), ``labels``; ``inf`` = silent

Example (the measured baseline of docs/ttfs.rst)::

    python protocols/ttfs_mnist.py --dataset mnist --hidden 400 --epochs 3 \\
        --out runs/ttfs-mnist-400
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--hidden", type=int, nargs="*", default=[400],
                   help="hidden layer sizes (none: a single layer of synapses)")
    p.add_argument("--regularizer", choices=["none", "m-ssr", "f-ssr"], default="none")
    p.add_argument("--gamma", type=float, default=0.0, help="regulariser coefficient (>= 0)")
    p.add_argument("--sigma", type=float, default=0.1, help="softmax temperature on output times")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--t-in", type=float, default=1.0, help="input window")
    p.add_argument("--t-max", type=float, default=None,
                   help="window end of all layers (> t-in); default (number of layers + 1) * t-in")
    p.add_argument("--init-mean", type=float, default=6.0, help="see TTFSNetwork")
    p.add_argument("--init-std", type=float, default=3.0, help="see TTFSNetwork")
    p.add_argument("--n-train", type=int, default=None,
                   help="training samples (default: the whole training split minus validation)")
    p.add_argument("--n-validation", type=int, default=5000,
                   help="training samples held out for validation (tuning)")
    p.add_argument("--n-test", type=int, default=None, help="test samples (default all 10000)")
    p.add_argument("--n-raster", type=int, default=200, help="test samples whose spike times are saved")
    p.add_argument("--seed", type=int, default=0, help="seeds weights, split and shuffling")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", default=None,
                   help="run directory (default runs/ttfs-<dataset>-<regularizer>-g<gamma>-seed<seed>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--data-dir", default=None, help="folder with mnist/ and fashion-mnist/")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.gamma < 0:
        p.error(f"--gamma must be >= 0, got {args.gamma}")
    if args.regularizer == "none" and args.gamma != 0:
        p.error("--gamma needs --regularizer m-ssr or f-ssr")
    if args.t_max is not None and args.t_max <= args.t_in:
        p.error(f"--t-max ({args.t_max}) must be longer than the input window --t-in ({args.t_in})")
    return args


def main(argv=None):
    args = parse(argv)
    import pandas as pd
    import torch

    from bioplastic.data import datasets
    from bioplastic.gradient.training import evaluate, fit
    from bioplastic.gradient.ttfs.coding import encode_images
    from bioplastic.gradient.ttfs.network import TTFSNetwork
    from bioplastic.gradient.ttfs.training import TTFSObjective
    from bioplastic.runs import check_writable, save_npz, save_table, software_versions, write_json

    torch.set_num_threads(args.threads)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out or f"runs/ttfs-{args.dataset}-{args.regularizer}-g{args.gamma:g}-"
                           f"seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = check_writable(out)
    record_path = out / "run.json"
    record = {"protocol": "ttfs_mnist", "command": " ".join(shlex.quote(a) for a in sys.argv),
              "args": vars(args), "seed": args.seed, "software": software_versions(),
              "torch": torch.__version__, "status": "running",
              "hypotheses": {"m-ssr": "H1 of shared/related-work.md 1.3 (paper text not retrieved)",
                             "f-ssr": "H2 of shared/related-work.md 1.3 (paper text not retrieved)",
                             "input_coding": "t = t_in (1 - x), recalled for the predecessor, unchecked"}}
    if args.resume and record_path.exists():
        from bioplastic.runs import read_json
        old = read_json(record_path)
        if old.get("args", {}).get("dataset") != args.dataset:
            raise SystemExit(f"{out} holds a run on another dataset; refusing to resume")
    write_json(record_path, record)

    load = datasets.load_mnist if args.dataset == "mnist" else datasets.load_fashion_mnist
    x_train, y_train = load("train", data_dir=args.data_dir)
    x_test, y_test = load("test", data_dir=args.data_dir)
    train_idx, val_idx = datasets.train_validation_split(len(x_train), args.n_validation, args.seed)
    if args.n_train is not None:
        rng = np.random.default_rng(args.seed)
        train_idx = np.sort(rng.permutation(train_idx)[:args.n_train])
    if args.n_test is not None:
        x_test, y_test = x_test[:args.n_test], y_test[:args.n_test]
    n_pixels = x_train.shape[1] * x_train.shape[2]

    def data(x, y):
        return (encode_images(x / 255.0, t_in=args.t_in, n_pixels=n_pixels),
                torch.as_tensor(y.astype(np.int64)))

    train, val, test = data(x_train[train_idx], y_train[train_idx]), None, data(x_test, y_test)
    if len(val_idx):
        val = data(x_train[val_idx], y_train[val_idx])
    record["data"] = {"dataset": args.dataset, "n_train": len(train_idx), "n_validation": len(val_idx),
                      "n_test": len(y_test), "validation_seed": args.seed}

    sizes = (n_pixels, *args.hidden, 10)
    net = TTFSNetwork(sizes, t_max=args.t_max, t_in=args.t_in, init_mean=args.init_mean,
                      init_std=args.init_std, seed=args.seed)
    objective = TTFSObjective(args.regularizer, args.gamma, args.sigma)
    record["network"] = {"sizes": sizes, "t_max": net.t_max, "t_in": net.t_in, "v_th": net.v_th,
                         "slope_floor": net.slope_floor}
    write_json(record_path, record)
    log(f"[ttfs] {args.dataset} {sizes} regulariser {args.regularizer} gamma {args.gamma:g}: "
        f"{len(train_idx)} training, {len(val_idx)} validation, {len(y_test)} test samples -> {out}")

    t0 = time.perf_counter()
    epochs = fit(net, objective, train, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                 val_data=val, eval_batch_size=250, seed=args.seed, out=out, resume=args.resume,
                 progress=not args.quiet, log=log)
    train_seconds = time.perf_counter() - t0

    rows = []
    for split, d in (("validation", val), ("test", test)):
        if d is not None:
            r = evaluate(net, objective, d, batch_size=250, prefix="eval")
            rows.append({"split": split, **{k[len("eval_"):]: v for k, v in r.items()}})
    evaluations = pd.DataFrame(rows)
    save_table(out / "evaluations.csv", evaluations)

    with torch.no_grad():
        xr = test[0][:args.n_raster]
        layers = [xr] + net(xr)
    save_npz(out / "test_spikes.npz", labels=test[1][:args.n_raster].numpy(),
             **{f"layer{i}": t.numpy() for i, t in enumerate(layers)})

    test_row = evaluations[evaluations.split == "test"].iloc[0].to_dict()
    record.update(status="finished", train_seconds=train_seconds,
                  seconds_per_epoch=[float(s) for s in epochs["seconds"]],
                  results={"test": test_row,
                           "validation": (evaluations[evaluations.split == "validation"].iloc[0].to_dict()
                                          if val is not None else None)})
    write_json(record_path, record)
    log(f"[ttfs] test accuracy {test_row['accuracy']:.4f}, spikes per sample "
        f"{test_row['spikes_total']:.1f}; {train_seconds:.0f} s of training")
    return record


if __name__ == "__main__":
    main()
