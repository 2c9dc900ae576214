#!/usr/bin/env python
"""Perturbation resistance with and without adaptive synaptic scaling (after Xu et al. 2025).

The same network (same initial weights per seed) is trained with and without
scaling of its input synapses on the offline N-MNIST stand-in, then tested
under event noise, event dropout and multiplicative weight noise of growing
strength (see :mod:`bioplastic.gradient.adaptive.robustness`).  Example::

    python protocols/adaptive_scaling_robustness.py --seeds 0 1 2 --epochs 5 \\
        --out runs/adaptive-robustness

Writes ``run.json``, and per cell (one seed and model) ``cells/<cell>/``
with its rows of ``training.csv`` (one row per epoch) and ``robustness.csv``
(one row per perturbation and strength); the top-level ``training.csv`` and
``robustness.csv`` hold every finished cell, and ``summary.csv`` (mean and
standard deviation over seeds) is computed from the cell files at the end.
Ctrl-C keeps the finished cells and prints the command that continues the run
(the same command with ``--resume``); see :mod:`bioplastic.gradient.adaptive.experiment`
(the body is :func:`bioplastic.gradient.adaptive.studies.run_robustness`).
"""

import sys

from bioplastic import cli
from bioplastic.gradient.adaptive import experiment

PERTURBATIONS = ("event_noise", "event_dropout", "weight_noise")


def parse(argv=None):
    p = experiment.parser(__doc__.splitlines()[1])
    p.add_argument("--perturbations", nargs="+", default=list(PERTURBATIONS),
                   help="any of " + ", ".join(PERTURBATIONS))
    p.add_argument("--strengths", type=cli.non_negative_float, nargs="+", default=None,
                   help="strengths for every perturbation (default: a grid per perturbation)")
    return p, experiment.parse_args(p, argv)


def main(argv=None):
    p, args = parse(argv)
    from bioplastic.gradient.adaptive import studies

    try:  # bad names or strengths fail before any work
        grid = studies.robustness_grid(args.perturbations, args.strengths)
    except ValueError as err:
        p.error(f"argument --perturbations/--strengths: {err}")
    return cli.run(studies.run_robustness, args, grid, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
