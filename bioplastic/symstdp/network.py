"""Assembly of the sym-STDP supervised network (Hao et al. 2020) into one Brian2 Network.

::

    input (Poisson, 784) --sym-STDP--> excitatory (N_E) --sym-STDP--> label (10)
                                         |        ^                     ^
                                  one-to-one   all-but-self           teacher
                                         v        |                  (training)
                                       inhibitory (N_E)

The network is built once per (parameters, chunk size); the engine then feeds
chunks of K samples into its :class:`~brian2.TimedArray` objects and runs it
for K windows.  :class:`SymSTDPNetwork` names every handle and lists the
state that must be carried from one chunk to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Clock, Equations, Network, StateMonitor, Synapses, ms, second

from bioplastic.symstdp.neurons import make_excitatory, make_inhibitory, make_input, make_label, make_pool
from bioplastic.symstdp.plasticity import SCALING_NEURON_CODE, SCALING_SYNAPSE_CODE, PlasticityRule, sym_stdp
from bioplastic.symstdp.schedule import (PRESENTING, make_controller, make_sample_ids, make_stimulus,
                                         schedule_namespace)

__all__ = ["SymSTDPNetwork", "build_network", "random_initial_weights", "state_key", "INHIBITION_MODES",
           "EVALUATION_MODES"]

INHIBITION_MODES = ("pooled", "all-to-all")


@dataclass
class SymSTDPNetwork:
    """A built network with named handles.

    Attributes
    ----------
    params : bioplastic.symstdp.params.ModelParams
    chunk_size : int
        K, the number of windows one run covers.
    net : brian2.Network
    input, excitatory, inhibitory, label, controller : NeuronGroup
    pool : NeuronGroup or None
        Population inhibitory conductance (pooled inhibition only).
    input_hidden, hidden_label : Synapses
        The two plastic pathways (weights ``w``).
    stimulus, sample_labels : TimedArray
        The chunk's data.
    count_monitor, label_monitor, controller_monitor : StateMonitor
        Cumulative spike counts and controller state at every window start.
    state : list of (group, variable name)
        What the engine carries from one chunk to the next.
    initial_state : dict
        Their values at build time, keyed by :func:`state_key`, in SI units.
    """

    params: object
    chunk_size: int
    net: Network
    input: object
    excitatory: object
    inhibitory: object
    label: object
    controller: object
    pool: object
    input_hidden: object
    hidden_label: object
    stimulus: object
    sample_labels: object
    count_monitor: object
    label_monitor: object
    controller_monitor: object
    inhibition: str
    state: list = field(default_factory=list)
    initial_state: dict = field(default_factory=dict)
    sample_ids: object = None
    evaluation: str = "sequential"
    population: object = None

    @property
    def n_hidden(self) -> int:
        return self.params.n_hidden

    @property
    def copies(self) -> int:
        """P, the copies of the network in the model (1 unless in population mode)."""
        return 1 if self.population is None else int(self.population)


def _add_rest_jump(p, method, window, inp, exc, inh, lab, pool, inhibition, theta_decay,
                   input_rule, label_rule, neuron):
    """The rest's unsimulated part as one decay per group at every window start (``REST_JUMP``)."""
    from bioplastic.symstdp.neurons import REST_JUMP, TRACE_REST_JUMP, rest_jump_namespace

    if neuron.rest_jump is None:
        raise ValueError(f"the hidden neuron model {neuron.name!r} has no rest jump code: "
                         "InputParams.t_rest_jump must be 0 ms for it")
    jump = p.input.t_rest_jump
    ex, ih, lb = p.excitatory, p.inhibitory, p.label

    def traces(*groups_of_traces):
        trs = [tr for group in groups_of_traces for tr in group]
        return [TRACE_REST_JUMP.format(name=tr.name) for tr in trs], {tr.name: tr.tau for tr in trs}

    exc_traces, exc_taus = traces(input_rule.post_traces, label_rule.pre_traces)
    lab_traces, lab_taus = traces(label_rule.post_traces)
    inp_traces, inp_taus = traces(input_rule.pre_traces)
    exc_code = [neuron.rest_jump,
                REST_JUMP["excitatory_pooled" if inhibition == "pooled" else "excitatory_all_to_all"]]
    exc_code += exc_traces
    if theta_decay == "step":        # "window": theta_window_decay covers the whole period
        exc_code.append(REST_JUMP["excitatory_theta"])
    dt = p.input.dt
    exc_method, inh_method = method, p.inhibitory_method or method
    jobs = [
        (exc, "\n".join(exc_code), rest_jump_namespace(
            jump, dt, exc_method, ex.tau_m, ge=ex.tau_ge, gi=ex.tau_gi, theta=ex.tau_theta, **exc_taus)),
        (inh, REST_JUMP["inhibitory"], rest_jump_namespace(jump, dt, inh_method, ih.tau_m, ge=ih.tau_ge)),
        (lab, "\n".join([REST_JUMP["label"]] + lab_traces),
         rest_jump_namespace(jump, dt, "exponential_euler", lb.tau_m, ge=lb.tau_ge, **lab_taus)),
        (inp, "\n".join([REST_JUMP["input"]] + inp_traces),
         rest_jump_namespace(jump, dt, None, None, **inp_taus)),
    ]
    if pool is not None:
        jobs.append((pool, REST_JUMP["pool"], rest_jump_namespace(jump, dt, None, None, gi=ex.tau_gi)))
    for group, code, factors in jobs:
        if not code.strip():
            continue
        group.namespace.update(factors)
        # first thing of a window: before the controller (-5) and the input (-4) act
        group.run_regularly(code, clock=window, when="start", order=-6, name=f"{group.name}_rest_jump")


