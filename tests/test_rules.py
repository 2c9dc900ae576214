"""Rules and neurons as values: the defaults are the published code, a rule of one's own runs on
every device, the templates fall back to Brian2's where they cannot take a rule, and Diehl & Cook."""

import json

import numpy as np
import pytest
from brian2 import Hz, Network, mV, ms, second

from bioplastic.symstdp import plasticity
from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.models import DIEHL_COOK_2015, HAO_2020, NetworkModel, resolve_model
from bioplastic.symstdp.network import build_network, state_key
from bioplastic.symstdp.neurons import DIEHL_COOK_NEURON, HAO_2020_NEURON, HiddenNeuron
from bioplastic.symstdp.params import model_params
from bioplastic.symstdp.plasticity import PlasticityRule, Trace, diehl_cook_stdp, sym_stdp
from test_model import _det_params

#: The README's rule of one's own: pair-based STDP with multiplicative depression.
PAIR_STDP = PlasticityRule(
    name="pair-stdp",
    on_pre="w = clip(w - learning_post * eta_minus * w * apost_post, 0, w_max)",
    on_post="w = clip(w + learning_post * eta_plus * apre_pre, 0, w_max)",
    parameters={"eta_minus": 0.05, "eta_plus": 0.01, "w_max": 1.0},
    pre_traces=(Trace("apre", 20 * ms),),
    post_traces=(Trace("apost", 15 * ms),),
)

#: A rule the dense templates cannot take: each presynaptic spike also sums, into a trace of
#: the presynaptic neuron, the weight changes it caused over all its synapses (a reduction
#: over the row, which the vectorised row loop would reorder).
ROW_SUM_RULE = PlasticityRule(
    name="row-sum",
    on_pre="w = clip(w + learning_post * eta * xpost_post, 0, w_max)\ndw_out_pre += w - w_before",
    on_post="w = clip(w + learning_post * eta * xpre_pre, 0, w_max)",
    parameters={"eta": 0.01, "w_max": 1.0},
    pre_traces=(Trace("xpre", 20 * ms, 0.1), Trace("dw_out", 50 * ms, 0.0)),
    post_traces=(Trace("xpost", 20 * ms, 0.1),),
)


def _lines(code):
    return [ln.strip() for ln in str(code).splitlines() if ln.strip()]


def test_default_rules_generate_the_published_code():
    """sym_stdp() of a table is the module's sym-STDP code, statement for statement."""
    stdp = model_params("mnist", 100).stdp_input
    rule = sym_stdp(stdp)
    assert _lines(rule.synapse_code("on_pre")) == _lines(plasticity.SYM_STDP_ON_PRE)
    assert _lines(rule.synapse_code("on_post")) == _lines(plasticity.SYM_STDP_ON_POST)
    assert rule.namespace() == plasticity.stdp_namespace(stdp)
    assert rule.pre_traces[0].equations == plasticity.PRE_TRACE_EQS
    assert rule.post_traces[0].on_spike == plasticity.POST_TRACE_ON_SPIKE
    # the default network is built from them
    m = build_network(model_params("mnist", 5), 2, seed=0)
    assert _lines(m.input_hidden.pre.code) == _lines("ge_post += w\n" + plasticity.SYM_STDP_ON_PRE)
    assert "xpre" in m.input.variables and "apre" not in m.input.variables


def test_rules_and_neurons_check_their_parts():
    with pytest.raises(ValueError, match="learning_post"):
        PlasticityRule("ungated", on_pre="w = clip(w + eta, 0, 1)", on_post="", parameters={"eta": 0.1})
    with pytest.raises(ValueError, match="w : 1"):
        PlasticityRule("no-w", on_pre="", on_post="", model="u : 1")
    with pytest.raises(ValueError, match="taken by the network"):
        PlasticityRule("clash", on_pre="", on_post="", parameters={"wsum": 1.0})
    with pytest.raises(ValueError, match="repeat"):
        PlasticityRule("twice", on_pre="", on_post="", pre_traces=(Trace("a", 5 * ms), Trace("a", 9 * ms)))
    with pytest.raises(ValueError, match="positive time"):
        Trace("a", 5 * mV)
    with pytest.raises(ValueError, match="identifier"):
        Trace("a b", 5 * ms)
    with pytest.raises(ValueError, match="mode"):
        Trace("a", 5 * ms, mode="max")
    with pytest.raises(TypeError, match="Trace"):
        PlasticityRule("bad", on_pre="", on_post="", pre_traces=("xpre",))
    with pytest.raises(ValueError, match="theta"):
        HiddenNeuron("no-theta", equations="dv/dt = -v / (10*ms) : volt\nge : 1\ncount : integer\n"
                                           "learning : 1 (shared, constant)")
    with pytest.raises(TypeError, match="PlasticityRule"):
        build_network(model_params("mnist", 5), 2, input_rule="sym-stdp")
    # a trace name used by both rules in the hidden group
    clash = PlasticityRule("clash", on_pre="", on_post="", post_traces=(Trace("xpre", 5 * ms),))
    with pytest.raises(ValueError, match="used twice"):
        build_network(model_params("mnist", 5), 2, input_rule=clash)
    # Diehl & Cook's neuron has no rest-jump code
    p = model_params("mnist", 5)
    p = p.replace(input=p.input.__class__(t_rest_jump=100 * ms))
    with pytest.raises(ValueError, match="rest jump"):
        build_network(p, 2, hidden_neuron=DIEHL_COOK_NEURON)
    with pytest.raises(ValueError, match="model must be one of"):
        resolve_model("bcm")


