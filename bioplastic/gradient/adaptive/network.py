"""A LIF network whose input synapses pass through adaptive scaling, in PyTorch and in Brian2.

The network is :class:`bioplastic.gradient.lif.SpikingNetwork` (the discrete
LIF map of Zenke & Vogels 2021 with a max-over-time readout), unchanged; the
input spikes ``s`` first pass through
:class:`~bioplastic.gradient.adaptive.scaling.AdaptiveScaling`, so that the
hidden layer receives ``sum_j W_ij a_j[n] s_j[n]``: the input weights are
scaled, per presynaptic neuron, by a factor driven by that neuron's own spike
history.  Without scaling (``scaling=None``) the same class is the plain
network, with the same initial weights for the same generator, which is what
the robustness and continual-learning protocols compare.  Train it with the
surrogate family's loop and loss (:func:`bioplastic.gradient.training.fit`,
:class:`bioplastic.gradient.lif.MaxOverTimeLoss`).  The scaling rule is
a reading of the abstract of Xu et al. 2025 (hypothesis), see
:mod:`bioplastic.gradient.adaptive.scaling`.

Brian2 form
-----------
:func:`run_brian2_scaled` runs a trained network as Brian2 equations: the LIF
map comes from :func:`bioplastic.gradient.brian2_bridge.build_network`
(reused, not rewritten), and the input synapses are replaced by synapses that
carry the scaling state, in the way Brian2's short-term-plasticity example
stores its ``x`` and ``u`` per synapse::

    model:   w : 1          (trained weight)
             a : 1          (scaling factor a[n], starts at a*(0))
             r : 1          (lam * r[n-1]: the trace, already decayed for this step)
    on_pre:  I_post += w * a
             r = r + (1 - lam)                       -> r[n]
    each step, after the synapses (when="end"):
             a = F(a, r)                             -> a[n+1] (the rule's brian2_update)
             r = lam * r                             -> lam * r[n]

Between spikes the factor keeps relaxing while the trace decays, and the
pluggable rule ``F`` has no closed form over several steps, so the update runs
every step (as the bridge's LIF map does) instead of event-driven.  All
synapses of presynaptic neuron ``j`` hold the same ``a`` and ``r`` (the state
is per presynaptic neuron in PyTorch; see the module docstring of
:mod:`~bioplastic.gradient.adaptive.scaling`).

Hook used: ``build_network`` has no parameter for the input synapses' model,
so :func:`build_scaled_network` switches the bridge's ``syn_in`` off
(``active = False``: it never runs) and adds the scaled synapses to the same
network; the inactive object's connections are still created, a cost in
memory only.  A parameter of ``build_network`` for the input synapses' model
and statements would remove this detour.
"""

from __future__ import annotations

import numpy as np
import torch
from brian2 import Quantity, ms

from bioplastic.gradient import brian2_bridge
from bioplastic.gradient.adaptive.scaling import AdaptiveScaling, ScalingOutput
from bioplastic.gradient.lif import LIFParams, NetworkOutput, SpikingNetwork

__all__ = [
    "AdaptiveScalingNetwork",
    "weights_of",
    "build_scaled_network",
    "run_brian2_scaled",
    "population_rate_response",
]


class AdaptiveScalingNetwork(torch.nn.Module):
    """:class:`SpikingNetwork` with adaptive scaling of its input synapses.

    Parameters
    ----------
    params : LIFParams
        Sizes and time constants of the LIF network.
    scaling : AdaptiveScaling, str, or None
        The scaling of the input synapses; a string names a rule (built with
        *tau_trace* and ``params.dt``); ``None``: the plain network.
    tau_trace : Quantity
        Trace time constant when *scaling* is a rule name.
    **network_kwargs
        Passed to :class:`SpikingNetwork` (``surrogate``, ``beta``,
        ``recurrent``, ``differentiable_reset``, ``dtype``, ``generator``).
    """

    def __init__(self, params=LIFParams(), scaling="relaxation", tau_trace: Quantity = 20 * ms,
                 **network_kwargs):
        super().__init__()
        if network_kwargs.get("recurrent"):
            raise NotImplementedError("the Brian2 form of the scaled network covers feed-forward networks only")
        self.net = SpikingNetwork(params, **network_kwargs)
        if isinstance(scaling, str):
            scaling = AdaptiveScaling(params.n_in, rule=scaling, tau_trace=tau_trace, dt=params.dt)
        if scaling is not None:
            if not isinstance(scaling, AdaptiveScaling):
                raise TypeError(f"scaling must be an AdaptiveScaling, a rule name or None, got {scaling!r}")
            if scaling.n_pre != params.n_in:
                raise ValueError(f"scaling has n_pre={scaling.n_pre}, the network n_in={params.n_in}")
            if float(scaling.dt) != float(params.dt):
                raise ValueError(f"scaling dt={scaling.dt} differs from the network's dt={params.dt}")
        self.scaling = scaling

    @property
    def params(self):
        return self.net.params

    def config(self) -> dict:
        """Settings for a run record."""
        out = self.net.config()
        out["scaling"] = None if self.scaling is None else self.scaling.config()
        return out

    def scale(self, x: torch.Tensor) -> ScalingOutput | None:
        """The scaling of input spikes *x* (``None`` for the plain network)."""
        return None if self.scaling is None else self.scaling(x.to(self.net.w_in.dtype))

    def forward(self, x: torch.Tensor) -> NetworkOutput:
        """Scale the input spikes *x* ``(batch, T, n_in)`` and run the LIF network on them."""
        if self.scaling is not None:
            x = self.scaling(x.to(self.net.w_in.dtype)).scaled
        return self.net(x)


