"""Sparse-firing regularisers for TTFS networks: M-SSR and F-SSR (HYPOTHESES).

Sakemi et al. 2023 (Sci Rep 13:22897, arXiv 2307.13007) propose two
"spike timing-based sparse-firing regularization" (SSR) methods.  Their
abstract says only: M-SSR (membrane potential-aware) "has been derived as an
extreme form of the loss function of the membrane potential value"; F-SSR
(firing condition-aware) is "a regularization function obtained from the
firing conditions"; both "only require information about the firing timing
and associated weights".  The papers' own formulas, constants and tables
could not be retrieved (see ``shared/related-work.md`` 1.3 and
``docs/ttfs.rst``).  The two functions below are the engineering hypotheses
H1 and H2 written there; each is ONE function of (presynaptic times,
postsynaptic times, weights, window), so putting the published form in its
place is a local change.

For one layer with presynaptic times ``t_j``, spike times ``t_i``, weights
``w_ij``, window end ``t_max`` and threshold ``v_th``:

``m_ssr`` (H1)
    sum over FIRED neurons of the overshoot the neuron would reach at the
    window end if only its causal inputs kept driving it::

        R_M = sum_{i fired} ( sum_{j: t_j < t_i} w_ij (t_max - t_j) - v_th )
            = sum_{i fired} W_i (t_max - t_i)        (>= 0)

    Its gradient lowers causal weights (d/dw_ij = t_max - t_j > 0) and
    delays causal input spikes, i.e. pushes fired neurons later and, at the
    end, out of the window.  Silent neurons contribute nothing.

``f_ssr`` (H2)
    sum over ALL neurons of the margin by which the firing condition
    ``v_i(t_max) >= v_th`` (all inputs before the window end, no spike) is
    met::

        R_F = sum_i relu( sum_j w_ij relu(t_max - t_j) - v_th )

    One matrix product per layer; zero for neurons whose potential at the
    window end stays below threshold.

Both return one value per sample, summed over the layer's neurons.
"""

from __future__ import annotations

import torch

from bioplastic.gradient.ttfs.neuron import causal_weight_sum

__all__ = ["m_ssr", "f_ssr", "REGULARIZERS", "network_regularizer"]


def m_ssr(t_pre, t_post, weight, t_max, v_th=1.0):
    """Hypothesis H1 for M-SSR (see the module docstring): per-sample penalty.

    Parameters
    ----------
    t_pre : torch.Tensor
        Presynaptic times ``(batch, n_in)`` (``+inf`` = no spike).
    t_post : torch.Tensor
        This layer's spike times ``(batch, n_out)`` from
        :func:`~bioplastic.gradient.ttfs.neuron.spike_times` (differentiable).
    weight : torch.Tensor
        ``(n_out, n_in)``.
    t_max : float
        Window end.
    v_th : float
        Threshold (unused by H1's closed form, kept for a uniform signature).

    Returns
    -------
    torch.Tensor
        ``(batch,)``, ``sum_{i fired} W_i (t_max - t_i)``.
    """
    w_sum = causal_weight_sum(t_pre, t_post, weight, t_max)
    fired = torch.isfinite(t_post)
    return torch.where(fired, w_sum * (t_max - torch.where(fired, t_post, t_max)), 0.0).sum(dim=1)


def f_ssr(t_pre, t_post, weight, t_max, v_th=1.0):
    """Hypothesis H2 for F-SSR (see the module docstring): per-sample penalty.

    Parameters are those of :func:`m_ssr` (``t_post`` is unused: H2 looks at
    the firing condition of every neuron, fired or not).

    Returns
    -------
    torch.Tensor
        ``(batch,)``, ``sum_i relu(sum_j w_ij relu(t_max - t_j) - v_th)``.
    """
    drive = (t_max - t_pre).clamp(min=0.0)            # +inf inputs give 0
    v_end = drive @ weight.t()                        # v_i(t_max) without a spike
    return torch.relu(v_end - v_th).sum(dim=1)


REGULARIZERS = {"none": None, "m-ssr": m_ssr, "f-ssr": f_ssr}


def network_regularizer(kind, t_input, layer_times, weights, t_max, v_th=1.0):
    """Sum of a regulariser over all layers, averaged over the batch.

    Parameters
    ----------
    kind : {"none", "m-ssr", "f-ssr"}
    t_input : torch.Tensor
        Input spike times ``(batch, n_in)``.
    layer_times : list of torch.Tensor
        Spike times of each layer (hidden layers and output).
    weights : list of torch.Tensor
        The layers' weights, same order.
    t_max, v_th : float

    Returns
    -------
    torch.Tensor
        Scalar (0 for ``"none"``).
    """
    if kind not in REGULARIZERS:
        raise ValueError(f"unknown regulariser {kind!r}; choose one of {sorted(REGULARIZERS)}")
    fn = REGULARIZERS[kind]
    if fn is None:
        return t_input.new_zeros(())
    total = 0.0
    pre = t_input
    for post, w in zip(layer_times, weights):
        total = total + fn(pre, post, w, t_max, v_th)
        pre = post
    return total.mean()