def test_models_round_trip_through_their_records():
    for model in (HAO_2020, DIEHL_COOK_2015, NetworkModel("mine", input_rule=PAIR_STDP,
                                                          label_rule=ROW_SUM_RULE)):
        d = json.loads(json.dumps(model.to_dict()))
        back = NetworkModel.from_dict(d)
        assert back.to_dict() == model.to_dict()
        for a, b in ((back.input_rule, model.input_rule), (back.hidden_neuron, model.hidden_neuron)):
            assert (a is None) == (b is None)
            if a is not None:
                assert a.to_dict() == b.to_dict()
    rule = NetworkModel.from_dict(json.loads(json.dumps(DIEHL_COOK_2015.to_dict()))).input_rule
    assert rule.post_traces[1].tau == 40 * ms and rule.pre_traces[0].mode == "set"
    assert DIEHL_COOK_NEURON.parameters["timer_refractory"] == 5 * ms


def _deterministic(device, net_model, build_dir=None, n_hidden=8):
    """Two chunks of training on input that fires every step (no random numbers anywhere)."""
    p = _det_params(n_hidden=n_hidden)
    K = 3
    kw = dict(build_dir=build_dir) if device != "runtime" else dict(runtime_target="numpy")
    eng = Engine(p, device=device, chunk_size=K, seed=5, verbose=False, **kw, **net_model.engine_kwargs())
    rng = np.random.default_rng(0)
    rates = ((rng.random((K, 784)) < 0.05) * 1020.0)
    state, r1 = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), True, seed=1)
    state, r2 = eng.run_chunk(state, rates[::-1].copy(), np.array([4, 5, 6]), True, seed=2)
    return eng, state, (r1, r2)


def _same_run(a, b):
    (ea, sa, ra), (eb, sb, rb) = a, b
    for x, y in zip(ra, rb):
        assert x.hidden_counts.sum() > 0
        assert np.array_equal(x.hidden_counts, y.hidden_counts)
        assert np.array_equal(x.label_counts, y.label_counts)
        assert np.array_equal(x.ptr, y.ptr)
    assert set(sa) == set(sb)
    for key in sa:
        np.testing.assert_allclose(sa[key], sb[key], rtol=1e-7, atol=1e-12, err_msg=key)


#: The README's rule on the hidden -> label pathway (its traces: apre on the hidden neurons,
#: apost on the label neurons), beside ROW_SUM_RULE on the input pathway.
PAIR_STDP_LABEL = PlasticityRule(
    name="pair-stdp-label", on_pre=PAIR_STDP.on_pre, on_post=PAIR_STDP.on_post,
    parameters={"eta_minus": 0.05, "eta_plus": 0.01, "w_max": 8.0},
    pre_traces=PAIR_STDP.pre_traces, post_traces=PAIR_STDP.post_traces)


@pytest.mark.standalone
def test_rules_of_ones_own_run_the_same_on_runtime_and_cpp_standalone(tmp_path, capsys):
    """One network, two rules of one's own: the input pathway's (ROW_SUM_RULE, a sum over
    synapses into a presynaptic trace) falls back to Brian2's templates, with a message; the
    label pathway's (the README's pair STDP) takes the dense templates.  cpp_standalone gives
    runtime mode's spikes and weights, and the rules learn otherwise than sym-STDP."""
    from brian2.devices import reinit_and_delete

    model = NetworkModel("mine", input_rule=ROW_SUM_RULE, label_rule=PAIR_STDP_LABEL)
    rt = _deterministic("runtime", model)
    reinit_and_delete()
    capsys.readouterr()
    eng = Engine(_det_params(n_hidden=8), device="cpp_standalone", chunk_size=3, seed=5, verbose=True,
                 build_dir=tmp_path / "build", **model.engine_kwargs())
    out = capsys.readouterr().out
    assert "input_hidden: Brian2's own templates" in out and "dw_out_pre" in out
    assert eng.templates["input_hidden"].startswith("brian2")
    assert eng.templates["hidden_label"] == "bioplastic"        # the other pathway keeps them
    code = {f.name.split("_pre_codeobject")[0]: f.read_text()
            for f in (tmp_path / "build" / "code_objects").glob("*_pre_codeobject*.cpp")}
    assert "_dense_checked" not in code["input_hidden"] and "_dense_checked" in code["hidden_label"]
    del eng
    reinit_and_delete()
    cpp = _deterministic("cpp_standalone", model, build_dir=tmp_path / "build")
    _same_run(rt, cpp)
    state = cpp[1]
    assert np.abs(state["input.dw_out"]).sum() > 0, "the presynaptic sums were made"
    assert "excitatory.apre" in state and "label.apost" in state and "excitatory.xpre" not in state
    reinit_and_delete()
    sym = _deterministic("runtime", HAO_2020)
    w = "hidden_label.w"
    assert not np.allclose(sym[1][w], state[w]), "the rule changes what is learned"
    assert not np.allclose(state[w], cpp[0].initial_state()[w]), "the rule learned"


