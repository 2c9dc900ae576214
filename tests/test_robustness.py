"""What a user gets wrong with a long run, and the evaluation schedule (issue 10).

Most tests drive :func:`bioplastic.symstdp.experiment.run_supervised` with a small
stand-in for the simulator (:class:`FakeEngine`: same interface as
:class:`bioplastic.symstdp.device.engine.Engine`, deterministic toy dynamics, fast), so that
interruptions, full disks and NaN states can be produced exactly where they
matter.  The command-line tests call the protocol script and stop before
any simulation.  ``tests/test_protocol.py`` interrupts a real compiled run
(kill -9, then Ctrl-C) and checks that resuming it gives the uninterrupted
run's weights bit for bit.
"""

import errno
import json
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, data_dir, requires_data

PROTOCOL = str(ROOT / "protocols" / "supervised_mnist.py")


# --------------------------------------------------------------------------
# a stand-in for the simulator
# --------------------------------------------------------------------------

class FakeEngine:
    """The Engine interface with toy dynamics (no Brian2 run, no compilation).

    Every window shows one sample and accepts it.  Hidden counts come from
    the rates and the weights; learning nudges the weights (Hebbian) and
    theta, so the state depends on every sample learned and on their order.
    Class attributes steer a test: ``log`` collects ``(learning, n_valid)``
    per chunk; ``hook(engine, i_call, learning)`` runs before each chunk.
    """

    log = []
    hook = None

    def __init__(self, params, device="runtime", chunk_size=100, threads=1, float32=False,
                 inhibition="pooled", seed=0, verbose=True, **kw):
        from brian2 import volt
        from brian2.units.fundamentalunits import DIMENSIONLESS

        def group(name, var, dim):
            return SimpleNamespace(name=name, variables={var: SimpleNamespace(dim=dim)})

        self.params = params
        self.chunk_size = int(chunk_size)
        self.build_seconds = 0.0
        self.model = SimpleNamespace(
            input_hidden=group("input_hidden", "w", DIMENSIONLESS),
            hidden_label=group("hidden_label", "w", DIMENSIONLESS),
            excitatory=group("excitatory", "theta", volt.dim),
            controller=group("controller", "intensity", DIMENSIONLESS),
        )
        from bioplastic.symstdp.network import state_key

        m = self.model
        self.k_ih, self.k_hl = state_key(m.input_hidden, "w"), state_key(m.hidden_label, "w")
        self.k_th, self.k_int = state_key(m.excitatory, "theta"), state_key(m.controller, "intensity")
        rng = np.random.default_rng(seed)
        n = params.n_hidden
        self._initial = {self.k_ih: rng.uniform(0, 0.3, 784 * n), self.k_hl: rng.uniform(0, 0.3, n * 10),
                         self.k_th: np.zeros(n), self.k_int: np.array([2.0])}

    def initial_state(self):
        return {k: v.copy() for k, v in self._initial.items()}

    def run_chunk(self, state, rates_hz, labels, learning, seed):
        from bioplastic.symstdp.device.engine import ChunkResult

        i_call = len(FakeEngine.log)
        n_valid = int((np.asarray(labels) >= 0).sum())
        FakeEngine.log.append((bool(learning), n_valid))
        if FakeEngine.hook is not None:
            FakeEngine.hook(self, i_call, learning)
        n, K = self.params.n_hidden, self.chunk_size
        state = {k: np.array(v, copy=True) for k, v in state.items()}
        w = state[self.k_ih].reshape(784, n)
        drive = rates_hz @ w / 50.0 - 1e3 * state[self.k_th][None, :]
        hidden = np.floor(np.clip(drive, 0, 50)).astype(np.int64)
        label = np.floor(np.clip(hidden @ state[self.k_hl].reshape(n, 10), 0, 50)).astype(np.int64)
        if learning:
            winners = np.argmax(drive, axis=1)
            for r, j, lab in zip(rates_hz[:n_valid], winners[:n_valid], labels[:n_valid]):
                w[:, j] = np.clip(w[:, j] + 1e-3 * (r / 64.0 - w[:, j]), 0, 1)
                state[self.k_hl].reshape(n, 10)[j, lab] += 0.01
                state[self.k_th][j] += 1e-5
        state[self.k_int] = np.array([2.0])
        return state, ChunkResult(ptr=np.arange(K), intensity=np.full(K, 2.0), hidden_counts=hidden,
                                  label_counts=label, ptr_end=K, wall_seconds=1e-3)

    def close(self, delete_build=False):
        pass


