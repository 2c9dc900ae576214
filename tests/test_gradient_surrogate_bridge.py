"""The Brian2 bridge: the Brian2 raster equals the PyTorch forward pass exactly."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bioplastic.gradient import brian2_bridge, lif  # noqa: E402

pytestmark = pytest.mark.gradient


def _network(recurrent, seed=2):
    params = lif.LIFParams(n_in=20, n_hidden=30, n_out=5, nb_steps=60)
    net = lif.SpikingNetwork(params, recurrent=recurrent, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():  # random weights strong enough for plenty of spikes
        net.w_in.mul_(6.0)
        if recurrent:
            net.w_rec.mul_(0.5)
    return net


def _batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 60, 20, generator=g, dtype=torch.float64) < 0.05).double()


@pytest.mark.parametrize("recurrent", [False, True])
def test_runtime_raster_equals_pytorch(recurrent):
    net, x = _network(recurrent), _batch()
    expected = brian2_bridge.torch_raster(net, x)
    got = brian2_bridge.run_brian2(net, x, device="runtime")
    assert len(expected.spikes) > 100  # a real test: many spikes, in every trial
    assert set(expected.spikes[:, 0]) == set(range(8))
    np.testing.assert_array_equal(got.spikes, expected.spikes)
    np.testing.assert_allclose(got.readout, expected.readout, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.logits.argmax(1), expected.logits.argmax(1))


def test_raster_changes_with_weights():
    """Guards against a vacuous comparison: other weights give another raster."""
    x = _batch()
    a = brian2_bridge.run_brian2(_network(False, seed=2), x)
    b = brian2_bridge.run_brian2(_network(False, seed=3), x)
    assert len(a.spikes) != len(b.spikes) or not np.array_equal(a.spikes, b.spikes)


def test_bridge_rejects_bad_input():
    net = _network(False)
    with pytest.raises(ValueError, match="shape"):
        brian2_bridge.run_brian2(net, np.zeros((2, 60, 7)))
    with pytest.raises(ValueError, match="device"):
        brian2_bridge.run_brian2(net, _batch(), device="cuda")


@pytest.mark.standalone
def test_cpp_standalone_raster_equals_pytorch(tmp_path):
    net, x = _network(True), _batch(n=4, seed=1)
    expected = brian2_bridge.torch_raster(net, x)
    got = brian2_bridge.run_brian2(net, x, device="cpp_standalone", directory=tmp_path / "build")
    assert len(expected.spikes) > 50
    np.testing.assert_array_equal(got.spikes, expected.spikes)
    np.testing.assert_allclose(got.readout, expected.readout, rtol=0, atol=1e-12)