def test_diehl_cook_neuron_waits_50_ms_and_grows_theta_by_a_constant():
    """Their threshold timer: after a spike the neuron cannot fire for 50 ms although its
    membrane is refractory for 5 ms only; theta grows by theta_plus at every spike."""
    from bioplastic.symstdp.neurons import make_excitatory
    from bioplastic.symstdp.params import ExcitatoryParams, InputParams
    from brian2 import SpikeMonitor

    exc = ExcitatoryParams(refractory=5 * ms, theta_plus=0.05 * mV, tau_theta=1e12 * ms)  # no decay
    g = make_excitatory(1, exc, InputParams(), (), 1.0, inhibition="all-to-all", dt=0.5 * ms,
                        method="euler", neuron=DIEHL_COOK_NEURON)
    g.run_regularly("ge = 5", dt=0.5 * ms)      # strong constant drive: fires whenever it may
    g.timer = 10 * ms
    mon = SpikeMonitor(g)
    Network(g, mon).run(300 * ms)
    t = np.asarray(mon.t / ms)
    assert len(t) >= 4
    gaps = np.diff(t)
    assert np.all(gaps >= 50.0) and np.all(gaps <= 52.0), gaps
    # constant steps (Hao et al.'s would shrink: 0.05 * 10 / (theta - 10) < 0.05 above 20 mV)
    np.testing.assert_allclose(float(g.theta[0] / mV), 20 + 0.05 * len(t), rtol=1e-9)
    # Hao et al.'s neuron, same drive: fires again after its 5 ms
    exc_h = ExcitatoryParams(refractory=5 * ms)
    h = make_excitatory(1, exc_h, InputParams(), (), 1.0, inhibition="all-to-all", dt=0.5 * ms,
                        method="euler", neuron=HAO_2020_NEURON)
    h.run_regularly("ge = 5", dt=0.5 * ms)
    mon_h = SpikeMonitor(h)
    Network(h, mon_h).run(300 * ms)
    assert np.diff(np.asarray(mon_h.t / ms)).min() < 20


def test_diehl_cook_hidden_layer_never_sees_a_label():
    """The teacher drives only the label layer: with input that needs no random numbers the
    hidden layer learns the same with the teacher at 4000 Hz or off."""
    from brian2.devices import reinit_and_delete

    states = []
    for rate in (4000 * Hz, 0 * Hz):
        reinit_and_delete()
        p = _det_params(n_hidden=6)
        p = p.replace(label=p.label.__class__(teacher_rate=rate))
        eng = Engine(p, device="runtime", chunk_size=3, seed=5, verbose=False, runtime_target="numpy",
                     **DIEHL_COOK_2015.engine_kwargs())
        rates = ((np.random.default_rng(0).random((3, 784)) < 0.05) * 1020.0)
        state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), True, seed=1)
        states.append((state, res))
    (a, ra), (b, rb) = states
    assert ra.label_counts.sum() > 0 and rb.label_counts.sum() == 0
    assert np.array_equal(ra.hidden_counts, rb.hidden_counts) and ra.hidden_counts.sum() > 0
    for key in ("input_hidden.w", "excitatory.theta_volt", "excitatory.post1", "excitatory.timer_second"):
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["hidden_label.w"], b["hidden_label.w"])


def test_diehl_cook_model_takes_their_table():
    params, model = resolve_model("diehl-cook-2015", "mnist", 400)
    assert model is DIEHL_COOK_2015
    ex = params.excitatory
    assert ex.refractory == 5 * ms and ex.theta_plus == 0.05 * mV and ex.tau_theta == 1e7 * ms
    assert params.stdp_input.w_total == 78.0
    hao, _ = resolve_model("hao-2020", "mnist", 400)
    assert hao == model_params("mnist", 400)
    # a model of one's own takes the variant's table unchanged
    mine, _ = resolve_model(NetworkModel("mine", input_rule=PAIR_STDP), "mnist", 400)
    assert mine == hao


