"""Tests of bioplastic.analysis.readout on hand-made spike counts with known answers."""

import subprocess
import sys

import numpy as np
import pytest

from bioplastic.analysis.readout import (
    accuracy,
    assign_neurons,
    assignment_predictions,
    confusion_matrix,
    supervised_predictions,
)


# --------------------------------------------------------------------------
# supervised_predictions
# --------------------------------------------------------------------------

def test_supervised_argmax_ties_and_silent():
    counts = np.array([
        [0, 3, 1, 0],   # clear winner 1
        [2, 0, 2, 0],   # tie 0/2 -> lowest index 0
        [0, 0, 0, 0],   # silent -> -1
        [0, 0, 1, 1],   # tie 2/3 -> 2
        [0, 0, 0, 7],
    ], dtype=np.uint16)
    pred = supervised_predictions(counts)
    np.testing.assert_array_equal(pred, [1, 0, -1, 2, 3])
    assert pred.dtype == np.int64


def test_supervised_ten_classes_and_lists():
    counts = np.zeros((3, 10), dtype=np.uint16)
    counts[0, 9] = 5
    counts[1, 4] = 1
    pred = supervised_predictions(counts.tolist())
    np.testing.assert_array_equal(pred, [9, 4, -1])


def test_supervised_empty_input():
    assert supervised_predictions(np.zeros((0, 10))).shape == (0,)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(10), "2-dimensional"),
    (np.zeros((2, 3, 4)), "2-dimensional"),
    (np.array([[1, -1, 0]]), "negative"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([["a", "b"]]), "numeric"),
])
def test_supervised_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        supervised_predictions(bad)


# --------------------------------------------------------------------------
# assign_neurons
# --------------------------------------------------------------------------

def test_assign_uses_mean_not_sum():
    # class 0 has 4 samples, class 1 one.  Neuron 0 fires 1 spike on each
    # class-0 sample (sum 4, mean 1) and 3 on the class-1 sample (sum 3,
    # mean 3): by mean it belongs to class 1 although its sum is larger for 0.
    counts = np.array([[1, 5], [1, 5], [1, 5], [1, 5], [3, 0]])
    labels = np.array([0, 0, 0, 0, 1])
    np.testing.assert_array_equal(assign_neurons(counts, labels, n_classes=2), [1, 0])


def test_assign_silent_neurons_ties_and_missing_classes():
    counts = np.array([
        [2, 0, 0, 1, 0],   # label 2
        [0, 4, 0, 1, 0],   # label 0
        [0, 0, 0, 0, 0],   # label 2
    ], dtype=np.uint16)
    labels = np.array([2, 0, 2])
    a = assign_neurons(counts, labels, n_classes=4)
    # neuron 0: means c0=0, c2=1 -> 2; neuron 1: c0=4 -> 0; neuron 2: silent;
    # neuron 3: c0=1, c2=0.5 -> 0; neuron 4 silent.  Classes 1, 3 have no samples.
    np.testing.assert_array_equal(a, [2, 0, -1, 0, -1])
    assert a.dtype == np.int64


def test_assign_tie_goes_to_lowest_class():
    counts = np.array([[3], [3]])
    np.testing.assert_array_equal(assign_neurons(counts, [5, 1], n_classes=10), [1])


def test_assign_never_assigns_class_without_samples():
    # only class 3 present: every firing neuron is assigned 3 (not 0, whose
    # mean would otherwise be undefined)
    counts = np.array([[0, 1], [2, 0]])
    np.testing.assert_array_equal(assign_neurons(counts, [3, 3]), [3, 3])


def test_assign_all_silent_and_empty():
    np.testing.assert_array_equal(assign_neurons(np.zeros((4, 3)), [0, 1, 2, 3]),
                                  [-1, -1, -1])
    np.testing.assert_array_equal(
        assign_neurons(np.zeros((0, 2)), np.zeros(0, dtype=int)), [-1, -1])


