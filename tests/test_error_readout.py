"""The error-driven readout rule (normalised_error_rule, model "hao-2020-error-readout"):
its arithmetic against numpy, window by window; its record; its checks; runtime = cpp_standalone."""

import json

import numpy as np
import pytest

from bioplastic.analysis.readout import replay_normalised_error
from bioplastic.symstdp import plasticity
from bioplastic.symstdp.device.engine import Engine
from bioplastic.symstdp.models import HAO_2020, HAO_2020_ERROR_READOUT, MODELS, NetworkModel
from bioplastic.symstdp.plasticity import PlasticityRule, normalised_error_rule
from test_model import _det_params

K = 4


def _run(device="runtime", build_dir=None, model=HAO_2020_ERROR_READOUT, labels=(1, 2, 3, 1), seed=1):
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    p = _det_params(n_hidden=8)
    kw = dict(build_dir=build_dir) if device != "runtime" else dict(runtime_target="numpy")
    eng = Engine(p, device=device, chunk_size=K, seed=5, verbose=False, **kw, **model.engine_kwargs())
    rates = ((np.random.default_rng(0).random((K, 784)) < 0.05) * 1020.0)
    start = eng.initial_state()
    state, res = eng.run_chunk(start, rates, np.array(labels), True, seed=seed)
    return eng, start, state, res


def test_error_rule_is_the_delta_rule_of_the_normalised_drive():
    """Window by window, the label weights change by eta * (presynaptic spikes of the presentation)
    * (teacher - drive**n / sum drive**n), between the scalings: the numpy replay of the windows'
    hidden counts (bioplastic.analysis.readout.replay_normalised_error) gives the same weights."""
    eng, start, state, res = _run()
    p = eng.params
    rule = HAO_2020_ERROR_READOUT.label_rule
    counts = res.hidden_counts.astype(float)
    assert counts.sum() > 0 and len(counts) == K
    labels = np.array([1, 2, 3, 1])[res.ptr]
    w0 = np.asarray(start["hidden_label.w"]).reshape(p.n_hidden, p.label.n_classes)
    w1 = np.asarray(state["hidden_label.w"]).reshape(p.n_hidden, p.label.n_classes)
    expected = replay_normalised_error(w0, counts, labels, float(p.stdp_label.w_total), rule.parameters["eta"],
                                       rule.parameters["exponent"], rule.parameters["w_max"])
    np.testing.assert_allclose(w1, expected, rtol=1e-9, atol=1e-9)
    # it learned, and not what sym-STDP learns
    scaled0 = w0 * float(p.stdp_label.w_total) / w0.sum(axis=0, keepdims=True)
    assert not np.allclose(w1, scaled0)
    _, _, sym_state, _ = _run(model=HAO_2020)
    assert not np.allclose(sym_state["hidden_label.w"], state["hidden_label.w"])
    # the hidden layer does not depend on the label pathway's rule
    np.testing.assert_array_equal(sym_state["input_hidden.w"], state["input_hidden.w"])
    # the window-level variables end every window cleared: nothing to carry between chunks
    assert "hidden_label.elig" not in state and "label.drive" not in state


def test_error_rule_does_not_learn_in_evaluation():
    eng, start, _, _ = _run()
    rates = ((np.random.default_rng(3).random((K, 784)) < 0.05) * 1020.0)
    after, res = eng.run_chunk(start, rates, np.zeros(K, int), False, seed=2)
    np.testing.assert_array_equal(after["hidden_label.w"], start["hidden_label.w"])
    assert res.label_counts.sum() >= 0


def test_error_rule_checks_and_records():
    for bad in (dict(eta=0), dict(exponent=-1), dict(w_max=0)):
        with pytest.raises(ValueError, match="positive"):
            normalised_error_rule(**bad)
    rule = normalised_error_rule(eta=0.1, exponent=2)
    back = PlasticityRule.from_dict(json.loads(json.dumps(rule.to_dict())))
    assert back == rule
    model = NetworkModel.from_dict(json.loads(json.dumps(HAO_2020_ERROR_READOUT.to_dict())))
    assert model.label_rule == HAO_2020_ERROR_READOUT.label_rule
    assert MODELS["hao-2020-error-readout"] is HAO_2020_ERROR_READOUT
    from bioplastic.symstdp.cli import MODEL_NAMES

    assert MODEL_NAMES == list(MODELS)
    with pytest.raises(ValueError, match="post_model"):
        PlasticityRule("undeclared", on_pre="", on_post="", post_sums={"z": "v"})
    with pytest.raises(ValueError, match="learning_post"):
        PlasticityRule("ungated", on_pre="", on_post="", on_window_end="w = w * 2")
    assert rule.has_window_end and not plasticity.sym_stdp(_det_params().stdp_label).has_window_end


