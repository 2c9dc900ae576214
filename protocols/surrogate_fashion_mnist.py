#!/usr/bin/env python
"""Surrogate-gradient training on latency-coded Fashion-MNIST (or MNIST), 100 hidden units.

The images are coded as in the spytorch tutorials (one spike per pixel at
``int(20 ln(x/(x - 0.2)))`` steps, pixels x <= 0.2 silent, 100 steps of 1 ms);
the network and the run directory are those of ``surrogate_randman.py``.  A
validation split is held out of the training set for tuning; the test set is
only evaluated once, at the end.

Example::

    python protocols/surrogate_fashion_mnist.py --epochs 10 --lr 1e-2 --init-gain 4 \\
        --out runs/fmnist-superspike

The defaults (lr 1e-2, input weights x4, 10 epochs, the weights of the epoch
with the best validation accuracy are kept) were chosen on the validation
split.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import surrogate_common  # noqa: E402


def extra_args(p):
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=["fashion-mnist", "mnist"], default="fashion-mnist")
    g.add_argument("--n-train", type=int, default=None,
                   help="training samples (default: all 60000 minus the validation split)")
    g.add_argument("--n-validation", type=int, default=5000, help="held out of the training set")
    g.add_argument("--n-test", type=int, default=None, help="test samples (default: all 10000)")
    g.add_argument("--data-dir", default=None, help="folder with mnist/ and fashion-mnist/")
    g.add_argument("--tau-eff", type=float, default=20.0, help="latency-code time constant (steps)")
    g.add_argument("--theta", type=float, default=0.2, help="latency-code threshold")
    g.add_argument("--nb-steps", type=int, default=100)


def data_factory(args):
    from bioplastic.data import datasets, encoding

    config = dict(dataset=args.dataset, code="latency", tau_eff=args.tau_eff, theta=args.theta,
                  nb_steps=args.nb_steps, n_train=args.n_train, n_validation=args.n_validation,
                  n_test=args.n_test, split_seed=args.seed)

    def data_fn(seed):
        images, labels = datasets.load_dataset(args.dataset, "train", args.data_dir)
        train_idx, val_idx = datasets.train_validation_split(len(images), args.n_validation, seed)
        if args.n_train is not None:
            train_idx = train_idx[: args.n_train]
        test_images, test_labels = datasets.load_dataset(args.dataset, "test", args.data_dir)
        if args.n_test is not None:
            test_images, test_labels = test_images[: args.n_test], test_labels[: args.n_test]

        def code(imgs, labs):
            return encoding.latency_encode_images(imgs, labs, args.tau_eff, args.theta, args.nb_steps)

        return (code(images[train_idx], labels[train_idx]), code(images[val_idx], labels[val_idx]),
                code(test_images, test_labels))

    return data_fn, config


if __name__ == "__main__":
    sys.exit(surrogate_common.main(
        "surrogate-fashion-mnist", __doc__.splitlines()[0], data_factory,
        defaults={"epochs": 10, "lr": 1e-2, "batch_size": 256, "init_gain": 4.0, "keep_best": True},
        extra_args=extra_args))
