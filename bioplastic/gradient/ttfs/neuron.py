"""The time-to-first-spike neuron: exact firing times and exact gradients.

Model (Sakemi et al. 2023, TNNLS 34(1):394-408, arXiv 2001.05348; used again
in Sakemi et al. 2023, Sci Rep 13:22897).  A non-leaky integrate-and-fire
neuron ``i`` receives one spike at most from each presynaptic neuron ``j``
(time ``t_j``); each spike switches on a step (non-decaying) synaptic current
of amplitude ``w_ij``.  Starting from ``v_i(0) = 0``::

    dv_i/dt = sum_j w_ij H(t - t_j)
    v_i(t)  = sum_j w_ij (t - t_j) H(t - t_j)          (piecewise linear)

The neuron fires once, the first time ``v_i`` reaches the threshold ``v_th``
inside the window ``[0, t_max]``, and never again.  With the causal set
``C_i = {j : t_j < t_i}`` and the summed causal weight
``W_i = sum_{j in C_i} w_ij``::

    t_i       = (v_th + sum_{j in C_i} w_ij t_j) / W_i        (W_i > 0)
    dt_i/dw_ij = (t_j - t_i) / W_i                            (j in C_i, else 0)
    dt_i/dt_j  = w_ij / W_i                                   (j in C_i, else 0)

(The model is as recalled in ``shared/related-work.md`` section 1.2; the
formulas follow from it by elementary algebra.  The papers' full text could
not be reached to check notation or constants.)

Causal-set method, vectorised over a batch and a layer: sort each sample's
input times once; for every prefix ``k`` of the sorted inputs form the
cumulative sums ``A_k = sum_{m<=k} w_(m)`` and ``B_k = sum_{m<=k} w_(m) t_(m)``;
on ``[t_(k), t_(k+1)]`` the potential is the line ``A_k t - B_k``, which
reaches ``v_th`` at ``t* = (v_th + B_k) / A_k``.  The spike is the candidate
of the first ``k`` with ``A_k > 0`` and ``t* <= min(t_(k+1), t_max)``
(``t* > t_(k)`` holds automatically because ``v`` was below threshold at
``t_(k)``).  There is no Python loop over neurons or inputs: the work is
``O(batch * n_out * n_in)`` tensor operations, like a dense layer, but
memory-bound (sort, gather, cumulative sums) rather than a matrix product.

Conventions
-----------
* A neuron that does not reach threshold by ``t_max`` is *silent*: its time
  is ``+inf`` (never the window end), it counts as no spike, and it is
  invisible to the next layer.  Its gradient is zero (no spike, no time to
  move); training therefore relies on enough neurons firing, and the trainer
  warns or stops when a layer falls silent (see :mod:`.training`).
* Inputs may be ``+inf`` (a silent presynaptic neuron); inputs at or after
  ``t_max`` have no effect.
* Gradients divide by ``max(W_i, slope_floor)``: where a neuron only just
  crosses threshold with a tiny slope ``W_i -> 0+`` the exact derivative
  diverges, and the floor keeps one such neuron from dominating an update.
  Away from that regime (``W_i > slope_floor``) the gradient is exact.
"""

from __future__ import annotations

import torch

__all__ = ["spike_times", "causal_mask", "causal_weight_sum", "membrane_potential",
           "SpikeTimeFunction", "CausalWeightSum"]


def _check_inputs(t_in, weight, t_max, v_th, slope_floor):
    if t_in.dim() != 2:
        raise ValueError(f"input times must have shape (batch, n_in); got {tuple(t_in.shape)}")
    if weight.dim() != 2 or weight.shape[1] != t_in.shape[1]:
        raise ValueError(f"weight must have shape (n_out, n_in={t_in.shape[1]}); "
                         f"got {tuple(weight.shape)}")
    if t_in.dtype != weight.dtype:
        raise TypeError(f"input times ({t_in.dtype}) and weight ({weight.dtype}) "
                        "must have the same dtype")
    if not t_max > 0:
        raise ValueError(f"t_max must be > 0; got {t_max}")
    if not v_th > 0:
        raise ValueError(f"v_th must be > 0; got {v_th}")
    if not slope_floor > 0:
        raise ValueError(f"slope_floor must be > 0; got {slope_floor}")
    if torch.isnan(t_in).any() or (t_in < 0).any():
        raise ValueError("input times must be >= 0 (or +inf for no spike), without NaN")