def test_error_rule_clashing_post_model_is_refused():
    from brian2.devices import reinit_and_delete

    reinit_and_delete()
    clash = PlasticityRule("clash", on_pre="", on_post="", post_model="count : 1")
    with pytest.raises(ValueError, match="already has"):
        Engine(_det_params(n_hidden=4), device="runtime", chunk_size=2, seed=0, verbose=False,
               runtime_target="numpy", label_rule=clash)


@pytest.mark.standalone
def test_error_rule_runs_the_same_on_cpp_standalone(tmp_path):
    """The rule's event pathway and layer sums fall back to Brian2's templates on cpp_standalone
    (logged in Engine.templates) and give runtime mode's weights and spikes."""
    _, _, rt_state, rt_res = _run()
    eng, _, cpp_state, cpp_res = _run("cpp_standalone", build_dir=tmp_path / "build")
    assert eng.templates["hidden_label"].startswith("brian2")
    np.testing.assert_array_equal(rt_res.hidden_counts, cpp_res.hidden_counts)
    np.testing.assert_array_equal(rt_res.label_counts, cpp_res.label_counts)
    for key in rt_state:
        np.testing.assert_allclose(cpp_state[key], rt_state[key], rtol=1e-7, atol=1e-12, err_msg=key)


def test_error_readout_follows_the_variants_label_pathway():
    """resolve_model scales the rule to the table (and its overrides): the same relative step,
    the pathway's own bound; its values are a parameter table of their own (recorded, overridable)."""
    from bioplastic.symstdp.models import resolve_model
    from bioplastic.symstdp.params import params_as_strings

    for n in (100, 6400):
        params, model = resolve_model("hao-2020-error-readout", "fashion-mnist", n, "learns")
        rule = model.label_rule
        assert rule.parameters["w_max"] == float(params.stdp_label.w_max)
        assert rule.parameters["eta"] == pytest.approx(
            params.error_readout.eta * float(params.stdp_label.w_total) / n)
        assert rule.parameters["exponent"] == params.error_readout.exponent
    _, big = resolve_model("hao-2020-error-readout", "fashion-mnist", 6400, "learns")
    assert big.label_rule.parameters["eta"] == pytest.approx(0.1)      # 0.125 of the mean weight 0.8
    params, over = resolve_model("hao-2020-error-readout", "fashion-mnist", 6400, "learns",
                                 {"stdp_label.w_total": "2560", "error_readout.exponent": "8"})
    assert over.label_rule.parameters["eta"] == pytest.approx(0.05)
    assert over.label_rule.parameters["exponent"] == 8.0
    assert params_as_strings(params)["error_readout"] == {"eta": 0.125, "exponent": 8.0}
    with pytest.raises(ValueError, match="eta must be positive"):
        resolve_model("hao-2020-error-readout", "mnist", 100, overrides={"error_readout.eta": "0"})


def test_replay_checks_its_input_and_reads_chunks():
    w = np.full((3, 2), 0.5)
    counts, labels = np.array([[2, 0, 1], [0, 3, 0]]), np.array([0, 1])
    whole = replay_normalised_error(w, counts, labels, 3.0, 0.1, 2.0, 8.0)
    chunked = replay_normalised_error(w, iter([counts[:1], counts[1:]]), iter([labels[:1], labels[1:]]),
                                      3.0, 0.1, 2.0, 8.0)
    np.testing.assert_array_equal(whole, chunked)
    assert whole[0, 0] > whole[0, 1] and whole[1, 1] > whole[1, 0]     # each class takes its inputs
    np.testing.assert_array_equal(w, 0.5)                                # the input is not modified
    with pytest.raises(ValueError, match="eta"):
        replay_normalised_error(w, counts, labels, 3.0, 0.0)
    with pytest.raises(ValueError, match="neurons"):
        replay_normalised_error(w, counts[:, :2], labels, 3.0, 0.1)
    with pytest.raises(ValueError, match="labels"):
        replay_normalised_error(w, counts, np.array([0, 2]), 3.0, 0.1)


