"""The discrete-time LIF network of Zenke & Vogels (2021), eq. 4.1, in PyTorch.

For hidden neuron ``i`` at step ``n`` (``U[0] = I[0] = 0``)::

    S[n]   = H(U[n] - 1)                                      threshold 1, H(0) = 0
    U[n+1] = (b_mem U[n] + (1 - b_mem) I[n]) (1 - S[n])       multiplicative reset to 0
    I[n+1] = b_syn I[n] + sum_j W_ij S_in_j[n] + sum_j V_ij S_j[n]   (V optional)

with ``b_mem = exp(-dt/tau_mem)``, ``b_syn = exp(-dt/tau_syn)``.  An input
spike at step ``n`` thus reaches ``I`` at ``n + 1`` and ``U`` at ``n + 2``
(the one-step delay of the map).  The readout is non-spiking::

    I_out[n+1] = b_syn I_out[n] + W2 S[n]
    U_out[n+1] = b_out U_out[n] + (1 - b_out) I_out[n]
    logits_k   = max_{n = 1..T} U_out_k[n]                    ("max over time")

The reset ``(1 - S[n])`` is detached from the autograd graph by default
(the paper's standard setting); ``differentiable_reset=True`` lets the
gradient flow through it (the "DR" variants of Fig. 5).  Spikes are produced
by a :class:`~bioplastic.gradient.surrogates.Surrogate`.

The same map, written as Brian2 equations, is in
:mod:`bioplastic.gradient.brian2_bridge`; the two give identical rasters.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import torch
from brian2 import Quantity, ms

from bioplastic.symstdp.params import _q
from bioplastic.gradient import regularizers
from bioplastic.gradient.surrogates import Surrogate, get_surrogate
from bioplastic.gradient.training import BatchResult

__all__ = ["LIFParams", "Decays", "NetworkOutput", "SpikingNetwork", "MaxOverTimeLoss", "SilentHiddenLayerWarning",
           "SpikeTimesBatches", "spikes_from_times"]


@dataclasses.dataclass(frozen=True)
class LIFParams:
    """Network parameters of the Randman task (Zenke & Vogels 2021, Table 1 and Sec. 4.2).

    Attributes
    ----------
    dt : Quantity
        Time step (1 ms).
    tau_mem, tau_syn, tau_out : Quantity
        Membrane (10 ms), synaptic (5 ms) and readout membrane (20 ms) time
        constants; the readout's synaptic current uses ``tau_syn``.
    n_in, n_hidden, n_out : int
        Layer sizes (Randman: 20 inputs, 100 hidden, 10 classes).
    nb_steps : int
        Time steps per trial (100).
    """

    dt: Quantity = _q(1 * ms)
    tau_mem: Quantity = _q(10 * ms)
    tau_syn: Quantity = _q(5 * ms)
    tau_out: Quantity = _q(20 * ms)
    n_in: int = 20
    n_hidden: int = 100
    n_out: int = 10
    nb_steps: int = 100

    def __post_init__(self):
        for name in ("dt", "tau_mem", "tau_syn", "tau_out"):
            value = getattr(self, name)
            if not isinstance(value, Quantity) or not value.has_same_dimensions(ms):
                raise TypeError(f"{name} must be a Brian2 time quantity (e.g. 10*ms), got {value!r}")
            if not float(value) > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        for name in ("n_in", "n_hidden", "n_out", "nb_steps"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def decays(self):
        """The per-step decay factors (:class:`Decays`)."""
        return Decays(b_mem=math.exp(-float(self.dt / self.tau_mem)),
                      b_syn=math.exp(-float(self.dt / self.tau_syn)),
                      b_out=math.exp(-float(self.dt / self.tau_out)))

    def record(self):
        """The parameters as strings with units (for a JSON run record)."""
        return {f.name: str(getattr(self, f.name)) if isinstance(getattr(self, f.name), Quantity)
                else getattr(self, f.name) for f in dataclasses.fields(self)}


class Decays(NamedTuple):
    """Dimensionless per-step decay factors ``exp(-dt/tau)``."""

    b_mem: float
    b_syn: float
    b_out: float


class NetworkOutput(NamedTuple):
    """What :meth:`SpikingNetwork.forward` returns.

    Attributes
    ----------
    logits : torch.Tensor
        ``(batch, n_out)``, max over time of the readout membrane.
    spikes : torch.Tensor
        ``(batch, nb_steps, n_hidden)`` hidden spikes ``S[n]``, ``n = 0..T-1``.
    readout : torch.Tensor
        ``(batch, nb_steps, n_out)`` readout membrane ``U_out[n]``, ``n = 1..T``.
    membrane : torch.Tensor or None
        ``(batch, nb_steps, n_hidden)`` hidden membrane ``U[n]``, ``n = 0..T-1``
        (before the threshold), when asked for with ``record_membrane=True``.
    """

    logits: torch.Tensor
    spikes: torch.Tensor
    readout: torch.Tensor
    membrane: torch.Tensor | None = None


class SpikingNetwork(torch.nn.Module):
    """One hidden layer of discrete-time LIF neurons and a max-over-time readout.

    Parameters
    ----------
    params : LIFParams
        Sizes and time constants.
    surrogate : Surrogate or str
        Spike function (a name is passed to :func:`get_surrogate` with *beta*).
    beta : float
        Surrogate slope, used when *surrogate* is a name.
    recurrent : bool
        Add recurrent hidden-to-hidden weights ``V``.
    differentiable_reset : bool
        Let the gradient flow through the reset (default: detached).
    init_gain : float
        Multiplies the initial input and recurrent weights (1 = the paper's
        initialisation).
    dtype : torch.dtype
        Parameter dtype (float32; float64 for exact comparisons).
    generator : torch.Generator, optional
        For the initial weights; default a generator seeded with 0.

    Notes
    -----
    Initial weights (the paper, Sec. 4.2.5): ``U(-sqrt(k), sqrt(k))`` with
    ``k = 1/fan_in``, no biases.  Weight matrices are stored ``(pre, post)``.
    """

    def __init__(self, params=LIFParams(), surrogate="superspike", beta=10.0, recurrent=False,
                 differentiable_reset=False, init_gain=1.0, dtype=torch.float32, generator=None):
        super().__init__()
        self.params = params
        self.spike_fn = surrogate if isinstance(surrogate, Surrogate) else get_surrogate(surrogate, beta)
        self.recurrent = bool(recurrent)
        self.differentiable_reset = bool(differentiable_reset)
        self.decays = params.decays()
        if generator is None:
            generator = torch.Generator().manual_seed(0)

        if not init_gain > 0:
            raise ValueError(f"init_gain must be > 0, got {init_gain}")
        self.init_gain = float(init_gain)

        def uniform(n_pre, n_post, gain=1.0):
            bound = gain / math.sqrt(n_pre)
            w = (torch.rand(n_pre, n_post, generator=generator, dtype=torch.float64) * 2 - 1) * bound
            return torch.nn.Parameter(w.to(dtype))

        self.w_in = uniform(params.n_in, params.n_hidden, self.init_gain)
        self.w_rec = uniform(params.n_hidden, params.n_hidden, self.init_gain) if self.recurrent else None
        self.w_out = uniform(params.n_hidden, params.n_out)

    def config(self):
        """The constructor's settings (for a run record)."""
        return dict(params=self.params.record(), surrogate=self.spike_fn.name,
                    beta=self.spike_fn.beta, recurrent=self.recurrent,
                    differentiable_reset=self.differentiable_reset, init_gain=self.init_gain,
                    decays=self.decays._asdict())

    def forward(self, x, record_membrane=False):
        """Run the map on input spikes *x* of shape ``(batch, nb_steps, n_in)``.

        Parameters
        ----------
        x : torch.Tensor
            0/1 input spikes, dense or sparse COO.
        record_membrane : bool
            Also return the hidden membrane potentials (for tests, figures).

        Returns
        -------
        NetworkOutput
        """
        if x.dim() != 3 or x.shape[2] != self.params.n_in:
            raise ValueError(f"input must have shape (batch, time, {self.params.n_in}), got {tuple(x.shape)}")
        b_mem, b_syn, _ = self.decays
        batch, nb_steps, n_in = x.shape
        # feed-forward input of each step; unbind (not h_in[:, n]) keeps the backward pass O(T)
        h_in = _input_currents(x.to(self.w_in.dtype), self.w_in).unbind(dim=1)
        n_hidden = self.params.n_hidden
        u = self.w_in.new_zeros(batch, n_hidden)
        i_syn = self.w_in.new_zeros(batch, n_hidden)
        spikes, membrane = [], []
        for n in range(nb_steps):
            if record_membrane:
                membrane.append(u)
            s = self.spike_fn(u - 1.0)
            spikes.append(s)
            reset = s if self.differentiable_reset else s.detach()
            u_new = (b_mem * u + (1.0 - b_mem) * i_syn) * (1.0 - reset)
            i_new = b_syn * i_syn + h_in[n]
            if self.recurrent:
                i_new = i_new + s @ self.w_rec
            u, i_syn = u_new, i_new
        spikes = torch.stack(spikes, dim=1)
        # the readout is linear: U_out[n+1] = sum_m k[n - m] (W2 S[m]), one matrix product
        kernel = self._readout_kernel(nb_steps)
        readout = torch.einsum("nm,bmo->bno", kernel, spikes @ self.w_out)
        membrane = torch.stack(membrane, dim=1) if record_membrane else None
        return NetworkOutput(readout.max(dim=1).values, spikes, readout, membrane)

    def _readout_kernel(self, nb_steps):
        """Lower-triangular (T, T) matrix K with readout = K @ drive (cached per T and dtype).

        ``K[n, m] = k[n - m]``, where ``k`` is the response of the readout's
        recurrence (``I_out <- b_syn I_out + drive``, ``U_out <- b_out U_out +
        (1 - b_out) I_out``, recorded after the update) to a unit drive at
        step 0, computed by running that recurrence in float64.
        """
        key = (nb_steps, self.w_out.dtype)
        cache = self.__dict__.setdefault("_kernels", {})
        if key not in cache:
            _, b_syn, b_out = self.decays
            k = np.zeros(nb_steps)
            u_out, i_out = 0.0, 0.0
            for n in range(nb_steps):
                u_out, i_out = b_out * u_out + (1.0 - b_out) * i_out, b_syn * i_out + (n == 0)
                k[n] = u_out
            idx = np.arange(nb_steps)
            lag = idx[:, None] - idx[None, :]
            matrix = np.where(lag >= 0, k[np.clip(lag, 0, None)], 0.0)
            cache[key] = torch.as_tensor(matrix, dtype=self.w_out.dtype)
        return cache[key]

    def weights(self):
        """The weights as float64 numpy arrays (``w_in``, ``w_out`` and, if recurrent, ``w_rec``)."""
        out = {"w_in": self.w_in, "w_out": self.w_out}
        if self.recurrent:
            out["w_rec"] = self.w_rec
        return {k: v.detach().to(torch.float64).cpu().numpy() for k, v in out.items()}