def _split_inputs(t_in, t_max):
    """Sort the inputs and split off those tied at each sample's latest time.

    Returns ``order_pre`` (B, K) indices of the earlier inputs in time order,
    padded to the longest prefix ``K`` in the batch; ``t_pre`` (B, K) their
    times (padding: ``tau``); ``early_pre`` (B, K) True where not padding;
    ``tau`` (B, 1) the latest input time (clamped to ``t_max``); ``tied``
    (B, n_in) 1.0 where an input arrives at ``tau`` (dtype of ``t_in``).
    """
    # inputs at or after the window end never matter: clamping them to t_max
    # keeps the arithmetic finite and leaves every candidate time unchanged
    t_clamped = t_in.clamp(max=t_max)
    t_sorted, order = torch.sort(t_clamped, dim=1)
    tau = t_sorted[:, -1:]
    early = t_sorted < tau
    k_max = int(early.sum(dim=1).max())
    early_pre = early[:, :k_max]
    t_pre = torch.where(early_pre, t_sorted[:, :k_max], tau)
    tied = (t_clamped == tau).to(t_in.dtype)
    return order[:, :k_max], t_pre, early_pre, tau, tied


@torch.no_grad()
def _solve(t_in, weight, t_max, v_th):
    """Firing times and summed causal weights (no autograd).

    Returns ``t_out`` (batch, n_out; ``+inf`` where silent), ``W``
    (batch, n_out; 0 where silent) and the split of the inputs that the
    backward pass reuses: ``(order_pre, t_pre, early_pre, tau, tied)``.

    Speed-up (exact): the inputs tied at each sample's latest time ``tau``
    (for images: every dark pixel; for hidden layers: the silent neurons,
    clamped to ``t_max``) open no interval of their own, so they are summed
    with one matrix product and only the earlier inputs go through the
    sort/gather/cumsum path, padded to the longest such prefix in the batch
    (padding: zero weight at time ``tau``, i.e. empty intervals).
    """
    batch, n_in = t_in.shape
    order_pre, t_pre, early_pre, tau, tied = _split_inputs(t_in, t_max)
    k_max = t_pre.shape[1]
    w_pre = weight.t()[order_pre]                                     # (B, K, n_out)
    w_pre.mul_(early_pre.unsqueeze(2))
    tied_sum = tied @ weight.t()                                      # (B, n_out)
    a = torch.cumsum(w_pre, dim=1)                                    # A_k
    w_pre.mul_(t_pre.unsqueeze(2))
    b = torch.cumsum(w_pre, dim=1)                                    # B_k
    del w_pre
    # the last interval, [tau, t_max], after the tied inputs arrive
    a_last = tied_sum + (a[:, -1] if k_max else 0.0)
    b_last = tau * tied_sum + (b[:, -1] if k_max else 0.0)
    a = torch.cat([a, a_last.unsqueeze(1)], dim=1)                    # (B, K+1, n_out)
    b = torch.cat([b, b_last.unsqueeze(1)], dim=1).add_(v_th)         # v_th + B_k
    t_next = torch.cat([t_pre[:, 1:], tau, tau.new_full((batch, 1), t_max)], dim=1)
    if k_max == 0:
        t_next = t_next[:, 1:]
    # crossing in interval k:  A_k > 0  and  (v_th + B_k) / A_k <= t_next_k
    ok = torch.mul(a, t_next.unsqueeze(2)).sub_(b).ge(0).logical_and_(a > 0)
    k_first = ok.to(torch.uint8).argmax(dim=1, keepdim=True)          # first True
    fired = torch.gather(ok, 1, k_first).squeeze(1)
    a_k = torch.gather(a, 1, k_first).squeeze(1)
    b_k = torch.gather(b, 1, k_first).squeeze(1)
    t_out = torch.where(fired, b_k / torch.where(fired, a_k, 1.0), torch.inf)
    w_sum = torch.where(fired, a_k, 0.0)
    return t_out, w_sum, (order_pre, t_pre, early_pre, tau, tied)


