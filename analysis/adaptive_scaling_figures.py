#!/usr/bin/env python
"""Figures of a saved adaptive-scaling run (robustness, continual learning or homeostasis).

Usage::

    python analysis/adaptive_scaling_figures.py RUN_DIR [--formats png,pdf]

Reads ``RUN_DIR/run.json`` to tell which protocol wrote the run and draws

* ``adaptive_scaling_robustness``: ``figures/robustness`` (one panel per perturbation:
  test accuracy against strength, plain vs scaling, mean ± sd over seeds);
* ``adaptive_scaling_continual``: ``figures/continual`` (average accuracy and
  forgetting after each task, per method, task- and class-incremental);
* ``adaptive_scaling_homeostasis``: ``figures/rate_callback`` (hidden population rate
  around the step of input intensity, plain vs scaling, seed 0; dotted lines:
  each model's rate before the step).

Nothing is simulated; torch and Brian2 are not imported.  Exit status 2 when
RUN_DIR is not a finished run of one of these protocols.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--formats", default="png,pdf")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from bioplastic.analysis import figures
    from bioplastic.gradient.adaptive import figures as af
    from bioplastic.runs import read_json

    run = args.run_dir
    if not (run / "run.json").is_file():
        p.error(f"{run} has no run.json: not a run directory")
    record = read_json(run / "run.json")
    protocol = record.get("protocol")
    if record.get("status") != "finished":
        p.error(f"{run} is not finished (status {record.get('status')!r})")
    formats = [f for f in args.formats.split(",") if f]
    written = []
    with figures.style():
        if protocol in ("adaptive_scaling_robustness", "adaptive-robustness"):
            summary = pd.read_csv(run / "summary.csv")
            names = list(dict.fromkeys(summary["perturbation"]))
            fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names), 3.2), squeeze=False)
            for ax, name in zip(axes[0], names):
                af.plot_robustness(summary, name, ax=ax)
            written += figures.save_figure(fig, run / "figures", "robustness", formats)
        elif protocol in ("adaptive_scaling_continual", "adaptive-continual"):
            summary = pd.read_csv(run / "summary.csv")
            scenarios = list(dict.fromkeys(summary["scenario"]))
            fig, axes = plt.subplots(2, len(scenarios), figsize=(4.0 * len(scenarios), 6.0), squeeze=False)
            for col, scenario in enumerate(scenarios):
                af.plot_continual(summary, scenario, "average_accuracy", ax=axes[0, col])
                af.plot_continual(summary, scenario, "forgetting", ax=axes[1, col])
            written += figures.save_figure(fig, run / "figures", "continual", formats)
        elif protocol in ("adaptive_scaling_homeostasis", "adaptive-homeostasis"):
            rates = pd.read_csv(run / "rates.csv")
            seed = sorted(rates["seed"].unique())[0]
            fig, ax = plt.subplots(figsize=(5.0, 3.2))
            af.plot_rate_callback(rates[rates["seed"] == seed], step_at=record["step_at"], ax=ax)
            ax.set_title(f"input intensity {record['config']['p_before']} -> {record['config']['p_after']} "
                         f"per step (seed {seed})")
            written += figures.save_figure(fig, run / "figures", "rate_callback", formats)
        else:
            p.error(f"{run} was written by {protocol!r}, not by an adaptive-scaling protocol")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
