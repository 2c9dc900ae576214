"""Adaptive synaptic scaling (after Xu et al. 2025, "AS-SNN"), as a torch module.

Source and status
-----------------
Xu, Liu, Hu, Li, Wei, Zhong, Pei & Deng (2025), "Adaptive Synaptic Scaling in
Spiking Networks for Continual Learning and Enhanced Robustness", IEEE TNNLS
36(3):5151-5165, doi:10.1109/TNNLS.2024.3373599.  Only the abstract could be
read (the full text, its equations and any code were not found; searched on
2026-11-25 by title, DOI, authors and key phrases).  The abstract states that

* in the forward path, "adaptive short-term potentiation or depression is
  triggered for each synapse according to afferent stimuli intensity
  accumulated by presynaptic historical neural activities";
* in the backward path, "long-term consolidation is executed through gradient
  signals regulated by the corresponding scaling factor";
* "the proposed adaptive synaptic scaling function follows a contraction map
  and finally converges to an expected fixed point".

Everything below that goes beyond these three sentences is **a reading of the
abstract (hypothesis)**, written down in ``../shared/related-work.md`` section
3.3, not the paper's definition.  The scaling rule is therefore one pluggable
object (:class:`ScalingRule`), to be replaced when the paper's equations are
known.

The mechanism (the reading)
---------------------------
For every presynaptic neuron ``j`` and step ``n`` (``r_j[-1] = 0``,
``a_j[0] = a*(0)``)::

    x_j[n]     = a_j[n] * s_j[n]                         scaled input spike (uses the factor *before* the update)
    r_j[n]     = lam * r_j[n-1] + (1 - lam) * s_j[n]     presynaptic history ("afferent stimulus intensity")
    a_j[n+1]   = F(a_j[n], r_j[n])                       contraction in a, fixed point a*(r)

``lam = exp(-dt / tau_trace)``; ``r`` is the exponentially weighted spike
probability per step, in ``[0, 1]``.  A postsynaptic neuron ``i`` receives
``sum_j W_ij a_j[n] s_j[n]``: the effective weight is ``W_eff[n] = W * a[n]``
(each presynaptic row scaled), and since ``a`` is treated as a constant in the
backward pass (it is computed from spikes and detached),
``dL/dW = sum_n a[n] * dL/dW_eff[n]``: the gradient is regulated by the factor.

Why one factor per presynaptic neuron, not per synapse: in the abstract the
driver of each synapse's scaling is the activity of its *presynaptic* neuron.
A per-synapse state ``a_ij`` obeying ``a_ij[n+1] = F(a_ij[n], r_j[n])`` and
starting from the same rest value ``a*(0)`` stays equal for all targets ``i``
of ``j`` at every step, so storing it per synapse would only repeat ``a_j``
``n_post`` times.  (Brian2 stores it per synapse all the same, as its
short-term-plasticity examples do; see
:mod:`bioplastic.gradient.adaptive.network`.)

The default rule, :class:`RelaxationRule`::

    a*(r)    = (1 + kappa * r_ref) / (1 + kappa * r)      a*(r_ref) = 1
    F(a, r)  = a + eta * (a*(r) - a)                      |dF/da| = 1 - eta = q < 1

With ``kappa > 0`` (the default) inputs busier than ``r_ref`` are depressed
(``a* < 1``), quieter ones potentiated (``a* > 1``): the fixed point
*decreases* monotonically with the afferent intensity (more drive, more
depression), which is the homeostatic direction: the population rate "calls
back" after a rise in input intensity
(``tests/test_gradient_adaptive_network.py`` checks this), and for large ``r``
the scaled drive ``a* r`` saturates at ``(1 + kappa r_ref) / kappa``.  With
``-1 < kappa < 0`` the same formula gives the opposite direction (busy inputs
facilitated); the abstract does not say which direction the paper uses.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from brian2 import Quantity, ms

__all__ = [
    "ScalingRule",
    "RelaxationRule",
    "SCALING_RULES",
    "get_scaling_rule",
    "trace_decay",
    "ScalingState",
    "ScalingOutput",
    "AdaptiveScaling",
    "effective_weight",
    "iterate_rule",
]


@runtime_checkable
class ScalingRule(Protocol):
    """What a scaling rule provides (the one pluggable piece of the mechanism).

    A rule is the map ``a_next = F(a, r)``: a contraction in ``a`` with
    Lipschitz constant :attr:`q` ``< 1`` for every ``r`` in ``[0, 1]``, whose
    unique fixed point is :meth:`fixed_point`.  All three methods use plain
    arithmetic only, so that they work on floats, numpy arrays and torch
    tensors alike, and :meth:`brian2_update` writes the same arithmetic as a
    Brian2 abstract-code statement.
    """

    name: str

    @property
    def q(self) -> float:
        """Contraction constant: ``|F(a, r) - F(b, r)| <= q |a - b|``."""

    def __call__(self, a, r):
        """One update ``F(a, r)``."""

    def fixed_point(self, r):
        """``a*(r)``, the unique solution of ``a = F(a, r)``."""

    def brian2_update(self, a: str, r: str) -> str:
        """Abstract code that sets variable *a* to ``F(a, r)`` (a Brian2 statement)."""

    def record(self) -> dict:
        """The rule's name and parameters (for a run record)."""