def weight_arrays(state, params):
    """The learned arrays of a chunk state or checkpoint, as ``weights.npz`` holds them.

    Returns
    -------
    dict
        ``w_input_hidden`` ``(n_input, n_hidden)``, ``w_hidden_label``
        ``(n_hidden, n_classes)``, ``theta_mV`` ``(n_hidden,)``.
    """
    n_cls = params.label.n_classes
    return {"w_input_hidden": np.asarray(state["input_hidden.w"]).reshape(params.n_input, params.n_hidden),
            "w_hidden_label": np.asarray(state["hidden_label.w"]).reshape(params.n_hidden, n_cls),
            "theta_mV": np.asarray(state["excitatory.theta_volt"]) * 1e3}


def state_key(group, var) -> str:
    """Name of a state variable in chunk states and checkpoints: ``group.var_unit``.

    Values are in SI base units; the unit is part of the name for dimensioned
    variables (``excitatory.v_V``), absent for dimensionless ones.
    """
    from brian2 import get_unit

    dim = group.variables[var].dim
    if dim.is_dimensionless:
        return f"{group.name}.{var}"
    return f"{group.name}.{var}_{get_unit(dim)!r}"


def _plastic_synapses(pre, post, rule, name, clock, transmit="ge_post += w", seed=None, blocks=None,
                      namespace=None):
    on_post, on_event = rule.synapse_code("on_post"), {}
    if rule.on_window_end.strip():
        # a pathway of its own, triggered by the postsynaptic group's window_end event
        on_post = {"post": on_post, "window_end": rule.synapse_code("on_window_end")}
        on_event = {"window_end": "window_end"}
    delays = {"pre": 0 * ms, "post": 0 * ms, **({"window_end": 0 * ms} if on_event else {})}
    syn = Synapses(
        pre,
        post,
        model=rule.model,
        on_pre=rule.synapse_code("on_pre", transmit),
        on_post=on_post,
        namespace={**(namespace or {}), **rule.namespace()},
        clock=clock,
        name=name,
        **({"on_event": on_event} if on_event else {}),
        # one scalar delay per pathway, not an array of zeros per synapse (two
        # 40 MB arrays at N_E = 6400, allocated, written and read every chunk)
        **({} if rule.max_delay is not None else {"delay": delays}),
    )
    if blocks is None:
        syn.connect()  # all-to-all, pre-major order: synapse k = i * n_post + j
    else:
        # population mode: block-diagonal, each copy's neurons to its own copy's, pre-major:
        # synapse k = i * n_post_copy + kk connects i to (i // n_pre_copy) * n_post_copy + kk
        n_pre, n_post = len(pre) // blocks, len(post) // blocks
        syn.connect(j=f"(i // {n_pre}) * {n_post} + k for k in range({n_post})")
    if rule.max_delay is not None:
        # drawn once from the network's seed (a stream of its own), fixed for the whole run
        rng = np.random.default_rng([0 if seed is None else int(seed), 0xDE1A7])
        syn.pre.delay = rng.uniform(0, float(rule.max_delay), len(pre) * len(post)) * second
    return syn


