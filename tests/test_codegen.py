"""The dense all-to-all templates (bioplastic.symstdp.device.codegen) against Brian2's own code."""

import numpy as np
import pytest

from bioplastic.symstdp.device.engine import Engine, chunk_seed

pytestmark = pytest.mark.standalone


def test_dense_templates_give_bit_identical_training(tmp_path):
    """Two chunks of real training (Poisson input, STDP, scaling, teacher): the dense
    pathway, scaling, two-pass and calendar threshold and main-loop templates and Brian2's queue,
    indexed loops, thresholder and main loop give the same bits in every state variable and the same
    spike counts."""
    from brian2.devices import reinit_and_delete

    from bioplastic.symstdp.params import model_params

    p = model_params("mnist", 30)
    K = 3
    rng = np.random.default_rng(0)
    rates = rng.uniform(0, 60, (2, K, 784)) * (rng.random((2, K, 784)) < 0.2)
    labels = np.array([[0, 1, 2], [3, 4, 5]])
    runs = {}
    for dense in (True, False):
        reinit_and_delete()
        eng = Engine(p, device="cpp_standalone", chunk_size=K, seed=0, verbose=False,
                     build_dir=tmp_path / f"build-{dense}", dense_synapses=dense)
        # (Brian2 numbers the code objects of a second network in one process)
        generated = [f.read_text() for f in
                     (tmp_path / f"build-{dense}" / "code_objects").glob("input_hidden_pre_codeobject*.cpp")]
        assert len(generated) == 1 and ("_dense_checked" in generated[0]) == dense
        thresholder = [f.read_text() for f in (tmp_path / f"build-{dense}" / "code_objects").glob(
            "excitatory_spike_thresholder_codeobject*.cpp")]
        assert ("_conditions" in thresholder[0]) == dense
        inputs = [f.read_text() for f in (tmp_path / f"build-{dense}" / "code_objects").glob(
            "input_spike_thresholder_codeobject*.cpp")]
        assert ("_calendar" in inputs[0]) == dense
        network = (tmp_path / f"build-{dense}" / "network.cpp").read_text()
        assert ("curclocks.find" not in network) == dense  # lean main loop
        state = eng.initial_state()
        results = []
        for c in range(2):
            state, res = eng.run_chunk(state, rates[c], labels[c], True, seed=chunk_seed(0, c))
            results.append(res)
        runs[dense] = state, results
    (s_dense, r_dense), (s_brian, r_brian) = runs[True], runs[False]
    assert sum(r.hidden_counts.sum() for r in r_dense) > 0
    for a, b in zip(r_dense, r_brian):
        assert np.array_equal(a.hidden_counts, b.hidden_counts)
        assert np.array_equal(a.label_counts, b.label_counts)
    for key in s_brian:
        assert np.array_equal(s_dense[key], s_brian[key]), key
    w = "input_hidden.w"
    assert not np.array_equal(s_dense[w], eng.initial_state()[w]), "weights learned"


def test_dense_binary_refuses_synapses_that_are_not_all_to_all(tmp_path, capfd):
    from brian2 import NeuronGroup, Synapses, device, run, set_device, ms

    from bioplastic.symstdp.device.codegen import use_dense_synapses

    set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "b"))
    pre = NeuronGroup(3, "v : 1", threshold="True", reset="")
    post = NeuronGroup(3, "v : 1")
    # (a delay per synapse is refused before the build; the connectivity only when the binary runs)
    with pytest.raises(ValueError, match="per-synapse delays"):
        per_synapse = Synapses(pre, post, "w : 1", on_pre="v_post += w", name="per_synapse")
        per_synapse.connect()
        use_dense_synapses(per_synapse)
    syn = Synapses(pre, post, "w : 1", on_pre="v_post += w", name="one_to_one", delay={"pre": 0 * ms})
    syn.connect(j="i")
    use_dense_synapses(syn)
    run(1 * ms)
    with pytest.raises(RuntimeError) as err:
        device.build(directory=str(tmp_path / "b"), compile=True, run=True)
    assert "Project run failed" in str(err.value)
    message = capfd.readouterr().err
    assert "not all-to-all" in message and "one_to_one_pre" in message


def test_dense_synapses_refuse_sums_over_synapses_and_other_devices():
    from brian2 import NeuronGroup, Synapses, ms, set_device

    from bioplastic.symstdp.device.codegen import use_calendar_threshold, use_dense_synapses, use_two_pass_threshold

    def synapses(on_pre="v_post += w"):
        pre = NeuronGroup(2, "v : 1", threshold="v > 1", reset="")
        post = NeuronGroup(2, "v : 1")
        syn = Synapses(pre, post, "w : 1", on_pre=on_pre, delay={"pre": 0 * ms})
        syn.connect()
        return syn

    with pytest.raises(ValueError, match="cpp_standalone"):
        use_dense_synapses(synapses())  # runtime device
    set_device("cpp_standalone", build_on_run=False)
    with pytest.raises(ValueError, match="v_pre"):
        use_dense_synapses(synapses("v_pre += w"))
    syn = synapses()
    syn.run_regularly("v_post += w")
    with pytest.raises(ValueError, match="v_post"):
        use_dense_synapses(syn)
    with pytest.raises(ValueError, match="random numbers"):
        use_two_pass_threshold(NeuronGroup(2, "v : 1", threshold="rand() < 0.1"))
    with pytest.raises(ValueError, match="no spike threshold"):
        use_two_pass_threshold(NeuronGroup(2, "v : 1"))
    with pytest.raises(ValueError, match="input group's condition"):
        use_calendar_threshold(NeuronGroup(2, "next_spike : integer", threshold="next_spike > 0"))


def test_lean_network_loop_is_for_cpp_standalone_only():
    from brian2.devices.device import RuntimeDevice

    from bioplastic.symstdp.device.codegen import lean_network_loop

    with pytest.raises(ValueError, match="cpp_standalone"):
        with lean_network_loop(RuntimeDevice()):
            pass
