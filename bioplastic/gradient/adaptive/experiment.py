"""Shared command line, data, model and run directory of the adaptive-scaling protocols.

The protocols (``protocols/adaptive_scaling_*.py``; their bodies are in
:mod:`bioplastic.gradient.adaptive.studies`) train
:class:`bioplastic.gradient.adaptive.network.AdaptiveScalingNetwork`
with and without scaling on the offline N-MNIST stand-in (saccade event
streams made from MNIST, :func:`bioplastic.data.event_streams.mnist_event_dataset`),
with the surrogate family's loop (:func:`bioplastic.gradient.training.fit`) and
loss (:class:`bioplastic.gradient.lif.MaxOverTimeLoss`).  The scaling rule is
a reading of the abstract of Xu et al. 2025 (hypothesis).

A run is a list of *cells* (e.g. one seed and one model), each run once.
A run directory holds (all written atomically; ``docs/run_format.rst``)::

    run.json               the run record (format_version 1, family "adaptive"): command,
                           config (every option), options (by flag, compared on --resume),
                           seeds, versions, status (and one entry per resume)
    metrics.json           final numbers (written when every cell has finished)
    cells/<cell>/<table>.csv   the tidy rows of one finished cell
    cells/<cell>/cell.json     written last: the cell is finished
    <table>.csv            all finished cells' rows, rewritten after every cell
    summary.csv            means and standard deviations over seeds, computed
                           from the cell files once every cell is finished

Stopping and resuming: Ctrl-C (or SIGTERM) stops the run between two writes;
finished cells stay, and the protocol exits with status 130 after printing
the command that continues it (the same command with ``--resume``).
``--resume`` runs only the cells without ``cell.json`` (a robustness cell
whose training was interrupted continues from its last epoch checkpoint in
``models/<cell>/``); it is refused, naming the options, if any option that
defines the results differs from the recorded run (``--seeds`` may differ:
more seeds extend the run).  A second process on the same directory is
refused while the first runs (:func:`bioplastic.runs.lock_run_directory`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from bioplastic import cli
from bioplastic.gradient import rundir

FAMILY = "adaptive"
RUN_FORMAT = "bioplastic.gradient.adaptive_scaling/2"
#: Exit status of a run stopped by Ctrl-C or SIGTERM (as a shell reports SIGINT).
EXIT_INTERRUPTED = 130
#: Command-line options that do not change the results (not compared on --resume).
NOT_COMPARED = ("out", "resume", "quiet", "threads", "data_dir")
#: Options that may differ on --resume (the cells are keyed by them).
EXTENDABLE = ("--seeds",)
CELLS = "cells"
#: The protocols' names in runs written before format_version 1 (script name -> old name).
OLD_NAMES = {"adaptive_scaling_robustness": "adaptive-robustness", "adaptive_scaling_continual": "adaptive-continual",
             "adaptive_scaling_homeostasis": "adaptive-homeostasis"}
CELL_RECORD = "cell.json"


def parser(description, defaults=None):
    """The shared command line (:func:`bioplastic.cli.parser`: data, network, training, scaling rule)."""
    d = {"epochs": 5, "n_train": 300, "n_test": 100, "lr": 2e-3}
    d.update(defaults or {})
    p = cli.parser(description, seed=False, threads="torch threads")
    g = p.add_argument_group("data (offline N-MNIST stand-in from MNIST)")
    g.add_argument("--n-train-per-class", type=cli.positive_int, default=d["n_train"])
    g.add_argument("--n-test-per-class", type=cli.positive_int, default=d["n_test"])
    g.add_argument("--n-steps", type=cli.positive_int, default=30, help="time bins over the three saccades")
    g.add_argument("--pool", type=cli.positive_int, default=2, help="OR-pooling of the 34x34 frame")
    g.add_argument("--data-seed", type=cli.non_negative_int, default=0,
                   help="samples and threshold mismatch of the streams")
    g = p.add_argument_group("network and training")
    g.add_argument("--n-hidden", type=cli.positive_int, default=100)
    g.add_argument("--init-gain", type=cli.positive_float, default=3.0,
                   help="multiplies the initial input weights U(-1/sqrt(n_in), 1/sqrt(n_in))")
    g.add_argument("--epochs", type=cli.positive_int, default=d["epochs"])
    g.add_argument("--lr", type=cli.positive_float, default=d["lr"], help="Adam learning rate")
    g.add_argument("--batch-size", type=cli.positive_int, default=64)
    add_seeds(g)
    add_rule_options(p)
    return p


def add_seeds(p):
    p.add_argument("--seeds", type=cli.non_negative_int, nargs="+", default=[0, 1, 2],
                   help="model seeds (initial weights, shuffling, perturbation noise)")


def _kappa(text):
    value = cli.finite_float(text)
    if not value > -1:
        raise argparse.ArgumentTypeError(f"must be a finite number > -1, got {text!r}")
    return value


def _eta(text):
    value = cli.finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return value


def add_rule_options(p):
    g = p.add_argument_group("adaptive scaling (relaxation rule: a reading of the abstract, hypothesis)")
    g.add_argument("--kappa", type=_kappa, default=10.0,
                   help="sensitivity to the afferent intensity (> -1)")
    g.add_argument("--r-ref", type=cli.unit_interval, default=0.05,
                   help="intensity with a* = 1 (spikes per step, in [0, 1])")
    g.add_argument("--eta", type=_eta, default=0.2, help="relaxation rate in (0, 1], q = 1 - eta")
    g.add_argument("--tau-trace", type=cli.positive_float, default=20.0,
                   help="presynaptic trace time constant (ms)")
    return g


def parse_args(p, argv):
    """Parse *argv* (default ``sys.argv[1:]``) with :func:`bioplastic.cli.parse` (bad options: exit 2)."""
    return cli.parse(p, argv)


def setup_of(args):
    """Data, model, training and scaling rule, grouped (run.json ``setup``)."""
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
    return rundir.logger(args.quiet)


def options_of(args):
    """The options that define the results, by their command-line flag (as run.json stores them)."""
    opts = {"--" + k.replace("_", "-"): v for k, v in sorted(vars(args).items()) if k not in NOT_COMPARED}
    return json.loads(json.dumps(opts))  # tuples -> lists, as read back


def _display_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def continue_command(record):
    """The shell command that continues the run of *record* (its command with ``--resume``)."""
    argv = list(record["command"])
    if argv and argv[0] == sys.executable:
        argv[0] = "python"
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(argv)


def _check_options(old, name, options, out):
    """Refuse to resume a run recorded with other options (naming them)."""
    from bioplastic.runs import RunError

    if (old.get("format") != RUN_FORMAT or old.get("protocol") not in (name, OLD_NAMES.get(name))
            or "options" not in old):
        raise RunError(f"cannot resume {out}: it holds no resumable {name} run (recorded protocol "
                       f"{old.get('protocol')!r}, format {old.get('format')!r}, this is {RUN_FORMAT!r}); "
                       "choose another --out")
    recorded = old["options"]
    diff = [k for k in sorted(set(recorded) | set(options))
            if k not in EXTENDABLE and recorded.get(k) != options.get(k)]
    if diff:
        raise RunError(f"cannot resume {out}: options differ from the recorded run: "
                       + "; ".join(f"{k} (recorded {recorded.get(k)!r}, now {options.get(k)!r})" for k in diff)
                       + ". Repeat the recorded options (run.json, 'options'), or choose another --out")


@contextlib.contextmanager
def open_run(args, name, script, argv, log, **extra):
    """Create (or, with ``--resume``, reopen) the run directory and hold its lock.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``out``, ``resume``, ``seeds`` and those that define the results).
    name : str
        The protocol's script name without ``.py`` (recorded; a run of another
        protocol is not resumed).
    script : str
        The protocol script's path (for the recorded command).
    argv : list of str or None
        The arguments (default ``sys.argv[1:]``).
    extra
        More entries of the run record (e.g. the perturbation grid).

    Yields
    ------
    (pathlib.Path, dict)
        The run directory and the run record (already written with status "running").

    Raises
    ------
    bioplastic.runs.RunError
        *out* holds a run and ``--resume`` is not given; ``--resume`` and there
        is no run; the recorded options differ (the message names them); a
        second process holds the directory.
    """
    import torch  # noqa: F401 - imported for its version in the run record

    from bioplastic import __version__
    from bioplastic.runs import RunError, check_writable, lock_run_directory, read_json, write_json

    out = Path(args.out or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.out is None:
        argv += ["--out", str(out)]
    command = [sys.executable, _display_path(str(Path(script).resolve()))] + argv
    record_path = out / "run.json"
    if record_path.exists() and not args.resume:
        raise RunError(f"{out} already holds a run; pass --resume to continue it (finished cells are kept) "
                       "or choose another --out")
    if args.resume and not record_path.exists():
        raise RunError(f"cannot resume: {record_path} does not exist (start the run without --resume)")
    check_writable(out)
    options = options_of(args)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with lock_run_directory(out):
        fresh = rundir.new_record(FAMILY, name, args, command=command, seed=list(args.seeds),
                                  format=RUN_FORMAT, seeds=list(args.seeds), options=options, status="running")
        versions = fresh["versions"]
        if args.resume:
            try:
                record = read_json(record_path)
            except (OSError, ValueError) as err:
                raise RunError(f"cannot resume: {record_path} is unreadable ({err})") from err
            _check_options(record, name, options, out)
            if record["options"].get("--seeds") != options.get("--seeds"):
                log(f"note: seeds {record['options'].get('--seeds')} recorded, now {options.get('--seeds')}; "
                    "the tables cover the seeds of this command")
            if record.get("versions", {}).get("bioplastic") != __version__:
                log(f"note: the run was started with bioplastic {record.get('versions', {}).get('bioplastic')}, "
                    f"this is {__version__}")
            record.setdefault("resumed", []).append({"at": now, "command": command, "versions": versions})
            record.update(status="running", seeds=list(args.seeds), seed=list(args.seeds), options=options,
                          config=fresh["config"])
            for key, value in fresh.items():  # runs written before format_version 1
                record.setdefault(key, value)
        else:
            record = fresh
        record.update(json.loads(json.dumps(extra)))
        write_json(record_path, record)
        yield out, record


def finish_run(out, record, metrics=None, **extra):
    """Mark the run finished in run.json (after writing *metrics* to metrics.json)."""
    from bioplastic.runs import write_json

    if metrics is not None:
        rundir.write_metrics(out, metrics)
    record.update(extra)
    record["status"] = "finished"
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(out / "run.json", record)


# --------------------------------------------------------------------------- cells

def cell_dir(out, cell):
    return Path(out) / CELLS / cell["name"]


def cell_finished(out, cell):
    """Whether *cell* has finished (its ``cell.json``, written last, exists)."""
    return (cell_dir(out, cell) / CELL_RECORD).is_file()


def write_cell(out, cell, tables, seconds):
    """Write a finished cell: its tables first, then ``cell.json`` (the mark of a finished cell)."""
    from bioplastic.runs import save_table, write_json

    d = cell_dir(out, cell)
    d.mkdir(parents=True, exist_ok=True)
    for table, df in tables.items():
        save_table(d / f"{table}.csv", df)
    write_json(d / CELL_RECORD, {"cell": cell, "tables": sorted(tables), "seconds": seconds,
                                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def collect(out, cells, table):
    """The rows of *table* of every finished cell among *cells* (in their order), one DataFrame."""
    import pandas as pd

    from bioplastic.runs import read_table

    frames = [read_table(cell_dir(out, c) / f"{table}.csv") for c in cells if cell_finished(out, c)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM -> KeyboardInterrupt (as Ctrl-C), in the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_cells(out, record, cells, run_one, tables, log):
    """Run the cells of *cells* that have not finished, each once; write each as it finishes.

    Parameters
    ----------
    cells : list of dict
        Each with a unique ``name`` (its folder under ``cells/``).
    run_one : callable
        ``run_one(cell)`` -> ``{table: DataFrame}`` (tidy rows that name the cell's seed etc.).
    tables : list of str
        The tables each cell returns; ``<table>.csv`` in *out* is rewritten
        from the cell files after every cell.

    Returns
    -------
    bool
        True when every cell has finished; False when the run was stopped by
        Ctrl-C or SIGTERM (finished cells are kept, the run record says
        "interrupted" and stderr says how to continue).
    """
    from bioplastic.runs import save_table, write_json

    todo = [c for c in cells if not cell_finished(out, c)]
    log(f"{len(cells)} cells, {len(cells) - len(todo)} finished, {len(todo)} to run -> {out}")
    try:
        with _sigterm_as_interrupt():
            for k, cell in enumerate(todo, 1):
                log(f"[cell {k}/{len(todo)}] {cell['name']}")
                t0 = time.perf_counter()
                result = run_one(cell)
                missing = set(tables) - set(result)
                if missing:
                    raise RuntimeError(f"cell {cell['name']} returned no table {sorted(missing)}")
                write_cell(out, cell, result, time.perf_counter() - t0)
                for table in tables:
                    save_table(out / f"{table}.csv", collect(out, cells, table))
                log(f"[cell {k}/{len(todo)}] {cell['name']} finished ({time.perf_counter() - t0:.1f} s)")
    except KeyboardInterrupt:
        n_done = sum(cell_finished(out, c) for c in cells)
        for table in tables:  # the tables hold every finished cell
            rows = collect(out, cells, table)
            if not rows.empty:
                save_table(out / f"{table}.csv", rows)
        record.update(status="interrupted", interrupted=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        write_json(out / "run.json", record)
        print(f"\ninterrupted: {n_done} of {len(cells)} cells finished, kept in {out}. Continue with:\n  "
              f"{continue_command(record)}", file=sys.stderr, flush=True)
        return False
    except Exception as err:
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
        write_json(out / "run.json", record)
        raise
    return True


def load_data(args, log):
    """``(x_train, y_train, x_test, y_test)`` as numpy arrays."""
    from bioplastic.data.event_streams import mnist_event_dataset

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

    from bioplastic.gradient.adaptive.network import AdaptiveScalingNetwork
    from bioplastic.gradient.adaptive.scaling import AdaptiveScaling, RelaxationRule
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


def load_models(run_dir):
    """The trained networks of a robustness run (``protocols/adaptive_scaling_robustness.py``).

    Returns
    -------
    dict
        ``{cell: AdaptiveScalingNetwork}`` for every finished cell (e.g.
        ``"seed0-scaling"``, ``"seed0-plain"``), in eval mode:
        ``net(x).logits.argmax(1)`` predicts spike trains ``x`` of shape
        ``(n, n_steps, n_in)``.

    Raises
    ------
    bioplastic.runs.RunError
        Not an adaptive-scaling run, a study that keeps no trained networks
        (continual learning and homeostasis train inside their cells), or a
        run without a finished cell.
    """
    import torch

    from bioplastic import runs
    from bioplastic.gradient.adaptive.studies import MODELS
    from bioplastic.gradient.training import WEIGHTS, load_weights

    run_dir = Path(run_dir)
    loaded = runs.load_run(run_dir, require=())
    if loaded.family != FAMILY:
        raise runs.RunError(f"{run_dir} is a {loaded.family!r} run, not an adaptive-scaling run")
    if loaded.record.get("protocol") != "adaptive_scaling_robustness":
        raise runs.RunError(f"{run_dir} is a {loaded.record.get('protocol')!r} study: it keeps no trained "
                            "networks (only the robustness study does); its tables load with "
                            "bioplastic.runs.load_run")
    args = argparse.Namespace(**loaded.record["config"])
    models = {}
    for path in sorted((run_dir / "models").glob(f"*/{WEIGHTS}")):
        name = path.parent.name
        if not cell_finished(run_dir, {"name": name}):
            continue
        seed, model = name.split("-", 1)
        if model not in MODELS or not seed.startswith("seed"):
            continue
        state = {k: torch.as_tensor(v) for k, v in load_weights(path).items()}
        n_in = next(v.shape[0] for k, v in state.items() if k.split(".")[-1] == "w_in")
        net = make_model(args, int(n_in), int(seed[len("seed"):]),
                         scaling=model == "scaling")
        net.load_state_dict(state)
        models[name] = net.eval()
    if not models:
        raise runs.RunError(f"{run_dir} holds no finished cell with trained weights")
    return models
