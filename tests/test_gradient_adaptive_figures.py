"""Figures of the adaptive-scaling family, the homeostasis protocol and the analysis script."""

import importlib
import json
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bioplastic.gradient.adaptive import figures as af  # noqa: E402

from conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.gradient


def _import(folder, name):
    sys.path.insert(0, str(ROOT / folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / folder))


def test_figure_module_is_torch_free():
    source = (ROOT / "bioplastic" / "gradient" / "adaptive" / "figures.py").read_text()
    assert "import torch" not in source and "brian2" not in source


def test_plot_robustness_and_errors():
    rows = [{"model": m, "perturbation": "event_noise", "strength": s, "mean": 0.9 - s, "std": 0.01, "n_seeds": 3}
            for m in ("plain", "scaling") for s in (0.0, 0.1, 0.2)]
    ax = af.plot_robustness(pd.DataFrame(rows), "event_noise")
    assert len(ax.lines) == 2 and "3 seeds" in ax.get_title()
    assert np.allclose(ax.lines[0].get_ydata(), [0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match="no rows for perturbation 'weight_noise'"):
        af.plot_robustness(pd.DataFrame(rows), "weight_noise")
    with pytest.raises(ValueError, match="lacks the columns \\['std'\\]"):
        af.plot_robustness(pd.DataFrame(rows).drop(columns="std"), "event_noise")


def test_plot_continual_and_fixed_point():
    rows = [{"method": m, "scenario": "class", "after_task": t, "average_accuracy_mean": 1 / (t + 1),
             "average_accuracy_std": 0.0, "forgetting_mean": np.nan if t == 0 else 0.5, "forgetting_std": 0.0}
            for m in ("plain", "scaling", "ewc") for t in range(5)]
    ax = af.plot_continual(pd.DataFrame(rows), "class")
    assert len(ax.containers) == 3
    ax = af.plot_continual(pd.DataFrame(rows), "class", "forgetting")
    with pytest.raises(ValueError, match="metric must be"):
        af.plot_continual(pd.DataFrame(rows), "class", "accuracy")
    ax = af.plot_fixed_point([0, 0.5, 1], [2, 1, 0.5], r_ref=0.5)
    assert len(ax.lines) == 3
    with pytest.raises(ValueError, match="differ in shape"):
        af.plot_fixed_point([0, 1], [1])


def test_homeostasis_protocol_and_figure(tmp_path, capsys):
    pytest.importorskip("torch")
    homeostasis = _import("protocols", "adaptive_scaling_homeostasis")
    out = tmp_path / "hom"
    assert homeostasis.main(["--out", str(out), "--n-steps", "200", "--n-trials", "5", "--seeds", "0",
                             "--quiet"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and record["rule"]["status"].startswith("a reading")
    assert record["family"] == "adaptive" and record["config"]["p_after"] == 0.15
    from bioplastic.runs import load_run

    run = load_run(out)  # the house format: loads as a generic Run
    assert run.family == "adaptive" and run.record["protocol"] == "adaptive_scaling_homeostasis"
    assert run.metrics["remaining_excess_scaling"] < run.metrics["remaining_excess_plain"]
    assert len(run.table("rates")) == 2 * 200
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert summary.loc["scaling", "remaining_excess_mean"] < summary.loc["plain", "remaining_excess_mean"]
    figures = _import("analysis", "adaptive_scaling_figures")
    assert figures.main([str(out), "--formats", "png"]) == 0
    assert (out / "figures" / "rate_callback.png").stat().st_size > 1000
    with pytest.raises(SystemExit) as exc:
        figures.main([str(tmp_path)])
    assert exc.value.code == 2 and "no run.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        homeostasis.main(["--out", str(tmp_path / "bad"), "--p-after", "1.5"])
    assert "argument --p-after: must be a number in [0, 1], got '1.5'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
