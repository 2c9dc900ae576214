"""The gamma sweep of the TTFS sparse-firing regularisers: regulariser x gamma x seed.

Each cell is one run of ``protocols/ttfs_mnist.py`` in its own process, in
``<sweep>/cells/<cell>/`` (:mod:`bioplastic.sweep`, on Dask).  A cell whose
``run.json`` says ``finished`` is never re-run, an interrupted cell continues
from its checkpoint.  ``<sweep>/sweep.json`` records the training settings
(everything but the gammas and seeds); a sweep directory can be extended with
more gammas or seeds, but running other settings into it is an error
(:class:`~bioplastic.sweep.SweepError`).  The tables cover every
finished cell of the directory.  The unregularised cell (``none``, gamma 0) is
always part of the grid: it is the reference of the "spikes halve" point.

Outputs (atomic):

``cells.csv``    one row per finished cell: regulariser, gamma, seed,
                 validation and test accuracy, test spikes per sample per
                 layer and in total, seconds per epoch;
``summary.csv``  per regulariser and gamma: means and standard deviations
                 over seeds, and ``spikes_ratio`` (total spikes relative to the
                 unregularised mean);
``halving.csv``  per regulariser: the smallest gamma of the grid whose mean
                 total spikes is at most half the unregularised mean, with its
                 test accuracy (empty if no gamma of the grid gets there).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bioplastic.sweep import Cell, SweepError, find_protocol

__all__ = ["PASS_THROUGH", "SweepError", "grid_of", "cells_of", "options_of", "runner_cells", "settings_of",
           "check_grid", "collect", "run_sweep"]

PASS_THROUGH = ("dataset", "epochs", "lr", "batch_size", "sigma", "n_train", "n_validation", "n_test",
                "data_dir")
SCRIPT = "ttfs_mnist.py"


def grid_of(args):
    grid = {k: getattr(args, k) for k in PASS_THROUGH}
    grid.update(hidden=list(args.hidden), seeds=list(args.seeds),
                gammas={"m-ssr": sorted(args.m_ssr), "f-ssr": sorted(args.f_ssr)})
    return grid


def cells_of(grid):
    """All cells: dicts with name, regularizer, gamma, seed."""
    cells = []
    for seed in grid["seeds"]:
        cells.append(dict(name=f"none-g0-seed{seed}", regularizer="none", gamma=0.0, seed=seed))
        for reg in ("m-ssr", "f-ssr"):
            for gamma in grid["gammas"][reg]:
                cells.append(dict(name=f"{reg}-g{gamma:g}-seed{seed}", regularizer=reg, gamma=gamma, seed=seed))
    return cells


def options_of(cell, grid):
    """The options of ``protocols/ttfs_mnist.py`` for *cell* (the runner adds --out, --resume)."""
    cmd = ["--regularizer", cell["regularizer"], "--gamma", repr(cell["gamma"]), "--seed", str(cell["seed"]),
           "--threads", "1", "--quiet", "--hidden", *map(str, grid["hidden"])]
    for key in PASS_THROUGH:
        if grid[key] is not None:
            cmd += ["--" + key.replace("_", "-"), str(grid[key])]
    return cmd


def runner_cells(cells, grid):
    """The cells as :class:`bioplastic.sweep.Cell` (name, axis values, options) for the runner."""
    return [Cell(name=c["name"], values={k: v for k, v in c.items() if k != "name"},
                 options=tuple(options_of(c, grid))) for c in cells]


def settings_of(grid):
    """The training settings shared by all cells (the grid without gammas and seeds)."""
    return {k: v for k, v in grid.items() if k not in ("gammas", "seeds")}


def check_grid(out, grid, command=None):
    """Write ``sweep.json`` (appending *command*), or refuse a directory with other settings."""
    from bioplastic.runs import read_json, write_json

    path = Path(out) / "sweep.json"
    commands = []
    if path.exists():
        old = read_json(path)
        if old["settings"] != settings_of(grid):
            raise SweepError(f"{out} holds a sweep with other settings ({old['settings']}); "
                             "choose another --out")
        commands = old["commands"]
    command = " ".join(sys.argv) if command is None else command
    write_json(path, {"settings": settings_of(grid), "commands": commands + [command]})


def _finished(cell_dir):
    from bioplastic.runs import read_json

    path = Path(cell_dir) / "run.json"
    return path.exists() and read_json(path).get("status") == "finished"


def collect(out):
    """Write cells.csv, summary.csv and halving.csv from every finished cell of *out*."""
    import pandas as pd

    from bioplastic.runs import read_json, save_table

    out = Path(out)
    rows = []
    for cell_dir in sorted((out / "cells").glob("*")):
        if not _finished(cell_dir):
            continue
        rec = read_json(cell_dir / "run.json")
        config = rec.get("config") or rec["args"]  # "args": runs written before format_version 1
        test, val = rec["results"]["test"], rec["results"].get("validation") or {}
        row = {"name": cell_dir.name, "regularizer": config["regularizer"],
               "gamma": config["gamma"], "seed": config["seed"]}
        row.update(test_accuracy=test["accuracy"], val_accuracy=val.get("accuracy"),
                   seconds_per_epoch=sum(rec["seconds_per_epoch"]) / len(rec["seconds_per_epoch"]))
        row.update({k: v for k, v in test.items() if k.startswith("spikes_")})
        rows.append(row)
    if not rows:
        return None
    table = pd.DataFrame(rows)
    save_table(out / "cells.csv", table)
    spike_cols = [c for c in table.columns if c.startswith("spikes_")]
    summary = (table.groupby(["regularizer", "gamma"])[["test_accuracy", "val_accuracy", *spike_cols]]
               .agg(["mean", "std"]))
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary = summary.reset_index()
    base = summary[summary.regularizer == "none"]["spikes_total_mean"]
    summary["spikes_ratio"] = summary["spikes_total_mean"] / base.iloc[0] if len(base) else float("nan")
    save_table(out / "summary.csv", summary)
    halving = []
    for reg in ("m-ssr", "f-ssr"):
        hit = summary[(summary.regularizer == reg) & (summary.spikes_ratio <= 0.5)].sort_values("gamma")
        if len(hit):
            r = hit.iloc[0]
            halving.append({"regularizer": reg, "gamma": r["gamma"], "spikes_ratio": r["spikes_ratio"],
                            "test_accuracy_mean": r["test_accuracy_mean"]})
    save_table(out / "halving.csv", pd.DataFrame(halving, columns=["regularizer", "gamma", "spikes_ratio",
                                                                    "test_accuracy_mean"]))
    return table


def run_sweep(args, script=None):
    """Run the missing cells of the grid of *args* into ``args.out``; 0, or 1 if a cell failed."""
    from bioplastic.sweep.runner import run_cells

    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = grid_of(args)
    check_grid(out, grid)
    cells = cells_of(grid)
    script = find_protocol(SCRIPT) if script is None else script
    _, failed = run_cells(runner_cells(cells, grid), out, script, scheduler=args.scheduler,
                          workers=args.workers, log=log, on_finished=lambda name: collect(out))
    table = collect(out)
    if table is not None:
        log(table[["name", "test_accuracy", "spikes_total"]].to_string(index=False))
    return 1 if failed else 0
