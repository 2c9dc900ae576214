"""Neuron models of the sym-STDP network: equation strings and group factories.

Conductances ``ge``, ``gi`` are dimensionless (in units of the leak
conductance), as in the paper and the GeNN code, so synaptic weights are
dimensionless too.

Integration (``method``, :attr:`bioplastic.symstdp.params.ModelParams.method`).  The
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
  weakly and the hidden layer fires more at first (measured at N_E = 6400:
  575 vs 349 hidden spikes over the same 20 samples of the untrained
  network).  Over a whole epoch the difference does not last: one epoch of
  MNIST at N_E = 6400 (50000 samples, seed 0, session 5) gave a median of
  68 vs 67 hidden spikes from 24 vs 22 neurons per sample in the last
  chunks, the same number of presentations (50030 vs 50029), and validation
  accuracy 0.9227 / 0.8980 vs 0.9221 / 0.9004 (supervised / assignment,
  10000 held-out samples), while training took 38.8 vs 46.7 ms per sample
  side by side.

The hidden neuron model is a value (:class:`HiddenNeuron`: equations,
threshold, reset): :data:`HAO_2020_NEURON` by default, :data:`DIEHL_COOK_NEURON`
for Diehl & Cook (2015), or one's own (``docs/models.rst``).

The variants use ``"euler"`` below N_E = 6400 and ``"implicit_euler"`` at
6400 (``"exponential_euler"`` before session 5), where the inhibitory group
keeps ``"euler"``
(:attr:`bioplastic.symstdp.params.ModelParams.inhibitory_method`: its only input is
its excitatory partner, so Euler stays stable).  The label layer (10 neurons, inputs of weight up to 40) always uses
exponential Euler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Equations, NeuronGroup, ms

from bioplastic.symstdp.integrators import (  # noqa: F401  (re-exported)
    DECAY_CONSTANTS, METHODS, BoundedEuler, BranchFreeExponentialEuler, LinearImplicitEuler,
    _integration_namespace, brian_method, branch_free_exponential_euler, linear_implicit_euler,
    step_equivalent_tau)
from bioplastic.symstdp.plasticity import SCALING_EQS
from bioplastic.symstdp.schedule import PRESENTING, WINDOW_END, clock_args, schedule_namespace

__all__ = [
    "HiddenNeuron",
    "HAO_2020_NEURON",
    "DIEHL_COOK_NEURON",
    "COUNT_ON_SPIKE",
    "INPUT_EQS",
    "INPUT_THRESHOLD",
    "EXCITATORY_EQS",
    "EXCITATORY_THRESHOLD",
    "EXCITATORY_RESET",
    "EXCITATORY_FLOOR",
    "INPUT_WINDOW_START",
    "INPUT_WAIT",
    "INPUT_RESET",
    "INHIBITION_ALL_TO_ALL_EQS",
    "INHIBITION_POOLED_EQS",
    "INHIBITORY_EQS",
    "LABEL_EQS",
    "LABEL_THRESHOLD",
    "POOL_EQS",
    "REST_JUMP",
    "rest_jump_namespace",
    "make_input",
    "make_excitatory",
    "make_inhibitory",
    "make_label",
    "make_pool",
    "step_equivalent_tau",
    "BoundedEuler",
    "LinearImplicitEuler",
    "linear_implicit_euler",
    "BranchFreeExponentialEuler",
    "branch_free_exponential_euler",
    "METHODS",
    "brian_method",
]

#: Poisson input: base rate of the current sample's pixel times the intensity.
#: Each input neuron is a Bernoulli process with spike probability ``rate * dt``
#: per time step, as in the GeNN code, generated by its waiting times
#: (:data:`INPUT_WAIT`): ``next_spike`` is the time step of its next spike.
INPUT_EQS = """
rate : Hz              # set at the start of every window (INPUT_WINDOW_START)
next_spike : integer   # time step of the next spike
ptr : integer (linked)
intensity : 1 (linked)
"""
#: Number of silent steps before the next spike of a Bernoulli process with
#: probability ``p = rate * dt`` per step: geometric, ``P(k) = (1 - p)**k * p``
#: (drawn by inversion, ``floor(log(U) / log(1 - p))`` with ``U`` uniform in
#: (0, 1]).  One random number per spike instead of one per neuron and step
#: (the per-step draw was a fifth of a training step's time at N_E = 400), with
#: exactly the same spike statistics.  Capped at ``max_wait`` (a window: longer
#: waits never end inside the presentation); ``p`` is clipped to
#: [1e-12, 1 - 1e-12] (``p = 0`` gives the cap, ``p >= 1`` a spike every step
#: except with probability 1e-12).
INPUT_WAIT = ("int(floor(clip(log(1 - rand()) / log1p(-clip(rate * step_dt, 1e-12, 1 - 1e-12)),"
              " 0, max_wait)))")
#: Looked up once per window, not every step (the TimedArray index costs two
#: divisions per neuron and step: 8 % of a training step at N_E = 400).  The
#: Bernoulli processes restart at every window (they are memoryless).
INPUT_WINDOW_START = f"""
rate = stimulus(ptr * sample_period, i) * intensity
next_spike = timestep(t, step_dt) + {INPUT_WAIT}
"""
INPUT_THRESHOLD = f"timestep(t, dt) == next_spike and {PRESENTING}"
INPUT_RESET = f"next_spike = timestep(t, dt) + 1 + {INPUT_WAIT}"

#: Independent evaluation: the input's uniform numbers, keyed by (seed, sample and neuron,
#: presentation and step within the window, purpose) while ``keyed`` is 1
#: (:mod:`bioplastic.symstdp.random_streams`), Brian2's ``rand()`` otherwise (training:
#: the same numbers as without the option).
INPUT_INDEPENDENT_EQS = """
keyed : 1 (linked)
eval_seed : integer (linked)
sample_id : integer (linked)
n_shown : integer (linked)
"""
#: Keys: the seed; the sample; (presentation, step in the window, purpose) and the neuron in
#: one integer (below 2**31 for up to 32 presentations of 2**15 steps and 2**10 inputs... in
#: general for ``(intensity_max + 1) * window_steps * 2 * n_input < 2**31``).
_KEYED_U = ("(keyed * keyed_uniform(eval_seed, sample_id, "
            "((n_shown * window_steps + timestep(t, step_dt) % window_steps) * 2 + {purpose}) * n_input_all + i)"
            " + (1 - keyed) * rand())")


#: Population mode (``population`` copies of the network in one model): every uniform number
#: is keyed.  Evaluation (``keyed`` 1): as :data:`_KEYED_U`, with the neuron's index within its
#: copy; training (``keyed`` 0): keyed by the copy's ``chunk_key`` (its chunk seed), the window
#: within the chunk and (step in the window, purpose, neuron within the copy).  Purposes:
#: 0 the input's window start, 1 its reset, 2 the teacher.  A copy's numbers are then the
#: same whatever the other copies do: P copies give the spikes of P single (P = 1) runs.
_POPULATION_U = (
    "(keyed * keyed_uniform(eval_seed, sample_id, "
    "((n_shown * window_steps + timestep(t, step_dt) % window_steps) * 2 + {purpose}) * n_input_all"
    " + i % n_input_all)"
    " + (1 - keyed) * {training})")
_POPULATION_TRAINING_U = (
    "keyed_uniform(chunk_key, (timestep(t, step_dt) // window_steps) % chunk_windows, "
    "((timestep(t, step_dt) % window_steps) * 3 + {purpose}) * n_input_all + i % {n_copy})")


def _keyed(code, purpose, population=False):
    if not population:
        return code.replace("rand()", _KEYED_U.format(purpose=purpose))
    training = _POPULATION_TRAINING_U.format(purpose=purpose, n_copy="n_input_all")
    return code.replace("rand()", _POPULATION_U.format(purpose=purpose, training=training))


def copy_index(n_total, n_copy):
    """Index of the copy each of ``n_total`` neurons belongs to (``i // n_copy``), for linked variables."""
    return np.arange(int(n_total)) // int(n_copy)

#: Conductance-based LIF with adaptive threshold theta (Hao et al. 2020, Eq. 1-3).
EXCITATORY_EQS = """
dv/dt = ((v_rest - v) + ge * (E_exc - v) + gi * (E_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dtheta/dt = -learning * theta / tau_theta : volt
count : integer                   # spikes during presentations in this chunk
learning : 1 (shared, constant)   # 1 while training: theta and synapses adapt
"""
#: Theta's decay applied once per window instead of every step (``theta_decay="window"``,
#: single precision): at tau_theta = 2e7 ms a step's factor, 1 - 2.5e-8, is 1 in float32,
#: a window's, 1 - 2.5e-5, is not.  ``theta_window_decay = exp(-t_period / tau_theta)``.
THETA_WINDOW_DECAY = "theta = theta * (1 - learning * (1 - theta_window_decay))"
#: The rest's unsimulated part (``InputParams.t_rest_jump``), applied at the start of the
#: next window (before the controller and the input look at anything): every variable
#: decays over it at once, ``x *= exp(-t_rest_jump / tau_x)``, the membranes toward rest.
#: The steps it replaces, for the linear decays and, once the conductances are 0 (they
#: decay with 1-2 ms, the stepped part of the rest is much longer), for ``v``.  ``{group kind: code}``;
#: the names ``jump_<var>`` are the factors (:func:`rest_jump_namespace`).  The traces of the
#: plasticity rules decay by :data:`TRACE_REST_JUMP`, added per trace by the network.
REST_JUMP = {
    "excitatory": """
v = v_rest + (v - v_rest) * jump_v
ge = ge * jump_ge
""",
    "excitatory_pooled": "gi_self = gi_self * jump_gi",
    "excitatory_all_to_all": "gi = gi * jump_gi",
    "excitatory_theta": "theta = theta * (1 - learning * (1 - jump_theta))",
    "inhibitory": """
v = v_rest + (v - v_rest) * jump_v
ge = ge * jump_ge
""",
    "pool": "g = g * jump_gi",
    "label": """
v = v_rest + (v - v_rest) * jump_v
ge = ge * jump_ge
""",
    "input": "",
}
#: The jump of a neuron's STDP traces (added to each group's code by the network).
TRACE_REST_JUMP = "{name} = {name} * jump_{name}"


def rest_jump_namespace(t_jump, dt, method, tau_m, **taus):
    """The factors of :data:`REST_JUMP`: ``jump_v`` and ``{"jump_<name>": exp(-t_jump / tau)}``.

    The linear decays are exact per step under every method (their time
    constants are step equivalents), so ``n`` steps decay by
    ``exp(-t_jump / tau)``.  The membrane's relaxation to rest is the
    method's own per step, ``1 - dt/tau_m`` (Euler), ``1 / (1 + dt/tau_m)``
    (implicit Euler) or ``exp(-dt/tau_m)`` (exponential Euler), to the power
    ``n = t_jump / dt``: the jump is the steps it replaces.
    """
    out = {}
    if tau_m is not None:                      # groups without a membrane (the input) pass None
        n = int(round(float(t_jump / dt)))
        h = float(dt / tau_m)
        per_step = {"euler": 1 - h, "implicit_euler": 1 / (1 + h)}.get(method, float(np.exp(-h)))
        out["jump_v"] = float(per_step ** n)
    out.update({f"jump_{name}": float(np.exp(-float(t_jump / tau))) for name, tau in taus.items()})
    return out


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
#: applied to the new value of every Euler step under ``method="euler"`` only (the
#: other methods stay above ``E_inh``): ``{variable: (lower, upper)}``, see
#: :class:`BoundedEuler`.
EXCITATORY_FLOOR = {"v": ("E_inh", "inf * volt")}
EXCITATORY_RESET = """
v = v_reset
theta += learning * theta_plus * theta_ref / abs(theta - theta_ref)
"""
#: Every hidden neuron model's spikes are counted during presentations (the readouts, the controller).
COUNT_ON_SPIKE = f"count += int({PRESENTING})"
#: The line of a hidden neuron's equations that ``theta_decay="window"`` replaces.
THETA_EQUATION = "dtheta/dt = -learning * theta / tau_theta : volt"
#: Variables every hidden neuron model must define (the network, the engine and the readouts use them).
HIDDEN_REQUIRED = ("v", "ge", "theta", "count", "learning")


@dataclass(frozen=True)
class HiddenNeuron:
    """A model of the excitatory hidden neurons as a value: equations, threshold, reset.

    The network adds to it the inhibitory conductance ``gi`` (pooled or
    all-to-all, :data:`INHIBITION_POOLED_EQS`), the traces of the plastic
    pathways, the scaling variables and :data:`COUNT_ON_SPIKE`.  Its
    constants are the fields of :class:`~bioplastic.symstdp.params.ExcitatoryParams`
    (``v_rest``, ``tau_m``, ``theta_plus``, ...) and ``parameters``.

    Parameters
    ----------
    name : str
    equations : str
        Must define ``v``, ``ge``, ``theta``, ``count`` and ``learning``
        (:data:`HIDDEN_REQUIRED`); the membrane equation may use ``gi``.
        For single precision theta's decay moves to the window start: the
        equations must then contain :data:`THETA_EQUATION` verbatim.
    threshold, reset : str
        Brian2 threshold condition and reset statements (the reset should
        gate theta's growth with ``learning``).
    parameters : dict
        Extra constants ``{name: Quantity or number}``.
    rest_jump : str or None
        Statements that apply the rest's unsimulated part to the neuron's own
        variables at the next window start, with ``jump_v`` and ``jump_ge``
        (:data:`REST_JUMP`); None: the model cannot skip the rest
        (``InputParams.t_rest_jump`` must be 0).
    citation : str
    """

    name: str
    equations: str = EXCITATORY_EQS
    threshold: str = EXCITATORY_THRESHOLD
    reset: str = EXCITATORY_RESET
    parameters: dict = field(default_factory=dict)
    rest_jump: str | None = REST_JUMP["excitatory"]
    citation: str = ""

    def __post_init__(self):
        object.__setattr__(self, "parameters", dict(self.parameters))
        names = set(Equations(self.equations).names)
        missing = [v for v in HIDDEN_REQUIRED if v not in names]
        if missing:
            raise ValueError(f"hidden neuron {self.name}: its equations must define "
                             f"{', '.join(missing)} (needed: {', '.join(HIDDEN_REQUIRED)})")

    def equations_for(self, theta_decay: str) -> str:
        """The equations, with theta's per-step decay removed for ``theta_decay="window"``."""
        if theta_decay == "step":
            return self.equations
        if THETA_EQUATION not in self.equations:
            raise ValueError(f"hidden neuron {self.name}: theta decay once per window (single "
                             f"precision) needs the line {THETA_EQUATION!r} in its equations")
        return self.equations.replace(THETA_EQUATION, "theta : volt")

    def to_dict(self) -> dict:
        return {"name": self.name, "equations": self.equations, "threshold": self.threshold,
                "reset": self.reset, "parameters": {k: repr(v) for k, v in self.parameters.items()},
                "rest_jump": self.rest_jump, "citation": self.citation}

    @classmethod
    def from_dict(cls, d: dict) -> "HiddenNeuron":
        from bioplastic.symstdp.params import parse_quantity

        return cls(name=d["name"], equations=d["equations"], threshold=d["threshold"], reset=d["reset"],
                   parameters={k: parse_quantity(v) for k, v in d["parameters"].items()},
                   rest_jump=d["rest_jump"], citation=d.get("citation", ""))


#: The hidden neuron of Hao et al. (2020): theta grows by a shrinking step (GeNN ``model.h``).
HAO_2020_NEURON = HiddenNeuron(
    name="hao-2020",
    citation="Hao, Huang, Dong & Xu 2020, Eq. 1-3; increment of the authors' GeNN code (model.h)")

#: The hidden neuron of Diehl & Cook (2015) as in their code: theta grows by the constant
#: theta_plus, and after a spike the threshold stays closed until ``timer`` (growing at a
#: tenth of real time) passes 5 ms, i.e. for 50 ms (their ``dtimer/dt = 100 ms/s`` and
#: ``timer > refrac_e``), while the membrane is refractory for the table's 5 ms.
DIEHL_COOK_NEURON = HiddenNeuron(
    name="diehl-cook-2015",
    equations=EXCITATORY_EQS + "dtimer/dt = timer_rate : second\n",
    threshold="v > v_thresh + theta - theta_offset and timer > timer_refractory",
    reset="""
v = v_reset
timer = 0 * second
theta += learning * theta_plus
""",
    parameters={"timer_rate": 0.1, "timer_refractory": 5 * ms},
    rest_jump=None,
    citation="Diehl & Cook 2015, Front. Comput. Neurosci. 9:99 (their code; Brian2's "
             "examples/frompapers/Diehl_Cook_2015.py)")

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
#: Population mode: the teacher's numbers keyed like the input's (purpose 2), label neuron
#: ``i`` being class ``i % n_classes`` of its copy.
LABEL_POPULATION_THRESHOLD = (
    f"(learning > 0 and i % n_classes == label and {PRESENTING} and "
    + _POPULATION_TRAINING_U.format(purpose=2, n_copy="n_classes") + " < teacher_rate * dt)"
    " or (learning == 0 and v > v_thresh)"
)
#: The teacher's instruction for window-level rules: which label neuron is the window's class.
LABEL_TARGET_EQS = "target : integer   # 1 in the neuron of this window's class, 0 in the others"
LABEL_TARGET = "target = int(i % n_classes == label)"
LABEL_RESET = f"""
v = v_reset
count += int({PRESENTING})
"""


def _namespace(table, names):
    return {name: getattr(table, name) for name in names}


def _traces(traces, method=None, dt=None):
    """Equations, reset statements and namespace of a group's STDP traces."""
    eqs = Equations("")
    code, namespace = [], {}
    for tr in traces:
        eqs = eqs + Equations(tr.equations)
        code.append(tr.on_spike)
        namespace.update(tr.namespace())
    if method is not None:
        _integration_namespace(namespace, method, dt, names=[tr.tau_name for tr in traces])
    return eqs, code, namespace


def _check_trace_names(group, traces, taken):
    names = [tr.name for tr in traces]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(taken)))
    if clash:
        raise ValueError(f"{group}: trace names {clash} are used twice (by two rules, or by a rule and "
                         "the neuron model); rename the traces of one rule")


