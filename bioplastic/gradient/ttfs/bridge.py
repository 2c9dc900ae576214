"""A trained TTFS network as Brian2 equations.

Each layer is a :class:`~brian2.NeuronGroup` with the equations of the model
in :mod:`.neuron` (``v`` and ``I`` unitless; one model time unit is
``time_unit``, 1 ms by default)::

    dv/dt = I / time_unit : 1      (Euler is exact: I is constant between spikes)
    I : 1                          (summed step currents)
    fired : boolean                (one spike per neuron and sample)

    threshold:  v >= v_th and not fired
    reset:      fired = True       (v keeps ramping, harmlessly)
    synapses:   on_pre: I_post += w

Input spikes come from one :class:`~brian2.SpikeGeneratorGroup`.  Many samples
run in one simulation, one after the other: sample ``s`` occupies
``[s * T_s, (s + 1) * T_s)`` with ``T_s = t_max + 2 dt`` (rounded up to whole
steps), and a ``run_regularly`` operation at the start of each period sets
``v = 0, I = 0, fired = False`` in every layer.  Spikes later than ``t_max``
after their sample's start are discarded (they cannot influence any spike
inside the window).

Agreement with the exact model (plain mode).  Brian2 evaluates ``v`` on the
time grid and detects the crossing at the first grid point at or after it; an
input spike at ``t_j`` is delivered at the start of its time step
(``floor(t_j / dt)``).  Given the presynaptic spikes Brian2 actually
delivered, every Brian2 spike is therefore within one step after the exact
crossing (:func:`compare` checks this layer by layer).  End to end, the
shifts of the earlier layers add up, weighted by mixed-sign weights, so some
spikes move by more than one step.

Precise mode (``precise=True``).  The standard correction for events that fall
between grid points (as in precise-spike-timing simulators): a spike carries
``lag``, the time from its exact crossing to the end of the step in which it
was detected (for the input layer, read from a ``TimedArray`` of the exact
input times; for the other layers ``lag = (v - v_th) / I``, exact because
``v`` is a ramp within the step), and the synapse adds what the ramp would
have built up since then::

    on_pre:  I_post += w
             v_post += w * lag_pre

so ``v`` on the grid equals the exact potential, no error accumulates across
layers, each spike is still detected within one step of its crossing, and
``end of that step - lag`` recovers the crossing time itself.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TTFS_EQS", "weights_of", "build_network", "run_brian2", "compare"]

TTFS_EQS = """
dv/dt = I / time_unit : 1
I : 1
fired : boolean
"""

# precise mode: the input layer reads its spike times from a TimedArray (one
# row per sample) and reports how long ago, at the end of the step, it fired
INPUT_EQS_PRECISE = """
t_spike = input_times(t, i) : 1
lag = (t - t_start + dt) / time_unit - t_spike : 1
t_start : second (shared)
fired : boolean
"""


def weights_of(model):
    """Weights and constants of a :class:`~.network.TTFSNetwork`.

    Returns
    -------
    dict
        ``weights`` (list of float64 arrays ``(n_out, n_in)``), ``t_max``,
        ``v_th``.
    """
    return {"weights": [w.detach().cpu().numpy().astype(np.float64) for w in model.weights],
            "t_max": float(model.t_max), "v_th": float(model.v_th)}


def _steps(t_max, dt):
    """Steps of one sample period: the window plus two steps of margin."""
    return int(math.ceil(t_max / dt - 1e-9)) + 2


def build_network(weights, t_input, *, t_max, v_th=1.0, dt, time_unit=None, precise=False):
    """Brian2 objects of a TTFS network fed with a batch of input spike times.

    Parameters
    ----------
    weights : list of numpy.ndarray
        ``(n_out, n_in)`` weights of each layer, input first.
    t_input : numpy.ndarray
        ``(n_samples, n_in)`` input spike times in model units (``inf`` = no
        spike); times at or after ``t_max`` are dropped.
    t_max, v_th : float
        Window end (model units) and threshold.
    dt : float
        Time step in model units.
    time_unit : brian2.Quantity, optional
        One model time unit (default 1 ms).
    precise : bool
        Add the sub-step correction (module docstring, "Precise mode").

    Returns
    -------
    net : brian2.Network
    handles : dict
        ``monitors`` (one SpikeMonitor per layer), ``groups``, ``period``
        (steps per sample), ``dt`` (Brian2 quantity), ``n_samples``,
        ``duration`` (Brian2 quantity).
    """
    import brian2 as b2

    if time_unit is None:
        time_unit = b2.ms
    t_input = np.asarray(t_input, dtype=np.float64)
    n_samples, n_in = t_input.shape
    if weights[0].shape[1] != n_in:
        raise ValueError(f"input has {n_in} neurons, the first layer expects {weights[0].shape[1]}")
    period = _steps(t_max, dt)
    dt_q = dt * time_unit
    namespace = {"time_unit": time_unit, "v_th": v_th}
    if precise:
        # no spike: a time far beyond the window
        table = np.where(np.isfinite(t_input) & (t_input < t_max), t_input, 1e9 * t_max)
        namespace["input_times"] = b2.TimedArray(table, dt=period * dt_q)
        source = b2.NeuronGroup(n_in, INPUT_EQS_PRECISE, dt=dt_q, name="ttfs_input",
                                threshold="(t - t_start + dt) / time_unit >= t_spike and not fired",
                                reset="fired = True", namespace=namespace)
        source.run_regularly("t_start = t\nfired = False", dt=period * dt_q, when="start",
                             name="ttfs_input_reset")
    else:
        sample, neuron = np.nonzero(np.isfinite(t_input) & (t_input < t_max))
        # whole steps: the sample offset plus the step the spike falls in
        # (SpikeGeneratorGroup bins a time t into floor(t / dt) as well)
        bins = sample * period + np.floor(t_input[sample, neuron] / dt + 1e-9).astype(np.int64)
        order = np.lexsort((neuron, bins))
        source = b2.SpikeGeneratorGroup(n_in, neuron[order], bins[order] * dt_q, dt=dt_q, name="ttfs_input")
    objects = [source]
    groups, monitors = [], []
    pre = source
    reset_code = "v = 0\nI = 0\nfired = False"
    eqs = TTFS_EQS + ("lag : 1\n" if precise else "")
    on_pre = "I_post += w" + ("\nv_post += w * lag_pre" if precise else "")
    for layer, w in enumerate(weights):
        n_out = w.shape[0]
        g = b2.NeuronGroup(n_out, eqs, threshold="v >= v_th and not fired",
                           reset="fired = True", method="euler", dt=dt_q, namespace=namespace,
                           name=f"ttfs_layer{layer + 1}")
        g.run_regularly(reset_code, dt=period * dt_q, when="start", name=f"ttfs_layer{layer + 1}_reset")
        if precise:
            # after the threshold test, before any synapse changes I: how
            # long ago (model units) v crossed v_th, on the ramp of this step
            g.run_regularly("lag = (v - v_th) / (I + int(I == 0))", when="thresholds", order=1,
                            name=f"ttfs_layer{layer + 1}_lag")
        s = b2.Synapses(pre, g, "w : 1", on_pre=on_pre, dt=dt_q, namespace=namespace,
                        name=f"ttfs_syn{layer + 1}")
        post_idx, pre_idx = np.nonzero(np.ones_like(w, dtype=bool))
        s.connect(i=pre_idx, j=post_idx)
        s.w = w[post_idx, pre_idx]
        # recorded after the lag of this step is computed (order 1 in "thresholds")
        m = b2.SpikeMonitor(g, variables=["lag"] if precise else [], when="thresholds", order=2,
                            name=f"ttfs_spikes{layer + 1}")
        objects += [g, s, m]
        groups.append(g)
        monitors.append(m)
        pre = g
    net = b2.Network(objects)
    return net, {"monitors": monitors, "groups": groups, "period": period, "dt": dt_q,
                 "n_samples": n_samples, "duration": n_samples * period * dt_q}


def _times_from_monitor(monitor, n_samples, n_neurons, period, dt_q, t_max, dt, precise):
    """(n_samples, n_neurons) local spike times of one layer; inf where silent.

    Plain mode: the time of the step in which the spike was detected.
    Precise mode: the crossing time, end of that step minus the recorded lag.
    """
    out = np.full((n_samples, n_neurons), np.inf)
    steps = np.rint(np.asarray(monitor.t[:] / dt_q)).astype(np.int64)
    idx = np.asarray(monitor.i[:], dtype=np.int64)
    sample, local = np.divmod(steps, period)
    t = local * dt
    if precise:
        t = t + dt - np.asarray(monitor.lag[:], dtype=np.float64)
    keep = (t <= t_max + 1e-9 * dt) & (sample < n_samples)
    out[sample[keep], idx[keep]] = t[keep]
    return out


def run_brian2(network, t_input, *, dt_fraction=0.01, device="runtime", directory=None,
               target="numpy", time_unit=None, precise=False, progress=False):
    """Run a TTFS network in Brian2 and return every layer's spike times.

    Parameters
    ----------
    network : TTFSNetwork or dict
        The trained network, or the dict of :func:`weights_of`.
    t_input : array_like or torch.Tensor
        ``(n_samples, n_in)`` input spike times (model units).
    dt_fraction : float
        Time step as a fraction of the window ``t_max`` (default 0.01).
    device : {"runtime", "cpp_standalone"}
        Brian2 device.  Afterwards Brian2's device is ``runtime`` again.
    directory : str or path-like, optional
        Build directory of ``cpp_standalone`` (default: a temporary one).
    target : {"numpy", "cython"}
        Code generation target of the runtime device.
    time_unit : brian2.Quantity, optional
        One model time unit (default 1 ms).
    precise : bool
        Sub-step correction (module docstring); the returned times are then
        the crossing times, not the steps.
    progress : bool
        Let Brian2 report the run's progress on stdout.

    Returns
    -------
    list of numpy.ndarray
        ``(n_samples, n_l)`` spike times of each layer in model units:
        multiples of ``dt`` (plain) or crossing times (precise); ``inf`` =
        silent within ``[0, t_max]``.
    """
    from bioplastic.symstdp.device.engine import brian2_device

    if device not in ("runtime", "cpp_standalone"):
        raise ValueError(f"device must be 'runtime' or 'cpp_standalone', got {device!r}")
    if not 0 < dt_fraction <= 0.5:
        raise ValueError(f"dt_fraction must lie in (0, 0.5]; got {dt_fraction}")
    params = network if isinstance(network, dict) else weights_of(network)
    if hasattr(t_input, "detach"):
        t_input = t_input.detach().cpu().numpy()
    t_max, v_th = params["t_max"], params["v_th"]
    dt = dt_fraction * t_max
    with brian2_device(device, directory, target):
        net, h = build_network(params["weights"], t_input, t_max=t_max, v_th=v_th, dt=dt,
                               time_unit=time_unit, precise=precise)
        net.run(h["duration"], namespace={}, report="stdout" if progress else None)
        times = [_times_from_monitor(m, h["n_samples"], w.shape[0], h["period"], h["dt"], t_max, dt,
                                     precise)
                 for m, w in zip(h["monitors"], params["weights"])]
    return times


def _delivered_input(t_input, t_max, dt):
    """The input times as Brian2 delivers them (start of their step)."""
    t = np.asarray(t_input, dtype=np.float64)
    out = np.floor(t / dt + 1e-9) * dt
    return np.where(np.isfinite(t) & (t < t_max), out, np.inf)


def compare(network, t_input, brian_times, *, dt_fraction=0.01, precise=False):
    """Compare Brian2 spike times with the exact model.

    Parameters
    ----------
    network : TTFSNetwork or dict
    t_input : array_like
        The input times given to :func:`run_brian2`.
    brian_times : list of numpy.ndarray
        Its result.
    dt_fraction, precise
        As given to :func:`run_brian2`.  In precise mode Brian2 receives the
        input times unrounded, and the "lags" measure the difference between
        the reconstructed crossing times and the exact ones.

    Returns
    -------
    dict
        Per layer ``l`` (1-based):

        ``layer{l}_conditional_max_lag``
            Largest ``t_brian - t_exact`` (in steps) where the exact time is
            computed from the presynaptic spikes Brian2 delivered; lies in
            [0, 1] when the equations implement the model.
        ``layer{l}_conditional_min_lag``
            Smallest such lag (in steps).
        ``layer{l}_conditional_status_mismatch``
            Neurons fired in one and silent in the other, given the same
            delivered inputs, whose exact crossing is not within 1.5 steps
            of ``t_max`` (the margin of a clock-driven run); should be 0 in
            plain mode.
        ``layer{l}_max_abs_error``
            Largest ``|t_brian - t_exact|`` (in steps) end to end (exact
            model on the original inputs), over neurons firing in both.
        ``layer{l}_within_one_step``
            Fraction of those neurons with ``|error| <= 1`` step.
        ``layer{l}_status_mismatch``
            End-to-end count of neurons fired in one and silent in the other.

        and ``class_agreement``: fraction of samples whose predicted class
        (earliest output spike, ``-1`` if none) is the same, plus
        ``n_samples`` and ``dt``.
    """
    import torch

    from bioplastic.gradient.ttfs.coding import predict
    from bioplastic.gradient.ttfs.neuron import spike_times

    params = network if isinstance(network, dict) else weights_of(network)
    t_max, v_th = params["t_max"], params["v_th"]
    dt = dt_fraction * t_max
    t_input = t_input.detach().cpu().numpy() if hasattr(t_input, "detach") else np.asarray(t_input)
    stats = {"n_samples": int(len(t_input)), "dt": dt}

    def exact_layer(pre, w, window=t_max, chunk=256):
        # in chunks: the solver's work space grows as batch * n_in * n_out
        w = torch.as_tensor(w, dtype=torch.float64)
        with torch.no_grad():
            return np.concatenate([
                spike_times(torch.as_tensor(pre[i:i + chunk], dtype=torch.float64), w, window, v_th).numpy()
                for i in range(0, len(pre), chunk)])

    pre_exact = np.asarray(t_input, dtype=np.float64)
    pre_brian = (np.asarray(t_input, dtype=np.float64) if precise
                 else _delivered_input(t_input, t_max, dt))
    for layer, (w, tb) in enumerate(zip(params["weights"], brian_times), start=1):
        # layer by layer: the exact crossing given what Brian2 delivered
        cond = exact_layer(pre_brian, w)
        both = np.isfinite(cond) & np.isfinite(tb)
        lag = (tb[both] - cond[both]) / dt
        stats[f"layer{layer}_conditional_max_lag"] = float(lag.max()) if lag.size else 0.0
        stats[f"layer{layer}_conditional_min_lag"] = float(lag.min()) if lag.size else 0.0
        differ = np.isfinite(cond) != np.isfinite(tb)
        # a neuron may fire in one and not the other only when its crossing
        # is within 1.5 steps of the window end (the margin of the grid)
        late = exact_layer(pre_brian, w, t_max + 1.5 * dt)
        near_end = np.isfinite(late) & (late > t_max - 1.5 * dt)
        stats[f"layer{layer}_conditional_status_mismatch"] = int((differ & ~near_end).sum())
        # end to end
        ex = exact_layer(pre_exact, w)
        both = np.isfinite(ex) & np.isfinite(tb)
        err = np.abs(tb[both] - ex[both]) / dt
        stats[f"layer{layer}_max_abs_error"] = float(err.max()) if err.size else 0.0
        stats[f"layer{layer}_within_one_step"] = float((err <= 1 + 1e-9).mean()) if err.size else 1.0
        stats[f"layer{layer}_status_mismatch"] = int((np.isfinite(ex) != np.isfinite(tb)).sum())
        pre_exact, pre_brian = ex, tb
    agree = predict(torch.as_tensor(pre_exact)) == predict(torch.as_tensor(pre_brian))
    stats["class_agreement"] = float(agree.to(torch.float64).mean())
    return stats
