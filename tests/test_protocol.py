"""The protocol end to end: learning, the run directory, resume, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, data_dir, requires_data

PROTOCOL = str(ROOT / "protocols" / "supervised_mnist.py")
pytestmark = [pytest.mark.standalone, requires_data]


def _run(args, **kw):
    return subprocess.run([sys.executable, PROTOCOL, *args], capture_output=True, text=True,
                          timeout=900, **kw)


def test_small_network_learns_mnist_clearly_above_chance(tiny_run):
    from bioplastic.runs import load_run

    run = load_run(tiny_run)
    m = run.metrics
    # 600 training samples, 200 held-out test samples; chance is 0.10
    assert m["test_accuracy_supervised"] > 0.3, m
    assert m["test_accuracy_assignment"] > 0.3, m
    assert m["n_test"] == 200 and m["n_train"] == 600
    # the per-sample table agrees with the metrics
    t = run.test_samples
    assert (t.pred_supervised == t.label).mean() == pytest.approx(m["test_accuracy_supervised"])
    assert (t.n_presentations >= 1).all()
    rec = run.record
    assert rec["seed"] == 3 and rec["device"] == "cpp_standalone"
    assert rec["params"]["excitatory"]["tau_m"] == "100. ms"
    assert rec["versions"]["brian2"]
    # weights stay within bounds, theta grew for neurons that fired
    w = run.weights["w_input_hidden"]
    assert w.min() >= 0 and w.max() <= 1.0
    assert (run.weights["theta_mV"] > 20).any()
    assert run.training is not None and len(run.training) >= 3


def test_make_figures_on_a_real_run(tiny_run, tmp_path):
    import importlib.util
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "analysis" / "make_figures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([str(run_dir), "--max-points", "150"]) == 0
    analysis = json.loads((run_dir / "analysis.json").read_text())
    assert "clustering_increases" in analysis
    assert any(p.suffix == ".png" and p.stat().st_size > 0 for p in (run_dir / "figures").iterdir())
    # accuracy against samples seen, from the run's evaluations.csv
    assert "figures/accuracy_curve.png" in analysis["figures"]
    ev = pd.read_csv(run_dir / "evaluations.csv")
    assert (ev.kind == "during-training").sum() >= 1 and ev.samples_seen.max() == 600
    test_row = ev[(ev.kind == "final") & (ev.split == "test")]
    assert len(test_row) == 1 and test_row.n_samples.iloc[0] == 200


def test_existing_run_is_not_overwritten_and_resume_checks_options(tiny_run, tmp_path):
    r = _run(["--out", str(tiny_run), "--n-hidden", "40", "--data-dir", str(data_dir())])
    assert r.returncode == 2 and "--resume" in r.stderr
    r = _run(["--out", str(tiny_run), "--n-hidden", "41", "--n-train", "600", "--n-test", "200",
              "--chunk-size", "100", "--seed", "3", "--resume", "--data-dir", str(data_dir())])
    assert r.returncode == 2 and "n_hidden (recorded 40, now 41)" in r.stderr


def test_missing_data_gives_clear_error(tmp_path):
    env = dict(os.environ, BIOPLASTIC_DATA=str(tmp_path / "nowhere"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = _run(["--out", str(tmp_path / "run"), "--n-train", "10", "--n-test", "10"], env=env)
    assert r.returncode == 2
    assert "nowhere" in r.stderr and "BIOPLASTIC_DATA" in r.stderr


def test_impossible_options_give_clear_errors(tmp_path):
    r = _run(["--out", str(tmp_path / "r"), "--n-train", "-5"])
    assert r.returncode == 2 and "n-train" in r.stderr
    r = _run(["--out", str(tmp_path / "r"), "--n-hidden", "0", "--data-dir", str(data_dir())])
    assert r.returncode == 2 and "--n-hidden" in r.stderr.splitlines()[-1]
    (tmp_path / "file").write_text("x")
    r = _run(["--out", str(tmp_path / "file" / "run"), "--data-dir", str(data_dir())])
    assert r.returncode == 2


def _wait_for(predicate, proc, timeout=600):
    deadline = time.time() + timeout
    while not predicate() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return predicate()


def _rows(path):
    try:
        return len(pd.read_csv(path))
    except (OSError, pd.errors.EmptyDataError):
        return 0


def test_kill_then_ctrl_c_then_resume_matches_the_uninterrupted_run(tiny_run, tmp_path):
    """The tiny_run's options (plus evaluations every 200 samples), killed with
    SIGKILL after its first checkpoint, resumed, stopped with SIGINT (Ctrl-C)
    in the middle of a chunk, and resumed again, ends with tiny_run's weights
    bit for bit: every sample learned exactly once, and the evaluations left
    no trace on training."""
    cfg = json.loads((tiny_run / "run.json").read_text())["config"]
    out = tmp_path / "run"
    args = ["--n-hidden", str(cfg["n_hidden"]), "--n-train", str(cfg["n_train"]), "--n-test",
            str(cfg["n_test"]), "--chunk-size", str(cfg["chunk_size"]), "--seed", str(cfg["seed"]),
            "--out", str(out), "--data-dir", str(data_dir()), "--eval-every", "200", "--n-eval", "40"]
    training = out / "training.csv"
    # 1. kill -9 after the first checkpoint
    proc = subprocess.Popen([sys.executable, PROTOCOL, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert _wait_for(lambda: _rows(training) >= 1, proc), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not (out / "metrics.json").exists()
    rows_before = _rows(training)
    # 2. resume, and press Ctrl-C once it has learned another chunk
    proc = subprocess.Popen([sys.executable, PROTOCOL, *args, "--resume"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: _rows(training) > rows_before, proc), proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert "resuming" in stdout
    assert proc.returncode == 130, stderr[-2000:]
    assert "intact" in stderr and "samples learned" in stderr
    resume_cmd = stderr.strip().splitlines()[-1].split()
    assert resume_cmd[-1] == "--resume" and resume_cmd[resume_cmd.index("--out") + 1] == str(out)
    assert not (out / "metrics.json").exists()
    # 3. resume to the end
    r = _run(args + ["--resume"])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    from bioplastic.runs import load_npz

    got, ref = load_npz(out / "weights.npz"), load_npz(tiny_run / "weights.npz")
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == cfg["n_train"]  # every sample learned exactly once
    assert metrics["test_accuracy_supervised"] == json.loads(
        (tiny_run / "metrics.json").read_text())["test_accuracy_supervised"]
    t = pd.read_csv(training)
    assert t.samples_seen.iloc[-1] == cfg["n_train"] and np.all(np.diff(t.samples_seen) > 0)
    ev = pd.read_csv(out / "evaluations.csv")
    during = ev[ev.kind == "during-training"]
    assert during.samples_seen.is_unique and during.samples_seen.is_monotonic_increasing
    assert during.samples_seen.iloc[-1] == cfg["n_train"] and len(during) >= 3
    assert (during.split == "unused-train").all() and (during.n_samples == 40).all()


def test_raster_shows_one_presentation_at_the_initial_intensity(tiny_run):
    """The raster is recorded at intensity 2 even though training ended in padding
    windows that raised the intensity."""
    from bioplastic.runs import load_run

    run = load_run(tiny_run)
    r = run.raster
    image = run.test_counts["images"][int(r["sample_index"])].astype(float)
    expected = image.sum() / 8.0 * 2 * 0.350  # pixel/8 Hz x intensity 2 x 350 ms
    n = len(r["input_i"])
    assert abs(n - expected) < 5 * np.sqrt(expected), (n, expected)
    assert r["input_t_ms"].max() < 350.0


def test_layer_by_layer_run_keeps_the_hidden_layer_and_trains_the_label_pathway(tiny_run, tmp_path):
    """--hidden-from: the other run's input weights and theta stay exactly as they were, the
    label pathway learns; a run that does not match (another seed) is refused, nothing written."""
    import numpy as np

    from bioplastic.runs import load_npz, read_json

    out = tmp_path / "labels-only"
    base = [sys.executable, str(ROOT / "protocols" / "supervised_mnist.py"), "--n-hidden", "40",
            "--n-train", "200", "--n-test", "100", "--chunk-size", "100", "--data-dir", str(data_dir()),
            "--quiet", "--hidden-from", str(tiny_run)]
    proc = subprocess.run(base + ["--seed", "3", "--out", str(out)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    src, new = load_npz(tiny_run / "weights.npz"), load_npz(out / "weights.npz")
    np.testing.assert_array_equal(new["w_input_hidden"], src["w_input_hidden"])
    np.testing.assert_array_equal(new["theta_mV"], src["theta_mV"])
    # the label pathway learned: scaled to its target and not the source's weights
    assert not np.array_equal(new["w_hidden_label"], src["w_hidden_label"])
    assert read_json(out / "run.json")["config"]["hidden_from"] == str(tiny_run)
    assert 0 <= read_json(out / "metrics.json")["test_accuracy_supervised"] <= 1

    refused = tmp_path / "refused"
    proc = subprocess.run(base + ["--seed", "4", "--out", str(refused)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert "seed 3 there, 4 here" in proc.stderr and "Traceback" not in proc.stderr
    assert not (refused / "run.json").exists()