def _input_currents(x, w_in):
    """``x @ w_in`` for dense or sparse (COO) input spikes ``(batch, time, n_in)``."""
    if not x.is_sparse:
        return x @ w_in
    batch, nb_steps, n_in = x.shape
    x = x.coalesce()
    idx = x.indices()
    flat = torch.sparse_coo_tensor(torch.stack([idx[0] * nb_steps + idx[1], idx[2]]), x.values(),
                                   (batch * nb_steps, n_in), check_invariants=False)
    return torch.sparse.mm(flat, w_in).reshape(batch, nb_steps, -1)


def spikes_from_times(times, nb_steps, dtype=torch.float32, sparse=False):
    """Spike tensor ``(n, nb_steps, n_units)`` from integer spike times (``>= nb_steps`` = none).

    With ``sparse=True`` a sparse COO tensor (much faster for the input layer
    of 784 latency-coded pixels, of which a few hundred spike).
    """
    times = torch.as_tensor(np.asarray(times), dtype=torch.long)
    n, m = times.shape
    if sparse:
        sample, unit = torch.nonzero(times < nb_steps, as_tuple=True)
        indices = torch.stack([sample, times[sample, unit], unit])
        return torch.sparse_coo_tensor(indices, torch.ones(len(sample), dtype=dtype),
                                       (n, nb_steps, m), check_invariants=False).coalesce()
    out = torch.zeros(n, nb_steps + 1, m, dtype=dtype)  # the last slot collects "no spike"
    out.scatter_(1, times.clamp(max=nb_steps).unsqueeze(1), 1.0)
    return out[:, :nb_steps]


