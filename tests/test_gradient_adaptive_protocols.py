"""Perturbations, continual-learning pieces and the two adaptive-scaling protocols (tiny runs)."""

import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bioplastic.gradient.adaptive.continual import (  # noqa: E402
    EWC,
    SPLIT_MNIST,
    Replay,
    average_accuracy,
    check_task_split,
    forgetting,
    masked_loss,
    task_data,
    train_sequentially,
)
from bioplastic.gradient.adaptive.network import AdaptiveScalingNetwork  # noqa: E402
from bioplastic.gradient.adaptive.robustness import (  # noqa: E402
    check_perturbation,
    perturb_inputs,
    perturbed_accuracy,
    weight_noise,
)
from bioplastic.gradient.lif import LIFParams, MaxOverTimeLoss  # noqa: E402

from conftest import ROOT, data_dir, requires_data  # noqa: E402

pytestmark = pytest.mark.gradient

classification_loss = MaxOverTimeLoss()


def _model(n_in=12, n_out=10, seed=0, init_gain=8.0, n_hidden=16):
    """A small network whose hidden layer spikes on sparse input (so that gradients are not all zero)."""
    return AdaptiveScalingNetwork(LIFParams(n_in=n_in, n_hidden=n_hidden, n_out=n_out, nb_steps=20),
                                  init_gain=init_gain, generator=torch.Generator().manual_seed(seed))


def test_perturbation_names_and_ranges():
    assert check_perturbation("event_noise", [0, 0.5, 1]) == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="unknown perturbation 'salt'; known: event_dropout, event_noise, weight_noise"):
        check_perturbation("salt", 0.1)
    with pytest.raises(ValueError, match="event_dropout strength 1.5 is out of range \\[0.0, 1.0\\]"):
        check_perturbation("event_dropout", [0.1, 1.5])
    with pytest.raises(ValueError, match="weight_noise strength -0.1 is out of range"):
        check_perturbation("weight_noise", -0.1)
    with pytest.raises(ValueError, match="out of range"):
        check_perturbation("event_noise", float("nan"))
    with pytest.raises(ValueError, match="must be a number"):
        check_perturbation("event_noise", ["a lot"])


def test_perturb_inputs_and_weight_noise_restores_weights():
    rng = np.random.default_rng(0)
    x = (rng.random((4, 20, 12)) < 0.2).astype(np.float32)
    assert np.array_equal(perturb_inputs(x, "weight_noise", 0.5, rng), x)
    noisy = perturb_inputs(x, "event_noise", 0.3, np.random.default_rng(1))
    assert noisy.dtype == np.float32 and np.all(noisy >= x) and noisy.sum() > x.sum()
    assert np.all(perturb_inputs(x, "event_dropout", 0.5, rng) <= x)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with weight_noise(model, 0.5, torch.Generator().manual_seed(0)):
        assert not torch.equal(model.net.w_in, before["net.w_in"])
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    y = rng.integers(0, 10, 4)
    a = perturbed_accuracy(model, classification_loss, x, y, "weight_noise", 0.3, seed=2)
    assert a == perturbed_accuracy(model, classification_loss, x, y, "weight_noise", 0.3, seed=2)


def test_task_split_must_be_a_partition():
    assert check_task_split(SPLIT_MNIST) == SPLIT_MNIST
    assert check_task_split([[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]]) == ((0, 1, 2), (3, 4, 5, 6, 7, 8, 9))
    with pytest.raises(ValueError, match="classes \\[1\\] appear more than once; classes \\[9\\] are in no task"):
        check_task_split([(0, 1), (1, 2), (3, 4), (5, 6), (7, 8)])
    with pytest.raises(ValueError, match="classes \\[10\\] are not in 0..9"):
        check_task_split([(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)])
    with pytest.raises(ValueError, match="task\\(s\\) 1 are empty"):
        check_task_split([tuple(range(10)), ()])
    with pytest.raises(ValueError, match="the task split is empty"):
        check_task_split([])