def _label_rule_parts(rule, lab, clock, n_classes):
    """The label layer's share of a window-level rule: its sums over the layer and its window-end code."""
    from brian2.utils.stringtools import get_identifiers, word_substitute

    objects = []
    if rule.post_sums:
        own = set(lab.variables) - set(rule.parameters)
        lines = []
        for name, expr in rule.post_sums.items():
            pre = word_substitute(expr, {v: f"{v}_pre" for v in get_identifiers(expr) & own})
            lines.append(f"{name}_post = {pre} : 1 (summed)")
        sums = Synapses(lab, lab, model="\n".join(lines), namespace=rule.namespace(), clock=clock,
                        name="label_sums")
        # every label neuron to every one of its copy's layer (itself included)
        sums.connect(j=f"(i // {n_classes}) * {n_classes} + k for k in range({n_classes})")
        objects.append(sums)
    if rule.post_on_window_end.strip():
        lab.run_on_event("window_end", rule.post_on_window_end, when="after_resets")
    return objects


def random_initial_weights(params, seed=None):
    """The seeded initial weights of :func:`build_network`: uniform in ``[0, w_init_max)`` per pathway.

    Returns ``{"w_input_hidden": (n_input, N_E), "w_hidden_label": (N_E, n_classes)}``.
    """
    p = params
    rng = np.random.default_rng(seed)
    return {
        "w_input_hidden": rng.uniform(0, p.stdp_input.w_init_max, (p.n_input, p.n_hidden)),
        "w_hidden_label": rng.uniform(0, p.stdp_label.w_init_max, (p.n_hidden, p.label.n_classes)),
    }