class SpikeTimesBatches:
    """Integer spike times that turn into dense spike tensors one minibatch at a time.

    A data set of 60000 latency-coded images is 19 GB as a dense float32
    ``(n, 100, 784)`` tensor but 0.4 GB as spike times; :func:`~bioplastic.gradient.training.fit`
    indexes this object with the minibatch's sample indices.

    Parameters
    ----------
    times : array_like
        ``(n, n_units)`` spike steps; ``nb_steps`` means no spike (as in
        :class:`bioplastic.data.encoding.SpikeTimes`).
    nb_steps : int
    dtype : torch.dtype
    sparse : bool
        Return sparse COO minibatches (see :func:`spikes_from_times`).
    """

    def __init__(self, times, nb_steps, dtype=torch.float32, sparse=False):
        self.times = torch.as_tensor(np.asarray(times), dtype=torch.long)
        self.nb_steps = int(nb_steps)
        self.dtype = dtype
        self.sparse = bool(sparse)

    def __len__(self):
        return len(self.times)

    def __getitem__(self, index):
        return spikes_from_times(self.times[index], self.nb_steps, self.dtype, self.sparse)


class SilentHiddenLayerWarning(UserWarning):
    """The hidden layer fired no spike on a training minibatch: the gradient is exactly zero."""


