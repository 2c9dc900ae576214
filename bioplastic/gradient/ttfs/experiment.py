"""TTFS runs: training on (Fashion-)MNIST and the Brian2 check of a trained network.

The bodies of ``protocols/ttfs_mnist.py`` (:func:`add_options`,
:func:`check_options`, :func:`run`) and ``protocols/ttfs_bridge_check.py``
(:func:`bridge_check`).  A training run directory holds (all written
atomically; ``docs/run_format.rst``):

``run.json``          the run record (format_version 1, family "ttfs"): command,
                      config (every option), seed, data, network, software,
                      status, results, hypotheses
``metrics.json``      final numbers: test (and validation) accuracy, loss,
                      spikes per sample per layer, training seconds
``epochs.csv``        one row per epoch: train/validation loss, accuracy,
                      cross-entropy, regulariser, spikes per sample per layer,
                      seconds (written by ``fit``)
``evaluations.csv``   validation and test evaluations of the final network,
                      with spikes per sample per layer
``weights.npz``       the final weights (``weights.0``, ``weights.1``, ...)
``checkpoint.npz``    resume state (``--resume``)
``test_spikes.npz``   spike times of every layer for the first ``--n-raster``
                      test samples (``layer0`` = input), ``labels``; ``inf`` =
                      silent; the time unit is the input window ``t_in``
``brian2_check_<device>[_precise].json``  written by :func:`bridge_check`

Nothing heavy (torch, Brian2) is imported until a run starts.
"""

from __future__ import annotations

import time
from pathlib import Path

from bioplastic import cli
from bioplastic.gradient import rundir

FAMILY = "ttfs"
HYPOTHESES = {"m-ssr": "H1 of shared/related-work.md 1.3 (paper text not retrieved)",
              "f-ssr": "H2 of shared/related-work.md 1.3 (paper text not retrieved)",
              "input_coding": "t = t_in (1 - x), recalled for the predecessor, unchecked"}

__all__ = ["add_options", "check_options", "default_out", "run", "add_bridge_options", "bridge_check"]


def add_options(p):
    """The options of a TTFS training run (on a :func:`bioplastic.cli.parser`)."""
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--hidden", type=cli.positive_int, nargs="*", default=[400],
                   help="hidden layer sizes (none: a single layer of synapses)")
    p.add_argument("--regularizer", choices=["none", "m-ssr", "f-ssr"], default="none")
    p.add_argument("--gamma", type=cli.non_negative_float, default=0.0, help="regulariser coefficient (>= 0)")
    p.add_argument("--sigma", type=cli.positive_float, default=0.1, help="softmax temperature on output times")
    p.add_argument("--epochs", type=cli.positive_int, default=3)
    p.add_argument("--lr", type=cli.positive_float, default=2e-3, help="Adam learning rate")
    p.add_argument("--batch-size", type=cli.positive_int, default=32)
    p.add_argument("--t-in", type=cli.positive_float, default=1.0, help="input window")
    p.add_argument("--t-max", type=cli.positive_float, default=None,
                   help="window end of all layers (> t-in); default (number of layers + 1) * t-in")
    p.add_argument("--init-mean", type=cli.finite_float, default=6.0, help="see TTFSNetwork")
    p.add_argument("--init-std", type=cli.non_negative_float, default=3.0, help="see TTFSNetwork")
    p.add_argument("--n-train", type=cli.positive_int, default=None,
                   help="training samples (default: the whole training split minus validation)")
    p.add_argument("--n-validation", type=cli.non_negative_int, default=5000,
                   help="training samples held out for validation (tuning)")
    p.add_argument("--n-test", type=cli.positive_int, default=None, help="test samples (default all 10000)")
    p.add_argument("--n-raster", type=cli.non_negative_int, default=200,
                   help="test samples whose spike times are saved")
    return p


def check_options(p, args):
    """The checks that involve several options (``p.error``: one line, exit status 2)."""
    if args.regularizer == "none" and args.gamma != 0:
        p.error("argument --gamma: --gamma needs --regularizer m-ssr or f-ssr")
    if args.t_max is not None and args.t_max <= args.t_in:
        p.error(f"argument --t-max: --t-max ({args.t_max}) must be longer than the input window "
                f"--t-in ({args.t_in})")
    return args


def default_out(args):
    return (f"runs/ttfs-{args.dataset}-{args.regularizer}-g{args.gamma:g}-"
            f"seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}")


def _config(rec):
    """The options of a recorded run (``config``; ``args`` in runs written before format_version 1)."""
    return rec.get("config") or rec.get("args") or {}


