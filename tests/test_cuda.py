"""cuda_standalone: code generation and nvcc compilation (no GPU needed), and, on a GPU,
the same spikes and weights as cpp_standalone on deterministic input (in the style of
brian2cuda's tests/test_cpp_cuda_consistency.py)."""

import importlib.util
import shutil
import time

import numpy as np
import pytest

from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.network import state_key
from bioplastic.symstdp.params import model_params

HAS_BRIAN2CUDA = importlib.util.find_spec("brian2cuda") is not None
HAS_NVCC = shutil.which("nvcc") is not None

requires_brian2cuda = pytest.mark.skipif(
    not HAS_BRIAN2CUDA, reason="brian2cuda not installed (pip install 'bioplastic[cuda]')")
requires_nvcc = pytest.mark.skipif(not HAS_NVCC, reason="nvcc (CUDA toolkit) not found on PATH")


@pytest.fixture(autouse=True)
def restore_prefs():
    """configure() sets global Brian preferences: put them back after each test."""
    from brian2 import prefs

    names = ["devices.cpp_standalone.openmp_threads", "devices.cpp_standalone.extra_make_args_unix"]
    if HAS_BRIAN2CUDA:
        import brian2cuda  # noqa: F401  (registers the cuda prefs)

        names += [f"devices.cuda_standalone.cuda_backend.{n}"
                  for n in ("detect_gpus", "gpu_id", "compute_capability")]
    saved = {n: prefs[n] for n in names}
    yield
    for n, v in saved.items():
        prefs[n] = v


def _has_gpu():
    if not HAS_BRIAN2CUDA:
        return False
    from bioplastic.symstdp.device.cuda import gpu_available

    return gpu_available()


@requires_brian2cuda
def test_configure_without_gpu_detection_sets_prefs():
    from brian2 import prefs

    from bioplastic.symstdp.device import cuda

    used = cuda.configure(compute_capability=8.0, gpu_id=1)
    backend = prefs.devices.cuda_standalone.cuda_backend
    assert backend.detect_gpus is False and used["detect_gpus"] is False
    assert backend.gpu_id == 1 and backend.compute_capability == 8.0
    assert prefs.devices.cpp_standalone.openmp_threads == 0
    # the shared host-compiler flags stay as they are (cpp_standalone and runtime use them)
    assert "-std=c++11" in prefs["codegen.cpp.extra_compile_args_gcc"]
    with pytest.warns(UserWarning, match="threads"):
        cuda.configure(threads=4, compute_capability=9.0)


@pytest.mark.cuda_compile  # 4.5-10 min of nvcc on 2 cores: not in the default run (-m cuda_compile)
@requires_brian2cuda
@requires_nvcc
def test_cuda_standalone_generates_and_compiles(tmp_path):
    build = tmp_path / "b"
    t0 = time.perf_counter()
    eng = Engine(model_params("mnist", 10), device="cuda_standalone", chunk_size=2,
                 build_dir=build, verbose=False, cuda_options={"compute_capability": 9.0})
    seconds = time.perf_counter() - t0
    print(f"cuda_standalone generate + compile: {seconds:.1f} s")
    assert (build / "main").is_file(), "nvcc build produced no binary"
    makefile = (build / "makefile").read_text()
    assert "-arch=sm_90" in makefile
    assert "-std=c++17" in makefile and "-std=c++11" not in makefile
    main_cu = (build / "main.cu").read_text()
    arr = eng.model.controller.variables["rng_seed"]
    from brian2 import device

    name = device.get_array_name(arr)
    # the chunk seed is applied after the run_args, before the network runs
    i_args = main_cu.index("set_from_command_line(args);")
    i_seed = main_cu.index(f"random_number_buffer.set_seed((unsigned long long) brian::{name}[0]);")
    assert i_args < i_seed < main_cu.index("_run_random_number_buffer")


