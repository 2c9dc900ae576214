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
``--resume`` continues an interrupted run (see :mod:`bioplastic.gradient.adaptive.experiment`; the body is
:func:`bioplastic.gradient.adaptive.studies.run_homeostasis`).
"""

import sys

from bioplastic import cli
from bioplastic.gradient.adaptive import experiment


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[1], seed=False, data=False, threads=None)
    p.add_argument("--p-before", type=cli.unit_interval, default=0.05, help="input spike probability per step")
    p.add_argument("--p-after", type=cli.unit_interval, default=0.15)
    p.add_argument("--n-steps", type=cli.int_at_least(4), default=400)
    p.add_argument("--n-trials", type=cli.positive_int, default=20)
    p.add_argument("--n-in", type=cli.positive_int, default=100)
    p.add_argument("--n-hidden", type=cli.positive_int, default=50)
    p.add_argument("--gain", type=cli.non_negative_float, default=1.0)
    p.add_argument("--offset", type=cli.finite_float, default=0.02)
    experiment.add_seeds(p)
    experiment.add_rule_options(p)
    return experiment.parse_args(p, argv)


def main(argv=None):
    args = parse(argv)
    from bioplastic.gradient.adaptive import studies

    return cli.run(studies.run_homeostasis, args, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
