"""Keyed random numbers and independent evaluation: predictions that do not depend on order,
chunking or device."""

import numpy as np
import pytest
from brian2 import NeuronGroup, Network, defaultclock

from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.params import model_params
from bioplastic.symstdp.random_streams import keyed_uniform, keyed_uniform_numpy
from bioplastic.symstdp.training import phase_start_state, run_phase


def test_keyed_uniform_is_uniform_and_depends_on_every_key():
    n = 200_000
    u = keyed_uniform_numpy(7, np.arange(n), 3)
    assert 0 < u.min() and u.max() < 1
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    assert np.all(np.abs(counts - n / 20) < 5 * np.sqrt(n / 20))        # uniform
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01                  # neighbours unrelated
    for other in (keyed_uniform_numpy(8, np.arange(n), 3), keyed_uniform_numpy(7, np.arange(n), 4),
                  keyed_uniform_numpy(7, np.arange(n) + 1, 3)):
        assert np.mean(other == u) < 1e-3
    assert np.array_equal(u, keyed_uniform_numpy(7, np.arange(n), 3))     # a function of the keys


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_keyed_uniform_is_the_same_number_on_every_runtime_target(target):
    from brian2 import prefs

    prefs.codegen.target = target
    g = NeuronGroup(500, "u : 1", namespace={"keyed_uniform": keyed_uniform()})
    g.run_regularly("u = keyed_uniform(12345, i * 7919, 3 - i)", dt=defaultclock.dt)
    Network(g).run(defaultclock.dt)
    i = np.arange(500)
    assert np.array_equal(np.asarray(g.u[:]), keyed_uniform_numpy(12345, i * 7919, 3 - i))


@pytest.mark.standalone
def test_keyed_uniform_is_the_same_number_in_cpp_standalone(tmp_path):
    from brian2 import device, set_device

    set_device("cpp_standalone", directory=str(tmp_path / "build"), build_on_run=False)
    g = NeuronGroup(500, "u : 1", namespace={"keyed_uniform": keyed_uniform()})
    g.run_regularly("u = keyed_uniform(12345, i * 7919, 3 - i)", dt=defaultclock.dt)
    Network(g).run(defaultclock.dt)
    device.build(directory=str(tmp_path / "build"), compile=True, run=True, with_output=False)
    i = np.arange(500)
    assert np.array_equal(np.asarray(g.u[:]), keyed_uniform_numpy(12345, i * 7919, 3 - i))


def _trained_state(eng, seed=3):
    """A state with structured input weights (so that samples drive different neurons)."""
    from bioplastic.symstdp.network import state_key

    state = dict(eng.initial_state())
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (784, eng.params.n_hidden)) ** 4
    w *= eng.params.stdp_input.w_total / w.sum(axis=0)
    state[state_key(eng.model.input_hidden, "w")] = w.ravel()
    state[state_key(eng.model.excitatory, "wsum")] = w.sum(axis=0)
    return state


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, 784)) * (rng.random((n, 784)) < 0.2) / 8.0  # Hz at intensity 1


def _evaluate(eng, state, rates, ids, order):
    """Counts of samples ``order`` (by id), evaluated in that order."""
    labels = np.zeros(len(order), dtype=np.int64)
    _, res = run_phase(eng, state, rates[order], labels, False, lambda c: 1000 + c, sample_ids=ids[order])
    back = np.argsort(order)
    return res.hidden_counts[back], res.label_counts[back], res.n_presentations[back]


def test_independent_evaluation_does_not_depend_on_order_or_chunking():
    """The same samples evaluated in another order, in chunks of another size, or alone give the
    same spikes (runtime mode); the sequential mode does not have this property."""
    from brian2.devices import reinit_and_delete

    p = model_params("mnist", 20)
    rates = _images(8)
    ids = np.arange(100, 108)
    results = {}
    for mode, k in (("independent", 4), ("independent", 3), ("sequential", 4)):
        reinit_and_delete()
        eng = Engine(p, device="runtime", chunk_size=k, seed=0, verbose=False, runtime_target="numpy",
                     evaluation=mode)
        state = _trained_state(eng)
        forward = _evaluate(eng, state, rates, ids, np.arange(8))
        backward = _evaluate(eng, state, rates, ids, np.arange(8)[::-1])
        single = _evaluate(eng, state, rates, ids, np.array([5]))
        results[mode, k] = forward, backward, single
    (f4, b4, s4), (f3, b3, _) = results["independent", 4], results["independent", 3]
    assert f4[0].sum() > 0 and len(np.unique(f4[0].argmax(axis=1))) > 1
    for a, b in ((f4, b4), (f4, f3), (f4, b3)):
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
    assert np.array_equal(s4[0][0], f4[0][5])                     # alone as in a batch
    fs, bs, _ = results["sequential", 4]
    assert not np.array_equal(fs[0], bs[0])                        # the old mode depends on order


