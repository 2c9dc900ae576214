"""Export a trained surrogate-gradient network to NIR, and import a NIR graph back.

NIR (the Neuromorphic Intermediate Representation, ``pip install nir``)
describes neurons by continuous-time equations.  The discrete map of
:mod:`bioplastic.gradient.lif` is their forward-Euler discretisation with step
``dt`` under this convention (also used by snnTorch's NIR export)::

    CubaLIF   tau_mem = dt / (1 - b_mem)   tau_syn = dt / (1 - b_syn)
              r = 1, v_leak = 0, v_threshold = 1, v_reset = 0, w_in = tau_syn / dt

so that one Euler step of ``tau_syn dI/dt = -I + w_in S`` with ``S`` spikes per
step gives ``I <- b_syn I + S`` and one of ``tau_mem dv/dt = v_leak - v + r I``
gives ``v <- b_mem v + (1 - b_mem) I``.  The readout is a ``CubaLI`` node with
``tau_mem = dt / (1 - b_out)``.  Weights are ``Linear`` nodes (NIR stores
``(post, pre)``); ``Affine`` nodes are accepted on import if their bias is zero.
``dt`` (seconds) is stored in the graph's metadata.  The max-over-time
readout is not a NIR node: it is applied to the readout's membrane by the user
(and by :func:`bioplastic.gradient.brian2_bridge.run_brian2`).

Graph layout: ``input -> w_in -> hidden -> w_out -> readout -> output``, and
with recurrence ``hidden -> w_rec -> hidden``.  The round trip
export -> import -> Brian2 gives the raster of the PyTorch network (the time
constants pass through ``dt / (1 - b)`` and back, so decays agree to rounding).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SUPPORTED_NODES", "NIRImportError", "to_nir", "from_nir"]

#: NIR node types the importer understands.
SUPPORTED_NODES = ("Input", "Output", "Linear", "Affine", "CubaLIF", "CubaLI")


class NIRImportError(ValueError):
    """A NIR graph that this module cannot turn into the discrete LIF network."""


def to_nir(weights):
    """A :class:`nir.NIRGraph` of a trained network.

    Parameters
    ----------
    weights : dict or SpikingNetwork
        A network, or the dict of :func:`bioplastic.gradient.brian2_bridge.weights_of`.

    Returns
    -------
    nir.NIRGraph
    """
    import nir

    from bioplastic.gradient.brian2_bridge import weights_of

    if not isinstance(weights, dict):
        weights = weights_of(weights)
    dt = float(weights["dt"])  # seconds
    b_mem, b_syn, b_out = (float(b) for b in weights["decays"])
    w_in = np.asarray(weights["w_in"], dtype=np.float64)
    w_out = np.asarray(weights["w_out"], dtype=np.float64)
    n_in, n_hidden = w_in.shape
    n_out = w_out.shape[1]

    def full(n, value):
        return np.full(n, value, dtype=np.float64)

    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "w_in": nir.Linear(weight=w_in.T.copy()),
        "hidden": nir.CubaLIF(tau_syn=full(n_hidden, dt / (1 - b_syn)),
                              tau_mem=full(n_hidden, dt / (1 - b_mem)), r=full(n_hidden, 1.0),
                              v_leak=full(n_hidden, 0.0), v_threshold=full(n_hidden, 1.0),
                              v_reset=full(n_hidden, 0.0), w_in=full(n_hidden, 1 / (1 - b_syn))),
        "w_out": nir.Linear(weight=w_out.T.copy()),
        "readout": nir.CubaLI(tau_syn=full(n_out, dt / (1 - b_syn)),
                              tau_mem=full(n_out, dt / (1 - b_out)), r=full(n_out, 1.0),
                              v_leak=full(n_out, 0.0), w_in=full(n_out, 1 / (1 - b_syn))),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "w_in"), ("w_in", "hidden"), ("hidden", "w_out"), ("w_out", "readout"),
             ("readout", "output")]
    if weights.get("w_rec") is not None:
        nodes["w_rec"] = nir.Linear(weight=np.asarray(weights["w_rec"], dtype=np.float64).T.copy())
        edges += [("hidden", "w_rec"), ("w_rec", "hidden")]
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"dt": dt, "source": "bioplastic.gradient", "readout": "max over time"})


def _uniform(values, what):
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values == values[0]):
        raise NIRImportError(f"{what} must be the same for every neuron (one decay per layer)")
    return float(values[0])


def _weight(node, name):
    kind = type(node).__name__
    if kind == "Affine" and np.any(np.asarray(node.bias) != 0):
        raise NIRImportError(f"node {name!r}: Affine with a non-zero bias is not supported")
    if kind not in ("Linear", "Affine"):
        raise NIRImportError(f"node {name!r} must be Linear or Affine, got {kind}")
    return np.asarray(node.weight, dtype=np.float64).T.copy()


def _decay(tau, dt, what):
    tau = _uniform(tau, what)
    if not tau >= dt:
        raise NIRImportError(f"{what} = {tau} s is shorter than dt = {dt} s")
    return 1.0 - dt / tau


def _per_neuron(value, n, what):
    value = np.asarray(value, dtype=np.float64).ravel()
    if value.size not in (1, n):
        raise NIRImportError(f"{what} has {value.size} entries, expected 1 or {n}")
    return np.broadcast_to(value, (n,))


def _input_scale(node, n, dt, what, threshold=True):
    """Factor by which the weights into a CubaLIF/CubaLI node are scaled to the discrete map.

    One Euler step of the node's equations gives ``I <- b_syn I + (dt/tau_syn) w_in S`` and
    ``v <- b_mem v + (1 - b_mem) r I``, spiking at ``v > v_threshold``.  With ``v_leak = 0``
    and ``v_reset = 0`` every term is linear in the weights, so the node is the map's
    (``r = 1``, unit synaptic input, threshold 1) with its incoming weights multiplied by
    ``r w_in (dt / tau_syn) / v_threshold``, per neuron.  Our own export has factor 1;
    snnTorch's (``r = tau_mem / dt``, ``w_in = tau_syn / dt``) has ``1 / ((1 - b_mem) theta)``.
    """
    scale = (_per_neuron(node.r, n, f"{what} r") * _per_neuron(node.w_in, n, f"{what} w_in")
             * dt / _per_neuron(node.tau_syn, n, f"{what} tau_syn"))
    if threshold:
        theta = _per_neuron(node.v_threshold, n, f"{what} v_threshold")
        if not np.all(theta > 0):
            raise NIRImportError(f"{what} v_threshold must be positive")
        scale = scale / theta
    if not np.all(np.isfinite(scale)) or not np.all(scale > 0):
        raise NIRImportError(f"{what}: r * w_in / v_threshold must be positive and finite")
    # our own export: the factor is 1 up to the rounding of tau_syn / dt and back
    return np.where(np.isclose(scale, 1.0, rtol=1e-9, atol=0), 1.0, scale)


def from_nir(graph, dt=None, spiking_readout="refuse"):
    """Weights and decays (the dict of ``brian2_bridge.weights_of``) from a NIR graph.

    Graphs written by :func:`to_nir` and by snnTorch's ``export_to_nir`` (an
    ``nn.Sequential`` of ``Linear`` and ``snn.Synaptic`` layers with
    ``reset_mechanism="zero"``) are understood.  NIR describes continuous
    time; the imported network is the forward-Euler discretisation with step
    *dt* (the map of :mod:`bioplastic.gradient.lif`).  Per-neuron ``r``,
    ``w_in`` and ``v_threshold`` are folded into the incoming weights (the
    map has ``r = 1`` and threshold 1), which leaves every spike where it was.

    An snnTorch network maps onto ours exactly: its hidden spikes at step
    ``n`` are ours at ``n + 2`` (our map passes an input spike to the current
    and then to the membrane, one step each), its output layer's membrane
    (``reset_mechanism="none"``) at step ``n`` is our readout at index ``n + 3``.

    Parameters
    ----------
    graph : nir.NIRGraph or str or path-like
        A graph, or a NIR file (read with :func:`nir.read`).
    dt : float or Quantity, optional
        Time step (seconds if a float); default the graph's
        ``metadata["dt"]``.  snnTorch writes no ``dt`` and assumes 1e-4 s in
        its export (``tau = dt / (1 - beta)``): pass ``dt=1e-4``.
    spiking_readout : {"refuse", "membrane"}
        Our readout is non-spiking (``CubaLI``).  A graph whose last layer
        spikes (``CubaLIF``, e.g. snnTorch's output ``Synaptic``) is refused,
        unless ``"membrane"``: then that layer's membrane is the readout and
        its threshold and reset are dropped (as snnTorch's
        ``reset_mechanism="none"`` output layer).

    Returns
    -------
    dict
        ``w_in``, ``w_out``, optional ``w_rec``, ``decays``, ``dt`` (a Brian2
        quantity): ready for :func:`bioplastic.gradient.brian2_bridge.run_brian2`.

    Raises
    ------
    NIRImportError
        For node types other than :data:`SUPPORTED_NODES` (all are named), a
        layout other than the one in the module docstring, or parameters that
        the discrete map cannot represent (non-zero leak or reset,
        per-neuron time constants, ...).
    """
    import nir
    from brian2 import Quantity, second

    if spiking_readout not in ("refuse", "membrane"):
        raise ValueError(f"spiking_readout must be 'refuse' or 'membrane', got {spiking_readout!r}")
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.read(graph)
    unsupported = sorted({f"{name} ({type(node).__name__})" for name, node in graph.nodes.items()
                          if type(node).__name__ not in SUPPORTED_NODES})
    if unsupported:
        hint = ("; an snnTorch Leaky layer is a LIF node: use snn.Synaptic (CubaLIF)"
                if any(u.endswith("(LIF)") for u in unsupported) else "")
        raise NIRImportError("unsupported NIR node types: " + ", ".join(unsupported)
                             + f"; supported: {', '.join(SUPPORTED_NODES)}" + hint)
    if dt is None:
        if "dt" not in (graph.metadata or {}):
            raise NIRImportError("the graph has no metadata['dt']; pass dt= (seconds; snnTorch's "
                                 "export_to_nir assumes dt = 1e-4)")
        dt = float(graph.metadata["dt"])
    elif isinstance(dt, Quantity):
        if not dt.dim == second.dim:
            raise NIRImportError(f"dt must be a time, got {dt}")
        dt = float(dt / second)
    else:
        dt = float(dt)
    if not dt > 0:
        raise NIRImportError(f"dt must be positive, got {dt}")
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    succ = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    inputs = [n for n, k in kinds.items() if k == "Input"]
    if len(inputs) != 1 or len(succ.get(inputs[0], [])) != 1:
        raise NIRImportError("expected one Input node feeding one weight node")
    w_in_name = succ[inputs[0]][0]
    hidden_next = succ.get(w_in_name, [])
    if len(hidden_next) != 1 or kinds.get(hidden_next[0]) != "CubaLIF":
        raise NIRImportError(f"node {w_in_name!r} must feed one CubaLIF node (the hidden layer)")
    hidden = hidden_next[0]
    lif = [n for n, k in kinds.items() if k == "CubaLIF" and n != hidden]
    li = [n for n, k in kinds.items() if k == "CubaLI"]
    if len(li) == 1 and not lif:
        readout = li[0]
    elif not li and len(lif) == 1:
        if spiking_readout != "membrane":
            raise NIRImportError(
                f"the readout {lif[0]!r} is a spiking CubaLIF node; our readout is non-spiking "
                "(CubaLI). Pass spiking_readout='membrane' to read its membrane (threshold and "
                "reset dropped)")
        readout = lif[0]
    else:
        raise NIRImportError(f"expected one CubaLIF (hidden) and one CubaLI (readout) node, got "
                             f"{len(lif) + 1} and {len(li)}")
    w_out_name, w_rec_name = None, None
    for name in succ.get(hidden, []):
        targets = succ.get(name, [])
        if targets == [readout]:
            w_out_name = name
        elif targets == [hidden]:
            w_rec_name = name
        else:
            raise NIRImportError(f"node {name!r} after the hidden layer goes to {targets}")
    if w_out_name is None:
        raise NIRImportError("no weight node from the hidden layer to the readout")

    h, r = graph.nodes[hidden], graph.nodes[readout]
    b_mem = _decay(h.tau_mem, dt, "hidden tau_mem")
    b_syn = _decay(h.tau_syn, dt, "hidden tau_syn")
    b_out = _decay(r.tau_mem, dt, "readout tau_mem")
    if not np.isclose(_decay(r.tau_syn, dt, "readout tau_syn"), b_syn, rtol=1e-6, atol=0):
        raise NIRImportError("the readout's tau_syn must equal the hidden layer's")
    for what, node in (("hidden", h), ("readout", r)):
        if not np.all(np.asarray(node.v_leak) == 0):
            raise NIRImportError(f"{what} v_leak must be 0 for the discrete map")
    if not np.all(np.asarray(h.v_reset) == 0):
        raise NIRImportError("hidden v_reset must be 0 for the discrete map")
    w_in = _weight(graph.nodes[w_in_name], w_in_name)
    w_out = _weight(graph.nodes[w_out_name], w_out_name)
    n_hidden, n_out = w_in.shape[1], w_out.shape[1]
    scale_h = _input_scale(h, n_hidden, dt, "hidden")
    scale_o = _input_scale(r, n_out, dt, "readout", threshold=False)
    out = {"w_in": w_in * scale_h, "w_out": w_out * scale_o,
           "decays": (b_mem, b_syn, b_out), "dt": dt * second}
    if w_rec_name is not None:
        out["w_rec"] = _weight(graph.nodes[w_rec_name], w_rec_name) * scale_h
    return out
