"""A multilayer perceptron of TTFS neurons (one spike per neuron at most).

Every layer is fully connected and made of the neurons of :mod:`.neuron`;
all layers share one time window ``[0, t_max]`` that starts with the input
window ``[0, t_in]``.  Spike times are in units of ``t_in`` by convention
(``t_in = 1``); the threshold is ``v_th`` (``v`` is unitless).
"""

from __future__ import annotations

import math

import torch

from bioplastic.gradient.ttfs.neuron import spike_times

__all__ = ["TTFSNetwork", "spike_counts"]


def spike_counts(layer_times):
    """Spikes per sample in each layer.

    Parameters
    ----------
    layer_times : list of torch.Tensor
        ``(batch, n_l)`` spike times of each layer (``+inf`` = silent).

    Returns
    -------
    torch.Tensor
        ``(batch, n_layers)`` float counts of fired neurons.
    """
    return torch.stack([torch.isfinite(t).sum(dim=1) for t in layer_times], dim=1).to(torch.float64)


class TTFSNetwork(torch.nn.Module):
    """Fully connected TTFS network ``sizes[0] -> ... -> sizes[-1]``.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first (e.g. ``(784, 400, 10)``), at least two.
    t_max : float, optional
        Window end shared by all layers (> ``t_in``); default
        ``len(sizes) * t_in``: one input window for the input and one more
        per layer of synapses (3 for ``(784, 400, 10)``).
    t_in : float
        Input window (see :func:`.coding.encode_images`).
    v_th : float
        Threshold.
    slope_floor : float
        Gradient guard, see :func:`.neuron.spike_times`.
    init_mean, init_std : float
        Initial weights of a layer with ``n`` inputs are drawn from
        ``N(init_mean * v_th / (n * t_in), (init_std * v_th / (sqrt(n) * t_in))**2)``:
        the mean drive of a layer scales as ``1/n`` and its spread as
        ``1/sqrt(n)``, so the defaults make most neurons fire at the start
        on MNIST-like inputs.
    seed : int
        Seed of the initial weights.
    dtype : torch.dtype

    Raises
    ------
    ValueError
        Fewer than two sizes, a size < 1, ``t_in <= 0`` or ``t_max <= t_in``.
    """

    def __init__(self, sizes, *, t_max=None, t_in=1.0, v_th=1.0, slope_floor=1e-2,
                 init_mean=6.0, init_std=3.0, seed=0, dtype=torch.float32):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer sizes; got {sizes}")
        if not t_in > 0:
            raise ValueError(f"t_in must be > 0; got {t_in}")
        if t_max is None:
            t_max = len(sizes) * t_in
        if not t_max > t_in:
            raise ValueError(f"the window t_max={t_max} must be longer than the input window "
                             f"t_in={t_in}: no neuron could fire after the last input")
        self.sizes = sizes
        self.t_max = float(t_max)
        self.t_in = float(t_in)
        self.v_th = float(v_th)
        self.slope_floor = float(slope_floor)
        gen = torch.Generator().manual_seed(int(seed))
        weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            mean = init_mean * v_th / (n_in * t_in)
            std = init_std * v_th / (math.sqrt(n_in) * t_in)
            w = mean + std * torch.randn(n_out, n_in, generator=gen, dtype=torch.float64)
            weights.append(torch.nn.Parameter(w.to(dtype)))
        self.weights = torch.nn.ParameterList(weights)

    def forward(self, t_input):
        """Spike times of every layer.

        Parameters
        ----------
        t_input : torch.Tensor
            ``(batch, sizes[0])`` input spike times.

        Returns
        -------
        list of torch.Tensor
            ``(batch, sizes[l])`` for each layer after the input; the last is
            the output.  ``+inf`` = silent.
        """
        if t_input.dim() != 2 or t_input.shape[1] != self.sizes[0]:
            raise ValueError(f"input times must have shape (batch, {self.sizes[0]}); "
                             f"got {tuple(t_input.shape)}")
        times, t = [], t_input
        for w in self.weights:
            t = spike_times(t, w, self.t_max, self.v_th, self.slope_floor)
            times.append(t)
        return times

    def extra_repr(self):
        return (f"sizes={self.sizes}, t_max={self.t_max}, t_in={self.t_in}, v_th={self.v_th}, "
                f"slope_floor={self.slope_floor}")