def test_independent_training_chunks_are_the_sequential_ones():
    """keyed = 0 while learning: the same numbers, spikes and weights as without the option."""
    from brian2.devices import reinit_and_delete

    p = model_params("mnist", 10)
    rates = _images(3, seed=1) * 2
    out = []
    for mode in ("sequential", "independent"):
        reinit_and_delete()
        eng = Engine(p, device="runtime", chunk_size=3, seed=0, verbose=False, runtime_target="numpy",
                     evaluation=mode)
        state, res = eng.run_chunk(eng.initial_state(), rates, np.array([1, 2, 3]), True, seed=4,
                                   sample_ids=np.array([7, 8, 9]))
        out.append((state, res))
    (s1, r1), (s2, r2) = out
    assert r1.hidden_counts.sum() > 0 and np.array_equal(r1.hidden_counts, r2.hidden_counts)
    for key in s1:
        assert np.array_equal(s1[key], s2[key]), key
    assert set(s2) - set(s1) == {"controller.n_shown"}


def test_independent_evaluation_needs_a_neuron_with_rest_code():
    from bioplastic.symstdp.network import build_network
    from bioplastic.symstdp.neurons import DIEHL_COOK_NEURON

    with pytest.raises(ValueError, match="rest code"):
        build_network(model_params("mnist", 5), 2, hidden_neuron=DIEHL_COOK_NEURON, evaluation="independent")
    with pytest.raises(ValueError, match="evaluation must be"):
        build_network(model_params("mnist", 5), 2, evaluation="batched")
    eng = Engine(model_params("mnist", 5), device="runtime", chunk_size=2, verbose=False,
                 runtime_target="numpy", evaluation="independent")
    with pytest.raises(ValueError, match="sample_ids"):
        eng.run_chunk(eng.initial_state(), np.zeros((2, 784)), np.zeros(2, dtype=int), False, 1,
                      sample_ids=np.array([1, -2]))
    assert phase_start_state(eng, eng.initial_state())["controller.n_shown"] == 0


@pytest.mark.slow   # 50 s; tests/test_population.py covers cpp = runtime and two processes on cpp in CI
@pytest.mark.standalone
def test_independent_evaluation_is_the_same_on_runtime_cpp_standalone_and_two_processes(tmp_path):
    """The same spikes, sample for sample: runtime mode, cpp_standalone, and cpp_standalone split
    over two processes by training.evaluate (each builds the same Engine, reusing its code)."""
    from brian2.devices import reinit_and_delete

    from bioplastic.symstdp.training import evaluate

    p = model_params("mnist", 20)
    rates = _images(10, seed=2)
    ids = np.arange(10) * 11
    labels = np.zeros(10, dtype=np.int64)
    eng = Engine(p, device="runtime", chunk_size=4, seed=0, verbose=False, evaluation="independent",
                 runtime_target="numpy")
    state = _trained_state(eng)
    runtime = evaluate(eng, state, rates, labels, ids)
    reinit_and_delete()
    eng = Engine(p, device="cpp_standalone", chunk_size=4, seed=0, verbose=False, evaluation="independent",
                 build_dir=tmp_path / "build")
    one = evaluate(eng, state, rates, labels, ids, workers=1)
    two = evaluate(eng, state, rates, labels, ids, workers=2)
    assert runtime.hidden_counts.sum() > 0
    for name in ("hidden_counts", "label_counts", "n_presentations", "intensity"):
        assert np.array_equal(getattr(runtime, name), getattr(one, name)), name
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    reinit_and_delete()
    seq = Engine(p, device="runtime", chunk_size=4, seed=0, verbose=False, runtime_target="numpy")
    with pytest.raises(ValueError, match="independent"):
        evaluate(seq, state, rates, labels, ids, workers=2)


@pytest.mark.standalone
def test_estimator_with_independent_evaluation_answers_each_image_alone(images):
    """SymSTDPClassifier(evaluation="independent"): the spikes of an image do not depend on the
    other images, their order or the batch (what check_estimator's invariance checks ask)."""
    from bioplastic import SymSTDPClassifier

    x, y = images
    clf = SymSTDPClassifier(n_hidden=20, chunk_size=50, evaluation="independent").fit(x[:100], y[:100])
    test = x[300:312]
    counts = clf.transform(test)
    assert counts.sum() > 0
    assert np.array_equal(clf.transform(test[::-1])[::-1], counts)
    assert np.array_equal(clf.transform(test[4:7]), counts[4:7])
    assert np.array_equal(clf.predict(test[[9, 2]]), clf.predict(test)[[9, 2]])
    # (that the sequential mode lacks this is shown in runtime mode above)
