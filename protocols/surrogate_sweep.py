#!/usr/bin/env python
"""A grid of surrogate-gradient Randman runs: shape x beta x variant (x upper bound) x seed.

Each grid cell is one run of ``protocols/surrogate_randman.py`` in its own
process (``--workers`` at a time), in ``<sweep>/cells/<cell>/``.  The sweep is
resumable: a cell whose ``metrics.json`` exists is never re-run, an
interrupted cell continues from its checkpoint.  ``<sweep>/sweep.json`` records
the grid; running a different grid into the same directory is an error.

Variants: ``detached`` (the default network), ``dr`` (differentiable reset),
``rec`` (recurrent weights, reset detached), ``rec-dr`` (both).

Outputs (atomic): ``cells.csv`` (one row per finished cell) and
``summary.csv`` (per shape, variant and upper bound: the beta with the best
mean validation accuracy and its test accuracy, mean and standard deviation
over seeds).

Example (the shape study at a few betas, 3 seeds, 2 processes)::

    python protocols/surrogate_sweep.py --out runs/sweep-shapes \\
        --surrogates superspike sigmoid esser --betas 1 10 100 --seeds 0 1 2 \\
        --epochs 20 --workers 2
"""

import argparse
import itertools
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = {"detached": [], "dr": ["--reset", "differentiable"], "rec": ["--recurrent"],
            "rec-dr": ["--recurrent", "--reset", "differentiable"]}


class SweepError(Exception):
    """The sweep directory belongs to another grid."""


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="sweep directory")
    p.add_argument("--surrogates", nargs="+", default=["superspike", "sigmoid", "esser"])
    p.add_argument("--betas", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["detached"])
    p.add_argument("--upper-nu", type=float, nargs="+", default=None,
                   help="grid of population upper-bound thresholds (spike counts); off if omitted")
    p.add_argument("--upper-lambda", type=float, default=0.1, help="strength of the upper bound")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--n-samples", type=int, default=1000, help="Randman samples per class")
    p.add_argument("--init-gain", type=float, default=1.0,
                   help="multiplies the initial input (and recurrent) weights of every cell")
    p.add_argument("--workers", type=int, default=2, help="cells run in parallel (processes)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


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


def command_of(cell, grid, cell_dir, resume):
    cmd = [sys.executable, str(HERE / "surrogate_randman.py"), "--surrogate", cell["surrogate"],
           "--beta", repr(cell["beta"]), "--seed", str(cell["seed"]), "--epochs", str(grid["epochs"]),
           "--lr", repr(grid["lr"]), "--n-samples", str(grid["n_samples"]), "--threads", "1",
           "--init-gain", repr(grid.get("init_gain", 1.0)),
           "--out", str(cell_dir), "--quiet"] + VARIANTS[cell["variant"]]
    if cell["nu_upper"] is not None:
        cmd += ["--upper", repr(grid["upper_lambda"]), repr(cell["nu_upper"])]
    if resume:
        cmd.append("--resume")
    return cmd


def check_grid(out, grid):
    from bioplastic.runs import read_json, write_json

    path = out / "sweep.json"
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


def main(argv=None):
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = grid_of(args)
    try:
        check_grid(out, grid)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cells = cells_of(grid)
    todo = [c for c in cells if not (out / "cells" / c["name"] / "metrics.json").exists()]
    log = (lambda text: None) if args.quiet else (lambda text: print(text, flush=True))
    log(f"[sweep] {len(cells)} cells, {len(cells) - len(todo)} finished, {len(todo)} to run "
        f"with {args.workers} workers -> {out}")

    def run_cell(cell):
        cell_dir = out / "cells" / cell["name"]
        t0 = time.perf_counter()
        cmd = command_of(cell, grid, cell_dir, resume=(cell_dir / "run.json").exists())
        proc = subprocess.run(cmd, capture_output=True, text=True)
        return cell, proc, time.perf_counter() - t0

    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(run_cell, c) for c in todo]
        for k, future in enumerate(as_completed(futures), 1):
            cell, proc, seconds = future.result()
            if proc.returncode != 0:
                failed += 1
                log(f"[sweep {k}/{len(todo)}] {cell['name']}: FAILED ({proc.stderr.strip()[-500:]})")
                continue
            m = (out / "cells" / cell["name"] / "metrics.json")
            from bioplastic.runs import read_json
            acc = read_json(m)["test_accuracy"]
            log(f"[sweep {k}/{len(todo)}] {cell['name']}: test accuracy {acc:.3f} ({seconds:.0f} s)")
            collect(out, cells)
    _, best = collect(out, cells)
    if not best.empty:
        log(best.to_string(index=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
