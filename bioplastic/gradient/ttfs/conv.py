"""Convolutional TTFS layers: the neuron of :mod:`.neuron` with shared weights.

A convolution of spike times is the dense layer of :mod:`.neuron` applied to
every receptive field: the input is cut into patches (``unfold``), each
(sample, position) pair becomes one row of a batch, and
:func:`~.neuron.spike_times` computes all first-spike times and their exact
gradients at once; the weights are shared because every row uses the same
``(c_out, c_in * k * k)`` matrix.  Zero padding would mean "a spike at t=0",
so the border is padded with ``+inf`` (no spike) instead.

Pooling keeps TTFS semantics with :func:`min_pool2d`: a pooled neuron spikes
when the first neuron of its window does (max-pooling of ``-t``), and the
gradient goes to that earliest neuron.

This is the CNN variant the issue welcomes after the MLP; it has no protocol
and no Brian2 bridge yet (see docs/ttfs.rst).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bioplastic.gradient.ttfs.neuron import spike_times

__all__ = ["conv_spike_times", "min_pool2d", "TTFSConvNetwork"]


def conv_spike_times(t_in, weight, t_max, v_th=1.0, stride=1, padding=0, slope_floor=1e-2):
    """First-spike times of a convolutional layer.

    Parameters
    ----------
    t_in : torch.Tensor
        ``(batch, c_in, h, w)`` presynaptic times (``+inf`` = no spike).
    weight : torch.Tensor
        ``(c_out, c_in, k, k)``.
    t_max, v_th, slope_floor : float
        As for :func:`~.neuron.spike_times`.
    stride, padding : int
        As for :func:`torch.nn.functional.conv2d` (padding adds silent inputs).

    Returns
    -------
    torch.Tensor
        ``(batch, c_out, h_out, w_out)`` spike times, ``+inf`` where silent.
    """
    if t_in.dim() != 4 or weight.dim() != 4 or weight.shape[1] != t_in.shape[1]:
        raise ValueError(f"need t_in (batch, c_in, h, w) and weight (c_out, c_in, k, k) with the same "
                         f"c_in; got {tuple(t_in.shape)} and {tuple(weight.shape)}")
    batch, c_in, h, w = t_in.shape
    c_out, _, kh, kw = weight.shape
    if padding:
        t_in = F.pad(t_in, (padding,) * 4, value=math.inf)
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    patches = F.unfold(t_in, (kh, kw), stride=stride)               # (B, c_in*kh*kw, L)
    rows = patches.transpose(1, 2).reshape(-1, c_in * kh * kw)       # (B*L, c_in*kh*kw)
    t = spike_times(rows, weight.reshape(c_out, -1), t_max, v_th, slope_floor)
    return t.reshape(batch, h_out * w_out, c_out).transpose(1, 2).reshape(batch, c_out, h_out, w_out)


def min_pool2d(t, kernel_size, stride=None):
    """Earliest spike of each window (``+inf`` if the whole window is silent)."""
    return -F.max_pool2d(-t, kernel_size, stride)


class TTFSConvNetwork(torch.nn.Module):
    """conv -> min-pool blocks, then fully connected TTFS layers.

    Parameters
    ----------
    in_shape : tuple of int
        ``(c, h, w)`` of the input.
    channels : sequence of int
        Output channels of each convolution (kernel ``kernel``, padding
        ``kernel // 2``, each followed by a 2 x 2 min-pooling).
    hidden : sequence of int
        Sizes of the fully connected layers after the convolutions, output last.
    kernel : int
    t_max, t_in, v_th, slope_floor, init_mean, init_std, seed, dtype
        As for :class:`~.network.TTFSNetwork` (``t_max`` default:
        ``(number of layers + 1) * t_in``).
    """

    def __init__(self, in_shape, channels, hidden, *, kernel=5, t_max=None, t_in=1.0, v_th=1.0,
                 slope_floor=1e-2, init_mean=6.0, init_std=3.0, seed=0, dtype=torch.float32):
        super().__init__()
        c, h, w = (int(s) for s in in_shape)
        n_layers = len(channels) + len(hidden)
        if t_max is None:
            t_max = (n_layers + 1) * t_in
        if not t_max > t_in:
            raise ValueError(f"the window t_max={t_max} must be longer than the input window t_in={t_in}")
        self.in_shape, self.kernel = (c, h, w), int(kernel)
        self.t_max, self.t_in, self.v_th, self.slope_floor = float(t_max), float(t_in), float(v_th), float(slope_floor)
        gen = torch.Generator().manual_seed(int(seed))

        def init(shape, fan_in):
            mean = init_mean * v_th / (fan_in * t_in)
            std = init_std * v_th / (math.sqrt(fan_in) * t_in)
            return torch.nn.Parameter((mean + std * torch.randn(*shape, generator=gen,
                                                                dtype=torch.float64)).to(dtype))

        self.conv_weights = torch.nn.ParameterList()
        for c_out in channels:
            self.conv_weights.append(init((c_out, c, kernel, kernel), c * kernel * kernel))
            c, h, w = c_out, h // 2, w // 2
        self.weights = torch.nn.ParameterList()
        n_in = c * h * w
        for n_out in hidden:
            self.weights.append(init((n_out, n_in), n_in))
            n_in = n_out

    def forward(self, t_input):
        """Spike times of every layer (pooled conv maps flattened), output last."""
        if t_input.dim() != 4 or tuple(t_input.shape[1:]) != self.in_shape:
            raise ValueError(f"input times must have shape (batch, {self.in_shape}); got {tuple(t_input.shape)}")
        times, t = [], t_input
        for w in self.conv_weights:
            t = conv_spike_times(t, w, self.t_max, self.v_th, padding=self.kernel // 2,
                                 slope_floor=self.slope_floor)
            t = min_pool2d(t, 2)
            times.append(t.flatten(1))
        t = t.flatten(1)
        for w in self.weights:
            t = spike_times(t, w, self.t_max, self.v_th, self.slope_floor)
            times.append(t)
        return times