def causal_mask(t_in, t_out):
    """Which inputs belong to each neuron's causal set.

    Parameters
    ----------
    t_in : torch.Tensor
        Presynaptic times, shape ``(batch, n_in)``.
    t_out : torch.Tensor
        Postsynaptic times, shape ``(batch, n_out)``; ``+inf`` = silent.

    Returns
    -------
    torch.Tensor
        Boolean, shape ``(batch, n_out, n_in)``: ``t_j < t_i`` and neuron ``i``
        fired.
    """
    fired = torch.isfinite(t_out)
    return (t_in.unsqueeze(1) < t_out.unsqueeze(2)) & fired.unsqueeze(2)


class SpikeTimeFunction(torch.autograd.Function):
    """Exact first-spike times with the exact causal-set gradients.

    ``forward(t_in, weight, t_max, v_th, slope_floor)`` returns the times
    ``(batch, n_out)``; see the module docstring for the model and the
    conventions (silent = ``+inf``, zero gradient; slope floor).
    """

    @staticmethod
    def forward(ctx, t_in, weight, t_max, v_th, slope_floor):
        t_out, w_sum, split = _solve(t_in, weight, t_max, v_th)
        ctx.save_for_backward(weight, t_out, w_sum, *split)
        ctx.slope_floor = slope_floor
        return t_out

    @staticmethod
    def backward(ctx, grad_t_out):
        # The causal set of neuron i is {j : t_j < t_i}.  As in the forward
        # pass, the inputs tied at the latest time tau are handled by matrix
        # products (they are causal iff t_i > tau), the earlier ones through
        # the sorted, padded prefix (scatter-added back to their columns).
        weight, t_out, w_sum, order_pre, t_pre, early_pre, tau, tied = ctx.saved_tensors
        batch, n_in = tied.shape
        fired = torch.isfinite(t_out)
        # c_bi = dL/dt_i / W_i on fired neurons, 0 on silent ones
        c = torch.where(fired, grad_t_out / w_sum.clamp(min=ctx.slope_floor), 0.0)
        t_out_f = torch.where(fired, t_out, 0.0)
        cm = ((t_pre.unsqueeze(2) < t_out.unsqueeze(1)) & early_pre.unsqueeze(2)) * c.unsqueeze(1)
        s_tied = c * (t_out > tau)                                     # (B, n_out)
        grad_w = grad_t = None
        if ctx.needs_input_grad[1]:
            g_pre = cm * (t_pre.unsqueeze(2) - t_out_f.unsqueeze(1))   # (B, K, n_out)
            grad_wt = tied.t() @ (s_tied * (tau - t_out_f))            # (n_in, n_out)
            grad_wt.index_add_(0, order_pre.reshape(-1), g_pre.reshape(-1, g_pre.shape[2]))
            grad_w = grad_wt.t()
        if ctx.needs_input_grad[0]:
            gt_pre = (cm * weight.t()[order_pre]).sum(dim=2)           # (B, K)
            grad_t = tied * (s_tied @ weight)
            grad_t.scatter_add_(1, order_pre, gt_pre)
        return grad_t, grad_w, None, None, None


