"""Neuron models of the sym-STDP network: equation strings and group factories.

Conductances ``ge``, ``gi`` are dimensionless (in units of the leak
conductance), as in the paper and the GeNN code, so synaptic weights are
dimensionless too.

Integration (``method``, :attr:`bioplastic.params.ModelParams.method`).  The
membrane equations are linear in ``v`` with coefficients that depend on the
conductances.

* ``"euler"`` is the GeNN code's scheme: forward Euler for ``v`` (with the GeNN
  floor ``v >= E_inh``, :data:`EXCITATORY_FLOOR`) and exact exponential decay of
  the conductances.  To get exact decays from Brian2's Euler integrator, each
  linear decay's time constant is replaced, for this method only, by its
  step equivalent ``dt / (1 - exp(-dt / tau))`` (:func:`step_equivalent_tau`),
  so that one Euler step multiplies by exactly ``exp(-dt / tau)``; the same is
  done for the traces and theta.  The equation strings are the same for every
  method.
* ``"exponential_euler"`` is exact for ``v`` over a step at frozen
  conductances and stays stable when ``dt * (1 + ge + gi) / tau_m > 2``, where
  forward Euler diverges; this happens at N_E = 6400, where hundreds of
  inhibitory spikes land within a few ms.  It costs an ``exp`` per neuron and
  step; :class:`BranchFreeExponentialEuler` generates it so that the C++
  compiler vectorises that ``exp`` (same values as Brian2's
  ``exponential_euler``; at N_E = 6400 the binary's CPU time per sample fell
  from 165 to 113 ms, Intel Xeon, identical spikes).
* ``"implicit_euler"`` (:data:`linear_implicit_euler`) is the backward Euler
  step of each conditionally linear equation ``dx/dt = A x + B`` with the
  coefficients frozen at the start of the step:
  ``x_new = (x + dt * B) / (1 - dt * A)``.  For the membrane equation this is
  ``v_new = (v + dt/tau_m * (v_rest + ge*E_exc + gi*E_inh)) / (1 + dt/tau_m * (1 + ge + gi))``.
  It is stable for every step size (``A <= 0``): ``v_new`` is a weighted
  mean of ``v`` and the frozen fixed point, so it never overshoots and stays
  within ``[E_inh, E_exc]`` (no floor needed); it relaxes toward the same
  fixed point as exponential Euler, with the factor ``1 / (1 + h)`` instead
  of ``exp(-h)``, ``h = dt * (1 + ge + gi) / tau_m`` (they differ by less than
  ``h**2 / 2``: 1.3e-5 for a quiet neuron).  It costs a division per neuron
  and step instead of an ``exp``.  The linear decays are again exact, with
  the time constants replaced by ``dt / (exp(dt / tau) - 1)``.  For a
  strongly inhibited neuron (``h`` of 5 and more, N_E = 6400) ``1 / (1 + h)``
  leaves much more of the deviation than ``exp(-h)``: inhibition acts more
  weakly and the hidden layer fires more (measured at N_E = 6400: 575 vs 349
  hidden spikes over the same 20 samples), so it is an option (13 % faster at
  N_E = 6400), not the default.

The variants use ``"euler"`` below N_E = 6400 and ``"exponential_euler"`` at
6400.  The label layer (10 neurons, inputs of weight up to 40) always uses
exponential Euler.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from brian2 import NeuronGroup, Equations
from brian2.parsing.sympytools import sympy_to_str
from brian2.stateupdaters.base import (
    StateUpdateMethod,
    UnsupportedEquationsException,
    extract_method_options,
)
from brian2.stateupdaters.exponential_euler import get_conditionally_linear_system

from .plasticity import (
    POST_TRACE_EQS,
    POST_TRACE_ON_SPIKE,
    PRE_TRACE_EQS,
    PRE_TRACE_ON_SPIKE,
    SCALING_EQS,
    post_trace_namespace,
    pre_trace_namespace,
)
from .schedule import PRESENTING, clock_args, schedule_namespace

__all__ = [
    "INPUT_EQS",
    "INPUT_THRESHOLD",
    "EXCITATORY_EQS",
    "EXCITATORY_THRESHOLD",
    "EXCITATORY_RESET",
    "EXCITATORY_FLOOR",
    "INPUT_WINDOW_START",
    "INHIBITION_ALL_TO_ALL_EQS",
    "INHIBITION_POOLED_EQS",
    "INHIBITORY_EQS",
    "LABEL_EQS",
    "LABEL_THRESHOLD",
    "POOL_EQS",
    "make_input",
    "make_excitatory",
    "make_inhibitory",
    "make_label",
    "make_pool",
    "step_equivalent_tau",
    "LinearImplicitEuler",
    "linear_implicit_euler",
    "BranchFreeExponentialEuler",
    "branch_free_exponential_euler",
    "METHODS",
    "brian_method",
]

#: Poisson input: base rate of the current sample's pixel times the intensity.
INPUT_EQS = """
rate : Hz              # set at the start of every window (INPUT_WINDOW_START)
ptr : integer (linked)
intensity : 1 (linked)
"""
#: Looked up once per window, not every step (the TimedArray index costs two
#: divisions per neuron and step: 8 % of a training step at N_E = 400).
INPUT_WINDOW_START = "rate = stimulus(ptr * sample_period, i) * intensity"
#: Checking ``rate > 0`` first skips the random number for blank pixels (most of them).
INPUT_THRESHOLD = f"rate > 0*Hz and {PRESENTING} and rand() < rate * dt"

#: Conductance-based LIF with adaptive threshold theta (Hao et al. 2020, Eq. 1-3).
EXCITATORY_EQS = """
dv/dt = ((v_rest - v) + ge * (E_exc - v) + gi * (E_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dtheta/dt = -learning * theta / tau_theta : volt
count : integer                   # spikes during presentations in this chunk
learning : 1 (shared, constant)   # 1 while training: theta and synapses adapt
"""
#: Inhibitory conductance, literal form: every inhibitory spike adds to ``gi``.
INHIBITION_ALL_TO_ALL_EQS = "dgi/dt = -gi / tau_gi : 1"
#: Inhibitory conductance, pooled form (exactly equivalent for uniform
#: all-but-self inhibition): ``gi`` is the population conductance minus the
#: part due to the neuron's own inhibitory partner.  O(N) instead of O(N^2).
#: ``gi`` is evaluated once per step before the state update (``constant over
#: dt``: the same start-of-step value); this keeps the read of the linked
#: ``gi_pool`` (an indexed load) out of the state updater's loop, which the C++
#: compiler can then vectorise.
INHIBITION_POOLED_EQS = """
gi = gi_pool - gi_self : 1 (constant over dt)
dgi_self/dt = -gi_self / tau_gi : 1
gi_pool : 1 (linked)
"""
EXCITATORY_THRESHOLD = "v > v_thresh + theta - theta_offset"
#: Floor of the excitatory potential at the inhibitory reversal potential (GeNN code),
#: applied under ``method="euler"`` only (the other methods stay above ``E_inh``).
EXCITATORY_FLOOR = "v = clip(v, E_inh, inf * volt)"
EXCITATORY_RESET = f"""
v = v_reset
theta += learning * theta_plus * theta_ref / abs(theta - theta_ref)
count += int({PRESENTING})
"""

INHIBITORY_EQS = """
dv/dt = ((v_rest - v) + ge * (E_exc - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
"""

#: The population inhibitory conductance of the pooled form (one neuron).
POOL_EQS = "dg/dt = -g / tau_gi : 1"

#: Label layer: LIF at test time, a Poisson teacher during training.
LABEL_EQS = """
dv/dt = ((v_rest - v) + ge * (E_exc - v)) / tau_m : volt
dge/dt = -ge / tau_ge : 1
count : integer                   # spikes during presentations in this chunk
label : integer (linked)          # class of the current sample
learning : 1 (shared, constant)   # 1 while training: teacher on, E->C plastic
"""
LABEL_THRESHOLD = (
    f"(learning > 0 and i == label and {PRESENTING} and rand() < teacher_rate * dt)"
    " or (learning == 0 and v > v_thresh)"
)
LABEL_RESET = f"""
v = v_reset
count += int({PRESENTING})
"""


def _unmasked(expr):
    """``expr`` with Brian2's refractoriness mask ``int(not_refractory)`` replaced by 1.

    For ``(unless refractory)`` equations Brian2 multiplies the right-hand side
    by ``int(not_refractory)`` *and* writes the new value back only where
    ``not_refractory`` holds (``if not_refractory: v = _v``).  The first mask
    makes the generated C++ branch on every neuron, and a function call such
    as ``exp`` inside a branch is not vectorised; the second mask alone keeps
    refractory neurons where they are.  So the state updaters below take the
    first one out: same values, branch-free loops.
    """
    def is_mask(e):
        return (isinstance(e, sp.Function) and type(e).__name__ == "int_" and len(e.args) == 1
                and isinstance(e.args[0], sp.Symbol) and e.args[0].name == "not_refractory")

    return sp.sympify(expr).replace(is_mask, lambda e: sp.Integer(1))


def _linear_system(equations, variables, name):
    if equations.is_stochastic:
        raise UnsupportedEquationsException(f"{name}: no stochastic equations")
    try:
        system = get_conditionally_linear_system(equations, variables)
    except ValueError:
        raise UnsupportedEquationsException(
            f"{name}: equations must be conditionally linear") from None
    return {var: (_unmasked(A), _unmasked(B)) for var, (A, B) in system.items()}


class LinearImplicitEuler(StateUpdateMethod):
    """Backward Euler for conditionally linear equations, coefficients frozen over a step.

    Every equation ``dx/dt = A x + B`` (``A`` and ``B`` may depend on the
    other variables, not on ``x``) is advanced by
    ``x_new = (x + dt * B) / (1 - dt * A)``, all from the start-of-step values
    (as Brian2's exponential Euler does, with ``exp(A dt)`` replaced by its
    implicit-Euler counterpart).  Unconditionally stable for ``A <= 0``.
    """

    def __call__(self, equations, variables=None, method_options=None):
        extract_method_options(method_options, {})
        system = _linear_system(equations, variables, "linear implicit Euler")
        dt = sp.Symbol("dt")
        code = []
        for var, (A, B) in system.items():
            x = sp.Symbol(var)
            update = x + dt * B if A == 0 else (x + dt * B) / (1 - dt * A)
            code.append(f"_{var} = {sympy_to_str(update)}")
        code += [f"{var} = _{var}" for var in system]
        return "\n".join(code)


class BranchFreeExponentialEuler(StateUpdateMethod):
    """Brian2's exponential Euler, with the refractoriness mask left to the write-back.

    The same update as ``method="exponential_euler"``:
    ``x_new = (x + B/A) * exp(A dt) - B/A`` (``x * exp(A dt)`` when ``B = 0``,
    ``x + dt * B`` when ``A = 0``), with ``int(not_refractory)`` taken out of
    ``A`` and ``B`` (:func:`_unmasked`).  Brian2's generated code computed
    ``exp`` inside a per-neuron branch on the refractory state, which the C++
    compiler cannot vectorise (glibc's vector ``exp`` has no masked variant);
    here it is computed for every neuron and kept only where the neuron is not
    refractory, so the loop vectorises.
    """

    def __call__(self, equations, variables=None, method_options=None):
        extract_method_options(method_options, {})
        system = _linear_system(equations, variables, "exponential Euler")
        dt = sp.Symbol("dt")
        code = []
        for var, (A, B) in system.items():
            x = sp.Symbol(var)
            if A == 0:
                update = x + dt * B
            elif B != 0:
                code.append(f"_BA_{var} = {sympy_to_str(B / A)}")
                ba = sp.Symbol(f"_BA_{var}")
                update = (x + ba) * sp.exp(A * dt) - ba
            else:
                update = x * sp.exp(A * dt)
            code.append(f"_{var} = {sympy_to_str(update)}")
        code += [f"{var} = _{var}" for var in system]
        return "\n".join(code)


#: The backward-Euler state updater (``method="implicit_euler"``).
linear_implicit_euler = LinearImplicitEuler()
#: Exponential Euler as generated for ``method="exponential_euler"``.
branch_free_exponential_euler = BranchFreeExponentialEuler()

#: Integration methods of the hidden groups, by name.
METHODS = ("euler", "exponential_euler", "implicit_euler")


def brian_method(method):
    """The Brian2 ``method`` argument for one of :data:`METHODS` (others pass through)."""
    return {"implicit_euler": linear_implicit_euler,
            "exponential_euler": branch_free_exponential_euler}.get(method, method)


def _namespace(table, names):
    return {name: getattr(table, name) for name in names}


def step_equivalent_tau(tau, dt, method="euler"):
    """Time constant whose (forward or backward) Euler step decays by exactly ``exp(-dt / tau)``.

    Parameters
    ----------
    tau, dt : Quantity
    method : {"euler", "implicit_euler"}

    Returns
    -------
    Quantity
        ``dt / (1 - exp(-dt / tau))`` for forward Euler (slightly larger than
        ``tau + dt / 2``), ``dt / (exp(dt / tau) - 1)`` for backward Euler
        (slightly smaller than ``tau - dt / 2``).
    """
    if method == "implicit_euler":
        return dt / np.expm1(float(dt / tau))
    return dt / (1 - np.exp(-float(dt / tau)))


#: Time constants of linear decays, replaced by their step equivalents under Euler.
DECAY_CONSTANTS = ("tau_ge", "tau_gi", "tau_xpre", "tau_xpost", "tau_theta")


def _integration_namespace(namespace, method, dt):
    if method in ("euler", "implicit_euler"):
        for key in DECAY_CONSTANTS:
            if key in namespace:
                namespace[key] = step_equivalent_tau(namespace[key], dt, method)
    return namespace


def make_input(n_input, input_params, stdp_input, stimulus, controller, dt, method="exact", name="input",
               clock=None, window_clock=None):
    """Poisson input group driven by the chunk's :class:`~brian2.TimedArray` data.

    Parameters
    ----------
    n_input : int
    input_params : bioplastic.params.InputParams
    stdp_input : bioplastic.params.STDPParams
        The pathway whose presynaptic trace this group carries.
    stimulus : TimedArray
        Base rates, from :func:`bioplastic.schedule.make_stimulus`.
    controller : NeuronGroup
        From :func:`bioplastic.schedule.make_controller`.
    dt : Quantity
    method : str
    name : str
    clock, window_clock : Clock, optional
        Shared step and window clocks (default: own clocks of step ``dt`` and
        ``input_params.t_window``).

    Returns
    -------
    NeuronGroup
    """
    namespace = schedule_namespace(input_params)
    namespace.update(pre_trace_namespace(stdp_input))
    namespace["stimulus"] = stimulus
    group = NeuronGroup(
        n_input,
        Equations(INPUT_EQS) + Equations(PRE_TRACE_EQS),
        threshold=INPUT_THRESHOLD,
        reset=PRE_TRACE_ON_SPIKE,
        method=method,
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
    )
    zeros = np.zeros(n_input, dtype=int)
    group.ptr = _linked(controller, "ptr", zeros)
    group.intensity = _linked(controller, "intensity", zeros)
    # after the controller has set the label (order -5) at the window start
    group.run_regularly(INPUT_WINDOW_START, **clock_args(input_params.t_window, window_clock),
                        when="start", order=-4,
                        name=f"{name}_window_start")
    return group


def _linked(group, var, index):
    from brian2 import linked_var

    return linked_var(group, var, index=index)


def make_excitatory(n, exc, input_params, stdp_input, stdp_label, inhibition="pooled", pool=None,
                    dt=None, method="exponential_euler", name="excitatory", clock=None):
    """Excitatory hidden layer with adaptive thresholds and STDP traces.

    Parameters
    ----------
    n : int
        N_E.
    exc : bioplastic.params.ExcitatoryParams
    input_params : bioplastic.params.InputParams
    stdp_input, stdp_label : bioplastic.params.STDPParams
        The pathway the group is postsynaptic to (input -> hidden, carries
        ``xpost``, ``wsum``, ``scale``) and presynaptic to (hidden -> label,
        carries ``xpre``).
    inhibition : {"pooled", "all-to-all"}
        Form of the inhibitory conductance, see :data:`INHIBITION_POOLED_EQS`.
    pool : NeuronGroup, optional
        The population conductance group, required for ``"pooled"``.
    dt : Quantity
    method : str
    name : str
    clock : Clock, optional
        Shared step clock (default: the group's own clock of step ``dt``).

    Returns
    -------
    NeuronGroup
    """
    if inhibition == "pooled":
        inh_eqs = INHIBITION_POOLED_EQS
        if pool is None:
            raise ValueError("pooled inhibition needs the pool group")
    elif inhibition == "all-to-all":
        inh_eqs = INHIBITION_ALL_TO_ALL_EQS
    else:
        raise ValueError(f"inhibition must be 'pooled' or 'all-to-all', got {inhibition!r}")
    eqs = (Equations(EXCITATORY_EQS) + Equations(inh_eqs) + Equations(POST_TRACE_EQS)
           + Equations(PRE_TRACE_EQS) + Equations(SCALING_EQS))
    namespace = _namespace(exc, ["v_rest", "v_reset", "v_thresh", "E_exc", "E_inh", "tau_m",
                                 "tau_ge", "tau_gi", "theta_offset", "theta_plus",
                                 "theta_ref", "tau_theta"])
    namespace.update(schedule_namespace(input_params))
    namespace.update(post_trace_namespace(stdp_input))
    namespace.update(pre_trace_namespace(stdp_label))
    _integration_namespace(namespace, method, dt)
    group = NeuronGroup(
        n,
        eqs,
        threshold=EXCITATORY_THRESHOLD,
        reset="\n".join([EXCITATORY_RESET, POST_TRACE_ON_SPIKE, PRE_TRACE_ON_SPIKE]),
        refractory=exc.refractory,
        method=brian_method(method),
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
    )
    if method == "euler":
        # exponential and implicit Euler cannot leave [E_inh, E_exc]: no floor needed
        group.run_regularly(EXCITATORY_FLOOR, when="groups", order=1, name=f"{name}_floor")
    group.v = exc.v_rest
    group.theta = exc.theta_init
    group.learning = 1
    if inhibition == "pooled":
        group.gi_pool = _linked(pool, "g", np.zeros(n, dtype=int))
    return group


def make_inhibitory(n, inh, dt=None, method="exponential_euler", name="inhibitory", clock=None):
    """Inhibitory LIF neurons, one per excitatory neuron.

    Parameters
    ----------
    n : int
    inh : bioplastic.params.InhibitoryParams
    dt : Quantity
    method : str
    name : str
    clock : Clock, optional
        Shared step clock (default: the group's own clock of step ``dt``).

    Returns
    -------
    NeuronGroup
    """
    group = NeuronGroup(
        n,
        INHIBITORY_EQS,
        threshold="v > v_thresh",
        reset="v = v_reset",
        refractory=inh.refractory,
        method=brian_method(method),
        namespace=_integration_namespace(
            _namespace(inh, ["v_rest", "v_reset", "v_thresh", "E_exc", "tau_m", "tau_ge"]), method, dt),
        **clock_args(dt, clock),
        name=name,
    )
    group.v = inh.v_rest
    return group


def make_pool(exc, dt=None, method="exponential_euler", name="inhibitory_pool", clock=None):
    """One-neuron group holding the population inhibitory conductance (pooled form).

    It is integrated after the excitatory group (``order=1``) so that the
    excitatory neurons see the same start-of-step value as in the literal
    all-to-all form.  ``method`` must be the excitatory group's, so that both
    parts of ``gi`` decay by the same factor.
    """
    return NeuronGroup(1, POOL_EQS, method=brian_method(method),
                       namespace=_integration_namespace({"tau_gi": exc.tau_gi}, method, dt),
                       **clock_args(dt, clock), name=name, order=1)


def make_label(lab, input_params, stdp_label, controller, dt=None, method="exponential_euler",
               name="label", clock=None):
    """Label layer: Poisson teacher while learning, LIF readout otherwise.

    Parameters
    ----------
    lab : bioplastic.params.LabelParams
    input_params : bioplastic.params.InputParams
    stdp_label : bioplastic.params.STDPParams
        The hidden -> label pathway (the group carries ``xpost``, ``wsum``, ``scale``).
    controller : NeuronGroup
    dt : Quantity
    method : str
    name : str
    clock : Clock, optional
        Shared step clock (default: the group's own clock of step ``dt``).

    Returns
    -------
    NeuronGroup
    """
    namespace = _namespace(lab, ["v_rest", "v_reset", "v_thresh", "E_exc", "tau_m", "tau_ge",
                                 "teacher_rate"])
    namespace.update(schedule_namespace(input_params))
    namespace.update(post_trace_namespace(stdp_label))
    group = NeuronGroup(
        lab.n_classes,
        Equations(LABEL_EQS) + Equations(POST_TRACE_EQS) + Equations(SCALING_EQS),
        threshold=LABEL_THRESHOLD,
        reset="\n".join([LABEL_RESET, POST_TRACE_ON_SPIKE]),
        refractory=lab.refractory if float(lab.refractory) > 0 else False,
        method=brian_method(method),
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
    )
    group.v = lab.v_rest
    group.learning = 1
    group.label = _linked(controller, "label", np.zeros(lab.n_classes, dtype=int))
    return group
