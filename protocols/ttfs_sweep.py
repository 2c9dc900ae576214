#!/usr/bin/env python
"""A gamma sweep of the sparse-firing regularisers of TTFS networks: regulariser x gamma x seed.

Each cell is one run of ``protocols/ttfs_mnist.py`` in its own process
(``--workers`` at a time), in ``<sweep>/cells/<cell>/``.  The sweep is
resumable: a cell whose ``run.json`` says ``finished`` is never re-run, an
interrupted cell continues from its checkpoint.  ``<sweep>/sweep.json``
records the training settings (everything but the gammas and seeds); a sweep
directory can be extended with more gammas or seeds, but running other
settings into it is an error.  The tables cover every finished cell of the
directory.  The unregularised cell (``none``, gamma 0) is always part of the
grid: it is the reference of the "spikes halve" point.

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

Example (2 processes)::

    python protocols/ttfs_sweep.py --out runs/ttfs-sweep --dataset mnist --hidden 100 \\
        --m-ssr 1e-4 1e-3 1e-2 --f-ssr 1e-4 1e-3 1e-2 --seeds 0 --epochs 2 \\
        --n-train 10000 --workers 2
"""

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASS_THROUGH = ("dataset", "epochs", "lr", "batch_size", "sigma", "n_train", "n_validation", "n_test",
                "data_dir")


class SweepError(Exception):
    """The sweep directory belongs to another grid."""


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="sweep directory")
    p.add_argument("--m-ssr", type=float, nargs="*", default=[], metavar="GAMMA", help="gammas of M-SSR")
    p.add_argument("--f-ssr", type=float, nargs="*", default=[], metavar="GAMMA", help="gammas of F-SSR")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--hidden", type=int, nargs="*", default=[100])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sigma", type=float, default=0.1)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-validation", type=int, default=5000)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--workers", type=int, default=1, help="cells run in parallel (processes, 1 torch thread each)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if any(g <= 0 for g in args.m_ssr + args.f_ssr):
        p.error("every gamma must be > 0 (the unregularised cell is always included)")
    return args


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


def command_of(cell, grid, cell_dir, resume):
    cmd = [sys.executable, str(HERE / "ttfs_mnist.py"), "--regularizer", cell["regularizer"],
           "--gamma", repr(cell["gamma"]), "--seed", str(cell["seed"]), "--out", str(cell_dir),
           "--threads", "1", "--quiet", "--hidden", *map(str, grid["hidden"])]
    for key in PASS_THROUGH:
        if grid[key] is not None:
            cmd += ["--" + key.replace("_", "-"), str(grid[key])]
    return cmd + (["--resume"] if resume else [])


def settings_of(grid):
    """The training settings shared by all cells (the grid without gammas and seeds)."""
    return {k: v for k, v in grid.items() if k not in ("gammas", "seeds")}


def check_grid(out, grid):
    from bioplastic.runs import read_json, write_json

    path = out / "sweep.json"
    commands = []
    if path.exists():
        old = read_json(path)
        if old["settings"] != settings_of(grid):
            raise SweepError(f"{out} holds a sweep with other settings ({old['settings']}); "
                             "choose another --out")
        commands = old["commands"]
    write_json(path, {"settings": settings_of(grid), "commands": commands + [" ".join(sys.argv)]})


def _finished(cell_dir):
    from bioplastic.runs import read_json

    path = cell_dir / "run.json"
    return path.exists() and read_json(path).get("status") == "finished"


def collect(out):
    """Write cells.csv, summary.csv and halving.csv from every finished cell of *out*."""
    import pandas as pd

    from bioplastic.runs import read_json, save_table

    rows = []
    for cell_dir in sorted((out / "cells").glob("*")):
        if not _finished(cell_dir):
            continue
        rec = read_json(cell_dir / "run.json")
        test, val = rec["results"]["test"], rec["results"].get("validation") or {}
        row = {"name": cell_dir.name, "regularizer": rec["args"]["regularizer"],
               "gamma": rec["args"]["gamma"], "seed": rec["args"]["seed"]}
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


def main(argv=None):
    args = parse(argv)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = grid_of(args)
    check_grid(out, grid)
    cells = cells_of(grid)
    todo = [c for c in cells if not _finished(out / "cells" / c["name"])]
    log(f"[sweep] {len(cells)} cells, {len(cells) - len(todo)} finished, {len(todo)} to run "
        f"with {args.workers} process(es)")

    def run_cell(cell):
        cell_dir = out / "cells" / cell["name"]
        cmd = command_of(cell, grid, cell_dir, resume=(cell_dir / "checkpoint.npz").exists())
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        return cell, proc, time.perf_counter() - t0

    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(run_cell, c) for c in todo]
        for k, future in enumerate(as_completed(futures), start=1):
            cell, proc, seconds = future.result()
            if proc.returncode != 0:
                failed += 1
                log(f"[sweep {k}/{len(todo)}] {cell['name']}: FAILED ({proc.stderr.strip()[-500:]})")
                continue
            collect(out)
            log(f"[sweep {k}/{len(todo)}] {cell['name']}: finished ({seconds:.0f} s)")
    table = collect(out)
    if table is not None:
        log(table[["name", "test_accuracy", "spikes_total"]].to_string(index=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
