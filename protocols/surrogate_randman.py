#!/usr/bin/env python
"""One surrogate-gradient training run on the spiking Randman task (Zenke & Vogels 2021).

Example::

    python protocols/surrogate_randman.py --surrogate superspike --beta 10 --epochs 50 \\
        --out runs/randman-superspike-10

The data set (10 classes x 20 units x 1000 samples, split 800/100/100, one spike
per unit within the first 50 of 100 steps) is generated from ``--seed``; the
run directory format is described in ``protocols/surrogate_common.py``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import surrogate_common  # noqa: E402


def extra_args(p):
    g = p.add_argument_group("Randman data")
    g.add_argument("--n-classes", type=int, default=10)
    g.add_argument("--n-units", type=int, default=20)
    g.add_argument("--n-samples", type=int, default=1000, help="samples per class")
    g.add_argument("--split", type=int, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="per-class split (default 80/10/10 %% of --n-samples)")
    g.add_argument("--alpha", type=float, default=1.0)
    g.add_argument("--dim-manifold", type=int, default=1)
    g.add_argument("--spectrum", choices=["code", "paper"], default="code")
    g.add_argument("--nb-steps", type=int, default=100)
    g.add_argument("--data-seed", type=int, default=None, help="data seed (default: --seed)")


def data_factory(args):
    from bioplastic.data import encoding

    split = args.split or [int(0.8 * args.n_samples), int(0.1 * args.n_samples),
                           args.n_samples - int(0.8 * args.n_samples) - int(0.1 * args.n_samples)]
    config = dict(dataset="randman", n_classes=args.n_classes, n_units=args.n_units,
                  n_samples=args.n_samples, split=list(split), alpha=args.alpha,
                  dim_manifold=args.dim_manifold, spectrum=args.spectrum, nb_steps=args.nb_steps,
                  step_frac=0.5, seed=args.seed if args.data_seed is None else args.data_seed)

    def data_fn(seed):
        d = encoding.make_randman(n_classes=args.n_classes, n_units=args.n_units,
                                  n_samples=args.n_samples, dim_manifold=args.dim_manifold,
                                  alpha=args.alpha, nb_steps=args.nb_steps, step_frac=0.5,
                                  spectrum=args.spectrum, split=split, seed=config["seed"])
        return d.train, d.validation, d.test

    return data_fn, config


if __name__ == "__main__":
    sys.exit(surrogate_common.main(
        "surrogate-randman", __doc__.splitlines()[0], data_factory,
        defaults={"epochs": 50, "lr": 0.05, "batch_size": 250}, extra_args=extra_args))
