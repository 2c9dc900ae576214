"""Each mechanism of the model against its analytic expectation (runtime, numpy target)."""

import numpy as np
import pytest
from brian2 import Hz, NeuronGroup, Network, SpikeMonitor, StateMonitor, Synapses, mV, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError

from bioplastic.symstdp import plasticity
from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.network import build_network, state_key
from bioplastic.symstdp.plasticity import sym_stdp
from bioplastic.symstdp.params import (ExcitatoryParams, InputParams, LabelParams, STDPParams,
                               model_params)


def _pairing(delta_t, nu=0.01, tau=20 * ms, inc=0.1):
    """One pre and one post spike at lag delta_t (post - pre); returns the weight change."""
    t0 = 50 * ms
    t_pre, t_post = (t0, t0 + delta_t)
    eqs_pre = "tspike : second\n" + plasticity.PRE_TRACE_EQS
    eqs_post = "tspike : second\nlearning : 1 (shared)\n" + plasticity.POST_TRACE_EQS + plasticity.SCALING_EQS
    pre = NeuronGroup(1, eqs_pre, threshold="abs(t - tspike) < dt/2", reset=plasticity.PRE_TRACE_ON_SPIKE,
                      method="exact", namespace={"tau_xpre": tau, "increment_xpre": inc})
    post = NeuronGroup(1, eqs_post, threshold="abs(t - tspike) < dt/2", reset=plasticity.POST_TRACE_ON_SPIKE,
                       method="exact", namespace={"tau_xpost": tau, "increment_xpost": inc})
    pre.tspike, post.tspike, post.learning = t_pre, t_post, 1
    syn = Synapses(pre, post, plasticity.SYM_STDP_MODEL, on_pre=plasticity.SYM_STDP_ON_PRE,
                   on_post=plasticity.SYM_STDP_ON_POST, namespace={"nu": nu, "w_max": 1.0})
    syn.connect()
    syn.w = 0.5
    post.wsum = 0.5
    net = Network(pre, post, syn)
    net.run(t0 + abs(delta_t) + 20 * ms)
    assert post.wsum[0] == pytest.approx(syn.w[0], abs=1e-12)  # the tracked sum follows
    return syn.w[0] - 0.5


def test_stdp_window_is_symmetric_and_exponential():
    nu, tau, inc = 0.01, 20 * ms, 0.1
    for lag in (5, 10, 20):
        dw_plus = _pairing(lag * ms, nu, tau, inc)
        dw_minus = _pairing(-lag * ms, nu, tau, inc)
        expected = nu * inc * np.exp(-lag / 20.0)
        assert dw_plus > 0 and dw_minus > 0, "both orders potentiate"
        assert dw_plus == pytest.approx(dw_minus, rel=0.03)
        # trace sampled one step before/after the exact lag: within dt/tau = 2.5 %
        assert dw_plus == pytest.approx(expected, rel=0.03)
        assert dw_minus == pytest.approx(expected, rel=0.03)


def _det_params(n_hidden=4, **input_kw):
    """Parameters whose Poisson sources fire deterministically (rate * dt >= 1)."""
    p = model_params("mnist", n_hidden)
    return p.replace(input=InputParams(**input_kw) if input_kw else p.input,
                     label=LabelParams(teacher_rate=4000 * Hz))


def _engine(p, K, **kw):
    return Engine(p, device="runtime", chunk_size=K, seed=0, verbose=False, runtime_target="numpy", **kw)


def _input_spikes(p, rates, seed):
    """Input spikes (SpikeMonitor) and the ChunkResult of one chunk of ``len(rates)`` windows."""
    K = len(rates)
    eng = _engine(p, K)
    mon = SpikeMonitor(eng.model.input)
    eng.model.net.add(mon)
    _, res = eng.run_chunk(eng.initial_state(), rates, np.zeros(K, int), learning=False, seed=seed)
    return mon, res


