"""The three adaptive-scaling studies: robustness, continual learning, homeostasis (protocol bodies).

Each ``run_*`` function is the body of a protocol script
(``protocols/adaptive_scaling_{robustness,continual,homeostasis}.py``): it
opens the run directory (:func:`bioplastic.gradient.adaptive.experiment.open_run`),
runs the missing cells (``*_cell``: one seed and model each), writes the
tables, ``summary.csv`` and ``metrics.json``, and returns the exit status (0,
or 130 when stopped by Ctrl-C with the finished cells kept).  The scaling rule
is a reading of the abstract of Xu et al. 2025 (hypothesis).
"""

from __future__ import annotations

import functools

from bioplastic.gradient.adaptive import experiment as common

__all__ = ["DEFAULT_STRENGTHS", "MODELS", "METHODS", "robustness_cells", "robustness_grid", "robustness_cell",
           "run_robustness", "continual_cells", "continual_cell", "run_continual", "homeostasis_cells",
           "homeostasis_cell", "run_homeostasis"]

#: default strengths of each perturbation (the first, 0, is the clean test set)
DEFAULT_STRENGTHS = {
    "event_noise": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2],
    "event_dropout": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9],
    "weight_noise": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0],
}
MODELS = ("plain", "scaling")
METHODS = ("plain", "scaling", "ewc", "replay")


# --------------------------------------------------------------------------- robustness

def robustness_cells(seeds):
    """One cell per seed and model."""
    return [{"name": f"seed{seed}-{model}", "seed": seed, "model": model} for seed in seeds for model in MODELS]


def robustness_grid(perturbations, strengths=None):
    """``{perturbation: strengths}``, checked (ValueError for unknown names or strengths out of range)."""
    from bioplastic.gradient.adaptive.robustness import check_perturbation

    return {name: check_perturbation(name, strengths if strengths is not None else DEFAULT_STRENGTHS.get(name, [0.0]))
            for name in perturbations}


def robustness_cell(args, cell, grid, data, out, log):
    """Train one model (continuing its epoch checkpoint if any) and test it under every perturbation.

    Returns ``{"training": DataFrame, "robustness": DataFrame}``.
    """
    import pandas as pd
    import torch

    from bioplastic.gradient.adaptive.robustness import perturbed_accuracy
    from bioplastic.gradient.training import fit

    x_train, y_train, x_test, y_test = data
    seed, label = cell["seed"], cell["model"]
    loss_fn = common.loss_function()
    model = common.make_model(args, x_train.shape[2], seed, scaling=label == "scaling")
    log(f"seed {seed}, {label}: training {args.epochs} epochs")
    history = fit(model, loss_fn, (torch.as_tensor(x_train), torch.as_tensor(y_train)),
                  epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed,
                  out=out / "models" / cell["name"], resume=True, progress=not args.quiet, log=log)
    rows = []
    for name, strengths in grid.items():
        for strength in strengths:
            acc = perturbed_accuracy(model, loss_fn, x_test, y_test, name, strength, seed=seed)
            rows.append({"seed": seed, "model": label, "perturbation": name, "strength": strength,
                         "accuracy": acc})
        log(f"  {name}: " + ", ".join(f"{r['strength']:g} -> {r['accuracy']:.3f}"
                                      for r in rows if r["perturbation"] == name))
    training = pd.DataFrame([{"seed": seed, "model": label, **rec} for rec in history.to_dict("records")])
    return {"training": training, "robustness": pd.DataFrame(rows)}


