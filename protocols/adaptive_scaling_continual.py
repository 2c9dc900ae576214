#!/usr/bin/env python
"""Split-MNIST continual learning with and without adaptive synaptic scaling, against EWC.

Five two-digit tasks (``--tasks``, default 0,1/2,3/4,5/6,7/8,9) are learnt
one after another on the offline N-MNIST stand-in, task-incrementally and
class-incrementally (see :mod:`bioplastic.gradient.adaptive.continual`), by
three methods with the same initial weights per seed:

* ``plain``: the network without scaling, fine-tuned task after task;
* ``scaling``: the same network with adaptive scaling of its input synapses
  (a reading of the abstract of Xu et al. 2025, hypothesis);
* ``ewc``: the plain network with online elastic weight consolidation;
* ``replay``: the plain network with a memory of ``--replay-per-class``
  samples per earlier class mixed into each later task's training data.

Example::

    python protocols/adaptive_scaling_continual.py --seeds 0 1 2 --epochs 3 \\
        --out runs/adaptive-continual

Writes ``run.json``, and per cell (one seed, scenario and method)
``cells/<cell>/`` with its rows of ``accuracy.csv`` (seed, method, scenario,
after_task, test_task, accuracy) and ``metrics.csv`` (average accuracy and
forgetting after each task); the top-level ``accuracy.csv`` and
``metrics.csv`` hold every finished cell, and ``summary.csv`` (mean and
standard deviation over seeds) is computed from the cell files at the end.
Ctrl-C keeps the finished cells and prints the command that continues the run
(the same command with ``--resume``); an interrupted cell starts over.  The body is
:func:`bioplastic.gradient.adaptive.studies.run_continual`.
"""

import argparse
import sys

from bioplastic import cli
from bioplastic.gradient.adaptive import experiment

METHODS = ("plain", "scaling", "ewc", "replay")


def _tasks(text):
    """``0,1/2,3/...`` -> list of tuples of ints (checked later)."""
    try:
        return [tuple(int(c) for c in part.split(",") if c.strip()) for part in text.split("/")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"tasks must look like 0,1/2,3/4,5/6,7/8,9; got {text!r}") from None


def parse(argv=None):
    p = experiment.parser(__doc__.splitlines()[1], defaults={"epochs": 3})
    p.add_argument("--tasks", type=_tasks, default=[(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)],
                   help="the task split: classes separated by commas, tasks by slashes")
    p.add_argument("--scenarios", nargs="+", choices=["task", "class"], default=["task", "class"])
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--ewc-strength", type=cli.non_negative_float, default=1e6,
                   help="lambda of the EWC penalty (1e6: forgetting clearly below plain, new tasks still learnt; "
                        "1e8 blocks new tasks; measured on seed 0, class-incremental)")
    p.add_argument("--replay-per-class", type=cli.positive_int, default=20,
                   help="replay memory: samples per earlier class")
    p.add_argument("--readout", choices=["mean", "max"], default="mean",
                   help="logits: mean or max over time of the readout membrane (mean avoids dead logits, "
                        "see bioplastic.gradient.adaptive.continual)")
    return p, experiment.parse_args(p, argv)


def main(argv=None):
    p, args = parse(argv)
    from bioplastic.gradient.adaptive import studies
    from bioplastic.gradient.adaptive.continual import check_task_split

    try:
        tasks = check_task_split(args.tasks)
    except ValueError as err:
        p.error(f"argument --tasks: {err}")
    return cli.run(studies.run_continual, args, tasks, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
