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

**Rules as values**.  A pathway's rule is a :class:`PlasticityRule`: its
Brian2 statements, parameters and the :class:`Trace` objects its pre- and
postsynaptic neurons keep.  :func:`sym_stdp` builds the rule above from a
pathway's parameter table (the default of both pathways; it generates
exactly :data:`SYM_STDP_ON_PRE` / :data:`SYM_STDP_ON_POST`),
:func:`diehl_cook_stdp` the rule of Diehl & Cook (2015),
:func:`normalised_error_rule` an error-driven readout rule (beyond the
paper: a window-level three-factor rule).  Scaling applies to every rule (the
network adds the ``wsum`` bookkeeping around its updates).
``docs/models.rst``.

Variables a learning neuron group gets: ``xpre`` (when it is presynaptic to a
plastic pathway), ``xpost`` (postsynaptic), ``wsum`` and ``scale``
(postsynaptic), and the shared flag ``learning`` (postsynaptic; 0 switches
both STDP and scaling off).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

__all__ = [
    "PlasticityRule",
    "Trace",
    "sym_stdp",
    "diehl_cook_stdp",
    "normalised_error_rule",
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


# --------------------------------------------------------------------------- rules as values

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Names the network gives a plastic pathway; a rule's parameters and traces may not take them.
RESERVED_NAMES = frozenset({"w", "w_before", "learning", "wsum", "scale", "w_total", "count", "v", "ge",
                            "gi", "theta", "t", "dt", "i", "j", "N", "lastspike", "not_refractory"})


def _check_name(kind, name):
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{kind} name must be an identifier, got {name!r}")
    if name in RESERVED_NAMES:
        raise ValueError(f"{kind} name {name!r} is taken by the network; choose another")


@dataclass(frozen=True)
class Trace:
    """A spike trace kept by a neuron for a plastic pathway (one per neuron, not per synapse).

    It decays as ``dx/dt = -x / tau`` and at each of the neuron's spikes (after
    the synaptic updates of that step) grows by ``increment`` (``mode="add"``,
    all-to-all pairing) or is set to it (``mode="set"``, nearest-spike pairing,
    as in Diehl & Cook 2015).  A rule reads it as ``<name>_pre`` or
    ``<name>_post``.

    Parameters
    ----------
    name : str
        Variable name in the neuron group (``xpre``, ``post1``, ...).
    tau : Quantity
        Decay time constant (time).
    increment : float
        Value added (or set) at a spike.
    mode : {"add", "set"}
    """

    name: str
    tau: object
    increment: float = 1.0
    mode: str = "add"

    def __post_init__(self):
        from brian2 import second
        from brian2.units.fundamentalunits import have_same_dimensions

        _check_name("trace", self.name)
        if not have_same_dimensions(self.tau, second) or not float(self.tau) > 0:
            raise ValueError(f"trace {self.name}: tau must be a positive time, got {self.tau!r}")
        if not float(self.increment) >= 0:
            raise ValueError(f"trace {self.name}: increment must be non-negative, got {self.increment!r}")
        if self.mode not in ("add", "set"):
            raise ValueError(f"trace {self.name}: mode must be 'add' or 'set', got {self.mode!r}")

    @property
    def tau_name(self) -> str:
        return f"tau_{self.name}"

    @property
    def equations(self) -> str:
        """``dx/dt = -x / tau_x : 1``."""
        return f"d{self.name}/dt = -{self.name} / {self.tau_name} : 1"

    @property
    def on_spike(self) -> str:
        """The neuron's reset statement: ``x += increment_x`` or ``x = increment_x``."""
        op = "+=" if self.mode == "add" else "="
        return f"{self.name} {op} increment_{self.name}"

    def namespace(self) -> dict:
        return {self.tau_name: self.tau, f"increment_{self.name}": float(self.increment)}

    def to_dict(self) -> dict:
        return {"name": self.name, "tau": repr(self.tau), "increment": float(self.increment),
                "mode": self.mode}


@dataclass(frozen=True)
class PlasticityRule:
    """A plastic pathway's learning rule as a value: Brian2 code strings, parameters, traces.

    The network builds the pathway as one :class:`~brian2.Synapses` object,
    all-to-all, with

    * ``model``: the per-synapse equations (at least ``w : 1``);
    * on a presynaptic spike: the transmission (``ge_post += w``), then ``on_pre``;
    * on a postsynaptic spike: ``on_post``;

    each update wrapped as ``w_before = w`` ... ``wsum_post += w - w_before`` so
    that homeostatic scaling (:data:`SCALING_NEURON_CODE`) knows every
    neuron's incoming sum without recomputing it.  ``learning_post`` is 1
    while the pathway learns and 0 during evaluation: the updates must be
    gated by it.  The traces a rule reads (``x_pre``, ``y_post``) are kept by
    the neurons (:class:`Trace`); their spikes update them after the synaptic
    code of the same step.

    Parameters
    ----------
    name : str
        A short name, for run records and logs.
    on_pre, on_post : str
        Brian2 statements updating ``w`` (either may be empty).
    parameters : dict
        ``{name: Quantity or number}``, the constants the code refers to.
    pre_traces, post_traces : tuple of Trace
        Traces the presynaptic and postsynaptic neurons keep for this rule.
    model : str
        Synaptic model equations; must declare ``w : 1``.  May hold per-synapse
        event-driven traces (``dx/dt = -x / tau : 1 (event-driven)``); these
        are not part of the state carried between chunks (only ``w`` is), so
        a standalone run restarts them at 0 in every chunk, while runtime
        mode keeps them (after the 150 ms rest such traces are down to a few
        per cent).
    citation : str
        Where the rule comes from.
    post_model : str
        Equations added to the postsynaptic group (parameters or
        subexpressions the synaptic code reads as ``<name>_post``).  Its state
        variables are not part of the chunk state: the standalone devices
        start them at 0 in every chunk, runtime mode keeps them, so a rule
        clears what it accumulates within the window (``post_on_window_end``).
    on_window_end : str
        Synaptic statements run once per window for every synapse, on the
        window's last time step (a postsynaptic event ``window_end``, after
        that step's spikes); gated by ``learning_post`` when they change ``w``.
        Window-level rules (an eligibility summed over the presentation, a
        third factor read at its end) live here.  Besides ``post_model``'s
        variables they can read ``target_post``: 1 in the label neuron of
        the window's sample, 0 in the others (the teacher's instruction).
    post_on_window_end : str
        Statements of the postsynaptic group on the same step, after the
        synaptic ones (e.g. clearing what the window accumulated).
    post_sums : dict
        ``{name: expression}``: ``name`` (declared ``name : 1`` in
        ``post_model``) holds, in every postsynaptic neuron, the sum of
        ``expression`` (of postsynaptic variables and the rule's parameters)
        over the neurons of its layer (of its copy in population mode),
        updated every step before the thresholds: a divisive normalisation.
    max_delay : Quantity, optional
        Presynaptic spikes arrive after a delay drawn once per synapse,
        uniform in ``[0, max_delay)`` from the network's seed (Diehl & Cook:
        10 ms); None: no delays.  Delayed pathways are generated with
        Brian2's own templates (the dense ones take no delays).

    Examples
    --------
    Classic pair-based STDP with multiplicative depression::

        from brian2 import ms
        from bioplastic.symstdp.plasticity import PlasticityRule, Trace
        stdp = PlasticityRule(
            name="pair-stdp",
            on_pre="w = clip(w - learning_post * eta_minus * w * apost_post, 0, w_max)",
            on_post="w = clip(w + learning_post * eta_plus * apre_pre, 0, w_max)",
            parameters={"eta_minus": 0.005, "eta_plus": 0.01, "w_max": 1.0},
            pre_traces=(Trace("apre", 20 * ms),),
            post_traces=(Trace("apost", 20 * ms),))
    """

    name: str
    on_pre: str
    on_post: str
    parameters: dict = field(default_factory=dict)
    pre_traces: tuple = ()
    post_traces: tuple = ()
    model: str = SYM_STDP_MODEL
    citation: str = ""
    max_delay: object = None
    post_model: str = ""
    on_window_end: str = ""
    post_on_window_end: str = ""
    post_sums: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "parameters", dict(self.parameters))
        object.__setattr__(self, "post_sums", dict(self.post_sums))
        for name in self.post_sums:
            _check_name(f"rule {self.name}: post_sums", name)
            if not re.search(rf"^\s*{name}\s*:", self.post_model, flags=re.M):
                raise ValueError(f"rule {self.name}: post_sums entry {name!r} must be declared in post_model "
                                 f"as '{name} : 1'")
        for which in ("post_model", "on_window_end", "post_on_window_end"):
            if not isinstance(getattr(self, which), str):
                raise TypeError(f"rule {self.name}: {which} must be a string")
        if re.search(r"\bw\s*=", self.on_window_end) and "learning_post" not in self.on_window_end:
            raise ValueError(f"rule {self.name}: on_window_end changes w and must be gated by learning_post")
        if self.max_delay is not None and self.on_window_end.strip():
            raise ValueError(f"rule {self.name}: on_window_end cannot be combined with max_delay")
        if self.max_delay is not None:
            from brian2 import second
            from brian2.units.fundamentalunits import have_same_dimensions

            if not have_same_dimensions(self.max_delay, second) or not float(self.max_delay) > 0:
                raise ValueError(f"rule {self.name}: max_delay must be a positive time or None, "
                                 f"got {self.max_delay!r}")
        object.__setattr__(self, "pre_traces", tuple(self.pre_traces))
        object.__setattr__(self, "post_traces", tuple(self.post_traces))
        for tr in self.pre_traces + self.post_traces:
            if not isinstance(tr, Trace):
                raise TypeError(f"rule {self.name}: traces must be Trace values, got {tr!r}")
        for side, traces in (("pre", self.pre_traces), ("post", self.post_traces)):
            names = [tr.name for tr in traces]
            if len(set(names)) != len(names):
                raise ValueError(f"rule {self.name}: {side}synaptic trace names repeat: {names}")
        for name in self.parameters:
            _check_name(f"rule {self.name}: parameter", name)
        if not re.search(r"^\s*w\s*:\s*1\b", self.model, flags=re.M):
            raise ValueError(f"rule {self.name}: the model must declare the weight 'w : 1'")
        for which in ("on_pre", "on_post"):
            code = getattr(self, which)
            if not isinstance(code, str):
                raise TypeError(f"rule {self.name}: {which} must be a string of Brian2 statements")
            if code.strip() and "learning_post" not in code:
                raise ValueError(
                    f"rule {self.name}: {which} must be gated by learning_post (1 while the pathway "
                    "learns, 0 during evaluation), e.g. w = clip(w + learning_post * ..., 0, w_max)")

    @property
    def has_window_end(self) -> bool:
        """Whether the rule acts at the end of every window (:attr:`on_window_end`)."""
        return bool(self.on_window_end.strip() or self.post_on_window_end.strip())

    def synapse_code(self, which: str, transmit: str = "") -> str:
        """The pathway's ``on_pre`` (after ``transmit``), ``on_post`` or ``on_window_end`` code, scaling bookkeeping included."""
        code = getattr(self, which).strip("\n")
        lines = [transmit] if transmit else []
        if code.strip():
            lines += ["", "w_before = w", code, "wsum_post += w - w_before", ""]
        return "\n".join(lines)

    def namespace(self) -> dict:
        return dict(self.parameters)

    def to_dict(self) -> dict:
        """JSON-ready description (parameters as strings with units), for run records."""
        return {"name": self.name, "on_pre": self.on_pre, "on_post": self.on_post,
                "parameters": {k: repr(v) for k, v in self.parameters.items()},
                "pre_traces": [t.to_dict() for t in self.pre_traces],
                "post_traces": [t.to_dict() for t in self.post_traces],
                "model": self.model, "citation": self.citation,
                "max_delay": repr(self.max_delay) if self.max_delay is not None else None,
                **({"post_model": self.post_model, "on_window_end": self.on_window_end,
                    "post_on_window_end": self.post_on_window_end, "post_sums": dict(self.post_sums)}
                   if self.post_model or self.has_window_end or self.post_sums else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "PlasticityRule":
        """Inverse of :meth:`to_dict`."""
        from bioplastic.symstdp.params import parse_quantity

        def trace(t):
            return Trace(t["name"], parse_quantity(t["tau"]), t["increment"], t["mode"])

        return cls(name=d["name"], on_pre=d["on_pre"], on_post=d["on_post"],
                   parameters={k: parse_quantity(v) for k, v in d["parameters"].items()},
                   pre_traces=tuple(trace(t) for t in d["pre_traces"]),
                   post_traces=tuple(trace(t) for t in d["post_traces"]),
                   model=d["model"], citation=d.get("citation", ""),
                   max_delay=parse_quantity(d["max_delay"]) if d.get("max_delay") else None,
                   post_model=d.get("post_model", ""), on_window_end=d.get("on_window_end", ""),
                   post_on_window_end=d.get("post_on_window_end", ""), post_sums=d.get("post_sums", {}))


def sym_stdp(stdp) -> PlasticityRule:
    """Symmetric STDP of Hao et al. (2020, Eq. 4-6) for a pathway's :class:`~bioplastic.symstdp.params.STDPParams`.

    The default rule of both pathways; it generates exactly the code of
    :data:`SYM_STDP_ON_PRE` and :data:`SYM_STDP_ON_POST`.
    """
    return PlasticityRule(
        name="sym-stdp",
        on_pre="w = clip(w + learning_post * nu * xpost_post, 0, w_max)",
        on_post="w = clip(w + learning_post * nu * xpre_pre, 0, w_max)",
        parameters=stdp_namespace(stdp),
        pre_traces=(Trace("xpre", stdp.tau_trace, float(stdp.trace_increment)),),
        post_traces=(Trace("xpost", stdp.tau_trace, float(stdp.trace_increment)),),
        citation="Hao, Huang, Dong & Xu 2020, Neural Networks 121:387-395, Eq. 4-6",
    )


def diehl_cook_stdp(nu_pre=0.0001, nu_post=0.01, w_max=1.0, tau_pre=None, tau_post1=None,
                    tau_post2=None, synaptic_traces=False, max_delay=None) -> PlasticityRule:
    """The STDP rule of Diehl & Cook (2015) as in their released code (and Brian2's example).

    Nearest-spike traces (set to 1 at a spike): a presynaptic spike depresses
    by ``nu_pre * post1``; a postsynaptic spike potentiates by
    ``nu_post * pre * post2`` with ``post2`` read before this spike sets it
    (a triplet term), weights clipped to ``[0, w_max]``.  Time constants
    20 ms (``pre``, ``post1``) and 40 ms (``post2``).  The weight dependence
    of the paper's Eq. 3 is not in their code; this follows the code.

    Parameters
    ----------
    nu_pre, nu_post : float
        Learning rates, 0.0001 and 0.01.
    w_max : float
        1.
    tau_pre, tau_post1, tau_post2 : Quantity, optional
        20 ms, 20 ms, 40 ms.
    synaptic_traces : bool
        Keep the traces per synapse (event-driven, as their code does)
        instead of per neuron.  Without delays the two differ only for a
        pre- and a postsynaptic spike in the same step: the synapse's ``pre``
        is set before that step's potentiation (the pairing counts 1), the
        neuron's after it (``exp(-dt / tau_pre)``).  With delays a synapse's
        ``pre`` is set when the spike arrives.
    max_delay : Quantity, optional
        Input delays uniform in ``[0, max_delay)`` (their code: 10 ms);
        needs ``synaptic_traces``.
    """
    from brian2 import ms

    tau_pre = tau_pre if tau_pre is not None else 20 * ms
    tau_post1 = tau_post1 if tau_post1 is not None else 20 * ms
    tau_post2 = tau_post2 if tau_post2 is not None else 40 * ms
    if max_delay is not None and not synaptic_traces:
        raise ValueError("max_delay needs synaptic_traces=True (a neuron's trace cannot be delayed per synapse)")
    if synaptic_traces:
        return PlasticityRule(
            name="diehl-cook-stdp-synaptic",
            model="""w : 1
dpre/dt = -pre / tau_pre : 1 (event-driven)
dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
dpost2/dt = -post2 / tau_post2 : 1 (event-driven)
""",
            on_pre="pre = 1\nw = clip(w - learning_post * nu_pre * post1, 0, w_max)",
            on_post="w = clip(w + learning_post * nu_post * pre * post2, 0, w_max)\npost1 = 1\npost2 = 1",
            parameters={"nu_pre": float(nu_pre), "nu_post": float(nu_post), "w_max": float(w_max),
                        "tau_pre": tau_pre, "tau_post1": tau_post1, "tau_post2": tau_post2},
            max_delay=max_delay,
            citation="Diehl & Cook 2015 (their code: per-synapse traces, input delays U(0, 10 ms))",
        )
    return PlasticityRule(
        name="diehl-cook-stdp",
        on_pre="w = clip(w - learning_post * nu_pre * post1_post, 0, w_max)",
        on_post="w = clip(w + learning_post * nu_post * pre_pre * post2_post, 0, w_max)",
        parameters={"nu_pre": float(nu_pre), "nu_post": float(nu_post), "w_max": float(w_max)},
        pre_traces=(Trace("pre", tau_pre, 1.0, "set"),),
        post_traces=(Trace("post1", tau_post1, 1.0, "set"), Trace("post2", tau_post2, 1.0, "set")),
        citation="Diehl & Cook 2015, Front. Comput. Neurosci. 9:99 (their code; Brian2's "
                 "examples/frompapers/Diehl_Cook_2015.py)",
    )


# --------------------------------------------------------------------------- an error-driven readout

#: Synaptic state of :func:`normalised_error_rule`: the weight and an eligibility.
ERROR_RULE_MODEL = """
w : 1
elig : 1    # presynaptic spikes during this window's presentation
"""
#: What the postsynaptic (label) neuron keeps for it.
ERROR_RULE_POST_MODEL = """
drive : 1          # summed weight of the input spikes it received during this presentation
drive_norm : 1     # the sum of drive**exponent over its layer (divisive normalisation)
presenting = int({presenting}) : integer
"""
#: On a presynaptic spike (after the transmission): count it and add its weight to the drive.
ERROR_RULE_ON_PRE = """
elig += learning_post * presenting_post
drive_post += w * presenting_post
"""
#: At the end of every window: the error of the normalised response times the eligibility.
ERROR_RULE_ON_WINDOW_END = """
w = clip(w + learning_post * eta * elig * (target_post - drive_post**exponent / (drive_norm_post + 1e-30)), 0, w_max)
elig = 0
"""
ERROR_RULE_POST_ON_WINDOW_END = "drive = 0"


def normalised_error_rule(eta=0.1, exponent=4.0, w_max=8.0) -> PlasticityRule:
    """An error-driven readout rule for the hidden -> label pathway (beyond Hao et al. 2020).

    A window-level three-factor rule.  During a sample's presentation each
    synapse counts its presynaptic spikes (``elig``, the eligibility) and each
    label neuron sums the weights of the spikes it receives (``drive``, its
    input).  At the end of the window, with ``p_c = drive_c**n / sum_k
    drive_k**n`` the label layer's normalised response (an expansive
    nonlinearity and divisive normalisation over the layer) and ``t_c`` the
    teacher's instruction (1 for the sample's class, 0 otherwise)::

        w_jc <- clip(w_jc + eta * elig_j * (t_c - p_c), 0, w_max)

    then homeostatic scaling restores every label neuron's summed weight at
    the next window's start, as for sym-STDP.  Each synapse reads only its
    own presynaptic activity and quantities of its postsynaptic neuron (its
    drive, its layer's normalisation, its teacher), so the rule is local; it
    is the delta rule of a normalised (softmax-like) readout, which learns
    discriminative weights where the Hebbian label pathway of the paper
    converges to class-mean templates (``docs/reproduction.rst``).  The
    teacher's Poisson spikes are unchanged and unused by it; the label layer
    is read out by its spikes as before.

    Parameters
    ----------
    eta : float
        Learning rate per presynaptic spike (weights are scaled to
        ``w_total`` = 5120 per label neuron at N_E = 6400).
    exponent : float
        ``n``, the exponent of the normalisation (1: proportional; larger:
        sharper, more winner-take-all).
    w_max : float
        Upper bound of a weight (the label pathway's, 8).

    Notes
    -----
    Not in the paper; a named model of its own (``"hao-2020-error-readout"``),
    whose values come from its parameter table
    (:class:`~bioplastic.symstdp.params.ErrorReadoutParams`,
    :func:`~bioplastic.symstdp.models.error_readout_rule`).
    """
    from bioplastic.symstdp.schedule import PRESENTING

    if not float(eta) > 0:
        raise ValueError(f"normalised_error_rule: eta must be positive, got {eta!r}")
    if not float(exponent) > 0:
        raise ValueError(f"normalised_error_rule: exponent must be positive, got {exponent!r}")
    if not float(w_max) > 0:
        raise ValueError(f"normalised_error_rule: w_max must be positive, got {w_max!r}")
    return PlasticityRule(
        name="normalised-error",
        model=ERROR_RULE_MODEL,
        on_pre=ERROR_RULE_ON_PRE,
        on_post="",
        post_model=ERROR_RULE_POST_MODEL.format(presenting=PRESENTING),
        on_window_end=ERROR_RULE_ON_WINDOW_END,
        post_on_window_end=ERROR_RULE_POST_ON_WINDOW_END,
        post_sums={"drive_norm": "drive**exponent"},
        parameters={"eta": float(eta), "exponent": float(exponent), "w_max": float(w_max)},
        citation="bioplastic: a delta rule of a normalised readout (beyond Hao et al. 2020); "
                 "divisive normalisation: Carandini & Heeger 2012, Nat. Rev. Neurosci. 13:51-62",
    )
