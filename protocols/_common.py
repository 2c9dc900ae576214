"""Command line shared by the supervised protocols (kept free of heavy imports)."""

import argparse
import sys
import time


def _count(text):
    """A positive sample count, or 'all'."""
    if text == "all":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer or 'all'")
    return value


def _override(text):
    """``TABLE.FIELD=VALUE`` -> (key, value); argparse reports a bad one (exit status 2)."""
    from bioplastic.symstdp.params import parse_override  # imports Brian2: only when --param is given

    try:
        return parse_override(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _non_negative(text):
    """A non-negative integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _eval_every(text):
    """Samples between evaluations, 'auto' or 0 (off)."""
    return None if text == "auto" else _non_negative(text)


def _positive(text):
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def parser(dataset, default_hidden, default_train, default_test, description):
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n-hidden", type=int, default=default_hidden,
                   help="N_E, excitatory (and inhibitory) hidden neurons; the paper's sizes are 100, 400, 1600, 6400")
    p.add_argument("--epochs", type=int, default=1, help="passes over the training samples")
    p.add_argument("--n-train", type=_count, default=default_train,
                   help="training samples per epoch, or 'all' (the whole training split minus validation)")
    p.add_argument("--n-test", type=_count, default=default_test, help="test samples, or 'all' (10000)")
    p.add_argument("--n-validation", type=int, default=0,
                   help="training samples held out as a validation split (for tuning)")
    p.add_argument("--device", choices=["runtime", "cpp_standalone", "cuda_standalone"],
                   default="cpp_standalone")
    p.add_argument("--threads", type=int, default=1, help="OpenMP threads (cpp_standalone)")
    p.add_argument("--float32", action="store_true", help="single precision")
    p.add_argument("--chunk-size", type=int, default=250,
                   help="presentation windows per compiled run (Python runs once per chunk)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="run directory (default: runs/<dataset>-<N_E>-seed<seed>-<date>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--data-dir", default=None,
                   help="folder holding mnist/ and fashion-mnist/ (else $BIOPLASTIC_DATA, else the user cache)")
    p.add_argument("--inhibition", choices=["pooled", "all-to-all"], default="pooled",
                   help="lateral inhibition: exact O(N) pooled form or literal N^2 synapses")
    p.add_argument("--eval-every", type=_eval_every, default="auto", metavar="N",
                   help="evaluate (learning off) on a fixed subset every N training samples and at the "
                        "end of training, into evaluations.csv; 'auto': about 10 "
                        "evaluations, costing at most 20%% of training; 0: off")
    p.add_argument("--n-eval", type=_positive, default=1000,
                   help="size of the fixed evaluation subset, drawn once from the validation split "
                        "(else from training samples not trained on, else from the test split)")
    p.add_argument("--param", action="append", default=[], type=_override, metavar="TABLE.FIELD=VALUE",
                   help="override a model parameter, with units, e.g. --param label.teacher_rate=100*Hz "
                        "(tables: input, excitatory, inhibitory, label, stdp_input, stdp_label)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(dataset=dataset)
    return p


def main(dataset, default_hidden, default_train, default_test, description, argv=None):
    p = parser(dataset, default_hidden, default_train, default_test, description)
    args = p.parse_args(argv)
    if args.resume and not args.out:
        p.error("--resume needs --out RUN_DIR (the run to continue)")  # exits with status 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or f"runs/{dataset}-{args.n_hidden}-seed{args.seed}-{stamp}"
    # heavy imports only after parsing, so --help is fast
    from bioplastic.data.datasets import DataError
    from bioplastic.symstdp.experiment import EXIT_INTERRUPTED, ExperimentConfig, RunInterrupted, run_supervised
    from bioplastic.runs import RunError

    cfg = ExperimentConfig(
        dataset=dataset, n_hidden=args.n_hidden, epochs=args.epochs, n_train=args.n_train,
        n_test=args.n_test, n_validation=args.n_validation, device=args.device,
        threads=args.threads, float32=args.float32, chunk_size=args.chunk_size, seed=args.seed,
        out=out, data_dir=args.data_dir, inhibition=args.inhibition, verbose=not args.quiet,
        overrides=tuple(args.param), eval_every=args.eval_every, n_eval=args.n_eval)
    try:
        run_supervised(cfg, resume=args.resume)
    except RunInterrupted as err:
        print(f"\n{err}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DataError, RunError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. a full disk before the first checkpoint
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