def run_robustness(args, grid, script, argv=None):
    """The robustness study into ``args.out``; the exit status (0, or 130 when interrupted)."""
    import torch

    from bioplastic.runs import save_table

    torch.set_num_threads(args.threads)
    log = common.logger(args)
    cells = robustness_cells(args.seeds)
    with common.open_run(args, "adaptive_scaling_robustness", script, argv, log,
                         setup=common.setup_of(args), perturbations=grid) as (out, record):
        data = functools.cache(lambda: common.load_data(args, log))  # only if a cell is missing
        if not common.run_cells(out, record, cells,
                                lambda cell: robustness_cell(args, cell, grid, data(), out, log),
                                ("training", "robustness"), log):
            return common.EXIT_INTERRUPTED
        table = common.collect(out, cells, "robustness")
        summary = (table.groupby(["model", "perturbation", "strength"])["accuracy"]
                   .agg(mean="mean", std="std", n_seeds="count").reset_index())
        save_table(out / "summary.csv", summary)
        metrics = {}
        for row in summary.itertuples():
            metrics[f"accuracy_{row.model}_{row.perturbation}_{row.strength:g}"] = float(row.mean)
        for model in MODELS:
            clean = summary[(summary["model"] == model) & (summary["strength"] == 0)]["mean"]
            if len(clean):
                metrics[f"test_accuracy_{model}"] = float(clean.mean())
        common.finish_run(out, record, metrics=metrics)
    log(summary.to_string(index=False))
    return 0


# --------------------------------------------------------------------------- continual learning

def continual_cells(seeds, scenarios, methods):
    """One cell per seed, scenario and method."""
    return [{"name": f"seed{seed}-{scenario}-{method}", "seed": seed, "scenario": scenario, "method": method}
            for seed in seeds for scenario in scenarios for method in methods]


def continual_cell(args, cell, tasks, data, log):
    """Train one method on the tasks one after another (from fresh weights).

    Returns ``{"accuracy": DataFrame, "metrics": DataFrame}``.
    """
    import pandas as pd
    import torch

    from bioplastic.gradient.adaptive.continual import (EWC, Replay, average_accuracy, forgetting,
                                                       train_sequentially)

    x_train, y_train, x_test, y_test = data
    seed, scenario, method = cell["seed"], cell["scenario"], cell["method"]
    torch.manual_seed(seed)  # the cell's result does not depend on the cells run before it
    model = common.make_model(args, x_train.shape[2], seed, scaling=method == "scaling")
    ewc = EWC(strength=args.ewc_strength) if method == "ewc" else None
    replay = Replay(args.replay_per_class, seed=seed) if method == "replay" else None
    acc, records = train_sequentially(model, x_train, y_train, x_test, y_test, scenario=scenario,
                                      tasks=tasks, method=method, ewc=ewc, replay=replay, epochs=args.epochs,
                                      lr=args.lr, batch_size=args.batch_size, seed=seed,
                                      readout=args.readout, log=log)
    metrics = [{"seed": seed, "method": method, "scenario": scenario, "after_task": t,
                "average_accuracy": avg, "forgetting": fgt}
               for t, (avg, fgt) in enumerate(zip(average_accuracy(acc), forgetting(acc)))]
    return {"accuracy": pd.DataFrame([{"seed": seed, **r} for r in records]), "metrics": pd.DataFrame(metrics)}


def run_continual(args, tasks, script, argv=None):
    """The continual-learning study into ``args.out``; the exit status (0, or 130 when interrupted)."""
    import numpy as np
    import torch

    from bioplastic.runs import save_table

    torch.set_num_threads(args.threads)
    log = common.logger(args)
    cells = continual_cells(args.seeds, args.scenarios, args.methods)
    extra = {"setup": common.setup_of(args), "tasks": [list(t) for t in tasks], "readout": args.readout,
             "ewc": {"strength": args.ewc_strength, "decay": 1.0,
                     "form": "online EWC, empirical Fisher from minibatch gradients (100 samples)"},
             "replay": {"n_per_class": args.replay_per_class}}
    with common.open_run(args, "adaptive_scaling_continual", script, argv, log, **extra) as (out, record):
        data = functools.cache(lambda: common.load_data(args, log))  # only if a cell is missing
        if not common.run_cells(out, record, cells, lambda cell: continual_cell(args, cell, tasks, data(), log),
                                ("accuracy", "metrics"), log):
            return common.EXIT_INTERRUPTED
        per_task = common.collect(out, cells, "metrics")
        summary = (per_task.groupby(["method", "scenario", "after_task"])
                   .agg(average_accuracy_mean=("average_accuracy", "mean"),
                        average_accuracy_std=("average_accuracy", "std"),
                        forgetting_mean=("forgetting", "mean"), forgetting_std=("forgetting", "std"),
                        n_seeds=("seed", "count"))
                   .reset_index())
        save_table(out / "summary.csv", summary)
        final = summary[summary["after_task"] == len(tasks) - 1]
        metrics = {}
        for row in final.itertuples():
            metrics[f"average_accuracy_{row.scenario}_{row.method}"] = float(row.average_accuracy_mean)
            metrics[f"forgetting_{row.scenario}_{row.method}"] = float(row.forgetting_mean)
        common.finish_run(out, record, metrics=metrics)
    log(final.to_string(index=False, float_format=lambda v: f"{v:.3f}" if np.isfinite(v) else "nan"))
    return 0


