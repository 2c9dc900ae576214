"""``python -m bioplastic.sweep SPEC --out DIR``: run a sweep spec (see :mod:`bioplastic.sweep`).

Rerunning the same command continues the sweep: finished cells are kept, an
interrupted cell continues from its checkpoint, failed cells are tried again.
A different spec on the same --out is refused.
"""

import sys

from bioplastic import cli


def parse(argv=None):
    p = cli.parser(__doc__.splitlines()[0], out_hint="required: the sweep directory", seed=False, data=False,
                   threads=None, prog="python -m bioplastic.sweep")
    p.add_argument("spec", help="the sweep spec (a TOML file: protocol, [fixed], [grid], [zip], metric)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (its workers must see "
                        "--out); default: a LocalCluster on this machine")
    p.add_argument("--workers", type=cli.positive_int, default=None,
                   help="worker processes of the LocalCluster (default: the number of cores)")
    p.add_argument("--retries", type=cli.non_negative_int, default=2,
                   help="further attempts for a cell whose worker dies or whose protocol fails")
    p.add_argument("--no-figure", action="store_true", help="write the tables only")
    args = cli.parse(p, argv)
    if not args.out:
        p.error("argument --out: required (the sweep directory; rerun with the same --out to continue)")
    if args.scheduler is not None and args.workers is not None:
        p.error("argument --workers: only for the LocalCluster; an existing --scheduler has its own workers")
    return args


def _body(args):
    from bioplastic.sweep.runner import run_sweep
    from bioplastic.sweep.spec import load_spec

    log = (lambda text: None) if args.quiet else (lambda text: print(text, flush=True))
    return run_sweep(load_spec(args.spec), args.out, scheduler=args.scheduler, workers=args.workers,
                     retries=args.retries, log=log, figure=not args.no_figure)


def main(argv=None):
    args = parse(argv)
    return cli.run(_body, args)


if __name__ == "__main__":
    sys.exit(main())
