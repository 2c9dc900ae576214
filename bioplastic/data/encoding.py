"""Spike encodings for the gradient-trained families: Randman and latency codes.

Everything here is plain numpy (no torch, no Brian2).  An encoded data set is
a :class:`SpikeTimes`: at most one spike per input unit, stored as the integer
time step of that spike, with ``nb_steps`` meaning "no spike".  Call
:meth:`SpikeTimes.dense` for the ``(n, nb_steps, n_units)`` 0/1 array that a
discrete-time network consumes.

Randman (random manifolds)
--------------------------
The synthetic task of Zenke & Vogels (2021), Neural Computation 33(4):899-925,
Sec. 4.1.1.  Each class is a smooth random ``D``-dimensional manifold embedded
in ``M`` dimensions; coordinate ``m`` of a point ``x in [0, 1)^D`` is

.. math::

    f_m(x) = \\prod_{d=1}^{D} \\sum_{k} \\theta_{m,d,0,k}\\, s_k
             \\sin\\bigl(2\\pi (\\nu_k\\, x_d\\, \\theta_{m,d,1,k} + \\theta_{m,d,2,k})\\bigr),
    \\qquad \\theta \\sim U(0, 1).

Two spectra (``spectrum=``) are offered:

``"code"`` (default)
    As in the released generator (github fzenke/randman, ``TorchRandman``,
    the default backend, used for the paper's figures): frequencies
    ``nu_k = k`` for ``k = 0 .. F-1`` with weights ``s_k = 1/((k+1)^alpha + 1)``,
    ``F = min(ceil(prec^(-1/alpha)), max_f_cutoff)``, and the ``k = 0`` term
    (a constant offset, "bias") removed by setting its amplitude to 0.
``"paper"``
    As printed in the paper: frequencies ``nu_k = k`` for ``k = 1 .. n_cutoff``
    with weights ``s_k = k^(-alpha)``.  There is no constant term, so nothing
    is removed.

The two differ in the spectrum's shape at low frequency (the code's weights are
1/2, 1/3, 1/5 ... of the paper's 1, 1/2, 1/3 ... for alpha = 1, i.e. roughly
half the low-frequency power) and in the extra zero-frequency slot of the code.
(The released *numpy* backend uses ``1/(k+1)^alpha`` on ``k = 0 .. F-1``, a
third variant not offered here.)

The spiking version follows the randman notebook and stork's
``make_tempo_randman``: each unit's coordinate is min-max standardised per
class over that class's samples, ``y <- (y - min)/(max - min + 1e-7)``, and the
unit spikes once, in time bin ``int(nb_steps * step_frac * y)``.

Latency code (MNIST / Fashion-MNIST)
------------------------------------
The code of the spytorch tutorials (Zenke, github fzenke/spytorch, tutorial 2):
a pixel of intensity ``x = pixel/255`` is the constant current of a leaky
integrator with threshold ``theta``; it spikes once, at
``T = tau_eff * ln(x / (x - theta))`` steps (truncated to an integer); pixels
with ``x <= theta`` never spike.  Defaults ``theta = 0.2``, ``tau_eff = 20``
steps (20 ms at dt = 1 ms), 100 steps.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "SPECTRA",
    "SpikeTimes",
    "RandmanSplits",
    "randman_spectrum",
    "Randman",
    "standardize_per_class",
    "values_to_spike_times",
    "make_randman",
    "latency_spike_times",
    "latency_encode_images",
]

#: Names accepted by ``spectrum=``.
SPECTRA = ("code", "paper")


# --------------------------------------------------------------------------
# data containers
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SpikeTimes:
    """At most one spike per unit and sample, as integer time steps.

    Attributes
    ----------
    times : numpy.ndarray
        ``int64``, shape ``(n_samples, n_units)``: the step of each unit's
        spike, in ``0 .. nb_steps - 1``; ``nb_steps`` means no spike.
    labels : numpy.ndarray
        ``int64``, shape ``(n_samples,)``.
    nb_steps : int
        Number of time steps of a trial.
    """

    times: np.ndarray
    labels: np.ndarray
    nb_steps: int

    def __post_init__(self):
        times = np.asarray(self.times)
        labels = np.asarray(self.labels)
        if times.ndim != 2:
            raise ValueError(f"times must be 2-d (n_samples, n_units), got shape {times.shape}")
        if labels.shape != (times.shape[0],):
            raise ValueError(f"labels must have shape ({times.shape[0]},), got {labels.shape}")
        if times.size and (times.min() < 0 or times.max() > self.nb_steps):
            raise ValueError(f"spike times must lie in 0 .. nb_steps={self.nb_steps}")

    def __len__(self):
        return self.times.shape[0]

    @property
    def n_units(self):
        """Number of input units."""
        return self.times.shape[1]

    def subset(self, index):
        """The samples selected by *index* (an index array or slice)."""
        return SpikeTimes(self.times[index], self.labels[index], self.nb_steps)

    def dense(self, dtype=np.float32):
        """The spikes as a 0/1 array of shape ``(n_samples, nb_steps, n_units)``."""
        n, m = self.times.shape
        out = np.zeros((n, self.nb_steps + 1, m), dtype=dtype)  # last slot: "no spike"
        out[np.arange(n)[:, None], self.times, np.arange(m)[None, :]] = 1
        return out[:, : self.nb_steps]

    def events(self):
        """The spikes as flat arrays ``(sample, step, unit)``, ordered by sample, step, unit."""
        sample, unit = np.nonzero(self.times < self.nb_steps)
        step = self.times[sample, unit]
        order = np.lexsort((unit, step, sample))
        return sample[order], step[order], unit[order]


@dataclasses.dataclass(frozen=True)
class RandmanSplits:
    """The train / validation / test split of a spiking Randman data set."""

    train: SpikeTimes
    validation: SpikeTimes
    test: SpikeTimes
    config: dict


# --------------------------------------------------------------------------
# Randman
# --------------------------------------------------------------------------

def _check_spectrum(spectrum):
    if spectrum not in SPECTRA:
        raise ValueError(f"unknown Randman spectrum {spectrum!r}; valid: {', '.join(SPECTRA)}")


def randman_spectrum(alpha=1.0, spectrum="code", prec=1e-3, max_f_cutoff=1000):
    """Frequencies and weights of the Randman Fourier series.

    Parameters
    ----------
    alpha : float
        Fall-off exponent of the spectrum (> 0); larger is smoother.
    spectrum : {"code", "paper"}
        See the module docstring.
    prec : float
        Precision setting the number of frequencies,
        ``F = min(ceil(prec^(-1/alpha)), max_f_cutoff)`` (both spectra).
    max_f_cutoff : int
        Upper bound on ``F`` (the paper's ``n_cutoff`` = 1000).

    Returns
    -------
    freqs : numpy.ndarray
        ``F`` frequencies (``0 .. F-1`` or ``1 .. F``).
    weights : numpy.ndarray
        ``F`` spectral weights.
    """
    _check_spectrum(spectrum)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not 0 < prec < 1:
        raise ValueError(f"prec must lie in (0, 1), got {prec}")
    n_freq = int(min(math.ceil(prec ** (-1.0 / alpha)), max_f_cutoff))
    if spectrum == "code":
        freqs = np.arange(n_freq, dtype=float)
        weights = 1.0 / ((freqs + 1.0) ** alpha + 1.0)
    else:
        freqs = np.arange(1, n_freq + 1, dtype=float)
        weights = freqs ** (-alpha)
    return freqs, weights


class Randman:
    """One smooth random manifold (vectorised re-implementation of fzenke/randman).

    Parameters
    ----------
    n_units : int
        Embedding dimension ``M`` (input units).
    dim_manifold : int
        Manifold dimension ``D``.
    alpha : float
        Spectral fall-off exponent.
    rng : numpy.random.Generator
        Source of the parameters ``theta``.
    spectrum, prec, max_f_cutoff
        See :func:`randman_spectrum`.

    Attributes
    ----------
    params : numpy.ndarray
        ``theta``, shape ``(M, D, 3, F)``: amplitude, frequency scale, phase.
    """

    def __init__(self, n_units, dim_manifold, alpha, rng, spectrum="code", prec=1e-3,
                 max_f_cutoff=1000):
        self.freqs, self.weights = randman_spectrum(alpha, spectrum, prec, max_f_cutoff)
        self.params = rng.uniform(0.0, 1.0, size=(n_units, dim_manifold, 3, len(self.freqs)))
        if spectrum == "code":
            self.params[:, :, 0, 0] = 0.0  # no bias: drop the constant (k = 0) term
        self.spectrum = spectrum

    def __call__(self, x):
        """Embed manifold coordinates *x* (``(n, D)`` in [0, 1)) into ``(n, M)``."""
        x = np.asarray(x, dtype=float)
        amp, fscale, phase = self.params[:, :, 0], self.params[:, :, 1], self.params[:, :, 2]
        n, m_units = x.shape[0], amp.shape[0]
        if x.ndim != 2 or x.shape[1] != amp.shape[1]:
            raise ValueError(f"x must have shape (n, {amp.shape[1]}), got {x.shape}")
        out = np.ones((n, m_units))
        for m in range(m_units):  # an (n, D, F) array per unit keeps memory small
            arg = 2 * np.pi * (x[:, :, None] * (self.freqs * fscale[m])[None] + phase[m][None])
            per_dim = np.einsum("ndf,df->nd", np.sin(arg), amp[m] * self.weights)
            out[:, m] = np.prod(per_dim, axis=1)
        return out


def standardize_per_class(values, labels, eps=1e-7):
    """Min-max standardise each column within each class: ``(y - min)/(max - min + eps)``.

    The result lies in ``[0, 1)``.
    """
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    for c in np.unique(labels):
        sel = labels == c
        v = values[sel]
        lo, hi = v.min(axis=0), v.max(axis=0)
        out[sel] = (v - lo) / (hi - lo + eps)
    return out


def values_to_spike_times(values, nb_steps=100, step_frac=0.5):
    """Time bins ``int(nb_steps * step_frac * y)`` of standardised values ``y`` in [0, 1)."""
    if not 0 < step_frac <= 1:
        raise ValueError(f"step_frac must lie in (0, 1], got {step_frac}")
    values = np.asarray(values, dtype=float)
    if values.size and (values.min() < 0 or values.max() >= 1):
        raise ValueError("values must lie in [0, 1) (standardise them first)")
    return (nb_steps * step_frac * values).astype(np.int64)


def make_randman(n_classes=10, n_units=20, n_samples=1000, dim_manifold=1, alpha=1.0,
                 nb_steps=100, step_frac=0.5, spectrum="code", prec=1e-3, max_f_cutoff=1000,
                 split=(800, 100, 100), seed=0):
    """The spiking Randman classification task, split into train / validation / test.

    Parameters
    ----------
    n_classes : int
        Number of classes (one manifold each); default 10.
    n_units : int
        Input units (embedding dimension); default 20.
    n_samples : int
        Samples per class; default 1000.
    dim_manifold, alpha : int, float
        Manifold dimension ``D`` and smoothness (the paper: D = alpha = 1).
    nb_steps, step_frac : int, float
        Trial length in steps; spikes fall in the first ``step_frac`` of it
        (the paper: 100 steps of 1 ms, spikes within 50 ms -> 0.5).
    spectrum, prec, max_f_cutoff
        See :func:`randman_spectrum`.
    split : tuple of 3 int
        Samples per class in train, validation, test; must sum to *n_samples*.
        Every split holds the same number of samples of each class.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same arguments always
        give the same data.

    Returns
    -------
    RandmanSplits
        ``train``, ``validation``, ``test`` (each a :class:`SpikeTimes`,
        samples in shuffled order) and ``config`` (the arguments, for a run
        record).
    """
    for name, value in (("n_classes", n_classes), ("n_units", n_units), ("n_samples", n_samples),
                        ("dim_manifold", dim_manifold), ("nb_steps", nb_steps)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    split = tuple(int(s) for s in split)
    if len(split) != 3 or min(split) < 0 or sum(split) != n_samples:
        raise ValueError(f"split must be 3 non-negative counts summing to n_samples={n_samples}, got {split}")
    _check_spectrum(spectrum)
    config = dict(n_classes=n_classes, n_units=n_units, n_samples=n_samples,
                  dim_manifold=dim_manifold, alpha=alpha, nb_steps=nb_steps, step_frac=step_frac,
                  spectrum=spectrum, prec=prec, max_f_cutoff=max_f_cutoff, split=list(split),
                  seed=seed)
    seeds = np.random.SeedSequence(seed).spawn(n_classes + 1)  # one per class, one for shuffling
    rng = np.random.default_rng(seeds[-1])
    parts = {"train": [], "validation": [], "test": []}
    for c in range(n_classes):
        crng = np.random.default_rng(seeds[c])
        manifold = Randman(n_units, dim_manifold, alpha, crng, spectrum, prec, max_f_cutoff)
        x = crng.uniform(0.0, 1.0, size=(n_samples, dim_manifold))
        y = standardize_per_class(manifold(x), np.zeros(n_samples, dtype=int))
        times = values_to_spike_times(y, nb_steps, step_frac)
        start = 0
        for name, count in zip(parts, split):
            parts[name].append((times[start:start + count], np.full(count, c, dtype=np.int64)))
            start += count
    out = {}
    for name, chunks in parts.items():
        times = np.concatenate([t for t, _ in chunks])
        labels = np.concatenate([lab for _, lab in chunks])
        order = rng.permutation(len(labels))
        out[name] = SpikeTimes(times[order], labels[order], nb_steps)
    return RandmanSplits(out["train"], out["validation"], out["test"], config)


# --------------------------------------------------------------------------
# latency code
# --------------------------------------------------------------------------

def latency_spike_times(x, tau_eff=20.0, theta=0.2, nb_steps=100):
    """Latency code of spytorch: one spike at ``int(tau_eff * ln(x/(x - theta)))``.

    Parameters
    ----------
    x : array_like
        Intensities in [0, 1] (e.g. ``pixels / 255``).
    tau_eff : float
        Time constant in steps (20 ms / dt).
    theta : float
        Threshold in (0, 1); inputs ``x <= theta`` never spike.
    nb_steps : int
        Trial length; spikes at ``T >= nb_steps`` are dropped.

    Returns
    -------
    numpy.ndarray
        ``int64`` spike steps, same shape as *x*; ``nb_steps`` means no spike.
    """
    x = np.asarray(x, dtype=float)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("intensities must lie in [0, 1]")
    if not 0 < theta < 1 or not tau_eff > 0:
        raise ValueError(f"need 0 < theta < 1 and tau_eff > 0, got theta={theta}, tau_eff={tau_eff}")
    times = np.full(x.shape, nb_steps, dtype=np.int64)
    above = x > theta
    t = tau_eff * np.log(x[above] / (x[above] - theta))
    times[above] = np.minimum(t, nb_steps).astype(np.int64)
    return times


def latency_encode_images(images, labels, tau_eff=20.0, theta=0.2, nb_steps=100):
    """Latency-code ``uint8`` images (``(n, 28, 28)``) into a :class:`SpikeTimes` of 784 units."""
    images = np.asarray(images)
    x = images.reshape(len(images), -1).astype(float) / 255.0
    return SpikeTimes(latency_spike_times(x, tau_eff, theta, nb_steps),
                      np.asarray(labels, dtype=np.int64), nb_steps)