def test_replay_memory_and_per_sample_task_masks():
    x = torch.arange(40, dtype=torch.float32).reshape(20, 1, 2).expand(20, 20, 2).contiguous()
    y = torch.tensor([0, 1] * 10)
    replay = Replay(n_per_class=3, seed=0)
    assert replay.mix(x, y)[0] is x  # empty memory
    replay.add(x, y)
    xm, ym = replay.mix(x[:2], y[:2])
    assert len(ym) == 2 + 6 and torch.equal(torch.bincount(ym[2:]), torch.tensor([3, 3]))
    assert all(any(torch.equal(row, xr) for xr in x) for row in xm[2:])  # stored samples are real samples
    with pytest.raises(ValueError, match="positive integer"):
        Replay(0)
    # task-incremental with a task split: each sample is scored among its own task's classes
    model = _model(n_in=2)
    labels = torch.tensor([0, 1, 2, 3, 8, 9])
    res = masked_loss(SPLIT_MNIST)(model, x[:6], labels)
    for label, pred in zip(labels.tolist(), res.predictions.tolist()):
        assert pred // 2 == label // 2


def test_metrics_by_hand():
    acc = np.array([[0.9, 0.1, 0.0],
                    [0.6, 0.8, 0.2],
                    [0.3, 0.7, 1.0]])
    assert np.allclose(average_accuracy(acc), [0.9, 0.7, 2.0 / 3.0])
    f = forgetting(acc)
    assert np.isnan(f[0])
    assert f[1] == pytest.approx(0.3)  # task 0: 0.9 -> 0.6
    assert f[2] == pytest.approx(((0.9 - 0.3) + (0.8 - 0.7)) / 2)


def test_task_incremental_masking_and_ewc_penalty():
    model = _model()
    x = torch.rand(6, 20, 12).lt(0.3).float()
    y = torch.tensor([2, 3, 2, 3, 2, 3])
    res = masked_loss((2, 3))(model, x, y)
    assert set(res.predictions.tolist()) <= {2, 3}
    ewc = EWC(strength=10.0)
    assert float(ewc.penalty(model)) == 0.0
    with torch.no_grad():  # positive readout weights: the max-over-time logits depend on them
        model.net.w_out.abs_()
    assert model(x).spikes.sum() > 0
    ewc.consolidate(model, masked_loss((2, 3)), x, y)
    assert float(ewc.penalty(model)) == 0.0  # at the anchor
    with torch.no_grad():
        model.net.w_out.add_(0.1)
    assert float(ewc.penalty(model)) > 0.0
    assert all(torch.all(f >= 0) for f in ewc.fisher.values())
    with pytest.raises(ValueError, match="EWC strength"):
        EWC(strength=-1)


@pytest.mark.slow
def test_train_sequentially_on_separable_tasks():
    """Five tasks of two classes, each class its own input group: the tasks are learnt when trained."""
    gen = torch.Generator().manual_seed(0)
    n, n_in = 200, 40
    y = torch.arange(n) % 10
    x = (torch.rand(n, 20, n_in, generator=gen) < 0.03).float()
    for c in range(10):
        x[y == c, :, 4 * c:4 * c + 4] = (torch.rand(int((y == c).sum()), 20, 4, generator=gen) < 0.5).float()
    model = _model(n_in=n_in, init_gain=4.0, n_hidden=60)
    acc, records = train_sequentially(model, x, y, x, y, scenario="task", epochs=4, lr=1e-2, batch_size=20)
    assert acc.shape == (5, 5) and len(records) == 25
    assert acc[0, 0] >= 0.9 and np.diag(acc).mean() >= 0.8  # (a tiny net may miss a task's inputs)
    with pytest.raises(ValueError, match="scenario must be one of"):
        train_sequentially(model, x, y, x, y, scenario="domain")
    xt, yt = task_data(x, y, (4, 5))
    assert set(yt.tolist()) == {4, 5} and len(xt) == 40