def _one_chunk(net_model, n_hidden=6, device="runtime", build_dir=None):
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    p, _ = resolve_model(net_model, "mnist", n_hidden)
    p = p.replace(input=_det_params().input, label=_det_params().label)
    kw = dict(build_dir=build_dir) if device != "runtime" else dict(runtime_target="numpy")
    eng = Engine(p, device=device, chunk_size=3, seed=5, verbose=False, **kw, **net_model.engine_kwargs())
    rates = ((np.random.default_rng(0).random((3, 784)) < 0.05) * 1020.0)
    state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), True, seed=1)
    return eng, state, res


def test_diehl_cook_traces_per_synapse_differ_from_per_neuron_only_at_same_step_pairings():
    """Their code keeps the traces per synapse (event-driven); ours per neuron.  Without delays
    the two differ only when a pre- and a postsynaptic spike fall in the same step (the synapse's
    ``pre`` is set before that step's potentiation, the neuron's after it).  One window of
    Poisson input (the same input spikes in both): with depression alone the weights are the
    same; with potentiation alone they differ only at the few same-step pairings."""
    from brian2.devices import reinit_and_delete

    def one_window(nu_pre, nu_post, synaptic):
        reinit_and_delete()
        rule = diehl_cook_stdp(nu_pre=nu_pre, nu_post=nu_post, synaptic_traces=synaptic)
        net_model = NetworkModel("dc", input_rule=rule, hidden_neuron=DIEHL_COOK_NEURON)
        p, _ = resolve_model(DIEHL_COOK_2015, "mnist", 6)
        eng = Engine(p, device="runtime", chunk_size=1, seed=5, verbose=False, runtime_target="numpy",
                     **net_model.engine_kwargs())
        rng = np.random.default_rng(0)
        rates = rng.uniform(0, 64, (1, 784)) * (rng.random((1, 784)) < 0.3)
        state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1]), True, seed=1)
        return state["input_hidden.w"], res.hidden_counts

    w_n, c_n = one_window(0.0001, 0.0, False)
    w_s, c_s = one_window(0.0001, 0.0, True)
    assert c_n.sum() > 0 and np.array_equal(c_n, c_s)
    np.testing.assert_allclose(w_n, w_s, rtol=1e-12, atol=1e-15)
    w_n, c_n = one_window(0.0, 0.01, False)
    w_s, c_s = one_window(0.0, 0.01, True)
    assert np.array_equal(c_n, c_s)
    same = np.isclose(w_n, w_s, rtol=1e-12, atol=1e-15)
    assert 0.9 < same.mean() < 1.0, same.mean()        # most synapses saw no same-step pairing
    assert np.all(w_s >= w_n - 1e-15)                    # where they did, the synapse counted 1
    with pytest.raises(ValueError, match="synaptic_traces"):
        diehl_cook_stdp(max_delay=10 * ms)


@pytest.mark.slow        # the fallback itself is tested above (ROW_SUM_RULE); this is their model's
@pytest.mark.standalone
def test_diehl_cook_with_delays_falls_back_and_equals_runtime(tmp_path):
    """Their input delays (uniform in [0, 10 ms), drawn once from the seed): Brian2's templates on
    cpp_standalone, the same spikes and weights as runtime mode; the delays change what is learned."""
    from bioplastic.symstdp.models import DIEHL_COOK_2015_DELAYS

    e_rt, s_rt, r_rt = _one_chunk(DIEHL_COOK_2015_DELAYS)
    delays = np.asarray(e_rt.model.input_hidden.pre.delay / ms)
    assert delays.size == 784 * 6 and 0 <= delays.min() and delays.max() < 10 and delays.std() > 2
    e_cpp, s_cpp, r_cpp = _one_chunk(DIEHL_COOK_2015_DELAYS, device="cpp_standalone",
                                     build_dir=tmp_path / "build")
    assert e_cpp.templates["input_hidden"].startswith("brian2 (") and "delays" in e_cpp.templates["input_hidden"]
    assert r_rt.hidden_counts.sum() > 0
    assert np.array_equal(r_rt.hidden_counts, r_cpp.hidden_counts)
    np.testing.assert_allclose(s_rt["input_hidden.w"], s_cpp["input_hidden.w"], rtol=1e-7, atol=1e-12)
    _, s_nodelay, _ = _one_chunk(DIEHL_COOK_2015)
    assert not np.allclose(s_nodelay["input_hidden.w"], s_rt["input_hidden.w"])
