"""A small, format-valid sym-STDP run directory with synthetic data, for tests.

:func:`write_synthetic_run` writes what a finished sym-STDP run writes
(``docs/run_format.rst``), filled with random but structured data, so that
analysis and figure code can be tested without training a network.  Tests
import it as ``from _synthetic_run import write_synthetic_run`` (pytest puts
``tests/`` on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bioplastic.runs import FORMAT_VERSION, save_npz, save_table, software_versions, write_json

__all__ = ["write_synthetic_run"]


def _class_prototypes(rng, n_label=10):
    """One 28x28 image per class: a Gaussian blob at a class-dependent place."""
    yy, xx = np.mgrid[0:28, 0:28]
    angles = 2 * np.pi * np.arange(n_label) / n_label
    protos = np.empty((n_label, 28, 28))
    for c, a in enumerate(angles):
        cy, cx = 14 + 7 * np.sin(a), 14 + 7 * np.cos(a)
        protos[c] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 3.0 ** 2))
    return protos


def _poisson_spikes(rng, rates_hz, t_ms):
    """Indices and times (ms) of independent Poisson spike trains."""
    counts = rng.poisson(np.asarray(rates_hz, dtype=float) * t_ms / 1000.0)
    idx = np.repeat(np.arange(counts.size), counts)
    times = rng.uniform(0.0, t_ms, size=idx.size)
    order = np.argsort(times, kind="stable")
    return idx[order].astype(np.int64), times[order]


def write_synthetic_run(run_dir, n_hidden=20, n_test=60, seed=0):
    """Write a small, format-valid run directory filled with synthetic data.

    The data are random but structured like a real run: hidden neuron ``j``
    prefers class ``j % 10`` (the last neuron of a run with more than ten is
    silent and unassigned), test images show a class-dependent blob, the
    label layer is right most of the time and silent on a few samples, and
    the files ``training.csv``, ``evaluations.csv``, ``snapshots.npz`` (three
    snapshots) and ``raster.npz`` are written too.  The result is
    deterministic for a given *seed* apart from ``versions`` in ``run.json``.
    Meant for testing analysis and figure code without training a network.

    Parameters
    ----------
    run_dir : str or path-like
        Directory to write (created if missing; existing files are replaced).
    n_hidden : int, optional
        Number of hidden neurons (default 20).
    n_test : int, optional
        Number of test samples (default 60).
    seed : int, optional
        Seed of the random generator (default 0).

    Returns
    -------
    pathlib.Path
        The run directory.
    """
    from bioplastic.analysis.readout import accuracy, assignment_predictions, supervised_predictions

    if n_hidden < 1 or n_test < 1:
        raise ValueError("n_hidden and n_test must be positive")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_input, n_label = 784, 10
    # n_train: training samples per epoch; each epoch is n_train // chunk_size chunks
    epochs, chunk_size, n_train, n_validation = 2, 50, 100, 40
    versions = software_versions()

    # --- model: assignments, weights, thresholds -------------------------
    assignments = np.arange(n_hidden, dtype=np.int64) % n_label
    silent = np.zeros(n_hidden, dtype=bool)
    if n_hidden > n_label:
        silent[-1] = True
        assignments[-1] = -1
    protos = _class_prototypes(rng, n_label)
    w_input_hidden = np.empty((n_input, n_hidden))
    for j in range(n_hidden):
        base = protos[j % n_label].ravel() if not silent[j] else np.zeros(n_input)
        w_input_hidden[:, j] = np.clip(
            0.8 * base + rng.uniform(0, 0.15, n_input), 0.0, 1.0
        )
    w_hidden_label = rng.uniform(0.0, 0.1, (n_hidden, n_label))
    w_hidden_label[~silent, assignments[~silent]] += rng.uniform(0.5, 1.0, (~silent).sum())
    theta_mV = rng.uniform(2.0, 20.0, n_hidden)
    theta_mV[silent] = 0.0

    # --- test set ---------------------------------------------------------
    labels = rng.integers(0, n_label, n_test).astype(np.uint8)
    sample_index = np.sort(rng.choice(10000, size=n_test, replace=False)).astype(np.int64)
    images = np.clip(
        255 * protos[labels] * rng.uniform(0.7, 1.0, (n_test, 1, 1))
        + rng.normal(0, 12, (n_test, 28, 28)),
        0, 255,
    ).astype(np.uint8)
    # "perceived" class: right ~85% of the time
    perceived = np.where(rng.random(n_test) < 0.85, labels,
                         rng.integers(0, n_label, n_test))
    prefers = (assignments[None, :] == perceived[:, None]) & ~silent[None, :]
    hidden_rate = np.where(prefers, 6.0, 0.4)
    hidden_rate[:, silent] = 0.0
    hidden_counts = rng.poisson(hidden_rate)
    label_rate = np.full((n_test, n_label), 0.5)
    label_rate[np.arange(n_test), perceived] = 8.0
    label_counts = rng.poisson(label_rate)
    mute = rng.random(n_test) < 0.05          # a few samples without label spikes
    label_counts[mute] = 0
    hidden_counts = hidden_counts.astype(np.uint16)
    label_counts = label_counts.astype(np.uint16)

    pred_sup = supervised_predictions(label_counts)
    pred_asg = assignment_predictions(hidden_counts, assignments, n_label)
    n_hidden_spikes = hidden_counts.sum(axis=1).astype(np.int64)
    n_presentations = 1 + (n_hidden_spikes < 5).astype(np.int64) \
        + (n_hidden_spikes < 2).astype(np.int64)
    intensity = 2.0 * (1 + (n_presentations - 1) * 0.5)
    test_samples = pd.DataFrame({
        "sample_index": sample_index,
        "label": labels.astype(np.int64),
        "pred_supervised": pred_sup,
        "pred_assignment": pred_asg,
        "n_hidden_spikes": n_hidden_spikes,
        "n_presentations": n_presentations,
        "intensity": intensity,
        **{f"label_count_{k}": label_counts[:, k].astype(np.int64)
           for k in range(n_label)},
    })
    acc_sup = accuracy(pred_sup, labels)
    acc_asg = accuracy(pred_asg, labels)

    # --- training history -------------------------------------------------
    n_chunks_per_epoch = n_train // chunk_size
    rows, seen, wall_total = [], 0, 0.0
    chunk = 0
    for epoch in range(epochs):
        for _ in range(n_chunks_per_epoch):
            n_pres = chunk_size + int(rng.integers(0, 8))
            wall = float(chunk_size * rng.uniform(0.08, 0.12))
            seen += chunk_size
            wall_total += wall
            train_acc = np.nan if chunk == 0 else float(
                np.clip(0.9 - 0.6 * np.exp(-seen / 60.0) + rng.normal(0, 0.02), 0, 1)
            )
            rows.append({
                "chunk": chunk, "epoch": epoch, "samples_seen": seen,
                "n_samples": chunk_size, "n_presentations": n_pres,
                "train_accuracy_assignment": train_acc,
                "wall_seconds": wall, "samples_per_second": chunk_size / wall,
            })
            chunk += 1
    training = pd.DataFrame(rows)
    n_train_total = int(seen)

    eval_rows = []
    for seen_at in training["samples_seen"].iloc[n_chunks_per_epoch - 1::n_chunks_per_epoch]:
        level = 0.85 - 0.5 * np.exp(-seen_at / 80.0)
        eval_rows.append({
            "samples_seen": int(seen_at), "split": "validation",
            "accuracy_supervised": float(np.clip(level + rng.normal(0, 0.02), 0, 1)),
            "accuracy_assignment": float(np.clip(level - 0.05 + rng.normal(0, 0.02), 0, 1)),
            "n_samples": n_validation, "epoch": seen_at / n_train, "kind": "during-training",
            "wall_seconds": 0.05 * n_validation,
        })
    eval_rows.append({
        "samples_seen": n_train_total, "split": "test",
        "accuracy_supervised": acc_sup, "accuracy_assignment": acc_asg,
        "n_samples": n_test, "epoch": n_train_total / n_train, "kind": "final",
        "wall_seconds": 0.05 * n_test,
    })
    evaluations = pd.DataFrame(eval_rows)

    # --- snapshots: from random initial weights to the final ones ----------
    w0 = rng.uniform(0.0, 0.3, (n_input, n_hidden))
    fractions = np.array([0.0, 0.5, 1.0])
    snap_seen = (fractions * n_train_total).astype(np.int64)
    snap_w = np.stack([(1 - f) * w0 + f * w_input_hidden for f in fractions])
    snap_theta = np.stack([f * theta_mV for f in fractions])

    # --- raster of the first test sample ---------------------------------
    t_present_ms, t_rest_ms = 350.0, 150.0
    first = 0
    in_i, in_t = _poisson_spikes(rng, images[first].ravel() / 255.0 * 63.75, t_present_ms)
    h_rate = np.where(assignments == labels[first], 20.0, 1.0)
    h_rate[silent] = 0.0
    hid_i, hid_t = _poisson_spikes(rng, h_rate, t_present_ms)
    inh_i, inh_t = _poisson_spikes(rng, h_rate * 0.8, t_present_ms)
    l_rate = np.full(n_label, 1.0)
    l_rate[labels[first]] = 25.0
    lab_i, lab_t = _poisson_spikes(rng, l_rate, t_present_ms)

    # --- records ----------------------------------------------------------
    wall_train = float(training["wall_seconds"].sum())
    wall_test = float(n_test * 0.05)
    record = {
        "format_version": FORMAT_VERSION,
        "family": "symstdp",
        "protocol": "synthetic",
        "bioplastic_version": versions["bioplastic"],
        "created": "2000-01-01T00:00:00+00:00",
        "command": ["tests/_synthetic_run.py", str(run_dir)],
        "seed": int(seed),
        "device": "synthetic",
        "threads": 1,
        "float32": False,
        "dataset": "mnist",
        "n_input": n_input,
        "n_hidden": int(n_hidden),
        "n_label": n_label,
        "epochs": epochs,
        "n_train": n_train,
        "n_test": int(n_test),
        "n_validation": n_validation,
        "chunk_size": chunk_size,
        "params": {
            "neurons": {"tau_m": "100. ms", "v_rest": "-65. mV",
                        "v_thresh": "-52. mV", "v_reset": "-65. mV",
                        "refractory": "5. ms"},
            "plasticity": {"eta": "0.01", "tau_pre": "20. ms", "tau_post": "20. ms",
                           "w_max": "1.0"},
            "schedule": {"t_present": "350. ms", "t_rest": "150. ms",
                         "intensity": "2.0", "min_spikes": "5"},
        },
        "versions": versions,
        "config": {"n_hidden": int(n_hidden), "n_test": int(n_test), "seed": int(seed)},
        "synthetic": True,
    }
    metrics = {
        "test_accuracy_supervised": acc_sup,
        "test_accuracy_assignment": acc_asg,
        "n_train": n_train_total,
        "n_test": int(n_test),
        "wall_seconds": wall_train + wall_test + 1.0,
        "train_wall_seconds": wall_train,
        "test_wall_seconds": wall_test,
        "ms_per_train_sample": 1000.0 * wall_train / n_train_total,
        "epochs": epochs,
        "validation_accuracy_supervised": float(evaluations["accuracy_supervised"].iloc[-2]),
        "validation_accuracy_assignment": float(evaluations["accuracy_assignment"].iloc[-2]),
    }

    # --- write, run.json last (a directory with run.json is complete) ------
    save_npz(run_dir / "weights.npz", w_input_hidden=w_input_hidden,
             w_hidden_label=w_hidden_label, theta_mV=theta_mV, assignments=assignments)
    save_npz(run_dir / "test_counts.npz", hidden_counts=hidden_counts,
             label_counts=label_counts, labels=labels, sample_index=sample_index,
             images=images)
    save_table(run_dir / "test_samples.csv", test_samples)
    save_table(run_dir / "training.csv", training)
    save_table(run_dir / "evaluations.csv", evaluations)
    save_npz(run_dir / "snapshots.npz", samples_seen=snap_seen,
             w_input_hidden=snap_w.astype(np.float32),
             theta_mV=snap_theta.astype(np.float32))
    save_npz(run_dir / "raster.npz",
             input_i=in_i, input_t_ms=in_t, hidden_i=hid_i, hidden_t_ms=hid_t,
             inhibitory_i=inh_i, inhibitory_t_ms=inh_t, label_i=lab_i, label_t_ms=lab_t,
             label=np.int64(labels[first]), sample_index=np.int64(sample_index[first]),
             t_present_ms=np.float64(t_present_ms), t_rest_ms=np.float64(t_rest_ms))
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "run.json", record)
    return run_dir