def make_input(n_input, input_params, traces, stimulus, controller, dt, method="exact", name="input",
               clock=None, window_clock=None, independent=False, population=None, chunk_windows=None):
    """Poisson input group driven by the chunk's :class:`~brian2.TimedArray` data.

    Parameters
    ----------
    n_input : int
    input_params : bioplastic.symstdp.params.InputParams
    traces : tuple of bioplastic.symstdp.plasticity.Trace
        The presynaptic traces of the input -> hidden rule.
    stimulus : TimedArray
        Base rates, from :func:`bioplastic.symstdp.schedule.make_stimulus`.
    controller : NeuronGroup
        From :func:`bioplastic.symstdp.schedule.make_controller`.
    dt : Quantity
    method : str
    name : str
    clock, window_clock : Clock, optional
        Shared step and window clocks (default: own clocks of step ``dt`` and
        ``input_params.t_window``).
    independent : bool
        Keyed random numbers while the controller's ``keyed`` is 1
        (:data:`INPUT_INDEPENDENT_EQS`); the controller must have been made
        with ``sample_ids``.
    population, chunk_windows : int, optional
        P copies of ``n_input`` neurons each (population mode: every random
        number keyed, :data:`_POPULATION_U`; needs ``independent``) and the
        windows of a chunk.

    Returns
    -------
    NeuronGroup
    """
    namespace = schedule_namespace(input_params)
    _check_trace_names(name, traces, Equations(INPUT_EQS).names)
    trace_eqs, trace_code, trace_ns = _traces(traces)
    namespace.update(trace_ns)
    namespace["stimulus"] = stimulus
    # the window-start code runs on the window clock: name the step explicitly
    namespace["step_dt"] = input_params.dt
    namespace["max_wait"] = input_params.window_steps
    eqs, reset, start = Equations(INPUT_EQS) + trace_eqs, INPUT_RESET, INPUT_WINDOW_START
    if independent:
        from bioplastic.symstdp.random_streams import KEYED_UNIFORM, keyed_uniform

        eqs = eqs + Equations(INPUT_INDEPENDENT_EQS)
        pop = population is not None
        if pop:
            eqs = eqs + Equations("chunk_key : integer (linked)")
            namespace["chunk_windows"] = int(chunk_windows)
        reset, start = _keyed(reset, 1, pop), _keyed(start, 0, pop)
        namespace[KEYED_UNIFORM] = keyed_uniform()
        namespace["n_input_all"] = int(n_input)
    elif population is not None:
        raise ValueError("population mode needs independent=True")
    copies = 1 if population is None else int(population)
    group = NeuronGroup(
        n_input * copies,
        eqs,
        threshold=INPUT_THRESHOLD,
        reset="\n".join(trace_code + [reset]),
        method=method,
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
    )
    copy_of = copy_index(n_input * copies, n_input)      # each neuron's controller neuron
    group.ptr = _linked(controller, "ptr", copy_of)
    group.intensity = _linked(controller, "intensity", copy_of)
    if independent:
        for var in ("keyed", "eval_seed", "sample_id", "n_shown") + (("chunk_key",) if population else ()):
            setattr(group, var, _linked(controller, var, copy_of))
    # after the controller has set the label (order -5) at the window start
    group.run_regularly(start, **clock_args(input_params.t_window, window_clock),
                        when="start", order=-4,
                        name=f"{name}_window_start")
    return group


