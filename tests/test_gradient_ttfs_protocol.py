"""protocols/ttfs_mnist.py and protocols/ttfs_sweep.py on tiny subsets of the real data."""

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT, data_dir, requires_data

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gradient, requires_data]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "protocols" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TINY = ["--hidden", "12", "--epochs", "1", "--n-train", "200", "--n-validation", "100",
        "--n-test", "150", "--n-raster", "5"]


def test_protocol_writes_a_complete_run(tmp_path):
    n = torch.get_num_threads()
    try:
        status = _load("ttfs_mnist").main(TINY + ["--regularizer", "f-ssr", "--gamma", "0.001",
                                               "--out", str(tmp_path / "run"), "--quiet",
                                               "--data-dir", str(data_dir())])
    finally:
        torch.set_num_threads(n)
    assert status == 0
    run = tmp_path / "run"
    for name in ("run.json", "metrics.json", "epochs.csv", "evaluations.csv", "weights.npz", "test_spikes.npz"):
        assert (run / name).is_file(), name
    from bioplastic.runs import load_run, read_json

    rec = read_json(run / "run.json")
    assert rec["status"] == "finished" and rec["network"]["sizes"] == [784, 12, 10]
    assert rec["format_version"] == 1 and rec["family"] == "ttfs" and rec["config"]["gamma"] == 0.001
    loaded = load_run(run)
    assert loaded.family == "ttfs" and loaded.metrics["test_accuracy"] == pytest.approx(
        rec["results"]["test"]["accuracy"])
    ev = pd.read_csv(run / "evaluations.csv")
    assert list(ev.split) == ["validation", "test"]
    assert {"spikes_l1", "spikes_l2", "spikes_total", "accuracy"} <= set(ev.columns)
    assert 0 <= ev.spikes_l1.iloc[1] <= 12 and 0 <= ev.spikes_l2.iloc[1] <= 10

    # the trained network, loaded as an estimator: the run's own test spikes and accuracy
    import numpy as np

    import bioplastic
    from bioplastic.data.datasets import load_mnist
    from bioplastic.gradient.ttfs.estimator import TTFSClassifier
    from bioplastic.runs import load_npz

    model = bioplastic.load(run)
    assert isinstance(model, TTFSClassifier) and model.hidden == (12,) and model.gamma == 0.001
    xt, yt = load_mnist("test", data_dir=data_dir())
    layers = model.spike_times(xt[:150])
    saved = load_npz(run / "test_spikes.npz")
    for i, times in enumerate(layers, start=1):
        np.testing.assert_array_equal(times[:5], saved[f"layer{i}"])
    silent = ~np.isfinite(layers[-1]).any(axis=1)
    correct = (model.predict(xt[:150]) == yt[:150])
    assert correct[~silent].sum() / 150 == pytest.approx(ev.accuracy.iloc[1], abs=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--gamma", "-1", "--regularizer", "m-ssr"], "argument --gamma: must be a finite number >= 0"),
    (["--gamma", "0.1"], "--gamma needs"),
    (["--t-max", "0.5"], "longer than the input window"),
])
def test_protocol_rejects_bad_arguments(args, message):
    r = subprocess.run([sys.executable, str(ROOT / "protocols" / "ttfs_mnist.py"), *args],
                       capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr


@pytest.mark.slow
def test_sweep_is_resumable(tmp_path):
    sweep = _load("ttfs_sweep")
    argv = ["--out", str(tmp_path / "sweep"), "--m-ssr", "0.01", "--hidden", "8", "--epochs", "1",
            "--n-train", "100", "--n-validation", "50", "--n-test", "100", "--quiet",
            "--data-dir", str(data_dir())]
    assert sweep.main(argv) == 0
    cells = pd.read_csv(tmp_path / "sweep" / "cells.csv")
    assert sorted(cells.name) == ["m-ssr-g0.01-seed0", "none-g0-seed0"]
    stamp = (tmp_path / "sweep" / "cells" / "none-g0-seed0" / "run.json").stat().st_mtime_ns
    assert sweep.main(argv) == 0            # nothing left to run
    assert (tmp_path / "sweep" / "cells" / "none-g0-seed0" / "run.json").stat().st_mtime_ns == stamp
    assert sweep.main([a if a != "8" else "9" for a in argv]) == 2  # other training settings (SweepError)
    assert sweep.main(argv + ["--f-ssr", "0.01"]) == 0        # more gammas: only the new cell runs
    assert (tmp_path / "sweep" / "cells" / "none-g0-seed0" / "run.json").stat().st_mtime_ns == stamp
    cells = pd.read_csv(tmp_path / "sweep" / "cells.csv")
    assert sorted(cells.name) == ["f-ssr-g0.01-seed0", "m-ssr-g0.01-seed0", "none-g0-seed0"]
