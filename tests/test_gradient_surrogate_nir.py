"""NIR export and import of the surrogate-gradient network."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nir = pytest.importorskip("nir")

from bioplastic.gradient import brian2_bridge, lif, nir_io  # noqa: E402

pytestmark = pytest.mark.gradient


def _network(recurrent):
    params = lif.LIFParams(n_in=20, n_hidden=30, n_out=5, nb_steps=60)
    net = lif.SpikingNetwork(params, recurrent=recurrent, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        net.w_in.mul_(6.0)
        if recurrent:
            net.w_rec.mul_(0.5)
    return net


@pytest.mark.parametrize("recurrent", [False, True])
def test_round_trip_through_a_nir_file_gives_the_same_raster(tmp_path, recurrent):
    net = _network(recurrent)
    x = (torch.rand(6, 60, 20, generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64) < 0.05).double()
    path = tmp_path / "net.nir"
    nir.write(path, nir_io.to_nir(net))
    weights = nir_io.from_nir(path)
    np.testing.assert_array_equal(weights["w_in"], net.weights()["w_in"])
    np.testing.assert_allclose(weights["decays"], tuple(net.decays), rtol=1e-14)
    assert ("w_rec" in weights) == recurrent
    expected = brian2_bridge.torch_raster(net, x)
    got = brian2_bridge.run_brian2(weights, x)
    assert len(expected.spikes) > 50
    np.testing.assert_array_equal(got.spikes, expected.spikes)
    np.testing.assert_allclose(got.readout, expected.readout, atol=1e-12)


def test_unsupported_nodes_are_named():
    graph = nir_io.to_nir(_network(False))
    graph.nodes["pool"] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                        padding=np.array([0, 0]))
    graph.nodes["delay"] = nir.Delay(delay=np.ones(5))
    with pytest.raises(nir_io.NIRImportError, match=r"delay \(Delay\), pool \(SumPool2d\)"):
        nir_io.from_nir(graph)


def test_unrepresentable_parameters_are_refused():
    graph = nir_io.to_nir(_network(False))
    graph.nodes["hidden"].v_leak = np.full(30, 0.1)
    with pytest.raises(nir_io.NIRImportError, match="v_leak"):
        nir_io.from_nir(graph)
    graph = nir_io.to_nir(_network(False))
    graph.nodes["hidden"].tau_mem[3] *= 2
    with pytest.raises(nir_io.NIRImportError, match="same for every neuron"):
        nir_io.from_nir(graph)
