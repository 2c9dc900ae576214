"""Where a standalone training binary spends its time, per code object (Brian2's ``profile=True``).

Builds the engine for one N_E with Brian2's standalone profiling switched on,
trains one warm-up chunk and one timed chunk of real MNIST, and prints the time
of each code object per simulated time step, largest first.  On
``cuda_standalone`` brian2cuda times each kernel with CUDA events (the profiled
binary synchronises after every kernel, so its total is an upper bound of the
unprofiled one); on ``cpp_standalone`` the times are wall-clock per code object.

    python benchmarks/profile_standalone.py --device cuda_standalone --size 400
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpp_standalone", choices=["cpp_standalone", "cuda_standalone"])
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--chunk-size", type=int, default=20)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--population", type=int, default=None, metavar="P",
                    help="profile a population of P networks (population mode), each on its own samples")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)

    from brian2 import Network

    from bioplastic.data.datasets import load_mnist
    from bioplastic.symstdp.device.engine import Engine, chunk_seed
    from bioplastic.symstdp.params import model_params
    from bioplastic.symstdp.training import pixel_rates

    original_run = Network.run

    def profiled_run(self, *a, **kw):
        kw["profile"] = True
        return original_run(self, *a, **kw)

    Network.run = profiled_run
    p = model_params("mnist", args.size)
    K = args.chunk_size
    P = args.population
    eng = Engine(p, device=args.device, chunk_size=K, verbose=False, population=P,
                 build_dir=Path(f"/tmp/bioplastic-profile-{args.device}-{args.size}" + (f"-p{P}" if P else "")))
    Network.run = original_run
    x, y = load_mnist("train", data_dir=args.data_dir)
    rates = pixel_rates(x[: 2 * K * (P or 1)], p.input)
    state = eng.initial_state()
    if P is None:
        state, _ = eng.run_chunk(state, rates[:K], y[:K], True, chunk_seed(0, 0))
        t0 = time.perf_counter()
        state, res = eng.run_chunk(state, rates[K:], y[K:2 * K], True, chunk_seed(0, 1))
    else:       # copy c trains on samples c * 2K ... (c + 1) * 2K
        def chunk(i):
            idx = [np.arange(c * 2 * K + i * K, c * 2 * K + (i + 1) * K) for c in range(P)]
            return np.stack([rates[j] for j in idx], axis=1), np.stack([y[j] for j in idx], axis=1)

        state, _ = eng.run_population_chunk(state, *chunk(0), True, [chunk_seed(c, 0) for c in range(P)])
        t0 = time.perf_counter()
        state, results = eng.run_population_chunk(state, *chunk(1), True, [chunk_seed(c, 1) for c in range(P)])
        res = results[0]
    wall = time.perf_counter() - t0
    files = sorted(eng.build_dir.glob("**/profiling_info.txt"), key=lambda f: f.stat().st_mtime)
    if not files:
        print("no profiling_info.txt was written", file=sys.stderr)
        return 1
    rows = []
    for line in files[-1].read_text().splitlines():
        name, _, val = line.rpartition("\t")
        if name:
            rows.append((name.strip(), float(val)))
    rows.sort(key=lambda r: -r[1])
    steps = K * p.input.window_steps
    total = sum(v for _, v in rows)
    done = min(res.ptr_end, K)
    print(f"{args.device}, N_E = {args.size}" + (f", population of {P}" if P else "") + f": {K} windows ({done} samples), {steps:.0f} steps; "
          f"chunk wall {wall:.2f} s ({1000 * wall / done:.2f} ms/sample); profiled total "
          f"{total:.3f} s = {1e6 * total / steps:.1f} us/step")
    for name, v in rows[: args.top]:
        print(f"  {1e6 * v / steps:9.2f} us/step  {100 * v / total:5.1f} %  {name}")
    eng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
