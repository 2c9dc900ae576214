"""Specialised C++ for one kind of Brian2 object: the dense all-to-all synaptic pathway.

Brian2 propagates a spike through a :class:`~brian2.Synapses` pathway in two
code objects: ``push_spikes`` copies the indices of the spiking neuron's
synapses into a spike queue, and ``synapses`` runs the ``on_pre`` code once per
queued synapse, reading and writing the postsynaptic variables through the
synapse's target index.  That is general (any connectivity, delays) but costs
an index copy, an indirect load and an indirect store per synaptic event, in
a loop the compiler cannot vectorise.

The input -> hidden pathway of the sym-STDP network is all-to-all, in
presynaptic-major order (synapse ``k = i * N_post + j``), without delays.  For
such a pathway :func:`use_dense_pathway` swaps in two templates
(``bioplastic/cpp_templates``): the spike queue is skipped, and the
``synapses`` code reads the source's spikespace and runs the same generated
``on_pre`` statements over the contiguous block of the spiking neuron's
synapses, with the target index equal to the loop index.  The statements are
Brian2's own (the templates only change the loop around them), and each target
sees the spikes in the same order as through the queue, so the results are
bit-identical (``tests/test_codegen.py``).

Only ``cpp_standalone`` uses the templates; the runtime device and
brian2cuda keep Brian2's code.
"""

from __future__ import annotations

__all__ = ["DenseAllToAllCodeObject", "use_dense_pathway"]

_CODEOBJ_CLASS = None


def _dense_codeobject_class():
    """The code object class (created on first use: it imports Brian2's standalone device)."""
    global _CODEOBJ_CLASS
    if _CODEOBJ_CLASS is None:
        from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

        class DenseAllToAllCodeObject(CPPStandaloneCodeObject):
            """cpp_standalone code object with the dense pathway templates of bioplastic."""

            templater = CPPStandaloneCodeObject.templater.derive(
                "bioplastic", templates_dir="cpp_templates")

        _CODEOBJ_CLASS = DenseAllToAllCodeObject
    return _CODEOBJ_CLASS


def __getattr__(name):  # the class is created lazily, but importable by name
    if name == "DenseAllToAllCodeObject":
        return _dense_codeobject_class()
    raise AttributeError(name)


def use_dense_pathway(pathway):
    """Generate ``pathway`` (e.g. ``syn.pre``) with the dense all-to-all templates.

    Call after ``connect()`` and before the network is built, with the
    ``cpp_standalone`` device set.

    Parameters
    ----------
    pathway : brian2.synapses.synapses.SynapticPathway

    Raises
    ------
    ValueError
        If the pathway is not a presynaptic spike pathway between whole groups,
        or the device is not ``cpp_standalone``.

    Notes
    -----
    The connectivity is only known when the binary runs (``connect()`` is
    generated code in standalone mode), so the generated code checks it once
    per run: synapse ``k`` must connect ``k // N_post`` to ``k % N_post``, with
    no delays; otherwise the binary stops with an error naming the pathway.
    """
    from brian2 import get_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
    from brian2.groups.subgroup import Subgroup

    device = get_device()
    if type(device) is not CPPStandaloneDevice:
        raise ValueError(f"the dense pathway templates are for cpp_standalone, "
                         f"not {type(device).__name__}")
    syn = pathway.synapses
    if pathway.prepost != "pre":
        raise ValueError(f"{pathway.name}: only presynaptic pathways can be dense")
    if pathway.event != "spike":
        raise ValueError(f"{pathway.name}: only spike events can be dense")
    if isinstance(syn.source, Subgroup) or isinstance(syn.target, Subgroup):
        raise ValueError(f"{pathway.name}: subgroups are not supported")
    pathway.codeobj_class = _dense_codeobject_class()