@pytest.fixture
def fake_engine(monkeypatch):
    import bioplastic.symstdp.device.engine

    monkeypatch.setattr(bioplastic.symstdp.device.engine, "Engine", FakeEngine)
    FakeEngine.log = []
    FakeEngine.hook = None
    yield FakeEngine
    FakeEngine.hook = None


def _cfg(out, **kw):
    from bioplastic.symstdp.experiment import ExperimentConfig

    base = dict(n_hidden=10, n_train=250, n_test=40, chunk_size=100, seed=1, out=str(out),
                data_dir=str(data_dir()), eval_every=100, n_eval=30, verbose=False, device="runtime")
    base.update(kw)
    return ExperimentConfig(**base)


def _run(cfg, resume=False):
    from bioplastic.symstdp.experiment import run_supervised

    return run_supervised(cfg, resume=resume, command=["protocols/supervised_mnist.py", "--out", cfg.out])


def _weights(out):
    from bioplastic.runs import load_npz

    return load_npz(out / "weights.npz")


def _checkpoint_progress(out):
    from bioplastic.runs import load_npz

    return json.loads(str(load_npz(out / "checkpoint" / "checkpoint.npz")["progress_json"]))


# --------------------------------------------------------------------------
# accuracy during training
# --------------------------------------------------------------------------

@requires_data
def test_evaluations_regular_frozen_and_over_two_epochs(tmp_path, fake_engine):
    cfg = _cfg(tmp_path / "a", epochs=2, n_validation=100)
    _run(cfg)
    ev = pd.read_csv(tmp_path / "a" / "evaluations.csv")
    assert list(ev.columns) == ["samples_seen", "split", "accuracy_supervised", "accuracy_assignment",
                                "n_samples", "epoch", "kind", "wall_seconds"]
    during = ev[ev.kind == "during-training"]
    # chunks end at 100, 200, 250 | 350, 450, 500 samples: one evaluation per 100 samples
    # crossed, and one at the end of training
    assert list(during.samples_seen) == [100, 200, 350, 450, 500]
    assert (during.split == "validation").all() and (during.n_samples == 30).all()
    assert during.epoch.iloc[-1] == 2.0
    final = ev[ev.kind == "final"].set_index("split")
    assert final.loc["test", "n_samples"] == 40 and final.loc["validation", "n_samples"] == 100
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert final.loc["test", "accuracy_supervised"] == metrics["test_accuracy_supervised"]
    assert final.loc["validation", "accuracy_assignment"] == metrics["validation_accuracy_assignment"]
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["evaluation"] == {"every": 100, "n_samples": 30, "split": "validation",
                                    "source": "validation split"}
    # evaluation chunks run with learning off: 30 samples, one chunk each
    log = FakeEngine.log
    assert [n for learning, n in log if not learning].count(30) == 5
    # ... and leave the training state alone: the same run without evaluations ends identical
    FakeEngine.log = []
    _run(_cfg(tmp_path / "b", epochs=2, n_validation=100, eval_every=0))
    assert all(learning or n != 30 for learning, n in FakeEngine.log)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ev_b = pd.read_csv(tmp_path / "b" / "evaluations.csv")
    assert list(ev_b.kind) == ["final", "final"]