def run(args, command=None):
    """Train, evaluate and write one TTFS run into ``args.out``; return the run record.

    Raises
    ------
    bioplastic.runs.RunError
        ``--resume`` of a run on another data set; an unusable ``--out``.
    bioplastic.data.datasets.DataError
        The data files are missing.
    """
    import numpy as np
    import pandas as pd
    import torch

    from bioplastic.data import datasets
    from bioplastic.gradient.training import evaluate, fit
    from bioplastic.gradient.ttfs.coding import encode_images
    from bioplastic.gradient.ttfs.network import TTFSNetwork
    from bioplastic.gradient.ttfs.training import TTFSObjective
    from bioplastic.runs import RunError, check_writable, read_json, save_npz, save_table, write_json

    torch.set_num_threads(args.threads)
    log = rundir.logger(args.quiet)
    out = check_writable(Path(args.out or default_out(args)))
    record_path = out / "run.json"
    record = rundir.new_record(FAMILY, "ttfs_mnist", args, command=command, status="running",
                               hypotheses=HYPOTHESES)
    if args.resume and record_path.exists():
        old = read_json(record_path)
        if _config(old).get("dataset") != args.dataset:
            raise RunError(f"{out} holds a run on another dataset; refusing to resume")
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
    val_row = (evaluations[evaluations.split == "validation"].iloc[0].to_dict() if val is not None else None)
    metrics = {f"test_{k}": v for k, v in test_row.items() if k != "split"}
    metrics.update({f"val_{k}": v for k, v in (val_row or {}).items() if k != "split"})
    metrics.update(epochs=int(len(epochs)), train_seconds=train_seconds, n_train=len(train_idx),
                   n_validation=len(val_idx), n_test=len(y_test))
    rundir.write_metrics(out, metrics)
    record.update(status="finished", finished=rundir.now(), train_seconds=train_seconds,
                  seconds_per_epoch=[float(s) for s in epochs["seconds"]],
                  results={"test": test_row, "validation": val_row})
    write_json(record_path, record)
    log(f"[ttfs] test accuracy {test_row['accuracy']:.4f}, spikes per sample "
        f"{test_row['spikes_total']:.1f}; {train_seconds:.0f} s of training")
    return record


# --------------------------------------------------------------------------- the Brian2 check

def add_bridge_options(p):
    p.add_argument("run", help="run directory of protocols/ttfs_mnist.py")
    p.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    p.add_argument("--dt-fraction", type=cli.positive_float, default=0.01, help="time step / window t_max")
    p.add_argument("--precise", action="store_true",
                   help="sub-step correction of the spike times (bridge module docstring)")
    p.add_argument("--n-test", type=cli.positive_int, default=None, help="test samples (default all 10000)")
    p.add_argument("--build-dir", default=None, help="cpp_standalone build directory")
    return p


def bridge_check(args, command=None):
    """Simulate the test samples with the trained network of ``args.run`` in Brian2; compare; write.

    Writes ``brian2_check_<device>[_precise].json`` into ``args.out`` (default:
    the run directory) and returns its contents.
    """
    import numpy as np
    import torch

    from bioplastic.data import datasets
    from bioplastic.gradient.ttfs.bridge import compare, run_brian2
    from bioplastic.gradient.ttfs.coding import encode_images
    from bioplastic.runs import RunDirectoryError, check_writable, load_npz, read_json, write_json

    torch.set_num_threads(1)
    run_dir = Path(args.run)
    if not (run_dir / "run.json").is_file() or not (run_dir / "weights.npz").is_file():
        raise RunDirectoryError(f"{run_dir} is not a finished run of protocols/ttfs_mnist.py "
                                "(no run.json or weights.npz)")
    out = check_writable(Path(args.out) if args.out else run_dir)
    rec = read_json(run_dir / "run.json")
    w = load_npz(run_dir / "weights.npz")
    weights = [w[f"weights.{i}"].astype(np.float64) for i in range(len(w))]
    params = {"weights": weights, "t_max": rec["network"]["t_max"], "v_th": rec["network"]["v_th"]}
    load = datasets.load_mnist if _config(rec)["dataset"] == "mnist" else datasets.load_fashion_mnist
    x, _ = load("test", data_dir=args.data_dir)
    if args.n_test is not None:
        x = x[:args.n_test]
    t_in = encode_images(x / 255.0, t_in=rec["network"]["t_in"], dtype=torch.float64)
    t0 = time.perf_counter()
    times = run_brian2(params, t_in, dt_fraction=args.dt_fraction, device=args.device,
                       directory=args.build_dir, precise=args.precise)
    seconds = time.perf_counter() - t0
    stats = compare(params, t_in, times, dt_fraction=args.dt_fraction, precise=args.precise)
    result = {"command": list(command) if command is not None else rundir.command_of(),
              "created": rundir.now(), "run": str(run_dir), "device": args.device,
              "dt_fraction": args.dt_fraction, "precise": args.precise, "brian2_seconds": seconds, **stats}
    name = f"brian2_check_{args.device}{'_precise' if args.precise else ''}.json"
    write_json(out / name, result)
    if not args.quiet:
        for k, v in result.items():
            print(f"{k}: {v}")
    return result
