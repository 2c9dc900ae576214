"""Tests of bioplastic.runs: atomic writes, run record, loading runs back."""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _synthetic_run import write_synthetic_run
from bioplastic import runs
from bioplastic.analysis.readout import accuracy, assignment_predictions, supervised_predictions
from bioplastic.runs import (
    FORMAT_VERSION,
    IncompleteRunError,
    Run,
    RunDirectoryError,
    RunError,
    RunFormatError,
    atomic_write_bytes,
    check_writable,
    load_npz,
    load_run,
    read_json,
    read_table,
    save_npz,
    save_table,
    software_versions,
    write_json,
)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    return write_synthetic_run(tmp_path_factory.mktemp("runs") / "synthetic")


def _copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


# --------------------------------------------------------------------------
# atomic writers
# --------------------------------------------------------------------------

def test_atomic_write_bytes_roundtrip(tmp_path):
    p = tmp_path / "f.bin"
    assert atomic_write_bytes(p, b"one") == p
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["f.bin"]
    # written with ordinary permissions, not the 0600 of temporary files
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_replace_leaves_original_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "run.json"
    write_json(p, {"a": 1})
    before = p.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(runs.io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_json(p, {"a": 2})
    with pytest.raises(OSError, match="disk on fire"):
        save_npz(tmp_path / "w.npz", x=np.arange(3))
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.json"]


def test_failure_mid_write_leaves_original_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "weights.npz"
    save_npz(p, x=np.arange(5))
    before = p.read_bytes()

    real = np.savez_compressed

    def half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 partial garbage")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(runs.io.np, "savez_compressed", half_then_fail)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        save_npz(p, x=np.arange(1000))
    monkeypatch.setattr(runs.io.np, "savez_compressed", real)
    assert p.read_bytes() == before
    np.testing.assert_array_equal(load_npz(p)["x"], np.arange(5))
    assert os.listdir(tmp_path) == ["weights.npz"]


def test_failed_fsync_leaves_no_file(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(runs.io.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        atomic_write_bytes(tmp_path / "new.bin", b"data")
    assert os.listdir(tmp_path) == []


def test_write_json_unserialisable_leaves_original(tmp_path):
    p = tmp_path / "m.json"
    write_json(p, {"ok": True})
    with pytest.raises(TypeError, match="object"):
        write_json(p, {"bad": object()})
    assert read_json(p) == {"ok": True}
    assert os.listdir(tmp_path) == ["m.json"]


def test_write_json_converts_numpy_and_paths(tmp_path):
    p = tmp_path / "x.json"
    obj = {
        "i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True),
        "arr": np.arange(3, dtype=np.uint16), "mat": np.eye(2),
        "path": Path("/some/where"), "tup": (1, 2), "nested": {np.int64(7): [np.float64(1.5)]},
        "nan": float("nan"),
    }
    write_json(p, obj)
    text = p.read_text()
    back = json.loads(text)
    assert back["i"] == 3 and isinstance(back["i"], int)
    assert back["f"] == 0.5
    assert back["b"] is True
    assert back["arr"] == [0, 1, 2]
    assert back["mat"] == [[1.0, 0.0], [0.0, 1.0]]
    assert back["path"] == "/some/where"
    assert back["tup"] == [1, 2]
    assert back["nested"] == {"7": [1.5]}
    assert np.isnan(read_json(p)["nan"])
    # pretty and sorted
    assert text.startswith("{\n  \"arr\"")
    assert text.endswith("}\n")


def test_write_json_brian2_quantities(tmp_path):
    brian2 = pytest.importorskip("brian2")
    ms, mV = brian2.ms, brian2.mV
    p = tmp_path / "params.json"
    write_json(p, {"neurons": {"tau_m": 20 * ms, "v_rest": -65 * mV,
                               "thetas": np.array([1.0, 2.0]) * mV}})
    back = read_json(p)
    assert back["neurons"]["tau_m"] == str(20 * ms) == "20. ms"
    assert back["neurons"]["v_rest"] == str(-65 * mV)
    assert back["neurons"]["thetas"] == str(np.array([1.0, 2.0]) * mV)


def test_write_json_quantity_duck_typed(tmp_path):
    class FakeQuantity:
        dim = "s"

        def has_same_dimensions(self, other):
            return True

        def __str__(self):
            return "5. ms"

    write_json(tmp_path / "q.json", {"t": FakeQuantity()})
    assert read_json(tmp_path / "q.json") == {"t": "5. ms"}


def test_save_npz_and_table_roundtrip(tmp_path):
    save_npz(tmp_path / "a.npz", x=np.arange(4, dtype=np.uint16), y=np.ones((2, 3)))
    arrays = load_npz(tmp_path / "a.npz")
    assert set(arrays) == {"x", "y"}
    assert arrays["x"].dtype == np.uint16
    np.testing.assert_array_equal(arrays["y"], np.ones((2, 3)))
    with pytest.raises(TypeError, match="object"):
        save_npz(tmp_path / "b.npz", z=np.array([{}, None], dtype=object))
    assert not (tmp_path / "b.npz").exists()

    df = pd.DataFrame({"a": [1, 2], "b": [0.1, np.nan], "s": ["x", "y"]})
    save_table(tmp_path / "t.csv", df)
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "a,b,s"
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), df)
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "t.csv"]


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------