@requires_data
def test_resume_with_more_epochs_trains_on_and_a_complete_run_is_left_alone(tmp_path, fake_engine):
    from bioplastic.runs import RunError

    _run(_cfg(tmp_path / "straight", epochs=2))
    out = tmp_path / "run"
    _run(_cfg(out, epochs=1))
    first = json.loads((out / "metrics.json").read_text())
    _run(_cfg(out, epochs=2), resume=True)
    got, ref = _weights(out), _weights(tmp_path / "straight")
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    record = json.loads((out / "run.json").read_text())
    assert record["epochs"] == 2 and record["config"]["epochs"] == 2
    assert record["resumed"][0]["changed"] == {"epochs": {"from": 1, "to": 2}}
    ev = pd.read_csv(out / "evaluations.csv")
    finals = ev[ev.kind == "final"]
    assert list(finals.samples_seen) == [250, 500]  # the 1-epoch result is kept
    assert finals.accuracy_supervised.iloc[0] == first["test_accuracy_supervised"]
    assert ev[ev.kind == "during-training"].samples_seen.is_unique
    # resuming a complete run does nothing
    FakeEngine.log = []
    metrics = _run(_cfg(out, epochs=2), resume=True)
    assert FakeEngine.log == [] and metrics["n_train"] == 500
    with pytest.raises(RunError, match="already completed 2 epochs"):
        _run(_cfg(out, epochs=1), resume=True)


def test_evaluation_subset_source_and_automatic_spacing():
    from bioplastic.symstdp.experiment import _evaluation_subset, evaluation_every

    x = np.arange(200 * 4).reshape(200, 2, 2)
    y = np.arange(200) % 10
    data = dict(x_train=x, y_train=y, val_idx=np.array([], dtype=np.int64), unused_idx=np.arange(50, 120),
                x_test_all=x[:30], y_test_all=y[:30])
    cfg = SimpleNamespace(seed=0, n_eval=20)
    split, source, ex, ey, idx = _evaluation_subset(cfg, data)
    assert split == "unused-train" and "not train" in source
    assert len(idx) == 20 and set(idx) <= set(range(50, 120))
    np.testing.assert_array_equal(ex, x[idx])
    assert np.array_equal(_evaluation_subset(cfg, data)[4], idx)  # drawn once: same every time
    data["val_idx"] = np.arange(150, 160)
    split, source, _, ey, idx = _evaluation_subset(cfg, data)
    assert split == "validation" and list(idx) == list(range(150, 160))  # n_eval capped at the split
    data["val_idx"], data["unused_idx"] = data["val_idx"][:0], data["unused_idx"][:0]
    split, source, _, _, idx = _evaluation_subset(cfg, data)
    assert split == "test" and "do not tune" in source and set(idx) <= set(range(30))
    # ~10 evaluations, but at most 20 % overhead
    assert evaluation_every(600000, 1000) == 60000
    assert evaluation_every(60000, 1000) == 6000
    assert evaluation_every(2000, 1000) == 5000


# --------------------------------------------------------------------------
# interruption, full disk, NaN
# --------------------------------------------------------------------------

@requires_data
def test_sigint_mid_chunk_then_resume_learns_every_sample_once(tmp_path, fake_engine):
    from bioplastic.symstdp.experiment import RunInterrupted

    _run(_cfg(tmp_path / "ref", epochs=2))
    ref = _weights(tmp_path / "ref")

    out = tmp_path / "run"
    # what the process had before (SIG_IGN when started in the background by a shell)
    sigint_before = signal.getsignal(signal.SIGINT)

    def interrupt_third_training_chunk(engine, i_call, learning):
        if learning and sum(1 for lrn, _ in FakeEngine.log if lrn) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    FakeEngine.log, FakeEngine.hook = [], interrupt_third_training_chunk
    with pytest.raises(RunInterrupted) as info:
        _run(_cfg(out, epochs=2))
    msg = str(info.value)
    assert "200 samples learned" in msg and "intact" in msg and "--resume" in msg
    assert _checkpoint_progress(out)["samples_seen"] == 200
    assert not (out / "metrics.json").exists()
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))
    assert signal.getsignal(signal.SIGINT) is sigint_before  # handlers restored

    FakeEngine.hook = None
    _run(_cfg(out, epochs=2), resume=True)
    got = _weights(out)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    training = pd.read_csv(out / "training.csv")
    assert list(training.samples_seen) == [100, 200, 250, 350, 450, 500]
    ev = pd.read_csv(out / "evaluations.csv")
    assert ev.samples_seen[ev.kind == "during-training"].is_unique
    pd.testing.assert_frame_equal(ev.drop(columns="wall_seconds"),
                                  pd.read_csv(tmp_path / "ref" / "evaluations.csv").drop(columns="wall_seconds"))


