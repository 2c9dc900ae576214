"""Specialised C++ templates for cpp_standalone: dense all-to-all synapses, two-pass thresholds.

Brian2 propagates a spike through a :class:`~brian2.Synapses` pathway in two
code objects: ``push_spikes`` copies the indices of the spiking neuron's
synapses into a spike queue, and ``synapses`` runs the ``on_pre`` code once per
queued synapse, reading and writing the postsynaptic variables through the
synapse's target index.  That is general (any connectivity, delays) but costs
an index copy, an indirect load and an indirect store per synaptic event, in
a loop the compiler cannot vectorise.

The two plastic pathways of the sym-STDP network are all-to-all, in
presynaptic-major order (synapse ``k = i * N_post + j``), without delays.  For
such synapses :func:`use_dense_synapses` swaps in three templates
(``bioplastic/symstdp/device/templates``): the spike queue is skipped, the ``synapses``
code reads the source's spikespace and runs the same generated ``on_pre``
statements over the contiguous row of the spiking neuron's synapses, and a
per-synapse ``run_regularly`` (the weight scaling)
loops over rows and columns instead of loading each synapse's target index.
The statements are Brian2's own (the templates only change the loop around
them), and each neuron sees the spikes in the same order as through the
queue, so the results are bit-identical (``tests/test_codegen.py``).

Brian2's threshold template evaluates a neuron's condition and appends it to
the spikespace in one loop with a branch, which is not vectorised; with
:func:`use_two_pass_threshold` the conditions are computed in a vectorised
loop first and the spiking neurons collected in a second one (same spikes, in
the same order).  The Poisson input group fires a few of its 784 neurons per
step; :func:`use_calendar_threshold` files each input neuron under the step of
its next spike and tests only the neurons due (same spikes, same order).

Brian2's main loop (``network.cpp``) reads the process's CPU clock (a system
call) and refills a ``std::set`` of due clocks at every time step;
:func:`lean_network_loop` generates it from a template that keeps the due
clocks in a small vector and reads the clock only where a report or a maximum
run time needs it (the same objects run in the same order).

Only ``cpp_standalone`` uses the templates; the runtime device and
brian2cuda keep Brian2's code.
"""

from __future__ import annotations

import contextlib
import re

__all__ = ["BioplasticCodeObject", "dense_synapses_refusal", "lean_network_loop", "threshold_refusal",
           "use_calendar_threshold", "use_dense_synapses", "use_two_pass_threshold"]

_CODEOBJ_CLASS = None


def _codeobject_class():
    """The code object class (created on first use: it imports Brian2's standalone device)."""
    global _CODEOBJ_CLASS
    if _CODEOBJ_CLASS is None:
        from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

        class BioplasticCodeObject(CPPStandaloneCodeObject):
            """cpp_standalone code object whose templater finds bioplastic's templates first."""

            templater = CPPStandaloneCodeObject.templater.derive(
                "bioplastic.symstdp.device", templates_dir="templates")

        _CODEOBJ_CLASS = BioplasticCodeObject
    return _CODEOBJ_CLASS


def __getattr__(name):  # the class is created lazily, but importable by name
    if name == "BioplasticCodeObject":
        return _codeobject_class()
    raise AttributeError(name)


@contextlib.contextmanager
def lean_network_loop(device):
    """While active, ``device.build`` writes ``network.cpp`` from bioplastic's template.

    ``device`` is Brian2's ``CPPStandaloneDevice``.  The template's main loop runs
    the same code objects in the same order as Brian2's (bit-identical results)
    without a heap allocation and a system call per time step.
    """
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    if not isinstance(device, CPPStandaloneDevice) or type(device) is not CPPStandaloneDevice:
        raise ValueError("lean_network_loop is for Brian2's cpp_standalone device only, "
                         f"not {type(device).__name__}")
    templater = _codeobject_class().templater

    def generate_network_source(writer, compiler):
        maximum_run_time = device._maximum_run_time
        if maximum_run_time is not None:
            maximum_run_time = float(maximum_run_time)
        writer.write("network.*", templater.network(None, None, maximum_run_time=maximum_run_time))

    device.generate_network_source = generate_network_source
    try:
        yield device
    finally:
        del device.generate_network_source


def _written(code):
    """Names assigned to in Brian2 abstract code (``x = ...``, ``x += ...``)."""
    names = set()
    for line in str(code).splitlines():
        m = re.match(r"\s*([A-Za-z_]\w*)\s*(?:[-+*/]|//|\*\*)?=(?!=)", line)
        if m:
            names.add(m.group(1))
    return names


def use_dense_synapses(synapses, copies=1):
    """Generate an all-to-all ``synapses`` object with the dense templates.

    Its presynaptic pathway (``on_pre``) and its per-synapse operations
    (``run_regularly``) are generated by the templates in
    ``bioplastic/symstdp/device/templates``; everything else is Brian2's code.  Call after
    ``connect()`` (without arguments) and before the network is built, with the
    ``cpp_standalone`` device set.

    Parameters
    ----------
    synapses : brian2.Synapses
    copies : int
        Population mode: the synapses connect ``copies`` equal blocks of the
        source each to its own block of the target, all-to-all within the
        block (synapse ``k`` connects ``k // n`` to ``(k // n // n_pre) * n + k % n``,
        ``n``, ``n_pre`` the target's and source's neurons per copy).

    Raises
    ------
    ValueError
        If the device is not ``cpp_standalone``, the synapses connect subgroups,
        or a pathway is triggered by an event other than spikes.

    Notes
    -----
    The connectivity is only known when the binary runs (``connect()`` is
    generated code in standalone mode), so the generated code checks it once
    per run: synapse ``k`` must connect ``k // N_post`` to ``k % N_post``, with
    no delays; otherwise the binary stops with an error naming the object.
    """
    from brian2.groups.group import CodeRunner

    _require_cpp_standalone()
    refusal = dense_synapses_refusal(synapses)
    if refusal:
        raise ValueError(refusal)
    if int(copies) != copies or copies < 1 or len(synapses.source) % copies or len(synapses.target) % copies:
        raise ValueError(f"{synapses.name}: {copies!r} copies do not divide its source and target")
    # read by the templates (an attribute of our own: Brian2's setattr takes state variables only)
    object.__setattr__(synapses, "_bioplastic_copies", int(copies))
    codeobj_class = _codeobject_class()
    for pathway in synapses._pathways:
        if pathway.prepost == "pre":
            pathway.codeobj_class = codeobj_class
    for obj in synapses.contained_objects:
        if isinstance(obj, CodeRunner) and obj.template == "stateupdate" and obj.active:
            obj.codeobj_class = codeobj_class


