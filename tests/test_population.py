"""Population mode: P copies of the network in one Brian2 model give the spikes and weights of P
single runs, and a frozen network evaluated through P copies gives the one-at-a-time predictions."""

import numpy as np
import pytest

from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.params import model_params
from bioplastic.symstdp.training import chunk_keys, evaluate_batched, run_phase, run_population_phase


def _data(n, seed):
    """Sparse random images as rates (Hz at intensity 1) and labels: enough to drive a tiny network."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0, 255, (n, 784)) * (rng.random((n, 784)) < 0.2) / 4.0
    return rates, rng.integers(0, 10, n), None


def _keys(seed):
    return chunk_keys(seed)          # chunk_seed(seed, i), picklable (workers)


def _train(engine, states, data, seeds):
    """Train each copy on its data, then evaluate it on the same images (learning off)."""
    trained, train_res = run_population_phase(engine, states, data, True, [_keys(s) for s in seeds])
    _, eval_res = run_population_phase(engine, trained, data, False, [lambda i: 0] * len(seeds),
                                       eval_seeds=seeds)
    return trained, train_res, eval_res


def _assert_same(a, b):
    for name in ("hidden_counts", "label_counts", "n_presentations", "intensity"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _check_population_is_single_runs(device, build_dir, n_hidden=20, sizes=(11, 7), chunk_size=4,
                                     then=None, model=None):
    from brian2.devices import reinit_and_delete

    p = model_params("mnist", n_hidden)
    seeds = [3, 8]
    data = [_data(n, 1 + c) for c, n in enumerate(sizes)]     # the copies see different samples
    opts = dict(device=device, chunk_size=chunk_size, verbose=False, runtime_target="numpy",
                **(model.engine_kwargs() if model is not None else {}))
    pop = Engine(p, population=2, seeds=seeds, build_dir=build_dir and build_dir / "p2", **opts)
    initial = pop.split_state(pop.initial_state())
    trained, train_res, eval_res = _train(pop, initial, data, seeds)
    later = then(pop, trained) if then is not None else None
    reinit_and_delete()
    # one single network (population=1), run from each copy's initial state with its seed and keys
    # (cpp_standalone: in the default build cache, where the workers below find it compiled)
    one = Engine(p, population=1, seeds=[seeds[0]], **opts)
    for c, seed in enumerate(seeds):
        t1, r1, e1 = _train(one, [initial[c]], [data[c]], [seed])
        assert train_res[c].hidden_counts.sum() > 0 and train_res[c].label_counts.sum() > 0
        _assert_same(train_res[c], r1[0])
        _assert_same(eval_res[c], e1[0])
        assert set(trained[c]) == set(t1[0])
        for key in t1[0]:
            assert np.array_equal(trained[c][key], t1[0][key]), key
    # the copies learned different things (different seeds and samples)
    assert not np.array_equal(trained[0]["input_hidden.w"], trained[1]["input_hidden.w"])
    if device == "cpp_standalone":
        # the copies split over two processes (two binaries of one build folder at once): the same
        split_st, split = run_population_phase(pop, initial, data, True, [_keys(s) for s in seeds], workers=2)
        for c in range(2):
            _assert_same(split[c], train_res[c])
            assert all(np.array_equal(split_st[c][k], trained[c][k]) for k in trained[c])
    return later


@pytest.mark.slow
def test_population_gives_the_single_runs_spikes_and_weights_in_runtime_mode():
    _check_population_is_single_runs("runtime", None, n_hidden=10, sizes=(5, 3), chunk_size=3)


@pytest.mark.slow
def test_population_of_the_error_readout_gives_the_single_runs():
    """The window-level rule's parts (the label layer's sums and window-end event) stay within a copy."""
    from bioplastic.symstdp.models import resolve_model

    _, model = resolve_model("hao-2020-error-readout", "mnist", 10)
    _check_population_is_single_runs("runtime", None, n_hidden=10, sizes=(5, 3), chunk_size=3, model=model)


@pytest.mark.slow
def test_population_split_over_processes_gives_the_same_copies():
    """workers=2: each process runs a population of its own copies; the same results."""
    p = model_params("mnist", 10)
    data = [_data(n, 1 + c) for c, n in enumerate((4, 3, 3))]
    eng = Engine(p, device="runtime", chunk_size=3, population=3, seeds=[3, 8, 9], verbose=False,
                 runtime_target="numpy")
    keys = [chunk_keys(s) for s in eng.seeds]
    start = eng.split_state(eng.initial_state())
    one_st, one = run_population_phase(eng, start, data, True, keys)
    two_st, two = run_population_phase(eng, start, data, True, keys, workers=2)
    for c in range(3):
        _assert_same(one[c], two[c])
        assert all(np.array_equal(one_st[c][k], two_st[c][k]) for k in one_st[c])
    assert one[0].hidden_counts.sum() > 0


@pytest.mark.standalone
def test_population_gives_the_single_runs_spikes_and_weights_on_cpp_standalone(tmp_path):
    """Two copies with their own seeds, samples and chunk keys, against two single runs: the same
    spikes, presentations and every state array (weights, theta, potentials, ...), bit for bit;
    the same again with the copies split over two processes; then a trained network evaluated through two copies gives the predictions of the
    one-at-a-time independent evaluation of an ordinary Engine (runtime mode)."""
    from brian2.devices import reinit_and_delete

    rates, _, _ = _data(7, 5)
    labels = np.zeros(7, dtype=np.int64)
    ids = np.arange(7) * 13 + 2

    def evaluate_through_copies(pop, trained):      # the second copy's network, on both copies
        return trained[1], evaluate_batched(pop, trained[1], rates, labels, ids, seed=3)

    state, batched = _check_population_is_single_runs("cpp_standalone", tmp_path, then=evaluate_through_copies)
    p = model_params("mnist", 20)
    reinit_and_delete()
    ref = Engine(p, device="runtime", chunk_size=3, seed=3, evaluation="independent", verbose=False,
                 runtime_target="numpy")
    _, single = run_phase(ref, state, rates, labels, False, lambda i: 0, sample_ids=ids)
    assert single.hidden_counts.sum() > 0
    _assert_same(batched, single)


def test_population_refuses_what_it_cannot_copy():
    from bioplastic.symstdp.models import resolve_model
    from bioplastic.symstdp.network import build_network

    p = model_params("mnist", 5)
    with pytest.raises(ValueError, match="pooled"):
        build_network(p, 2, inhibition="all-to-all", evaluation="independent", population=2)
    with pytest.raises(ValueError, match="independent"):
        build_network(p, 2, population=2)
    with pytest.raises(ValueError, match="2 seeds"):
        build_network(p, 2, evaluation="independent", population=2, seed=[1])
    delays = resolve_model("diehl-cook-2015-delays")[1].engine_kwargs()
    with pytest.raises(ValueError, match="delays"):
        build_network(p, 2, evaluation="independent", population=2, input_rule=delays["input_rule"])
    with pytest.raises(ValueError, match="seeds"):
        Engine(p, device="runtime", chunk_size=2, population=2, seeds=[1, 2, 3])
    with pytest.raises(ValueError, match="population mode"):
        Engine(p, device="runtime", chunk_size=2, seeds=[1])
    eng = Engine(p, device="runtime", chunk_size=2, population=2, verbose=False, runtime_target="numpy")
    assert eng.evaluation == "independent" and eng.seeds == [0, 1]
    state = eng.initial_state()
    with pytest.raises(ValueError, match="run_population_chunk"):
        eng.run_chunk(state, np.zeros((2, 784)), np.zeros(2, dtype=int), True, 1)
    with pytest.raises(ValueError, match="rates must have shape"):
        eng.run_population_chunk(state, np.zeros((2, 784)), np.zeros((2, 2), dtype=int), True, [1, 2])
    with pytest.raises(ValueError, match="chunk_keys"):
        eng.run_population_chunk(state, np.zeros((2, 2, 784)), np.zeros((2, 2), dtype=int), True, [1, -2])
    with pytest.raises(ValueError, match="2 states"):
        eng.join_states([state])
    with pytest.raises(ValueError, match="different seeds"):
        evaluate_batched(eng, eng.split_state(state)[0], np.zeros((3, 784)), np.zeros(3, dtype=int),
                         np.arange(3))
    from bioplastic.symstdp.training import evaluate

    with pytest.raises(ValueError, match="evaluate_batched"):
        evaluate(eng, eng.split_state(state)[0], np.zeros((3, 784)), np.zeros(3, dtype=int), np.arange(3))
    # split and join are inverse; a copy's state has a single network's shapes
    parts = eng.split_state(state)
    assert parts[0]["input_hidden.w"].shape == (784 * 5,)
    joined = eng.join_states(parts)
    assert all(np.array_equal(joined[k], state[k]) for k in state)