def test_poisson_input_rates_match_pixel_over_8_times_intensity():
    p = model_params("mnist", 3)
    K = 2
    image = np.zeros((K, 784))
    image[:, :392] = 255.0
    image[:, 392:] = 96.0
    rates = image * float(p.input.rate_per_pixel / Hz)
    mon, res = _input_spikes(p, rates, seed=1)
    counts = np.bincount(mon.i[:], minlength=784)
    t_on = K * float(p.input.t_present / second)  # spikes only during presentations
    for sl, pixel in ((slice(0, 392), 255.0), (slice(392, 784), 96.0)):
        intensity = res.intensity[0]
        expected = pixel / 8.0 * intensity * t_on
        mean = counts[sl].mean()
        # mean of 392 Poisson counts: standard error sqrt(expected / 392)
        assert abs(mean - expected) < 5 * np.sqrt(expected / 392), (pixel, mean, expected)
    # no input spike during rest periods
    t = mon.t[:] / ms % float(p.input.t_window / ms)
    assert np.all(t < float(p.input.t_present / ms))


def test_poisson_input_is_a_bernoulli_process_per_time_step():
    """Waiting-time generation gives the per-step Bernoulli process: counts and intervals."""
    p = model_params("mnist", 3)
    prob = 0.05  # spike probability per step
    rates = np.full((1, 784), prob / float(p.input.dt / second))
    mon, _ = _input_spikes(p, rates / float(p.input.intensity_init), seed=3)
    n_steps = p.input.present_steps
    counts = np.bincount(mon.i[:], minlength=784)
    # counts: Binomial(n_steps, prob) for each of 784 neurons
    mean, var = n_steps * prob, n_steps * prob * (1 - prob)
    assert abs(counts.mean() - mean) < 5 * np.sqrt(var / 784)
    assert counts.var(ddof=1) == pytest.approx(var, rel=0.2)  # 784 samples: SE about 5 %
    # intervals in steps: geometric on 1, 2, ... with P(1) = prob and mean 1 / prob
    steps = np.round(mon.t[:] / p.input.dt).astype(int)
    order = np.lexsort((steps, mon.i[:]))
    same = np.diff(mon.i[:][order]) == 0
    isi = np.diff(steps[order])[same]
    assert abs(np.mean(isi == 1) - prob) < 5 * np.sqrt(prob * (1 - prob) / len(isi))
    assert np.mean(isi) == pytest.approx(1 / prob, rel=0.05)
    # first spike of each neuron: geometric from the window start (memoryless restart)
    first = np.array([steps[mon.i[:] == k].min() for k in range(784) if counts[k]])
    assert np.mean(first == 0) == pytest.approx(prob, abs=5 * np.sqrt(prob / 784))


def test_representation_exactly_when_fewer_than_min_spikes():
    p = model_params("mnist", 10)
    K = 12
    eng = _engine(p, K)
    images = np.zeros((K, 784))
    images[0] = 255.0  # a bright sample: many hidden spikes, accepted at once
    images[2:] = 255.0
    images[1, :3] = 40.0  # a faint sample: re-presented with rising intensity
    rates = images * float(p.input.rate_per_pixel / Hz)
    state = eng.initial_state()
    _, res = eng.run_chunk(state, rates, np.arange(K) % 10, learning=False, seed=2)
    n = res.hidden_counts.sum(axis=1)
    expect_accept = (n >= p.input.min_spikes) | (res.intensity >= p.input.intensity_max)
    assert np.array_equal(res.accepted, expect_accept)
    assert (~res.accepted).any(), "the faint sample must have been shown again"
    # each repetition raises the intensity by one step, acceptance resets it
    for w in range(K - 1):
        if res.accepted[w]:
            assert res.intensity[w + 1] == p.input.intensity_init
        else:
            assert res.intensity[w + 1] == res.intensity[w] + p.input.intensity_step
            assert res.ptr[w + 1] == res.ptr[w]


