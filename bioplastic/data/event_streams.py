"""Event streams: N-MNIST-like streams made offline from MNIST, and real N-MNIST through ``tonic``.

N-MNIST (Orchard et al. 2015) was recorded by moving an event camera (ATIS)
in three saccades in front of MNIST digits on a screen: 34 x 34 pixels, two
polarity channels (ON: brightness went up, OFF: it went down), about 300 ms.
It is only available by download.  This module offers

* :func:`saccade_frames`, an offline stand-in made from the MNIST IDX files
  (:func:`bioplastic.data.datasets.load_mnist`): the digit, in a 34 x 34 frame, is
  moved along a small triangle (three straight "saccades"); each pixel emits
  ON/OFF events when its intensity has changed by a (per-pixel jittered)
  contrast threshold since its last event, as a DVS pixel does; events are
  binned into ``n_steps`` time bins.  Seeded and reproducible.  This is a
  stand-in with the same format, **not** a model of the ATIS recordings;
* :func:`load_nmnist`, the real data set through ``tonic`` (an optional
  package, not a dependency of bioplastic; it downloads, so it needs a
  network or an existing copy), binned the same way by :func:`bin_events`;
* perturbations of a binned stream (:func:`add_event_noise`,
  :func:`drop_events`) and :func:`pool_frames`, :func:`flatten_frames` to
  turn frames into the ``(n, T, channels * H * W)`` input of a network.

Binned streams ("frames") are boolean arrays of shape
``(n_samples, n_steps, 2, height, width)``; channel 0 is ON, 1 is OFF.  This
module does not import torch or Brian2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bioplastic.data.datasets import DataError, DataNotFoundError

__all__ = [
    "SENSOR_SIZE",
    "EVENT_DTYPE",
    "saccade_path",
    "saccade_frames",
    "bin_events",
    "pool_frames",
    "flatten_frames",
    "add_event_noise",
    "drop_events",
    "load_nmnist",
    "balanced_subset",
    "mnist_event_dataset",
    "TonicNotInstalledError",
]

#: N-MNIST's sensor: (width, height, polarities), as ``tonic.datasets.NMNIST.sensor_size``.
SENSOR_SIZE = (34, 34, 2)

#: Events as a structured array (tonic's field names; ``t`` in microseconds; ``p`` 1 = ON, 0 = OFF).
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])

_IMAGE = 28


class TonicNotInstalledError(DataError, ImportError):
    """``tonic`` (the optional package that downloads N-MNIST) is not installed."""


def saccade_path(n_points: int, amplitude: float = 2.0) -> np.ndarray:
    """Displacements ``(dx, dy)`` in pixels along three saccades, ``(n_points, 2)``.

    The path is the closed triangle ``(0, 0) -> (A/2, A) -> (A, 0) -> (0, 0)``
    (``A`` = *amplitude*), walked at constant speed per saccade, each saccade
    taking a third of the points; the last point is the start again.
    """
    if int(n_points) != n_points or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    a = float(amplitude)
    if not 0.0 < a <= SENSOR_SIZE[0] - _IMAGE:
        raise ValueError(f"amplitude must lie in (0, {SENSOR_SIZE[0] - _IMAGE}] pixels (the frame's margin), got {amplitude}")
    vertices = np.array([[0.0, 0.0], [a / 2, a], [a, 0.0], [0.0, 0.0]])
    s = np.linspace(0.0, 3.0, int(n_points))  # 0..1 first saccade, 1..2 second, 2..3 third
    k = np.minimum(s.astype(int), 2)
    frac = (s - k)[:, None]
    return vertices[k] * (1 - frac) + vertices[k + 1] * frac


def _place(images: np.ndarray, dx: float, dy: float, amplitude: float) -> np.ndarray:
    """Images ``(n, 28, 28)`` in the 34 x 34 frame, shifted by ``(dx, dy)`` with bilinear interpolation."""
    n = images.shape[0]
    width, height = SENSOR_SIZE[0], SENSOR_SIZE[1]
    origin = (width - _IMAGE - amplitude) / 2.0  # keeps the whole path inside the frame
    x0, y0 = origin + dx, origin + dy
    ix, iy = int(np.floor(x0)), int(np.floor(y0))
    fx, fy = x0 - ix, y0 - iy
    canvas = np.zeros((n, height + 1, width + 1))  # one spare row/column for the interpolation
    for wy, oy in ((1 - fy, 0), (fy, 1)):
        for wx, ox in ((1 - fx, 0), (fx, 1)):
            if wx * wy:
                canvas[:, iy + oy:iy + oy + _IMAGE, ix + ox:ix + ox + _IMAGE] += wx * wy * images
    return canvas[:, :height, :width]


def saccade_frames(images, n_steps: int = 30, *, threshold: float = 0.15, threshold_jitter: float = 0.1,
                   amplitude: float = 2.0, substeps: int = 4, seed: int = 0) -> np.ndarray:
    """N-MNIST-like binned event streams from MNIST images (offline stand-in).

    Parameters
    ----------
    images : array_like
        ``(n, 28, 28)`` images, ``uint8`` (0..255) or floats in ``[0, 1]``.
    n_steps : int
        Number of time bins over the three saccades.
    threshold : float
        Contrast threshold, in units of full-scale intensity (``(0, 1)``).
    threshold_jitter : float
        Relative standard deviation of the per-pixel threshold mismatch (drawn
        per sample and pixel from *seed*; 0 for none).
    amplitude : float
        Size of the saccade triangle in pixels (``(0, 6]``).
    substeps : int
        Positions of the image per time bin (the motion is sampled at
        ``n_steps * substeps + 1`` points).
    seed : int
        Seed of the threshold mismatch: the same arguments give the same stream.

    Returns
    -------
    numpy.ndarray
        ``bool``, ``(n, n_steps, 2, 34, 34)``: whether pixel ``(y, x)`` emitted at
        least one ON (channel 0) or OFF (channel 1) event in the bin.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (_IMAGE, _IMAGE):
        raise ValueError(f"images must have shape (n, 28, 28), got {images.shape}")
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be a positive integer, got {substeps!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1) (full-scale intensity), got {threshold}")
    if not 0.0 <= threshold_jitter < 1.0:
        raise ValueError(f"threshold_jitter must lie in [0, 1), got {threshold_jitter}")
    if images.dtype == np.uint8:
        x = images.astype(np.float64) / 255.0
    else:
        x = images.astype(np.float64)
        if x.size and (x.min() < 0.0 or x.max() > 1.0):
            raise ValueError("float images must lie in [0, 1] (or pass uint8 images)")
    n = x.shape[0]
    height, width = SENSOR_SIZE[1], SENSOR_SIZE[0]
    rng = np.random.default_rng(seed)
    thr = threshold * np.clip(1.0 + threshold_jitter * rng.standard_normal((n, height, width)), 0.5, 1.5)
    path = saccade_path(n_steps * substeps + 1, amplitude)
    reference = _place(x, *path[0], amplitude)  # intensity at each pixel's last event
    frames = np.zeros((n, n_steps, 2, height, width), dtype=bool)
    for k in range(1, len(path)):
        current = _place(x, *path[k], amplitude)
        change = current - reference
        n_events = np.floor(np.abs(change) / thr)  # a pixel may cross several thresholds at once
        fired = n_events > 0
        reference = reference + np.sign(change) * n_events * thr
        step = (k - 1) // substeps
        frames[:, step, 0] |= fired & (change > 0)
        frames[:, step, 1] |= fired & (change < 0)
    return frames