def _protocol(name):
    """Import a protocol script as a module (in-process: no second start of torch and Brian2)."""
    import importlib

    sys.path.insert(0, str(ROOT / "protocols"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "protocols"))


TINY = ["--n-train-per-class", "10", "--n-test-per-class", "5", "--n-steps", "10", "--n-hidden", "16",
        "--epochs", "1", "--seeds", "0", "--quiet"]


@requires_data
def test_robustness_protocol_tiny(tmp_path, capsys):
    import pandas as pd

    robustness = _protocol("adaptive_scaling_robustness")
    out = tmp_path / "robust"
    args = TINY + ["--out", str(out), "--strengths", "0", "0.2", "--data-dir", str(data_dir())]
    assert robustness.main(args) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and record["seeds"] == [0]
    assert record["setup"]["scaling"]["status"] == "a reading of the abstract (hypothesis)"
    assert record["format_version"] == 1 and record["family"] == "adaptive"
    assert record["protocol"] == "adaptive_scaling_robustness" and record["config"]["n_hidden"] == 16
    table = pd.read_csv(out / "robustness.csv")
    assert set(table["model"]) == {"plain", "scaling"}
    assert set(table["perturbation"]) == {"event_noise", "event_dropout", "weight_noise"}
    assert len(table) == 2 * 3 * 2 and table["accuracy"].between(0, 1).all()
    from bioplastic.runs import load_run

    loaded = load_run(out)
    assert loaded.family == "adaptive" and 0 <= loaded.metrics["test_accuracy_scaling"] <= 1
    assert len(loaded.table("robustness")) == len(table)
    assert len(pd.read_csv(out / "summary.csv")) == 2 * 3 * 2
    # the trained networks, loaded: each gives the clean accuracy its cell recorded
    import argparse

    import bioplastic
    from bioplastic.gradient.adaptive import experiment as common

    models = bioplastic.load(out)
    assert sorted(models) == ["seed0-plain", "seed0-scaling"]
    _, _, x_test, y_test = common.load_data(argparse.Namespace(**record["config"]), lambda text: None)
    for name, net in models.items():
        with torch.no_grad():
            predicted = net(torch.as_tensor(x_test)).logits.argmax(1).numpy()
        clean = table[(table["model"] == name.split("-")[1]) & (table["strength"] == 0)
                      & (table["perturbation"] == "event_noise")]["accuracy"].item()
        assert (predicted == y_test).mean() == pytest.approx(clean, abs=1e-12)
    for bad, message in ((["--perturbations", "salt"], "unknown perturbation 'salt'"),
                         (["--perturbations", "event_dropout", "--strengths", "1.5"], "out of range")):
        with pytest.raises(SystemExit) as exc:
            robustness.main(TINY + ["--out", str(tmp_path / "bad")] + bad)
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # nothing written