def test_scaling_holds_every_column_sum_at_target_after_each_sample():
    p = model_params("mnist", 6)
    K = 4
    eng = _engine(p, K)
    m = eng.model
    # record weights right after the scaling step of every window
    mon_in = StateMonitor(m.input_hidden, "w", record=True, dt=p.input.t_window, when="start", order=-2)
    mon_lab = StateMonitor(m.hidden_label, "w", record=True, dt=p.input.t_window, when="start", order=-2)
    m.net.add(mon_in, mon_lab)
    from bioplastic.data.datasets import load_mnist
    from conftest import data_dir

    if data_dir() is None:
        pytest.skip("MNIST data not found")
    x, y = load_mnist("train", data_dir=data_dir())
    rates = x[:K].reshape(K, -1) * float(p.input.rate_per_pixel / Hz)
    state, res = eng.run_chunk(eng.initial_state(), rates, y[:K], learning=True, seed=3)
    w_in = mon_in.w[:].reshape(784, 6, -1)
    w_lab = mon_lab.w[:].reshape(6, 10, -1)
    np.testing.assert_allclose(w_in.sum(axis=0), p.stdp_input.w_total, rtol=1e-9)
    np.testing.assert_allclose(w_lab.sum(axis=0), p.stdp_label.w_total, rtol=1e-9)
    # the weights did learn in between (otherwise the test says nothing)
    assert not np.allclose(w_in[..., 0], w_in[..., -1])
    # the tracked sums equal the real sums at the end of the chunk
    w_end = state[state_key(m.input_hidden, "w")].reshape(784, 6)
    np.testing.assert_allclose(state[state_key(m.excitatory, "wsum")], w_end.sum(axis=0), rtol=1e-9)


def test_theta_grows_per_spike_and_decays_with_tau_theta():
    from bioplastic.symstdp.neurons import make_excitatory
    from bioplastic.symstdp.params import InputParams

    exc_p = ExcitatoryParams(tau_theta=200 * ms, theta_plus=0.07 * mV)
    stdp = STDPParams(nu=0.0, w_max=1.0, w_init_max=0.3, w_total=1.0)
    traces = sym_stdp(stdp).post_traces + sym_stdp(stdp).pre_traces
    g = make_excitatory(1, exc_p, InputParams(), traces, stdp.w_total, inhibition="all-to-all",
                        dt=0.5 * ms, method="exponential_euler")
    net = Network(g)
    decay = np.exp(-0.5 / 200.0)  # one step of 0.5 ms at tau_theta = 200 ms
    ref, plus = float(exc_p.theta_ref), float(exc_p.theta_plus)
    for _ in range(3):
        net.run(3 * ms)  # past the refractory period
        theta0 = float(g.theta[0])
        g.v = 10 * mV  # far above threshold: spikes on the next step
        net.run(0.5 * ms)
        before = theta0 * decay  # theta decays in the step, then the spike adds
        expected = plus * ref / abs(before - ref)
        assert float(g.theta[0]) - before == pytest.approx(expected, rel=1e-6)
    # the increment shrinks as theta grows: at theta = 30 mV it is half of theta_plus
    net.run(3 * ms)
    g.theta = 30 * mV
    g.v = 10 * mV
    net.run(0.5 * ms)
    assert float(g.theta[0]) - 0.030 * decay == pytest.approx(plus * ref / (0.030 * decay - ref), rel=1e-6)
    assert plus * ref / (0.030 * decay - ref) < 0.51 * plus
    # decay with tau_theta
    th = float(g.theta[0])
    net.run(200 * ms)
    assert float(g.theta[0]) == pytest.approx(th * np.exp(-1.0), rel=1e-3)
    # frozen when not learning
    g.learning = 0
    th = float(g.theta[0])
    g.v = 10 * mV
    net.run(10 * ms)
    assert float(g.theta[0]) == th


