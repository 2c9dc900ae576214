#!/usr/bin/env python
"""Split-MNIST continual learning with and without adaptive synaptic scaling, against EWC.

Five two-digit tasks (``--tasks``, default 0,1/2,3/4,5/6,7/8,9) are learnt
one after another on the offline N-MNIST stand-in, task-incrementally and
class-incrementally (see :mod:`bioplastic.gradient.adaptive.continual`), by
three methods with the same initial weights per seed:

* ``plain``: the network without scaling, fine-tuned task after task;
* ``scaling``: the same network with adaptive scaling of its input synapses
  (a reading of the abstract of Xu et al. 2025, hypothesis);
* ``ewc``: the plain network with online elastic weight consolidation;
* ``replay``: the plain network with a memory of ``--replay-per-class``
  samples per earlier class mixed into each later task's training data.

Example::

    python protocols/adaptive_scaling_continual.py --seeds 0 1 2 --epochs 3 \\
        --out runs/adaptive-continual

Writes ``run.json``, and per cell (one seed, scenario and method)
``cells/<cell>/`` with its rows of ``accuracy.csv`` (seed, method, scenario,
after_task, test_task, accuracy) and ``metrics.csv`` (average accuracy and
forgetting after each task); the top-level ``accuracy.csv`` and
``metrics.csv`` hold every finished cell, and ``summary.csv`` (mean and
standard deviation over seeds) is computed from the cell files at the end.
Ctrl-C keeps the finished cells and prints the command that continues the run
(the same command with ``--resume``); an interrupted cell starts over.
"""

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adaptive_scaling_common as common  # noqa: E402

METHODS = ("plain", "scaling", "ewc", "replay")
TABLES = ("accuracy", "metrics")


def _tasks(text):
    """``0,1/2,3/...`` -> list of tuples of ints (checked later)."""
    import argparse

    try:
        return [tuple(int(c) for c in part.split(",") if c.strip()) for part in text.split("/")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"tasks must look like 0,1/2,3/4,5/6,7/8,9; got {text!r}") from None


def cells_of(seeds, scenarios, methods):
    """One cell per seed, scenario and method."""
    return [{"name": f"seed{seed}-{scenario}-{method}", "seed": seed, "scenario": scenario, "method": method}
            for seed in seeds for scenario in scenarios for method in methods]


def run_cell(args, cell, tasks, data, log):
    """Train one method on the tasks one after another (from fresh weights).

    Returns ``{"accuracy": DataFrame, "metrics": DataFrame}``.
    """
    import pandas as pd
    import torch

    from bioplastic.gradient.adaptive.continual import (EWC, Replay, average_accuracy, forgetting,
                                                       train_sequentially)

    x_train, y_train, x_test, y_test = data
    seed, scenario, method = cell["seed"], cell["scenario"], cell["method"]
    torch.manual_seed(seed)  # the cell's result does not depend on the cells run before it
    model = common.make_model(args, x_train.shape[2], seed, scaling=method == "scaling")
    ewc = EWC(strength=args.ewc_strength) if method == "ewc" else None
    replay = Replay(args.replay_per_class, seed=seed) if method == "replay" else None
    acc, records = train_sequentially(model, x_train, y_train, x_test, y_test, scenario=scenario,
                                      tasks=tasks, method=method, ewc=ewc, replay=replay, epochs=args.epochs,
                                      lr=args.lr, batch_size=args.batch_size, seed=seed,
                                      readout=args.readout, log=log)
    metrics = [{"seed": seed, "method": method, "scenario": scenario, "after_task": t,
                "average_accuracy": avg, "forgetting": fgt}
               for t, (avg, fgt) in enumerate(zip(average_accuracy(acc), forgetting(acc)))]
    return {"accuracy": pd.DataFrame([{"seed": seed, **r} for r in records]), "metrics": pd.DataFrame(metrics)}


def main(argv=None):
    p = common.parser(__doc__.splitlines()[1], defaults={"epochs": 3})
    p.add_argument("--tasks", type=_tasks, default=[(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)],
                   help="the task split: classes separated by commas, tasks by slashes")
    p.add_argument("--scenarios", nargs="+", choices=["task", "class"], default=["task", "class"])
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--ewc-strength", type=float, default=1e6,
                   help="lambda of the EWC penalty (1e6: forgetting clearly below plain, new tasks still learnt; "
                        "1e8 blocks new tasks; measured on seed 0, class-incremental)")
    p.add_argument("--replay-per-class", type=common._positive_int, default=20, help="replay memory: samples per earlier class")
    p.add_argument("--readout", choices=["mean", "max"], default="mean",
                   help="logits: mean or max over time of the readout membrane (mean avoids dead logits, "
                        "see bioplastic.gradient.adaptive.continual)")
    args = common.parse_args(p, argv)

    from bioplastic.gradient.adaptive.continual import check_task_split

    try:
        tasks = check_task_split(args.tasks)
    except ValueError as err:
        p.error(str(err))

    import numpy as np
    import torch

    from bioplastic.data.datasets import DataError
    from bioplastic.runs import RunError, save_table

    torch.set_num_threads(args.threads)
    log = common.logger(args)
    cells = cells_of(args.seeds, args.scenarios, args.methods)
    extra = {"config": common.config_of(args), "tasks": [list(t) for t in tasks], "readout": args.readout,
             "ewc": {"strength": args.ewc_strength, "decay": 1.0,
                     "form": "online EWC, empirical Fisher from minibatch gradients (100 samples)"},
             "replay": {"n_per_class": args.replay_per_class}}
    try:
        with common.open_run(args, "adaptive-continual", __file__, argv, log, **extra) as (out, record):
            data = functools.cache(lambda: common.load_data(args, log))  # only if a cell is missing
            if not common.run_cells(out, record, cells, lambda cell: run_cell(args, cell, tasks, data(), log),
                                    TABLES, log):
                return common.EXIT_INTERRUPTED
            metrics = common.collect(out, cells, "metrics")
            summary = (metrics.groupby(["method", "scenario", "after_task"])
                       .agg(average_accuracy_mean=("average_accuracy", "mean"),
                            average_accuracy_std=("average_accuracy", "std"),
                            forgetting_mean=("forgetting", "mean"), forgetting_std=("forgetting", "std"),
                            n_seeds=("seed", "count"))
                       .reset_index())
            save_table(out / "summary.csv", summary)
            common.finish_run(out, record)
    except (RunError, DataError) as err:  # e.g. no MNIST files: a message, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    final = summary[summary["after_task"] == len(tasks) - 1]
    log(final.to_string(index=False, float_format=lambda v: f"{v:.3f}" if np.isfinite(v) else "nan"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