def bin_events(events, n_steps: int, duration_us: float | None = None,
               sensor_size=SENSOR_SIZE) -> np.ndarray:
    """Bin one recording's events into ``(n_steps, 2, height, width)`` booleans.

    Parameters
    ----------
    events : numpy structured array
        Fields ``x``, ``y``, ``t`` (microseconds), ``p`` (1 or True = ON, 0 = OFF),
        as tonic returns them.
    n_steps : int
        Number of equal bins over ``[0, duration_us)``.
    duration_us : float, optional
        Length of the binned window; default: the last event's time + 1.
        Events at or after it are ignored.
    sensor_size : (width, height, polarities)
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    missing = {"x", "y", "t", "p"} - set(events.dtype.names or ())
    if missing:
        raise ValueError(f"events need the fields x, y, t, p; missing {sorted(missing)}")
    width, height, n_pol = sensor_size
    if n_pol != 2:
        raise ValueError(f"two polarities expected, sensor_size={sensor_size}")
    out = np.zeros((int(n_steps), 2, height, width), dtype=bool)
    if len(events) == 0:
        return out
    t = events["t"].astype(np.float64)
    if duration_us is None:
        duration_us = t.max() + 1.0
    if not duration_us > 0:
        raise ValueError(f"duration_us must be > 0, got {duration_us}")
    keep = (t >= 0) & (t < duration_us)
    step = (t[keep] * n_steps / duration_us).astype(np.int64)
    channel = np.where(events["p"][keep].astype(np.int64) > 0, 0, 1)  # ON -> 0, OFF -> 1
    x, y = events["x"][keep].astype(np.int64), events["y"][keep].astype(np.int64)
    if x.size and (x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height):
        raise ValueError(f"event coordinates outside the sensor {width} x {height}")
    out[step, channel, y, x] = True
    return out


def pool_frames(frames: np.ndarray, factor: int = 2) -> np.ndarray:
    """OR-pool ``(..., H, W)`` frames over ``factor x factor`` blocks (``H``, ``W`` divisible by *factor*)."""
    frames = np.asarray(frames, dtype=bool)
    if int(factor) != factor or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    h, w = frames.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"frame size {h} x {w} is not divisible by {factor}")
    shaped = frames.reshape(*frames.shape[:-2], h // factor, factor, w // factor, factor)
    return shaped.any(axis=(-3, -1))


def flatten_frames(frames: np.ndarray, dtype=np.float32) -> np.ndarray:
    """``(n, T, 2, H, W)`` frames as ``(n, T, 2 * H * W)`` spikes (0/1 in *dtype*)."""
    frames = np.asarray(frames)
    if frames.ndim != 5:
        raise ValueError(f"frames must have shape (n, T, 2, H, W), got {frames.shape}")
    return frames.reshape(frames.shape[0], frames.shape[1], -1).astype(dtype)


def _check_probability(name, p):
    if not isinstance(p, (int, float, np.floating)) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    return float(p)


def add_event_noise(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Add spurious events: every (bin, channel, pixel) fires with probability *p* in addition."""
    p = _check_probability("event noise probability", p)
    frames = np.asarray(frames, dtype=bool)
    if p == 0.0:
        return frames.copy()
    return frames | (rng.random(frames.shape) < p)