def _deterministic_run(device, inhibition="pooled", build_dir=None, learning=True):
    p = _det_params(n_hidden=8)
    K = 3
    kw = dict(build_dir=build_dir) if device != "runtime" else dict(runtime_target="numpy")
    eng = Engine(p, device=device, chunk_size=K, seed=5, verbose=False, inhibition=inhibition, **kw)
    rng = np.random.default_rng(0)
    # rates of 2 kHz+ fire every step: no randomness anywhere in the network
    images = (rng.random((K, 784)) < 0.05) * 255.0
    # 1020 Hz x intensity 2 = 2040 Hz: rate * dt > 1, so every lit input fires every step
    rates = (images > 0) * 1020.0
    state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), learning, seed=1)
    state2, res2 = eng.run_chunk(state, rates[::-1].copy(), np.array([4, 5, 6]), learning, seed=2)
    return eng, state2, (res, res2)


def test_pooled_inhibition_equals_all_to_all():
    e1, s1, r1 = _deterministic_run("runtime", "pooled")
    e2, s2, r2 = _deterministic_run("runtime", "all-to-all")
    for a, b in zip(r1, r2):
        assert np.array_equal(a.hidden_counts, b.hidden_counts)
        assert np.array_equal(a.label_counts, b.label_counts)
        assert a.hidden_counts.sum() > 0
    k1, k2 = state_key(e1.model.input_hidden, "w"), state_key(e2.model.input_hidden, "w")
    np.testing.assert_allclose(s1[k1], s2[k2], rtol=1e-9)
    kv = state_key(e1.model.excitatory, "v")
    np.testing.assert_allclose(s1[kv], s2[kv], rtol=1e-7)


def test_bad_parameters_give_clear_errors():
    with pytest.raises(DimensionMismatchError, match="tau_m"):
        ExcitatoryParams(tau_m=5 * mV)
    with pytest.raises(ValueError, match="positive"):
        ExcitatoryParams(tau_m=-5 * ms)
    with pytest.raises(ValueError, match="multiple of dt"):
        InputParams(t_present=350.2 * ms)
    with pytest.raises(ValueError, match="dataset"):
        model_params("cifar", 100)
    with pytest.raises(ValueError, match="n_hidden"):
        model_params("mnist", 0)
    with pytest.raises(ValueError, match="w_init_max"):
        STDPParams(nu=0.1, w_max=1.0, w_init_max=2.0, w_total=1.0)
    with pytest.raises(ValueError, match="inhibition"):
        build_network(model_params("mnist", 2), 2, inhibition="none")
    # a scaling target that the clipped weights cannot reach would grow them without end
    with pytest.raises(ValueError, match=r"stdp_input.w_total = 78.4 cannot be reached by 3 synapses"):
        model_params("mnist", 10).replace(n_input=3)


def test_engine_rejects_bad_chunk_input():
    p = model_params("mnist", 2)
    eng = _engine(p, 2)
    st = eng.initial_state()
    with pytest.raises(ValueError, match="shape"):
        eng.run_chunk(st, np.zeros((3, 784)), np.zeros(2, int), True, 0)
    with pytest.raises(ValueError, match="non-negative"):
        eng.run_chunk(st, -np.ones((2, 784)), np.zeros(2, int), True, 0)
    with pytest.raises(ValueError, match="device"):
        Engine(p, device="gpu")


def test_euler_scheme_decays_conductances_exactly():
    """Under "euler" the conductances decay by exactly exp(-dt/tau) per step (GeNN's scheme)."""
    from bioplastic.symstdp.neurons import make_excitatory
    from bioplastic.symstdp.params import InputParams

    exc_p = ExcitatoryParams()
    stdp = STDPParams(nu=0.0, w_max=1.0, w_init_max=0.3, w_total=1.0)
    g = make_excitatory(1, exc_p, InputParams(), sym_stdp(stdp).post_traces, stdp.w_total,
                        inhibition="all-to-all", dt=0.5 * ms, method="euler")
    g.ge, g.gi, g.xpost, g.v = 1.0, 1.0, 1.0, -80 * mV
    Network(g).run(5 * ms)  # 10 steps
    assert g.ge[0] == pytest.approx(np.exp(-5.0 / 1.0), rel=1e-9)
    assert g.gi[0] == pytest.approx(np.exp(-5.0 / 2.0), rel=1e-9)
    assert g.xpost[0] == pytest.approx(np.exp(-5.0 / 20.0), rel=1e-9)


