#!/usr/bin/env python
"""Firing-rate "callback": the hidden population rate after a step of input intensity, with and without scaling.

Every input unit spikes with probability ``--p-before`` per step for the
first half of ``--n-steps`` and ``--p-after`` for the second half (Bernoulli,
seeded); the same LIF network (same weights per seed) runs the stream with and
without adaptive scaling of its input synapses (the scaling rule is a reading
of the abstract of Xu et al. 2025, hypothesis).  Input weights are
``|U(-1/sqrt(n_in), 1/sqrt(n_in))| * --gain + --offset`` (excitatory, so that
the rate follows the input).  Example::

    python protocols/adaptive_scaling_homeostasis.py --seeds 0 1 2 --out runs/adaptive-homeostasis

Writes ``run.json``, ``rates.csv`` (seed, model, step, rate: hidden spikes
per neuron and step, averaged over neurons and trials; one cell, seed and
model, at a time under ``cells/<cell>/``) and ``summary.csv`` (per model: rate
before the step, just after it, and at the end, and the remaining excess
``end / before - 1``, mean and sd over seeds), computed from the cell files.
``--resume`` continues an interrupted run (see ``adaptive_scaling_common``).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adaptive_scaling_common as common  # noqa: E402


def _probability(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1], got {text}")
    return value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--p-before", type=_probability, default=0.05)
    p.add_argument("--p-after", type=_probability, default=0.15)
    p.add_argument("--n-steps", type=int, default=400)
    p.add_argument("--n-trials", type=int, default=20)
    p.add_argument("--n-in", type=int, default=100)
    p.add_argument("--n-hidden", type=int, default=50)
    p.add_argument("--gain", type=float, default=1.0)
    p.add_argument("--offset", type=float, default=0.02)
    p.add_argument("--kappa", type=float, default=10.0)
    p.add_argument("--r-ref", type=float, default=0.05)
    p.add_argument("--eta", type=float, default=0.2)
    p.add_argument("--tau-trace", type=float, default=20.0, help="ms")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    common.add_run_arguments(p)
    args = common.parse_args(p, argv)
    if args.n_steps < 4 or args.n_trials < 1:
        p.error("--n-steps must be >= 4 and --n-trials >= 1")

    import pandas as pd
    import torch
    from brian2 import ms

    from bioplastic.gradient.adaptive.network import AdaptiveScalingNetwork, population_rate_response
    from bioplastic.gradient.adaptive.scaling import AdaptiveScaling, RelaxationRule
    from bioplastic.gradient.lif import LIFParams
    from bioplastic.runs import RunError, save_table

    torch.set_num_threads(1)
    try:
        rule = RelaxationRule(kappa=args.kappa, r_ref=args.r_ref, eta=args.eta)
    except ValueError as err:
        p.error(str(err))
    log = common.logger(args)
    params = LIFParams(n_in=args.n_in, n_hidden=args.n_hidden, n_out=2, nb_steps=args.n_steps)
    half = args.n_steps // 2
    windows = {"before": (half // 2, half), "just_after": (half, half + max(1, half // 7)),
               "end": (half + half // 2, args.n_steps)}

    def run_one(cell):
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

    cells = [{"name": f"seed{seed}-{label}", "seed": seed, "model": label}
             for seed in args.seeds for label in ("plain", "scaling")]
    config = {k: v for k, v in vars(args).items() if k not in ("out", "resume", "quiet")}
    try:
        with common.open_run(args, "adaptive-homeostasis", __file__, argv, log,
                             config=config | {"rule": rule.record()}, step_at=half) as (out, record):
            if not common.run_cells(out, record, cells, run_one, ["rates"], log):
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
            common.finish_run(out, record, windows=windows)
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    log(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