class CausalWeightSum(torch.autograd.Function):
    """``W_i = sum_{j : t_j < t_i} w_ij`` for fired neurons (0 for silent ones).

    ``forward(t_in, t_out, weight, t_max)``.  Differentiable in ``weight``
    (``dW_i/dw_ij`` = 1 on the causal set); piecewise constant, hence with
    zero gradient, in the times.  Uses the same tie split as the solver, so
    it costs about as much as the backward pass of :func:`spike_times`.
    """

    @staticmethod
    def forward(ctx, t_in, t_out, weight, t_max):
        order_pre, t_pre, early_pre, tau, tied = _split_inputs(t_in, t_max)
        fired = torch.isfinite(t_out)
        m_pre = ((t_pre.unsqueeze(2) < t_out.unsqueeze(1)) & early_pre.unsqueeze(2)
                 & fired.unsqueeze(1))                                               # (B, K, n_out)
        late = (t_out > tau) & fired                                                 # tied inputs causal
        w_sum = (m_pre * weight.t()[order_pre]).sum(dim=1) + late * (tied @ weight.t())
        ctx.save_for_backward(order_pre, m_pre, late, tied)
        return w_sum

    @staticmethod
    def backward(ctx, grad_w_sum):
        order_pre, m_pre, late, tied = ctx.saved_tensors
        grad_wt = tied.t() @ (grad_w_sum * late)                                     # (n_in, n_out)
        g_pre = m_pre * grad_w_sum.unsqueeze(1)
        grad_wt.index_add_(0, order_pre.reshape(-1), g_pre.reshape(-1, g_pre.shape[2]))
        return None, None, grad_wt.t(), None


def causal_weight_sum(t_in, t_out, weight, t_max):
    """Summed causal weight ``W_i`` of each fired neuron (0 where silent).

    Parameters
    ----------
    t_in : torch.Tensor
        Presynaptic times ``(batch, n_in)``.
    t_out : torch.Tensor
        The layer's spike times ``(batch, n_out)`` (``+inf`` = silent).
    weight : torch.Tensor
        ``(n_out, n_in)``.
    t_max : float
        Window end (inputs at or after it are never causal).

    Returns
    -------
    torch.Tensor
        ``(batch, n_out)``, differentiable in ``weight``.
    """
    return CausalWeightSum.apply(t_in, t_out.detach(), weight, float(t_max))


def spike_times(t_in, weight, t_max, v_th=1.0, slope_floor=1e-2):
    """First-spike times of a layer of non-leaky IF neurons with step currents.

    Parameters
    ----------
    t_in : torch.Tensor
        Presynaptic spike times, shape ``(batch, n_in)``, ``>= 0``; ``+inf``
        for a presynaptic neuron that did not fire.
    weight : torch.Tensor
        Synaptic weights (current step amplitudes), shape ``(n_out, n_in)``,
        any sign; same dtype as ``t_in``.
    t_max : float
        End of the time window; a neuron that has not fired by ``t_max`` is
        silent.
    v_th : float
        Firing threshold (> 0); the potential starts at 0.
    slope_floor : float
        Lower bound on ``W_i`` in the gradient denominators (> 0).

    Returns
    -------
    torch.Tensor
        Spike times, shape ``(batch, n_out)``, ``+inf`` where silent.
        Differentiable with respect to ``t_in`` and ``weight``.

    Raises
    ------
    ValueError
        Wrong shapes, negative or NaN input times, non-positive ``t_max``,
        ``v_th`` or ``slope_floor``.
    TypeError
        ``t_in`` and ``weight`` of different dtypes.
    """
    _check_inputs(t_in, weight, t_max, v_th, slope_floor)
    return SpikeTimeFunction.apply(t_in, weight, float(t_max), float(v_th), float(slope_floor))


def membrane_potential(t, t_in, weight):
    """Membrane potential ``v_i(t)`` without threshold, for checks and plots.

    Parameters
    ----------
    t : torch.Tensor
        Times, shape ``(n_t,)``.
    t_in : torch.Tensor
        Presynaptic times, shape ``(batch, n_in)`` (``+inf`` allowed).
    weight : torch.Tensor
        Shape ``(n_out, n_in)``.

    Returns
    -------
    torch.Tensor
        Shape ``(batch, n_out, n_t)``: ``sum_j w_ij (t - t_j) H(t - t_j)``.
    """
    ramp = (t.view(1, 1, -1) - t_in.unsqueeze(2)).clamp(min=0)        # (B, n_in, n_t)
    ramp = torch.where(torch.isfinite(ramp), ramp, 0.0)
    return torch.einsum("oi,bit->bot", weight, ramp)
