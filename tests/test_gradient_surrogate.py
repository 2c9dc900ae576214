"""Surrogate-gradient family: surrogates, the discrete LIF map, regularisers, training loop."""

import json
import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from bioplastic.gradient import lif, regularizers, surrogates, training  # noqa: E402

pytestmark = pytest.mark.gradient


# --------------------------------------------------------------------------
# surrogates
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(surrogates.SURROGATES))
@pytest.mark.parametrize("beta", [0.5, 5.0, 50.0])
def test_surrogate_backward_matches_finite_differences_of_primitive(name, beta):
    spike_fn = surrogates.get_surrogate(name, beta)
    # points away from the kinks of the Esser surrogate (|x| = 1/beta) and from 0
    x = torch.linspace(-1.5, 1.5, 61, dtype=torch.float64)
    x = x[(x.abs() > 1e-3) & ((x.abs() - 1 / beta).abs() > 1e-3)].requires_grad_(True)
    y = spike_fn(x)
    assert torch.equal(y, (x > 0).to(x.dtype))  # forward: Heaviside
    (grad,) = torch.autograd.grad(y.sum(), x)
    eps = 1e-6
    with torch.no_grad():
        fd = (spike_fn.primitive(x + eps) - spike_fn.primitive(x - eps)) / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), fd.numpy(), rtol=1e-5, atol=1e-7)


def test_surrogate_peaks_and_heaviside_at_zero():
    zero = torch.zeros(1, dtype=torch.float64)
    peaks = {name: float(surrogates.get_surrogate(name, 20.0).derivative(zero))
             for name in surrogates.SURROGATES}
    assert peaks == {"superspike": 1.0, "sigmoid": 0.25, "esser": 1.0, "asymptotic": 20.0,
                     "constant": 1.0, "true": 0.0}
    assert float(surrogates.get_surrogate("superspike")(zero)) == 0.0  # H(0) = 0


@pytest.mark.parametrize("bad_beta", [0, -1.0, float("nan"), float("inf")])
def test_surrogate_rejects_bad_beta(bad_beta):
    with pytest.raises(ValueError, match="beta"):
        surrogates.get_surrogate("superspike", bad_beta)


def test_surrogate_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="superspike, sigmoid, esser, asymptotic, constant, true"):
        surrogates.get_surrogate("fast_sigmoid", 10.0)


# --------------------------------------------------------------------------
# the discrete LIF map
# --------------------------------------------------------------------------

def _single_neuron(w_in, w_out=1.0, nb_steps=8):
    params = lif.LIFParams(n_in=1, n_hidden=1, n_out=1, nb_steps=nb_steps)
    net = lif.SpikingNetwork(params, dtype=torch.float64)
    with torch.no_grad():
        net.w_in.fill_(w_in)
        net.w_out.fill_(w_out)
    return net


def test_params_decays_and_units():
    p = lif.LIFParams()
    d = p.decays()
    assert d.b_mem == pytest.approx(math.exp(-0.1))
    assert d.b_syn == pytest.approx(math.exp(-0.2))
    assert d.b_out == pytest.approx(math.exp(-0.05))
    assert p.record()["tau_mem"] == "10. ms"
    with pytest.raises(TypeError, match="tau_mem"):
        lif.LIFParams(tau_mem=10.0)