def test_parameter_overrides_check_units_and_names():
    from bioplastic.symstdp.params import with_overrides

    p = with_overrides(model_params("mnist", 100), {"label.teacher_rate": "100*Hz", "stdp_input.nu": "0.01"})
    assert p.label.teacher_rate == 100 * Hz and p.stdp_input.nu == 0.01
    with pytest.raises(ValueError, match="teacher_rate"):
        with_overrides(p, {"label.teacher_rate": "100*mV"})
    with pytest.raises(ValueError, match="no field"):
        with_overrides(p, {"label.teacher": "100*Hz"})
    with pytest.raises(ValueError, match="no parameter table"):
        with_overrides(p, {"labels.teacher_rate": "100*Hz"})
    for key in ("stdp_input.nu", "error_readout.exponent"):     # plain numbers take no units
        with pytest.raises(ValueError, match="dimensionless"):
            with_overrides(p, {key: "2*ms"})


def test_implicit_euler_step_decays_exactly_and_is_stable():
    """Under "implicit_euler" the decays are exact and v takes the backward Euler step,
    staying within [E_inh, E_exc] at conductances where forward Euler explodes."""
    from bioplastic.symstdp.neurons import make_excitatory
    from bioplastic.symstdp.params import InputParams

    exc_p = ExcitatoryParams()
    stdp = STDPParams(nu=0.0, w_max=1.0, w_init_max=0.3, w_total=1.0)
    g = make_excitatory(2, exc_p, InputParams(), sym_stdp(stdp).post_traces, stdp.w_total,
                        inhibition="all-to-all", dt=0.5 * ms, method="implicit_euler")
    assert "excitatory_floor" not in [o.name for o in g.contained_objects]
    g.ge, g.xpost, g.v = 1.0, 1.0, -80 * mV
    g.gi = [1.0, 5000.0]  # the second: dt * gi / tau_m = 25, forward Euler would diverge
    net = Network(g)
    net.run(0.5 * ms)  # one step
    h = 0.5 / 100.0  # dt / tau_m
    for k, gi0 in enumerate((1.0, 5000.0)):
        v0, ge0 = -0.080, 1.0
        drive = float(exc_p.v_rest) + ge0 * float(exc_p.E_exc) + gi0 * float(exc_p.E_inh)
        expected = (v0 + h * drive) / (1 + h * (1 + ge0 + gi0))
        assert g.v[k] / mV == pytest.approx(expected * 1e3, rel=1e-9)
    net.run(4.5 * ms)  # 10 steps in all
    assert g.ge[0] == pytest.approx(np.exp(-5.0 / 1.0), rel=1e-9)
    assert g.gi[0] == pytest.approx(np.exp(-5.0 / 2.0), rel=1e-9)
    assert g.xpost[0] == pytest.approx(np.exp(-5.0 / 20.0), rel=1e-9)
    assert np.all(g.v[:] >= exc_p.E_inh) and np.all(g.v[:] <= exc_p.E_exc)
    with pytest.raises(ValueError, match="implicit_euler"):
        model_params("mnist", 100).replace(method="rk4")


