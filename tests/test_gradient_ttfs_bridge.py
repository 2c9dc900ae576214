"""TTFS networks in Brian2 against the exact model (runtime and cpp_standalone)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bioplastic.gradient.training import fit  # noqa: E402
from bioplastic.gradient.ttfs.bridge import compare, run_brian2, weights_of  # noqa: E402
from bioplastic.gradient.ttfs.coding import encode_images  # noqa: E402
from bioplastic.gradient.ttfs.network import TTFSNetwork  # noqa: E402
from bioplastic.gradient.ttfs.training import TTFSObjective  # noqa: E402

pytestmark = [pytest.mark.gradient, pytest.mark.usefixtures("one_torch_thread")]



def random_inputs(n=30, d=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)) ** 2
    x[x < 0.2] = 0.0                  # dark pixels: spikes at the end of the input window
    return encode_images(x, dtype=torch.float64)


@pytest.fixture(scope="module")
def untrained():
    net = TTFSNetwork((40, 30, 5), init_std=4.0, seed=1, dtype=torch.float64)
    return net, random_inputs()


@pytest.fixture(scope="module")
def runtime_times(untrained):
    net, t = untrained
    return run_brian2(net, t, dt_fraction=0.01, device="runtime", target="numpy")


def test_brian2_spikes_within_one_step_of_the_exact_crossing(untrained, runtime_times):
    net, t = untrained
    stats = compare(net, t, runtime_times, dt_fraction=0.01)
    for layer in (1, 2):
        # given the spikes Brian2 delivered, each spike is at the first grid
        # point at or after the exact crossing
        assert -1e-6 <= stats[f"layer{layer}_conditional_min_lag"]
        assert stats[f"layer{layer}_conditional_max_lag"] <= 1 + 1e-6
        assert stats[f"layer{layer}_conditional_status_mismatch"] == 0
    # the case must exercise both firing and silent neurons in the hidden layer
    fired = np.isfinite(runtime_times[0])
    assert 0.1 < fired.mean() < 0.99
    # end to end, the input spikes are also moved to the start of their step:
    # most spikes stay within one step, a few (mixed-sign weights) do not
    assert stats["layer1_within_one_step"] > 0.9
    assert stats["layer1_max_abs_error"] < 3


def test_one_spike_per_neuron_and_sample_and_samples_are_independent(untrained, runtime_times):
    net, t = untrained
    # the same samples in another order and alone give the same spikes
    alone = run_brian2(net, t[[7, 3]], dt_fraction=0.01, device="runtime", target="numpy")
    for a, full in zip(alone, runtime_times):
        np.testing.assert_array_equal(a, full[[7, 3]])
    for times in runtime_times:
        finite = times[np.isfinite(times)]
        assert finite.min() >= 0 and finite.max() <= net.t_max + 1e-9


def test_trained_network_predicts_the_same_class_in_brian2():
    rng = np.random.default_rng(3)
    protos = rng.random((3, 40)) ** 2
    y = rng.integers(0, 3, 500)
    x = encode_images(np.clip(protos[y] + 0.15 * rng.normal(size=(500, 40)), 0, 1))
    net = TTFSNetwork((40, 30, 3), seed=0)
    fit(net, TTFSObjective(), (x[:400], torch.as_tensor(y[:400])), epochs=4, lr=3e-3,
        batch_size=32, progress=False)
    params = weights_of(net)
    t_test = x[400:].to(torch.float64)
    stats = compare(params, t_test, run_brian2(params, t_test, dt_fraction=0.01, device="runtime",
                                               target="numpy"))
    assert stats["class_agreement"] >= 0.99
    assert stats["layer2_conditional_max_lag"] <= 1 + 1e-6


def test_bad_settings():
    net = TTFSNetwork((4, 3, 2))
    with pytest.raises(ValueError, match="device"):
        run_brian2(net, torch.zeros(1, 4), device="cuda")
    with pytest.raises(ValueError, match="dt_fraction"):
        run_brian2(net, torch.zeros(1, 4), dt_fraction=0.0)
    with pytest.raises(ValueError, match="expects 4"):
        run_brian2(net, torch.zeros(1, 5))


@pytest.mark.standalone
def test_cpp_standalone_gives_the_runtime_spikes(untrained, runtime_times, tmp_path):
    net, t = untrained
    cpp = run_brian2(net, t, dt_fraction=0.01, device="cpp_standalone", directory=tmp_path / "build")
    for a, b in zip(cpp, runtime_times):
        np.testing.assert_array_equal(a, b)


def test_precise_mode_removes_most_of_the_quantisation_error(untrained, runtime_times):
    net, t = untrained
    precise = run_brian2(net, t, dt_fraction=0.01, device="runtime", target="numpy", precise=True)
    with torch.no_grad():
        exact = [e.numpy() for e in net(t)]
    dt = 0.01 * net.t_max
    hidden_p, hidden_e = precise[0], exact[0]
    both = np.isfinite(hidden_p) & np.isfinite(hidden_e)
    err = np.abs(hidden_p[both] - hidden_e[both])
    # exact wherever no input arrives in the step of the crossing; never off by a step
    assert (err < 1e-9).mean() > 0.5 and err.max() <= dt
    s_plain = compare(net, t, runtime_times)
    s_precise = compare(net, t, precise, precise=True)
    assert s_precise["layer2_within_one_step"] >= s_plain["layer2_within_one_step"]
    assert s_precise["class_agreement"] >= s_plain["class_agreement"]
    assert s_precise["layer2_status_mismatch"] <= s_plain["layer2_status_mismatch"]