def test_single_neuron_hand_computed_trace():
    """Input spikes at steps 0 and 1 with w = 0.8, then a large one at step 4."""
    net = _single_neuron(0.8)
    bm, bs, _ = net.decays
    cm = 1 - bm
    x = torch.zeros(1, 8, 1, dtype=torch.float64)
    x[0, [0, 1], 0] = 1.0
    out = net(x, record_membrane=True)
    u = out.membrane[0, :, 0].detach().numpy()
    i1 = 0.8                       # I[1]: spike of step 0 (one-step delay)
    i2 = bs * 0.8 + 0.8            # I[2]
    i3 = bs * i2
    expected = [0.0, 0.0, cm * i1, bm * cm * i1 + cm * i2]
    expected.append(bm * expected[3] + cm * i3)
    np.testing.assert_allclose(u[:5], expected, rtol=0, atol=1e-15)
    assert out.spikes.sum() == 0  # stays below threshold 1

    # a strong input: threshold crossed at step 2, multiplicative reset to 0 at step 3
    net = _single_neuron(12.0)
    x = torch.zeros(1, 8, 1, dtype=torch.float64)
    x[0, 0, 0] = 1.0
    out = net(x, record_membrane=True)
    u = out.membrane[0, :, 0].detach().numpy()
    assert u[2] == pytest.approx(cm * 12.0)  # 1.14 > 1
    assert out.spikes[0, :, 0].tolist()[:4] == [0, 0, 1, 0]
    assert u[3] == 0.0
    assert u[4] == pytest.approx(cm * 12.0 * bs * bs)  # U[4] = (1-b_mem) I[3], I[3] = b_syn^2 * 12


def test_readout_is_max_over_time_of_filtered_spikes():
    net = _single_neuron(12.0, w_out=2.0, nb_steps=10)
    bm, bs, bo = net.decays
    x = torch.zeros(1, 10, 1, dtype=torch.float64)
    x[0, 0, 0] = 1.0
    out = net(x)
    spikes = out.spikes[0, :, 0].detach().numpy()
    # the readout by hand from the spikes
    u_out, i_out, trace = 0.0, 0.0, []
    for n in range(10):
        u_out, i_out = bo * u_out + (1 - bo) * i_out, bs * i_out + 2.0 * spikes[n]
        trace.append(u_out)
    np.testing.assert_allclose(out.readout[0, :, 0].detach().numpy(), trace, atol=1e-13)
    assert float(out.logits[0, 0].detach()) == pytest.approx(max(trace))


def test_reset_detached_by_default_and_differentiable_on_request():
    torch.manual_seed(0)
    x = (torch.rand(4, 30, 20, dtype=torch.float64) < 0.2).double()
    grads = {}
    for dr in (False, True):
        net = lif.SpikingNetwork(lif.LIFParams(nb_steps=30), surrogate="asymptotic", beta=5.0,
                                 differentiable_reset=dr, dtype=torch.float64,
                                 generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            net.w_in.mul_(8.0)
        out = net(x)
        assert out.spikes.sum() > 0
        out.logits.sum().backward()
        grads[dr] = net.w_in.grad.clone()
    assert not torch.allclose(grads[False], grads[True])


def test_recurrent_weights_change_activity():
    torch.manual_seed(0)
    x = (torch.rand(3, 40, 20) < 0.2).float()
    net = lif.SpikingNetwork(lif.LIFParams(nb_steps=40), recurrent=True,
                             generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        net.w_in.mul_(8.0)
    a = net(x).spikes.sum()
    with torch.no_grad():
        net.w_rec.fill_(0.5)
    assert net(x).spikes.sum() > a
    assert set(net.weights()) == {"w_in", "w_rec", "w_out"}


def test_forward_rejects_wrong_input_shape():
    net = lif.SpikingNetwork()
    with pytest.raises(ValueError, match="input must have shape"):
        net(torch.zeros(2, 100, 21))


# --------------------------------------------------------------------------
# regularisers
# --------------------------------------------------------------------------

def test_regularizer_values():
    # 2 samples, 3 time steps, 2 neurons: counts [[2, 0], [3, 1]]
    s = torch.tensor([[[1, 0], [1, 0], [0, 0]],
                      [[1, 1], [1, 0], [1, 0]]], dtype=torch.float64)
    # lower bound, threshold 1.5: relu(1.5 - counts)^2 = [[0, 2.25], [0, 0.25]] -> mean 0.625
    assert float(regularizers.lower_bound(s, strength=2.0, threshold=1.5)) == pytest.approx(1.25)
    # upper bound: population means [1, 2]; threshold 1.2 -> relu = [0, 0.8]
    assert float(regularizers.upper_bound(s, 1.0, 1.2, power=1)) == pytest.approx(0.4)
    assert float(regularizers.upper_bound(s, 1.0, 1.2, power=2)) == pytest.approx(0.32)
    # defaults (Table 1): 100 * mean(relu(1e-3 - counts)^2), one silent neuron-sample of four
    assert float(regularizers.lower_bound(s)) == pytest.approx(100 * 1e-6 / 4)
    with pytest.raises(ValueError, match="power"):
        regularizers.upper_bound(s, power=3)
    with pytest.raises(ValueError, match="strength"):
        regularizers.lower_bound(s, strength=-1.0)


# --------------------------------------------------------------------------
# training loop
# --------------------------------------------------------------------------

class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)
        torch.nn.init.constant_(self.lin.weight, 0.1)
        torch.nn.init.zeros_(self.lin.bias)

    def forward(self, x):
        return self.lin(x)


def _toy_data(n=120):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    x = torch.randn(n, 4, generator=g) * 0.3
    x[torch.arange(n), y] += 1.0
    return x, y


def _ce(model, x, y):
    logits = model(x)
    return training.BatchResult(torch.nn.functional.cross_entropy(logits, y), logits.argmax(1),
                                {"mean_logit": float(logits.mean())})


def test_fit_learns_and_records(tmp_path):
    data = _toy_data()
    lines = []
    rec = training.fit(_Linear(), _ce, data, epochs=3, lr=0.05, batch_size=16, val_data=data,
                       out=tmp_path, log=lines.append)
    assert list(rec["epoch"]) == [1, 2, 3] and len(lines) == 3
    assert {"train_loss", "train_accuracy", "train_mean_logit", "val_loss", "val_accuracy",
            "seconds"} <= set(rec.columns)
    assert rec["val_accuracy"].iloc[-1] > 0.9
    assert rec["train_loss"].iloc[-1] < rec["train_loss"].iloc[0]
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["status"] == "finished" and state["epoch"] == 3
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "epochs.csv"), rec.drop(columns=[]),
                                  check_dtype=False)
    assert set(np.load(tmp_path / "weights.npz").files) == {"lin.weight", "lin.bias"}
    with pytest.raises(training.CheckpointError, match="resume=True"):
        training.fit(_Linear(), _ce, data, epochs=3, out=tmp_path, progress=False)