# --------------------------------------------------------------------------- homeostasis

def homeostasis_cells(seeds):
    return [{"name": f"seed{seed}-{label}", "seed": seed, "model": label} for seed in seeds for label in MODELS]


def homeostasis_cell(args, cell, rule):
    """The hidden population rate of one seed and model around the step of input intensity."""
    import pandas as pd
    import torch
    from brian2 import ms

    from bioplastic.gradient.adaptive.network import AdaptiveScalingNetwork, population_rate_response
    from bioplastic.gradient.adaptive.scaling import AdaptiveScaling
    from bioplastic.gradient.lif import LIFParams

    params = LIFParams(n_in=args.n_in, n_hidden=args.n_hidden, n_out=2, nb_steps=args.n_steps)
    seed, label = cell["seed"], cell["model"]
    sc = AdaptiveScaling(args.n_in, rule=rule, tau_trace=args.tau_trace * ms) if label == "scaling" else None
    model = AdaptiveScalingNetwork(params, scaling=sc, dtype=torch.float64,
                                   generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.net.w_in.copy_(model.net.w_in.abs() * args.gain + args.offset)
    rate = population_rate_response(model, args.p_before, args.p_after, n_steps=args.n_steps,
                                    n_trials=args.n_trials, seed=seed)
    return {"rates": pd.DataFrame([{"seed": seed, "model": label, "step": n, "rate": float(v)}
                                   for n, v in enumerate(rate)])}


def run_homeostasis(args, script, argv=None):
    """The firing-rate callback study into ``args.out``; the exit status (0, or 130 when interrupted).

    Raises ValueError for a scaling rule out of range (e.g. ``eta`` > 1).
    """
    import pandas as pd
    import torch

    from bioplastic.gradient.adaptive.scaling import RelaxationRule
    from bioplastic.runs import save_table

    torch.set_num_threads(1)
    rule = RelaxationRule(kappa=args.kappa, r_ref=args.r_ref, eta=args.eta)
    log = common.logger(args)
    half = args.n_steps // 2
    windows = {"before": (half // 2, half), "just_after": (half, half + max(1, half // 7)),
               "end": (half + half // 2, args.n_steps)}
    cells = homeostasis_cells(args.seeds)
    with common.open_run(args, "adaptive_scaling_homeostasis", script, argv, log,
                         rule=rule.record(), step_at=half) as (out, record):
        if not common.run_cells(out, record, cells, lambda cell: homeostasis_cell(args, cell, rule),
                                ["rates"], log):
            return common.EXIT_INTERRUPTED
        rates = common.collect(out, cells, "rates")
        per_seed = []
        for (seed, label), g in rates.groupby(["seed", "model"]):
            r = g.sort_values("step")["rate"].to_numpy()
            row = {"seed": seed, "model": label}
            row.update({k: r[a:b].mean() for k, (a, b) in windows.items()})
            row["remaining_excess"] = row["end"] / row["before"] - 1 if row["before"] > 0 else float("nan")
            per_seed.append(row)
        per_seed = pd.DataFrame(per_seed)
        summary = per_seed.drop(columns="seed").groupby("model").agg(["mean", "std"])
        summary.columns = [f"{a}_{b}" for a, b in summary.columns]
        summary = summary.reset_index()
        save_table(out / "summary.csv", summary)
        metrics = {f"{key}_{row['model']}": float(row[f"{key}_mean"])
                   for _, row in summary.iterrows() for key in ("before", "just_after", "end", "remaining_excess")}
        common.finish_run(out, record, metrics=metrics, windows=windows)
    log(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0
