"""Event streams (bioplastic.data.event_streams): saccade stand-in, binning, pooling, perturbations, N-MNIST errors."""

import sys
import types
import urllib.error

import numpy as np
import pytest

from bioplastic.data.datasets import DataNotFoundError
from bioplastic.data.event_streams import (
    EVENT_DTYPE,
    TonicNotInstalledError,
    add_event_noise,
    balanced_subset,
    bin_events,
    drop_events,
    flatten_frames,
    load_nmnist,
    mnist_event_dataset,
    pool_frames,
    saccade_frames,
    saccade_path,
)

from conftest import data_dir, requires_data


def _square(n=1, lo=10, hi=18):
    img = np.zeros((n, 28, 28), dtype=np.uint8)
    img[:, lo:hi, lo:hi] = 255
    return img


def test_saccade_path_is_a_closed_triangle():
    path = saccade_path(31, amplitude=2.0)
    assert path.shape == (31, 2)
    assert np.allclose(path[0], 0) and np.allclose(path[-1], 0)
    assert np.allclose(path[10], [1.0, 2.0]) and np.allclose(path[20], [2.0, 0.0])
    assert path.min() >= 0 and path.max() <= 2.0
    with pytest.raises(ValueError, match="amplitude must lie in \\(0, 6\\]"):
        saccade_path(10, amplitude=7)


def test_saccade_frames_shape_determinism_and_seed():
    img = _square(2)
    a = saccade_frames(img, n_steps=6, seed=1)
    assert a.shape == (2, 6, 2, 34, 34) and a.dtype == bool
    assert np.array_equal(a, saccade_frames(img, n_steps=6, seed=1))
    assert not np.array_equal(a, saccade_frames(img, n_steps=6, seed=2))  # threshold mismatch is seeded
    no_jitter = [saccade_frames(img, n_steps=6, threshold_jitter=0.0, seed=s) for s in (1, 2)]
    assert np.array_equal(*no_jitter)
    assert a.any(axis=(2, 3, 4)).all()  # the moving square emits in every bin
    assert not saccade_frames(np.zeros((1, 28, 28), np.uint8), n_steps=6).any()  # a blank screen never does


def test_polarity_follows_the_motion():
    """First saccade moves right and down: ON events on the leading edges, OFF on the trailing ones."""
    frames = saccade_frames(_square(), n_steps=9, threshold_jitter=0.0)
    on, off = frames[0, 0, 0], frames[0, 0, 1]  # first bin, first saccade
    # the square covers columns/rows 12..19 of the frame at the start
    assert on.sum(axis=0).argmax() == 20 and off.sum(axis=0).argmax() == 12  # right / left edge
    assert on.sum(axis=1).argmax() >= 20 and off.sum(axis=1).argmax() <= 13  # bottom / top edge


@requires_data
def test_mnist_digits_give_sparse_streams():
    from bioplastic.data.datasets import load_mnist

    images, _ = load_mnist("test", data_dir=data_dir())
    frames = saccade_frames(images[:20], n_steps=30, seed=0)
    density = frames.mean()
    assert 0.005 < density < 0.1  # sparse, but not empty
    assert frames[:, :, 0].sum() == pytest.approx(frames[:, :, 1].sum(), rel=0.2)  # closed path: ON ~ OFF


def test_bad_images():
    with pytest.raises(ValueError, match="shape \\(n, 28, 28\\)"):
        saccade_frames(np.zeros((2, 27, 28)))
    with pytest.raises(ValueError, match="float images must lie in \\[0, 1\\]"):
        saccade_frames(np.full((1, 28, 28), 2.0))
    with pytest.raises(ValueError, match="threshold must lie in \\(0, 1\\)"):
        saccade_frames(_square(), threshold=0)