@requires_data
def test_signal_while_writing_waits_for_the_checkpoint(tmp_path, fake_engine, monkeypatch):
    """A signal that arrives while a chunk is being written stops the run after the write."""
    from bioplastic import runs
    from bioplastic.symstdp.experiment import RunInterrupted

    real = runs.save_table
    calls = []

    def save_table_with_signal(path, df):
        calls.append(path)
        if path.name == "training.csv" and len(df) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(path, df)

    monkeypatch.setattr(runs, "save_table", save_table_with_signal)
    out = tmp_path / "run"
    with pytest.raises(RunInterrupted, match="200 samples learned"):
        _run(_cfg(out))
    assert _checkpoint_progress(out)["samples_seen"] == 200
    assert len(pd.read_csv(out / "training.csv")) == 2
    assert (out / "evaluations.csv").exists()  # written after the signal came


@requires_data
def test_disk_full_during_checkpoint_keeps_the_previous_one(tmp_path, fake_engine, monkeypatch):
    from bioplastic import runs
    from bioplastic.runs import RunError

    real = runs.np.savez  # checkpoints are written uncompressed
    n = []

    def fill_the_disk(file, **arrays):
        n.append(1)
        if len(n) == 2:
            file.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(file, **arrays)

    monkeypatch.setattr(runs.np, "savez", fill_the_disk)
    out = tmp_path / "run"
    with pytest.raises(RunError) as info:
        _run(_cfg(out))
    msg = str(info.value)
    assert "disk is full" in msg and "100 samples learned" in msg and "--resume" in msg
    assert "files of chunk 1" in msg
    assert _checkpoint_progress(out)["samples_seen"] == 100
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))
    monkeypatch.setattr(runs.np, "savez", real)
    _run(_cfg(out), resume=True)
    assert json.loads((out / "metrics.json").read_text())["n_train"] == 250


@requires_data
def test_nan_in_a_new_chunk_state_stops_before_anything_is_written(tmp_path, fake_engine):
    from bioplastic.symstdp.experiment import NonFiniteStateError

    def poison_second_chunk(engine, i_call, learning):
        if learning and sum(1 for lrn, _ in FakeEngine.log if lrn) == 2:
            engine.k_th_poison = True

    real_run = FakeEngine.run_chunk

    def run_chunk(self, *args):
        state, res = real_run(self, *args)
        if getattr(self, "k_th_poison", False):
            state[self.k_th][3] = np.nan
            self.k_th_poison = False
        return state, res

    FakeEngine.hook = poison_second_chunk
    FakeEngine.run_chunk = run_chunk
    try:
        out = tmp_path / "run"
        with pytest.raises(NonFiniteStateError) as info:
            _run(_cfg(out))
    finally:
        FakeEngine.run_chunk = real_run
    msg = str(info.value)
    assert "excitatory.theta" in msg and "1 of 10 values NaN" in msg and "100 samples learned" in msg
    assert _checkpoint_progress(out)["samples_seen"] == 100
    assert len(pd.read_csv(out / "training.csv")) == 1
    assert not (out / "train_counts" / "chunk_000001.npz").exists()