def test_resume_repeats_an_uninterrupted_run(tmp_path):
    data = _toy_data()
    a = _Linear()
    training.fit(a, _ce, data, epochs=4, lr=0.05, batch_size=16, seed=3, progress=False)
    b = _Linear()
    training.fit(b, _ce, data, epochs=2, lr=0.05, batch_size=16, seed=3, out=tmp_path,
                 progress=False)
    c = _Linear()  # a fresh process: new model and optimiser, state from the checkpoint
    rec = training.fit(c, _ce, data, epochs=4, lr=0.05, batch_size=16, seed=3, out=tmp_path,
                       resume=True, progress=False)
    assert list(rec["epoch"]) == [1, 2, 3, 4]
    for name, value in a.state_dict().items():
        torch.testing.assert_close(c.state_dict()[name], value, rtol=0, atol=0)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    data = _toy_data()
    calls = {"n": 0}

    def loss_fn(model, x, y):
        calls["n"] += 1
        result = _ce(model, x, y)
        if calls["n"] > 8:  # 120 / 16 = 8 batches: the second epoch diverges
            result.loss = result.loss * float("nan")
        return result

    model = _Linear()
    with pytest.raises(training.TrainingDivergedError, match="epoch 2.*checkpoint of epoch 1"):
        training.fit(model, loss_fn, data, epochs=3, lr=0.05, batch_size=16, out=tmp_path,
                     progress=False)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["status"] == "diverged" and state["epoch"] == 1
    kept = _Linear()
    meta = training.load_checkpoint(tmp_path, kept)
    assert meta["epoch"] == 1 and len(pd.read_csv(tmp_path / "epochs.csv")) == 1
    assert torch.isfinite(kept.lin.weight).all()


def test_load_checkpoint_refuses_another_model(tmp_path):
    training.fit(_Linear(), _ce, _toy_data(), epochs=1, out=tmp_path, progress=False)
    with pytest.raises(training.CheckpointError, match="does not fit"):
        training.load_checkpoint(tmp_path, torch.nn.Linear(5, 3))


