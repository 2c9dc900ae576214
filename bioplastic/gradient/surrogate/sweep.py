"""The surrogate-gradient Randman sweep: shape x beta x variant (x upper bound) x seed.

Each grid cell is one run of ``protocols/surrogate_randman.py`` in its own
process, in ``<sweep>/cells/<cell>/``, run by the sweep runner of every family
(:mod:`bioplastic.sweep`: Dask, a LocalCluster by default).  A
cell whose ``metrics.json`` exists is never re-run, an interrupted cell
continues from its checkpoint.  ``<sweep>/sweep.json`` records the grid;
running a different grid into the same directory is an error
(:class:`~bioplastic.sweep.SweepError`).

Variants: ``detached`` (the default network), ``dr`` (differentiable reset),
``rec`` (recurrent weights, reset detached), ``rec-dr`` (both).

Outputs (atomic): ``cells.csv`` (one row per finished cell) and
``summary.csv`` (per shape, variant and upper bound: the beta with the best
mean validation accuracy and its test accuracy, mean and standard deviation
over seeds).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from bioplastic.sweep import Cell, SweepError, find_protocol

__all__ = ["VARIANTS", "SweepError", "grid_of", "cells_of", "options_of", "runner_cells", "check_grid",
           "collect", "run_sweep"]

VARIANTS = {"detached": [], "dr": ["--reset", "differentiable"], "rec": ["--recurrent"],
            "rec-dr": ["--recurrent", "--reset", "differentiable"]}
SCRIPT = "surrogate_randman.py"


def grid_of(args):
    """The grid record (what defines the sweep)."""
    return {"format": "bioplastic.gradient.surrogate-sweep/1",
            "surrogates": list(args.surrogates), "betas": [float(b) for b in args.betas],
            "variants": list(args.variants),
            "upper_nu": None if args.upper_nu is None else [float(v) for v in args.upper_nu],
            "upper_lambda": float(args.upper_lambda), "seeds": list(args.seeds),
            "epochs": args.epochs, "lr": args.lr, "n_samples": args.n_samples,
            "init_gain": float(args.init_gain)}


def cells_of(grid):
    """All cells: dicts with name, surrogate, beta, variant, nu_upper, seed."""
    uppers = grid["upper_nu"] or [None]
    cells = []
    for surrogate, beta, variant, nu, seed in itertools.product(
            grid["surrogates"], grid["betas"], grid["variants"], uppers, grid["seeds"]):
        name = f"{surrogate}-b{beta:g}-{variant}" + ("" if nu is None else f"-nu{nu:g}") + f"-s{seed}"
        cells.append(dict(name=name, surrogate=surrogate, beta=beta, variant=variant,
                          nu_upper=nu, seed=seed))
    return cells


def options_of(cell, grid):
    """The options of ``protocols/surrogate_randman.py`` for *cell* (the runner adds --out, --resume)."""
    cmd = ["--surrogate", cell["surrogate"],
           "--beta", repr(cell["beta"]), "--seed", str(cell["seed"]), "--epochs", str(grid["epochs"]),
           "--lr", repr(grid["lr"]), "--n-samples", str(grid["n_samples"]), "--threads", "1",
           "--init-gain", repr(grid.get("init_gain", 1.0)), "--quiet"] + VARIANTS[cell["variant"]]
    if cell["nu_upper"] is not None:
        cmd += ["--upper", repr(grid["upper_lambda"]), repr(cell["nu_upper"])]
    return cmd


def runner_cells(cells, grid):
    """The cells as :class:`bioplastic.sweep.Cell` (name, axis values, options) for the runner."""
    return [Cell(name=c["name"], values={k: v for k, v in c.items() if k != "name"},
                 options=tuple(options_of(c, grid))) for c in cells]


def check_grid(out, grid):
    """Write ``sweep.json``, or check that the one there records the same grid."""
    from bioplastic.runs import read_json, write_json

    path = Path(out) / "sweep.json"
    if path.exists():
        old = read_json(path)
        old.setdefault("init_gain", 1.0)   # sweeps written before --init-gain existed
        if old != grid:
            diff = sorted(k for k in set(old) | set(grid) if old.get(k) != grid.get(k))
            raise SweepError(f"{out} holds a sweep with a different grid (differs in: "
                             f"{', '.join(diff)}); use another --out")
    else:
        write_json(path, grid)


def collect(out, cells):
    """Tables of finished cells (cells.csv) and the best-beta summary (summary.csv)."""
    import pandas as pd

    from bioplastic.runs import read_json, save_table

    out = Path(out)
    rows = []
    for cell in cells:
        path = out / "cells" / cell["name"] / "metrics.json"
        if path.exists():
            m = read_json(path)
            rows.append({**{k: v for k, v in cell.items()},
                         **{k: m.get(k) for k in ("test_accuracy", "val_accuracy",
                                                  "best_val_accuracy", "test_spikes_per_neuron",
                                                  "epochs", "wall_seconds")}})
    table = pd.DataFrame(rows)
    save_table(out / "cells.csv", table)
    if table.empty:
        return table, table
    keys = ["surrogate", "variant", "nu_upper"]
    t = table.assign(nu_upper=table["nu_upper"].fillna(-1))
    per_beta = t.groupby(keys + ["beta"]).agg(
        val_mean=("val_accuracy", "mean"), test_mean=("test_accuracy", "mean"),
        test_std=("test_accuracy", "std"), spikes=("test_spikes_per_neuron", "mean"),
        n_seeds=("seed", "count")).reset_index()
    best = per_beta.loc[per_beta.groupby(keys)["val_mean"].idxmax()].reset_index(drop=True)
    best["nu_upper"] = best["nu_upper"].where(best["nu_upper"] >= 0)
    save_table(out / "summary.csv", best)
    return table, best


def run_sweep(args, script=None):
    """Run the missing cells of the grid of *args* into ``args.out``; 0, or 1 if a cell failed."""
    from bioplastic.runs import read_json
    from bioplastic.sweep.runner import run_cells

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = grid_of(args)
    check_grid(out, grid)
    cells = cells_of(grid)
    log = (lambda text: None) if args.quiet else (lambda text: print(text, flush=True))
    script = find_protocol(SCRIPT) if script is None else script

    def finished(name):
        acc = read_json(out / "cells" / name / "metrics.json")["test_accuracy"]
        collect(out, cells)
        log(f"[sweep] {name}: test accuracy {acc:.3f}")

    _, failed = run_cells(runner_cells(cells, grid), out, script, scheduler=args.scheduler,
                          workers=args.workers, log=log, on_finished=finished)
    _, best = collect(out, cells)
    if not best.empty:
        log(best.to_string(index=False))
    return 1 if failed else 0
