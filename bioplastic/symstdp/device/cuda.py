"""Brian2CUDA (``cuda_standalone``) support: preferences, toolchain fixes, per-run seeds.

Needs the optional extra ``pip install 'bioplastic[cuda]'`` (brian2cuda 1.0a7,
the release that pins brian2 == 2.8.0, and the ``nvidia-curand`` wheel) and a
CUDA toolkit with ``nvcc``.  Running the binary needs an NVIDIA GPU; generating
and compiling the code does not.

:func:`configure` is called by :class:`bioplastic.symstdp.device.engine.Engine` before
``set_device("cuda_standalone", ...)``.  It

* imports brian2cuda (an :class:`ImportError` says how to install it);
* chooses the GPU.  With a GPU visible (``nvidia-smi -L`` lists one) and no
  ``compute_capability`` given, brian2cuda detects the GPU and its compute
  capability itself (``detect_gpus = True``; ``gpu_id`` picks one, default: the
  one with the highest compute capability).  Without a visible GPU, or when a
  ``compute_capability`` is given, detection is turned off and the code is
  compiled for ``compute_capability`` (default 9.0, Hopper) on ``gpu_id``
  (default 0): ``prefs.devices.cuda_standalone.cuda_backend.detect_gpus = False``,
  ``...cuda_backend.gpu_id`` and ``...cuda_backend.compute_capability``
  (brian2cuda refuses to build without a GPU unless both are set);
* finds cuRAND.  A CUDA toolkit may come without cuRAND (the CUDA 13 nvcc
  this was developed with had none); then the headers and library of the
  ``nvidia-curand`` wheel (``site-packages/nvidia/cu13/{include,lib}``) are
  added to the *cuda device's* include, library and run-time library (rpath)
  directories.  The wheel has only ``libcurand.so.10``, so ``-lcurand`` is
  served by a ``libcurand.so`` symbolic link in a small folder of the build
  cache.  A toolkit that has its own cuRAND is used as it is;
* compiles as C++17.  brian2cuda's makefile template hard-codes
  ``-std=c++11`` for nvcc and Brian's host flags
  (``codegen.cpp.extra_compile_args_gcc``) add ``-std=c++11`` again, but the
  Thrust/CCCL headers of CUDA 13 require C++17.  The cuda device's makefile is
  written with every ``-std=c++NN`` (NN < 17) replaced by ``-std=c++17``; the
  shared Brian preference is left alone so cpp_standalone and runtime builds
  are untouched;
* works around a brian2cuda 1.0a7 template bug: ``synapses.cu`` compares
  ``defaultclock.timestep[0]`` with the pathway delay, but ``defaultclock`` is
  only declared when some object uses it, and every object of this network
  has its own clock (``dt=...``), so nvcc fails with ``identifier
  "defaultclock" is undefined``.  The generated code uses the synapses' own
  clock instead (the same clock for networks on ``defaultclock``).  Both
  fixes are applied to the text brian2cuda writes (the makefile and the
  ``synapses`` code objects) by wrapping two methods of the cuda device
  instance, so nothing outside cuda_standalone changes;
* sets ``make -j2`` (parallel nvcc jobs are memory hungry; the Engine then
  bounds make to ``-j min(cores, 4)`` for every standalone device);
* sets ``devices.cpp_standalone.openmp_threads = 0``: brian2cuda does not
  support OpenMP, so ``threads`` other than 1 are ignored with a warning.

:func:`insert_seed_code` is called by the engine right after
``device.apply_run_args()``.  brian2cuda seeds its cuRAND host-API generator
and the device-API states (``curand_init``) in ``RandomNumberBuffer::set_seed``
(what ``brian2.seed(s)`` generates in ``main.cu``:
``random_number_buffer.set_seed(sULL)``); by default it seeds from
``time(0)``.  The engine passes each chunk's seed as the ``run_args``-settable
shared variable ``controller.rng_seed``; the inserted line calls ``set_seed``
with the host copy of that variable (``brian::_array_controller_rng_seed[0]``,
the name given by ``device.get_array_name``; ``set_variable_by_name`` updates
host and device copies).  So, as on cpp_standalone, every run of the binary
draws fresh random numbers and the same chunk seed reproduces a chunk.  cuRAND
streams differ from cpp_standalone's, so the devices agree spike for spike only
on deterministic input.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

__all__ = ["configure", "insert_seed_code", "gpu_available", "curand_wheel_dirs",
           "DEFAULT_COMPUTE_CAPABILITY"]

#: Compute capability compiled for when no GPU is detected (H100/H200).
DEFAULT_COMPUTE_CAPABILITY = 9.0

#: Distributions that may hold cuRAND, newest CUDA first.
CURAND_WHEELS = ("nvidia-curand", "nvidia-curand-cu13", "nvidia-curand-cu12")

_INSTALL_HINT = "pip install 'bioplastic[cuda]'"
_OLD_STD = re.compile(r"-std=(c|gnu)\+\+(98|03|0x|11|14|1y)\b")


def _import_brian2cuda():
    try:
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device and prefs)
    except ImportError as err:
        raise ImportError(
            f"device 'cuda_standalone' needs brian2cuda: {_INSTALL_HINT} "
            f"(and a CUDA toolkit with nvcc); import failed with: {err}"
        ) from err
    return brian2cuda


def gpu_available() -> bool:
    """Whether ``nvidia-smi -L`` runs and lists at least one GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        proc = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and any(line.startswith("GPU ") for line in proc.stdout.splitlines())


