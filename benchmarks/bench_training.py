"""Training speed: ms per training sample (one 350 ms + 150 ms window), side by side.

For each hidden-layer size, this measures in one run

* the compile-once engine on each available device (``cpp_standalone``, and
  ``cuda_standalone`` with ``--cuda``), trained in chunks of K samples on real
  MNIST with learning on (the faithful model: rest periods simulated, literal
  parameters);
* the straightforward baseline: the same equations in Brian2's runtime mode
  (Cython) driven by a Python loop of one ``run()`` call per sample, as
  Brian2's ``examples/frompapers/Diehl_Cook_2015.py`` does;

and prints the ratios and the peak memory (resident set size of the Python
process and of the standalone binaries).  ``--json PATH`` writes the numbers.

Example::

    python benchmarks/bench_training.py --sizes 100 400 --json bench.json
"""

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


_RSS_WRAPPER = """
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "a") as f:
    f.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.exit(rc)
"""


def _measure_binary_rss(tmp):
    """Run standalone binaries through a wrapper that logs their peak RSS (KiB)."""
    from brian2 import prefs

    wrapper = tmp / "rss_wrapper.py"
    wrapper.write_text(_RSS_WRAPPER)
    log = tmp / "rss.log"
    prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, str(wrapper), str(log), "./main"]
    return log


def _peak_kib(log):
    if not log.exists():
        return None
    values = [int(x) for x in log.read_text().split()]
    log.unlink()
    return max(values) if values else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--samples", type=int, default=1000, help="timed samples per device and size")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--baseline-samples", type=int, default=20)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--cuda", action="store_true", help="also measure cuda_standalone (needs a GPU)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)


    from bioplastic.datasets import load_mnist
    from bioplastic.engine import Engine, chunk_seed
    from bioplastic.params import model_params
    from bioplastic.training import pixel_rates

    x, y = load_mnist("train", data_dir=args.data_dir)
    results = {"samples": args.samples, "chunk_size": args.chunk_size, "threads": args.threads, "sizes": {}}
    devices = ["cpp_standalone"] + (["cuda_standalone"] if args.cuda else [])
    tmp = Path(tempfile.mkdtemp(prefix="bioplastic-bench-"))

    def timed(engine, n_samples):
        p = engine.params
        K = engine.chunk_size
        rates = pixel_rates(x[: K * (n_samples // K + 2)], p.input)
        state = engine.initial_state()
        # warm-up chunk (first binary call, page cache)
        state, _ = engine.run_chunk(state, rates[:K], y[:K], True, chunk_seed(0, 0))
        n_chunks = max(1, n_samples // K)
        t0 = time.perf_counter()
        for c in range(n_chunks):
            sl = slice((c + 1) * K, (c + 2) * K)
            state, res = engine.run_chunk(state, rates[sl], y[sl], True, chunk_seed(0, c + 1))
        return 1000 * (time.perf_counter() - t0) / (n_chunks * K)

    for n in args.sizes:
        p = model_params("mnist", n)
        row = {}
        for dev in devices:
            from brian2.devices import reinit_and_delete

            reinit_and_delete()
            eng = Engine(p, device=dev, chunk_size=args.chunk_size, threads=args.threads,
                         build_dir=tmp / f"{dev}-{n}", verbose=False)
            rss_log = _measure_binary_rss(tmp)
            ms = timed(eng, args.samples)
            peak = _peak_kib(rss_log)
            row[dev] = {"ms_per_sample": ms, "build_seconds": eng.build_seconds,
                        "epoch_minutes": ms,  # 60000 samples x ms ms = ms minutes
                        "binary_peak_rss_mib": peak / 1024 if peak else None}
            print(f"N_E={n:5d}  {dev:16s} {ms:8.2f} ms/sample  (build {eng.build_seconds:.0f} s, "
                  f"a 60000-sample epoch: {ms:.1f} min, binary peak memory "
                  f"{peak / 1024 if peak else float('nan'):.0f} MiB)", flush=True)
        if not args.no_baseline:
            from brian2.devices import reinit_and_delete

            reinit_and_delete()
            eng = Engine(p, device="runtime", chunk_size=1, build_dir=None, verbose=False)
            ms = timed(eng, args.baseline_samples)
            row["runtime_python_loop"] = {"ms_per_sample": ms}
            print(f"N_E={n:5d}  {'runtime loop':16s} {ms:8.2f} ms/sample  (baseline: one run() per sample)",
                  flush=True)
            for dev in devices:
                row[dev]["speedup_vs_runtime_loop"] = ms / row[dev]["ms_per_sample"]
                print(f"N_E={n:5d}  {dev} is {ms / row[dev]['ms_per_sample']:.1f}x faster than the runtime loop",
                      flush=True)
        results["sizes"][str(n)] = row
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["peak_rss_mib_python"] = rss_self
    print(f"peak memory of the Python process: {rss_self:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
