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


def _snntorch_network(n_in=20, n_hidden=30, n_out=5, threshold=1.5, seed=3):
    """An snnTorch network of the map's kind: Linear -> Synaptic (reset to zero) -> Linear -> Synaptic."""
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(seed)
    hidden = snn.Synaptic(alpha=torch.full((n_hidden,), 0.8), beta=torch.full((n_hidden,), 0.9),
                          threshold=torch.full((n_hidden,), threshold), reset_mechanism="zero",
                          init_hidden=True)
    readout = snn.Synaptic(alpha=torch.full((n_out,), 0.8), beta=torch.full((n_out,), 0.85),
                           threshold=torch.full((n_out,), 1e9), reset_mechanism="none",
                           init_hidden=True, output=True)
    net = torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden, bias=False), hidden,
                              torch.nn.Linear(n_hidden, n_out, bias=False), readout)
    with torch.no_grad():
        net[0].weight.mul_(4.0)
    return net


def _snntorch_run(net, x):
    """snnTorch's own simulation: hidden spikes and output membranes, (trials, steps, n)."""
    from snntorch import utils

    utils.reset(net)
    spikes, membrane = [], []
    with torch.no_grad():
        for n in range(x.shape[1]):
            s = net[1](net[0](x[:, n])).double()  # snnTorch spikes are float32
            _, _, mem = net[3](net[2](s))
            spikes.append(s)
            membrane.append(mem)
    return torch.stack(spikes, 1).numpy(), torch.stack(membrane, 1).numpy()


def test_a_graph_that_snntorch_writes_runs_with_snntorchs_raster(tmp_path):
    """snnTorch's export_to_nir, read back: the network spikes as snnTorch simulates it.

    snnTorch's Synaptic layer with reset to zero is the map up to a scale
    (``r = tau_mem/dt``, its threshold) that the import folds into the
    weights, and a shift: its spike at step n is ours at n + 2, its output
    membrane at step n is our readout at index n + 3.
    """
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    net = _snntorch_network()
    graph = export_to_nir(net, torch.zeros(20))
    net = net.double()  # its own simulation in float64, as ours
    path = tmp_path / "snntorch.nir"
    nir.write(path, graph)
    with pytest.raises(nir_io.NIRImportError, match="no metadata.*1e-4"):
        nir_io.from_nir(path)
    with pytest.raises(nir_io.NIRImportError, match="spiking_readout='membrane'"):
        nir_io.from_nir(path, dt=1e-4)
    weights = nir_io.from_nir(path, dt=1e-4, spiking_readout="membrane")
    np.testing.assert_allclose(weights["decays"], (0.9, 0.8, 0.85), rtol=1e-6)

    x = (torch.rand(4, 80, 20, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64) < 0.08).double()
    snn_spikes, snn_membrane = _snntorch_run(net, x)
    ours = brian2_bridge.run_brian2(weights, x)
    dense = np.zeros((4, 80, 30))
    dense[tuple(ours.spikes.T)] = 1
    assert snn_spikes.sum() > 100
    np.testing.assert_array_equal(dense[:, 2:], snn_spikes[:, :-2])
    assert not dense[:, :2].any()
    np.testing.assert_allclose(ours.readout[:, 3:], snn_membrane[:, :-3], rtol=1e-5, atol=1e-9)


def test_snntorch_graph_with_leaky_layers_is_refused_with_a_hint():
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    net = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False),
                              snn.Leaky(beta=torch.full((3,), 0.9), threshold=torch.ones(3), init_hidden=True),
                              torch.nn.Linear(3, 2, bias=False),
                              snn.Leaky(beta=torch.full((2,), 0.9), threshold=torch.ones(2),
                                        init_hidden=True, output=True))
    with pytest.raises(nir_io.NIRImportError, match=r"1 \(LIF\), 3 \(LIF\).*snn.Synaptic"):
        nir_io.from_nir(export_to_nir(net, torch.zeros(4)), dt=1e-4)