def _toolkit_roots():
    roots = []
    for env in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(env):
            roots.append(Path(os.environ[env]))
    try:
        from brian2 import prefs

        if prefs.devices.cuda_standalone.cuda_backend.cuda_path:
            roots.insert(0, Path(os.path.expanduser(prefs.devices.cuda_standalone.cuda_backend.cuda_path)))
    except (AttributeError, KeyError):
        pass
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots.append(Path(os.path.realpath(nvcc)).parent.parent)
    roots += [Path("/usr/local/cuda"), Path("/opt/cuda")]
    return roots


def toolkit_has_curand() -> bool:
    """Whether the CUDA toolkit has its own ``curand.h`` (then the wheel is not needed)."""
    for root in _toolkit_roots():
        if (root / "include" / "curand.h").is_file():
            return True
        if any(root.glob("targets/*/include/curand.h")):
            return True
    return False


def curand_wheel_dirs():
    """``(include_dir, lib_dir)`` of an installed nvidia-curand wheel, or None."""
    for dist in CURAND_WHEELS:
        try:
            files = importlib.metadata.files(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        inc = lib = None
        for f in files or ():
            if f.name == "curand.h":
                inc = Path(f.locate()).resolve().parent
            elif f.name.startswith("libcurand.so"):
                lib = Path(f.locate()).resolve().parent
        if inc is not None and lib is not None and inc.is_dir() and lib.is_dir():
            return inc, lib
    return None


def _linkable_curand_dir(lib: Path) -> Path:
    """A folder with ``libcurand.so`` (the wheel ships only ``libcurand.so.10``)."""
    if (lib / "libcurand.so").exists():
        return lib
    versioned = sorted(lib.glob("libcurand.so.*"))
    if not versioned:
        return lib
    target = versioned[0]
    from bioplastic.symstdp.device.build import default_build_root

    for base in (default_build_root(), Path(os.environ.get("TMPDIR", "/tmp")) / f"bioplastic-{os.getuid()}"):
        link_dir = base / "_libcurand"
        link = link_dir / "libcurand.so"
        try:
            link_dir.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() and Path(os.readlink(link)) == target:
                return link_dir
            tmp = link_dir / f".libcurand.so.{os.getpid()}"
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(target)
            os.replace(tmp, link)  # atomic: safe with concurrent configures
            return link_dir
        except OSError:
            continue
    return lib


class _FixingWriter:
    """Proxy of brian2cuda's writer that corrects two things in what it writes.

    * the makefile: ``-std=c++11`` (template and host flags) becomes ``-std=c++17``;
    * ``synapses`` code objects: the template compares ``defaultclock.timestep[0]``
      with the pathway delay, which does not compile when the network does not use
      ``defaultclock`` (every object here has its own clock, ``dt=...``); it becomes
      the synapses' own clock, which is what it means (the same clock in networks
      on ``defaultclock``).
    """

    def __init__(self, writer, device):
        self._writer = writer
        self._device = device

    def __getattr__(self, name):
        return getattr(self._writer, name)

    def write(self, filename, contents):
        if filename == "makefile":
            contents = _OLD_STD.sub("-std=c++17", contents)
        elif (filename.startswith("code_objects/") and filename.endswith(".cu")
              and "defaultclock.timestep[0]" in contents):
            codeobj = self._device.code_objects.get(filename[len("code_objects/"):-len(".cu")])
            if codeobj is not None and codeobj.template_name == "synapses":
                clock = codeobj.owner.clock.name
                contents = contents.replace("defaultclock.timestep[0]", f"{clock}.timestep[0]")
        return self._writer.write(filename, contents)


def _install_fixes(dev):
    """Route the makefile and code objects of ``dev`` through :class:`_FixingWriter`."""
    if getattr(dev, "_bioplastic_fixes", False):
        return
    for method in ("generate_codeobj_source", "generate_makefile"):
        unbound = getattr(type(dev), method)

        def wrapped(writer, *args, _unbound=unbound, **kwargs):
            return _unbound(dev, _FixingWriter(writer, dev), *args, **kwargs)

        setattr(dev, method, wrapped)
    dev._bioplastic_fixes = True


def configure(threads=1, compute_capability=None, gpu_id=None, detect_gpu=None):
    """Set the Brian2CUDA preferences (call before ``set_device("cuda_standalone")``).

    Parameters
    ----------
    threads : int
        Ignored (brian2cuda has no OpenMP); a value other than 1 warns.
    compute_capability : float, optional
        Compile for this compute capability (e.g. 9.0 for H100); turns GPU
        detection off unless ``detect_gpu=True``.
    gpu_id : int, optional
        GPU to run on; default: detected (the best one), or 0 without detection.
    detect_gpu : bool, optional
        Detect the GPU with ``nvidia-smi``; default: only when no
        ``compute_capability`` is given and a GPU is visible.

    Returns
    -------
    dict
        The settings used (``detect_gpus``, ``gpu_id``, ``compute_capability``,
        ``curand_include``, ``curand_lib``).
    """
    _import_brian2cuda()
    from brian2 import prefs
    from brian2.devices.device import all_devices
    from brian2cuda.utils.gputools import reset_gpu_selection

    if int(threads) != 1:
        warnings.warn(f"cuda_standalone does not use OpenMP; threads={threads} is ignored", stacklevel=3)
    backend = prefs.devices.cuda_standalone.cuda_backend
    if detect_gpu is None:
        detect_gpu = compute_capability is None and gpu_available()
    detect_gpu = bool(detect_gpu)
    if detect_gpu:
        backend.detect_gpus = True
        backend.gpu_id = None if gpu_id is None else int(gpu_id)
        backend.compute_capability = None if compute_capability is None else float(compute_capability)
    else:
        backend.detect_gpus = False
        backend.gpu_id = 0 if gpu_id is None else int(gpu_id)
        backend.compute_capability = float(DEFAULT_COMPUTE_CAPABILITY if compute_capability is None
                                           else compute_capability)
    # brian2cuda caches the selected GPU per process: select again with these prefs
    reset_gpu_selection()

    prefs.devices.cpp_standalone.openmp_threads = 0
    from bioplastic.symstdp.device.build import make_jobs

    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{make_jobs()}"]

    dev = all_devices["cuda_standalone"]
    _install_fixes(dev)
    inc = lib = None
    wheel = curand_wheel_dirs()
    if wheel is not None and not toolkit_has_curand():
        inc, lib = wheel
        link_dir = _linkable_curand_dir(lib)
        for attr, path in (("include_dirs", inc), ("library_dirs", link_dir), ("runtime_library_dirs", lib)):
            dirs = getattr(dev, attr)
            if str(path) not in dirs:
                dirs.append(str(path))
    return {"detect_gpus": backend.detect_gpus, "gpu_id": backend.gpu_id,
            "compute_capability": backend.compute_capability,
            "curand_include": inc, "curand_lib": lib}


def insert_seed_code(device, variable):
    """Re-seed brian2cuda's random numbers from ``variable`` in ``main``.

    Call after ``device.apply_run_args()`` so that the value set by
    ``run_args`` is used.  ``variable`` is an integer shared variable
    (``controller.variables["rng_seed"]``).
    """
    arr = device.get_array_name(variable)
    device.insert_code(
        "main",
        f"random_number_buffer.set_seed((unsigned long long) brian::{arr}[0]);",
    )
