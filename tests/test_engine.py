"""Devices: the same network on runtime and cpp_standalone, compile-once chunks, seeds."""

import warnings

import numpy as np
import pytest

from bioplastic.symstdp.device.engine import Engine, chunk_seed
from bioplastic.symstdp.network import state_key
from test_model import _deterministic_run

pytestmark = pytest.mark.standalone


def test_runtime_and_cpp_standalone_agree_on_deterministic_input(tmp_path):
    """With rates >= 1/dt every source fires every step: no random numbers are used,
    so both devices must give the same spikes and (to rounding) the same weights."""
    e_rt, s_rt, r_rt = _deterministic_run("runtime")
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    e_cpp, s_cpp, r_cpp = _deterministic_run("cpp_standalone", build_dir=tmp_path / "build")
    for a, b in zip(r_rt, r_cpp):
        assert a.hidden_counts.sum() > 0 and a.label_counts.sum() > 0
        assert np.array_equal(a.hidden_counts, b.hidden_counts)
        assert np.array_equal(a.label_counts, b.label_counts)
        assert np.array_equal(a.ptr, b.ptr)
    for key in s_rt:
        np.testing.assert_allclose(s_rt[key], s_cpp[key], rtol=1e-7, atol=1e-12, err_msg=key)
    w0 = e_cpp.initial_state()[state_key(e_cpp.model.input_hidden, "w")]
    assert not np.allclose(w0, s_cpp[state_key(e_cpp.model.input_hidden, "w")]), "weights learned"


def test_chunks_get_fresh_random_numbers_and_seeds_reproduce(tmp_path):
    """One binary, many runs: a new chunk seed gives new Poisson noise; the same seed
    reproduces the chunk bit for bit."""
    from bioplastic.symstdp.params import model_params

    p = model_params("mnist", 5)
    K = 3
    eng = Engine(p, device="cpp_standalone", chunk_size=K, seed=0, verbose=False,
                 build_dir=tmp_path / "build")
    rates = np.full((K, 784), 20.0)
    st = eng.initial_state()
    _, a = eng.run_chunk(st, rates, np.array([0, 1, 2]), True, seed=chunk_seed(0, 0))
    _, b = eng.run_chunk(st, rates, np.array([0, 1, 2]), True, seed=chunk_seed(0, 0))
    _, c = eng.run_chunk(st, rates, np.array([0, 1, 2]), True, seed=chunk_seed(0, 1))
    assert np.array_equal(a.hidden_counts, b.hidden_counts)
    assert np.array_equal(a.label_counts, b.label_counts)
    assert not np.array_equal(a.label_counts, c.label_counts)  # teacher spikes differ
    # the second Engine with the same network reuses the compiled binary
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    eng2 = Engine(p, device="cpp_standalone", chunk_size=K, seed=0, verbose=False,
                  build_dir=tmp_path / "build")
    _, d = eng2.run_chunk(eng2.initial_state(), rates, np.array([0, 1, 2]), True, seed=chunk_seed(0, 0))
    assert np.array_equal(a.hidden_counts, d.hidden_counts)
    # each Engine's chunk results go with close(), or with the Engine itself
    results = sorted(p.name for p in (tmp_path / "build").glob("results_*"))
    assert len(results) == 2
    eng2.close()
    assert not (tmp_path / "build" / eng2._results_name).exists()
    assert (tmp_path / "build").is_dir() and (tmp_path / "build" / "main").is_file()
    del eng, eng2
    import gc

    gc.collect()
    assert not list((tmp_path / "build").glob("results_*"))


def test_float32_build_runs_in_single_precision(tmp_path):
    from bioplastic.symstdp.params import model_params

    p = model_params("mnist", 10)
    eng = Engine(p, device="cpp_standalone", chunk_size=4, float32=True, seed=0, verbose=False,
                 build_dir=tmp_path / "build")
    rates = np.zeros((4, 784))
    rates[:, 200:400] = 60.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)     # no "overflow encountered in cast" per chunk
        state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3, 4]), True, seed=5)
    assert state[state_key(eng.model.input_hidden, "w")].dtype == np.float32
    assert res.hidden_counts.sum() > 0 and res.label_counts.sum() > 0
    assert np.all(np.isfinite(state[state_key(eng.model.excitatory, "v")]))
    # theta grew with the spikes (it decays once per window in single precision)
    theta = state[state_key(eng.model.excitatory, "theta")]
    assert (theta > float(p.excitatory.theta_init)).any()


def test_make_jobs_is_bounded_by_cores_and_memory(monkeypatch):
    import builtins
    import io

    from bioplastic.symstdp.device import engine

    monkeypatch.setattr(engine.os, "cpu_count", lambda: 16)
    real_open = builtins.open

    def fake_meminfo(gib):
        def _open(path, *a, **kw):
            if path == "/proc/meminfo":
                return io.StringIO(f"MemTotal: {gib * 2**20} kB\nMemAvailable: {gib * 2**20} kB\n")
            return real_open(path, *a, **kw)
        return _open

    monkeypatch.setattr(builtins, "open", fake_meminfo(128))
    assert engine.make_jobs() == 16  # one job per core on a large machine
    monkeypatch.setattr(builtins, "open", fake_meminfo(4))
    assert engine.make_jobs() == 2  # about 1.5 GiB per compiler process
    monkeypatch.setattr(builtins, "open", fake_meminfo(1))
    assert engine.make_jobs() == 1


def test_huge_pages_tunable_is_added_without_overriding_the_users():
    from bioplastic.symstdp.device.engine import HUGE_PAGES_TUNABLE, _with_huge_pages

    assert _with_huge_pages(None) == HUGE_PAGES_TUNABLE
    assert _with_huge_pages("") == HUGE_PAGES_TUNABLE
    assert _with_huge_pages("glibc.malloc.arena_max=2") == "glibc.malloc.arena_max=2:" + HUGE_PAGES_TUNABLE
    assert _with_huge_pages("glibc.malloc.hugetlb=0") == "glibc.malloc.hugetlb=0"


def test_plastic_pathways_have_one_scalar_delay_not_one_per_synapse():
    from bioplastic.symstdp.network import build_network
    from bioplastic.symstdp.params import model_params

    m = build_network(model_params("mnist", 20), chunk_size=2)
    for syn in (m.input_hidden, m.hidden_label):
        for pathway in syn._pathways:
            assert pathway._delays.scalar and pathway._delays.size == 1


def test_run_args_files_are_private_to_an_engine():
    """Two processes on one build folder with an equal array (the same frozen weights) must not
    share its run_args file: the first to delete it after its chunk took the other's input away."""
    from bioplastic.symstdp.device.engine import _private_run_args

    class Device:
        def _prepare_variableview_run_arg(self, key, value):
            return "g.w", "static_arrays/init_g_w_abc.dat", "init_g_w_abc.dat", value

        def _prepare_timed_array_run_arg(self, key, value):
            return "stimulus.values", "1.0", None, value          # a single value: no file

    dev = Device()
    with _private_run_args(dev, "results_12_ab"):
        name, string_value, value_name, _ = dev._prepare_variableview_run_arg(None, 1)
        assert value_name == "init_g_w_abc_results_12_ab.dat"
        assert string_value.endswith("static_arrays/init_g_w_abc_results_12_ab.dat")
        assert dev._prepare_timed_array_run_arg(None, 1)[1:3] == ("1.0", None)
    assert dev._prepare_variableview_run_arg(None, 1)[2] == "init_g_w_abc.dat"      # restored
