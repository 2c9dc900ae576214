"""The LIF network with adaptive input scaling: PyTorch forward, training, Brian2 raster, rate callback."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brian2 import ms  # noqa: E402

from bioplastic.gradient.adaptive.network import (  # noqa: E402
    AdaptiveScalingNetwork,
    population_rate_response,
    run_brian2_scaled,
)
from bioplastic.gradient.adaptive.scaling import AdaptiveScaling, RelaxationRule  # noqa: E402
from bioplastic.gradient.brian2_bridge import torch_raster  # noqa: E402
from bioplastic.gradient.lif import LIFParams, MaxOverTimeLoss, SpikingNetwork  # noqa: E402
from bioplastic.gradient.training import evaluate, fit  # noqa: E402

pytestmark = pytest.mark.gradient

classification_loss = MaxOverTimeLoss()  # the surrogate family's loss: CE on max-over-time logits
PARAMS = LIFParams(n_in=30, n_hidden=20, n_out=4, nb_steps=50)


def _model(scaling=True, seed=1, gain=4.0, params=PARAMS, rule=None):
    sc = None
    if scaling:
        sc = AdaptiveScaling(params.n_in, rule=rule or RelaxationRule(kappa=10.0, r_ref=0.05, eta=0.2),
                             tau_trace=10 * ms, dt=params.dt)
    m = AdaptiveScalingNetwork(params, scaling=sc, dtype=torch.float64,
                               generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        m.net.w_in.mul_(gain)  # enough input drive for a busy raster
    return m


def _spikes(n, steps, units, p=0.2, seed=0):
    return (torch.rand(n, steps, units, generator=torch.Generator().manual_seed(seed)) < p).double()


def test_forward_is_the_lif_network_on_scaled_spikes():
    model = _model()
    x = _spikes(3, 50, 30)
    out = model(x)
    plain = SpikingNetwork(PARAMS, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    plain.load_state_dict(model.net.state_dict())
    ref = plain(model.scale(x).scaled)
    assert torch.equal(out.spikes, ref.spikes) and torch.equal(out.logits, ref.logits)
    # without scaling (or with kappa = 0) it is exactly the plain network
    assert torch.equal(_model(scaling=False)(x).spikes, plain(x).spikes)
    off = _model(rule=RelaxationRule(kappa=0.0))
    assert torch.equal(off(x).spikes, plain(x).spikes)
    # and the scaling does change this raster
    assert not torch.equal(out.spikes, plain(x).spikes)


def test_brian2_raster_equals_pytorch_runtime():
    model = _model()
    x = _spikes(3, 50, 30, seed=2)
    ref = torch_raster(model, x)
    got = run_brian2_scaled(model, x)
    assert len(ref.spikes) > 50
    assert np.array_equal(got.spikes, ref.spikes)
    assert np.allclose(got.readout, ref.readout, rtol=0, atol=1e-12)
    # the plain network through the same function is the bridge's network
    plain = _model(scaling=False)
    assert np.array_equal(run_brian2_scaled(plain, x).spikes, torch_raster(plain, x).spikes)


@pytest.mark.standalone
def test_brian2_raster_equals_pytorch_after_training_cpp_standalone(tmp_path):
    """Train briefly with the surrogate family's loop, then compare rasters on a test batch (one C++ build)."""
    torch.manual_seed(0)
    params = LIFParams(n_in=30, n_hidden=20, n_out=2, nb_steps=40)
    model = _model(params=params, gain=2.0)
    x = _spikes(64, 40, 30, p=0.1, seed=5)
    y = torch.arange(64) % 2
    x[y == 1, :, :15] = torch.maximum(x[y == 1, :, :15], _spikes(32, 40, 15, p=0.2, seed=6))  # class 1: busier half
    before = model.net.w_in.detach().clone()
    fit(model, classification_loss, (x, y), epochs=2, lr=5e-3, batch_size=32, progress=False)
    assert not torch.equal(before, model.net.w_in.detach())
    test = _spikes(4, 40, 30, p=0.15, seed=9)
    ref = torch_raster(model, test)
    got = run_brian2_scaled(model, test, device="cpp_standalone", directory=tmp_path / "build")
    assert len(ref.spikes) > 20
    assert np.array_equal(got.spikes, ref.spikes)


def test_training_learns_with_scaling():
    """The surrogate family's fit() trains the scaled network on a two-class event task."""
    params = LIFParams(n_in=30, n_hidden=20, n_out=2, nb_steps=30)
    model = _model(params=params, gain=2.0)
    y = torch.arange(200) % 2
    x = _spikes(200, 30, 30, p=0.05, seed=3)
    busy = _spikes(200, 30, 30, p=0.3, seed=4)
    x[y == 0, :, :10] = busy[y == 0, :, :10]  # class 0 drives inputs 0-9, class 1 inputs 20-29
    x[y == 1, :, 20:] = busy[y == 1, :, 20:]
    before = evaluate(model, classification_loss, (x, y))["eval_accuracy"]
    fit(model, classification_loss, (x, y), epochs=8, lr=1e-2, batch_size=50, progress=False, seed=0)
    after = evaluate(model, classification_loss, (x, y))["eval_accuracy"]
    assert after >= 0.9 and after > before


def test_population_rate_calls_back_with_scaling_only():
    """After a step up of input intensity the rate falls back toward its old value with scaling, not without."""
    params = LIFParams(n_in=100, n_hidden=50, n_out=2)
    rates = {}
    for scaling in (True, False):
        model = _model(scaling=scaling, params=params, gain=1.0, seed=0,
                       rule=RelaxationRule(kappa=10.0, r_ref=0.05, eta=0.2))
        with torch.no_grad():
            model.net.w_in.copy_(model.net.w_in.abs() + 0.02)  # excitatory input
        rates[scaling] = population_rate_response(model, 0.05, 0.15, n_steps=400, n_trials=20, seed=0)
    for scaling, r in rates.items():
        before, early, late = r[100:200].mean(), r[200:230].mean(), r[300:400].mean()
        assert early > 1.5 * before  # the step reaches the hidden layer either way
        if scaling:
            assert late < 0.95 * early  # the callback: the rate turns back down
        else:
            assert late >= 0.95 * early  # no callback without scaling
    excess = {s: r[300:400].mean() / r[100:200].mean() - 1 for s, r in rates.items()}
    assert excess[True] < 0.7 * excess[False]


def test_bad_input():
    with pytest.raises(ValueError, match="n_pre=5, the network n_in=30"):
        AdaptiveScalingNetwork(PARAMS, scaling=AdaptiveScaling(5))
    with pytest.raises(ValueError, match="dt=2. ms differs"):
        AdaptiveScalingNetwork(PARAMS, scaling=AdaptiveScaling(30, dt=2 * ms))
    with pytest.raises(NotImplementedError, match="feed-forward"):
        AdaptiveScalingNetwork(PARAMS, recurrent=True)
    with pytest.raises(ValueError, match="unknown scaling rule"):
        AdaptiveScalingNetwork(PARAMS, scaling="bogus")
    with pytest.raises(ValueError, match="p_after must be a probability"):
        population_rate_response(_model(), 0.1, 1.5)
    with pytest.raises(ValueError, match="device must be"):
        run_brian2_scaled(_model(), _spikes(1, 5, 30), device="cuda")
