"""Where the time of a training chunk goes: instruction counts per generated code object.

Runs one training chunk of the ``cpp_standalone`` engine (real MNIST, learning
on, the same ``run_args`` as a real chunk) under ``valgrind --tool=callgrind``
and prints, per code object of the generated C++ (``_run_<name>``), the
instructions executed per training window (one 350 ms + 150 ms sample
presentation), its share of the total, and the per-chunk fixed costs (reading
``run_args`` and arrays, writing results).  Instruction counts do not depend
on the machine's load, unlike wall-clock timings, so a breakdown measured on a
busy machine is still exact.

The first chunk is run normally (warm-up, state after one chunk); the second
chunk runs under callgrind.

Example::

    python benchmarks/profile_training.py --sizes 100 400 --chunk-size 20 --json profile.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_description  # noqa: E402


def _callgrind_functions(out_file):
    """Inclusive instruction counts per function from a callgrind output file."""
    txt = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out_file)],
        capture_output=True, text=True, check=True,
    ).stdout
    counts = {}
    total = None
    for line in txt.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([\s\d.%]+\)\s+)?(?:\*\s+)?(.*)$", line)
        if not m:
            continue
        value = int(m.group(1).replace(",", ""))
        name = m.group(2).strip()
        if name.startswith("PROGRAM TOTALS"):
            total = value
            continue
        # "file:function [binary]" -> function
        func = name.split(":", 1)[-1].split(" [")[0].strip()
        counts[func] = max(counts.get(func, 0), value)
    return total, counts


def profile_size(n, chunk_size, build_root, data_dir, float32=False, threads=1, march="x86-64-v3",
                 keep=None):
    from brian2 import prefs
    from brian2.devices import reinit_and_delete

    from bioplastic.data.datasets import load_mnist
    from bioplastic.symstdp.device.engine import Engine, chunk_seed
    from bioplastic.symstdp.params import model_params
    from bioplastic.symstdp.training import pixel_rates

    x, y = load_mnist("train", data_dir=data_dir)
    reinit_and_delete()
    # valgrind 3.19 cannot decode AVX-512, which -march=native selects on recent Xeons
    saved_args = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = [
        f"-march={march}" if a == "-march=native" else a for a in saved_args]
    p = model_params("mnist", n)
    eng = Engine(p, device="cpp_standalone", chunk_size=chunk_size, verbose=False,
                 float32=float32, threads=threads,
                 build_dir=Path(build_root) / f"profile-{n}-{chunk_size}-{int(float32)}-{threads}-{march}")
    prefs.codegen.cpp.extra_compile_args_gcc = saved_args
    K = chunk_size
    rates = pixel_rates(x[: 2 * K], p.input)
    state = eng.initial_state()
    state, _ = eng.run_chunk(state, rates[:K], y[:K], True, chunk_seed(0, 0))
    tmp = Path(tempfile.mkdtemp(prefix="bioplastic-callgrind-"))
    out = tmp / "callgrind.out"
    old = prefs.devices.cpp_standalone.run_cmd_unix
    prefs.devices.cpp_standalone.run_cmd_unix = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "./main"]
    try:
        state, res = eng.run_chunk(state, rates[K:2 * K], y[K:2 * K], True, chunk_seed(0, 1))
    finally:
        prefs.devices.cpp_standalone.run_cmd_unix = old
    total, funcs = _callgrind_functions(out)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(keep) / f"callgrind-{n}.out")
    shutil.rmtree(tmp, ignore_errors=True)
    rows = {}
    for func, value in funcs.items():
        m = re.match(r"_run_(\w+?)(?:_codeobject\w*)?\(\)$", func)
        if m:
            rows[m.group(1)] = rows.get(m.group(1), 0) + value
    fixed = {}
    for key in ("_load_arrays", "_init_arrays", "_write_arrays", "set_from_command_line",
                "brian_start", "brian_end"):
        v = sum(val for f, val in funcs.items() if f.startswith(f"brian::{key}") or f.startswith(key))
        if v:
            fixed[key] = v
    eng.close()
    return {
        "N_E": n, "chunk_size": K, "float32": float32, "threads": threads,
        "windows": K, "total_instructions": total,
        "instructions_per_window": total / K,
        "code_objects": dict(sorted(rows.items(), key=lambda kv: -kv[1])),
        "fixed_per_chunk": fixed,
        "spikes_per_window": float(res.hidden_counts.sum()) / K,
    }


def format_profile(prof):
    lines = [f"N_E = {prof['N_E']}: {prof['instructions_per_window'] / 1e6:.1f} M instructions per "
             f"training window (callgrind, chunk of {prof['chunk_size']} windows"
             f"{', float32' if prof['float32'] else ''})"]
    total = prof["total_instructions"]
    for name, v in prof["code_objects"].items():
        if v / total < 0.002:
            continue
        lines.append(f"    {name:45s} {v / prof['windows'] / 1e6:9.2f} M/window  {100 * v / total:5.1f} %")
    for name, v in prof["fixed_per_chunk"].items():
        lines.append(f"    {'[per chunk] ' + name:45s} {v / 1e6:9.2f} M/chunk   {100 * v / total:5.1f} %")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--chunk-size", type=int, default=20)
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--march", default="x86-64-v3",
                    help="-march of the profiled build (valgrind 3.19 cannot run AVX-512 code)")
    ap.add_argument("--build-root", default=None,
                    help="where the profiled builds are cached (default: the engine's build cache)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", default=None, help="folder to keep the callgrind output files in")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction profile", file=sys.stderr)
        return 1
    from bioplastic.symstdp.device.engine import default_build_root

    root = Path(args.build_root) if args.build_root else default_build_root() / "benchmarks"
    print(f"machine: {machine_description()}")
    out = []
    for n in args.sizes:
        prof = profile_size(n, args.chunk_size, root, args.data_dir, args.float32, args.threads,
                            args.march, args.keep)
        print(format_profile(prof), flush=True)
        out.append(prof)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_description(), "profiles": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