def test_software_versions_keys():
    v = software_versions()
    assert set(v) == {"python", "platform", "bioplastic", "brian2", "numpy", "pandas",
                      "scikit-learn", "brian2cuda", "compiler"}
    assert v["numpy"] == np.__version__
    assert v["pandas"] == pd.__version__
    assert v["bioplastic"] == __import__("bioplastic").__version__
    assert v["compiler"] is None or isinstance(v["compiler"], str)
    json.dumps(v)


def test_software_versions_without_gcc(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert software_versions()["compiler"] is None


def test_check_writable_creates_directory(tmp_path):
    d = tmp_path / "a" / "b"
    assert check_writable(d) == d
    assert d.is_dir()
    assert os.listdir(d) == []


def test_check_writable_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(RunDirectoryError, match="cannot create run directory"):
        check_writable(tmp_path / "afile" / "sub")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        check_writable(tmp_path / "afile")


def test_check_writable_read_only_directory(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        if os.access(d, os.W_OK):  # root ignores permissions
            pytest.skip("running with privileges that ignore directory permissions")
        with pytest.raises(RunDirectoryError, match="not writable"):
            check_writable(d)
    finally:
        d.chmod(0o755)


def test_check_writable_unwritable_simulated(tmp_path, monkeypatch):
    # the same branch as above, reachable when tests run as root
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runs.disk.tempfile, "NamedTemporaryFile", denied)
    with pytest.raises(RunDirectoryError, match="not writable.*Permission denied"):
        check_writable(tmp_path)


def test_check_writable_free_space(tmp_path):
    with pytest.raises(RunDirectoryError, match="MB free") as info:
        check_writable(tmp_path, min_free_bytes=2 ** 62)
    assert str(tmp_path) in str(info.value)
    assert isinstance(info.value, RunError)


# --------------------------------------------------------------------------
# load_run
# --------------------------------------------------------------------------

def test_load_synthetic_run_roundtrip(synthetic_run):
    run = load_run(synthetic_run)
    assert isinstance(run, Run)
    assert run.path == synthetic_run
    rec = run.record
    assert rec["format_version"] == FORMAT_VERSION
    for key in ("bioplastic_version", "created", "command", "seed", "device", "threads",
                "float32", "dataset", "n_input", "n_hidden", "n_label", "epochs",
                "n_train", "n_test", "n_validation", "chunk_size", "params", "versions"):
        assert key in rec, key
    n_hidden, n_test = rec["n_hidden"], rec["n_test"]
    assert (n_hidden, n_test) == (20, 60) == (run.n_hidden, 60)

    w = run.weights
    assert w["w_input_hidden"].shape == (784, n_hidden)
    assert w["w_hidden_label"].shape == (n_hidden, 10)
    assert w["theta_mV"].shape == (n_hidden,)
    assert w["assignments"].dtype.kind == "i"
    assert -1 in w["assignments"]

    c = run.test_counts
    assert c["hidden_counts"].dtype == np.uint16 and c["hidden_counts"].shape == (n_test, n_hidden)
    assert c["label_counts"].dtype == np.uint16 and c["label_counts"].shape == (n_test, 10)
    assert c["labels"].dtype == np.uint8
    assert c["sample_index"].dtype == np.int64
    assert c["images"].dtype == np.uint8 and c["images"].shape == (n_test, 28, 28)

    ts = run.test_samples
    assert len(ts) == n_test
    assert list(ts.columns[:7]) == ["sample_index", "label", "pred_supervised",
                                    "pred_assignment", "n_hidden_spikes",
                                    "n_presentations", "intensity"]
    assert [f"label_count_{k}" for k in range(10)] == list(ts.columns[7:])
    np.testing.assert_array_equal(ts["label"], c["labels"])
    np.testing.assert_array_equal(ts["sample_index"], c["sample_index"])
    np.testing.assert_array_equal(ts[[f"label_count_{k}" for k in range(10)]].to_numpy(),
                                  c["label_counts"])
    np.testing.assert_array_equal(ts["pred_supervised"],
                                  supervised_predictions(c["label_counts"]))
    np.testing.assert_array_equal(ts["pred_assignment"],
                                  assignment_predictions(c["hidden_counts"], w["assignments"]))
    assert (ts["pred_supervised"] == -1).any()
    m = run.metrics
    assert m["test_accuracy_supervised"] == accuracy(ts["pred_supervised"], ts["label"])
    assert m["test_accuracy_assignment"] == accuracy(ts["pred_assignment"], ts["label"])
    assert 0.5 < m["test_accuracy_assignment"] <= 1.0
    assert m["n_test"] == n_test

    tr = run.training
    assert list(tr.columns) == ["chunk", "epoch", "samples_seen", "n_samples",
                                "n_presentations", "train_accuracy_assignment",
                                "wall_seconds", "samples_per_second"]
    assert np.isnan(tr["train_accuracy_assignment"].iloc[0])
    assert tr["train_accuracy_assignment"].iloc[1:].notna().all()
    assert tr["samples_seen"].is_monotonic_increasing
    assert tr["samples_seen"].iloc[-1] == m["n_train"]

    ev = run.evaluations
    assert set(ev["split"]) == {"validation", "test"}
    assert list(ev.columns) == ["samples_seen", "split", "accuracy_supervised",
                                "accuracy_assignment", "n_samples", "epoch", "kind", "wall_seconds"]
    assert list(ev["kind"]) == ["during-training"] * (len(ev) - 1) + ["final"]

    s = run.snapshots
    assert s["samples_seen"].shape == (3,)
    assert s["w_input_hidden"].shape == (3, 784, n_hidden)
    assert s["w_input_hidden"].dtype == np.float32
    assert s["theta_mV"].shape == (3, n_hidden)
    assert run.snapshots is s  # loaded once

    r = run.raster
    for layer in ("input", "hidden", "inhibitory", "label"):
        assert r[f"{layer}_i"].shape == r[f"{layer}_t_ms"].shape
        assert r[f"{layer}_i"].dtype.kind == "i"
        assert np.all(r[f"{layer}_t_ms"] >= 0)
    assert int(r["label"]) == int(c["labels"][0])
    assert float(r["t_present_ms"]) > 0 and float(r["t_rest_ms"]) > 0
    assert "synthetic" in repr(run)

    with pytest.raises(dataclasses.FrozenInstanceError):
        run.record = {}


def test_synthetic_run_is_deterministic_and_sized(tmp_path):
    a = write_synthetic_run(tmp_path / "a", n_hidden=12, n_test=15, seed=3)
    b = write_synthetic_run(tmp_path / "b", n_hidden=12, n_test=15, seed=3)
    for name in ("weights.npz", "test_counts.npz", "snapshots.npz", "raster.npz"):
        x, y = load_npz(a / name), load_npz(b / name)
        assert set(x) == set(y)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    for name in ("test_samples.csv", "training.csv", "evaluations.csv", "metrics.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    run = load_run(a)
    assert run.weights["w_input_hidden"].shape == (784, 12)
    assert len(run.test_samples) == 15
    assert not any(p.name.endswith(".tmp") for p in a.iterdir())


def test_optional_files_absent_are_none(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    for name in ("training.csv", "evaluations.csv", "snapshots.npz", "raster.npz"):
        (d / name).unlink()
    run = load_run(d)
    assert run.training is None and run.evaluations is None
    assert run.snapshots is None and run.raster is None
    with pytest.raises(IncompleteRunError, match="training.csv"):
        load_run(d, require=runs.REQUIRED_FILES + ("training.csv",))


def test_missing_files_are_all_named(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    (d / "weights.npz").unlink()
    (d / "test_samples.csv").unlink()
    with pytest.raises(IncompleteRunError) as info:
        load_run(d)
    msg = str(info.value)
    assert "weights.npz" in msg and "test_samples.csv" in msg
    assert str(d) in msg
    assert "metrics.json" not in msg
    # not required -> loaded as None
    run = load_run(d, require=("run.json", "metrics.json", "test_counts.npz"))
    assert run.weights is None and run.test_samples is None
    assert run.test_counts is not None


def test_run_json_is_always_required(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    (d / "run.json").unlink()
    with pytest.raises(IncompleteRunError, match="run.json"):
        load_run(d, require=())


def test_wrong_format_version(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    record = read_json(d / "run.json")
    record["format_version"] = 2
    write_json(d / "run.json", record)
    with pytest.raises(RunFormatError) as info:
        load_run(d)
    msg = str(info.value)
    assert "format_version 2" in msg and f"format_version {FORMAT_VERSION}" in msg
    del record["format_version"]
    write_json(d / "run.json", record)
    with pytest.raises(RunFormatError, match="no format_version"):
        load_run(d)


def test_corrupt_run_json(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    (d / "run.json").write_text("{not json")
    with pytest.raises(RunFormatError, match="cannot read run.json"):
        load_run(d)


def test_shape_mismatch_with_n_hidden(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    record = read_json(d / "run.json")
    record["n_hidden"] = 21
    write_json(d / "run.json", record)
    with pytest.raises(RunFormatError, match=r"w_input_hidden.*\(784, 20\).*\(784, 21\)"):
        load_run(d)


def test_test_counts_shape_mismatch(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    counts = load_npz(d / "test_counts.npz")
    counts["label_counts"] = counts["label_counts"][:, :9]
    save_npz(d / "test_counts.npz", **counts)
    with pytest.raises(RunFormatError, match="label_counts"):
        load_run(d)


def test_missing_array_in_weights(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    w = load_npz(d / "weights.npz")
    del w["theta_mV"]
    save_npz(d / "weights.npz", **w)
    with pytest.raises(RunFormatError, match="theta_mV"):
        load_run(d)


def test_test_samples_row_mismatch(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    ts = read_table(d / "test_samples.csv")
    save_table(d / "test_samples.csv", ts.iloc[:-1])
    with pytest.raises(RunFormatError, match="59 rows"):
        load_run(d)


def test_snapshot_shape_checked_lazily(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    s = load_npz(d / "snapshots.npz")
    s["theta_mV"] = s["theta_mV"][:, :5]
    save_npz(d / "snapshots.npz", **s)
    run = load_run(d)
    with pytest.raises(RunFormatError, match="snapshots.npz"):
        run.snapshots


def test_load_run_not_a_directory(tmp_path):
    with pytest.raises(RunDirectoryError, match="does not exist"):
        load_run(tmp_path / "nope")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        load_run(f)


def test_error_hierarchy():
    assert issubclass(RunDirectoryError, RunError)
    assert issubclass(IncompleteRunError, RunError)
    assert issubclass(RunFormatError, RunError)
    assert issubclass(RunFormatError, ValueError)


# --------------------------------------------------------------------------
# the run directory's lock
# --------------------------------------------------------------------------

def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    with runs.lock_run_directory(tmp_path) as path:
        assert path == tmp_path / runs.LOCK_FILE
        with pytest.raises(runs.RunLockedError) as info:
            with runs.lock_run_directory(tmp_path):
                pass
        msg = str(info.value)
        assert f"pid {os.getpid()}" in msg and str(tmp_path) in msg and "--out" in msg
        assert isinstance(info.value, RunDirectoryError)
    with runs.lock_run_directory(tmp_path):  # released at the end of the block
        pass


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    import signal
    import subprocess
    import sys

    code = ("import sys, time, bioplastic.runs as r\n"
            "with r.lock_run_directory(sys.argv[1]):\n"
            "    print('locked', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(runs.RunLockedError, match=f"pid {proc.pid}"):
            with runs.lock_run_directory(tmp_path):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / runs.LOCK_FILE).exists()  # the stale file stays, but is no lock
    with runs.lock_run_directory(tmp_path):
        pass


# --------------------------------------------------------------------------
# one loader for every family
# --------------------------------------------------------------------------

def _gradient_style_run(run_dir, family="ttfs"):
    """A tiny run directory as a gradient family writes it (by hand, not by its code)."""
    run_dir.mkdir(parents=True)
    record = {
        "format_version": 1, "family": family, "protocol": f"{family}_mnist",
        "bioplastic_version": "0.0", "created": "2000-01-01T00:00:00+0000",
        "command": [f"protocols/{family}_mnist.py", "--out", str(run_dir)], "seed": 4,
        "versions": {"python": "3"}, "config": {"epochs": 2, "hidden": 8},
        "network": {"t_max": 20.0},
    }
    write_json(run_dir / "run.json", record)
    write_json(run_dir / "metrics.json", {"test_accuracy": 0.75, "epochs": 2, "device": "cpu"})
    save_npz(run_dir / "weights.npz", w_input_hidden=np.ones((5, 8)), tau_mem_ms=np.float64(10.0))
    history = pd.DataFrame({"epoch": [0, 1], "loss": [1.5, 0.5], "accuracy": [0.5, 0.75]})
    save_table(run_dir / "history.csv", history)
    (run_dir / "cells").mkdir()
    save_table(run_dir / "cells" / "rates.csv", pd.DataFrame({"step": [0], "rate_hz": [3.0]}))
    return run_dir, record, history


@pytest.mark.parametrize("family", ["surrogate", "ttfs", "adaptive"])
def test_load_run_of_a_gradient_family(tmp_path, family):
    d, record, history = _gradient_style_run(tmp_path / "run", family)
    run = load_run(d)
    assert type(run) is Run and not isinstance(run, runs.SymSTDPRun)
    assert run.path == d and run.record == record
    assert run.family == family and run.protocol == f"{family}_mnist"
    assert run.metrics == {"test_accuracy": 0.75, "epochs": 2, "device": "cpu"}
    assert run.files == ("cells/rates.csv", "history.csv", "metrics.json", "run.json", "weights.npz")
    pd.testing.assert_frame_equal(run.table("history"), history)
    pd.testing.assert_frame_equal(run.table("history.csv"), history)
    assert run.table("cells/rates")["rate_hz"].tolist() == [3.0]
    w = run.arrays("weights")
    assert set(w) == {"w_input_hidden", "tau_mem_ms"} and w["w_input_hidden"].shape == (5, 8)
    assert set(run.arrays("weights.npz")) == set(w)
    assert not hasattr(run, "weights")  # the sym-STDP attributes are sym-STDP's
    assert family in repr(run)
    with pytest.raises(IncompleteRunError, match=r"has no evaluations\.csv"):
        run.table("evaluations")
    with pytest.raises(IncompleteRunError, match=r"has no snapshots\.npz"):
        run.arrays("snapshots")


def test_generic_run_needs_metrics_json(tmp_path):
    d, _, _ = _gradient_style_run(tmp_path / "run")
    (d / "metrics.json").unlink()
    with pytest.raises(IncompleteRunError) as info:
        load_run(d)
    assert "missing metrics.json" in str(info.value) and str(d) in str(info.value)
    run = load_run(d, require=())  # a run in progress
    assert run.metrics is None and run.family == "ttfs"
    assert load_run(d, require=("history.csv",)).metrics is None
    (d / "history.csv").unlink()
    with pytest.raises(IncompleteRunError, match="missing metrics.json, history.csv"):
        load_run(d, require=("metrics.json", "history.csv"))


@pytest.mark.parametrize("name", ["run.json", "metrics.json"])
def test_corrupt_json_names_the_file(tmp_path, name):
    d, _, _ = _gradient_style_run(tmp_path / "run")
    (d / name).write_text('{"format_version": 1,')
    with pytest.raises(RunFormatError, match=f"cannot read {name}") as info:
        load_run(d)
    assert str(d) in str(info.value)


def test_corrupt_table_and_arrays_name_the_file(tmp_path):
    d, _, _ = _gradient_style_run(tmp_path / "run")
    (d / "weights.npz").write_bytes(b"PK\x03\x04 not a zip")
    (d / "history.csv").write_bytes(b"")
    run = load_run(d)
    with pytest.raises(RunFormatError, match=r"cannot read weights\.npz"):
        run.arrays("weights")
    with pytest.raises(RunFormatError, match=r"cannot read history\.csv"):
        run.table("history")


def test_corrupt_symstdp_file_names_it(synthetic_run, tmp_path):
    d = _copy_run(synthetic_run, tmp_path / "run")
    (d / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(RunFormatError, match=r"cannot read weights\.npz"):
        load_run(d)


def test_record_of_unknown_family_or_without_common_fields(tmp_path):
    d, record, _ = _gradient_style_run(tmp_path / "run")
    write_json(d / "run.json", {**record, "family": "backprop"})
    with pytest.raises(RunFormatError, match="family 'backprop'.*symstdp, surrogate, ttfs, adaptive"):
        load_run(d)
    write_json(d / "run.json", {k: v for k, v in record.items() if k not in ("protocol", "config")})
    with pytest.raises(RunFormatError, match="lacks the common field.*protocol, config"):
        load_run(d)
    write_json(d / "run.json", {**record, "format_version": 2})
    with pytest.raises(RunFormatError, match="format_version 2"):
        load_run(d)
    write_json(d / "run.json", [record])
    with pytest.raises(RunFormatError, match="not a JSON object"):
        load_run(d)


def test_metrics_must_be_flat(tmp_path):
    d, _, _ = _gradient_style_run(tmp_path / "run")
    write_json(d / "metrics.json", {"accuracy": 0.5, "per_class": [0.5, 0.5], "more": {"a": 1}})
    with pytest.raises(RunFormatError, match="metrics.json .* not flat: more, per_class"):
        load_run(d)
    write_json(d / "metrics.json", [0.5])
    with pytest.raises(RunFormatError, match="metrics.json .* not a JSON object"):
        load_run(d)


def test_symstdp_run_with_and_without_family(synthetic_run, tmp_path):
    run = load_run(synthetic_run)
    assert isinstance(run, runs.SymSTDPRun)
    assert run.family == "symstdp" and run.protocol == "synthetic"
    for field in runs.COMMON_FIELDS:
        assert field in run.record, field
    assert {"weights.npz", "test_counts.npz", "raster.npz"} <= set(run.files)
    pd.testing.assert_frame_equal(run.table("training"), run.training)
    np.testing.assert_array_equal(run.arrays("weights")["theta_mV"], run.weights["theta_mV"])
    # the first sym-STDP records name no family (nor protocol, config): still sym-STDP
    d = _copy_run(synthetic_run, tmp_path / "old")
    record = read_json(d / "run.json")
    for key in ("family", "protocol", "config"):
        del record[key]
    write_json(d / "run.json", record)
    old = load_run(d)
    assert isinstance(old, runs.SymSTDPRun) and old.family == "symstdp" and old.protocol is None
    # a record without family is read as sym-STDP, and says so when it is not one
    del record["n_hidden"]
    write_json(d / "run.json", record)
    with pytest.raises(RunFormatError, match="no valid n_hidden.*must name it in the record's \"family\""):
        load_run(d, require=())


def test_new_record_holds_the_common_fields(tmp_path):
    record = runs.new_record("surrogate", "surrogate_randman", ["protocols/x.py", "--seed", "2"],
                             2, {"seed": 2}, n_hidden=30)
    assert set(runs.COMMON_FIELDS) <= set(record)
    assert record["format_version"] == FORMAT_VERSION and record["family"] == "surrogate"
    assert record["bioplastic_version"] == record["versions"]["bioplastic"]
    assert record["n_hidden"] == 30 and record["command"] == ["protocols/x.py", "--seed", "2"]
    (tmp_path / "r").mkdir()
    write_json(tmp_path / "r" / "run.json", record)
    write_json(tmp_path / "r" / "metrics.json", {"accuracy": 1.0})
    assert load_run(tmp_path / "r").family == "surrogate"
    with pytest.raises(ValueError, match="family must be one of"):
        runs.new_record("hebb", "p", [], 0, {})
    with pytest.raises(ValueError, match="versions are common fields"):
        runs.new_record("ttfs", "p", [], 0, {}, versions={})


def test_symstdp_experiment_records_family_and_protocol(tiny_run):
    run = load_run(tiny_run)
    assert isinstance(run, runs.SymSTDPRun)
    assert run.record["family"] == run.family == "symstdp"
    assert run.protocol == "supervised_mnist"
    for field in runs.COMMON_FIELDS:
        assert field in run.record, field
    assert run.record["bioplastic_version"] == __import__("bioplastic").__version__
    assert run.record["config"]["n_hidden"] == run.n_hidden == 40