def test_assign_validation():
    with pytest.raises(ValueError, match="different numbers of samples"):
        assign_neurons(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        assign_neurons(np.ones((2, 2)), [0, 10])
    with pytest.raises(ValueError, match="labels must lie"):
        assign_neurons(np.ones((2, 2)), [0, -1])
    with pytest.raises(ValueError, match="integer values"):
        assign_neurons(np.ones((2, 2)), [0.5, 1])
    with pytest.raises(ValueError, match="negative"):
        assign_neurons(-np.ones((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="2-dimensional"):
        assign_neurons(np.ones(2), [0, 1])
    with pytest.raises(ValueError, match="1-dimensional"):
        assign_neurons(np.ones((2, 2)), [[0, 1]])
    with pytest.raises(ValueError, match="n_classes"):
        assign_neurons(np.ones((2, 2)), [0, 1], n_classes=0)


# --------------------------------------------------------------------------
# assignment_predictions
# --------------------------------------------------------------------------

def test_assignment_predictions_mean_of_assigned_neurons():
    assignments = np.array([0, 0, 0, 1, -1])
    counts = np.array([
        [3, 0, 0, 2, 0],   # class 0 mean 1, class 1 mean 2 -> 1 (mean, not sum)
        [3, 3, 0, 2, 0],   # class 0 mean 2, class 1 mean 2 -> tie -> 0
        [0, 0, 0, 0, 9],   # only the unassigned neuron fired -> -1
        [0, 0, 0, 0, 0],   # silent -> -1
        [1, 0, 0, 0, 0],   # class 0 mean 1/3 > class 1 mean 0 -> 0
    ], dtype=np.uint16)
    pred = assignment_predictions(counts, assignments, n_classes=3)
    np.testing.assert_array_equal(pred, [1, 0, -1, -1, 0])
    assert pred.dtype == np.int64


def test_assignment_predictions_ignores_classes_without_neurons():
    # class 0 has no assigned neuron: even a zero score of class 2 beats it
    counts = np.array([[0, 4], [0, 0]])
    pred = assignment_predictions(counts, [2, 1], n_classes=3)
    np.testing.assert_array_equal(pred, [1, -1])


def test_assignment_predictions_no_assigned_neurons():
    pred = assignment_predictions(np.ones((3, 2)), [-1, -1])
    np.testing.assert_array_equal(pred, [-1, -1, -1])


def test_assign_then_predict_recovers_labels():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 20)
    pref = np.arange(30) % 10
    rate = np.where(pref[None, :] == labels[:, None], 8.0, 0.5)
    counts = rng.poisson(rate).astype(np.uint16)
    a = assign_neurons(counts, labels)
    np.testing.assert_array_equal(a, pref)
    assert accuracy(assignment_predictions(counts, a), labels) > 0.95


def test_assignment_predictions_validation():
    with pytest.raises(ValueError, match="3 neurons"):
        assignment_predictions(np.ones((2, 3)), [0, 1])
    with pytest.raises(ValueError, match=r"assignments must lie in \[-1, 9\]"):
        assignment_predictions(np.ones((2, 2)), [0, 10])
    with pytest.raises(ValueError, match="assignments must lie"):
        assignment_predictions(np.ones((2, 2)), [0, -2])
    with pytest.raises(ValueError, match="negative"):
        assignment_predictions(np.array([[1, -1]]), [0, 1])


# --------------------------------------------------------------------------
# accuracy and confusion matrix
# --------------------------------------------------------------------------

def test_accuracy_counts_minus_one_wrong():
    assert accuracy([0, 1, -1, 2], [0, 1, 1, 1]) == 0.5
    assert accuracy(np.array([3, 3]), np.array([3, 3], dtype=np.uint8)) == 1.0
    assert accuracy([-1, -1], [0, 0]) == 0.0
    assert isinstance(accuracy([0], [0]), float)


def test_accuracy_validation():
    with pytest.raises(ValueError, match="different shapes"):
        accuracy([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="predictions must lie"):
        accuracy([-2], [0])
    with pytest.raises(ValueError, match="labels must lie"):
        accuracy([0], [-1])


def test_confusion_matrix():
    labels = [0, 0, 0, 1, 1, 2]
    pred = [0, 1, -1, 1, 1, 0]
    c = confusion_matrix(labels, pred, n_classes=3)
    expected = np.array([[1, 1, 0],
                         [0, 2, 0],
                         [1, 0, 0]])
    np.testing.assert_array_equal(c, expected)
    assert c.dtype == np.int64
    # the -1 sample is excluded: row 0 sums to 2 of 3 samples
    assert c.sum() == 5
    # accuracy on predicted samples equals the trace fraction
    assert np.trace(c) == 3


def test_confusion_matrix_default_shape_and_validation():
    assert confusion_matrix([0], [0]).shape == (10, 10)
    with pytest.raises(ValueError, match="different numbers"):
        confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="labels must lie"):
        confusion_matrix([3], [0], n_classes=3)
    with pytest.raises(ValueError, match="predictions must lie"):
        confusion_matrix([0], [3], n_classes=3)


def test_readout_does_not_import_brian2():
    code = ("import sys, bioplastic.analysis.readout, bioplastic.runs; "
            "assert 'brian2' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rolling_assignment_equals_assign_neurons_on_the_window():
    from bioplastic.analysis.readout import RollingAssignment

    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, (500, 30)) * (rng.random(30) < 0.8)
    labels = rng.integers(0, 10, 500)
    tally = RollingAssignment(30, 10, window=180)
    for start in range(0, 500, 70):
        tally.add(counts[start:start + 70], labels[start:start + 70])
        end = min(start + 70, 500)
        lo = max(0, end - 180)
        expected = assign_neurons(counts[lo:end], labels[lo:end])
        assert np.array_equal(tally.assignments(), expected)
        assert len(tally) == end - lo


def test_readout_ceilings_class_mean_and_linear():
    """Class-mean templates follow the mean responses; a fitted linear readout separates what
    templates cannot (a class marked by a neuron's silence)."""
    from bioplastic.analysis.readout import class_mean_predictions, linear_readout_predictions

    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    # neuron 0 fires for both classes; neuron 1 only for class 1; neuron 2 noise
    x = np.stack([rng.poisson(5, n), rng.poisson(4, n) * y, rng.poisson(3, n)], axis=1)
    pred = class_mean_predictions(x, y, x, n_classes=2)
    assert np.mean(pred == y) > 0.7
    assert class_mean_predictions(x, y, np.zeros((1, 3)), n_classes=2)[0] == -1     # silent
    lin = linear_readout_predictions(x, y, x)
    assert np.mean(lin == y) > 0.95
    with pytest.raises(ValueError, match="neurons"):
        class_mean_predictions(x, y, x[:, :2], n_classes=2)
    with pytest.raises(ValueError):
        class_mean_predictions(x, y[:10], x, n_classes=2)


def test_readout_ceiling_script_reads_a_saved_run(tmp_path):
    """analysis/readout_ceiling.py on a run folder's saved counts; exit 2 without them."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "readout_ceiling", Path(__file__).resolve().parents[1] / "analysis" / "readout_ceiling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([str(tmp_path)]) == 2
    rng = np.random.default_rng(1)

    def counts(n):
        y = rng.integers(0, 10, n)
        x = rng.poisson(0.2, (n, 30))
        x[np.arange(n), 3 * y] += 5
        return x, y

    (tmp_path / "train_counts").mkdir()
    for k in range(3):
        x, y = counts(100)
        np.savez(tmp_path / "train_counts" / f"chunk_{k:06d}.npz", hidden_counts=x, labels=y)
    xt, yt = counts(200)
    label_counts = np.eye(10, dtype=int)[yt]
    np.savez(tmp_path / "test_counts.npz", hidden_counts=xt, labels=yt, label_counts=label_counts)
    out = tmp_path / "ceiling.json"
    assert mod.main([str(tmp_path), "--n-fit", "250", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["n_fit"] == 250 and r["label_layer"] == 1.0
    assert r["class_mean_template"] > 0.9 and r["logistic_regression"] > 0.9 and r["assignment"] > 0.9