def _own_state_variables(neuron):
    """Per-neuron state variables of a hidden neuron model that the default model does not have."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER

    known = {"v", "ge", "theta", "count", "learning", "gi", "gi_self", "gi_pool", "wsum", "scale"}
    eqs = Equations(neuron.equations)
    return sorted(name for name, eq in eqs.items()
                  if eq.type in (DIFFERENTIAL_EQUATION, PARAMETER) and name not in known
                  and not {"linked", "shared", "constant"} & set(eq.flags))


def _check_rule(rule, which):
    if not isinstance(rule, PlasticityRule):
        raise TypeError(f"{which} must be a PlasticityRule (bioplastic.symstdp.plasticity), "
                        f"got {type(rule).__name__}")
    return rule


EVALUATION_MODES = ("sequential", "independent")


def _add_rest_reset(inp, exc, inh, lab, pool, inhibition, window, input_rule, label_rule, neuron):
    """Independent evaluation: while ``keyed`` is 1, every window starts from rest.

    Every variable that the rest jump decays (:data:`~bioplastic.symstdp.neurons.REST_JUMP`:
    membranes to ``v_rest``; conductances and traces to 0) is set to its value after an
    endless rest; with ``keyed`` 0 the statements leave it unchanged (bit for bit).
    """
    from bioplastic.symstdp.neurons import REST_JUMP, TRACE_REST_JUMP

    if neuron.rest_jump is None:
        raise ValueError(f"independent evaluation needs the hidden neuron's rest code; the model "
                         f"{neuron.name!r} has none (HiddenNeuron.rest_jump)")

    def reset(*codes):
        lines = []
        for code in codes:
            for line in str(code).splitlines():
                name = line.split("=")[0].strip()
                if name:
                    rest = "v_rest" if name == "v" else "0"
                    lines.append(f"{name} = keyed * {rest} + (1 - keyed) * {name}")
        return "\n".join(lines)

    def traces(*groups):
        return [TRACE_REST_JUMP.format(name=tr.name) for g in groups for tr in g]

    jobs = [
        (exc, reset(neuron.rest_jump,
                    REST_JUMP["excitatory_pooled" if inhibition == "pooled" else "excitatory_all_to_all"],
                    *traces(input_rule.post_traces, label_rule.pre_traces))),
        (inh, reset(REST_JUMP["inhibitory"])),
        (lab, reset(REST_JUMP["label"], *traces(label_rule.post_traces))),
        (inp, reset(*traces(input_rule.pre_traces))),
    ]
    if pool is not None:
        jobs.append((pool, reset(REST_JUMP["pool"])))
    for group, code in jobs:
        if code.strip():
            # first of all at a window start (before the rest jump, the controller and the input)
            group.run_regularly(code, clock=window, when="start", order=-7, name=f"{group.name}_rest_reset")


def build_network(params, chunk_size, inhibition="pooled", method=None,
                  seed=None, initial_weights=None, theta_decay="step",
                  input_rule=None, label_rule=None, hidden_neuron=None, evaluation="sequential",
                  population=None):
    """Build the network of Hao et al. (2020) for one parameter variant.

    Parameters
    ----------
    params : bioplastic.symstdp.params.ModelParams
    chunk_size : int
        Number of windows (presentations) per run, K.
    inhibition : {"pooled", "all-to-all"}
        ``"all-to-all"`` is the literal N_E^2-synapse lateral inhibition;
        ``"pooled"`` (default) is the exactly equivalent O(N_E) form.
    method : str, optional
        Integration method of the hidden groups; default ``params.method``
        (see :mod:`bioplastic.symstdp.neurons`).  The inhibitory group uses
        ``params.inhibitory_method`` where that is set (forward Euler at
        N_E = 6400).  The label layer always uses exponential Euler.
    seed : int, optional
        Seed of the initial weights (numpy).  The weights are also the first
        chunk's state, so they are identical on every device.
    initial_weights : dict, optional
        ``{"w_input_hidden": (n_input, N_E), "w_hidden_label": (N_E, n_classes)}``.
    theta_decay : {"step", "window"}
        Theta decays every step (the equation) or once per window
        (:data:`bioplastic.symstdp.neurons.THETA_WINDOW_DECAY`; single
        precision, where a step's decay factor rounds to 1 at N_E = 6400).
    input_rule, label_rule : bioplastic.symstdp.plasticity.PlasticityRule, optional
        The learning rules of the input -> hidden and hidden -> label
        pathways; default: sym-STDP with ``params.stdp_input`` and
        ``params.stdp_label`` (:func:`~bioplastic.symstdp.plasticity.sym_stdp`).
        Homeostatic scaling to ``params.stdp_*.w_total`` applies to either.
    hidden_neuron : bioplastic.symstdp.neurons.HiddenNeuron, optional
        The excitatory neuron model; default
        :data:`~bioplastic.symstdp.neurons.HAO_2020_NEURON`.
    evaluation : {"sequential", "independent"}
        "independent" adds what makes an evaluation chunk (``keyed`` = 1 in
        the controller) a function of each sample alone: keyed random numbers
        for the input (:mod:`bioplastic.symstdp.random_streams`, keyed by the
        samples' identities in ``sample_ids``) and every window starting from
        rest.  Training chunks (``keyed`` = 0) are unchanged.
    population : int, optional
        P independent copies of the network in one model (population mode;
        needs ``evaluation="independent"`` and pooled inhibition).  Every group
        holds its copies in contiguous blocks (hidden neuron ``k`` of copy
        ``c`` is ``c * N_E + k``; the controller and the pool have one neuron
        per copy); the plastic pathways connect each copy's block only
        (block-diagonal, presynaptic-major: synapse ``i * N_post_copy + k``);
        every random number is keyed, in training by the copy's chunk key
        (:data:`bioplastic.symstdp.neurons._POPULATION_U`), so a copy's spikes
        are those of a single run (``population=1``) with its seed and chunk
        keys.  ``seed`` is then a sequence of P seeds (initial weights) and
        ``initial_weights`` a sequence of P dicts.

    Returns
    -------
    SymSTDPNetwork
    """
    if evaluation not in EVALUATION_MODES:
        raise ValueError(f"evaluation must be one of {EVALUATION_MODES}, got {evaluation!r}")
    if inhibition not in INHIBITION_MODES:
        raise ValueError(f"inhibition must be one of {INHIBITION_MODES}, got {inhibition!r}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    from bioplastic.symstdp.neurons import HAO_2020_NEURON

    if population is not None:
        if int(population) != population or population < 1:
            raise ValueError(f"population must be a positive integer, got {population!r}")
        population = int(population)
        if evaluation != "independent":
            raise ValueError("population mode evaluates independently (evaluation='independent')")
        if inhibition != "pooled":
            raise ValueError("population mode needs the pooled inhibition (the all-to-all form would "
                             "connect the copies)")

    p = params
    input_rule = _check_rule(sym_stdp(p.stdp_input) if input_rule is None else input_rule, "input_rule")
    label_rule = _check_rule(sym_stdp(p.stdp_label) if label_rule is None else label_rule, "label_rule")
    neuron = HAO_2020_NEURON if hidden_neuron is None else hidden_neuron
    if population is not None:
        for rule in (input_rule, label_rule):
            if rule.max_delay is not None:
                raise ValueError(f"population mode: the rule {rule.name!r} has per-synapse delays "
                                 "(drawn for one network); use a rule without max_delay")
    copies = 1 if population is None else population
    method = method or p.method
    n_e, n_in, n_lab = p.n_hidden, p.n_input, p.label.n_classes
    dt = p.input.dt
    t_window = p.input.t_window
    # one clock for every per-step operation, one for every per-window one
    # (schedule.clock_args: same order of operations, less loop overhead)
    step = Clock(dt, name="step_clock")
    window = Clock(t_window, name="window_clock")
    stimulus, sample_labels = make_stimulus(chunk_size, n_in, population)
    independent = evaluation == "independent"
    if independent:
        shown_max = int(np.ceil((p.input.intensity_max - p.input.intensity_init) / p.input.intensity_step)) + 1
        if (shown_max + 1) * p.input.window_steps * 2 * n_in >= 2**31:
            raise ValueError("independent evaluation: the keys of the random numbers would overflow "
                             f"32-bit integers ({shown_max} presentations x {p.input.window_steps} steps "
                             f"x {n_in} inputs)")
    sample_ids = make_sample_ids(chunk_size, population) if independent else None
    ctrl = make_controller(p.input, sample_labels, dt, clock=step, window_clock=window, sample_ids=sample_ids,
                           population=population)
    keyed = ctrl if independent else None
    inp = make_input(n_in, p.input, input_rule.pre_traces, stimulus, ctrl, dt, clock=step, window_clock=window,
                     independent=independent, population=population, chunk_windows=chunk_size)
    pool = (make_pool(p.excitatory, dt=dt, method=method, clock=step, keyed_from=keyed, population=population)
            if inhibition == "pooled" else None)
    exc = make_excitatory(n_e * copies, p.excitatory, p.input, input_rule.post_traces + label_rule.pre_traces,
                          p.stdp_input.w_total, inhibition=inhibition, pool=pool, dt=dt, method=method,
                          clock=step, theta_decay=theta_decay, window_clock=window, neuron=neuron,
                          keyed_from=keyed)
    inh = make_inhibitory(n_e * copies, p.inhibitory, dt=dt, method=p.inhibitory_method or method, clock=step,
                          keyed_from=keyed)
    lab = make_label(p.label, p.input, label_rule.post_traces, p.stdp_label.w_total, ctrl, dt=dt, clock=step,
                     keyed_from=keyed, population=population, chunk_windows=chunk_size, n_input=n_in,
                     rule_model=label_rule.post_model, window_end=label_rule.has_window_end,
                     window_clock=window)

    objects = [ctrl, inp, exc, inh, lab]
    # static synapses
    e_to_i = Synapses(exc, inh, on_pre="ge_post += w_ei",
                      namespace={"w_ei": p.inhibitory.w_ei}, clock=step, name="hidden_inhibitory")
    e_to_i.connect(j="i")
    objects.append(e_to_i)
    if inhibition == "pooled":
        i_to_pool = Synapses(inh, pool, on_pre="g_post += w_ie",
                             namespace={"w_ie": p.inhibitory.w_ie}, clock=step, name="inhibitory_pool_syn")
        # each copy's inhibitory neurons to its own pool neuron
        i_to_pool.connect() if population is None else i_to_pool.connect(j=f"i // {n_e}")
        i_to_self = Synapses(inh, exc, on_pre="gi_self_post += w_ie",
                             namespace={"w_ie": p.inhibitory.w_ie}, clock=step, name="inhibitory_self")
        i_to_self.connect(j="i")
        objects += [pool, i_to_pool, i_to_self]
    else:
        i_to_e = Synapses(inh, exc, on_pre="gi_post += w_ie",
                          namespace={"w_ie": p.inhibitory.w_ie}, clock=step, name="inhibitory_hidden")
        i_to_e.connect(condition="i != j")
        objects.append(i_to_e)
    # the controller counts hidden spikes during presentations
    counter = Synapses(exc, ctrl, on_pre=f"n_window_post += int({PRESENTING})",
                       namespace=schedule_namespace(p.input), clock=step, name="spike_counter")
    counter.connect() if population is None else counter.connect(j=f"i // {n_e}")
    objects.append(counter)

    # plastic pathways and their scaling at the start of every window
    inp_exc = _plastic_synapses(inp, exc, input_rule, "input_hidden", step, seed=seed, blocks=population)
    exc_lab = _plastic_synapses(exc, lab, label_rule, "hidden_label", step, seed=seed, blocks=population,
                                namespace={**schedule_namespace(p.input), "n_classes": int(n_lab)})
    for post, syn in ((exc, inp_exc), (lab, exc_lab)):
        post.run_regularly(SCALING_NEURON_CODE, clock=window, when="start", order=-4,
                           name=f"{post.name}_scaling")
        syn.run_regularly(SCALING_SYNAPSE_CODE, clock=window, when="start", order=-3,
                          name=f"{syn.name}_scaling")
    objects += [inp_exc, exc_lab]
    objects += _label_rule_parts(label_rule, lab, step, n_lab)
    if independent:
        _add_rest_reset(inp, exc, inh, lab, pool, inhibition, window, input_rule, label_rule, neuron)
    if float(p.input.t_rest_jump) > 0:
        _add_rest_jump(p, method, window, inp, exc, inh, lab, pool, inhibition, theta_decay,
                       input_rule, label_rule, neuron)

    if population is None:
        seeds = [seed]
        weights = [random_initial_weights(p, seed) if initial_weights is None else initial_weights]
    else:
        seeds = list(range(population)) if seed is None else [int(s) for s in np.atleast_1d(seed)]
        if len(seeds) != population:
            raise ValueError(f"population mode: {population} seeds needed, got {len(seeds)}")
        weights = ([random_initial_weights(p, s) for s in seeds] if initial_weights is None
                   else list(initial_weights))
        if len(weights) != population:
            raise ValueError(f"population mode: {population} sets of initial weights needed, got {len(weights)}")
    w_ihs, w_hls = [], []
    for w in weights:
        w_ih = np.asarray(w["w_input_hidden"], dtype=float)
        w_hl = np.asarray(w["w_hidden_label"], dtype=float)
        if w_ih.shape != (n_in, n_e) or w_hl.shape != (n_e, n_lab):
            raise ValueError(f"initial weights have shapes {w_ih.shape}, {w_hl.shape}; "
                             f"expected {(n_in, n_e)} and {(n_e, n_lab)}")
        w_ihs.append(w_ih)
        w_hls.append(w_hl)
    # copy-major: each copy's block of synapses (pre-major within it) and of neurons
    w_ih, w_hl = np.concatenate([w.ravel() for w in w_ihs]), np.concatenate([w.ravel() for w in w_hls])
    wsum_e = np.concatenate([w.sum(axis=0) for w in w_ihs])
    wsum_l = np.concatenate([w.sum(axis=0) for w in w_hls])
    n_e, n_in, n_lab = n_e * copies, n_in * copies, n_lab * copies   # sizes of the groups
    ex, ih, lb = p.excitatory, p.inhibitory, p.label
    initial = {
        (inp_exc, "w"): w_ih, (exc_lab, "w"): w_hl,
        (exc, "v"): np.full(n_e, float(ex.v_rest)), (exc, "ge"): np.zeros(n_e),
        (exc, "theta"): np.full(n_e, float(ex.theta_init)),
    }
    initial.update({(exc, tr.name): np.zeros(n_e) for tr in label_rule.pre_traces + input_rule.post_traces})
    initial.update({
        (exc, "wsum"): wsum_e,
        (inh, "v"): np.full(n_e, float(ih.v_rest)), (inh, "ge"): np.zeros(n_e),
        (lab, "v"): np.full(n_lab, float(lb.v_rest)), (lab, "ge"): np.zeros(n_lab),
    })
    initial.update({(lab, tr.name): np.zeros(n_lab) for tr in label_rule.post_traces})
    initial[(lab, "wsum")] = wsum_l
    initial.update({(inp, tr.name): np.zeros(n_in) for tr in input_rule.pre_traces})
    # the neuron model's own state variables beyond the defaults' (e.g. Diehl & Cook's timer)
    # start at 0 and are carried from chunk to chunk like the others
    initial.update({(exc, name): np.zeros(n_e) for name in _own_state_variables(neuron)})
    initial[(ctrl, "intensity")] = np.full(copies, float(p.input.intensity_init))
    if independent:   # a sample shown again across a chunk boundary keeps its presentation count
        initial[(ctrl, "n_shown")] = np.zeros(copies, dtype=np.int64)
    if inhibition == "pooled":
        initial[(pool, "g")] = np.zeros(copies)
        initial[(exc, "gi_self")] = np.zeros(n_e)
    else:
        initial[(exc, "gi")] = np.zeros(n_e)
    for (group, var), values in initial.items():
        group.variables[var].set_value(values)

    # lean monitors: cumulative counts and the controller, once per window
    mon_kw = dict(record=True, clock=window, when="start", order=-10)
    count_mon = StateMonitor(exc, "count", name="hidden_counts", **mon_kw)
    label_mon = StateMonitor(lab, "count", name="label_counts", **mon_kw)
    ctrl_mon = StateMonitor(ctrl, ["ptr", "intensity"], name="controller_state", **mon_kw)
    objects += [count_mon, label_mon, ctrl_mon]

    net = Network(*objects)
    return SymSTDPNetwork(
        params=p, chunk_size=int(chunk_size), net=net, input=inp, excitatory=exc,
        inhibitory=inh, label=lab, controller=ctrl, pool=pool, input_hidden=inp_exc,
        hidden_label=exc_lab, stimulus=stimulus, sample_labels=sample_labels,
        count_monitor=count_mon, label_monitor=label_mon, controller_monitor=ctrl_mon,
        inhibition=inhibition, state=list(initial), sample_ids=sample_ids, evaluation=evaluation,
        population=population,
        initial_state={state_key(g, v): np.array(a, copy=True) for (g, v), a in initial.items()},
    )
