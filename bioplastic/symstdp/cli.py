"""Command line of the sym-STDP protocols (``protocols/supervised_*.py``), on :mod:`bioplastic.cli`.

Kept free of heavy imports: Brian2 is imported only after the options are
parsed (and for ``--param``, to read the quantity), so ``--help`` and bad
options answer at once.
"""

from __future__ import annotations

import argparse
import sys

from bioplastic import cli

#: The names of bioplastic.symstdp.models.MODELS (kept here: that module imports Brian2).
MODEL_NAMES = ["hao-2020", "hao-2020-error-readout", "diehl-cook-2015", "diehl-cook-2015-delays"]

__all__ = ["parser", "main"]


def _override(text):
    """``TABLE.FIELD=VALUE`` -> (key, value); argparse reports a bad one (exit status 2)."""
    from bioplastic.symstdp.params import parse_override  # imports Brian2: only when --param is given

    try:
        return parse_override(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _eval_every(text):
    """Samples between evaluations, 'auto' or 0 (off)."""
    return None if text == "auto" else cli.non_negative_int(text)


def parser(dataset, default_hidden, default_train, default_test, description, model="hao-2020"):
    p = cli.parser(description, out_hint="runs/<dataset>-<N_E>-seed<seed>-<date>-<time>",
                   threads="OpenMP threads (cpp_standalone)")
    p.add_argument("--n-hidden", type=cli.positive_int, default=default_hidden,
                   help="N_E, excitatory (and inhibitory) hidden neurons; the paper's sizes are 100, 400, 1600, 6400")
    p.add_argument("--epochs", type=cli.positive_int, default=1, help="passes over the training samples")
    p.add_argument("--n-train", type=cli.count_or_all, default=default_train,
                   help="training samples per epoch, or 'all' (the whole training split minus validation)")
    p.add_argument("--n-test", type=cli.count_or_all, default=default_test, help="test samples, or 'all' (10000)")
    p.add_argument("--n-validation", type=cli.non_negative_int, default=0,
                   help="training samples held out as a validation split (for tuning)")
    p.add_argument("--device", choices=["runtime", "cpp_standalone", "cuda_standalone"],
                   default="cpp_standalone")
    p.add_argument("--float32", action="store_true",
                   help="single precision; theta then decays once per window (its decay per step is "
                        "below float32's resolution at N_E = 6400)")
    p.add_argument("--float32-theta", action="store_true",
                   help="with --float32: theta decays every step as in double precision, i.e. not at all "
                        "where the step's factor rounds to 1 (as in the authors' GPU code)")
    p.add_argument("--chunk-size", type=cli.positive_int, default=250,
                   help="presentation windows per compiled run (Python runs once per chunk)")
    p.add_argument("--inhibition", choices=["pooled", "all-to-all"], default="pooled",
                   help="lateral inhibition: exact O(N) pooled form or literal N^2 synapses")
    p.add_argument("--eval-every", type=_eval_every, default="auto", metavar="N",
                   help="evaluate (learning off) on a fixed subset every N training samples and at the "
                        "end of training, into evaluations.csv; 'auto': about 10 "
                        "evaluations, costing at most 20%% of training; 0: off")
    p.add_argument("--n-eval", type=cli.positive_int, default=1000,
                   help="size of the fixed evaluation subset, drawn once from the validation split "
                        "(else from training samples not trained on, else from the test split)")
    p.add_argument("--param", action="append", default=[], type=_override, metavar="TABLE.FIELD=VALUE",
                   help="override a model parameter, with units, e.g. --param label.teacher_rate=100*Hz "
                        "(tables: input, excitatory, inhibitory, label, stdp_input, stdp_label)")
    p.add_argument("--parameter-set", choices=["paper", "learns"], default="paper",
                   help="'paper': the authors' values; 'learns': ours where the paper's do not learn in "
                        "this implementation (Fashion-MNIST at N_E = 6400: input learning rate 0.02, input "
                        "scaling target 78.4; docs/reproduction.rst); the same as 'paper' elsewhere")
    p.add_argument("--hidden-from", default=None, metavar="RUN_DIR",
                   help="layer-by-layer training: start from the finished run RUN_DIR's input -> hidden "
                        "weights and theta, frozen, and train only the label pathway (same data set, "
                        "N_E, seed and --n-validation as that run)")
    p.add_argument("--evaluation", choices=["sequential", "independent"], default="sequential",
                   help="'sequential': each evaluated sample starts where the one before left off (one "
                        "random stream); 'independent': each sample's spikes depend on it alone (keyed "
                        "random numbers, every window from rest), so evaluation can run in parallel")
    p.add_argument("--eval-workers", type=cli.positive_int, default=1, metavar="N",
                   help="processes that evaluate at once (with --evaluation independent; the same "
                        "predictions as one)")
    p.add_argument("--n-assign", type=cli.positive_int, default=10000 if model.startswith("diehl-cook") else 60000,
                   help="the last N training responses assign each hidden neuron its class (assignment "
                        "readout); default 60000 (the GeNN code), 10000 for Diehl & Cook (their evaluation "
                        "assigns from 10000 training samples)")
    p.add_argument("--model", choices=MODEL_NAMES, default=model,
                   help="'hao-2020': the supervised sym-STDP network of Hao et al. (2020); "
                        "'hao-2020-error-readout': the same with an error-driven rule on the hidden -> label "
                        "pathway (beyond the paper); 'diehl-cook-2015': "
                        "the unsupervised STDP network of Diehl & Cook (2015), read out by neuron "
                        "assignment; 'diehl-cook-2015-delays': the same with their per-synapse traces and "
                        "input delays (Brian2's templates, slower) (bioplastic.symstdp.models)")
    p.set_defaults(dataset=dataset)
    return p


def main(dataset, default_hidden, default_train, default_test, description, argv=None, model="hao-2020"):
    """Parse ``argv`` and run :func:`bioplastic.symstdp.experiment.run_supervised`; the exit status."""
    p = parser(dataset, default_hidden, default_train, default_test, description, model=model)
    args = cli.parse(p, argv)
    if args.float32_theta and not args.float32:
        p.error("argument --float32-theta: needs --float32")
    if args.eval_workers > 1 and args.evaluation != "independent":
        p.error("argument --eval-workers: needs --evaluation independent")
    prefix = "diehl-cook-" if args.model.startswith("diehl-cook") else ""
    out = cli.default_out(f"{prefix}{dataset}-{args.n_hidden}-seed{args.seed}", args)
    # heavy imports only after parsing, so --help is fast
    from bioplastic.symstdp.experiment import ExperimentConfig, RunInterrupted, run_supervised

    cfg = ExperimentConfig(
        dataset=dataset, n_hidden=args.n_hidden, epochs=args.epochs, n_train=args.n_train,
        n_test=args.n_test, n_validation=args.n_validation, device=args.device,
        threads=args.threads, float32=args.float32, float32_theta=args.float32_theta, chunk_size=args.chunk_size, seed=args.seed,
        out=out, data_dir=args.data_dir, inhibition=args.inhibition, verbose=not args.quiet,
        overrides=tuple(args.param), eval_every=args.eval_every, n_eval=args.n_eval,
        hidden_from=args.hidden_from, parameter_set=args.parameter_set, model=args.model,
        n_assign=args.n_assign, evaluation=args.evaluation, eval_workers=args.eval_workers)
    return cli.run(run_supervised, cfg, resume=args.resume, interrupted=(RunInterrupted,))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main("mnist", 100, 2000, 1000, __doc__))
