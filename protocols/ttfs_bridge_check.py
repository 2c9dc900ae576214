#!/usr/bin/env python
"""Run a trained TTFS network (a run of ttfs_mnist.py) in Brian2 and compare it with the exact model.

Reads ``weights.npz`` and ``run.json`` of the run directory, simulates the
test samples in Brian2 (``--device runtime`` or ``cpp_standalone``, time step
``--dt-fraction`` of the window), and writes ``brian2_check_<device>.json`` into the
run directory: the statistics of :func:`bioplastic.gradient.ttfs.bridge.compare`
(layer-by-layer lag of every spike behind the exact crossing, silent-set
mismatches, end-to-end errors, class agreement), the command and the wall
time.  With ``--precise`` the sub-step correction is on and the file is
``brian2_check_<device>_precise.json``.

Example::

    python protocols/ttfs_bridge_check.py runs/ttfs-mnist-400 --device cpp_standalone
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
    p.add_argument("run", help="run directory of protocols/ttfs_mnist.py")
    p.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    p.add_argument("--dt-fraction", type=float, default=0.01, help="time step / window t_max")
    p.add_argument("--precise", action="store_true",
                   help="sub-step correction of the spike times (bridge module docstring)")
    p.add_argument("--n-test", type=int, default=None, help="test samples (default all 10000)")
    p.add_argument("--build-dir", default=None, help="cpp_standalone build directory")
    p.add_argument("--data-dir", default=None)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    import torch

    from bioplastic.data import datasets
    from bioplastic.gradient.ttfs.bridge import compare, run_brian2
    from bioplastic.gradient.ttfs.coding import encode_images
    from bioplastic.runs import load_npz, read_json, write_json

    torch.set_num_threads(1)
    run = Path(args.run)
    rec = read_json(run / "run.json")
    w = load_npz(run / "weights.npz")
    weights = [w[f"weights.{i}"].astype(np.float64) for i in range(len(w))]
    params = {"weights": weights, "t_max": rec["network"]["t_max"], "v_th": rec["network"]["v_th"]}
    load = datasets.load_mnist if rec["args"]["dataset"] == "mnist" else datasets.load_fashion_mnist
    x, _ = load("test", data_dir=args.data_dir)
    if args.n_test is not None:
        x = x[:args.n_test]
    t_in = encode_images(x / 255.0, t_in=rec["network"]["t_in"], dtype=torch.float64)
    t0 = time.perf_counter()
    times = run_brian2(params, t_in, dt_fraction=args.dt_fraction, device=args.device,
                       directory=args.build_dir, precise=args.precise)
    seconds = time.perf_counter() - t0
    stats = compare(params, t_in, times, dt_fraction=args.dt_fraction, precise=args.precise)
    result = {"command": " ".join(shlex.quote(a) for a in sys.argv), "device": args.device,
              "dt_fraction": args.dt_fraction, "precise": args.precise, "brian2_seconds": seconds, **stats}
    name = f"brian2_check_{args.device}{'_precise' if args.precise else ''}.json"
    write_json(run / name, result)
    for k, v in result.items():
        print(f"{k}: {v}")
    return result


if __name__ == "__main__":
    main()
