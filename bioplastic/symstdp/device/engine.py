"""One device layer: build the network once, then run it chunk after chunk.

Devices are chosen by name:

``"runtime"``
    Brian2's runtime mode (Cython code generation); state stays in the Python
    process and carries over from one chunk to the next.
``"cpp_standalone"``
    The network is generated as C++ once (``build_on_run=False``) and compiled
    in a build directory cached per model, parameters and options, so a second
    run with the same network does not recompile.  Each chunk is one call of
    the binary with ``run_args`` carrying the chunk's data, the state to
    continue from and a per-chunk random seed.
``"cuda_standalone"``
    The same through brian2cuda (optional extra ``bioplastic[cuda]``).

What is reproducible: with the same seed, device, thread count and float
type, a run is repeatable bit for bit (every chunk seeds the random generators
from the run seed and the chunk number).  Different devices draw different
random streams, so runtime and cpp_standalone agree statistically, not spike
for spike, on Poisson input; with deterministic input they agree exactly up to
floating-point rounding (see ``tests/test_engine.py``).

A chunk covers exactly K windows.  State carried between chunks
(:attr:`SymSTDPNetwork.state`) is everything that evolves: weights, tracked
weight sums, theta, membrane potentials, conductances, traces, the input
intensity.  Not carried (standalone restarts the clock at 0): refractoriness
of a neuron that spiked in the last ``refractory`` of a rest period.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bioplastic.symstdp.device.build import default_build_root, make_jobs
from bioplastic.symstdp.network import state_key

__all__ = ["DEVICES", "Engine", "ChunkResult", "default_build_root", "chunk_seed",
           "FLUSH_DENORMALS_CODE", "VECTORIZE_FLAG", "brian2_device"]

#: GCC option added to Brian2's C++ compile flags for cpp_standalone builds.  The
#: state updaters read and write about 10 arrays each; Brian2 declares their
#: pointers ``__restrict``, but GCC ignores that for local pointers and needs a
#: run-time overlap check per pair of arrays before it vectorises a loop, and by
#: default gives up beyond 10 checks: the excitatory state updater ran scalar.
VECTORIZE_FLAG = "--param=vect-max-version-for-alias-checks=200"

#: Header included by every cpp_standalone code object (written into the build
#: directory).  Brian2 compiles with ``-ffast-math -fno-finite-math-only``; the
#: second flag undefines ``__FAST_MATH__``, so glibc's ``<math.h>`` does not
#: declare its vector variants of ``exp`` (libmvec), and a loop that calls
#: ``exp`` (exponential Euler: one per neuron and step) is not vectorised.  The declaration below adds them back (GCC on
#: x86-64 glibc only; elsewhere it is empty).  libmvec's ``exp`` is accurate to
#: 4 ulp.
SIMD_MATH_HEADER_NAME = "bioplastic_simd_math.h"
SIMD_MATH_HEADER = """#pragma once
#include <cmath>
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__) \\
    && defined(__NO_MATH_ERRNO__)
extern "C" double exp(double) __THROW __attribute__((__simd__("notinbranch")));
#endif
"""

#: C++ run first thing in the standalone binary: flush denormal numbers to zero
#: (x86: the FTZ and DAZ bits of MXCSR; AArch64: the FZ bit of FPCR).  Threads
#: started later (OpenMP) inherit the setting.  Why: the model's many
#: exponential decays (traces, conductances of silent neurons) end in the
#: denormal range, where a step ``x + a*x`` rounds back to ``x`` -- they stay
#: denormal for ever, and every operation on a denormal costs ~100 cycles on
#: Intel CPUs (instruction counts do not show it).  Values below 2.2e-308 are
#: read as 0 instead; nothing in the model depends on them.
FLUSH_DENORMALS_CODE = """
#if defined(__x86_64__) || defined(__i386__)
__builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | 0x8040);  // FTZ | DAZ
#elif defined(__aarch64__)
{ unsigned long _fpcr; __asm__ __volatile__("mrs %0, fpcr" : "=r"(_fpcr));
  __asm__ __volatile__("msr fpcr, %0" : : "r"(_fpcr | (1UL << 24))); }  // FZ