@requires_data
def test_resume_refuses_corrupt_or_foreign_checkpoints(tmp_path, fake_engine):
    from bioplastic.symstdp.experiment import NonFiniteStateError
    from bioplastic.runs import RunError, load_npz, save_npz

    out = tmp_path / "run"
    _run(_cfg(out))
    (out / "metrics.json").unlink()
    ckpt = out / "checkpoint" / "checkpoint.npz"
    good = load_npz(ckpt)
    bad = dict(good)
    key = next(k for k in bad if k.startswith("state/input_hidden.w"))
    bad[key] = bad[key].copy()
    bad[key][:5] = np.inf
    save_npz(ckpt, compress=False, **bad)
    with pytest.raises(NonFiniteStateError, match=r"corrupt: input_hidden\.w \(5 of 7840"):
        _run(_cfg(out), resume=True)
    # a checkpoint of another model version (a state variable it does not have)
    del bad[key]
    save_npz(ckpt, compress=False, **bad)
    with pytest.raises(RunError, match=r"does not fit.*lacks input_hidden\.w"):
        _run(_cfg(out), resume=True)
    # the recorded parameters differ from what this code builds
    save_npz(ckpt, compress=False, **good)
    record = json.loads((out / "run.json").read_text())
    record["params"]["excitatory"]["tau_m"] = "50. ms"
    (out / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match=r"excitatory\.tau_m \(recorded '50. ms', now '100. ms'\)"):
        _run(_cfg(out), resume=True)
    # a run recorded before the evaluation options existed still resumes
    record["params"]["excitatory"]["tau_m"] = "100. ms"
    for k in ("eval_every", "n_eval"):
        del record["config"][k]
    (out / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="eval_every"):  # recorded default (auto) != 100
        _run(_cfg(out), resume=True)
    _run(_cfg(out, eval_every=None, n_eval=1000), resume=True)
    assert (out / "metrics.json").exists()


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------

def _cli(args, **kw):
    return subprocess.run([sys.executable, PROTOCOL, *args], capture_output=True, text=True,
                          timeout=600, **kw)


def test_bad_param_exits_2_like_other_argument_errors(tmp_path):
    r = _cli(["--out", str(tmp_path / "r"), "--param", "nonsense"])
    assert r.returncode == 2, r.stderr
    assert "argument --param" in r.stderr and "TABLE.FIELD=VALUE" in r.stderr and "usage:" in r.stderr
    assert not (tmp_path / "r").exists()
    r = _cli(["--out", str(tmp_path / "r"), "--eval-every", "-3"])
    assert r.returncode == 2 and "argument --eval-every" in r.stderr
    r = _cli(["--resume"])
    assert r.returncode == 2 and "--resume needs --out" in r.stderr


@requires_data
def test_unknown_param_field_exits_2_before_creating_the_run(tmp_path):
    r = _cli(["--out", str(tmp_path / "r"), "--param", "excitatory.nonsense=3*ms",
              "--data-dir", str(data_dir())])
    assert r.returncode == 2 and "nonsense" in r.stderr, r.stderr
    assert not (tmp_path / "r").exists()


@requires_data
def test_explicit_missing_data_dir_is_an_error_even_with_the_env_var(tmp_path):
    env = dict(os.environ, BIOPLASTIC_DATA=str(data_dir()))
    missing = tmp_path / "nonexistent"
    r = _cli(["--out", str(tmp_path / "r"), "--n-train", "10", "--n-test", "10", "--data-dir", str(missing)],
             env=env)
    assert r.returncode == 2, r.stderr
    assert str(missing) in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


@requires_data
def test_second_run_on_the_same_out_is_refused(tmp_path):
    from bioplastic.runs import lock_run_directory

    out = tmp_path / "run"
    out.mkdir()
    with lock_run_directory(out):  # as a running protocol holds it
        r = _cli(["--out", str(out), "--n-train", "10", "--n-test", "10", "--data-dir", str(data_dir())])
    assert r.returncode == 2, r.stderr
    assert "in use by another process" in r.stderr and f"pid {os.getpid()}" in r.stderr
    assert os.listdir(out) == ["run.lock"]


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    r = _cli(["--out", str(tmp_path / "f"), "--n-train", "10"])
    assert r.returncode == 2 and "not a directory" in r.stderr
