"""Plasticity rules: symmetric STDP and homeostatic synaptic scaling.

**Symmetric STDP** (Hao et al. 2020, Eq. 4-6).  Both spike orders potentiate;
there is no depression term (competition comes from scaling and inhibition).
Each neuron keeps an additive trace per role, decaying with ``tau`` and
growing by ``increment`` at each of its spikes (after the weight update):

* on a presynaptic spike:  ``w <- clip(w + nu * xpost, 0, w_max)``
* on a postsynaptic spike: ``w <- clip(w + nu * xpre,  0, w_max)``

so a pairing at lag Δt changes the weight by ``nu * increment *
exp(-|Δt| / tau)`` whatever its sign.  The traces live in the neurons, not in
the synapses: their decay costs O(N) per step instead of O(synapses) per
spike, and the rule is the same (the traces are sums over the neuron's own
spikes, which is what the GeNN code computes).

**Homeostatic synaptic scaling**.  Before every sample, each postsynaptic
neuron's incoming plastic weights are multiplied by a common factor so that
they sum to ``w_total`` (no clipping afterwards, as in the GeNN code).  The sum
is not recomputed from the weights every step: each STDP update adds its
(clipped) weight change to the postsynaptic ``wsum``, and the scaling factor
is computed from it once per window.

Variables a learning neuron group gets: ``xpre`` (when it is presynaptic to a
plastic pathway), ``xpost`` (postsynaptic), ``wsum`` and ``scale``
(postsynaptic), and the shared flag ``learning`` (postsynaptic; 0 switches
both STDP and scaling off).
"""

from __future__ import annotations

__all__ = [
    "PRE_TRACE_EQS",
    "PRE_TRACE_ON_SPIKE",
    "POST_TRACE_EQS",
    "POST_TRACE_ON_SPIKE",
    "SCALING_EQS",
    "SCALING_NEURON_CODE",
    "SCALING_SYNAPSE_CODE",
    "SYM_STDP_MODEL",
    "SYM_STDP_ON_PRE",
    "SYM_STDP_ON_POST",
    "pre_trace_namespace",
    "post_trace_namespace",
    "stdp_namespace",
]

#: Presynaptic trace of a neuron (one per neuron, not per synapse).
PRE_TRACE_EQS = "dxpre/dt = -xpre / tau_xpre : 1"
PRE_TRACE_ON_SPIKE = "xpre += increment_xpre"
#: Postsynaptic trace.
POST_TRACE_EQS = "dxpost/dt = -xpost / tau_xpost : 1"
POST_TRACE_ON_SPIKE = "xpost += increment_xpost"

#: Per-neuron sum of incoming plastic weights, tracked by the STDP updates.
SCALING_EQS = """
wsum : 1    # sum of this neuron's incoming plastic weights
scale : 1   # factor applied to them at the start of the window
"""
#: Run by the postsynaptic group at the start of every window (before the synapses).
SCALING_NEURON_CODE = """
scale = 1 + learning * (w_total / clip(wsum, 1e-12, inf) - 1)
wsum = wsum * scale
"""
#: Run by the plastic synapses right after :data:`SCALING_NEURON_CODE`.
SCALING_SYNAPSE_CODE = "w = w * scale_post"

SYM_STDP_MODEL = "w : 1"
#: Weight update on a presynaptic spike (the transmission is added by the network).
SYM_STDP_ON_PRE = """
w_before = w
w = clip(w + learning_post * nu * xpost_post, 0, w_max)
wsum_post += w - w_before
"""
#: Weight update on a postsynaptic spike.
SYM_STDP_ON_POST = """
w_before = w
w = clip(w + learning_post * nu * xpre_pre, 0, w_max)
wsum_post += w - w_before
"""


def pre_trace_namespace(stdp) -> dict:
    """Constants of :data:`PRE_TRACE_EQS` for a pathway's :class:`~bioplastic.symstdp.params.STDPParams`."""
    return {"tau_xpre": stdp.tau_trace, "increment_xpre": float(stdp.trace_increment)}


def post_trace_namespace(stdp) -> dict:
    """Constants of :data:`POST_TRACE_EQS` and :data:`SCALING_NEURON_CODE`."""
    return {
        "tau_xpost": stdp.tau_trace,
        "increment_xpost": float(stdp.trace_increment),
        "w_total": float(stdp.w_total),
    }


def stdp_namespace(stdp) -> dict:
    """Constants of the synaptic STDP code."""
    return {"nu": float(stdp.nu), "w_max": float(stdp.w_max)}