@requires_data
def test_continual_protocol_tiny(tmp_path, monkeypatch, capsys):
    import pandas as pd

    continual = _protocol("adaptive_scaling_continual")
    out = tmp_path / "continual"
    assert continual.main(TINY + ["--out", str(out), "--data-dir", str(data_dir())]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["method"]) == {"plain", "scaling", "ewc", "replay"}
    assert set(summary["scenario"]) == {"task", "class"}
    assert len(summary) == 4 * 2 * 5
    acc = pd.read_csv(out / "accuracy.csv")
    assert len(acc) == 4 * 2 * 5 * 5
    # a lost cell (its cell.json deleted) is the only one run again, with the same result
    (out / "cells" / "seed0-class-ewc" / "cell.json").unlink()
    ran = _count_cells(monkeypatch, "continual_cell")
    assert continual.main(TINY + ["--out", str(out), "--data-dir", str(data_dir()), "--resume"]) == 0
    assert ran == ["seed0-class-ewc"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary)
    pd.testing.assert_frame_equal(pd.read_csv(out / "accuracy.csv"), acc)
    with pytest.raises(SystemExit) as exc:
        continual.main(TINY + ["--out", str(tmp_path / "bad"), "--tasks", "0,1/1,2/3,4/5,6/7,8"])
    assert exc.value.code == 2 and "not a partition" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_silent_readout_steps_and_live_logits():
    """The readout is 0 for the first SILENT_READOUT_STEPS steps whatever the weights; the masked loss skips them."""
    from bioplastic.gradient.adaptive.continual import SILENT_READOUT_STEPS

    model = _model(init_gain=20.0)
    x = torch.ones(2, 20, 12)
    out = model(x)
    assert torch.all(out.readout[:, :SILENT_READOUT_STEPS] == 0)
    assert torch.any(out.readout[:, SILENT_READOUT_STEPS] != 0)
    with torch.no_grad():
        model.net.w_out.copy_(-model.net.w_out.abs())  # every readout negative: max-over-time logits stuck at 0
    y = torch.tensor([4, 5])
    res = masked_loss((4, 5), readout="max")(model, x, y)
    assert torch.all(model(x).logits == 0)  # the network's own logits are dead here
    res.loss.backward()
    assert model.net.w_out.grad[:, 4:6].abs().sum() > 0  # the masked loss's are not
    model.zero_grad()
    masked_loss((4, 5))(model, x, y).loss.backward()  # mean readout (default)
    assert model.net.w_out.grad[:, 4:6].abs().sum() > 0
    with pytest.raises(ValueError, match="readout must be one of"):
        masked_loss(readout="last")


# ---------------------------------------------------------------- stopping and resuming

def _count_cells(monkeypatch, name, stop_after=None):
    """Wrap studies.<name>: record the cells it runs; Ctrl-C (KeyboardInterrupt) after *stop_after* of them."""
    from bioplastic.gradient.adaptive import studies

    ran = []
    real = getattr(studies, name)

    def run_cell(args, cell, *rest, **kw):
        if stop_after is not None and len(ran) >= stop_after:
            raise KeyboardInterrupt
        ran.append(cell["name"])
        return real(args, cell, *rest, **kw)

    monkeypatch.setattr(studies, name, run_cell)
    return ran


