"""Protocols of the surrogate-gradient family: one run, the resumable sweep, figures."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch")

pytestmark = pytest.mark.gradient

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "protocols" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(argv):
    """The options of protocols/surrogate_sweep.py."""
    return _load("surrogate_sweep").parse(argv)


def test_sweep_grid_cells_and_mismatch_error(tmp_path):
    from bioplastic.gradient.surrogate import sweep

    args = _parse(["--out", str(tmp_path), "--surrogates", "superspike", "esser",
                        "--betas", "1", "10", "--variants", "detached", "dr", "--seeds", "0", "1"])
    grid = sweep.grid_of(args)
    cells = sweep.cells_of(grid)
    assert len(cells) == 2 * 2 * 2 * 2
    assert len({c["name"] for c in cells}) == len(cells)
    sweep.check_grid(tmp_path, grid)          # writes sweep.json
    sweep.check_grid(tmp_path, grid)          # same grid: fine
    other = dict(grid, betas=[1.0, 100.0])
    with pytest.raises(sweep.SweepError, match="differs in: betas"):
        sweep.check_grid(tmp_path, other)
    cmd = sweep.options_of(cells[-1], grid)
    assert "--reset" in cmd and "--out" not in cmd and "--resume" not in cmd   # the runner adds those
    runner_cells = sweep.runner_cells(cells, grid)
    assert [c.name for c in runner_cells] == [c["name"] for c in cells]
    assert runner_cells[-1].argv() == cmd



def test_sweep_passes_init_gain_and_accepts_older_sweeps(tmp_path):
    from bioplastic.gradient.surrogate import sweep

    grid = sweep.grid_of(_parse(["--out", str(tmp_path), "--surrogates", "superspike",
                                      "--betas", "10", "--seeds", "0", "--init-gain", "3",
                                      "--upper-nu", "0.5"]))
    cmd = sweep.options_of(sweep.cells_of(grid)[0], grid)
    assert cmd[cmd.index("--init-gain") + 1] == "3.0"
    assert cmd[cmd.index("--upper") + 2] == "0.5"
    # a sweep.json written before --init-gain existed is the same grid as gain 1 ...
    default = sweep.grid_of(_parse(["--out", str(tmp_path)]))
    old = {k: v for k, v in default.items() if k != "init_gain"}
    (tmp_path / "sweep.json").write_text(json.dumps(old))
    sweep.check_grid(tmp_path, default)
    # ... and not the same grid as another gain
    with pytest.raises(sweep.SweepError, match="differs in: init_gain"):
        sweep.check_grid(tmp_path, dict(default, init_gain=3.0))

def test_sweep_summary_picks_best_beta_by_validation(tmp_path):
    from bioplastic.gradient.surrogate import sweep

    grid = sweep.grid_of(_parse(["--out", str(tmp_path), "--surrogates", "superspike",
                                      "--betas", "1", "10", "--seeds", "0", "1"]))
    cells = sweep.cells_of(grid)
    # beta 10 has the better validation accuracy, beta 1 the better test accuracy
    fake = {1.0: (0.6, 0.9), 10.0: (0.8, 0.7)}
    for cell in cells:
        d = tmp_path / "cells" / cell["name"]
        d.mkdir(parents=True)
        val, test = fake[cell["beta"]]
        (d / "metrics.json").write_text(json.dumps({
            "test_accuracy": test + 0.01 * cell["seed"], "val_accuracy": val,
            "best_val_accuracy": val, "test_spikes_per_neuron": 2.0, "epochs": 3,
            "wall_seconds": 1.0}))
    table, best = sweep.collect(tmp_path, cells)
    assert len(table) == 4 and len(best) == 1
    row = best.iloc[0]
    assert row["beta"] == 10.0 and row["test_mean"] == pytest.approx(0.705)
    assert row["n_seeds"] == 2
    assert pd.read_csv(tmp_path / "summary.csv")["beta"].tolist() == [10.0]


def test_randman_run_in_the_house_format(tmp_path, one_torch_thread):
    from bioplastic.runs import load_run

    out = tmp_path / "run"
    argv = ["--n-samples", "10", "--epochs", "1", "--n-hidden", "6", "--quiet", "--out", str(out)]
    assert _load("surrogate_randman").main(argv) == 0
    run = load_run(out)
    assert run.family == "surrogate" and run.record["format_version"] == 1
    assert run.record["protocol"] == "surrogate_randman" and run.record["config"]["n_hidden"] == 6
    assert run.record["format"] == "bioplastic.gradient.surrogate/1" and "torch" in run.record["versions"]
    assert 0 <= run.metrics["test_accuracy"] <= 1 and run.metrics["epochs"] == 1
    assert len(run.table("epochs")) == 1
    assert {"trial", "step", "neuron", "labels", "input_times_steps"} <= set(run.arrays("raster"))
    # another --epochs on --resume is refused with one line naming it (exit status 2)
    assert _load("surrogate_randman").main(argv[:3] + ["2"] + argv[4:] + ["--resume"]) == 2


@pytest.mark.slow
def test_randman_run_resume_and_sweep_end_to_end(tmp_path):
    run = [sys.executable, str(ROOT / "protocols" / "surrogate_randman.py"), "--n-samples", "40",
           "--epochs", "1", "--n-hidden", "20", "--quiet"]
    out = tmp_path / "run"
    proc = subprocess.run(run + ["--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("run.json", "epochs.csv", "weights.npz", "metrics.json", "raster.npz"):
        assert (out / name).exists(), name
    record = json.loads((out / "run.json").read_text())
    assert record["format_version"] == 1 and record["family"] == "surrogate"
    assert record["protocol"] == "surrogate_randman" and record["config"]["n_hidden"] == 20
    from bioplastic.runs import load_run

    loaded = load_run(out)
    assert loaded.family == "surrogate" and 0 <= loaded.metrics["test_accuracy"] <= 1
    assert len(loaded.table("epochs")) == 1 and "input_times_steps" in loaded.arrays("raster")
    # an existing run without --resume is refused; with --resume it continues to epoch 2
    proc = subprocess.run(run + ["--out", str(out)], capture_output=True, text=True)
    assert proc.returncode != 0 and "--resume" in proc.stderr
    run[run.index("--epochs") + 1] = "2"
    proc = subprocess.run(run + ["--out", str(out), "--resume"], capture_output=True, text=True)
    assert proc.returncode == 2 and "another configuration: --epochs (recorded 1, now 2)" in proc.stderr
    assert "Traceback" not in proc.stderr

    sweep = [sys.executable, str(ROOT / "protocols" / "surrogate_sweep.py"), "--out",
             str(tmp_path / "sweep"), "--surrogates", "superspike", "--betas", "10",
             "--seeds", "0", "--epochs", "1", "--n-samples", "40", "--workers", "1"]
    proc = subprocess.run(sweep, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(sweep, capture_output=True, text=True)
    assert "1 finished, 0 to run" in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "analysis" / "surrogate_figures.py"),
                           "--sweep", str(tmp_path / "sweep"), "--run", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "sweep" / "figures" / "accuracy_vs_beta.png").exists()