def drop_events(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Remove each event (a True entry) independently with probability *p*."""
    p = _check_probability("event dropout probability", p)
    frames = np.asarray(frames, dtype=bool)
    if p == 0.0:
        return frames.copy()
    return frames & (rng.random(frames.shape) >= p)


def balanced_subset(labels, n_per_class: int, seed: int = 0, classes=None) -> np.ndarray:
    """Sorted indices of *n_per_class* samples of each class (drawn with *seed*).

    Raises ``ValueError`` if a class has fewer samples than asked.
    """
    labels = np.asarray(labels)
    if int(n_per_class) != n_per_class or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in (np.unique(labels) if classes is None else classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < n_per_class:
            raise ValueError(f"class {c} has {len(idx)} samples, fewer than n_per_class={n_per_class}")
        chosen.append(rng.choice(idx, size=int(n_per_class), replace=False))
    return np.sort(np.concatenate(chosen))


def mnist_event_dataset(split: str = "train", n_per_class: int = 100, n_steps: int = 30, pool: int = 2,
                        seed: int = 0, data_dir=None, **stream_kwargs):
    """Balanced MNIST subset as flattened saccade event streams (the offline N-MNIST stand-in).

    Parameters
    ----------
    split : {"train", "test"}
    n_per_class : int
        Samples per digit, drawn with *seed* (the same *seed* gives the same
        samples and the same threshold mismatch).
    n_steps, **stream_kwargs
        Passed to :func:`saccade_frames`.
    pool : int
        OR-pooling of the 34 x 34 frames (2: 17 x 17, 578 inputs).
    data_dir : optional
        See :func:`bioplastic.data.datasets.find_data_file`.

    Returns
    -------
    x : numpy.ndarray
        ``float32`` 0/1 spikes, ``(10 * n_per_class, n_steps, 2 * (34 // pool) ** 2)``.
    y : numpy.ndarray
        ``int64`` labels.
    """
    from bioplastic.data.datasets import load_mnist

    images, labels = load_mnist(split, data_dir=data_dir)
    idx = balanced_subset(labels, n_per_class, seed=seed)
    frames = saccade_frames(images[idx], n_steps, seed=seed, **stream_kwargs)
    if pool > 1:
        frames = pool_frames(frames, pool)
    return flatten_frames(frames), labels[idx].astype(np.int64)


def load_nmnist(split: str = "train", save_to=None, n_steps: int = 30, n_samples: int | None = None,
                duration_us: float = 300_000.0, pool: int = 1, download: bool = False):
    """Real N-MNIST through ``tonic``, binned like :func:`saccade_frames`.

    ``tonic`` is an optional package (``pip install tonic``), not a dependency
    of bioplastic.  N-MNIST (about 1 GB unpacked) is downloaded by tonic into
    *save_to* the first time, which needs a network; later calls read that copy.

    Parameters
    ----------
    split : {"train", "test"}
    save_to : path-like, optional
        tonic's data folder; default ``$BIOPLASTIC_NMNIST`` or
        ``~/.cache/bioplastic/nmnist``.
    n_steps : int
        Time bins over ``[0, duration_us)``.
    n_samples : int, optional
        Only the first *n_samples* recordings (default: all).
    duration_us : float
        Binned window (N-MNIST recordings last about 300 ms).
    pool : int
        OR-pooling factor of the 34 x 34 frame (1: none).
    download : bool
        Allow tonic to download when no copy exists (default False: a missing
        copy is an error that says how to get one).

    Returns
    -------
    frames : numpy.ndarray
        ``bool``, ``(n, n_steps, 2, 34 / pool, 34 / pool)``.
    labels : numpy.ndarray
        ``int64``, ``(n,)``.

    Raises
    ------
    TonicNotInstalledError
        tonic is not installed.
    DataNotFoundError
        No copy in *save_to* and ``download=False``, or the download failed
        (no network).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    try:
        import tonic  # noqa: PLC0415 - optional
    except ImportError:
        raise TonicNotInstalledError(
            "N-MNIST is read through the optional package 'tonic', which is not installed: "
            "run `pip install tonic` (it downloads N-MNIST, about 1 GB, on first use, so it needs a network), "
            "or use the offline stand-in bioplastic.data.event_streams.saccade_frames(load_mnist(...)[0])."
        ) from None
    if save_to is None:
        save_to = os.environ.get("BIOPLASTIC_NMNIST") or Path.home() / ".cache" / "bioplastic" / "nmnist"
    save_to = Path(save_to)
    folder = save_to / "NMNIST"
    if not download and not folder.is_dir():
        raise DataNotFoundError(
            f"no N-MNIST copy in {folder}. Run load_nmnist(..., download=True) on a machine with a network "
            f"(tonic downloads it into {save_to}), or copy an existing tonic 'NMNIST' folder there "
            "(or set $BIOPLASTIC_NMNIST to its parent).", searched=[folder])
    try:
        dataset = tonic.datasets.NMNIST(save_to=str(save_to), train=(split == "train"))
    except (OSError, RuntimeError) as exc:  # urllib's URLError is an OSError
        raise DataNotFoundError(
            f"tonic could not read or download N-MNIST into {save_to} ({type(exc).__name__}: {exc}). "
            "Downloading needs a network; offline, copy an existing tonic 'NMNIST' folder there, "
            "or use the stand-in bioplastic.data.event_streams.saccade_frames.", searched=[folder]) from exc
    n = len(dataset) if n_samples is None else min(int(n_samples), len(dataset))
    size = SENSOR_SIZE[0] // pool
    frames = np.zeros((n, n_steps, 2, size, size), dtype=bool)
    labels = np.zeros(n, dtype=np.int64)
    for k in range(n):
        events, label = dataset[k]
        binned = bin_events(events, n_steps, duration_us, SENSOR_SIZE)
        frames[k] = pool_frames(binned, pool) if pool > 1 else binned
        labels[k] = int(label)
    return frames, labels