@dataclasses.dataclass(frozen=True)
class RelaxationRule:
    """Relaxation towards a fixed point that falls with the afferent intensity.

    ``a*(r) = (1 + kappa r_ref) / (1 + kappa r)`` and
    ``F(a, r) = a + eta (a*(r) - a)``.  A reading of the abstract (hypothesis),
    not the paper's equation.

    Parameters
    ----------
    kappa : float
        Sensitivity to the afferent intensity, ``> -1``.  ``kappa > 0``:
        depression with more drive (the default direction, homeostatic);
        ``-1 < kappa < 0``: the opposite, facilitation with more drive
        (``a*`` rises with ``r``); ``kappa = 0`` switches scaling off
        (``a* = 1``).
    r_ref : float
        Reference intensity (spike probability per step, in ``[0, 1]``) at
        which the synapse is neither potentiated nor depressed.
    eta : float
        Relaxation rate in ``(0, 1]``; the contraction constant is
        ``q = 1 - eta`` (``eta = 1``: ``a`` jumps to ``a*(r)`` in one step).
    """

    kappa: float = 10.0
    r_ref: float = 0.05
    eta: float = 0.2
    name: str = dataclasses.field(default="relaxation", init=False)

    def __post_init__(self):
        for field in ("kappa", "r_ref", "eta"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{field} must be a finite number, got {value!r}")
            object.__setattr__(self, field, float(value))
        if not self.kappa > -1.0:
            raise ValueError(f"kappa must be > -1 (so that 1 + kappa r > 0 for r in [0, 1]), got {self.kappa}")
        if not 0.0 <= self.r_ref <= 1.0:
            raise ValueError(f"r_ref must lie in [0, 1] (a spike probability per step), got {self.r_ref}")
        if not 0.0 < self.eta <= 1.0:
            raise ValueError(f"eta must lie in (0, 1] for F to be a contraction, got {self.eta}")

    @property
    def q(self) -> float:
        """Contraction constant ``1 - eta``."""
        return 1.0 - self.eta

    @property
    def _numerator(self) -> float:
        return 1.0 + self.kappa * self.r_ref

    def fixed_point(self, r):
        """``a*(r) = (1 + kappa r_ref) / (1 + kappa r)``: decreasing in ``r`` for ``kappa > 0``, increasing for ``kappa < 0``."""
        return self._numerator / (1.0 + self.kappa * r)

    def __call__(self, a, r):
        """``F(a, r) = a + eta (a*(r) - a)``."""
        return a + self.eta * (self._numerator / (1.0 + self.kappa * r) - a)

    def brian2_update(self, a: str, r: str) -> str:
        """The same arithmetic, in the same order, as a Brian2 statement."""
        return f"{a} = {a} + {self.eta!r} * ({self._numerator!r} / (1.0 + {self.kappa!r} * {r}) - {a})"

    def record(self) -> dict:
        """Name and parameters."""
        return {"name": self.name, "kappa": self.kappa, "r_ref": self.r_ref, "eta": self.eta,
                "status": "a reading of the abstract (hypothesis)"}


#: Named rules (name -> class).  Add a rule here when the paper's own is known.
SCALING_RULES = {"relaxation": RelaxationRule}


def get_scaling_rule(name="relaxation", **params) -> ScalingRule:
    """The scaling rule called *name*, built with *params*.

    Raises
    ------
    ValueError
        Unknown name (the known ones are listed) or a bad parameter.
    """
    try:
        cls = SCALING_RULES[name]
    except KeyError:
        raise ValueError(f"unknown scaling rule {name!r}; known rules: {sorted(SCALING_RULES)}") from None
    return cls(**params)


def trace_decay(tau_trace: Quantity, dt: Quantity = 1 * ms) -> float:
    """``lam = exp(-dt / tau_trace)``, the per-step decay of the presynaptic trace."""
    for label, value in (("tau_trace", tau_trace), ("dt", dt)):
        if not isinstance(value, Quantity) or not value.has_same_dimensions(ms):
            raise TypeError(f"{label} must be a Brian2 time quantity (e.g. 20*ms), got {value!r}")
        if not float(value) > 0:
            raise ValueError(f"{label} must be > 0, got {value}")
    return math.exp(-float(dt / tau_trace))


class ScalingState(NamedTuple):
    """State of the scaling at the start of a step: trace ``r[n-1]`` and factor ``a[n]``, each ``(batch, n_pre)``."""

    r: torch.Tensor
    a: torch.Tensor


class ScalingOutput(NamedTuple):
    """What :meth:`AdaptiveScaling.forward` returns.

    Attributes
    ----------
    scaled : torch.Tensor
        ``(batch, T, n_pre)``, ``a[n] * s[n]``: feed this to a layer in place of
        the spikes (``scaled @ W == s @ (a * W)`` per step).
    factor : torch.Tensor
        ``(batch, T, n_pre)``, the factor ``a[n]`` used at each step (detached).
    trace : torch.Tensor
        ``(batch, T, n_pre)``, ``r[n]`` after each step's update.
    state : ScalingState
        The state after the last step (pass it back in to continue a stream).
    """

    scaled: torch.Tensor
    factor: torch.Tensor
    trace: torch.Tensor
    state: ScalingState


class AdaptiveScaling(torch.nn.Module):
    """One scaling factor per presynaptic neuron, driven by its own spike history.

    A non-parametric module (no trainable parameters): it turns input spikes
    ``s`` of shape ``(batch, T, n_pre)`` into scaled spikes ``a * s``, which a
    layer multiplies by its weight matrix.  See the module docstring for the
    equations, which are a reading of the abstract (hypothesis).

    Parameters
    ----------
    n_pre : int
        Number of presynaptic neurons.
    rule : ScalingRule or str
        The contraction ``F`` (a name is passed to :func:`get_scaling_rule`).
    tau_trace : Quantity
        Time constant of the presynaptic trace ``r``.
    dt : Quantity
        Time step (must match the layer's).
    """

    def __init__(self, n_pre: int, rule="relaxation", tau_trace: Quantity = 20 * ms, dt: Quantity = 1 * ms):
        super().__init__()
        if int(n_pre) != n_pre or n_pre < 1:
            raise ValueError(f"n_pre must be a positive integer, got {n_pre!r}")
        self.n_pre = int(n_pre)
        self.rule = get_scaling_rule(rule) if isinstance(rule, str) else rule
        if not isinstance(self.rule, ScalingRule):
            raise TypeError(f"rule must be a ScalingRule (q, __call__, fixed_point, brian2_update, record), got {rule!r}")
        if not 0.0 <= self.rule.q < 1.0:
            raise ValueError(f"the rule is not a contraction: q = {self.rule.q}")
        self.tau_trace = tau_trace
        self.dt = dt
        self.lam = trace_decay(tau_trace, dt)

    def config(self) -> dict:
        """Settings for a run record."""
        return {"n_pre": self.n_pre, "rule": self.rule.record(), "tau_trace": str(self.tau_trace),
                "dt": str(self.dt), "lam": self.lam, "per": "presynaptic neuron"}

    def rest_state(self, batch: int, dtype=torch.float32, device=None) -> ScalingState:
        """The state of a neuron that has never spiked: ``r = 0``, ``a = a*(0)``."""
        r = torch.zeros(batch, self.n_pre, dtype=dtype, device=device)
        return ScalingState(r=r, a=self.rule.fixed_point(r))

    def forward(self, spikes: torch.Tensor, state: ScalingState | None = None) -> ScalingOutput:
        """Scale *spikes* ``(batch, T, n_pre)``; start from *state* (default: rest)."""
        if spikes.dim() != 3 or spikes.shape[2] != self.n_pre:
            raise ValueError(f"spikes must have shape (batch, time, {self.n_pre}), got {tuple(spikes.shape)}")
        spikes = spikes.detach()
        batch, nb_steps, _ = spikes.shape
        if state is None:
            state = self.rest_state(batch, spikes.dtype, spikes.device)
        r, a = state.r.detach().to(spikes.dtype), state.a.detach().to(spikes.dtype)
        lam = self.lam
        factors, traces = [], []
        for n in range(nb_steps):
            s = spikes[:, n]
            factors.append(a)
            r = lam * r + (1.0 - lam) * s
            traces.append(r)
            a = self.rule(a, r)
        factor = torch.stack(factors, dim=1)
        trace = torch.stack(traces, dim=1)
        return ScalingOutput(scaled=factor * spikes, factor=factor, trace=trace, state=ScalingState(r=r, a=a))


def effective_weight(weight: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``W_eff = a * W`` for a weight stored ``(pre, post)`` and a factor ``(pre,)``.

    The factor is detached, so autograd gives ``dL/dW = a * dL/dW_eff``.
    """
    factor = factor.detach()
    if factor.dim() != 1 or factor.shape[0] != weight.shape[0]:
        raise ValueError(f"factor must have shape ({weight.shape[0]},) for a (pre, post) weight, got {tuple(factor.shape)}")
    return weight * factor.to(weight.dtype)[:, None]


def iterate_rule(rule: ScalingRule, a0, r, n_steps: int):
    """``[a0, F(a0, r), F(F(a0, r), r), ...]`` (``n_steps + 1`` values) at a fixed intensity *r*."""
    values = [a0]
    for _ in range(n_steps):
        values.append(rule(values[-1], r))
    return values
