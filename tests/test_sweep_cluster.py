"""The sweep runner on real Dask clusters: a LocalCluster of 2 worker processes, and a scheduler and
workers started as separate processes (by address); a worker killed mid-cell and a Ctrl-C both end,
after the rerun, with every cell done once and nothing lost."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import data_dir, requires_data

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT),
               BIOPLASTIC_DATA=str(Path(data_dir()).resolve()) if data_dir() else "",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("BIOPLASTIC_CHECK_OPTIONS", None)
    return env


def _sweep(spec, out, *extra, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "bioplastic.sweep", str(spec), "--out", str(out), *extra],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _attempts(out, cell):
    """The attempt lines of a cell's log: [(worker pid, resumed?)]."""
    text = (Path(out) / "logs" / f"{cell}.log").read_text()
    return [(int(pid), line.endswith("--resume"))
            for line in text.splitlines() if line.startswith("[sweep]")
            for pid in re.findall(r"worker pid (\d+):", line)]


@requires_data
@pytest.mark.standalone
def test_symstdp_sweep_on_a_local_cluster(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text('protocol = "supervised_mnist"\nmetric = "test_accuracy_supervised"\n'
                    '[fixed]\nn-hidden = 10\nn-test = 50\neval-every = 0\nchunk-size = 50\n'
                    '[grid]\nn-train = [100, 150]\nseed = [0, 1]\n')
    out = tmp_path / "sweep"
    env = _env(tmp_path)
    proc = _sweep(spec, out, "--workers", "2", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "4 to run on 2 Dask workers (LocalCluster)" in proc.stdout
    table = pd.read_csv(out / "results.csv")
    assert sorted(set(table["cell"])) == ["n-train=100_seed=0", "n-train=100_seed=1",
                                          "n-train=150_seed=0", "n-train=150_seed=1"]
    acc = table[table["metric"] == "test_accuracy_supervised"]
    assert len(acc) == 4 and acc["value"].between(0, 1).all()
    summary = pd.read_csv(out / "summary.csv")
    assert summary["n-train"].tolist() == [100, 150] and summary["n"].tolist() == [2, 2]
    assert (out / "figure.png").exists()
    # each cell is an ordinary run directory of the protocol, made once
    for cell in set(table["cell"]):
        assert (out / "cells" / cell / "run.json").exists() and len(_attempts(out, cell)) == 1
    # a rerun finds every cell finished; another grid on the same directory is refused
    again = _sweep(spec, out, "--workers", "2", env=env)
    assert again.returncode == 0 and "4 cells: 4 finished, 0 to run" in again.stdout
    spec.write_text(spec.read_text().replace("seed = [0, 1]", "seed = [0, 1, 2]"))
    refused = _sweep(spec, out, env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "holds a sweep with a different definition (differs in: grid.seed)" in refused.stderr


def _surrogate_spec(tmp_path, epochs, seeds=(0, 1)):
    spec = tmp_path / "surrogate.toml"
    spec.write_text('protocol = "surrogate_randman"\n'
                    f'[fixed]\nepochs = {epochs}\nn-samples = 60\nn-hidden = 20\nquiet = true\n'
                    f'[grid]\nsurrogate = ["superspike", "esser"]\nseed = {list(seeds)}\n')
    return spec


def _epochs_done(out):
    return {d.name: len(pd.read_csv(d / "epochs.csv")) if (d / "epochs.csv").exists() else 0
            for d in (Path(out) / "cells").glob("*")}


@pytest.mark.gradient
def test_surrogate_sweep_on_a_local_cluster(tmp_path):
    out = tmp_path / "sweep"
    proc = _sweep(_surrogate_spec(tmp_path, epochs=2), out, "--workers", "2", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = pd.read_csv(out / "results.csv")
    assert len(set(table["cell"])) == 4
    summary = pd.read_csv(out / "summary.csv")
    assert summary["metric"].unique().tolist() == ["test_accuracy"]
    assert sorted(summary["surrogate"]) == ["esser", "superspike"] and summary["n"].tolist() == [2, 2]
    assert _epochs_done(out) == {c: 2 for c in set(table["cell"])}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.gradient
def test_a_worker_killed_mid_cell_loses_nothing(tmp_path):
    """Scheduler and 2 workers as separate processes; the sweep runs by address; one worker is killed
    (SIGKILL) while its cell trains: the cell is retried and resumes from its checkpoint."""
    env = _env(tmp_path)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--nworkers", "1"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = tmp_path / "sweep"
        spec = _surrogate_spec(tmp_path, epochs=40, seeds=(0,))
        sweep = subprocess.Popen([sys.executable, "-m", "bioplastic.sweep", str(spec), "--out", str(out),
                                  "--scheduler", address], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        victim = "surrogate=superspike_seed=0"
        _wait_for(lambda: _epochs_done(out).get(victim, 0) >= 3, 180, "the first cell's third epoch")
        worker_pid = _attempts(out, victim)[0][0]
        os.kill(worker_pid, signal.SIGKILL)
        stdout, _ = sweep.communicate(timeout=400)
        assert sweep.returncode == 0, stdout[-3000:]
        assert "scheduler " + address in stdout
        attempts = _attempts(out, victim)
        assert len(attempts) == 2 and attempts[1][1] and attempts[1][0] != worker_pid, attempts
        epochs = pd.read_csv(out / "cells" / victim / "epochs.csv")
        assert epochs["epoch"].tolist() == list(range(1, 41))          # each epoch once, none lost
        other = "surrogate=esser_seed=0"
        assert len(_attempts(out, other)) == 1
        assert set(pd.read_csv(out / "results.csv")["cell"]) == {victim, other}
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
@pytest.mark.gradient
def test_ctrl_c_then_rerun_finishes_every_cell_once(tmp_path):
    env = _env(tmp_path)
    out = tmp_path / "sweep"
    spec = _surrogate_spec(tmp_path, epochs=40)
    sweep = subprocess.Popen([sys.executable, "-m", "bioplastic.sweep", str(spec), "--out", str(out),
                              "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    _wait_for(lambda: sum(n >= 2 for n in _epochs_done(out).values()) >= 2, 180, "two cells training")
    os.killpg(sweep.pid, signal.SIGINT)          # Ctrl-C reaches the whole process group
    stdout, _ = sweep.communicate(timeout=180)
    assert sweep.returncode == 130, stdout[-3000:]
    assert "run the same command again to continue" in stdout
    partial = _epochs_done(out)
    assert any(0 < n < 40 for n in partial.values()), partial
    rerun = _sweep(spec, out, "--workers", "2", env=env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    for cell in partial:
        epochs = pd.read_csv(out / "cells" / cell / "epochs.csv")
        assert epochs["epoch"].tolist() == list(range(1, 41)), cell
    assert len(set(pd.read_csv(out / "results.csv")["cell"])) == 4


@requires_data
@pytest.mark.gradient
@pytest.mark.parametrize("spec_text, cells", [
    ('protocol = "adaptive_scaling_robustness"\n[fixed]\nepochs = 1\nn-train-per-class = 20\n'
     'n-test-per-class = 10\nn-hidden = 20\nperturbations = ["event_dropout"]\n[grid]\nseeds = [0, 1]\n',
     ["seeds=0", "seeds=1"]),
    ('protocol = "ttfs_mnist"\n[fixed]\nhidden = [8]\nepochs = 1\nn-train = 100\nn-validation = 50\n'
     'n-test = 100\n[zip]\nregularizer = ["none", "m-ssr"]\ngamma = [0.0, 0.01]\n',
     ["regularizer=none_gamma=0.0", "regularizer=m-ssr_gamma=0.01"]),
])
def test_the_other_families_run_on_the_runner(tmp_path, spec_text, cells):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text)
    out = tmp_path / "sweep"
    proc = _sweep(spec, out, "--workers", "1", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(set(pd.read_csv(out / "results.csv")["cell"])) == sorted(cells)
    assert pd.read_csv(out / "summary.csv")["n"].sum() >= 1