def weights_of(model: AdaptiveScalingNetwork) -> dict:
    """What :func:`run_brian2_scaled` needs: the bridge's weights dict plus the scaling.

    Adds ``scaling`` (the :class:`AdaptiveScaling` module, or ``None``).
    """
    out = brian2_bridge.weights_of(model.net)
    out["scaling"] = model.scaling
    return out


def build_scaled_network(weights: dict, x):
    """The bridge's Brian2 network with scaled input synapses (see the module docstring).

    Returns
    -------
    net, handles
        As :func:`~bioplastic.gradient.brian2_bridge.build_network`; ``handles``
        gains ``syn_in`` (the scaled synapses).
    """
    import brian2 as b2

    scaling = weights.get("scaling")
    net, handles = brian2_bridge.build_network(weights, x)
    if scaling is None:
        return net, handles
    if float(scaling.dt) != float(weights["dt"]):
        raise ValueError(f"scaling dt={scaling.dt} differs from the network's dt={weights['dt']}")
    replaced = net["syn_in"]
    replaced.active = False  # stays in the network (no "unused object" warning) but never runs
    lam = scaling.lam
    w_in = np.asarray(weights["w_in"], dtype=np.float64)
    n_trials = handles["n_trials"]
    syn = b2.Synapses(handles["input"], handles["hidden"], "w : 1\na : 1\nr : 1",
                      on_pre="I_post += w*a\nr = r + c_lam", dt=weights["dt"],
                      namespace={"c_lam": 1.0 - lam, "lam": lam}, name="syn_in_scaled")
    i, j, values = brian2_bridge._block_diagonal(w_in, n_trials)
    syn.connect(i=i, j=j)
    syn.w = values
    syn.a = float(scaling.rule.fixed_point(0.0))
    syn.r = 0.0
    syn.run_regularly(scaling.rule.brian2_update("a", "r") + "\nr = lam*r", when="end",
                      name="syn_in_scaling")
    net.add(syn)
    handles["syn_in"] = syn
    handles["syn_in_replaced"] = replaced
    return net, handles


def run_brian2_scaled(weights, x, device="runtime", directory=None, target="numpy"):
    """Run the Brian2 form of an :class:`AdaptiveScalingNetwork` on the batch *x*.

    Parameters and return value as :func:`bioplastic.gradient.brian2_bridge.run_brian2`
    (*weights* is a model or the dict of :func:`weights_of`).
    """
    return brian2_bridge.run_brian2(weights, x, device=device, directory=directory, target=target,
                                    build=build_scaled_network, weights_fn=weights_of)


def population_rate_response(model: AdaptiveScalingNetwork, p_before: float, p_after: float,
                             n_steps: int = 400, n_trials: int = 20, seed: int = 0):
    """Hidden population rate when the input intensity steps from *p_before* to *p_after*.

    Every input unit spikes with probability *p_before* per step (Bernoulli,
    seeded) during the first half of *n_steps* and *p_after* during the
    second half; the network runs the whole stream in one pass, so the
    scaling state carries across the step.

    Returns
    -------
    numpy.ndarray
        ``(n_steps,)``, hidden spikes per neuron and step, averaged over the
        neurons and *n_trials* trials.
    """
    for name, p in (("p_before", p_before), ("p_after", p_after)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    if int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer >= 2, got {n_steps!r}")
    gen = torch.Generator().manual_seed(int(seed))
    half = n_steps // 2
    p = torch.full((n_steps,), float(p_before), dtype=torch.float64)
    p[half:] = float(p_after)
    x = (torch.rand(n_trials, n_steps, model.params.n_in, generator=gen, dtype=torch.float64) < p[None, :, None])
    with torch.no_grad():
        out = model(x.to(model.net.w_in.dtype))
    return out.spikes.to(torch.float64).mean(dim=(0, 2)).cpu().numpy()