def test_branch_free_exponential_euler_equals_brians():
    """method="exponential_euler" (branch-free, vectorisable) gives Brian2's exponential
    Euler values, refractoriness included."""
    from brian2 import SpikeMonitor

    from bioplastic.symstdp.neurons import INHIBITORY_EQS, branch_free_exponential_euler

    ns = dict(v_rest=-60 * mV, E_exc=0 * mV, tau_m=10 * ms, tau_ge=1 * ms)
    runs = []
    for method in (branch_free_exponential_euler, "exponential_euler"):
        g = NeuronGroup(3, INHIBITORY_EQS, threshold="v > -40*mV", reset="v = -45*mV",
                        refractory=2 * ms, method=method, namespace=ns, dt=0.5 * ms)
        g.v = -60 * mV
        g.ge = [40.0, 2.0, 0.5]
        mon = SpikeMonitor(g)
        net = Network(g, mon)
        net.run(6 * ms)
        runs.append((np.array(g.v[:]), np.array(mon.t[:]), np.array(mon.i[:])))
    (v1, t1, i1), (v2, t2, i2) = runs
    assert len(t1) > 0  # a neuron spiked and went through its refractory period
    assert np.array_equal(i1, i2) and np.allclose(t1, t2)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)


@pytest.mark.slow   # two cpp builds, 42 s of CI; the N_E = 6400 variant's integrator choice (session 5)
@pytest.mark.standalone
def test_inhibitory_euler_gives_the_same_spikes_as_exponential_euler(tmp_path):
    """The N_E = 6400 variants integrate the inhibitory group with forward Euler
    (``inhibitory_method``): its only input is its excitatory partner, so the step
    stays stable, and two chunks of real-rate training give the same spikes and
    weights as exponential Euler for every group."""
    from dataclasses import replace

    from brian2.devices import reinit_and_delete

    from bioplastic.symstdp.device.engine import chunk_seed
    from bioplastic.symstdp.params import model_params

    big = model_params("mnist", 6400)
    assert big.method == "implicit_euler" and big.inhibitory_method == "euler"
    with pytest.raises(ValueError, match="inhibitory_method"):
        replace(big, inhibitory_method="rk4")
    base = replace(model_params("mnist", 30), method="exponential_euler")
    K = 3
    rng = np.random.default_rng(1)
    rates = rng.uniform(0, 60, (2, K, 784)) * (rng.random((2, K, 784)) < 0.2)
    labels = np.array([[0, 1, 2], [3, 4, 5]])
    runs = {}
    for inh_method in (None, "euler"):
        reinit_and_delete()
        eng = Engine(replace(base, inhibitory_method=inh_method), device="cpp_standalone",
                     chunk_size=K, seed=0, verbose=False, build_dir=tmp_path / f"b-{inh_method}")
        state, counts = eng.initial_state(), []
        for c in range(2):
            state, res = eng.run_chunk(state, rates[c], labels[c], True, seed=chunk_seed(0, c))
            counts.append(res.hidden_counts)
        runs[inh_method] = state, np.concatenate(counts)
    (s_exp, c_exp), (s_eul, c_eul) = runs[None], runs["euler"]
    assert c_exp.sum() > 0 and np.array_equal(c_exp, c_eul)
    for key in s_exp:
        if key.startswith("inhibitory.v"):
            assert not np.array_equal(s_exp[key], s_eul[key])  # the integrators do differ
            np.testing.assert_allclose(s_exp[key], s_eul[key], rtol=0, atol=1e-6)
        else:
            assert np.array_equal(s_exp[key], s_eul[key]), key


def test_parameter_sets_differ_only_where_the_paper_does_not_learn():
    """'learns' changes Fashion-MNIST at N_E >= 6400 (input rate and scaling target) and
    nothing else; 'paper' keeps the authors' values; an unknown set is a clear error."""
    import pytest

    from bioplastic.symstdp.params import LEARNS, model_params

    paper, learns = model_params("fashion-mnist", 6400), model_params("fashion-mnist", 6400, "learns")
    assert (paper.stdp_input.nu, paper.stdp_input.w_total) == (0.0005, 19.6)
    assert (learns.stdp_input.nu, learns.stdp_input.w_total) == (0.02, 78.4)
    assert learns.replace(stdp_input=paper.stdp_input) == paper
    assert set(LEARNS) == {("fashion-mnist", 6400)}
    for dataset, n in (("mnist", 100), ("mnist", 6400), ("fashion-mnist", 400)):
        assert model_params(dataset, n, "learns") == model_params(dataset, n)
    with pytest.raises(ValueError, match="parameter_set"):
        model_params("mnist", 100, "best")