#endif
"""

#: glibc tunable set for the standalone binary: malloc asks for transparent huge
#: pages (``madvise``) for its large blocks.  A chunk's binary allocates and
#: fills the synapse arrays anew (about 300 MB at N_E = 6400): with 4 KiB pages
#: that was 78600 page faults and 0.24 s of system time per chunk in this KVM
#: guest, with huge pages 9000 faults and 0.11 s.  No effect on results; glibc
#: before 2.35, or a kernel with huge pages off, ignores it.
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1"


def _with_huge_pages(tunables: str | None) -> str:
    """``GLIBC_TUNABLES`` with :data:`HUGE_PAGES_TUNABLE` added (a user's own setting wins)."""
    if not tunables:
        return HUGE_PAGES_TUNABLE
    if "glibc.malloc.hugetlb=" in tunables:
        return tunables
    return tunables + ":" + HUGE_PAGES_TUNABLE


DEVICES = ("runtime", "cpp_standalone", "cuda_standalone")

_RUN_ARG_PREPARERS = ("_prepare_variableview_run_arg", "_prepare_timed_array_run_arg")


@contextlib.contextmanager
def _private_run_args(device, salt):
    """While active, the files Brian2 writes for ``run_args`` carry ``salt`` in their names.

    Brian2 names a run argument's file by its content's hash and skips writing
    a file that exists, so two processes running the same build folder with
    an equal array (the same frozen weights, in a parallel evaluation) share
    one file -- and the first to delete its chunk's files after its run took
    the other's input away (its binary then read nothing and went on with the
    old values).  With the Engine's own salt each process reads and deletes
    only its own files.
    """
    def private(prepare):
        def wrapped(key, value):
            name, string_value, value_name, value_ar = prepare(key, value)
            if value_name:
                value_name = f"{value_name[:-len('.dat')]}_{salt}.dat"
                string_value = os.path.join("static_arrays", value_name)
            return name, string_value, value_name, value_ar
        return wrapped

    for name in _RUN_ARG_PREPARERS:        # instance attributes shadow the methods
        setattr(device, name, private(getattr(device, name)))
    try:
        yield
    finally:
        for name in _RUN_ARG_PREPARERS:
            with contextlib.suppress(AttributeError):
                delattr(device, name)


@contextlib.contextmanager
def brian2_device(device="runtime", directory=None, runtime_target="numpy"):
    """Run one Brian2 simulation on a device chosen by name, in float64.

    For the bridges of the gradient-trained families, which build a network,
    run it once and read its monitors inside the ``with`` block.  Brian2's
    global device is reset before, and set back to ``runtime`` afterwards.

    Parameters
    ----------
    device : {"runtime", "cpp_standalone"}
    directory : str or path-like, optional
        Build directory of ``cpp_standalone`` (default: a temporary one).
    runtime_target : {"numpy", "cython"}
        Code generation target of the runtime device.
    """
    import brian2 as b2

    if device not in ("runtime", "cpp_standalone"):
        raise ValueError(f"device must be 'runtime' or 'cpp_standalone', got {device!r}")
    b2.device.reinit()
    b2.prefs.core.default_float_dtype = np.float64
    try:
        if device == "runtime":
            b2.set_device("runtime")
            b2.prefs.codegen.target = runtime_target
        else:
            kwargs = {"build_on_run": True}
            if directory is not None:
                kwargs["directory"] = str(directory)
            b2.set_device("cpp_standalone", **kwargs)
        yield
    finally:
        if device != "runtime":
            b2.device.reinit()
            b2.set_device("runtime")


def chunk_seed(run_seed: int, chunk_index: int) -> int:
    """Seed of one chunk's random generators, derived from the run seed."""
    ss = np.random.SeedSequence([int(run_seed), int(chunk_index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@dataclass
class ChunkResult:
    """What one chunk of K windows produced.

    Attributes
    ----------
    ptr : ndarray of int, (K,)
        Index (into the chunk's samples) of the sample shown in each window.
    intensity : ndarray, (K,)
        Input intensity of each window.
    hidden_counts : ndarray of int, (K, N_E)
        Hidden spikes of each window's presentation.
    label_counts : ndarray of int, (K, n_classes)
    ptr_end : int
        Pointer after the last window: the number of samples completed.
    wall_seconds : float
    """

    ptr: np.ndarray
    intensity: np.ndarray
    hidden_counts: np.ndarray
    label_counts: np.ndarray
    ptr_end: int
    wall_seconds: float

    @property
    def accepted(self) -> np.ndarray:
        """Boolean (K,): the window completed its sample (it was not shown again)."""
        nxt = np.append(self.ptr[1:], self.ptr_end)
        return nxt > self.ptr


#: The files whose content decides the generated code (paths inside the
#: ``bioplastic`` package); with every template in ``symstdp/device/templates``
#: they are part of the build key, so that a cached build is never reused after
#: the model's code changed.
_GENERATING_MODULES = ("symstdp/neurons.py", "symstdp/integrators.py", "symstdp/network.py",
                       "symstdp/plasticity.py", "symstdp/schedule.py", "symstdp/device/engine.py",
                       "symstdp/device/codegen.py", "symstdp/device/cuda.py")


def _generating_code_digest() -> str:
    root = Path(__file__).resolve().parents[2]  # the bioplastic package
    files = [root / name for name in _GENERATING_MODULES if (root / name).exists()]
    files += sorted((root / "symstdp" / "device" / "templates").glob("*.cpp"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


class Engine:
    """Compile-once, run-in-chunks driver of a :class:`~bioplastic.symstdp.network.SymSTDPNetwork`.

    Parameters
    ----------
    params : bioplastic.symstdp.params.ModelParams
    device : {"runtime", "cpp_standalone", "cuda_standalone"}
    chunk_size : int
        Windows per chunk, K.
    threads : int
        OpenMP threads (cpp_standalone); 1 means no OpenMP.
    float32 : bool
        Single precision for every state variable.  Theta then decays once
        per window (``theta_decay="window"`` of
        :func:`~bioplastic.symstdp.network.build_network`): its decay factor
        per step, 1 - 2.5e-8 at N_E = 6400, is 1 in float32
        (``docs/genn_comparison.rst`` 3.A), a window's is not.
    float32_theta : bool
        With ``float32``: theta decays every step as in double precision,
        i.e. not at all where the factor rounds to 1 (the authors' GPU code).
    inhibition : {"pooled", "all-to-all"}
    seed : int
        Seed of the initial weights; chunk seeds are passed to :meth:`run_chunk`.
    build_dir : path, optional
        Standalone project directory; default: a per-network folder under
        :func:`default_build_root`.
    verbose : bool
        Print build progress.
    runtime_target : {"cython", "numpy"}
        Code generation target of the runtime device ("numpy" needs no compiler).
    cuda_options : dict, optional
        Passed to :func:`bioplastic.symstdp.device.cuda.configure` (e.g. ``compute_capability``).
    flush_denormals : bool
        cpp_standalone: flush denormal floating-point numbers to zero
        (:data:`FLUSH_DENORMALS_CODE`; 3-4x faster on Intel CPUs, same spikes).
    dense_synapses : bool
        cpp_standalone: generate the two all-to-all plastic pathways (their
        spike propagation and weight scaling) with the dense templates of
        :mod:`bioplastic.symstdp.device.codegen` (no spike queue, vectorised), and the
        thresholds of the hidden groups with the two-pass template, the input
        group's threshold with the calendar template, and the main loop with
        :func:`bioplastic.symstdp.device.codegen.lean_network_loop`; bit-identical results.
        Each object whose code the templates cannot take (a rule that sums
        into presynaptic variables, a threshold that draws random numbers)
        keeps Brian2's own templates; the choice is printed and kept in
        :attr:`templates`.
    input_rule, label_rule, hidden_neuron : optional
        The plasticity rules and the hidden neuron model
        (:func:`bioplastic.symstdp.network.build_network`); default: the
        sym-STDP network of Hao et al. (2020).
    evaluation : {"sequential", "independent"}
        "independent": an evaluation chunk (``learning=False``) is a function
        of each sample alone -- its input spikes are keyed by the sample's
        identity (``run_chunk(sample_ids=...)``) and this Engine's ``seed``,
        and every window starts from rest -- so predictions do not depend on
        order, chunking or process (:mod:`bioplastic.symstdp.random_streams`).
        Training chunks are the same as with "sequential" (the default: each
        sample starts where the previous one left off, one random stream).
    population : int, optional
        P independent copies of the network in one model (population mode,
        :func:`~bioplastic.symstdp.network.build_network`): each copy has its
        own weights, thresholds, pool, label layer, controller and data, and
        every random number is keyed -- in training by the copy's chunk key,
        in evaluation (independent) by the sample -- so that a copy's spikes and
        weights are those of a single run (``population=1``) with its seed and
        chunk keys (:meth:`run_population_chunk`; ``tests/test_population.py``).
        Implies ``evaluation="independent"``.
    seeds : sequence of int, optional
        Population mode: the P copies' seeds (initial weights; evaluation keys);
        default ``seed, seed + 1, ...``.
    """

    #: Brian2's device is global: building an Engine resets it, so only the
    #: newest Engine of a process can run (:meth:`is_current`).
    _newest = None

    def __init__(self, params, device="runtime", chunk_size=100, threads=1, float32=False,
                 inhibition="pooled", seed=0, build_dir=None, verbose=True, cuda_options=None,
                 runtime_target="cython", flush_denormals=True, dense_synapses=True, float32_theta=False,
                 input_rule=None, label_rule=None, hidden_neuron=None, evaluation="sequential",
                 population=None, seeds=None):
        Engine._newest = self._token = object()
        self.runtime_target = runtime_target
        self.flush_denormals = bool(flush_denormals)
        self.dense_synapses = bool(dense_synapses) and device == "cpp_standalone"
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        if int(threads) != threads or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        self.params = params
        self.device_name = device
        self.chunk_size = int(chunk_size)
        self.threads = int(threads)
        self.float32 = bool(float32)
        self.float32_theta = bool(float32_theta) and self.float32
        self.inhibition = inhibition
        self.seed = int(seed)
        self.verbose = verbose
        self.cuda_options = dict(cuda_options or {})
        self.input_rule, self.label_rule, self.hidden_neuron = input_rule, label_rule, hidden_neuron
        if population is not None:
            if int(population) != population or population < 1:
                raise ValueError(f"population must be a positive integer, got {population!r}")
            population = int(population)
            seeds = [self.seed + c for c in range(population)] if seeds is None else [int(x) for x in seeds]
            if len(seeds) != population:
                raise ValueError(f"seeds: {population} needed (one per copy), got {len(seeds)}")
            if any(not 0 <= x < 2**31 for x in seeds):
                raise ValueError(f"seeds must be in [0, 2**31), got {seeds}")
            evaluation = "independent"
        elif seeds is not None:
            raise ValueError("seeds are for population mode (population=P); use seed")
        self.population, self.seeds = population, seeds
        self.evaluation = evaluation

        #: Which generator each object got: ``{object name: "bioplastic" or "brian2 (reason)"}``.
        self.templates = {}
        self.build_seconds = 0.0
        self._results_name = f"results_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        self._setup_device(build_dir, self.cuda_options)
        # the chunk results (a few MB per chunk) go when the Engine does, also
        # without close() (an interactive session, a script that forgets it)
        self._forget_results = (
            weakref.finalize(self, shutil.rmtree, self.build_dir / self._results_name, True)
            if self.standalone else None)
        from bioplastic.symstdp.network import build_network

        self.model = build_network(params, self.chunk_size, inhibition=inhibition,
                                   seed=self.seed if population is None else seeds,
                                   theta_decay="window" if self.float32 and not self.float32_theta else "step",
                                   input_rule=input_rule, label_rule=label_rule, hidden_neuron=hidden_neuron,
                                   evaluation=evaluation, population=population)
        if self.dense_synapses:
            self._choose_templates()
        self._initial = self.model.initial_state
        if self.standalone:
            self._build()
        self.build_seconds = time.perf_counter() - t0

    def options(self) -> dict:
        """Keyword arguments that build this Engine again (e.g. in another process: the same
        build folder, so the compiled code is reused)."""
        return {"device": self.device_name, "chunk_size": self.chunk_size, "threads": self.threads,
                "float32": self.float32, "float32_theta": self.float32_theta, "inhibition": self.inhibition,
                "seed": self.seed, "build_dir": self.build_dir, "cuda_options": dict(self.cuda_options),
                "runtime_target": self.runtime_target, "flush_denormals": self.flush_denormals,
                "dense_synapses": self.dense_synapses, "input_rule": self.input_rule,
                "label_rule": self.label_rule, "hidden_neuron": self.hidden_neuron,
                "evaluation": self.evaluation, "population": self.population, "seeds": self.seeds}

    # ------------------------------------------------------------------ setup
    def _choose_templates(self):
        """bioplastic's templates where their conditions hold, Brian2's otherwise (logged)."""
        from bioplastic.symstdp.device.codegen import (
            dense_synapses_refusal, threshold_refusal, use_calendar_threshold, use_dense_synapses,
            use_two_pass_threshold)

        m = self.model
        for obj, refusal, use in ((m.input_hidden, dense_synapses_refusal, use_dense_synapses),
                                  (m.hidden_label, dense_synapses_refusal, use_dense_synapses),
                                  (m.excitatory, threshold_refusal, use_two_pass_threshold),
                                  (m.inhibitory, threshold_refusal, use_two_pass_threshold)):
            why = refusal(obj)
            if why is None:
                if use is use_dense_synapses:
                    use(obj, copies=self.model.copies)
                else:
                    use(obj)
                self.templates[obj.name] = "bioplastic"
            else:
                self.templates[obj.name] = f"brian2 ({why})"
                if self.verbose:
                    print(f"[bioplastic] {obj.name}: Brian2's own templates ({why})", flush=True)
        use_calendar_threshold(m.input)
        self.templates[m.input.name] = "bioplastic"

    def is_current(self) -> bool:
        """Whether this Engine can still run: it is the newest of the process and Brian2's device
        was not reset since it was built (``device.reinit()``, e.g. by a test fixture)."""
        if Engine._newest is not self._token:
            return False
        if self.standalone:
            from brian2 import get_device

            project = getattr(get_device(), "project_dir", None)
            return project is not None and Path(project).resolve() == self.build_dir.resolve()
        return True

    @property
    def standalone(self) -> bool:
        return self.device_name != "runtime"

    def build_key(self) -> str:
        """Hash identifying the generated code: model, parameters and options."""
        import brian2
        from brian2 import prefs

        from bioplastic import __version__
        from bioplastic.symstdp.params import params_as_strings

        blob = json.dumps(
            {
                "params": params_as_strings(self.params),
                "chunk_size": self.chunk_size,
                "device": self.device_name,
                "threads": self.threads,
                "float32": self.float32,
                "float32_theta": self.float32_theta,
                "inhibition": self.inhibition,
                "cuda_options": {k: str(v) for k, v in sorted(self.cuda_options.items())},
                "flush_denormals": self.flush_denormals,
                "dense_synapses": self.dense_synapses,
                **({"model": {k: (v.to_dict() if v is not None else None) for k, v in (
                    ("input_rule", self.input_rule), ("label_rule", self.label_rule),
                    ("hidden_neuron", self.hidden_neuron))}}
                   if any(v is not None for v in (self.input_rule, self.label_rule, self.hidden_neuron))
                   else {}),
                **({"evaluation": self.evaluation} if self.evaluation != "sequential" else {}),
                **({"population": self.population} if self.population is not None else {}),
                "code": _generating_code_digest(),
                "compile_args": [str(a) for a in prefs.codegen.cpp.extra_compile_args_gcc]
                + [str(a) for a in (prefs.codegen.cpp.extra_compile_args or [])],
                "bioplastic": __version__,
                "brian2": brian2.__version__,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _setup_device(self, build_dir, cuda_options):
        from brian2 import device, prefs, set_device

        # each Engine starts from a clean device (Brian2's device is global)
        device.reinit()
        prefs.core.default_float_dtype = np.float32 if self.float32 else np.float64
        if self.device_name == "runtime":
            set_device("runtime")
            prefs.codegen.target = self.runtime_target
            self.build_dir = None
            return
        if self.device_name == "cpp_standalone":
            args = prefs.codegen.cpp.extra_compile_args_gcc
            if VECTORIZE_FLAG not in args:
                prefs.codegen.cpp.extra_compile_args_gcc = list(args) + [VECTORIZE_FLAG]
        if build_dir is None:
            build_dir = default_build_root() / f"{self.params.dataset}-{self.params.n_hidden}-{self.device_name}-{self.build_key()}"
        self.build_dir = Path(build_dir)
        self.build_dir.mkdir(parents=True, exist_ok=True)
        if self.device_name == "cpp_standalone":
            set_device("cpp_standalone", build_on_run=False, directory=str(self.build_dir))
            env = dict(prefs.devices.cpp_standalone.run_environment_variables)
            env["GLIBC_TUNABLES"] = _with_huge_pages(
                env.get("GLIBC_TUNABLES", os.environ.get("GLIBC_TUNABLES")))
            prefs.devices.cpp_standalone.run_environment_variables = env
            prefs.devices.cpp_standalone.openmp_threads = 0 if self.threads == 1 else self.threads
        else:
            from bioplastic.symstdp.device import cuda

            cuda.configure(self.threads, **cuda_options)
            set_device("cuda_standalone", build_on_run=False, directory=str(self.build_dir))
        prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{make_jobs()}"]

    def _build(self):
        from brian2 import device, get_device, prefs

        from bioplastic.symstdp.device.codegen import lean_network_loop
        from brian2.utils.filelock import FileLock

        m = self.model
        device.apply_run_args()
        saved_headers = list(prefs.codegen.cpp.headers)
        if self.device_name == "cpp_standalone":
            if self.flush_denormals:
                device.insert_code("before_start", FLUSH_DENORMALS_CODE)
            nthreads = max(self.threads, 1)
            arr = device.get_array_name(m.controller.variables["rng_seed"])
            device.insert_code(
                "main",
                f"for (int _i=0; _i<{nthreads}; _i++) "
                f"brian::_random_generators[_i].seed((unsigned long) brian::{arr}[0] + 7919UL * _i);",
            )
            # read when the code objects are created (in run), not at build
            prefs.codegen.cpp.headers = saved_headers + [f'"{SIMD_MATH_HEADER_NAME}"']
        else:
            from bioplastic.symstdp.device import cuda

            cuda.insert_seed_code(device, m.controller.variables["rng_seed"])
        try:
            m.net.run(self.chunk_size * self.params.input.t_window, namespace={})
            t0 = time.perf_counter()
            if self.verbose:
                print(f"[bioplastic] generating and compiling {self.device_name} code in "
                      f"{self.build_dir} ...", flush=True)
            # two processes building the same network share the build directory
            with FileLock(str(self.build_dir / ".bioplastic-build.lock")):
                header = self.build_dir / SIMD_MATH_HEADER_NAME
                if self.device_name == "cpp_standalone" and (
                        not header.exists() or header.read_text() != SIMD_MATH_HEADER):
                    header.write_text(SIMD_MATH_HEADER)
                with (lean_network_loop(get_device()) if self.dense_synapses
                      else contextlib.nullcontext()):
                    device.build(directory=str(self.build_dir), compile=True, run=False,
                                 with_output=self.verbose)
        finally:
            prefs.codegen.cpp.headers = saved_headers
        if self.verbose:
            print(f"[bioplastic] build took {time.perf_counter() - t0:.1f} s", flush=True)

    # ------------------------------------------------------------------ state
    def initial_state(self) -> dict:
        """The state the network was built with (initial weights, theta, potentials)."""
        return {k: v.copy() for k, v in self._initial.items()}

    def _read_state(self) -> dict:
        return {
            state_key(g, var): np.array(g.variables[var].get_value(), copy=True)
            for g, var in self.model.state
        }

    # ------------------------------------------------------------------ run
    def run_chunk(self, state, rates_hz, labels, learning, seed, sample_ids=None):
        """Run one chunk of K windows.

        Parameters
        ----------
        state : dict
            From :meth:`initial_state` or the previous chunk; not modified.
        rates_hz : ndarray, (K, n_input)
            Base input rate of each sample in Hz (multiplied by the intensity
            in the model); pad unused rows with zeros.
        labels : ndarray of int, (K,)
            Class of each sample; -1 for padding (no teacher).
        learning : bool or "label"
            Plasticity, theta adaptation and the teacher on (training) or off;
            ``"label"``: the hidden layer frozen (no input -> hidden plasticity
            or scaling, theta constant) while the label pathway learns with
            its teacher (layer-by-layer training).
        seed : int
            Seed of the chunk's random generators.
        sample_ids : ndarray of int, (K,), optional
            Identities of the samples (``evaluation="independent"``: they key
            the input's random numbers in evaluation chunks); default 0..K-1.

        Returns
        -------
        new_state : dict
        result : ChunkResult
        """
        if self.population is not None:
            raise ValueError("a population Engine runs P copies: use run_population_chunk")
        if not self.is_current():
            raise RuntimeError("this Engine can no longer run: a newer Engine was built in this process "
                               "and Brian2's device is global; build this network's Engine again "
                               "(the compiled code is reused) or keep one Engine per process")
        K = self.chunk_size
        rates_hz = np.asarray(rates_hz, dtype=float)
        labels = np.asarray(labels)
        if rates_hz.shape != (K, self.params.n_input):
            raise ValueError(f"rates must have shape {(K, self.params.n_input)}, got {rates_hz.shape}")
        if labels.shape != (K,):
            raise ValueError(f"labels must have shape {(K,)}, got {labels.shape}")
        if not np.all(np.isfinite(rates_hz)) or np.any(rates_hz < 0):
            raise ValueError("rates must be finite and non-negative")
        if isinstance(learning, str) and learning != "label":
            raise ValueError(f"learning must be a bool or 'label', got {learning!r}")
        flag = 1.0 if learning else 0.0
        hidden_flag = 0.0 if learning == "label" else flag
        independent = self.model.evaluation == "independent"
        if independent:
            ids = np.arange(K) if sample_ids is None else np.asarray(sample_ids)
            if (ids.shape != (K,) or not np.all(ids >= 0) or not np.all(ids == np.round(ids))
                    or not np.all(ids < 2**24)):
                raise ValueError(f"sample_ids must be {K} integers in [0, 2**24) (exact in single "
                                 f"precision), got {sample_ids!r}")
            keyed = 0.0 if learning else 1.0
        eval_seeds = np.array([self.seed % (2**31)])
        return self._execute(state, rates_hz, labels.astype(float), flag, hidden_flag, seed,
                             ids.astype(float) if independent else None,
                             np.array([keyed]) if independent else None, eval_seeds)

    def run_population_chunk(self, state, rates_hz, labels, learning, chunk_keys, sample_ids=None,
                             eval_seeds=None):
        """Run one chunk of K windows of the P copies (population mode).

        Parameters
        ----------
        state : dict
            The P copies' state, joined (:meth:`join_states`); not modified.
        rates_hz : ndarray, (K, P, n_input)
            Base input rates in Hz of each copy's K samples (zeros for padding).
        labels : ndarray of int, (K, P)
            Their classes; -1 for padding.
        learning : bool or "label"
            As for :meth:`run_chunk` (the same for every copy).
        chunk_keys : sequence of int, (P,)
            Key of each copy's random numbers in this chunk (training; a single
            run with the same key draws the same numbers), taken modulo 2**31
            (as :meth:`run_chunk`'s seed; e.g. :func:`chunk_seed`).
        sample_ids : ndarray of int, (K, P), optional
            The samples' identities (key the evaluation's random numbers).
        eval_seeds : sequence of int, (P,), optional
            Seeds of the evaluation's keyed numbers; default the copies' ``seeds``
            (a single ``Engine(evaluation="independent", seed=s)`` uses ``s``).

        Returns
        -------
        new_state : dict
        results : list of ChunkResult
            One per copy.
        """
        if self.population is None:
            raise ValueError("run_population_chunk needs an Engine built with population=P")
        if not self.is_current():
            raise RuntimeError("this Engine can no longer run: a newer Engine was built in this process")
        K, P, n_in = self.chunk_size, self.population, self.params.n_input
        rates_hz = np.asarray(rates_hz, dtype=float)
        labels = np.asarray(labels)
        if rates_hz.shape != (K, P, n_in):
            raise ValueError(f"rates must have shape {(K, P, n_in)}, got {rates_hz.shape}")
        if labels.shape != (K, P):
            raise ValueError(f"labels must have shape {(K, P)}, got {labels.shape}")
        if not np.all(np.isfinite(rates_hz)) or np.any(rates_hz < 0):
            raise ValueError("rates must be finite and non-negative")
        if isinstance(learning, str) and learning != "label":
            raise ValueError(f"learning must be a bool or 'label', got {learning!r}")
        keys = np.asarray(chunk_keys)
        if keys.shape != (P,) or not np.all(keys == np.round(keys)) or np.any(keys < 0):
            raise ValueError(f"chunk_keys must be {P} non-negative integers, got {chunk_keys!r}")
        keys = keys.astype(np.int64) % (2**31)
        ids = np.zeros((K, P)) if sample_ids is None else np.asarray(sample_ids)
        if (ids.shape != (K, P) or not np.all(ids >= 0) or not np.all(ids == np.round(ids))
                or not np.all(ids < 2**24)):
            raise ValueError(f"sample_ids must be ({K}, {P}) integers in [0, 2**24), got {sample_ids!r}")
        flag = 1.0 if learning else 0.0
        hidden_flag = 0.0 if learning == "label" else flag
        keyed = np.full(P, 0.0 if learning else 1.0)
        new_state, results = self._execute(
            state, rates_hz.reshape(K, P * n_in), labels.astype(float), flag, hidden_flag, 0,
            ids.astype(float), keyed,
            np.array(self.seeds if eval_seeds is None else eval_seeds, dtype=np.int64) % (2**31),
            chunk_keys=keys.astype(np.int64))
        return new_state, results

    def _execute(self, state, stimulus_hz, labels, flag, hidden_flag, seed, ids, keyed, eval_seeds,
                 chunk_keys=None):
        """Set the chunk's data, flags and state, run K windows, read the results."""
        from brian2 import Hz, Quantity, seed as brian_seed

        m = self.model
        K = self.chunk_size
        independent = ids is not None
        t0 = time.perf_counter()
        if self.standalone:
            from brian2 import device

            run_args = {}
            for g, var in m.state:
                key = state_key(g, var)
                run_args[getattr(g, var)] = Quantity(state[key], dim=g.variables[var].dim)
            run_args[m.stimulus] = stimulus_hz * Hz
            run_args[m.sample_labels] = labels
            run_args[m.excitatory.learning] = hidden_flag
            run_args[m.label.learning] = flag
            run_args[m.controller.rng_seed] = int(seed) % (2**31)
            if independent:
                run_args[m.sample_ids] = ids
                run_args[m.controller.keyed] = keyed
                run_args[m.controller.eval_seed] = eval_seeds
            if chunk_keys is not None:
                run_args[m.controller.chunk_key] = chunk_keys
            try:
                with warnings.catch_warnings():
                    # Brian2's check for huge values compares float32 state with 1e50,
                    # which NumPy casts to float32 (inf) with a warning on every chunk
                    # (our own check of the state, non_finite_variables, covers NaN and inf)
                    warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
                    with _private_run_args(device, self._results_name):
                        device.run(results_directory=self._results_name, with_output=self.verbose,
                                   run_args=run_args)
            finally:
                # the chunk's run_args files (state, data: MBs per chunk) are not needed again
                for fname in list(device.run_args_arrays):
                    for f in (fname, fname + ".lock"):
                        with contextlib.suppress(OSError):
                            os.remove(os.path.join(device.project_dir, "static_arrays", f))
        else:
            for g, var in m.state:
                key = state_key(g, var)
                g.variables[var].set_value(np.asarray(state[key]))
            m.stimulus.values[:] = stimulus_hz
            m.sample_labels.values[:] = labels
            m.excitatory.learning = hidden_flag
            m.label.learning = flag
            if independent:
                m.sample_ids.values[:] = ids
                m.controller.keyed = keyed
                m.controller.eval_seed = eval_seeds
            if chunk_keys is not None:
                m.controller.chunk_key = chunk_keys
            m.controller.ptr = 0
            m.controller.n_window = 0
            m.excitatory.count = 0
            m.label.count = 0
            brian_seed(int(seed) % (2**31))
            m.net.run(K * self.params.input.t_window, namespace={})
        wall = time.perf_counter() - t0
        if self.population is None:
            return self._read_state(), self._collect(wall)
        return self._read_state(), self._collect_population(wall)

    def _collect(self, wall):
        m = self.model
        K = self.chunk_size
        ptr = np.asarray(m.controller_monitor.ptr[0][-K:], dtype=np.int64)
        intensity = np.asarray(m.controller_monitor.intensity[0][-K:], dtype=float)
        cum_h = np.asarray(m.count_monitor.count[:, -K:], dtype=np.int64).T
        cum_l = np.asarray(m.label_monitor.count[:, -K:], dtype=np.int64).T
        end_h = np.asarray(m.excitatory.count[:], dtype=np.int64)[None, :]
        end_l = np.asarray(m.label.count[:], dtype=np.int64)[None, :]
        hidden = np.diff(np.vstack([cum_h, end_h]), axis=0)
        label = np.diff(np.vstack([cum_l, end_l]), axis=0)
        ptr_end = int(m.controller.ptr[0])
        return ChunkResult(ptr=ptr, intensity=intensity, hidden_counts=hidden,
                           label_counts=label, ptr_end=ptr_end, wall_seconds=wall)

    def _collect_population(self, wall):
        m = self.model
        K, P = self.chunk_size, self.population
        ptr = np.asarray(m.controller_monitor.ptr[:, -K:], dtype=np.int64)          # (P, K)
        intensity = np.asarray(m.controller_monitor.intensity[:, -K:], dtype=float)
        cum_h = np.asarray(m.count_monitor.count[:, -K:], dtype=np.int64).T           # (K, P * N_E)
        cum_l = np.asarray(m.label_monitor.count[:, -K:], dtype=np.int64).T
        end_h = np.asarray(m.excitatory.count[:], dtype=np.int64)[None, :]
        end_l = np.asarray(m.label.count[:], dtype=np.int64)[None, :]
        hidden = np.diff(np.vstack([cum_h, end_h]), axis=0).reshape(K, P, -1)
        label = np.diff(np.vstack([cum_l, end_l]), axis=0).reshape(K, P, -1)
        ptr_end = np.asarray(m.controller.ptr[:], dtype=np.int64)
        return [ChunkResult(ptr=ptr[c], intensity=intensity[c], hidden_counts=hidden[:, c],
                            label_counts=label[:, c], ptr_end=int(ptr_end[c]), wall_seconds=wall)
                for c in range(P)]

    # ------------------------------------------------------------ population
    def split_state(self, state) -> list:
        """The P copies' states (each as a single network's, ``population=1``) of a population state."""
        P = 1 if self.population is None else self.population
        return [{k: np.asarray(v).reshape(P, -1)[c].copy() for k, v in state.items()} for c in range(P)]

    def join_states(self, states) -> dict:
        """A population state from P copies' states (e.g. one frozen network P times).

        A single network's state from an Engine without population mode (no
        ``n_shown``) is completed with the phase start's values.
        """
        P = 1 if self.population is None else self.population
        states = list(states)
        if len(states) != P:
            raise ValueError(f"{P} states needed (one per copy), got {len(states)}")
        keys = [state_key(g, v) for g, v in self.model.state]
        joined = {}
        for k in keys:
            parts = []
            for st in states:
                if k in st:
                    parts.append(np.asarray(st[k]).ravel())
                elif k.endswith(".n_shown"):
                    parts.append(np.zeros(1, dtype=np.int64))
                else:
                    raise ValueError(f"the state has no {k!r} (made by a different network?)")
            joined[k] = np.concatenate(parts)
            if joined[k].shape != self._initial[k].shape:
                raise ValueError(f"{k}: {joined[k].shape} values, the population needs {self._initial[k].shape}")
        return joined

    def close(self, delete_build=False):
        """Forget run results on disk; with ``delete_build`` remove the project directory."""
        if self.standalone and self.build_dir is not None:
            self._forget_results()
            if delete_build:
                shutil.rmtree(self.build_dir, ignore_errors=True)