def dense_synapses_refusal(synapses):
    """Why the dense templates cannot generate ``synapses``, or None if they can.

    The conditions (besides all-to-all, presynaptic-major connectivity without
    delays, which the generated code checks when it runs): no subgroups, only
    spike-triggered pathways, and no sums over synapses into presynaptic
    variables on a presynaptic spike, or into pre- or postsynaptic variables
    in a per-synapse operation (the vectorised row loops would reorder them).
    """
    from brian2.groups.group import CodeRunner
    from brian2.groups.subgroup import Subgroup

    if isinstance(synapses.source, Subgroup) or isinstance(synapses.target, Subgroup):
        return f"{synapses.name}: subgroups are not supported"
    for pathway in synapses._pathways:
        if pathway.event != "spike":
            return f"{pathway.name}: only spike-triggered pathways can be dense"
        if "delay" in pathway.variables and not pathway.variables["delay"].scalar:
            return f"{pathway.name}: per-synapse delays (the dense templates take none)"
        # a postsynaptic spike updates a column: the compiler may vectorise the
        # sums into postsynaptic variables along it (-ffast-math reorders them),
        # which would change their rounding; so only presynaptic pathways
        if pathway.prepost == "pre":
            # the same holds for a write into presynaptic variables along a row
            why = _reduction(pathway.name, pathway.code, ("_pre",))
            if why:
                return why
    for obj in synapses.contained_objects:
        if isinstance(obj, CodeRunner) and obj.template == "stateupdate" and obj.active:
            why = _reduction(obj.name, obj.abstract_code, ("_pre", "_post"))
            if why:
                return why
    return None


def use_two_pass_threshold(group):
    """Generate ``group``'s spike threshold with the two-pass template of bioplastic.

    The conditions of all neurons are computed in one branch-free
    (vectorised) loop, the spiking neurons collected in a second one; same
    spikes in the same order as Brian2's template (``templates/threshold.cpp``).

    Parameters
    ----------
    group : brian2.NeuronGroup
        With a ``threshold`` that draws no random numbers.

    Raises
    ------
    ValueError
        If the device is not ``cpp_standalone``, the group has no threshold, or
        its threshold calls ``rand()`` / ``randn()``.
    """
    _require_cpp_standalone()
    refusal = threshold_refusal(group)
    if refusal:
        raise ValueError(refusal)
    group.thresholder["spike"].codeobj_class = _codeobject_class()


def threshold_refusal(group):
    """Why the two-pass threshold template cannot generate ``group``'s threshold, or None."""
    thresholder = getattr(group, "thresholder", {}).get("spike")
    if thresholder is None:
        return f"{group.name} has no spike threshold"
    if re.search(r"\brandn?\(", str(group.events["spike"])):
        return f"{group.name}: the threshold draws random numbers; keep Brian2's template"
    return None


def use_calendar_threshold(group):
    """Generate the input ``group``'s spike threshold with the calendar template.

    The group must have bioplastic's input threshold
    (:data:`bioplastic.symstdp.neurons.INPUT_THRESHOLD`: a neuron fires only at the
    time step its ``next_spike`` names, while a sample is presented) and a
    ``next_spike`` written only by its reset and by the window-start code
    (:func:`bioplastic.symstdp.neurons.make_input`).  Instead of testing every neuron
    at every step, the template (``templates/threshold_calendar.cpp``)
    files each neuron under the step of its next spike within the window and
    tests only the neurons due, with Brian2's own condition code and in index
    order: the same spikes in the same order (``tests/test_codegen.py``).

    Parameters
    ----------
    group : brian2.NeuronGroup

    Raises
    ------
    ValueError
        If the device is not ``cpp_standalone`` or the group's threshold is not
        the input threshold.
    """
    from bioplastic.symstdp.neurons import INPUT_THRESHOLD

    _require_cpp_standalone()
    thresholder = getattr(group, "thresholder", {}).get("spike")
    if thresholder is None:
        raise ValueError(f"{group.name} has no spike threshold")
    condition = str(group.events["spike"]).strip()
    if condition != INPUT_THRESHOLD or "next_spike" not in group.variables:
        raise ValueError(f"{group.name}: the calendar threshold is for the input group's condition "
                         f"{INPUT_THRESHOLD!r}, not {condition!r}")
    thresholder.codeobj_class = _codeobject_class()
    thresholder.template = "threshold_calendar"


def _require_cpp_standalone():
    from brian2 import get_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    device = get_device()
    if type(device) is not CPPStandaloneDevice:
        raise ValueError(f"the bioplastic templates are for cpp_standalone, "
                         f"not {type(device).__name__}")


def _reduction(name, code, suffixes):
    sums = sorted(n for n in _written(code) if n.endswith(suffixes))
    if sums:
        return (f"{name}: writes {', '.join(sums)} (a sum over synapses), which the dense "
                "templates do not generate")
    return None
