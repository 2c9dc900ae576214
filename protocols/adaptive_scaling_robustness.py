#!/usr/bin/env python
"""Perturbation resistance with and without adaptive synaptic scaling (after Xu et al. 2025).

The same network (same initial weights per seed) is trained with and without
scaling of its input synapses on the offline N-MNIST stand-in, then tested
under event noise, event dropout and multiplicative weight noise of growing
strength (see :mod:`bioplastic.gradient.adaptive.robustness`).  Example::

    python protocols/adaptive_scaling_robustness.py --seeds 0 1 2 --epochs 5 \\
        --out runs/adaptive-robustness

Writes ``run.json``, and per cell (one seed and model) ``cells/<cell>/``
with its rows of ``training.csv`` (one row per epoch) and ``robustness.csv``
(one row per perturbation and strength); the top-level ``training.csv`` and
``robustness.csv`` hold every finished cell, and ``summary.csv`` (mean and
standard deviation over seeds) is computed from the cell files at the end.
Ctrl-C keeps the finished cells and prints the command that continues the run
(the same command with ``--resume``); see ``adaptive_scaling_common``.
"""

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adaptive_scaling_common as common  # noqa: E402

#: default strengths of each perturbation (the first, 0, is the clean test set)
DEFAULT_STRENGTHS = {
    "event_noise": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2],
    "event_dropout": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9],
    "weight_noise": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0],
}
MODELS = ("plain", "scaling")
TABLES = ("training", "robustness")


def cells_of(seeds):
    """One cell per seed and model."""
    return [{"name": f"seed{seed}-{model}", "seed": seed, "model": model} for seed in seeds for model in MODELS]


def run_cell(args, cell, grid, data, out, log):
    """Train one model (continuing its epoch checkpoint if any) and test it under every perturbation.

    Returns ``{"training": DataFrame, "robustness": DataFrame}``.
    """
    import pandas as pd
    import torch

    from bioplastic.gradient.adaptive.robustness import perturbed_accuracy
    from bioplastic.gradient.training import fit

    x_train, y_train, x_test, y_test = data
    seed, label = cell["seed"], cell["model"]
    loss_fn = common.loss_function()
    model = common.make_model(args, x_train.shape[2], seed, scaling=label == "scaling")
    log(f"seed {seed}, {label}: training {args.epochs} epochs")
    history = fit(model, loss_fn, (torch.as_tensor(x_train), torch.as_tensor(y_train)),
                  epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed,
                  out=out / "models" / cell["name"], resume=True, progress=not args.quiet, log=log)
    rows = []
    for name, strengths in grid.items():
        for strength in strengths:
            acc = perturbed_accuracy(model, loss_fn, x_test, y_test, name, strength, seed=seed)
            rows.append({"seed": seed, "model": label, "perturbation": name, "strength": strength,
                         "accuracy": acc})
        log(f"  {name}: " + ", ".join(f"{r['strength']:g} -> {r['accuracy']:.3f}"
                                      for r in rows if r["perturbation"] == name))
    training = pd.DataFrame([{"seed": seed, "model": label, **rec} for rec in history.to_dict("records")])
    return {"training": training, "robustness": pd.DataFrame(rows)}


def main(argv=None):
    p = common.parser(__doc__.splitlines()[1])
    p.add_argument("--perturbations", nargs="+", default=list(DEFAULT_STRENGTHS),
                   help="any of event_noise, event_dropout, weight_noise")
    p.add_argument("--strengths", type=float, nargs="+", default=None,
                   help="strengths for every perturbation (default: a grid per perturbation)")
    args = common.parse_args(p, argv)

    from bioplastic.gradient.adaptive.robustness import check_perturbation

    try:  # bad names or strengths fail before any work
        grid = {name: check_perturbation(name, args.strengths if args.strengths is not None
                                         else DEFAULT_STRENGTHS.get(name, [0.0]))
                for name in args.perturbations}
    except ValueError as err:
        p.error(str(err))

    import torch

    from bioplastic.data.datasets import DataError
    from bioplastic.runs import RunError, save_table

    torch.set_num_threads(args.threads)
    log = common.logger(args)
    cells = cells_of(args.seeds)
    try:
        with common.open_run(args, "adaptive-robustness", __file__, argv, log,
                             config=common.config_of(args), perturbations=grid) as (out, record):
            data = functools.cache(lambda: common.load_data(args, log))  # only if a cell is missing
            if not common.run_cells(out, record, cells, lambda cell: run_cell(args, cell, grid, data(), out, log),
                                    TABLES, log):
                return common.EXIT_INTERRUPTED
            table = common.collect(out, cells, "robustness")
            summary = (table.groupby(["model", "perturbation", "strength"])["accuracy"]
                       .agg(mean="mean", std="std", n_seeds="count").reset_index())
            save_table(out / "summary.csv", summary)
            common.finish_run(out, record)
    except (RunError, DataError) as err:  # e.g. no MNIST files: a message, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    log(summary.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