@pytest.mark.gpu
@requires_brian2cuda
@requires_nvcc
@pytest.mark.skipif(not _has_gpu(), reason="no NVIDIA GPU visible (nvidia-smi -L)")
def test_cpp_and_cuda_standalone_agree_on_deterministic_input(tmp_path):
    """Every source fires every step: no random numbers matter, so cpp_standalone and
    cuda_standalone must give the same spikes and (to rounding) the same weights."""
    from brian2.devices import reinit_and_delete

    from test_model import _deterministic_run

    e_cpp, s_cpp, r_cpp = _deterministic_run("cpp_standalone", build_dir=tmp_path / "cpp")
    reinit_and_delete()
    e_cu, s_cu, r_cu = _deterministic_run("cuda_standalone", build_dir=tmp_path / "cuda")
    for a, b in zip(r_cpp, r_cu):
        assert a.hidden_counts.sum() > 0 and a.label_counts.sum() > 0
        assert np.array_equal(a.hidden_counts, b.hidden_counts)
        assert np.array_equal(a.label_counts, b.label_counts)
        assert np.array_equal(a.ptr, b.ptr)
        np.testing.assert_allclose(a.intensity, b.intensity, rtol=1e-12)
    for key in s_cpp:
        # brian2cuda compiles with -use_fast_math: rounding differs from the CPU's
        np.testing.assert_allclose(s_cpp[key], s_cu[key], rtol=1e-5, atol=1e-9, err_msg=key)
    w0 = e_cu.initial_state()[state_key(e_cu.model.input_hidden, "w")]
    assert not np.allclose(w0, s_cu[state_key(e_cu.model.input_hidden, "w")]), "weights learned"


@pytest.mark.cuda_compile  # minutes of nvcc on 2 cores: not in the default run (-m cuda_compile)
@requires_brian2cuda
@requires_nvcc
def test_cuda_standalone_compiles_a_population_with_keyed_random_numbers(tmp_path):
    """Population mode on brian2cuda: the keyed random numbers (a host and device function) and
    the block-diagonal synapses generate and compile."""
    build = tmp_path / "pop"
    Engine(model_params("mnist", 10), device="cuda_standalone", chunk_size=2, population=2,
           build_dir=build, verbose=False, cuda_options={"compute_capability": 9.0})
    assert (build / "main").is_file(), "nvcc build produced no binary"
    sources = "".join(f.read_text() for f in (build / "code_objects").glob("*.cu"))
    assert "__host__ __device__ static inline double _bp_keyed_uniform" in sources


@pytest.mark.gpu
@requires_brian2cuda
@requires_nvcc
@pytest.mark.skipif(not _has_gpu(), reason="no NVIDIA GPU visible (nvidia-smi -L)")
def test_population_on_cuda_gives_the_cpp_standalone_copies(tmp_path):
    """Keyed random numbers are integer arithmetic: a population trained on cuda_standalone and on
    cpp_standalone draws the same input spikes; spikes and presentations must agree, weights to
    rounding (brian2cuda compiles with -use_fast_math)."""
    from brian2.devices import reinit_and_delete

    from bioplastic.symstdp.training import run_population_phase
    from test_population import _data, _keys

    p = model_params("mnist", 20)
    seeds = [3, 8]
    data = [_data(n, 1 + c) for c, n in enumerate((9, 7))]
    out = {}
    for dev in ("cpp_standalone", "cuda_standalone"):
        reinit_and_delete()
        eng = Engine(p, device=dev, chunk_size=4, population=2, seeds=seeds, verbose=False,
                     build_dir=tmp_path / dev)
        out[dev] = run_population_phase(eng, eng.split_state(eng.initial_state()), data, True,
                                        [_keys(s) for s in seeds])
    (s_cpp, r_cpp), (s_cu, r_cu) = out["cpp_standalone"], out["cuda_standalone"]
    for a, b in zip(r_cpp, r_cu):
        assert a.hidden_counts.sum() > 0
        assert np.array_equal(a.hidden_counts, b.hidden_counts)
        assert np.array_equal(a.label_counts, b.label_counts)
        assert np.array_equal(a.n_presentations, b.n_presentations)
    for a, b in zip(s_cpp, s_cu):
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-9, err_msg=key)