@pytest.mark.standalone
def test_protocol_with_the_error_readout_keeps_validation_responses_to_replay_on(tmp_path):
    """--model hao-2020-error-readout through the protocol: the run records the rule's table, keeps
    its validation responses (validation_counts.npz), and readout_replay.py scores on them."""
    import subprocess
    import sys

    from conftest import ROOT, data_dir

    from bioplastic.runs import load_npz, read_json

    if data_dir() is None:
        pytest.skip("MNIST data not found")
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "protocols" / "supervised_mnist.py"), "--n-hidden", "30", "--n-train",
           "300", "--n-validation", "100", "--n-test", "100", "--chunk-size", "100", "--seed", "2",
           "--model", "hao-2020-error-readout", "--param", "error_readout.exponent=3", "--out", str(out),
           "--data-dir", str(data_dir()), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = read_json(out / "run.json")
    assert record["config"]["model"] == "hao-2020-error-readout"
    assert record["params"]["error_readout"] == {"eta": 0.125, "exponent": 3.0}
    val = load_npz(out / "validation_counts.npz")
    assert val["hidden_counts"].shape == (100, 30) and val["label_counts"].shape == (100, 10)
    assert val["hidden_counts"].sum() > 0
    metrics = read_json(out / "metrics.json")
    from bioplastic.analysis.readout import accuracy, supervised_predictions

    assert accuracy(supervised_predictions(val["label_counts"]), val["labels"]) == pytest.approx(
        metrics["validation_accuracy_supervised"])
    replay = subprocess.run([sys.executable, str(ROOT / "analysis" / "readout_replay.py"), str(out),
                             "--eta", "0.5", "--exponent", "3", "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["responses"] == "validation" and result["n_samples"] == 100
    assert result["label_layer"] == pytest.approx(metrics["validation_accuracy_supervised"])
    assert result["replays"][0]["n_windows"] >= 300
    # without its validation responses there is nothing to replay on: exit 2, one line
    (out / "validation_counts.npz").rename(tmp_path / "kept.npz")
    replay = subprocess.run([sys.executable, str(ROOT / "analysis" / "readout_replay.py"), str(out)],
                            capture_output=True, text=True, timeout=300)
    assert replay.returncode == 2 and "validation_counts.npz" in replay.stderr and "Traceback" not in replay.stderr
    # ... and they are recomputed from the checkpoint, spike for spike (runs that predate the file)
    script = [sys.executable, str(ROOT / "analysis" / "validation_responses.py"), str(out)]
    again = subprocess.run(script, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    kept, new = load_npz(tmp_path / "kept.npz"), load_npz(out / "validation_counts.npz")
    for key in kept:
        np.testing.assert_array_equal(new[key], kept[key], err_msg=key)
    refused = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "exists already" in refused.stderr and "Traceback" not in refused.stderr
    # a run made with parameters this code does not build: refused (they would not be its spikes)
    from bioplastic.runs import write_json

    (out / "validation_counts.npz").unlink()
    record["params"]["excitatory"]["tau_m"] = "1. s"
    write_json(out / "run.json", record)
    changed = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert changed.returncode == 2 and "does not build" in changed.stderr and "Traceback" not in changed.stderr
    assert not (out / "validation_counts.npz").exists()


def test_estimator_takes_the_error_readout_with_its_overrides():
    """SymSTDPClassifier(model="hao-2020-error-readout", overrides=...) builds the rule from its own
    final table (the rule's values are overridable there too)."""
    from bioplastic.symstdp.estimator import SymSTDPClassifier

    clf = SymSTDPClassifier(n_hidden=20, model="hao-2020-error-readout",
                            overrides={"error_readout.eta": "0.5", "error_readout.exponent": "2"})
    clf.n_features_in_, clf.classes_ = 784, np.arange(10)
    params = clf._params()
    rule = clf._net_model(params).label_rule
    assert rule.parameters["exponent"] == 2.0
    assert rule.parameters["eta"] == pytest.approx(0.5 * float(params.stdp_label.w_total) / 20)
    assert SymSTDPClassifier(n_hidden=20)._net_model(params).label_rule is None     # hao-2020: sym-STDP


def test_replay_reads_nested_lists_as_one_block():
    w = np.full((3, 2), 0.5)
    counts, labels = [[2, 0, 1], [0, 3, 0]], [0, 1]
    np.testing.assert_array_equal(replay_normalised_error(w, counts, labels, 3.0, 0.1),
                                  replay_normalised_error(w, np.array(counts), np.array(labels), 3.0, 0.1))


def test_the_named_models_rule_is_the_default_at_6400():
    """The constant's rule is what the default table gives at N_E = 6400; a model rebuilt from its
    record (equal, not the same object) still takes its rule from the table in use."""
    from bioplastic.symstdp.models import model_for_params, resolve_model

    _, model = resolve_model("hao-2020-error-readout", "mnist", 6400)
    assert model.label_rule == HAO_2020_ERROR_READOUT.label_rule
    rebuilt = NetworkModel.from_dict(json.loads(json.dumps(HAO_2020_ERROR_READOUT.to_dict())))
    params, _ = resolve_model("hao-2020-error-readout", "mnist", 6400, overrides={"error_readout.eta": "0.5"})
    assert model_for_params(rebuilt, params).label_rule.parameters["eta"] == pytest.approx(0.4)
