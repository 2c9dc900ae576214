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


def from_nir(graph, dt=None):
    """Weights and decays (the dict of ``brian2_bridge.weights_of``) from a NIR graph.

    Parameters
    ----------
    graph : nir.NIRGraph or str or path-like
        A graph, or a NIR file (read with :func:`nir.read`).
    dt : float, optional
        Time step in seconds; default the graph's ``metadata["dt"]``.

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
        the discrete map cannot represent (non-zero leak or reset, threshold
        other than 1, per-neuron time constants, ...).
    """
    import nir
    from brian2 import second

    if not isinstance(graph, nir.NIRGraph):
        graph = nir.read(graph)
    unsupported = sorted({f"{name} ({type(node).__name__})" for name, node in graph.nodes.items()
                          if type(node).__name__ not in SUPPORTED_NODES})
    if unsupported:
        raise NIRImportError("unsupported NIR node types: " + ", ".join(unsupported)
                             + f"; supported: {', '.join(SUPPORTED_NODES)}")
    if dt is None:
        if "dt" not in (graph.metadata or {}):
            raise NIRImportError("the graph has no metadata['dt']; pass dt= (seconds)")
        dt = float(graph.metadata["dt"])
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    succ = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    lif = [n for n, k in kinds.items() if k == "CubaLIF"]
    li = [n for n, k in kinds.items() if k == "CubaLI"]
    if len(lif) != 1 or len(li) != 1:
        raise NIRImportError(f"expected one CubaLIF (hidden) and one CubaLI (readout) node, got "
                             f"{len(lif)} and {len(li)}")
    hidden, readout = lif[0], li[0]
    inputs = [n for n, k in kinds.items() if k == "Input"]
    if len(inputs) != 1 or len(succ.get(inputs[0], [])) != 1:
        raise NIRImportError("expected one Input node feeding one weight node")
    w_in_name = succ[inputs[0]][0]
    if succ.get(w_in_name) != [hidden]:
        raise NIRImportError(f"node {w_in_name!r} must feed the CubaLIF node {hidden!r}")
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
    if not np.isclose(_decay(r.tau_syn, dt, "readout tau_syn"), b_syn, rtol=1e-12, atol=0):
        raise NIRImportError("the readout's tau_syn must equal the hidden layer's")
    checks = [("hidden r", h.r, 1.0), ("hidden v_leak", h.v_leak, 0.0),
              ("hidden v_threshold", h.v_threshold, 1.0), ("hidden v_reset", h.v_reset, 0.0),
              ("readout r", r.r, 1.0), ("readout v_leak", r.v_leak, 0.0)]
    for what, value, expected in checks:
        if not np.allclose(value, expected, rtol=1e-12, atol=0):
            raise NIRImportError(f"{what} must be {expected} for the discrete map")
    for what, node in (("hidden", h), ("readout", r)):
        w_in_scale = np.asarray(node.w_in, dtype=np.float64) * dt / np.asarray(node.tau_syn)
        if not np.allclose(w_in_scale, 1.0, rtol=1e-9, atol=0):
            raise NIRImportError(f"{what} w_in must be tau_syn/dt (the convention of to_nir)")
    out = {"w_in": _weight(graph.nodes[w_in_name], w_in_name),
           "w_out": _weight(graph.nodes[w_out_name], w_out_name),
           "decays": (b_mem, b_syn, b_out), "dt": dt * second}
    if w_rec_name is not None:
        out["w_rec"] = _weight(graph.nodes[w_rec_name], w_rec_name)
    return out
