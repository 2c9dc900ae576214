"""Bad command-line input to every protocol script: one line naming the option, exit 2, nothing written.

Each row runs a script of ``protocols/`` in its own process, in a fresh empty
working directory, with one bad value (a zero or negative count, a NaN,
infinite or negative rate, a non-number, an unknown choice, ``--out`` naming
an existing file, ``--resume`` without ``--out``).  The answer must be exit
status 2, no traceback, a last line on standard error that names the option,
and an unchanged working directory.  Every script of ``protocols/`` must have
rows here (a new protocol without rows fails :func:`test_every_protocol_is_covered`).
The rows answer before anything heavy is imported, so they run concurrently,
once, in a module fixture.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT

PROTOCOLS = ROOT / "protocols"
FILE = "a_file.txt"  # created in the working directory of the rows that name it

#: Options every protocol shares (bioplastic.cli): --resume needs --out, --out must not be a file.
SHARED = [(["--resume"], "--resume"), (["--out", FILE], "--out")]
SEED = [(["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed")]
THREADS = [(["--threads", "0"], "--threads")]

SYMSTDP = SHARED + SEED + THREADS + [
    (["--n-hidden", "0"], "--n-hidden"), (["--n-hidden", "-3"], "--n-hidden"), (["--n-hidden", "ten"], "--n-hidden"),
    (["--epochs", "0"], "--epochs"), (["--n-train", "0"], "--n-train"), (["--n-test", "-1"], "--n-test"),
    (["--n-validation", "-1"], "--n-validation"), (["--chunk-size", "0"], "--chunk-size"),
    (["--n-eval", "0"], "--n-eval"), (["--eval-every", "-1"], "--eval-every"),
    (["--device", "gpu"], "--device"), (["--inhibition", "none"], "--inhibition"),
    (["--parameter-set", "best"], "--parameter-set"), (["--float32-theta"], "--float32-theta"),
    (["--model", "bcm"], "--model"), (["--n-assign", "0"], "--n-assign"),
    (["--evaluation", "batched"], "--evaluation"), (["--eval-workers", "0"], "--eval-workers"),
    (["--eval-workers", "2"], "--eval-workers"),
]

SURROGATE = SHARED + SEED + THREADS + [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-1"], "--epochs"), (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"), (["--lr", "-0.1"], "--lr"), (["--lr", "fast"], "--lr"), (["--beta", "0"], "--beta"),
    (["--beta", "nan"], "--beta"), (["--batch-size", "0"], "--batch-size"), (["--n-hidden", "0"], "--n-hidden"),
    (["--init-gain", "-1"], "--init-gain"), (["--surrogate", "relu"], "--surrogate"),
    (["--reset", "soft"], "--reset"), (["--lower", "-1", "0.001"], "--lower"), (["--upper", "0.1", "nan"], "--upper"),
]

TTFS_TRAIN = [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-1"], "--epochs"), (["--lr", "nan"], "--lr"),
    (["--lr", "-1"], "--lr"), (["--batch-size", "0"], "--batch-size"), (["--sigma", "0"], "--sigma"),
    (["--n-validation", "-1"], "--n-validation"), (["--n-train", "0"], "--n-train"), (["--n-test", "0"], "--n-test"),
    (["--hidden", "0"], "--hidden"), (["--hidden", "100", "-5"], "--hidden"), (["--dataset", "cifar"], "--dataset"),
]

ADAPTIVE = SHARED + THREADS + [
    (["--seeds", "-1"], "--seeds"), (["--seeds", "0", "x"], "--seeds"), (["--epochs", "0"], "--epochs"),
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--n-hidden", "0"], "--n-hidden"),
    (["--n-train-per-class", "0"], "--n-train-per-class"), (["--n-test-per-class", "-2"], "--n-test-per-class"),
    (["--n-steps", "0"], "--n-steps"), (["--pool", "0"], "--pool"), (["--batch-size", "-1"], "--batch-size"),
    (["--init-gain", "-1"], "--init-gain"), (["--data-seed", "-1"], "--data-seed"),
    (["--tau-trace", "0"], "--tau-trace"), (["--r-ref", "2"], "--r-ref"), (["--eta", "0"], "--eta"),
    (["--eta", "1.5"], "--eta"), (["--kappa", "nan"], "--kappa"), (["--kappa", "-2"], "--kappa"),
]

CASES = {
    "supervised_mnist.py": SYMSTDP,
    "supervised_fashion_mnist.py": SYMSTDP,
    "unsupervised_mnist.py": SYMSTDP,
    "surrogate_randman.py": SURROGATE + [
        (["--n-classes", "1"], "--n-classes"), (["--n-units", "0"], "--n-units"), (["--n-samples", "0"], "--n-samples"),
        (["--nb-steps", "0"], "--nb-steps"), (["--split", "8", "-1", "1"], "--split"), (["--alpha", "nan"], "--alpha"),
        (["--dim-manifold", "0"], "--dim-manifold"), (["--data-seed", "-1"], "--data-seed"),
        (["--spectrum", "flat"], "--spectrum"),
    ],
    "surrogate_fashion_mnist.py": SURROGATE + [
        (["--n-train", "0"], "--n-train"), (["--n-validation", "-1"], "--n-validation"), (["--n-test", "0"], "--n-test"),
        (["--tau-eff", "0"], "--tau-eff"), (["--theta", "1.5"], "--theta"), (["--theta", "nan"], "--theta"),
        (["--nb-steps", "-5"], "--nb-steps"), (["--dataset", "cifar"], "--dataset"),
    ],
    "surrogate_sweep.py": [
        ([], "--out"), (["--out", FILE], "--out"), (["--out", "sweep", "--resume", "--betas", "0"], "--betas"),
        (["--resume"], "--resume"),
        (["--out", "sweep", "--betas", "1", "nan"], "--betas"), (["--out", "sweep", "--epochs", "0"], "--epochs"),
        (["--out", "sweep", "--lr", "inf"], "--lr"), (["--out", "sweep", "--seeds", "-1"], "--seeds"),
        (["--out", "sweep", "--workers", "0"], "--workers"), (["--out", "sweep", "--variants", "x"], "--variants"),
        (["--out", "sweep", "--surrogates", "relu"], "--surrogates"),
        (["--out", "sweep", "--upper-nu", "-1"], "--upper-nu"), (["--out", "sweep", "--n-samples", "x"], "--n-samples"),
        (["--out", "sweep", "--init-gain", "0"], "--init-gain"), (["--out", "sweep", "--upper-lambda", "-1"],
                                                                  "--upper-lambda"),
    ],
    "ttfs_mnist.py": SHARED + SEED + THREADS + TTFS_TRAIN + [
        (["--gamma", "-1", "--regularizer", "m-ssr"], "--gamma"), (["--gamma", "nan"], "--gamma"),
        (["--gamma", "0.1"], "--gamma"), (["--regularizer", "l2"], "--regularizer"), (["--t-in", "0"], "--t-in"),
        (["--t-max", "inf"], "--t-max"), (["--t-max", "0.5"], "--t-max"), (["--n-raster", "-1"], "--n-raster"),
        (["--init-mean", "nan"], "--init-mean"), (["--init-std", "-1"], "--init-std"),
    ],
    "ttfs_sweep.py": [(["--out", "sweep"] + a, o) for a, o in TTFS_TRAIN] + [
        ([], "--out"), (["--out", FILE], "--out"), (["--resume"], "--resume"),
        (["--out", "sweep", "--m-ssr", "0"], "--m-ssr"), (["--out", "sweep", "--f-ssr", "-1"], "--f-ssr"),
        (["--out", "sweep", "--m-ssr", "nan"], "--m-ssr"), (["--out", "sweep", "--seeds", "-1"], "--seeds"),
        (["--out", "sweep", "--workers", "0"], "--workers"),
    ],
    "ttfs_bridge_check.py": [
        (["RUN", "--resume"], "--resume"), (["RUN", "--out", FILE], "--out"),
        (["RUN", "--dt-fraction", "0"], "--dt-fraction"), (["RUN", "--dt-fraction", "nan"], "--dt-fraction"),
        (["RUN", "--n-test", "0"], "--n-test"), (["RUN", "--device", "cuda_standalone"], "--device"),
    ],
    "adaptive_scaling_robustness.py": ADAPTIVE + [
        (["--strengths", "-0.5"], "--strengths"), (["--strengths", "nan"], "--strengths"),
    ],
    "adaptive_scaling_continual.py": ADAPTIVE + [
        (["--replay-per-class", "0"], "--replay-per-class"), (["--ewc-strength", "-1"], "--ewc-strength"),
        (["--ewc-strength", "inf"], "--ewc-strength"), (["--scenarios", "domain"], "--scenarios"),
        (["--methods", "si"], "--methods"), (["--readout", "last"], "--readout"), (["--tasks", "a,b/c"], "--tasks"),
    ],
    "adaptive_scaling_homeostasis.py": SHARED + [
        (["--p-before", "1.5"], "--p-before"), (["--p-after", "-0.1"], "--p-after"), (["--p-after", "nan"], "--p-after"),
        (["--n-steps", "3"], "--n-steps"), (["--n-trials", "0"], "--n-trials"), (["--n-in", "0"], "--n-in"),
        (["--n-hidden", "-1"], "--n-hidden"), (["--gain", "-1"], "--gain"), (["--offset", "inf"], "--offset"),
        (["--seeds", "-1"], "--seeds"), (["--eta", "2"], "--eta"), (["--tau-trace", "-1"], "--tau-trace"),
        (["--r-ref", "nan"], "--r-ref"),
    ],
}

ROWS = [(script, args, option) for script, rows in sorted(CASES.items()) for args, option in rows]


def _row_id(row):
    script, args, _ = row
    return f"{script[:-3]}:{' '.join(args) or '(none)'}"


def _run_row(base, k, row):
    script, args, option = row
    cwd = base / f"row{k}"
    cwd.mkdir()
    if FILE in args:
        (cwd / FILE).write_text("not a directory\n")
    before = sorted(p.name for p in cwd.iterdir())
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, str(PROTOCOLS / script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)
    after = sorted(p.name for p in cwd.iterdir())
    return proc, before, after


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    base = tmp_path_factory.mktemp("protocol_cli")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda kr: _run_row(base, *kr), enumerate(ROWS)))
    return dict(zip(map(_row_id, ROWS), results))


def test_every_protocol_is_covered():
    scripts = sorted(p.name for p in PROTOCOLS.glob("*.py") if not p.name.startswith("_"))
    assert scripts, "no protocol scripts found"
    missing = [s for s in scripts if not CASES.get(s)]
    assert not missing, f"protocols without bad-input rows in tests/test_protocol_cli.py: {missing}"
    assert not set(CASES) - set(scripts), "rows for scripts that do not exist"
    for script, rows in CASES.items():  # the shared options are tested everywhere
        tried = {option for _, option in rows}
        assert {"--out", "--resume"} <= tried, script


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_bad_input_is_one_line_and_exit_2(row, answers):
    script, args, option = row
    proc, before, after = answers[_row_id(row)]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert option in last, last
    assert after == before, f"{script} {args} wrote {sorted(set(after) - set(before))}"
