"""A trained surrogate-gradient network as a Brian2 model, spike for spike.

:func:`build_network` writes the discrete map of :mod:`bioplastic.gradient.lif`
(Zenke & Vogels 2021, eq. 4.1) as Brian2 equations: it is the same map, not a
re-integration of the continuous ODEs (which would let the current decay
within a step).  Each neuron holds ``U`` and ``I`` as plain state variables;
the update is explicit code with the precomputed decay factors, run in Brian2's
schedule so that each time step ``n`` does, in order::

    thresholds (order 0)   S[n] = U[n] > 1                   (on U[n], before any update)
    thresholds (order 1)   U <- b_mem U + (1 - b_mem) I       (run_regularly: U[n+1] before reset)
                           I <- b_syn I
    synapses               I += W S_in[n] + V S[n]            (no delay: I[n+1])
    resets                 U <- 0 where S[n]                  (the multiplicative reset)

The readout group does the same without threshold; its ``U_out`` is recorded
at the end of step ``n`` (= ``U_out[n+1]``), and the logits are its maximum.

A batch of ``B`` trials runs in one simulation of ``nb_steps`` steps as ``B``
independent copies of the network (block-diagonal synapses), fed by one
:class:`~brian2.SpikeGeneratorGroup`.  Hidden neuron ``b * n_hidden + k`` is
neuron ``k`` of trial ``b``.

Equality with PyTorch.  Both sides compute in float64 with the same
expressions.  Synaptic inputs that arrive in the same step are summed in a
different order (PyTorch: a matrix product; Brian2: one addition per
synapse), so membrane values agree to rounding (about 1e-15), and the spike
rasters are identical unless a potential lands within rounding of the
threshold; the tests check exact raster equality.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BridgeResult", "weights_of", "build_network", "run_brian2", "torch_raster"]

HIDDEN_EQS = """
U : 1
I : 1
"""
READOUT_EQS = """
U_out : 1
I_out : 1
"""


class BridgeResult(NamedTuple):
    """Spikes and readout of a batch of trials.

    Attributes
    ----------
    spikes : numpy.ndarray
        ``int64`` array ``(n_spikes, 3)`` of ``(trial, step, neuron)`` rows,
        sorted lexicographically.
    readout : numpy.ndarray
        ``(trials, nb_steps, n_out)``: ``U_out[n + 1]`` for ``n = 0 .. T-1``.
    logits : numpy.ndarray
        ``(trials, n_out)``: maximum of *readout* over time.
    """

    spikes: np.ndarray
    readout: np.ndarray
    logits: np.ndarray


def weights_of(model):
    """Weights, decays and sizes of a :class:`~bioplastic.gradient.lif.SpikingNetwork`.

    Returns
    -------
    dict
        ``w_in`` (n_in, n_hidden), ``w_out`` (n_hidden, n_out), optional
        ``w_rec`` (n_hidden, n_hidden), as float64 arrays; and ``decays``
        (b_mem, b_syn, b_out) and ``dt`` (a Brian2 quantity).
    """
    out = model.weights()
    out["decays"] = tuple(model.decays)
    out["dt"] = model.params.dt
    return out


def _sorted_events(trial, step, neuron):
    events = np.stack([np.asarray(trial, dtype=np.int64), np.asarray(step, dtype=np.int64),
                       np.asarray(neuron, dtype=np.int64)], axis=1).reshape(-1, 3)
    order = np.lexsort((events[:, 2], events[:, 1], events[:, 0]))
    return events[order]


def _block_diagonal(w, n_trials):
    """Pre/post indices and weights of *n_trials* copies of the dense matrix *w* (pre, post)."""
    n_pre, n_post = w.shape
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    offsets = np.arange(n_trials)[:, None]
    i = (offsets * n_pre + pre.ravel()[None]).ravel()
    j = (offsets * n_post + post.ravel()[None]).ravel()
    return i, j, np.tile(w.ravel(), n_trials)


def build_network(weights, x):
    """A Brian2 ``Network`` running the discrete LIF map on the input batch *x*.

    Parameters
    ----------
    weights : dict
        As returned by :func:`weights_of`: ``w_in``, ``w_out``, optional
        ``w_rec``, ``decays`` (b_mem, b_syn, b_out), ``dt``.
    x : array_like
        Input spikes, ``(trials, nb_steps, n_in)``, 0/1 (at most one spike
        per unit and step).

    Returns
    -------
    net : brian2.Network
    handles : dict
        ``input``, ``hidden``, ``readout`` (groups), ``spikes`` (SpikeMonitor
        of the hidden layer), ``trace`` (StateMonitor of ``U_out``),
        ``nb_steps``, ``n_trials``.
    """
    import brian2 as b2

    w_in = np.asarray(weights["w_in"], dtype=np.float64)
    w_out = np.asarray(weights["w_out"], dtype=np.float64)
    w_rec = weights.get("w_rec")
    b_mem, b_syn, b_out = (float(v) for v in weights["decays"])
    dt = weights["dt"]
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != w_in.shape[0]:
        raise ValueError(f"x must have shape (trials, steps, {w_in.shape[0]}), got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("x must hold 0/1 spikes")
    n_trials, nb_steps, n_in = x.shape
    n_hidden, n_out = w_in.shape[1], w_out.shape[1]

    trial, step, unit = np.nonzero(x)
    inputs = b2.SpikeGeneratorGroup(n_trials * n_in, trial * n_in + unit, step * dt, dt=dt,
                                    name="inputs")
    namespace = {"b_mem": b_mem, "c_mem": 1.0 - b_mem, "b_syn": b_syn,
                 "b_out": b_out, "c_out": 1.0 - b_out}
    hidden = b2.NeuronGroup(n_trials * n_hidden, HIDDEN_EQS, threshold="U > 1", reset="U = 0",
                            dt=dt, namespace=namespace, name="hidden")
    # U[n+1] from U[n] and I[n], after the threshold has looked at U[n]
    hidden.run_regularly("U = b_mem*U + c_mem*I\nI = b_syn*I", when="thresholds", order=1,
                         name="hidden_map")
    readout = b2.NeuronGroup(n_trials * n_out, READOUT_EQS, dt=dt, namespace=namespace,
                             name="readout")
    readout.run_regularly("U_out = b_out*U_out + c_out*I_out\nI_out = b_syn*I_out",
                          when="thresholds", order=1, name="readout_map")
    objects = [inputs, hidden, readout]
    for name, source, target, w, var in (("syn_in", inputs, hidden, w_in, "I"),
                                         ("syn_rec", hidden, hidden, w_rec, "I"),
                                         ("syn_out", hidden, readout, w_out, "I_out")):
        if w is None:
            continue
        w = np.asarray(w, dtype=np.float64)
        syn = b2.Synapses(source, target, "w : 1", on_pre=f"{var}_post += w", dt=dt, name=name)
        i, j, values = _block_diagonal(w, n_trials)
        syn.connect(i=i, j=j)
        syn.w = values
        objects.append(syn)
    spikes = b2.SpikeMonitor(hidden, name="hidden_spikes")
    trace = b2.StateMonitor(readout, "U_out", record=True, when="end", dt=dt, name="readout_trace")
    objects += [spikes, trace]
    net = b2.Network(*objects)
    return net, {"input": inputs, "hidden": hidden, "readout": readout, "spikes": spikes,
                 "trace": trace, "nb_steps": nb_steps, "n_trials": n_trials,
                 "n_hidden": n_hidden, "n_out": n_out, "dt": dt}


def run_brian2(weights, x, device="runtime", directory=None, target="numpy", build=None,
               weights_fn=None):
    """Run the Brian2 version of a network on the batch *x* and return its raster.

    Parameters
    ----------
    weights : dict or SpikingNetwork
        A trained network, or the dict of :func:`weights_of`.
    x : array_like or torch.Tensor
        Input spikes ``(trials, nb_steps, n_in)``.
    device : {"runtime", "cpp_standalone"}
        Brian2 device.  Brian2's global device is reset to ``runtime`` (and
        float64) afterwards.
    directory : str or path-like, optional
        Build directory for ``cpp_standalone`` (default: a temporary one).
    target : {"numpy", "cython"}
        Code generation target of the runtime device.
    build : callable, optional
        ``build(weights, x) -> (net, handles)`` with the handles of
        :func:`build_network` (default); models that extend the map (e.g.
        :mod:`bioplastic.gradient.adaptive.network`) pass their own.
    weights_fn : callable, optional
        Turns a model into the *weights* dict (default :func:`weights_of`).

    Returns
    -------
    BridgeResult
    """
    from bioplastic.symstdp.device.engine import brian2_device

    if not isinstance(weights, dict):
        weights = (weights_fn or weights_of)(weights)
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    with brian2_device(device, directory, target):
        net, h = (build or build_network)(weights, x)
        net.run(h["nb_steps"] * h["dt"], namespace={})
        idx = np.asarray(h["spikes"].i[:], dtype=np.int64)
        steps = np.rint(np.asarray(h["spikes"].t[:] / h["dt"])).astype(np.int64)
        trial, neuron = np.divmod(idx, h["n_hidden"])
        u_out = np.asarray(h["trace"].U_out[:])  # (trials * n_out, steps)
    readout = u_out.reshape(h["n_trials"], h["n_out"], h["nb_steps"]).transpose(0, 2, 1)
    return BridgeResult(_sorted_events(trial, steps, neuron), readout, readout.max(axis=1))


def torch_raster(model, x):
    """The PyTorch forward pass of *model* on *x* as a :class:`BridgeResult` (float64)."""
    import torch

    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(x) if not hasattr(x, "detach") else x))
    spikes = out.spikes.cpu().numpy()
    trial, step, neuron = np.nonzero(spikes)
    readout = out.readout.to(torch.float64).cpu().numpy()
    return BridgeResult(_sorted_events(trial, step, neuron), readout, readout.max(axis=1))