#: A group that evaluates independently links the controller's ``keyed`` flag.
KEYED_EQS = "keyed : 1 (linked)"


def _link_keyed(group, controller):
    if controller is not None:
        # one controller neuron per copy: the copies are contiguous, equal blocks of the group
        group.keyed = _linked(controller, "keyed", copy_index(len(group), len(group) // len(controller)))
    return group


def _with_keyed(eqs, controller):
    return eqs + Equations(KEYED_EQS) if controller is not None else eqs


def _linked(group, var, index):
    from brian2 import linked_var

    return linked_var(group, var, index=index)


def make_excitatory(n, exc, input_params, traces, w_total, inhibition="pooled", pool=None,
                    dt=None, method="exponential_euler", name="excitatory", clock=None, theta_decay="step",
                    window_clock=None, neuron=None, keyed_from=None):
    """Excitatory hidden layer with adaptive thresholds and STDP traces.

    Parameters
    ----------
    n : int
        N_E.
    exc : bioplastic.symstdp.params.ExcitatoryParams
    input_params : bioplastic.symstdp.params.InputParams
    traces : tuple of bioplastic.symstdp.plasticity.Trace
        The postsynaptic traces of the input -> hidden rule and the
        presynaptic traces of the hidden -> label rule (sym-STDP: ``xpost``
        and ``xpre``).
    w_total : float
        Scaling target of the incoming (input -> hidden) weights; the group
        carries ``wsum`` and ``scale`` (:data:`~bioplastic.symstdp.plasticity.SCALING_EQS`).
    inhibition : {"pooled", "all-to-all"}
        Form of the inhibitory conductance, see :data:`INHIBITION_POOLED_EQS`.
    pool : NeuronGroup, optional
        The population conductance group, required for ``"pooled"``.
    dt : Quantity
    method : str
    name : str
    clock : Clock, optional
        Shared step clock (default: the group's own clock of step ``dt``).
    theta_decay : {"step", "window"}
        Decay theta every time step (the model's equation), or once per
        window at its start by ``exp(-t_window / tau_theta)``
        (:data:`THETA_WINDOW_DECAY`; for single precision, where the step's
        factor rounds to 1 at N_E = 6400).
    window_clock : Clock
        The clock of the window starts (needed for ``theta_decay="window"``).
    neuron : HiddenNeuron, optional
        The neuron model; default :data:`HAO_2020_NEURON`.
    keyed_from : NeuronGroup, optional
        The controller, for independent evaluation: the group links its
        ``keyed`` flag (:data:`KEYED_EQS`).  The same in the other factories.

    Returns
    -------
    NeuronGroup
    """
    neuron = HAO_2020_NEURON if neuron is None else neuron
    if not isinstance(neuron, HiddenNeuron):
        raise TypeError(f"neuron must be a HiddenNeuron, got {type(neuron).__name__}")
    if theta_decay not in ("step", "window"):
        raise ValueError(f"theta_decay must be 'step' or 'window', got {theta_decay!r}")
    if theta_decay == "window" and window_clock is None:
        raise ValueError("theta_decay='window' needs the window clock")
    if inhibition == "pooled":
        inh_eqs = INHIBITION_POOLED_EQS
        if pool is None:
            raise ValueError("pooled inhibition needs the pool group")
    elif inhibition == "all-to-all":
        inh_eqs = INHIBITION_ALL_TO_ALL_EQS
    else:
        raise ValueError(f"inhibition must be 'pooled' or 'all-to-all', got {inhibition!r}")
    exc_eqs = Equations(neuron.equations_for(theta_decay)) + Equations(inh_eqs)
    _check_trace_names(name, traces, exc_eqs.names)
    trace_eqs, trace_code, trace_ns = _traces(traces, method, dt)
    eqs = _with_keyed(exc_eqs + trace_eqs + Equations(SCALING_EQS), keyed_from)
    namespace = _namespace(exc, ["v_rest", "v_reset", "v_thresh", "E_exc", "E_inh", "tau_m",
                                 "tau_ge", "tau_gi", "theta_offset", "theta_plus",
                                 "theta_ref", "tau_theta"])
    namespace.update(neuron.parameters)
    # the model time of a window: with a rest jump, more than the simulated window
    namespace["theta_window_decay"] = float(np.exp(-float(input_params.t_period / exc.tau_theta)))
    namespace.update(schedule_namespace(input_params))
    namespace["w_total"] = float(w_total)
    _integration_namespace(namespace, method, dt)
    namespace.update(trace_ns)
    group = NeuronGroup(
        n,
        eqs,
        threshold=neuron.threshold,
        reset="\n".join([neuron.reset, COUNT_ON_SPIKE] + trace_code),
        refractory=exc.refractory,
        # exponential and implicit Euler cannot leave [E_inh, E_exc]: no floor needed
        method=BoundedEuler(EXCITATORY_FLOOR) if method == "euler" else brian_method(method),
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
    )
    group.v = exc.v_rest
    group.theta = exc.theta_init
    group.learning = 1
    _link_keyed(group, keyed_from)
    if inhibition == "pooled":
        group.gi_pool = _linked(pool, "g", copy_index(n, n // len(pool)))
    if theta_decay == "window":
        group.run_regularly(THETA_WINDOW_DECAY, clock=window_clock, when="start", order=-5,
                            name=f"{name}_theta_decay")
    return group


def make_inhibitory(n, inh, dt=None, method="exponential_euler", name="inhibitory", clock=None, keyed_from=None):
    """Inhibitory LIF neurons, one per excitatory neuron.

    Parameters
    ----------
    n : int
    inh : bioplastic.symstdp.params.InhibitoryParams
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
        _with_keyed(Equations(INHIBITORY_EQS), keyed_from),
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
    return _link_keyed(group, keyed_from)


def make_pool(exc, dt=None, method="exponential_euler", name="inhibitory_pool", clock=None, keyed_from=None,
              population=None):
    """One-neuron group holding the population inhibitory conductance (pooled form).

    It is integrated after the excitatory group (``order=1``) so that the
    excitatory neurons see the same start-of-step value as in the literal
    all-to-all form.  ``method`` must be the excitatory group's, so that both
    parts of ``gi`` decay by the same factor.  One neuron per copy in population mode.
    """
    group = NeuronGroup(1 if population is None else int(population), _with_keyed(Equations(POOL_EQS), keyed_from), method=brian_method(method),
                        namespace=_integration_namespace({"tau_gi": exc.tau_gi}, method, dt),
                        **clock_args(dt, clock), name=name, order=1)
    return _link_keyed(group, keyed_from)


def make_label(lab, input_params, traces, w_total, controller, dt=None, method="exponential_euler",
               name="label", clock=None, keyed_from=None, population=None, chunk_windows=None, n_input=784,
               rule_model="", window_end=False, window_clock=None):
    """Label layer: Poisson teacher while learning, LIF readout otherwise.

    Parameters
    ----------
    lab : bioplastic.symstdp.params.LabelParams
    input_params : bioplastic.symstdp.params.InputParams
    traces : tuple of bioplastic.symstdp.plasticity.Trace
        The postsynaptic traces of the hidden -> label rule (sym-STDP: ``xpost``).
    w_total : float
        Scaling target of the hidden -> label weights (the group carries ``wsum``, ``scale``).
    controller : NeuronGroup
    dt : Quantity
    method : str
    name : str
    clock : Clock, optional
        Shared step clock (default: the group's own clock of step ``dt``).
    population, chunk_windows : int, optional
        P copies of the layer (population mode): neuron ``i`` is class
        ``i % n_classes`` of copy ``i // n_classes``, and the teacher's random
        numbers are keyed (:data:`LABEL_POPULATION_THRESHOLD`; ``n_input``, the
        input neurons of a copy, spaces their keys from the input's).
    rule_model : str
        Equations the hidden -> label rule adds to the layer
        (:attr:`~bioplastic.symstdp.plasticity.PlasticityRule.post_model`).
    window_end : bool
        Give the layer the event ``window_end`` (the last step of every
        window, :data:`~bioplastic.symstdp.schedule.WINDOW_END`) for a rule
        that acts then, and the variable ``target`` (1 in the neuron of the
        window's class, set at every window start: :data:`LABEL_TARGET`).
    window_clock : Clock, optional
        The network's window clock (with ``window_end``).

    Returns
    -------
    NeuronGroup
    """
    namespace = _namespace(lab, ["v_rest", "v_reset", "v_thresh", "E_exc", "tau_m", "tau_ge",
                                 "teacher_rate"])
    namespace["n_classes"] = int(lab.n_classes)
    copies = 1 if population is None else int(population)
    threshold = LABEL_THRESHOLD
    eqs = Equations(LABEL_EQS)
    if population is not None:
        from bioplastic.symstdp.random_streams import KEYED_UNIFORM, keyed_uniform

        threshold = LABEL_POPULATION_THRESHOLD
        eqs = eqs + Equations("chunk_key : integer (linked)")
        namespace.update({KEYED_UNIFORM: keyed_uniform(), "chunk_windows": int(chunk_windows),
                          "n_classes": int(lab.n_classes), "n_input_all": int(n_input),
                          "step_dt": input_params.dt})
    namespace.update(schedule_namespace(input_params))
    _check_trace_names(name, traces, Equations(LABEL_EQS).names)
    if rule_model.strip():
        own = Equations(rule_model)
        clash = sorted(set(own.names) & (set(Equations(LABEL_EQS).names) | {tr.name for tr in traces}
                                          | set(Equations(SCALING_EQS).names)
                                          | (set(Equations(LABEL_TARGET_EQS).names) if window_end else set())))
        if clash:
            raise ValueError(f"{name}: the label rule's post_model declares {clash}, which the layer "
                             "already has; rename them")
        eqs = eqs + own
    if window_end:
        eqs = eqs + Equations(LABEL_TARGET_EQS)
    trace_eqs, trace_code, trace_ns = _traces(traces)
    namespace.update(trace_ns)
    namespace["w_total"] = float(w_total)
    group = NeuronGroup(
        lab.n_classes * copies,
        _with_keyed(eqs + trace_eqs + Equations(SCALING_EQS), keyed_from),
        threshold=threshold,
        reset="\n".join([LABEL_RESET] + trace_code),
        refractory=lab.refractory if float(lab.refractory) > 0 else False,
        method=brian_method(method),
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
        **({"events": {"window_end": WINDOW_END}} if window_end else {}),
    )
    group.v = lab.v_rest
    group.learning = 1
    if window_end:
        # after the controller has chosen the window's sample (order -5)
        group.run_regularly(LABEL_TARGET, **clock_args(input_params.t_window, window_clock), when="start",
                            order=-2, name=f"{name}_target")
    index = copy_index(lab.n_classes * copies, lab.n_classes)
    group.label = _linked(controller, "label", index)
    if population is not None:
        group.chunk_key = _linked(controller, "chunk_key", index)
    return _link_keyed(group, keyed_from)