def test_fit_prints_batch_progress_within_long_epochs():
    lines = []
    training.fit(_Linear(), _ce, _toy_data(), epochs=1, batch_size=40, log=lines.append,
                 progress_interval=0.0)
    for k, line in enumerate(lines[:3], 1):
        assert f"batch {k}/3" in line
    assert lines[-1].startswith("epoch   1  train_loss")


def test_sparse_input_gives_the_dense_result():
    g = torch.Generator().manual_seed(0)
    times = torch.randint(0, 40, (5, 20), generator=g).numpy()  # 30..39 -> some silent units
    dense = lif.spikes_from_times(times, 30, dtype=torch.float64)
    sparse = lif.spikes_from_times(times, 30, dtype=torch.float64, sparse=True)
    assert sparse.is_sparse and torch.equal(sparse.to_dense(), dense)
    grads = []
    for x in (dense, sparse):
        net = lif.SpikingNetwork(lif.LIFParams(nb_steps=30), dtype=torch.float64,
                                 generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            net.w_in.mul_(8.0)
        out = net(x)
        out.logits.sum().backward()
        grads.append((out.spikes.detach(), net.w_in.grad))
    assert grads[0][0].sum() > 0
    assert torch.equal(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)
    batches = lif.SpikeTimesBatches(times, 30, sparse=True)
    assert batches[torch.tensor([0, 2])].is_sparse and len(batches) == 5


def test_keep_best_restores_the_best_epoch_and_survives_resume(tmp_path):
    data = _toy_data()
    calls = {"n": 0}

    def loss_fn(model, x, y):  # validation accuracy is best after epoch 2, then "drops"
        result = _ce(model, x, y)
        if not torch.is_grad_enabled():
            calls["n"] += 1
            epoch = calls["n"]
            result.predictions = y if epoch == 2 else torch.zeros_like(y)
        return result

    model = _Linear()
    training.fit(model, loss_fn, data, epochs=2, lr=0.05, batch_size=200, val_data=data,
                 eval_batch_size=200, out=tmp_path, keep_best="val_accuracy", progress=False)
    best_after_2 = {k: v.clone() for k, v in model.state_dict().items()}
    resumed = _Linear()
    rec = training.fit(resumed, loss_fn, data, epochs=3, lr=0.05, batch_size=200, val_data=data,
                       eval_batch_size=200, out=tmp_path, resume=True, keep_best="val_accuracy",
                       progress=False)
    assert rec["val_accuracy"].tolist() == [pytest.approx(1 / 3), 1.0, pytest.approx(1 / 3)]
    for name, value in best_after_2.items():  # epoch 3 trained on, but epoch 2 is kept
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert set(np.load(tmp_path / "best_weights.npz").files) == {"lin.weight", "lin.bias"}
    with pytest.raises(ValueError, match="not a record column"):
        training.fit(_Linear(), _ce, data, epochs=1, keep_best="val_accuracy", progress=False)


def test_a_silent_default_network_warns_once_and_says_what_to_change():
    """SpikingNetwork() with MaxOverTimeLoss() starts silent on sparse input: zero gradient, one warning."""
    import warnings

    import torch

    from bioplastic.gradient import lif

    g = torch.Generator().manual_seed(1)
    x = (torch.rand(32, 100, 20, generator=g) < 0.05).float()
    y = torch.randint(0, 10, (32,), generator=g)
    net, loss = lif.SpikingNetwork(), lif.MaxOverTimeLoss()
    with pytest.warns(lif.SilentHiddenLayerWarning, match="init_gain=3.*lower=\\{\\}"):
        result = loss(net, x, y)
    result.loss.backward()
    assert float(net.w_in.grad.abs().sum()) == 0.0          # the reason for the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(net, x, y)                                      # once per loss object
        net.eval()
        lif.MaxOverTimeLoss()(net, x, y)                     # evaluation does not warn
    awake = lif.SpikingNetwork(init_gain=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = lif.MaxOverTimeLoss()(awake, x, y)
    result.loss.backward()
    assert float(awake.w_in.grad.abs().sum()) > 0
