"""The supervised experiment of Hao et al. (2020): train, checkpoint, test, write a run.

:func:`run_supervised` is what ``protocols/supervised_mnist.py`` and
``protocols/supervised_fashion_mnist.py`` call.  It writes a run directory
(``docs/run_format.rst``): ``run.json`` first, then after every training chunk
an atomic ``checkpoint/checkpoint.npz`` (state, position, seed, metrics so
far), the chunk's training responses ``train_counts/chunk_NNNNNN.npz`` and
``training.csv``, and at the end ``weights.npz``, ``test_counts.npz``,
``test_samples.csv`` and ``metrics.json``.  ``resume=True`` continues from
the last checkpoint: a run killed in the middle of a chunk loses at most that
chunk.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import readout, runs

__all__ = ["ExperimentConfig", "run_supervised"]

CHECKPOINT = Path("checkpoint") / "checkpoint.npz"
#: Per-chunk training responses (hidden and label counts of every sample learned).
TRAIN_COUNTS = Path("train_counts")


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
    device, threads, float32 : see :class:`bioplastic.engine.Engine`.
    chunk_size : windows per chunk, K.
    seed : run seed (initial weights, sample order, random streams).
    out : run directory.
    data_dir : data location (else ``$BIOPLASTIC_DATA`` or the cache).
    n_assign : last training samples whose responses give the neuron
        assignments (GeNN code: the last 60000).
    snapshots : number of weight snapshots kept over training.
    inhibition : "pooled" (default) or "all-to-all".
    overrides : pairs ("table.field", "value with unit"), e.g.
        ``(("label.teacher_rate", "100*Hz"),)``, applied to the variant's
        parameters (see :func:`bioplastic.params.with_overrides`).
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
    chunk_size: int = 250
    seed: int = 0
    out: str = "runs/latest"
    data_dir: str | None = None
    n_assign: int = 60000
    snapshots: int = 8
    inhibition: str = "pooled"
    overrides: tuple = ()
    verbose: bool = True


def _log(cfg, msg):
    if cfg.verbose:
        print(msg, flush=True)


def _load_data(cfg, params):
    from .datasets import load_dataset, normalize_mean_intensity, train_validation_split

    x_train, y_train = load_dataset(cfg.dataset, "train", data_dir=cfg.data_dir)
    x_test, y_test = load_dataset(cfg.dataset, "test", data_dir=cfg.data_dir)
    if cfg.dataset == "fashion-mnist":
        # the authors' preprocessing: each image scaled to mean pixel 30 (rounded, clipped)
        x_train = normalize_mean_intensity(x_train, 30.0, quantize=True)
        x_test = normalize_mean_intensity(x_test, 30.0, quantize=True)
    train_idx, val_idx = train_validation_split(len(y_train), cfg.n_validation, cfg.seed)
    rng = np.random.default_rng([cfg.seed, 1])
    train_idx = rng.permutation(train_idx)
    if cfg.n_train is not None:
        if cfg.n_train > len(train_idx):
            raise ValueError(f"n_train={cfg.n_train} exceeds the {len(train_idx)} training samples available")
        train_idx = train_idx[: cfg.n_train]
    n_test = len(y_test) if cfg.n_test is None else cfg.n_test
    if n_test > len(y_test):
        raise ValueError(f"n_test={n_test} exceeds the {len(y_test)} test samples")
    return x_train, y_train, train_idx, val_idx, x_test[:n_test], y_test[:n_test]


def _validate(cfg):
    from .engine import DEVICES
    from .params import DATASETS

    if cfg.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}")
    if cfg.device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {cfg.device!r}")
    for name in ("n_hidden", "epochs", "chunk_size", "threads"):
        if int(getattr(cfg, name)) != getattr(cfg, name) or getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be a positive integer, got {getattr(cfg, name)!r}")
    for name in ("n_train", "n_test"):
        v = getattr(cfg, name)
        if v is not None and (int(v) != v or v < 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if cfg.n_validation < 0:
        raise ValueError("n_validation must be non-negative")


def _phase_seed(run_seed, tag, epoch, base):
    from .engine import chunk_seed

    return lambda i: chunk_seed(run_seed * 1000003 + tag * 1009 + epoch, base + i)


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
        d = runs.load_npz(_chunk_counts_path(out, chunk))
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
    return state, progress


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
    """
    from .engine import Engine
    from .params import model_params, params_as_strings, with_overrides

    _validate(cfg)
    t_start = time.perf_counter()
    out = Path(cfg.out)
    runs.check_writable(out)
    params = with_overrides(model_params(cfg.dataset, cfg.n_hidden), dict(cfg.overrides))
    record_path = out / "run.json"
    ckpt = None
    if resume:
        if not record_path.exists():
            raise runs.RunError(f"cannot resume: {record_path} does not exist")
        old = runs.read_json(record_path)
        old_cfg = old.get("config", {})
        mine = json.loads(json.dumps(asdict(cfg)))
        diff = {k for k in mine if k not in ("out", "verbose", "data_dir", "threads") and old_cfg.get(k) != mine[k]}
        if diff:
            raise runs.RunError(
                f"cannot resume {out}: options differ from the recorded run: "
                + ", ".join(f"{k} (recorded {old_cfg.get(k)!r}, now {mine[k]!r})" for k in sorted(diff)))
        ckpt = _load_checkpoint(out)
        if ckpt is None:
            _log(cfg, f"[bioplastic] no checkpoint in {out}; starting from the beginning")
    elif (out / CHECKPOINT).exists() or (out / "metrics.json").exists():
        raise runs.RunError(f"{out} already holds a run; use --resume to continue it or choose another --out")

    x_train, y_train, train_idx, val_idx, x_test, y_test = _load_data(cfg, params)
    from .training import iterate_phase, pixel_rates, run_phase

    n_train = len(train_idx)
    record = {
        "format_version": runs.FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": list(command if command is not None else sys.argv),
        "seed": cfg.seed,
        "device": cfg.device,
        "threads": cfg.threads,
        "float32": cfg.float32,
        "dataset": cfg.dataset,
        "n_input": params.n_input,
        "n_hidden": params.n_hidden,
        "n_label": params.label.n_classes,
        "epochs": cfg.epochs,
        "n_train": n_train,
        "n_test": len(y_test),
        "n_validation": len(val_idx),
        "chunk_size": cfg.chunk_size,
        "inhibition": cfg.inhibition,
        "params": params_as_strings(params),
        "versions": runs.software_versions(),
        "config": asdict(cfg),
    }
    if ckpt is None:
        runs.write_json(record_path, record)

    engine = Engine(params, device=cfg.device, chunk_size=cfg.chunk_size, threads=cfg.threads,
                    float32=cfg.float32, inhibition=cfg.inhibition, seed=cfg.seed,
                    verbose=cfg.verbose)
    _log(cfg, f"[bioplastic] {cfg.device}: network ready in {engine.build_seconds:.1f} s "
              f"(N_E = {cfg.n_hidden}, K = {cfg.chunk_size})")
    n_assign = min(cfg.n_assign, n_train * cfg.epochs)
    if ckpt is None:
        state = engine.initial_state()
        progress = {"epoch": 0, "position": 0, "carried": 0, "chunk": 0, "samples_seen": 0,
                    "windows": 0, "train_seconds": 0.0, "training_rows": [], "snapshots": [],
                    "done": False}
        tally = readout.RollingAssignment(cfg.n_hidden, params.label.n_classes, n_assign)
    else:
        state, progress = ckpt
        tally = readout.RollingAssignment(cfg.n_hidden, params.label.n_classes, n_assign)
        tally.add(*_recent_training_counts(out, progress["chunk"], n_assign, cfg.n_hidden))
        _log(cfg, f"[bioplastic] resuming at epoch {progress['epoch'] + 1}, sample "
                  f"{progress['position']} ({progress['samples_seen']} samples learned)")
    snapshots = {}
    snap_path = out / "snapshots.npz"
    if snap_path.exists() and progress["snapshots"]:
        snapshots = runs.load_npz(snap_path)
    total = n_train * cfg.epochs
    snap_every = max(1, total // max(cfg.snapshots, 1))

    # ---------------------------------------------------------------- training
    while not progress["done"]:
        epoch = progress["epoch"]
        order = train_idx if epoch == 0 else np.random.default_rng([cfg.seed, 2, epoch]).permutation(train_idx)
        rates = pixel_rates(x_train[order], params.input)
        labels = y_train[order].astype(np.int64)
        base = progress["chunk"]
        seeds = _phase_seed(cfg.seed, 1, epoch, base)
        t_epoch = time.perf_counter()
        seen0 = progress["position"]
        for state, ch in iterate_phase(engine, state, rates, labels, True, seeds,
                                       start=progress["position"], carried_presentations=progress["carried"]):
            t_chunk = ch.wall_seconds
            # running training accuracy: predict each sample before it is learned
            if len(tally):
                assign = tally.assignments()
                pred = readout.assignment_predictions(ch.hidden_counts, assign, params.label.n_classes)
                acc = readout.accuracy(pred, labels[ch.sample]) if len(pred) else float("nan")
            else:
                acc = float("nan")
            counts16 = np.minimum(ch.hidden_counts, 65535).astype(np.uint16)
            tally.add(counts16, labels[ch.sample])
            (out / TRAIN_COUNTS).mkdir(exist_ok=True)
            runs.save_npz(_chunk_counts_path(out, progress["chunk"]), epoch=epoch,
                          sample_index=order[ch.sample], labels=labels[ch.sample].astype(np.uint8),
                          hidden_counts=counts16,
                          label_counts=np.minimum(ch.label_counts, 65535).astype(np.uint16),
                          n_presentations=ch.n_presentations)
            progress["samples_seen"] += len(ch.sample)
            progress["windows"] += ch.n_windows
            progress["train_seconds"] += t_chunk
            progress["position"] = ch.position
            progress["carried"] = 0  # (a resumed pending sample restarts its presentation count)
            progress["chunk"] += 1
            progress["training_rows"].append({
                "chunk": progress["chunk"] - 1, "epoch": epoch, "samples_seen": progress["samples_seen"],
                "n_samples": int(len(ch.sample)), "n_presentations": int(ch.n_presentations.sum()),
                "train_accuracy_assignment": acc, "wall_seconds": t_chunk,
                "samples_per_second": len(ch.sample) / t_chunk if t_chunk > 0 else float("nan"),
            })
            if ch.position >= len(labels):
                progress["epoch"] += 1
                progress["position"] = 0
                progress["done"] = progress["epoch"] >= cfg.epochs
            seen = progress["samples_seen"]
            if (seen // snap_every) > len(progress["snapshots"]) - 1 or progress["done"]:
                _add_snapshot(snapshots, state, engine, seen)
                progress["snapshots"].append(seen)
                runs.save_npz(snap_path, **snapshots)
            _save_checkpoint(out, state, progress)
            runs.save_table(out / "training.csv", pd.DataFrame(progress["training_rows"]))
            rate = (ch.position - seen0) / max(time.perf_counter() - t_epoch, 1e-9)
            eta = (len(labels) - ch.position) / rate if rate > 0 else float("nan")
            _log(cfg, f"[train] epoch {epoch + 1}/{cfg.epochs}  sample {ch.position}/{len(labels)}  "
                      f"{rate:.1f} samples/s  {1000 / max(rate, 1e-9):.2f} ms/sample  "
                      f"running acc {acc:.3f}  ETA {eta / 60:.1f} min")
            if progress["epoch"] != epoch:
                break

    # ---------------------------------------------------------------- validation
    n_cls = params.label.n_classes
    assignments = tally.assignments()
    validation = {}
    if len(val_idx):
        _log(cfg, f"[bioplastic] validating on {len(val_idx)} held-out training samples")
        _, val = run_phase(engine, state, pixel_rates(x_train[val_idx], params.input),
                           y_train[val_idx].astype(np.int64), False, _phase_seed(cfg.seed, 3, 0, 0))
        y_val = y_train[val_idx]
        validation = {
            "validation_accuracy_supervised": readout.accuracy(
                readout.supervised_predictions(val.label_counts), y_val),
            "validation_accuracy_assignment": readout.accuracy(
                readout.assignment_predictions(val.hidden_counts, assignments, n_cls), y_val),
            "n_validation": int(len(val_idx)),
        }
        _log(cfg, f"[bioplastic] validation accuracy: supervised "
                  f"{validation['validation_accuracy_supervised']:.4f}, assignment "
                  f"{validation['validation_accuracy_assignment']:.4f}")

    # ---------------------------------------------------------------- test
    _log(cfg, f"[bioplastic] testing on {len(y_test)} samples")
    t_test = time.perf_counter()
    seeds = _phase_seed(cfg.seed, 2, 0, 0)
    state_after, test = run_phase(
        engine, state, pixel_rates(x_test, params.input), y_test.astype(np.int64), False, seeds,
        progress=(lambda d, n, r: _log(cfg, f"[test] {d}/{n}  {r:.1f} samples/s")))
    test_seconds = time.perf_counter() - t_test
    pred_sup = readout.supervised_predictions(test.label_counts)
    pred_asg = readout.assignment_predictions(test.hidden_counts, assignments, n_cls)
    acc_sup = readout.accuracy(pred_sup, y_test)
    acc_asg = readout.accuracy(pred_asg, y_test)

    key = engine.model
    from .network import state_key

    w_ih = state[state_key(key.input_hidden, "w")].reshape(params.n_input, params.n_hidden)
    w_hl = state[state_key(key.hidden_label, "w")].reshape(params.n_hidden, n_cls)
    theta_mV = state[state_key(key.excitatory, "theta")] * 1e3
    runs.save_npz(out / "weights.npz", w_input_hidden=w_ih, w_hidden_label=w_hl, theta_mV=theta_mV,
                  assignments=assignments)
    runs.save_npz(out / "test_counts.npz", hidden_counts=test.hidden_counts, label_counts=test.label_counts,
                  labels=y_test.astype(np.uint8), sample_index=np.arange(len(y_test), dtype=np.int64),
                  images=np.asarray(x_test).round().clip(0, 255).astype(np.uint8))
    table = pd.DataFrame({
        "sample_index": np.arange(len(y_test)), "label": y_test.astype(int),
        "pred_supervised": pred_sup, "pred_assignment": pred_asg,
        "n_hidden_spikes": test.hidden_counts.sum(axis=1).astype(int),
        "n_presentations": test.n_presentations, "intensity": test.intensity,
    })
    for c in range(n_cls):
        table[f"label_count_{c}"] = test.label_counts[:, c].astype(int)
    runs.save_table(out / "test_samples.csv", table)
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
    runs.write_json(out / "metrics.json", metrics)
    engine.close()
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
    params : bioplastic.params.ModelParams
    state : dict
        Chunk state (e.g. from the checkpoint) with the trained weights and theta.
    image : ndarray (28, 28)
    label : int
    path : path of the ``.npz`` to write
    cfg : ExperimentConfig, optional (for the seed and progress output)
    """
    from brian2 import SpikeMonitor, ms
    from brian2.devices import reinit_and_delete

    from .engine import Engine
    from .training import phase_start_state, pixel_rates

    reinit_and_delete()
    seed = cfg.seed if cfg is not None else 0
    eng = Engine(params, device="runtime", chunk_size=1, seed=seed, verbose=False,
                 inhibition=cfg.inhibition if cfg is not None else "pooled", runtime_target="numpy")
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
    from .network import state_key

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