def test_bin_events_by_hand():
    ev = np.zeros(4, dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = [0, 33, 5, 5], [0, 2, 7, 7], [0, 99_999, 150_000, 400_000], [1, 0, 1, 1]
    out = bin_events(ev, n_steps=3, duration_us=300_000)
    assert out.shape == (3, 2, 34, 34)
    assert out[0, 0, 0, 0] and out[0, 1, 2, 33] and out[1, 0, 7, 5]
    assert out.sum() == 3  # the event at 400 ms is outside the window
    with pytest.raises(ValueError, match="missing \\['p'\\]"):
        bin_events(np.zeros(2, dtype=[("x", int), ("y", int), ("t", int)]), 3)
    ev["x"][0] = 40
    with pytest.raises(ValueError, match="outside the sensor"):
        bin_events(ev, 3, 300_000)


def test_pool_and_flatten():
    frames = np.zeros((1, 2, 2, 4, 4), dtype=bool)
    frames[0, 1, 0, 3, 2] = True
    pooled = pool_frames(frames, 2)
    assert pooled.shape == (1, 2, 2, 2, 2)
    assert pooled[0, 1, 0, 1, 1] and pooled.sum() == 1
    flat = flatten_frames(pooled)
    assert flat.shape == (1, 2, 8) and flat.dtype == np.float32 and flat.sum() == 1
    with pytest.raises(ValueError, match="not divisible by 3"):
        pool_frames(frames, 3)


def test_event_noise_and_dropout():
    rng = np.random.default_rng(0)
    frames = rng.random((20, 10, 2, 17, 17)) < 0.1
    assert np.array_equal(add_event_noise(frames, 0.0, rng), frames)
    assert np.array_equal(drop_events(frames, 0.0, rng), frames)
    assert add_event_noise(frames, 1.0, rng).all()
    assert not drop_events(frames, 1.0, rng).any()
    noisy = add_event_noise(frames, 0.2, rng)
    assert np.all(noisy >= frames)  # noise only adds
    assert noisy[~frames].mean() == pytest.approx(0.2, abs=0.01)
    dropped = drop_events(frames, 0.3, rng)
    assert np.all(dropped <= frames)
    assert dropped[frames].mean() == pytest.approx(0.7, abs=0.02)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
            add_event_noise(frames, bad, rng)
        with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
            drop_events(frames, bad, rng)


def test_nmnist_without_tonic(monkeypatch):
    monkeypatch.setitem(sys.modules, "tonic", None)  # import tonic -> ImportError
    with pytest.raises(TonicNotInstalledError, match="pip install tonic"):
        load_nmnist("train")


def test_nmnist_without_network_or_copy(monkeypatch, tmp_path):
    class OfflineNMNIST:
        def __init__(self, save_to, train=True):
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    fake = types.ModuleType("tonic")
    fake.datasets = types.SimpleNamespace(NMNIST=OfflineNMNIST)
    monkeypatch.setitem(sys.modules, "tonic", fake)
    with pytest.raises(DataNotFoundError, match="no N-MNIST copy in .*download=True"):
        load_nmnist("test", save_to=tmp_path)
    with pytest.raises(DataNotFoundError, match="Downloading needs a network"):
        load_nmnist("test", save_to=tmp_path, download=True)
    with pytest.raises(ValueError, match="split must be"):
        load_nmnist("validation")


def test_nmnist_through_a_stand_in_tonic(monkeypatch, tmp_path):
    """The binning path of load_nmnist, with a fake tonic dataset of two recordings."""
    ev = np.zeros(2, dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    ev["x"], ev["y"], ev["t"], ev["p"] = [3, 30], [4, 31], [10, 299_000], [1, 0]

    class FakeNMNIST:
        def __init__(self, save_to, train=True):
            self.items = [(ev, 7), (ev[:1], 2)]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, k):
            return self.items[k]

    fake = types.ModuleType("tonic")
    fake.datasets = types.SimpleNamespace(NMNIST=FakeNMNIST)
    monkeypatch.setitem(sys.modules, "tonic", fake)
    (tmp_path / "NMNIST").mkdir()
    frames, labels = load_nmnist("train", save_to=tmp_path, n_steps=3, pool=2)
    assert frames.shape == (2, 3, 2, 17, 17) and list(labels) == [7, 2]
    assert frames[0, 0, 0, 2, 1] and frames[0, 2, 1, 15, 15] and frames[0].sum() == 2


def test_balanced_subset():
    labels = np.repeat(np.arange(3), [5, 6, 7])
    idx = balanced_subset(labels, 4, seed=0)
    assert np.array_equal(np.bincount(labels[idx]), [4, 4, 4])
    assert np.array_equal(idx, np.sort(idx)) and len(set(idx)) == 12
    assert np.array_equal(idx, balanced_subset(labels, 4, seed=0))
    with pytest.raises(ValueError, match="class 0 has 5 samples, fewer than n_per_class=6"):
        balanced_subset(labels, 6)


@requires_data
def test_mnist_event_dataset():
    x, y = mnist_event_dataset("test", n_per_class=2, n_steps=8, pool=2, seed=1, data_dir=data_dir())
    assert x.shape == (20, 8, 2 * 17 * 17) and x.dtype == np.float32
    assert np.array_equal(np.bincount(y), [2] * 10)
    assert set(np.unique(x)) <= {0.0, 1.0} and x.mean() > 0.01
    x2, y2 = mnist_event_dataset("test", n_per_class=2, n_steps=8, pool=2, seed=1, data_dir=data_dir())
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
