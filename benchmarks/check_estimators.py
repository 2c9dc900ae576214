"""scikit-learn's ``check_estimator`` on the package's estimators: one line per check.

    python benchmarks/check_estimators.py symstdp|surrogate|ttfs

Each check prints ``passed``/``failed``/``skipped``, its name and the reason;
the last lines count them.  Small estimators keep it short (the sym-STDP
network compiles once, then every check fits it a few times).  Why the
failing checks cannot apply: ``docs/estimators.rst``.
"""

import sys
import time
import warnings
from collections import Counter

from sklearn.utils.estimator_checks import check_estimator


def estimator(which):
    if which == "symstdp":
        from brian2 import ms

        from bioplastic.symstdp.estimator import SymSTDPClassifier

        return SymSTDPClassifier(n_hidden=10, chunk_size=20,
                                 overrides={"input.t_present": 50 * ms, "input.t_rest": 20 * ms})
    if which == "surrogate":
        from bioplastic.gradient.surrogate.estimator import SurrogateClassifier

        return SurrogateClassifier(n_hidden=10, epochs=2, nb_steps=20, batch_size=32)
    if which == "ttfs":
        from bioplastic.gradient.ttfs.estimator import TTFSClassifier

        return TTFSClassifier(hidden=(10,), epochs=2)
    raise SystemExit(f"usage: {sys.argv[0]} symstdp|surrogate|ttfs")


def main(which):
    import sklearn

    est = estimator(which)
    print(f"{est!r}, scikit-learn {sklearn.__version__}", flush=True)
    rows = []

    def callback(**kw):
        rows.append(kw)
        reason = str(kw.get("exception") or kw.get("reason") or "")[:300]
        print(f"{kw.get('status'):8s} {kw.get('check_name')}  {reason!r}", flush=True)

    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est, on_fail=None, callback=callback)
    print(f"total seconds {time.time() - t0:.1f}")
    print(dict(Counter(r["status"] for r in rows)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
