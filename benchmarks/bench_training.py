"""Training speed: ms per training sample (350 ms + 150 ms windows, re-presentations included).

One run measures, on this machine and under its present load:

* the compile-once engine (``cpp_standalone``; ``cuda_standalone`` with
  ``--cuda``) at each N_E of ``--sizes`` (default 100, 400, 1600, 6400),
  trained in chunks of K samples on real MNIST with learning on (the faithful
  model: rest periods simulated, the variant's parameters and integrator),
  for each thread count of ``--threads``;
* the reference points, as ratios: the same equations in Brian2's runtime
  mode (Cython) driven by a Python loop of one ``run()`` per sample
  (``--runtime-sizes``, default 100 and 400), and Brian2's own example
  ``examples/frompapers/Diehl_Cook_2015.py`` (a 400-neuron STDP network of the
  same family, runtime mode, one ``run()`` per presentation) timed on a few
  samples, when ``--diehl-cook PATH`` names a copy of it (not shipped with
  Brian2's wheel; the column is skipped with a message otherwise);
* with ``--population P ...``, populations of P networks (population mode,
  each copy on its own samples) split over ``--population-workers`` processes
  (default 1 and 2), as the total samples per second of all copies and as a
  ratio to one network's samples per second measured in the same run;
* with ``--profile``, the instruction counts per generated code object
  (callgrind, see ``benchmarks/profile_training.py``) at ``--profile-sizes``.

Every figure is printed with the machine (CPU model, cores) and the load
average.  Two times are given per sample: the wall-clock time of the whole
chunk loop (binary, Python between chunks, file I/O; what a user waits for)
and the CPU time of the standalone binary itself (all its threads), which
depends much less on what else runs on the machine.  Standalone builds are
cached in the engine's build cache (``$BIOPLASTIC_BUILD_DIR`` or
``~/.cache/bioplastic/build``), so a second run does not recompile.

Example::

    python benchmarks/bench_training.py --diehl-cook ~/brian2/examples/frompapers/Diehl_Cook_2015.py \\
        --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_average, machine_description  # noqa: E402

EPOCH = 60000

_CHILD_WRAPPER = """
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "a") as f:
    f.write(f"{ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}\\n")