def test_homeostasis_interrupted_and_resumed(tmp_path, monkeypatch, capsys):
    """Ctrl-C after the first cell keeps it; --resume runs only the others; the result equals an uninterrupted run."""
    import pandas as pd

    homeostasis = _protocol("adaptive_scaling_homeostasis")
    from bioplastic.gradient.adaptive import experiment as common
    args = ["--n-steps", "40", "--n-trials", "2", "--n-in", "20", "--n-hidden", "10", "--seeds", "0", "1", "--quiet"]
    assert homeostasis.main(args + ["--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "hom"
    written, real_write = [], common.write_cell

    def write_then_stop(out_, cell, tables, seconds):
        real_write(out_, cell, tables, seconds)
        written.append(cell["name"])
        raise KeyboardInterrupt  # as if Ctrl-C came right after the first cell was written

    monkeypatch.setattr(common, "write_cell", write_then_stop)
    assert homeostasis.main(args + ["--out", str(out)]) == common.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert f"interrupted: 1 of 4 cells finished, kept in {out}. Continue with:\n  python " in err
    assert err.rstrip().endswith("adaptive_scaling_homeostasis.py " + " ".join(args) + f" --out {out} --resume")
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert written == ["seed0-plain"] and not (out / "summary.csv").exists()
    assert set(pd.read_csv(out / "rates.csv")["model"]) == {"plain"}
    first = (out / "cells" / "seed0-plain" / "rates.csv").read_bytes()

    written.clear()
    monkeypatch.setattr(common, "write_cell", lambda o, cell, t, s: (written.append(cell["name"]), real_write(o, cell, t, s)))
    assert homeostasis.main(args + ["--out", str(out), "--resume"]) == 0
    assert written == ["seed0-scaling", "seed1-plain", "seed1-scaling"]  # only the missing cells
    assert (out / "cells" / "seed0-plain" / "rates.csv").read_bytes() == first
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and len(record["resumed"]) == 1
    pd.testing.assert_frame_equal(pd.read_csv(out / "rates.csv"), pd.read_csv(tmp_path / "whole" / "rates.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), pd.read_csv(tmp_path / "whole" / "summary.csv"))
    written.clear()
    assert homeostasis.main(args + ["--out", str(out), "--resume"]) == 0  # complete: nothing runs
    assert written == []


def test_resume_refuses_other_options_and_misuse(tmp_path, capsys):
    homeostasis = _protocol("adaptive_scaling_homeostasis")
    args = ["--n-steps", "40", "--n-trials", "2", "--n-in", "20", "--n-hidden", "10", "--seeds", "0", "--quiet"]
    out = tmp_path / "hom"
    assert homeostasis.main(args + ["--out", str(out)]) == 0
    capsys.readouterr()
    assert homeostasis.main(args + ["--out", str(out), "--resume", "--n-trials", "3", "--eta", "0.5"]) == 2
    err = capsys.readouterr().err
    assert (f"cannot resume {out}: options differ from the recorded run: --eta (recorded 0.2, now 0.5); "
            "--n-trials (recorded 2, now 3)") in err
    assert homeostasis.main(args + ["--out", str(out)]) == 2  # no --resume on an existing run
    assert "already holds a run; pass --resume to continue it" in capsys.readouterr().err
    assert homeostasis.main(args + ["--out", str(tmp_path / "none"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "does not exist (start the run without --resume)" in err
    with pytest.raises(SystemExit) as exc:
        homeostasis.main(args + ["--resume"])
    assert exc.value.code == 2 and "--resume needs --out" in capsys.readouterr().err
    from bioplastic.runs import lock_run_directory

    with lock_run_directory(out):  # as if another process were running it
        assert homeostasis.main(args + ["--out", str(out), "--resume"]) == 2
    assert "is in use by another process" in capsys.readouterr().err
    robustness = _protocol("adaptive_scaling_robustness")  # a run of another protocol is not resumed
    assert robustness.main(TINY + ["--out", str(out), "--resume"]) == 2
    assert "holds no resumable adaptive_scaling_robustness run" in capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"  # untouched


@requires_data
def test_robustness_interrupted_in_a_cell_resumes_it(tmp_path, monkeypatch, capsys):
    """Ctrl-C in the second cell after its training: --resume reruns only that cell, from its epoch checkpoint."""
    import pandas as pd

    robustness = _protocol("adaptive_scaling_robustness")
    from bioplastic.gradient.adaptive import experiment as common
    out = tmp_path / "robust"
    args = TINY + ["--out", str(out), "--perturbations", "event_dropout", "--strengths", "0", "0.5",
                   "--data-dir", str(data_dir())]
    from bioplastic.gradient.adaptive import studies

    ran = []
    real = studies.robustness_cell

    def run_cell(a, cell, *rest):
        ran.append(cell["name"])
        result = real(a, cell, *rest)
        if len(ran) == 2:
            raise KeyboardInterrupt  # trained and tested, but not yet written
        return result

    monkeypatch.setattr(studies, "robustness_cell", run_cell)
    assert robustness.main(args) == common.EXIT_INTERRUPTED
    assert "interrupted: 1 of 2 cells finished" in capsys.readouterr().err
    assert (out / "models" / "seed0-scaling" / "checkpoint.npz").exists()
    assert not (out / "cells" / "seed0-scaling").exists()
    checkpoint = out / "models" / "seed0-scaling" / "checkpoint.npz"
    stamp = checkpoint.stat().st_mtime_ns
    ran.clear()
    assert robustness.main(args + ["--resume"]) == 0
    assert ran == ["seed0-scaling"]
    assert checkpoint.stat().st_mtime_ns == stamp  # its one epoch was not trained again
    table = pd.read_csv(out / "robustness.csv")
    assert list(table["model"]) == ["plain", "plain", "scaling", "scaling"]
    assert len(pd.read_csv(out / "training.csv")) == 2 and len(pd.read_csv(out / "summary.csv")) == 4