class MaxOverTimeLoss:
    """Cross-entropy on the max-over-time readout, plus optional spike-count regularisers.

    ``loss = CE(logits, y) + g_lower + g_upper`` (Zenke & Vogels 2021, Sec. 4.2.7),
    for use as the ``loss_fn`` of :func:`bioplastic.gradient.training.fit`.

    Parameters
    ----------
    lower, upper : dict or None
        Keyword arguments of :func:`~bioplastic.gradient.regularizers.lower_bound`
        and :func:`~bioplastic.gradient.regularizers.upper_bound` (``{}`` for
        their defaults); ``None`` switches the term off.

    The returned :class:`~bioplastic.gradient.training.BatchResult` carries the
    metrics ``cross_entropy`` and ``spikes_per_neuron`` (mean hidden spike
    count per neuron and trial).
    """

    def __init__(self, lower=None, upper=None):
        self.lower = None if lower is None else dict(lower)
        self.upper = None if upper is None else dict(upper)
        self._warned = False

    def _check_silence(self, model, spikes):
        """Warn once when a training minibatch leaves the hidden layer silent (zero gradients)."""
        if self._warned or not model.training or float(spikes.detach().sum()) > 0:
            return
        import warnings

        hint = ("pass lower={} (the lower spike-count bound of Zenke & Vogels 2021 wakes silent neurons)"
                if self.lower is None else "raise the lower bound's strength")
        warnings.warn(
            f"the hidden layer fired no spike on a training minibatch of {spikes.shape[0]} samples: the "
            "max-over-time readout then gets no gradient through the hidden layer, so it cannot learn. "
            f"Use larger initial weights (SpikingNetwork(init_gain=3), --init-gain 3) or {hint}.",
            SilentHiddenLayerWarning, stacklevel=3)
        self._warned = True

    def __call__(self, model, x, y):
        out = model(x)
        self._check_silence(model, out.spikes)
        ce = torch.nn.functional.cross_entropy(out.logits, torch.as_tensor(y, dtype=torch.long))
        loss = ce
        if self.lower is not None:
            loss = loss + regularizers.lower_bound(out.spikes, **self.lower)
        if self.upper is not None:
            loss = loss + regularizers.upper_bound(out.spikes, **self.upper)
        rate = float(out.spikes.detach().sum(dim=1).mean())
        return BatchResult(loss, out.logits.detach().argmax(dim=1),
                           {"cross_entropy": float(ce.detach()), "spikes_per_neuron": rate})
