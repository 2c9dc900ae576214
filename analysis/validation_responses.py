#!/usr/bin/env python
"""Recompute a finished run's validation responses (``validation_counts.npz``) from its checkpoint.

Usage::

    python analysis/validation_responses.py RUN_DIR

For runs made before the protocols kept ``validation_counts.npz``: rebuilds the
run's network from ``run.json``, evaluates its validation split with the final
checkpoint exactly as the run did at its end (same spikes, same accuracy), and
writes the responses into the run directory, where ``analysis/readout_replay.py``
finds them.  Exit status 2, with one line, when the run has no validation
split, is not finished, or has the file already.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    args = ap.parse_args(argv)
    from bioplastic.runs import RunError
    from bioplastic.symstdp.experiment import recompute_validation_counts

    try:
        metrics = recompute_validation_counts(args.run)
    except (RunError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.run}: validation_counts.npz written; validation accuracy supervised "
          f"{metrics['validation_accuracy_supervised']:.4f}, assignment "
          f"{metrics['validation_accuracy_assignment']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
