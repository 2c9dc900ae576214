"""The supervised experiment of Hao et al. (2020): train, checkpoint, evaluate, test, write a run.

:func:`run_supervised` is what ``protocols/supervised_mnist.py`` and
``protocols/supervised_fashion_mnist.py`` call.  It writes a run directory
(``docs/run_format.rst``): ``run.json`` first, then after every training chunk
the chunk's training responses ``train_counts/chunk_NNNNNN.npz``, an atomic
``checkpoint/checkpoint.npz`` (state, position, seed, metrics so far),
``training.csv`` and ``evaluations.csv``, and at the end ``weights.npz``,
``test_counts.npz``, ``validation_counts.npz`` (with a validation split),
``test_samples.csv`` and ``metrics.json``.

Accuracy during training
    Every ``eval_every`` training samples (and at the end of training) the
    network is evaluated, learning off, on one fixed evaluation subset of
    ``n_eval`` samples drawn once from the validation split (or, without one,
    from the training samples the run does not train on, or else from the
    test split, which the run record and the log then say).  The training
    state is not changed by an evaluation: it runs on a copy, and the chunk
    seeds of training do not depend on it.

Safety
    The run directory is locked (:func:`bioplastic.runs.lock_run_directory`)
    for the whole run, so a second process started on the same directory
    stops at once.  ``resume=True`` continues from the last checkpoint: a run
    killed in the middle of a chunk loses at most that chunk, and every
    sample is learned exactly once.  Ctrl-C (SIGINT) or SIGTERM stop the run
    with :class:`RunInterrupted` (the protocols exit with status 130 and print
    the command that continues it); a signal arriving while the run writes
    its files is honoured once they are written.  A chunk whose new state
    holds NaN or infinite values stops training before anything of it is
    written (:class:`NonFiniteStateError`), and a checkpoint holding such
    values is refused on ``--resume``.  A write that fails (a full disk)
    leaves the previous checkpoint in place, and the error says how much was
    kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shlex
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bioplastic.analysis import readout

from bioplastic import runs

__all__ = ["ExperimentConfig", "run_supervised", "RunInterrupted", "NonFiniteStateError",
           "evaluation_every", "EXIT_INTERRUPTED", "recompute_validation_counts"]

CHECKPOINT = Path("checkpoint") / "checkpoint.npz"
#: Per-chunk training responses (hidden and label counts of every sample learned).
TRAIN_COUNTS = Path("train_counts")
#: Exit status of a protocol stopped by a signal (as a shell reports SIGINT).
EXIT_INTERRUPTED = 130
#: Columns of ``evaluations.csv``.
EVALUATION_COLUMNS = ("samples_seen", "split", "accuracy_supervised", "accuracy_assignment",
                      "n_samples", "epoch", "kind", "wall_seconds")


class RunInterrupted(runs.RunError):
    """The run was stopped by a signal (Ctrl-C, SIGTERM); the last checkpoint is intact."""


class NonFiniteStateError(runs.RunError):
    """A network state (a new chunk's, or a checkpoint's) holds NaN or infinite values."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Options of one supervised run (the protocol's command line).

    Attributes
    ----------
    dataset : "mnist" or "fashion-mnist".
    n_hidden : N_E.
    epochs : passes over the training samples.
    n_train : training samples used per epoch (first of a seeded shuffle of
        the training split minus the validation samples); None = all.
    n_test : test samples (first n of the test split); None = all.
    n_validation : samples of the training split held out for validation.
    device, threads, float32, float32_theta : see :class:`bioplastic.symstdp.device.engine.Engine`.
    chunk_size : windows per chunk, K.
    seed : run seed (initial weights, sample order, random streams).
    out : run directory.
    data_dir : data location; when given, the only place searched (else
        ``$BIOPLASTIC_DATA`` or the cache).
    n_assign : last training samples whose responses give the neuron
        assignments (GeNN code: the last 60000).
    snapshots : number of weight snapshots kept over training.
    inhibition : "pooled" (default) or "all-to-all".
    overrides : pairs ("table.field", "value with unit"), e.g.
        ``(("label.teacher_rate", "100*Hz"),)``, applied to the variant's
        parameters (see :func:`bioplastic.symstdp.params.with_overrides`).
    eval_every : training samples between evaluations of the fixed
        evaluation subset; None = automatic (:func:`evaluation_every`), 0 = no
        evaluations during training.
    n_eval : size of the evaluation subset (fewer if its source holds fewer).
    hidden_from : a finished run directory, or None.  Layer-by-layer training
        (the authors' released configuration, ``FIXED_HIDDEN_LAYER``): the run
        starts from that run's input -> hidden weights and thresholds theta
        (its ``weights.npz``) and keeps them frozen -- the excitatory group's
        ``learning`` flag is off while the label layer's is on: no plasticity
        or scaling on the input pathway, theta neither grows nor decays -- so
        that only the hidden -> label pathway learns, from fresh initial
        weights, with its teacher.
    parameter_set : "paper" (the authors' values) or "learns" (ours where the
        paper's do not learn here: Fashion-MNIST at N_E = 6400), see
        :func:`bioplastic.symstdp.params.model_params`.
    model : a name of :data:`bioplastic.symstdp.models.MODELS` ("hao-2020",
        "diehl-cook-2015") or a :class:`bioplastic.symstdp.models.NetworkModel`
        of your own (rules and hidden neuron as values); recorded in
        ``run.json`` (a name, or the model's full description).
    evaluation : "sequential" (each evaluated sample starts where the one
        before left off; one random stream) or "independent" (each sample's
        spikes depend on it alone: keyed random numbers, every window from
        rest; ``Engine(evaluation="independent")``).  Training is the same.
    eval_workers : processes that evaluate at once (``"independent"`` only;
        the same predictions as one process).  The other run must have
        the same data set, N_E, seed and validation split (else its hidden
        layer may have learned this run's validation samples).
    """

    dataset: str = "mnist"
    n_hidden: int = 100
    epochs: int = 1
    n_train: int | None = None
    n_test: int | None = None
    n_validation: int = 0
    device: str = "cpp_standalone"
    threads: int = 1
    float32: bool = False
    float32_theta: bool = False
    chunk_size: int = 250
    seed: int = 0
    out: str = "runs/latest"
    data_dir: str | None = None
    n_assign: int = 60000
    snapshots: int = 8
    inhibition: str = "pooled"
    overrides: tuple = ()
    verbose: bool = True
    eval_every: int | None = None
    n_eval: int = 1000
    hidden_from: str | None = None
    parameter_set: str = "paper"
    model: object = "hao-2020"
    evaluation: str = "sequential"
    eval_workers: int = 1


#: Options that may differ between a run and its resumption.
_RESUMABLE_CHANGES = ("out", "verbose", "data_dir", "threads", "eval_workers")
#: Options a resumed run may change on purpose: train for more epochs, test on more samples.
_EXTENDABLE = ("epochs", "n_test")


def _protocol_name(dataset, model="hao-2020"):
    """The protocol of a run on ``dataset`` (``run.json``'s ``protocol``), as its script is
    named: ``"supervised_mnist"``, ``"supervised_fashion_mnist"``; ``"unsupervised_mnist"``
    for the Diehl & Cook model."""
    kind = "unsupervised_" if isinstance(model, str) and model.startswith("diehl-cook") else "supervised_"
    return kind + dataset.replace("-", "_")


def config_record(cfg) -> dict:
    """``cfg`` as ``run.json`` records it (JSON types; a model of one's own as its description)."""
    from bioplastic.symstdp.models import model_record

    d = asdict(replace(cfg, model=None))
    d["model"] = model_record(cfg.model)
    return json.loads(json.dumps(d))


#: Offsets of the sample identities that key independent evaluation, by split (validation:
#: the training indices themselves).
_TEST_IDS, _SUBSET_IDS = 1_000_000, 2_000_000


def _evaluate(cfg, engine, state, rates, labels, ids, seeds, progress=None):
    """An evaluation phase (learning off): sequential, or independent over ``cfg.eval_workers``."""
    from bioplastic.symstdp.training import evaluate, run_phase

    if cfg.evaluation == "independent":
        return evaluate(engine, state, rates, labels, ids, cfg.eval_workers, progress)
    return run_phase(engine, state, rates, labels, False, seeds, progress=progress)[1]


def model_kwargs(cfg) -> dict:
    """The rules and hidden neuron of ``cfg.model``, for :class:`~bioplastic.symstdp.device.engine.Engine`."""
    from bioplastic.symstdp.models import resolve_model

    return resolve_model(cfg.model, cfg.dataset, cfg.n_hidden, cfg.parameter_set,
                         dict(cfg.overrides))[1].engine_kwargs()


def _engine(cfg, params, build_dir=None):
    """The run's :class:`~bioplastic.symstdp.device.engine.Engine`, as ``cfg`` describes it."""
    from bioplastic.symstdp.device.engine import Engine

    return Engine(params, device=cfg.device, chunk_size=cfg.chunk_size, threads=cfg.threads,
                  float32=cfg.float32, float32_theta=cfg.float32_theta, inhibition=cfg.inhibition,
                  seed=cfg.seed, verbose=cfg.verbose, evaluation=cfg.evaluation, build_dir=build_dir,
                  **model_kwargs(cfg))


def _log(cfg, msg):
    if cfg.verbose:
        print(msg, flush=True)


def evaluation_every(total_samples, n_eval, evaluations=10, max_overhead=0.2):
    """Automatic spacing of the evaluations during training.

    About ``evaluations`` evaluations over the run, but never so many that
    evaluating costs more than ``max_overhead`` of the training time (an
    evaluation of ``n_eval`` samples costs about as much as training on them).

    Parameters
    ----------
    total_samples : int
        Training samples of the whole run (all epochs).
    n_eval : int
        Size of the evaluation subset.

    Returns
    -------
    int
        Training samples between evaluations (there is always one more at the
        end of training).
    """
    return int(max(-(-int(total_samples) // evaluations), np.ceil(n_eval / max_overhead), 1))


def _load_data(cfg, params):
    from bioplastic.data.datasets import load_dataset, normalize_mean_intensity, train_validation_split

    x_train, y_train = load_dataset(cfg.dataset, "train", data_dir=cfg.data_dir)
    x_test, y_test = load_dataset(cfg.dataset, "test", data_dir=cfg.data_dir)
    if cfg.dataset == "fashion-mnist":
        # the authors' preprocessing: each image scaled to mean pixel 30 (rounded, clipped)
        x_train = normalize_mean_intensity(x_train, 30.0, quantize=True)
        x_test = normalize_mean_intensity(x_test, 30.0, quantize=True)
    if cfg.n_validation >= len(y_train):
        raise ValueError(f"n_validation={cfg.n_validation} leaves no training samples "
                         f"(the training split has {len(y_train)})")
    train_idx, val_idx = train_validation_split(len(y_train), cfg.n_validation, cfg.seed)
    rng = np.random.default_rng([cfg.seed, 1])
    train_idx = rng.permutation(train_idx)
    unused_idx = train_idx[:0]
    if cfg.n_train is not None:
        if cfg.n_train > len(train_idx):
            raise ValueError(f"n_train={cfg.n_train} exceeds the {len(train_idx)} training samples available")
        train_idx, unused_idx = train_idx[: cfg.n_train], train_idx[cfg.n_train:]
    n_test = len(y_test) if cfg.n_test is None else cfg.n_test
    if n_test > len(y_test):
        raise ValueError(f"n_test={n_test} exceeds the {len(y_test)} test samples")
    return dict(x_train=x_train, y_train=y_train, train_idx=train_idx, val_idx=val_idx,
                unused_idx=unused_idx, x_test_all=x_test, y_test_all=y_test,
                x_test=x_test[:n_test], y_test=y_test[:n_test])


def _evaluation_subset(cfg, data):
    """The fixed evaluation subset: (split name, description, images, labels, indices).

    Drawn once, from the seed: the first ``n_eval`` of a seeded permutation of
    the validation split if there is one, else of the training samples the
    run does not train on, else of the test split.
    """
    if data["val_idx"].size:
        split, source, pool = "validation", "validation split", data["val_idx"]
        x, y = data["x_train"], data["y_train"]
    elif data["unused_idx"].size:
        split, source, pool = ("unused-train", "training-split samples this run does not train on",
                               np.sort(data["unused_idx"]))
        x, y = data["x_train"], data["y_train"]
    else:
        split, source, pool = ("test", "test split (no validation split and every training sample "
                                       "is trained on); monitor with it, do not tune on it: "
                                       "use --n-validation for tuning", np.arange(len(data["y_test_all"])))
        x, y = data["x_test_all"], data["y_test_all"]
    idx = np.sort(np.random.default_rng([cfg.seed, 5]).permutation(pool)[: cfg.n_eval])
    return split, source, x[idx], y[idx].astype(np.int64), idx


def _validate(cfg):
    from bioplastic.symstdp.device.engine import DEVICES
    from bioplastic.symstdp.params import DATASETS

    if cfg.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}")
    if cfg.device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {cfg.device!r}")
    for name in ("n_hidden", "epochs", "chunk_size", "threads", "n_eval"):
        v = getattr(cfg, name)
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    for name in ("n_train", "n_test"):
        v = getattr(cfg, name)
        if v is not None and (int(v) != v or v < 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if cfg.n_validation < 0:
        raise ValueError("n_validation must be non-negative")
    if cfg.eval_every is not None and (int(cfg.eval_every) != cfg.eval_every or cfg.eval_every < 0):
        raise ValueError(f"eval_every must be a non-negative integer (0 = off), got {cfg.eval_every!r}")
    from bioplastic.symstdp.models import resolve_model

    resolve_model(cfg.model, cfg.dataset, cfg.n_hidden, cfg.parameter_set)  # a clear error for a bad model
    if cfg.evaluation not in ("sequential", "independent"):
        raise ValueError(f"evaluation must be 'sequential' or 'independent', got {cfg.evaluation!r}")
    if isinstance(cfg.eval_workers, bool) or int(cfg.eval_workers) != cfg.eval_workers or cfg.eval_workers < 1:
        raise ValueError(f"eval_workers must be a positive integer, got {cfg.eval_workers!r}")
    if cfg.eval_workers > 1 and cfg.evaluation != "independent":
        raise ValueError("eval_workers > 1 needs evaluation='independent' (only then does a sample's "
                         "result not depend on the samples evaluated before it)")
    if cfg.hidden_from is not None:
        _hidden_layer_source(cfg)


def _hidden_layer_source(cfg):
    """``(w_input_hidden, theta_mV)`` of the finished run ``cfg.hidden_from``, checked
    against ``cfg``; a :class:`~bioplastic.runs.RunError` says what does not fit."""
    src = Path(cfg.hidden_from)
    what = f"--hidden-from {src}"
    for name in ("run.json", "weights.npz"):
        if not (src / name).is_file():
            raise runs.RunError(f"{what}: {src / name} does not exist (it must name a finished run)")
    try:
        record = runs.read_json(src / "run.json")
        weights = runs.load_npz(src / "weights.npz")
    except (OSError, ValueError, KeyError) as err:
        raise runs.RunError(f"{what}: cannot read the run ({err})") from err
    src_cfg = record.get("config", {})
    mine = {"dataset": cfg.dataset, "n_hidden": cfg.n_hidden, "seed": cfg.seed,
            "n_validation": cfg.n_validation}
    theirs = {k: src_cfg.get(k, record.get(k)) for k in mine}
    diff = [f"{k} {theirs[k]!r} there, {mine[k]!r} here" for k in mine if theirs[k] != mine[k]]
    if diff:
        raise runs.RunError(f"{what}: the run does not match this one ({'; '.join(diff)}); the hidden "
                            "layer must come from a run with the same data set, N_E, seed and "
                            "validation split")
    w, theta = weights.get("w_input_hidden"), weights.get("theta_mV")
    if w is None or theta is None or w.shape != (784, cfg.n_hidden) or theta.shape != (cfg.n_hidden,):
        raise runs.RunError(f"{what}: weights.npz lacks w_input_hidden (784, {cfg.n_hidden}) or "
                            f"theta_mV ({cfg.n_hidden},)")
    if not (np.isfinite(w).all() and np.isfinite(theta).all()):
        raise runs.RunError(f"{what}: weights.npz holds NaN or infinite values")
    return w, theta


def _phase_seed(run_seed, tag, epoch, base):
    from bioplastic.symstdp.device.engine import chunk_seed

    return lambda i: chunk_seed(run_seed * 1000003 + tag * 1009 + epoch, base + i)


def test_phase_seeds(run_seed):
    """``seed_of_chunk`` of the test phase of a run with *run_seed* (the estimator's predictions use it too)."""
    return _phase_seed(run_seed, 2, 0, 0)


# ---------------------------------------------------------------------------- state checks

def non_finite_variables(state) -> list:
    """``[(name, n_bad, size)]`` of the float arrays of ``state`` holding NaN or inf."""
    bad = []
    for key, value in state.items():
        a = np.asarray(value)
        if a.dtype.kind in "fc":
            n_bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            if n_bad:
                bad.append((key, n_bad, int(a.size)))
    return bad


def _describe_bad(bad):
    return ", ".join(f"{k} ({n} of {size} values NaN or infinite)" for k, n, size in bad)


def _check_checkpoint_state(state, expected, path, record):
    """Refuse a checkpoint that does not fit this model or holds garbage."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(state) & set(expected)
                    if np.shape(state[k]) != np.shape(expected[k]))
    if missing or extra or shapes:
        versions = record.get("versions", {}) if isinstance(record, dict) else {}
        from bioplastic import __version__

        parts = []
        if missing:
            parts.append("lacks " + ", ".join(missing))
        if extra:
            parts.append("holds variables this model does not have: " + ", ".join(extra))
        if shapes:
            parts.append("has other shapes for " + ", ".join(
                f"{k} {np.shape(state[k])} (model {np.shape(expected[k])})" for k in shapes))
        raise runs.RunError(
            f"checkpoint {path} does not fit the network this code builds: it "
            + "; ".join(parts)
            + f" (run recorded with bioplastic {versions.get('bioplastic', '?')}, this is "
            f"{__version__}); continue it with the code that started it, or start a new run")
    bad = non_finite_variables(state)
    if bad:
        raise NonFiniteStateError(
            f"checkpoint {path} is corrupt: {_describe_bad(bad)}; it cannot be continued. "
            "Remove the checkpoint folder to start the run over, or use another --out")


# ---------------------------------------------------------------------------- checkpoints

def _save_checkpoint(out, state, progress):
    arrays = {f"state/{k}": v for k, v in state.items()}
    arrays["progress_json"] = np.array(json.dumps(progress))
    (out / CHECKPOINT).parent.mkdir(exist_ok=True)
    runs.save_npz(out / CHECKPOINT, compress=False, **arrays)


def _chunk_counts_path(out, chunk):
    return out / TRAIN_COUNTS / f"chunk_{chunk:06d}.npz"


def _recent_training_counts(out, n_chunks, n_assign, n_hidden):
    """The last ``n_assign`` training responses, read back from the per-chunk files."""
    counts, labels, total = [], [], 0
    for chunk in range(n_chunks - 1, -1, -1):
        if total >= n_assign:
            break
        path = _chunk_counts_path(out, chunk)
        try:
            d = runs.load_npz(path)
        except (OSError, ValueError) as err:
            raise runs.RunError(f"cannot resume: the training responses {path} are missing or "
                                f"unreadable ({err}); the neuron assignments need them") from err
        counts.insert(0, d["hidden_counts"])
        labels.insert(0, d["labels"].astype(np.int64))
        total += len(d["labels"])
    if not counts:
        return np.zeros((0, n_hidden), dtype=np.uint16), np.zeros(0, dtype=np.int64)
    return np.vstack(counts)[-n_assign:], np.concatenate(labels)[-n_assign:]


def _load_checkpoint(out):
    path = out / CHECKPOINT
    if not path.exists():
        return None
    try:
        arrays = runs.load_npz(path)
        progress = json.loads(str(arrays.pop("progress_json")))
    except Exception as err:  # corrupt: say so rather than start over silently
        raise runs.RunError(f"checkpoint {path} is unreadable ({err}); remove it to start over") from err
    state = {k[len("state/"):]: v for k, v in arrays.items() if k.startswith("state/")}
    # checkpoints of earlier versions lack the evaluation schedule
    progress.setdefault("evaluations", [])
    return state, progress


# ---------------------------------------------------------------------------- signals

class _StopSignals:
    """SIGINT/SIGTERM -> KeyboardInterrupt, held back while the run writes its files.

    Installed only in the main thread (Python delivers signals there).
    """

    def __init__(self):
        self.signum = None
        self._deferring = False
        self._old = {}
        self.interrupt_message = "interrupted"

    def _handler(self, signum, frame):
        self.signum = signum
        if not self._deferring:
            raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        return False

    @contextlib.contextmanager
    def deferred(self):
        """Hold signals back for the block; honour one that came once it is done."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.signum is not None:
            raise KeyboardInterrupt

    @property
    def name(self):
        return signal.Signals(self.signum).name if self.signum is not None else "KeyboardInterrupt"


def _resume_command(command):
    argv = list(command)
    if argv and argv[0].endswith(".py"):
        argv = ["python"] + argv
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(argv)


def _write_failure(out, err, kept_samples, resume_cmd, what):
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        import shutil

        with contextlib.suppress(OSError):
            free = shutil.disk_usage(out).free / 2**20
            where += f"; {free:.0f} MiB free on its file system"
        reason = "the disk is full"
    else:
        reason = err.strerror or str(err)
    return (f"could not write {what} in {out}: {reason}{where}. The last checkpoint "
            f"({kept_samples} samples learned) is intact. Free some space (or fix the cause) "
            f"and continue with:\n  {resume_cmd}")


def params_differences(recorded, params_now):
    """``(changed, added)`` between two nested ``params_as_strings`` dicts.

    *changed*: ``"table.field (recorded A, now B)"`` for every value that
    differs; *added*: the names present in only one of them (parameters the
    code gained or lost since the record was written).
    """
    changed, added = [], []

    def walk(a, b, prefix):
        for k in sorted(set(a) | set(b)):
            name = f"{prefix}{k}"
            if k not in a or k not in b:
                added.append(name)
            elif isinstance(a[k], dict) and isinstance(b[k], dict):
                walk(a[k], b[k], name + ".")
            elif a[k] != b[k]:
                changed.append(f"{name} (recorded {a[k]!r}, now {b[k]!r})")

    walk(recorded, params_now, "")
    return changed, added


def _check_params_unchanged(record, params_now, out):
    """Resuming with code whose default parameters changed would silently change the model."""
    changed, added = params_differences(record.get("params", {}), params_now)
    if changed:
        raise runs.RunError(
            f"cannot resume {out}: the model parameters differ from the recorded run (the code "
            f"changed since it started?): {', '.join(changed)}. Restore them with "
            f"--param TABLE.FIELD=VALUE, or continue with the code that started the run")
    return added


def run_supervised(cfg: ExperimentConfig, resume: bool = False, command=None) -> dict:
    """Train the network on the training split and test it; write the run directory.

    Parameters
    ----------
    cfg : ExperimentConfig
    resume : bool
        Continue from ``cfg.out``'s checkpoint (the config must match the
        run record's).
    command : list of str, optional
        Command line to record (default ``sys.argv``).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Raises
    ------
    RunInterrupted
        Stopped by SIGINT or SIGTERM; the message says how to continue.
    NonFiniteStateError
        A chunk produced NaN/inf state (nothing of it written), or the
        checkpoint to resume from holds such values.
    bioplastic.runs.RunLockedError
        Another process is using the run directory.
    bioplastic.runs.RunError
        Any other problem with the run directory (options differ from the
        recorded run, a write failed, ...).
    """
    from bioplastic.symstdp.models import resolve_model
    from bioplastic.symstdp.params import params_as_strings

    _validate(cfg)
    command = list(command if command is not None else sys.argv)
    params, net_model = resolve_model(cfg.model, cfg.dataset, cfg.n_hidden, cfg.parameter_set,
                                      dict(cfg.overrides))
    out = Path(cfg.out)
    # room for a checkpoint being replaced (old + new copy of the weights) and the results
    n_weights = params.n_input * params.n_hidden + 2 * params.n_hidden * params.label.n_classes
    runs.check_writable(out, min_free_bytes=50 * 2**20 + 3 * 8 * n_weights)
    with runs.lock_run_directory(out), _StopSignals() as stop:
        try:
            return _run_locked(cfg, resume, command, params, out, stop,
                               params_as_strings(params))
        except KeyboardInterrupt:
            raise RunInterrupted(stop.interrupt_message) from None


def _run_locked(cfg, resume, command, params, out, stop, params_strings):
    t_start = time.perf_counter()
    record_path = out / "run.json"
    ckpt = None
    extended = {}
    resume_cmd = _resume_command(command)
    stop.interrupt_message = (
        f"interrupted before training continued; nothing changed. Continue with:\n  {resume_cmd}"
        if resume else f"interrupted before training started. Start again with:\n  {shlex.join(command)}")
    if resume:
        if not record_path.exists():
            raise runs.RunError(f"cannot resume: {record_path} does not exist")
        try:
            old = runs.read_json(record_path)
        except (OSError, ValueError) as err:
            raise runs.RunError(f"cannot resume: {record_path} is unreadable ({err})") from err
        old_cfg = old.get("config", {})
        defaults = {f.name: f.default for f in fields(ExperimentConfig)}
        mine = config_record(cfg)
        recorded = {k: old_cfg.get(k, json.loads(json.dumps(defaults[k]))) for k in mine}
        diff = {k for k in mine if k not in _RESUMABLE_CHANGES + _EXTENDABLE and recorded[k] != mine[k]}
        extended = {k: (recorded[k], mine[k]) for k in _EXTENDABLE if recorded[k] != mine[k]}
        if diff:
            raise runs.RunError(
                f"cannot resume {out}: options differ from the recorded run: "
                + ", ".join(f"{k} (recorded {recorded[k]!r}, now {mine[k]!r})" for k in sorted(diff)))
        added = _check_params_unchanged(old, params_strings, out)
        if added:
            _log(cfg, f"[bioplastic] note: parameters {', '.join(added)} are new or gone since the run "
                      f"was recorded; continuing with this code's values")
        from bioplastic import __version__

        old_version = old.get("versions", {}).get("bioplastic")
        if old_version and old_version != __version__:
            _log(cfg, f"[bioplastic] note: the run was started with bioplastic {old_version}, "
                      f"this is {__version__}")
        ckpt = _load_checkpoint(out)
        if ckpt is None:
            _log(cfg, f"[bioplastic] no checkpoint in {out}; starting from the beginning")
        else:
            bad = non_finite_variables(ckpt[0])
            if bad:  # say so before loading data and building the network
                raise NonFiniteStateError(
                    f"checkpoint {out / CHECKPOINT} is corrupt: {_describe_bad(bad)}; it cannot "
                    "be continued. Remove the checkpoint folder to start the run over, or use "
                    "another --out")
            progress = ckpt[1]
            if cfg.epochs < progress["epoch"]:
                raise runs.RunError(
                    f"cannot resume {out} with --epochs {cfg.epochs}: it has already completed "
                    f"{progress['epoch']} epochs")
            progress["done"] = progress["epoch"] >= cfg.epochs
            if progress["done"] and not extended and (out / "metrics.json").exists():
                _log(cfg, f"[bioplastic] {out} is complete ({progress['epoch']} epochs, "
                          f"{progress['samples_seen']} samples learned); nothing to do. To train on, "
                          f"resume with a larger --epochs")
                return runs.read_json(out / "metrics.json")
            if extended:
                old.setdefault("resumed", []).append({
                    "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command,
                    "samples_seen": progress["samples_seen"],
                    "changed": {k: {"from": a, "to": b} for k, (a, b) in extended.items()}})
                old["config"] = mine
                old["epochs"] = cfg.epochs
                _log(cfg, "[bioplastic] continuing with " + ", ".join(
                    f"{k} {b} (was {a})" for k, (a, b) in extended.items()))
    elif (out / CHECKPOINT).exists() or (out / "metrics.json").exists():
        raise runs.RunError(f"{out} already holds a run; use --resume to continue it or choose another --out")

    data = _load_data(cfg, params)
    train_idx, val_idx = data["train_idx"], data["val_idx"]
    y_test = data["y_test"]
    n_train = len(train_idx)
    total = n_train * cfg.epochs
    eval_split, eval_source, eval_x, eval_y, _ = _evaluation_subset(cfg, data)
    eval_every = (evaluation_every(total, len(eval_y)) if cfg.eval_every is None else int(cfg.eval_every))
    record = runs.new_record(
        "symstdp", _protocol_name(cfg.dataset, cfg.model), command, cfg.seed, config_record(cfg),
        device=cfg.device,
        threads=cfg.threads,
        float32=cfg.float32,
        float32_theta=cfg.float32_theta,
        dataset=cfg.dataset,
        n_input=params.n_input,
        n_hidden=params.n_hidden,
        n_label=params.label.n_classes,
        epochs=cfg.epochs,
        n_train=n_train,
        n_test=len(y_test),
        n_validation=len(val_idx),
        chunk_size=cfg.chunk_size,
        inhibition=cfg.inhibition,
        evaluation={"every": eval_every, "n_samples": int(len(eval_y)), "split": eval_split,
                    "source": eval_source},
        params=params_strings,
    )
    if ckpt is None:
        runs.write_json(record_path, record)
    elif extended:
        old["n_test"] = record["n_test"]
        old["evaluation"] = record["evaluation"]
        runs.write_json(record_path, old)

    engine = _engine(cfg, params)
    try:
        return _train_and_test(cfg, params, out, engine, ckpt, old if ckpt is not None else record,
                               data, stop, resume_cmd,
                               (eval_split, eval_source, eval_x, eval_y, eval_every), t_start)
    finally:
        engine.close()


def _train_and_test(cfg, params, out, engine, ckpt, record, data, stop, resume_cmd, evaluation, t_start):
    """Train (from the start or the checkpoint ``ckpt``), then validate and test; write the results."""
    n_train = len(data["train_idx"])
    n_cls = params.label.n_classes
    _log(cfg, f"[bioplastic] {cfg.device}: network ready in {engine.build_seconds:.1f} s "
              f"(N_E = {cfg.n_hidden}, K = {cfg.chunk_size})")
    n_assign = min(cfg.n_assign, n_train * cfg.epochs)
    tally = readout.RollingAssignment(cfg.n_hidden, n_cls, n_assign)
    state, progress = _starting_point(cfg, engine, ckpt, out, record, tally, n_assign)
    if ckpt is not None and (out / "evaluations.csv").exists():
        _merge_earlier_final_evaluations(out, progress)
    evaluation = _SubsetEvaluation(cfg, params, engine, tally, n_train, *evaluation)
    training = _Training(cfg, params, out, engine, stop, resume_cmd, tally, evaluation, n_train,
                         state, progress)
    state, progress = training.run(data)
    return _validate_and_test(cfg, params, out, engine, stop, resume_cmd, state, progress,
                              tally.assignments(), data, t_start)


def _starting_point(cfg, engine, ckpt, out, record, tally, n_assign):
    """The state and progress training starts from: the initial ones, or the checkpoint's.

    From a checkpoint, the neuron-assignment ``tally`` gets back the last
    ``n_assign`` training responses, read from the per-chunk files.
    """
    if ckpt is None:
        state = engine.initial_state()
        if cfg.hidden_from is not None:
            _load_hidden_layer(cfg, engine, state)
        progress = {"epoch": 0, "position": 0, "carried": 0, "chunk": 0, "samples_seen": 0,
                    "windows": 0, "train_seconds": 0.0, "training_rows": [], "snapshots": [],
                    "evaluations": [], "done": False}
        return state, progress
    state, progress = ckpt
    _check_checkpoint_state(state, engine.initial_state(), out / CHECKPOINT, record)
    tally.add(*_recent_training_counts(out, progress["chunk"], n_assign, cfg.n_hidden))
    _log(cfg, f"[bioplastic] resuming at epoch {progress['epoch'] + 1}, sample "
              f"{progress['position']} ({progress['samples_seen']} samples learned)")
    return state, progress


def _load_hidden_layer(cfg, engine, state):
    """Put the hidden layer of the run ``cfg.hidden_from`` into the initial ``state``.

    From that run's final checkpoint when it has one (SI values, exact), else
    from its ``weights.npz`` (theta in mV: within one rounding of the volts).
    """
    from bioplastic.symstdp.network import state_key

    m = engine.model
    k_w, k_theta = state_key(m.input_hidden, "w"), state_key(m.excitatory, "theta")
    w, theta_mV = _hidden_layer_source(cfg)  # checked, also when the checkpoint is used
    w, theta = np.asarray(w, dtype=float).ravel(), np.asarray(theta_mV, dtype=float) * 1e-3
    ckpt = _load_checkpoint(Path(cfg.hidden_from))
    source = "weights.npz"
    if ckpt is not None and ckpt[1].get("done", True) is not False and k_w in ckpt[0] and k_theta in ckpt[0]:
        if ckpt[0][k_w].shape == w.shape and np.allclose(ckpt[0][k_w], w, rtol=0, atol=1e-12):
            w, theta, source = ckpt[0][k_w], ckpt[0][k_theta], "its final checkpoint"
    state[k_w] = np.array(w, dtype=float)
    state[state_key(m.excitatory, "wsum")] = state[k_w].reshape(-1, cfg.n_hidden).sum(axis=0)
    state[k_theta] = np.array(theta, dtype=float)
    _log(cfg, f"[bioplastic] layer by layer: hidden layer (input weights, theta) from {cfg.hidden_from} "
              f"({source}), frozen; only the label pathway learns")


def _kept_snapshots(snap_path, progress):
    """The snapshots the checkpoint knows of (a later one may have been written
    just before the process was stopped); empty if there are none."""
    if snap_path.exists() and progress["snapshots"]:
        return {k: v[: len(progress["snapshots"])] for k, v in runs.load_npz(snap_path).items()}
    return {}


def _merge_earlier_final_evaluations(out, progress):
    """Put back into ``progress`` the final evaluations of the epochs a run had
    before it was resumed with more (they are in ``evaluations.csv`` only)."""
    earlier = runs.read_table(out / "evaluations.csv")
    earlier = earlier[earlier["kind"] == "final"] if "kind" in earlier else earlier.iloc[:0]
    known = {(r["samples_seen"], r["split"], r["kind"]) for r in progress["evaluations"]}
    for r in json.loads(earlier.to_json(orient="records")):
        if r["samples_seen"] < progress["samples_seen"] or not progress["done"]:
            if (r["samples_seen"], r["split"], r["kind"]) not in known:
                progress["evaluations"].append(r)
    progress["evaluations"].sort(key=lambda r: r["samples_seen"])


def _write_evaluations(out, rows):
    runs.save_table(out / "evaluations.csv", pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS)))


class _SubsetEvaluation:
    """The evaluations during training: the fixed subset, learning off, on a copy of the state.

    ``split``, ``source``, ``x``, ``y`` and ``every`` are those of
    :func:`_evaluation_subset` and ``ExperimentConfig.eval_every`` (0: none).
    The neuron-assignment readout uses the assignments of the moment, from
    ``tally``.  The k-th evaluation of the run runs with the seeds of phase
    tag 4, epoch k, whatever training did before: the evaluations do not touch
    the random streams of training.
    """

    def __init__(self, cfg, params, engine, tally, n_train, split, source, x, y, every):
        from bioplastic.symstdp.training import pixel_rates

        self.cfg, self.engine, self.tally, self.n_train = cfg, engine, tally, n_train
        self.n_cls = params.label.n_classes
        self.split, self.labels, self.every = split, y, every
        if every:
            _log(cfg, f"[bioplastic] evaluating every {every} training samples on {len(y)} "
                      f"samples of the {source}")
        self.rates = pixel_rates(x, params.input)

    def due(self, rows, seen, done):
        """Whether an evaluation runs once ``seen`` samples are learned (``rows``: those so far)."""
        last = rows[-1]["samples_seen"] if rows else 0
        return bool(self.every and seen > last and (seen // self.every > last // self.every or done))

    def __call__(self, state, seen, rows):
        """Evaluate ``state`` after ``seen`` samples learned; return the row of ``evaluations.csv``."""
        cfg, y, n_cls = self.cfg, self.labels, self.n_cls
        k = sum(r.get("kind") == "during-training" for r in rows)
        t0 = time.perf_counter()
        res = _evaluate(cfg, self.engine, state, self.rates, y, _SUBSET_IDS + np.arange(len(y)),
                        _phase_seed(cfg.seed, 4, k, 0))
        row = {
            "samples_seen": int(seen), "split": self.split,
            "accuracy_supervised": readout.accuracy(readout.supervised_predictions(res.label_counts), y),
            "accuracy_assignment": readout.accuracy(
                readout.assignment_predictions(res.hidden_counts, self.tally.assignments(), n_cls), y),
            "n_samples": int(len(y)), "epoch": seen / self.n_train, "kind": "during-training",
            "wall_seconds": time.perf_counter() - t0,
        }
        _log(cfg, f"[eval] {seen} samples learned: {self.split} subset ({len(y)}): supervised "
                  f"{row['accuracy_supervised']:.4f}, assignment {row['accuracy_assignment']:.4f} "
                  f"({row['wall_seconds']:.1f} s)")
        return row


def _progress_after_chunk(progress, ch, epoch, chunk_no, acc, epoch_length, epochs):
    """The progress record once chunk ``ch`` is learned (``progress``: before it; not changed)."""
    t_chunk = ch.wall_seconds
    new = dict(progress)
    new["training_rows"] = progress["training_rows"] + [{
        "chunk": chunk_no, "epoch": epoch, "samples_seen": progress["samples_seen"] + len(ch.sample),
        "n_samples": int(len(ch.sample)), "n_presentations": int(ch.n_presentations.sum()),
        "train_accuracy_assignment": acc, "wall_seconds": t_chunk,
        "samples_per_second": len(ch.sample) / t_chunk if t_chunk > 0 else float("nan"),
    }]
    new["samples_seen"] = progress["samples_seen"] + len(ch.sample)
    new["windows"] = progress["windows"] + ch.n_windows
    new["train_seconds"] = progress["train_seconds"] + t_chunk
    new["position"] = ch.position
    new["carried"] = 0  # (a resumed pending sample restarts its presentation count)
    new["chunk"] = chunk_no + 1
    if ch.position >= epoch_length:
        new["epoch"] = epoch + 1
        new["position"] = 0
        new["done"] = new["epoch"] >= epochs
    return new


class _Training:
    """The training phase: the epochs' chunks, each checked, counted, evaluated and written.

    ``state`` and ``progress`` are where training stands (the checkpoint on
    disk holds ``kept`` samples learned); :meth:`run` trains to the end and
    returns them.
    """

    def __init__(self, cfg, params, out, engine, stop, resume_cmd, tally, evaluation, n_train,
                 state, progress):
        self.cfg, self.params, self.out, self.engine = cfg, params, out, engine
        self.stop, self.resume_cmd, self.tally, self.evaluation = stop, resume_cmd, tally, evaluation
        self.state, self.progress = state, progress
        self.n_cls = params.label.n_classes
        self.kept = progress["samples_seen"]  # samples learned in the checkpoint on disk
        stop.interrupt_message = (f"interrupted; the last checkpoint ({self.kept} samples learned) "
                                  f"is intact. Continue with:\n  {resume_cmd}")
        self.snap_path = out / "snapshots.npz"
        self.snapshots = _kept_snapshots(self.snap_path, progress)
        self.snap_every = max(1, n_train * cfg.epochs // max(cfg.snapshots, 1))

    def run(self, data):
        """Train on ``data`` until the last epoch is done; return ``(state, progress)``."""
        while not self.progress["done"]:
            self._epoch(data["x_train"], data["y_train"], data["train_idx"])
        return self.state, self.progress

    def _epoch(self, x_train, y_train, train_idx):
        """Train on the rest of the current epoch (all of it, unless resumed in its middle)."""
        from bioplastic.symstdp.training import iterate_phase, pixel_rates

        cfg, progress = self.cfg, self.progress
        epoch = progress["epoch"]
        order = train_idx if epoch == 0 else np.random.default_rng([cfg.seed, 2, epoch]).permutation(train_idx)
        rates = pixel_rates(x_train[order], self.params.input)
        labels = y_train[order].astype(np.int64)
        seeds = _phase_seed(cfg.seed, 1, epoch, progress["chunk"])
        t_epoch = time.perf_counter()
        seen0 = progress["position"]
        learning = "label" if self.cfg.hidden_from is not None else True
        for state, ch in iterate_phase(self.engine, self.state, rates, labels, learning, seeds,
                                       start=progress["position"],
                                       carried_presentations=progress["carried"]):
            self.state = state
            acc = self._learned(state, ch, epoch, order, labels)
            rate = (ch.position - seen0) / max(time.perf_counter() - t_epoch, 1e-9)
            eta = (len(labels) - ch.position) / rate if rate > 0 else float("nan")
            _log(cfg, f"[train] epoch {epoch + 1}/{cfg.epochs}  sample {ch.position}/{len(labels)}  "
                      f"{rate:.1f} samples/s  {1000 / max(rate, 1e-9):.2f} ms/sample  "
                      f"running acc {acc:.3f}  ETA {eta / 60:.1f} min")
            if self.progress["epoch"] != epoch:
                break

    def _running_accuracy(self, ch, labels):
        """Assignment readout of the chunk's samples, each predicted before it is learned."""
        if not len(self.tally):
            return float("nan")
        pred = readout.assignment_predictions(ch.hidden_counts, self.tally.assignments(), self.n_cls)
        return readout.accuracy(pred, labels[ch.sample]) if len(pred) else float("nan")

    def _learned(self, state, ch, epoch, order, labels):
        """Book chunk ``ch`` (its new ``state``): check, count, evaluate, write; return its accuracy."""
        progress = self.progress
        chunk_no = progress["chunk"]
        bad = non_finite_variables(state)
        if bad:
            raise NonFiniteStateError(
                f"training stopped: after chunk {chunk_no} (epoch {epoch + 1}, samples "
                f"{ch.position - len(ch.sample)}-{ch.position} of the epoch) the network state holds "
                f"{_describe_bad(bad)}. Nothing of this chunk was written; the last checkpoint "
                f"({self.kept} samples learned) is intact. The model became unstable: check --param "
                f"overrides (and --float32)")
        acc = self._running_accuracy(ch, labels)
        counts16 = np.minimum(ch.hidden_counts, 65535).astype(np.uint16)
        new = _progress_after_chunk(progress, ch, epoch, chunk_no, acc, len(labels), self.cfg.epochs)
        seen = new["samples_seen"]
        self.tally.add(counts16, labels[ch.sample])
        if self.evaluation.due(progress["evaluations"], seen, new["done"]):
            new["evaluations"] = progress["evaluations"] + [
                self.evaluation(state, seen, progress["evaluations"])]
        snap = (seen // self.snap_every) > len(progress["snapshots"]) - 1 or new["done"]
        if snap:
            new["snapshots"] = progress["snapshots"] + [seen]
        self._write_chunk(state, ch, epoch, chunk_no, order[ch.sample], labels[ch.sample], counts16,
                          new, snap)
        return acc

    def _write_chunk(self, state, ch, epoch, chunk_no, sample_index, labels, counts16, new, snap):
        """Write everything of a chunk; a signal meanwhile waits until it is written.

        The chunk's training responses and snapshot come first, then the
        checkpoint (from then on ``new`` is the progress, on disk as in
        memory), then the tables.
        """
        out, seen = self.out, new["samples_seen"]
        try:
            with self.stop.deferred():
                (out / TRAIN_COUNTS).mkdir(exist_ok=True)
                runs.save_npz(_chunk_counts_path(out, chunk_no), epoch=epoch,
                              sample_index=sample_index, labels=labels.astype(np.uint8),
                              hidden_counts=counts16,
                              label_counts=np.minimum(ch.label_counts, 65535).astype(np.uint16),
                              n_presentations=ch.n_presentations)
                if snap:
                    snapshots_new = dict(self.snapshots)
                    _add_snapshot(snapshots_new, state, self.engine, seen)
                    runs.save_npz(self.snap_path, **snapshots_new)
                _save_checkpoint(out, state, new)
                self.progress = new
                self.kept = seen
                if snap:
                    self.snapshots = snapshots_new
                self.stop.interrupt_message = (f"interrupted; the last checkpoint ({self.kept} samples "
                                               f"learned) is intact. Continue with:\n  {self.resume_cmd}")
                runs.save_table(out / "training.csv", pd.DataFrame(new["training_rows"]))
                _write_evaluations(out, new["evaluations"])
        except OSError as err:
            raise runs.RunError(_write_failure(out, err, self.kept, self.resume_cmd,
                                               f"the files of chunk {chunk_no}")) from err


def recompute_validation_counts(run_dir, build_dir=None) -> dict:
    """The validation responses of a finished run's final network, for runs that predate ``validation_counts.npz``.

    Rebuilds the run's network from ``run.json`` (model, parameters and
    their overrides, device, precision, seed), loads its final checkpoint and
    evaluates the validation split as the run did at its end (same phase
    seed: the same spikes), and writes ``validation_counts.npz`` into the run
    directory (atomically; an existing one is left alone).

    Parameters
    ----------
    run_dir : path
        A finished protocol run with a validation split (``--n-validation``).
    build_dir : path, optional
        Where to compile (default: the engine's build cache).

    Returns
    -------
    dict
        The validation metrics (``validation_accuracy_supervised``, ...).

    Raises
    ------
    bioplastic.runs.RunError
        If the run has no validation split, no checkpoint or no weights, or
        ``validation_counts.npz`` exists already.
    """
    from bioplastic.symstdp.models import model_from_record, resolve_model

    out = Path(run_dir)
    target = out / "validation_counts.npz"
    if target.exists():
        raise runs.RunError(f"{target} exists already; nothing recomputed")
    record = runs.read_json(out / "run.json")
    conf = dict(record["config"])
    if not conf.get("n_validation"):
        raise runs.RunError(f"{out} has no validation split (it ran without --n-validation)")
    conf["overrides"] = tuple(tuple(o) for o in conf.get("overrides", ()))
    conf["model"] = model_from_record(conf.get("model"))
    cfg = ExperimentConfig(**{k: v for k, v in conf.items() if k in {f.name for f in fields(ExperimentConfig)}})
    params, _ = resolve_model(cfg.model, cfg.dataset, cfg.n_hidden, cfg.parameter_set, dict(cfg.overrides))
    from bioplastic.symstdp.params import params_as_strings

    changed, _ = params_differences(record.get("params", {}), json.loads(json.dumps(params_as_strings(params))))
    if changed:   # another network than the run's: not its spikes
        raise runs.RunError(f"{out} was made with model parameters this code does not build "
                            f"({', '.join(changed)}); its validation responses cannot be recomputed here")
    ckpt = _load_checkpoint(out)
    if ckpt is None or not (out / "weights.npz").exists():
        raise runs.RunError(f"{out} has no final checkpoint and weights.npz (not a finished run)")
    state, progress = ckpt
    engine = _engine(cfg, params, build_dir)
    try:
        data = _load_data(cfg, params)
        assignments = runs.load_npz(out / "weights.npz")["assignments"]
        validation, _, counts = _final_validation(cfg, params, engine, state, data, assignments,
                                                  progress["samples_seen"], len(data["train_idx"]))
    finally:
        engine.close()
    runs.save_npz(target, **counts)
    return validation


def _final_validation(cfg, params, engine, state, data, assignments, samples_seen, n_train):
    """The whole validation split after training: ``(metrics, rows of evaluations.csv, counts)``.

    ``counts``: the arrays of ``validation_counts.npz`` (None without a validation split).
    """
    from bioplastic.symstdp.training import pixel_rates

    val_idx, x_train, y_train = data["val_idx"], data["x_train"], data["y_train"]
    if not len(val_idx):
        return {}, [], None
    _log(cfg, f"[bioplastic] validating on {len(val_idx)} held-out training samples")
    t_val = time.perf_counter()
    val = _evaluate(cfg, engine, state, pixel_rates(x_train[val_idx], params.input),
                    y_train[val_idx].astype(np.int64), np.asarray(val_idx, dtype=np.int64),
                    _phase_seed(cfg.seed, 3, 0, 0))
    y_val = y_train[val_idx]
    validation = {
        "validation_accuracy_supervised": readout.accuracy(
            readout.supervised_predictions(val.label_counts), y_val),
        "validation_accuracy_assignment": readout.accuracy(
            readout.assignment_predictions(val.hidden_counts, assignments, params.label.n_classes),
            y_val),
        "n_validation": int(len(val_idx)),
    }
    row = {"samples_seen": samples_seen, "split": "validation",
           "accuracy_supervised": validation["validation_accuracy_supervised"],
           "accuracy_assignment": validation["validation_accuracy_assignment"],
           "n_samples": int(len(val_idx)), "epoch": samples_seen / n_train,
           "kind": "final", "wall_seconds": time.perf_counter() - t_val}
    _log(cfg, f"[bioplastic] validation accuracy: supervised "
              f"{validation['validation_accuracy_supervised']:.4f}, assignment "
              f"{validation['validation_accuracy_assignment']:.4f}")
    counts = {"hidden_counts": val.hidden_counts, "label_counts": val.label_counts,
              "labels": y_val.astype(np.uint8), "sample_index": np.asarray(val_idx, dtype=np.int64)}
    return validation, [row], counts


def _test_samples_table(test, y_test, pred_sup, pred_asg, n_cls):
    """``test_samples.csv``: one row per test sample."""
    table = pd.DataFrame({
        "sample_index": np.arange(len(y_test)), "label": y_test.astype(int),
        "pred_supervised": pred_sup, "pred_assignment": pred_asg,
        "n_hidden_spikes": test.hidden_counts.sum(axis=1).astype(int),
        "n_presentations": test.n_presentations, "intensity": test.intensity,
    })
    for c in range(n_cls):
        table[f"label_count_{c}"] = test.label_counts[:, c].astype(int)
    return table


def _validate_and_test(cfg, params, out, engine, stop, resume_cmd, state, progress, assignments,
                       data, t_start):
    """After training: validate, test, write the results; return the metrics."""
    from bioplastic.symstdp.training import pixel_rates

    x_test, y_test = data["x_test"], data["y_test"]
    n_train = len(data["train_idx"])
    n_cls = params.label.n_classes
    validation, final_rows, val_counts = _final_validation(cfg, params, engine, state, data, assignments,
                                                           progress["samples_seen"], n_train)

    _log(cfg, f"[bioplastic] testing on {len(y_test)} samples")
    t_test = time.perf_counter()
    seeds = test_phase_seeds(cfg.seed)
    test = _evaluate(
        cfg, engine, state, pixel_rates(x_test, params.input), y_test.astype(np.int64),
        _TEST_IDS + np.arange(len(y_test)), seeds,
        progress=(lambda d, n, r: _log(cfg, f"[test] {d}/{n}  {r:.1f} samples/s")))
    test_seconds = time.perf_counter() - t_test
    pred_sup = readout.supervised_predictions(test.label_counts)
    pred_asg = readout.assignment_predictions(test.hidden_counts, assignments, n_cls)
    acc_sup = readout.accuracy(pred_sup, y_test)
    acc_asg = readout.accuracy(pred_asg, y_test)
    final_rows.append({"samples_seen": progress["samples_seen"], "split": "test",
                       "accuracy_supervised": acc_sup, "accuracy_assignment": acc_asg,
                       "n_samples": int(len(y_test)), "epoch": progress["samples_seen"] / n_train,
                       "kind": "final", "wall_seconds": test_seconds})

    from bioplastic.symstdp.network import weight_arrays

    learned = weight_arrays(state, params)
    table = _test_samples_table(test, y_test, pred_sup, pred_asg, n_cls)
    train_seconds = progress["train_seconds"]
    metrics = {
        "test_accuracy_supervised": acc_sup,
        "test_accuracy_assignment": acc_asg,
        "n_train": progress["samples_seen"],
        "n_train_per_epoch": n_train,
        "n_test": int(len(y_test)),
        "epochs": cfg.epochs,
        "wall_seconds": time.perf_counter() - t_start,
        "build_seconds": engine.build_seconds,
        "train_wall_seconds": train_seconds,
        "test_wall_seconds": test_seconds,
        "ms_per_train_sample": 1000 * train_seconds / max(progress["samples_seen"], 1),
        "train_windows": progress["windows"],
        "test_windows": test.n_windows,
        "device": cfg.device,
        "threads": cfg.threads,
        **validation,
    }
    try:
        with stop.deferred():
            runs.save_npz(out / "weights.npz", assignments=assignments, **learned)
            runs.save_npz(out / "test_counts.npz", hidden_counts=test.hidden_counts,
                          label_counts=test.label_counts, labels=y_test.astype(np.uint8),
                          sample_index=np.arange(len(y_test), dtype=np.int64),
                          images=np.asarray(x_test).round().clip(0, 255).astype(np.uint8))
            if val_counts is not None:   # the held-out responses: readouts are tuned on these
                runs.save_npz(out / "validation_counts.npz", **val_counts)
            runs.save_table(out / "test_samples.csv", table)
            _write_evaluations(out, progress["evaluations"] + final_rows)
            runs.write_json(out / "metrics.json", metrics)
    except OSError as err:
        raise runs.RunError(_write_failure(out, err, progress["samples_seen"], resume_cmd,
                                           "the test results")) from err
    try:
        record_raster(params, state, x_test[0], int(y_test[0]), out / "raster.npz", cfg)
    except Exception as err:  # a figure aid: never lose a finished run over it
        _log(cfg, f"[bioplastic] could not record the raster ({err})")
    _log(cfg, f"[bioplastic] test accuracy: supervised {acc_sup:.4f}, assignment {acc_asg:.4f} "
              f"({len(y_test)} samples); results in {out}")
    return metrics


def record_raster(params, state, image, label, path, cfg=None):
    """Record every spike of one test presentation (learning off) into ``raster.npz``.

    Runs one window of the trained network in Brian2's runtime mode (numpy
    target, no compilation) with spike monitors on all four layers, starting
    from the trained ``state``.  The spike times are relative to stimulus onset.

    Parameters
    ----------
    params : bioplastic.symstdp.params.ModelParams
    state : dict
        Chunk state (e.g. from the checkpoint) with the trained weights and theta.
    image : ndarray (28, 28)
    label : int
    path : path of the ``.npz`` to write
    cfg : ExperimentConfig, optional (for the seed and progress output)
    """
    from brian2 import SpikeMonitor, ms
    from brian2.devices import reinit_and_delete

    from bioplastic.symstdp.device.engine import Engine
    from bioplastic.symstdp.training import phase_start_state, pixel_rates

    reinit_and_delete()
    seed = cfg.seed if cfg is not None else 0
    eng = Engine(params, device="runtime", chunk_size=1, seed=seed, verbose=False,
                 inhibition=cfg.inhibition if cfg is not None else "pooled", runtime_target="numpy",
                 **(model_kwargs(cfg) if cfg is not None else {}))
    m = eng.model
    layers = {"input": m.input, "hidden": m.excitatory, "inhibitory": m.inhibitory, "label": m.label}
    monitors = {name: SpikeMonitor(group, record=True) for name, group in layers.items()}
    m.net.add(*monitors.values())
    run_state = phase_start_state(eng, {k: np.asarray(state[k]) for k in eng.initial_state()})
    eng.run_chunk(run_state, pixel_rates(np.asarray(image)[None], params.input), np.array([label]),
                  learning=False, seed=seed)
    arrays = {}
    for name, mon in monitors.items():
        arrays[f"{name}_i"] = np.asarray(mon.i[:], dtype=np.int64)
        arrays[f"{name}_t_ms"] = np.asarray(mon.t[:] / ms, dtype=float)
    arrays.update(label=np.int64(label), sample_index=np.int64(0),
                  t_present_ms=np.float64(params.input.t_present / ms),
                  t_rest_ms=np.float64(params.input.t_rest / ms))
    runs.save_npz(path, **arrays)
    reinit_and_delete()


def _add_snapshot(snapshots, state, engine, seen):
    from bioplastic.symstdp.network import state_key

    m = engine.model
    p = engine.params
    w = state[state_key(m.input_hidden, "w")].reshape(p.n_input, p.n_hidden).astype(np.float32)
    th = (state[state_key(m.excitatory, "theta")] * 1e3).astype(np.float32)
    if snapshots:
        snapshots["samples_seen"] = np.append(snapshots["samples_seen"], seen)
        snapshots["w_input_hidden"] = np.concatenate([snapshots["w_input_hidden"], w[None]])
        snapshots["theta_mV"] = np.concatenate([snapshots["theta_mV"], th[None]])
    else:
        snapshots["samples_seen"] = np.array([seen])
        snapshots["w_input_hidden"] = w[None]
        snapshots["theta_mV"] = th[None]