sys.exit(rc)
"""


#: Engine options of each precision that --precisions times.
PRECISIONS = {
    "float64": {"float32": False},
    "float32": {"float32": True},                            # theta stays float64
    "float32-all": {"float32": True, "float32_theta": True},  # the authors' GPU precision
}


def _print_jump_ratios(n, row, jumps):
    """Mean wall and binary CPU ms per sample of each rest jump, as ratios to the first jump (same run)."""
    def mean(jump, key):
        values = [v[key] for v in row.values()
                  if isinstance(v, dict) and v.get("rest_jump_ms") == jump and v.get(key)]
        return sum(values) / len(values) if values else None

    base_wall, base_cpu = mean(jumps[0], "ms_per_sample"), mean(jumps[0], "binary_cpu_ms_per_sample")
    for jump in jumps[1:]:
        wall, cpu = mean(jump, "ms_per_sample"), mean(jump, "binary_cpu_ms_per_sample")
        text = f"N_E={n:5d}  rest jump {jump:g} ms: {wall:.2f} ms/sample wall ({base_wall / wall:.2f}x faster)"
        if cpu and base_cpu:
            text += f", {cpu:.2f} binary CPU ({base_cpu / cpu:.2f}x faster)"
        print(text + f" than rest jump {jumps[0]:g} ms (means over repeats, same run)", flush=True)


def _wrap_binary(tmp):
    """Run standalone binaries through a wrapper that logs their peak RSS and CPU time."""
    from brian2 import prefs

    wrapper = tmp / "child_wrapper.py"
    wrapper.write_text(_CHILD_WRAPPER)
    log = tmp / "child.log"
    prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, str(wrapper), str(log), "./main"]
    return log


def _read_child_log(log):
    """(peak RSS in KiB, list of CPU seconds per binary call) since the last read."""
    if not log.exists():
        return None, []
    rows = [line.split() for line in log.read_text().splitlines() if line.strip()]
    log.unlink()
    return max(int(r[0]) for r in rows), [float(r[1]) for r in rows]


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _time_engine(engine, x, y, n_samples, child_log=None):
    """Train ``n_samples`` (whole chunks, after one warm-up chunk); ms per sample.

    The timed chunks run the binary as the protocols do; its CPU time is the
    growth of this process's children's CPU time.  With ``child_log``, one more
    chunk runs through the logging wrapper for the binary's peak memory (the
    wrapper's own start-up stays out of the timed figures).
    """
    from brian2 import prefs

    from bioplastic.symstdp.device.engine import chunk_seed
    from bioplastic.symstdp.training import pixel_rates

    K = engine.chunk_size
    n_chunks = max(1, -(-n_samples // K))
    extra = 1 if child_log is not None else 0
    rates = pixel_rates(x[: K * (n_chunks + 1 + extra)], engine.params.input)
    wrapped_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    if child_log is not None:
        prefs.devices.cpp_standalone.run_cmd_unix = "./main"
    state = engine.initial_state()
    state, _ = engine.run_chunk(state, rates[:K], y[:K], True, chunk_seed(0, 0))  # warm-up
    done = 0
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    child0 = _children_cpu()
    t0 = time.perf_counter()
    for c in range(n_chunks):
        sl = slice((c + 1) * K, (c + 2) * K)
        state, res = engine.run_chunk(state, rates[sl], y[sl], True, chunk_seed(0, c + 1))
        done += min(res.ptr_end, K)
    wall = 1000 * (time.perf_counter() - t0) / done
    binary_cpu = _children_cpu() - child0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    py_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    peak = None
    if child_log is not None:
        prefs.devices.cpp_standalone.run_cmd_unix = wrapped_cmd
        _read_child_log(child_log)
        sl = slice((n_chunks + 1) * K, (n_chunks + 2) * K)
        engine.run_chunk(state, rates[sl], y[sl], True, chunk_seed(0, n_chunks + 1))
        peak, _ = _read_child_log(child_log)
    return {
        # per completed training sample: re-presentations (fewer than 5 hidden
        # spikes) included, as in the Diehl & Cook example's loop
        "ms_per_sample": wall,
        "binary_cpu_ms_per_sample": 1000 * binary_cpu / done if engine.standalone else None,
        "binary_peak_rss_mib": peak / 1024 if peak else None,
        # Python between chunks: run_args and result files, state dicts
        "python_cpu_ms_per_sample": 1000 * py_cpu / done,
        "timed_windows": n_chunks * K,
        "timed_samples": done,
        "epoch_minutes": wall * EPOCH / 60000.0,
    }


# --------------------------------------------------------------- population
def _population_worker(params, options, copies, first_copy, n_chunks, data_dir, barrier):
    """One process's copies of a population (bioplastic.symstdp.training.run_population_phase's
    split): build, one warm-up chunk, wait for the other processes, then time ``n_chunks`` chunks.
    Copy ``c`` trains on its own slice of the training set."""
    from bioplastic.data.datasets import load_mnist
    from bioplastic.symstdp.device.engine import Engine, chunk_seed
    from bioplastic.symstdp.training import pixel_rates

    x, y = load_mnist("train", data_dir=data_dir)
    seeds = list(range(first_copy, first_copy + copies))
    eng = Engine(params, verbose=False, population=copies, seeds=seeds, **options)
    K = eng.chunk_size
    per_copy = K * (n_chunks + 1)

    def chunk(c):
        idx = [np.arange(s * per_copy + c * K, s * per_copy + (c + 1) * K) for s in seeds]
        rates = np.stack([pixel_rates(x[i], params.input) for i in idx], axis=1)
        return rates, np.stack([y[i] for i in idx], axis=1)

    state = eng.initial_state()
    state, _ = eng.run_population_chunk(state, *chunk(0), True, [chunk_seed(s, 0) for s in seeds])
    barrier.wait()
    child0 = _children_cpu()
    t0 = time.perf_counter()
    done = 0
    for c in range(1, n_chunks + 1):
        state, res = eng.run_population_chunk(state, *chunk(c), True, [chunk_seed(s, c) for s in seeds])
        done += sum(min(r.ptr_end, K) for r in res)
    wall = time.perf_counter() - t0
    eng.close()
    return {"samples": done, "wall_seconds": wall, "binary_cpu_seconds": _children_cpu() - child0}


def time_population(params, options, copies, workers, n_samples, data_dir):
    """Total training samples per second of ``copies`` networks in a population, split over
    ``workers`` processes started together (each times its own chunks after a common barrier)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    K = options["chunk_size"]
    n_chunks = max(1, -(-n_samples // K))
    bounds = np.linspace(0, copies, workers + 1).astype(int)
    ctx = multiprocessing.get_context("spawn")
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(_population_worker, params, options, int(b - a), int(a), n_chunks, data_dir,
                                   barrier) for a, b in zip(bounds[:-1], bounds[1:])]
            parts = [f.result() for f in futures]
    rate = sum(p["samples"] / p["wall_seconds"] for p in parts)
    return {"copies": copies, "workers": workers, "samples_per_second": rate,
            "ms_per_sample_per_network": 1000 * copies / rate,
            "binary_cpu_ms_per_sample": 1000 * sum(p["binary_cpu_seconds"] for p in parts)
            / sum(p["samples"] for p in parts),
            "timed_samples": sum(p["samples"] for p in parts), "parts": parts}


# --------------------------------------------------------------- Diehl & Cook
_DC_HARNESS = textwrap.dedent('''
    """Times Brian2's Diehl_Cook_2015.py example: train() on a few samples."""
    import importlib.util, json, sys, time, types
    from pathlib import Path

    path, mnist_dir, data_dir, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    stamps = []

    def progressbar(iterable):          # stand-in for the progressbar2 package
        for item in iterable:
            stamps.append(time.perf_counter())
            yield item
        stamps.append(time.perf_counter())

    sys.modules["progressbar"] = types.SimpleNamespace(progressbar=progressbar)
    spec = importlib.util.spec_from_file_location("diehl_cook_2015", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.MNIST_PATH, mod.DATA_PATH, mod.N_TRAIN = Path(mnist_dir), Path(data_dir), n
    mod.N_SAVE_POINTS = 1
    mod.DATA_PATH.mkdir(parents=True, exist_ok=True)
    mod.seed(mod.SEED)
    mod.train()
    # the first sample includes code generation; time the others
    per = (stamps[-1] - stamps[1]) / (len(stamps) - 2)
    print("DIEHL_COOK_MS_PER_SAMPLE", json.dumps(1000 * per))
''')


def _write_idx(folder, x, y):
    """Uncompressed MNIST IDX files of a few samples (the example reads raw IDX)."""
    folder.mkdir(parents=True, exist_ok=True)
    x = x.reshape(len(x), 28, 28).astype("uint8")
    with open(folder / "train-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes())
    with open(folder / "train-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, len(y)) + y.astype("uint8").tobytes())


def time_diehl_cook(path, x, y, n_samples, tmp):
    """ms per training sample of Brian2's Diehl & Cook example, or None with a reason."""
    path = Path(path) if path else None
    if path is None or not path.exists():
        return None, (f"Diehl_Cook_2015.py not found ({path}); pass --diehl-cook PATH "
                      "(brian2 repository, examples/frompapers/)") if path else \
            "no --diehl-cook PATH given (the example is not in Brian2's wheel)"
    mnist = tmp / "dc_mnist"
    _write_idx(mnist, x[: n_samples + 2], y[: n_samples + 2])
    harness = tmp / "dc_harness.py"
    harness.write_text(_DC_HARNESS)
    env = dict(os.environ)
    r = subprocess.run([sys.executable, str(harness), str(path), str(mnist), str(tmp / "dc_data"),
                        str(n_samples + 1)], capture_output=True, text=True, env=env, cwd=tmp)
    for line in r.stdout.splitlines():
        if line.startswith("DIEHL_COOK_MS_PER_SAMPLE"):
            return json.loads(line.split(None, 1)[1]), None
    return None, f"the example failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"


# --------------------------------------------------------------------- main
def _override(text):
    """``--param TABLE.FIELD=VALUE`` -> (key, value); argparse reports a bad one."""
    from bioplastic.symstdp.params import parse_override

    try:
        return parse_override(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1600, 6400])
    ap.add_argument("--samples", type=int, default=500,
                    help="timed samples per size up to N_E = 400 (whole chunks, after a warm-up chunk)")
    ap.add_argument("--samples-large", type=int, default=250, help="timed samples at N_E >= 1600")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--threads", type=int, nargs="+", default=[1],
                    help="OpenMP thread counts to measure (cpp_standalone)")
    ap.add_argument("--runtime-sizes", type=int, nargs="*", default=[100, 400],
                    help="sizes at which the runtime-mode Python loop is timed (none: skip)")
    ap.add_argument("--runtime-samples", type=int, default=10)
    ap.add_argument("--diehl-cook", default=None, metavar="PATH",
                    help="Brian2's examples/frompapers/Diehl_Cook_2015.py (reference column)")
    ap.add_argument("--diehl-cook-samples", type=int, default=5)
    ap.add_argument("--profile", action="store_true",
                    help="also print instruction counts per code object (valgrind callgrind)")
    ap.add_argument("--profile-sizes", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--compare-queue", action="store_true",
                    help="also time cpp_standalone with Brian2's own code for the plastic synapses "
                         "(spike queue, indexed loops: Engine(dense_synapses=False)), side by side")
    ap.add_argument("--cuda", action="store_true", help="also measure cuda_standalone (needs a GPU)")
    ap.add_argument("--float32", action="store_true", help="the same as --precisions float32")
    ap.add_argument("--precisions", nargs="+", choices=list(PRECISIONS), default=None,
                    help="precisions timed side by side at every size (float32: theta kept in float64; "
                         "float32-all: theta too); default float64")
    ap.add_argument("--rest-jumps", type=float, nargs="+", default=[0.0], metavar="MS",
                    help="InputParams.t_rest_jump values (ms) timed side by side (e.g. 0 130: the whole "
                         "rest stepped, and 130 ms of it as one decay); ratios against the first")
    ap.add_argument("--repeats", type=int, default=1,
                    help="time each precision this many times, alternating (drift shows as spread)")
    ap.add_argument("--param", action="append", default=[], type=_override, metavar="TABLE.FIELD=VALUE",
                    help="override a model parameter at every size, as in the protocols, e.g. "
                         "--param \"method='implicit_euler'\"")
    from bioplastic.symstdp.cli import MODEL_NAMES

    ap.add_argument("--model", choices=MODEL_NAMES, default="hao-2020",
                    help="the network the engine runs (bioplastic.symstdp.models); 'diehl-cook-2015' "
                         "is the model of the --diehl-cook example, built from bioplastic's parts")
    ap.add_argument("--compare-model", choices=MODEL_NAMES, default=None,
                    help="also time this model at every size (cpp_standalone, first thread count, "
                         "precision and rest jump), beside --model in the same run, as a ratio")
    ap.add_argument("--population", type=int, nargs="+", default=[], metavar="P",
                    help="also time populations of P networks (population mode), beside one network")
    ap.add_argument("--population-workers", type=int, nargs="+", default=[1, 2], metavar="W",
                    help="processes a population is split over (default: 1 and 2)")
    ap.add_argument("--population-device", default="cpp_standalone",
                    choices=["cpp_standalone", "cuda_standalone"],
                    help="device of the populations (one network is timed on cpp_standalone, 1 thread)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from brian2.devices import reinit_and_delete

    from bioplastic.data.datasets import load_mnist
    from bioplastic.symstdp.device.engine import Engine
    from bioplastic.symstdp.models import resolve_model
    from bioplastic.symstdp.params import with_overrides

    def model_params(dataset, n):
        return resolve_model(args.model, dataset, n)[0]

    overrides = dict(args.param)

    def model_kwargs(n, model=None):    # a model's rules can depend on the size (the error readout's step)
        return resolve_model(model or args.model, "mnist", n, overrides=overrides)[1].engine_kwargs()

    try:  # a bad override fails before any data is loaded or code compiled
        with_overrides(model_params("mnist", args.sizes[0]), overrides)
    except ValueError as err:
        ap.error(str(err))

    machine = machine_description()
    print(f"machine: {machine}; {load_average()}; model {args.model}", flush=True)
    x, y = load_mnist("train", data_dir=args.data_dir)
    precisions = args.precisions or (["float32"] if args.float32 else ["float64"])
    results = {"machine": machine, "model": args.model, "compare_model": args.compare_model,
               "chunk_size": args.chunk_size, "float32": args.float32,
               "precisions": precisions, "rest_jumps_ms": args.rest_jumps,
               "overrides": overrides,
               "sizes": {}, "reference": {}}
    tmp = Path(tempfile.mkdtemp(prefix="bioplastic-bench-"))

    def report(n, label, r):
        cpu = r.get("binary_cpu_ms_per_sample")
        extra = f", binary CPU {cpu:.2f} ms/sample" if cpu else ""
        extra += f", Python CPU {r['python_cpu_ms_per_sample']:.2f} ms/sample"
        mem = r.get("binary_peak_rss_mib")
        extra += f", binary peak {mem:.0f} MiB" if mem else ""
        print(f"N_E={n:5d}  {label:24s} {r['ms_per_sample']:8.2f} ms/sample{extra}; "
              f"60000-sample epoch {r['epoch_minutes']:.1f} min  [{machine}; {load_average()}]",
              flush=True)

    for n in args.sizes:
        p = with_overrides(model_params("mnist", n), overrides)
        row = {"method": p.method}
        n_samples = args.samples if n < 1600 else args.samples_large
        devices = ["cpp_standalone"] + (["cuda_standalone"] if args.cuda else [])
        for dev in devices:
            dense_options = [True, False] if dev == "cpp_standalone" and args.compare_queue else [True]
            for threads, dense, prec, rep, jump in ((t, d, q, k, j)
                                                    for t in (args.threads if dev == "cpp_standalone" else [1])
                                                    for d in dense_options for k in range(args.repeats)
                                                    for q in precisions for j in args.rest_jumps):
                reinit_and_delete()
                pj = with_overrides(p, {"input.t_rest_jump": f"{jump!r}*ms"}) if jump else p
                eng = Engine(pj, device=dev, chunk_size=args.chunk_size, threads=threads,
                             verbose=False, dense_synapses=dense, **PRECISIONS[prec], **model_kwargs(n))
                # after the Engine: building resets the device's run command
                child_log = _wrap_binary(tmp) if dev == "cpp_standalone" else None
                r = _time_engine(eng, x, y, n_samples, child_log)
                r.update(threads=threads, build_seconds=eng.build_seconds)
                label = (f"{dev}" + (f" x{threads} threads" if threads > 1 else "")
                         + ("" if dense else " (Brian2 synapse code)")
                         + (f" {prec}" if len(precisions) > 1 or prec != "float64" else "")
                         + (f" jump {jump:g} ms" if len(args.rest_jumps) > 1 or jump else "")
                         + (f" #{rep + 1}" if args.repeats > 1 else ""))
                r["rest_jump_ms"] = jump
                row[label] = r
                report(n, label, r)
                eng.close()
                if not dense:
                    ref = row[label.replace(" (Brian2 synapse code)", "")]
                    print(f"N_E={n:5d}  dense synapse templates: {r['ms_per_sample'] / ref['ms_per_sample']:.2f}x "
                          "faster (wall)" + (f", {r['binary_cpu_ms_per_sample'] / ref['binary_cpu_ms_per_sample']:.2f}x "
                          "(binary CPU)" if r.get("binary_cpu_ms_per_sample") else "") + " than Brian2's synapse code "
                          "(same run)", flush=True)
        if args.compare_model:
            first = next(label for label, v in row.items() if isinstance(v, dict))
            reinit_and_delete()
            jump = args.rest_jumps[0]
            # the compared model's own table (Diehl & Cook's differs from Hao et al.'s), same overrides
            pc = with_overrides(resolve_model(args.compare_model, "mnist", n)[0], overrides)
            pj = with_overrides(pc, {"input.t_rest_jump": f"{jump!r}*ms"}) if jump else pc
            eng = Engine(pj, device="cpp_standalone", chunk_size=args.chunk_size, threads=args.threads[0],
                         verbose=False, **PRECISIONS[precisions[0]], **model_kwargs(n, args.compare_model))
            r = _time_engine(eng, x, y, n_samples, _wrap_binary(tmp))
            eng.close()
            r["ratio_to_model"] = r["ms_per_sample"] / row[first]["ms_per_sample"]
            row[f"model {args.compare_model}"] = r
            report(n, f"model {args.compare_model}", r)
            print(f"N_E={n:5d}  model {args.compare_model}: {r['ratio_to_model']:.3f}x the time per sample of "
                  f"{args.model} ({first}; same run)", flush=True)
        if n in args.runtime_sizes:
            reinit_and_delete()
            eng = Engine(p, device="runtime", chunk_size=1, verbose=False, **model_kwargs(n))
            r = _time_engine(eng, x, y, args.runtime_samples)
            row["runtime_python_loop"] = r
            report(n, "runtime loop (1 run/sample)", r)
            for label, v in row.items():
                if isinstance(v, dict) and label != "runtime_python_loop":
                    v["speedup_vs_runtime_loop"] = r["ms_per_sample"] / v["ms_per_sample"]
                    print(f"N_E={n:5d}  {label} is {v['speedup_vs_runtime_loop']:.1f}x faster than "
                          "the runtime loop (same run)", flush=True)
        if args.population:
            one = next(v for label, v in row.items() if isinstance(v, dict) and label.startswith("cpp_standalone"))
            one_rate = 1000.0 / one["ms_per_sample"]
            row["population"] = []
            print(f"N_E={n:5d}  one network (cpp_standalone, 1 thread): {one_rate:.1f} samples/s", flush=True)
            for copies in args.population:
                for workers in sorted({min(w, copies) for w in args.population_workers}):
                    reinit_and_delete()
                    options = {"device": args.population_device, "chunk_size": args.chunk_size,
                               **PRECISIONS[precisions[0]], **model_kwargs(n)}
                    r = time_population(p, options, copies, workers, n_samples, args.data_dir)
                    r["ratio_to_one_network"] = r["samples_per_second"] / one_rate
                    row["population"].append(r)
                    print(f"N_E={n:5d}  population of {copies} in {workers} process(es) on "
                          f"{args.population_device}: "
                          f"{r['samples_per_second']:.1f} samples/s in all = "
                          f"{r['ratio_to_one_network']:.2f}x one network's (same run); "
                          f"{r['ms_per_sample_per_network']:.2f} ms/sample per network  "
                          f"[{machine}; {load_average()}]", flush=True)
        results["sizes"][str(n)] = row
        if len(args.rest_jumps) > 1:
            _print_jump_ratios(n, row, args.rest_jumps)

    reinit_and_delete()
    dc, why = time_diehl_cook(args.diehl_cook, x, y, args.diehl_cook_samples, tmp)
    if dc is None:
        print(f"Diehl & Cook (2015) example: skipped: {why}", flush=True)
    else:
        results["reference"]["diehl_cook_2015_ms_per_sample"] = dc
        print(f"Brian2 example Diehl_Cook_2015.py (N_E = 400, runtime, {args.diehl_cook_samples} samples): "
              f"{dc:.1f} ms/sample  [{machine}; {load_average()}]", flush=True)
        for n, row in results["sizes"].items():
            for label, v in row.items():
                if isinstance(v, dict) and label.startswith(("cpp", "cuda")):
                    v["speedup_vs_diehl_cook"] = dc / v["ms_per_sample"]
                    print(f"N_E={int(n):5d}  {label} is {dc / v['ms_per_sample']:.1f}x faster per sample "
                          "than the Diehl & Cook example (same run)", flush=True)

    print("\nsummary (wall ms per training sample; binary CPU ms in brackets)")
    for n, row in results["sizes"].items():
        cells = [f"{label}: {v['ms_per_sample']:.2f}"
                 + (f" [{v['binary_cpu_ms_per_sample']:.2f}]" if v.get("binary_cpu_ms_per_sample") else "")
                 for label, v in row.items() if isinstance(v, dict)]
        print(f"  N_E={int(n):5d} ({row['method']}): " + "; ".join(cells))
    print(f"  machine: {machine}")

    if args.profile:
        from profile_training import format_profile, profile_size

        results["profile"] = []
        for n in args.profile_sizes:
            reinit_and_delete()
            prof = profile_size(n, 10, tmp / "profile", args.data_dir, args.float32)
            print(format_profile(prof), flush=True)
            results["profile"].append(prof)

    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["peak_rss_mib_python"] = rss_self
    print(f"peak memory of the Python process: {rss_self:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