def test_single_precision_decays_theta_once_per_window():
    """--float32: theta decays once per window (a step's factor rounds to 1 in float32 at N_E = 6400);
    --float32-theta: every step, i.e. not at all there (the authors' GPU code)."""
    from brian2 import prefs

    from bioplastic.symstdp.params import with_overrides

    # a short tau_theta so that one window's decay is visible, and no input (no spikes)
    params = with_overrides(model_params("mnist", 5), {"excitatory.tau_theta": "2e7*ms"})
    t_window = float(params.input.t_window / ms)
    theta0 = float(params.excitatory.theta_init)
    K = 3
    try:
        out = {}
        for float32, step in ((False, False), (True, False), (True, True)):
            eng = Engine(params, device="runtime", chunk_size=K, float32=float32, float32_theta=step,
                         verbose=False, runtime_target="numpy")
            state, _ = eng.run_chunk(eng.initial_state(), np.zeros((K, 784)), np.full(K, -1), True, seed=0)
            out[(float32, step)] = state[state_key(eng.model.excitatory, "theta")]
            assert out[(float32, step)].dtype == (np.float32 if float32 else np.float64)
            frozen, _ = eng.run_chunk(eng.initial_state(), np.zeros((K, 784)), np.full(K, -1), False, seed=0)
            th = frozen[state_key(eng.model.excitatory, "theta")]
            assert np.all(th == np.asarray(theta0, dtype=th.dtype)), "theta must not decay with learning off"
        exact = theta0 * np.exp(-K * t_window / 2e7)   # K windows of decay, no spikes
        assert out[(False, False)] == pytest.approx(exact, rel=1e-9)        # float64, every step
        assert out[(True, False)] == pytest.approx(exact, rel=1e-6)         # float32, once per window
        assert np.all(out[(True, False)] < np.float32(theta0))
        assert np.all(out[(True, True)] == np.float32(theta0))              # float32 every step: no decay
    finally:
        prefs.core.default_float_dtype = np.float64


def test_rest_jump_replaces_the_steps_it_skips():
    """t_rest_jump: 130 ms of the 150 ms rest as one decay at the next window start.

    The input here is deterministic (every lit pixel fires every step), so
    the two networks see the same input: the jump is the 260 steps it
    replaces (the method's own per-step membrane factor, exact decays), and
    every presentation's spikes and every weight come out the same.
    """
    from brian2 import ms

    from bioplastic.symstdp.params import with_overrides

    rates = (np.random.default_rng(0).random((3, 784)) < 0.05) * 1020.0
    out = []
    for jump in (0 * ms, 130 * ms):
        p = with_overrides(_det_params(n_hidden=8), {"input.t_rest_jump": jump})
        eng = _engine(p, 3)
        assert eng.params.input.window_steps == (1000 if jump == 0 * ms else 740)
        state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), True, seed=1)
        out.append((res, state, eng))
    (a, sa, ea), (b, sb, eb) = out
    assert a.hidden_counts.sum() > 1000 and "excitatory_rest_jump" in [o.name for o in eb.model.excitatory.contained_objects]
    assert np.array_equal(a.hidden_counts, b.hidden_counts) and np.array_equal(a.label_counts, b.label_counts)
    for name in ("input_hidden.w", "hidden_label.w", "excitatory.wsum"):
        np.testing.assert_allclose(sb[name], sa[name], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="t_rest_jump .* must be shorter than the rest"):
        InputParams(t_rest_jump=150 * ms)
