"""Time-to-first-spike family: exact times, exact gradients, coding, regularisers, training."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bioplastic.gradient.training import evaluate, fit  # noqa: E402
from bioplastic.gradient.ttfs.coding import (  # noqa: E402
    encode_images, output_logits, predict, ttfs_cross_entropy)
from bioplastic.gradient.ttfs.network import TTFSNetwork, spike_counts  # noqa: E402
from bioplastic.gradient.ttfs.neuron import (  # noqa: E402
    causal_mask, causal_weight_sum, spike_times)
from bioplastic.gradient.ttfs.regularizers import f_ssr, m_ssr, network_regularizer  # noqa: E402
from bioplastic.gradient.ttfs.training import (  # noqa: E402
    SilentLayerError, SilentLayerWarning, TTFSObjective)

pytestmark = [pytest.mark.gradient, pytest.mark.usefixtures("one_torch_thread")]



# --------------------------------------------------------------------------
# reference implementations (independent of the package, numpy)
# --------------------------------------------------------------------------

def grid_first_spikes(t_in, w, t_max, v_th=1.0, n_grid=200_001):
    """Brute force: v on a fine grid, first grid point with v >= v_th."""
    grid = np.linspace(0.0, t_max, n_grid)
    out = np.full((t_in.shape[0], w.shape[0]), np.inf)
    for b in range(t_in.shape[0]):
        ramp = np.clip(grid[None, :] - t_in[b][:, None], 0.0, None)    # inf inputs -> 0
        v = w @ ramp                                                    # (n_out, n_grid)
        above = v >= v_th
        hit = above.any(axis=1)
        out[b, hit] = grid[above[hit].argmax(axis=1)]
    return out, t_max / (n_grid - 1)


def random_case(seed, batch=12, n_in=15, n_out=10, p_silent=0.2):
    rng = np.random.default_rng(seed)
    t_in = rng.uniform(0.0, 2.0, size=(batch, n_in))
    t_in[rng.random((batch, n_in)) < p_silent] = np.inf               # silent presynaptic neurons
    w = rng.normal(0.15, 0.6, size=(n_out, n_in))                       # many negative weights
    return t_in, w


def exact(t_in, w, t_max, **kw):
    out = spike_times(torch.tensor(t_in), torch.tensor(w), t_max, **kw)
    return out.numpy()


# --------------------------------------------------------------------------
# exact firing times
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_time_matches_fine_grid(seed):
    t_in, w = random_case(seed)
    t_max = 3.0
    t_exact = exact(t_in, w, t_max)
    t_grid, step = grid_first_spikes(t_in, w, t_max)
    fired = np.isfinite(t_exact)
    assert 0.2 < fired.mean() < 0.95, "the case must mix fired and silent neurons"
    np.testing.assert_array_equal(fired, np.isfinite(t_grid))
    # the grid finds the first grid point at or after the crossing
    d = t_grid[fired] - t_exact[fired]
    assert d.min() >= -1e-9 and d.max() <= step + 1e-9


def test_inputs_after_the_spike_do_not_matter():
    t_in = np.array([[0.0, 0.5, 2.5]])
    w = np.array([[1.0, 1.0, -50.0]])
    # v = t on [0, 0.5], then 2t - 0.5: reaches 1 at t = 0.75, before the inhibition
    assert exact(t_in, w, 3.0)[0, 0] == pytest.approx(0.75)
    w_late = np.array([[1.0, 1.0, +50.0]])
    assert exact(t_in, w_late, 3.0)[0, 0] == pytest.approx(0.75)


def test_near_zero_summed_weight_fires_late_and_gradient_is_guarded():
    # v reaches 0.9 at t = 0.45, then an inhibitory step leaves a slope of 0.01
    t_in = torch.tensor([[0.0, 0.45]], dtype=torch.float64)
    w = torch.tensor([[2.0, -1.99]], dtype=torch.float64, requires_grad=True)
    t = spike_times(t_in, w, 12.0, slope_floor=0.1)
    assert t.item() == pytest.approx(0.45 + 0.1 / 0.01)
    t.sum().backward()
    # exact gradient would be (t_j - t_i)/W with W = 0.01; the floor caps W at 0.1
    expected = (t_in[0] - t.detach()[0, 0]) / 0.1
    np.testing.assert_allclose(w.grad[0].numpy(), expected.numpy())
    assert torch.isfinite(w.grad).all()
    # the same neuron with a window that ends before the crossing is silent
    assert torch.isinf(spike_times(t_in, w.detach(), 10.0)).all()


def test_no_crossing_with_negative_total_weight():
    t_in = np.array([[0.1, 0.2, 0.3]])
    w = np.array([[-1.0, -1.0, 0.5]])
    assert np.isinf(exact(t_in, w, 100.0)).all()


def test_simultaneous_inputs_and_large_batch_agree_with_fine_grid():
    # images: many pixels tied at the end of the input window (the fast path)
    rng = np.random.default_rng(5)
    x = rng.random((8, 30))
    x[x < 0.6] = 0.0
    t_in = encode_images(x, dtype=torch.float64).numpy()
    w = rng.normal(0.2, 0.5, size=(6, 30))
    t_exact = exact(t_in, w, 2.5)
    t_grid, step = grid_first_spikes(t_in, w, 2.5)
    fired = np.isfinite(t_exact)
    np.testing.assert_array_equal(fired, np.isfinite(t_grid))
    assert np.all(np.abs(t_grid[fired] - t_exact[fired]) <= step + 1e-9)


# --------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------

def _finite_part(t):
    return torch.where(torch.isfinite(t), t, torch.zeros_like(t))


def _far_from_switches(t_in, t_out, margin=1e-3):
    """True when no input time lies within *margin* of a spike time or t_max."""
    d = np.abs(t_in[:, None, :] - t_out[:, :, None])
    return np.all(d[np.isfinite(d)] > margin)


@pytest.mark.parametrize("seed", [10, 12, 13])  # cases without a causal-set switch within 1e-3
def test_gradients_match_finite_differences(seed):
    t_in, w = random_case(seed, batch=4, n_in=8, n_out=6, p_silent=0.0)
    t_out = exact(t_in, w, 3.0)
    assert np.isfinite(t_out).mean() > 0.3
    assert _far_from_switches(t_in, t_out)
    # silent neurons must stay silent under the perturbation: margin at t_max
    ti = torch.tensor(t_in, requires_grad=True)
    wi = torch.tensor(w, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: _finite_part(spike_times(a, b, 3.0, slope_floor=1e-12)),
        (ti, wi), eps=1e-7, atol=1e-5, rtol=1e-4)


def test_gradient_formula_on_the_causal_set():
    t_in, w = random_case(3, batch=5, n_in=12, n_out=7)
    ti = torch.tensor(t_in, requires_grad=True)
    wi = torch.tensor(w, requires_grad=True)
    t = spike_times(ti, wi, 3.0, slope_floor=1e-12)
    _finite_part(t).sum().backward()
    m = causal_mask(ti.detach(), t.detach()).numpy()
    tt = t.detach().numpy()
    w_sum = (m * w).sum(axis=2)
    fired = np.isfinite(tt)
    c = np.where(fired, 1.0 / np.where(fired, w_sum, 1.0), 0.0)
    t_in_f = np.where(np.isfinite(t_in), t_in, 0.0)
    t_f = np.where(fired, tt, 0.0)
    grad_w = (c[:, :, None] * m * (t_in_f[:, None, :] - t_f[:, :, None])).sum(axis=0)
    grad_t = (c[:, :, None] * m * w[None]).sum(axis=1)
    np.testing.assert_allclose(wi.grad.numpy(), grad_w, atol=1e-12)
    np.testing.assert_allclose(ti.grad.numpy(), grad_t, atol=1e-12)
    # silent neurons give no gradient; inputs outside the window get none
    assert np.all(ti.grad.numpy()[~np.isfinite(t_in)] == 0)


def test_causal_weight_sum_and_its_gradient():
    t_in, w = random_case(4, batch=6, n_in=10, n_out=8)
    ti, wi = torch.tensor(t_in), torch.tensor(w, requires_grad=True)
    t = spike_times(ti, wi, 3.0)
    w_sum = causal_weight_sum(ti, t, wi, 3.0)
    m = causal_mask(ti, t.detach()).to(torch.float64)
    np.testing.assert_allclose(w_sum.detach().numpy(), (m * wi.detach()).sum(2).numpy(), atol=1e-12)
    g = torch.randn(w_sum.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (w_sum * g).sum().backward()
    np.testing.assert_allclose(wi.grad.numpy(), (m * g[:, :, None]).sum(0).numpy(), atol=1e-12)


@pytest.mark.parametrize("reg", [m_ssr, f_ssr])
def test_regularizer_gradients_match_finite_differences(reg):
    t_in, w = random_case(21, batch=3, n_in=8, n_out=6, p_silent=0.0)
    t_out = exact(t_in, w, 3.0)
    assert _far_from_switches(t_in, t_out)

    def fn(a, b):
        return reg(a, spike_times(a, b, 3.0, slope_floor=1e-12), b, 3.0)

    assert torch.autograd.gradcheck(fn, (torch.tensor(t_in, requires_grad=True),
                                         torch.tensor(w, requires_grad=True)),
                                    eps=1e-7, atol=1e-5, rtol=1e-4)


def test_regularizer_values():
    t_in = torch.tensor([[0.0, 0.5, 2.5]], dtype=torch.float64)
    w = torch.tensor([[1.0, 1.0, -50.0], [0.1, 0.1, 0.1]], dtype=torch.float64)
    t = spike_times(t_in, w, 3.0)          # neuron 0 fires at 0.75, neuron 1 is silent
    assert t[0, 0].item() == pytest.approx(0.75) and torch.isinf(t[0, 1])
    # H1: W_0 (t_max - t_0) = 2 * 2.25
    assert m_ssr(t_in, t, w, 3.0).item() == pytest.approx(4.5)
    # H2: v_0(3) = 3 + 2.5 - 25 < 1 -> 0;  v_1(3) = 0.3 + 0.25 + 0.05 < 1 -> 0
    assert f_ssr(t_in, t, w, 3.0).item() == 0.0
    w2 = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    assert f_ssr(t_in, spike_times(t_in, w2, 3.0), w2, 3.0).item() == pytest.approx(3 + 2.5 - 1)


# --------------------------------------------------------------------------
# coding, decoding, loss
# --------------------------------------------------------------------------

def test_encoding():
    x = np.array([[[0.0, 1.0], [0.25, 0.5]]])
    t = encode_images(x, t_in=2.0)
    np.testing.assert_allclose(t.numpy(), [[2.0, 0.0, 1.5, 1.0]])
    assert encode_images(x, n_pixels=4).shape == (1, 4)


@pytest.mark.parametrize("bad, match", [
    (np.full((2, 4), 255, dtype=np.uint8), r"\[0, 1\].*255"),
    (np.array([[0.5, -0.1]]), r"\[0, 1\]"),
    (np.array([[0.5, np.nan]]), "NaN"),
    (np.array([0.5, 0.1]), "shape"),
])
def test_encoding_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        encode_images(bad)


def test_encoding_rejects_wrong_pixel_count_and_window():
    with pytest.raises(ValueError, match="784 pixels"):
        encode_images(np.zeros((3, 10, 10)), n_pixels=784)
    with pytest.raises(ValueError, match="t_in"):
        encode_images(np.zeros((3, 4)), t_in=0)


def test_decoding_with_silent_outputs():
    inf = float("inf")
    t = torch.tensor([[2.5, 2.1, inf], [inf, inf, inf], [inf, 2.9, 2.9]])
    assert predict(t).tolist() == [1, -1, 1]
    logits = output_logits(t, 3.0, 0.5)
    np.testing.assert_allclose(logits[1].numpy(), [-6.0, -6.0, -6.0])
    # earliest spike = largest logit, wherever an output fired
    assert logits[0].argmax().item() == 1


def test_loss_with_all_outputs_silent_is_finite_without_gradient():
    w = torch.full((3, 2), -1.0, requires_grad=True)
    t = spike_times(torch.zeros(4, 2), w, 3.0)
    assert torch.isinf(t).all()
    loss = ttfs_cross_entropy(t, torch.tensor([0, 1, 2, 0]), 3.0, 0.1)
    assert loss.item() == pytest.approx(np.log(3))
    loss.backward()
    assert torch.all(w.grad == 0)


def test_spike_time_input_errors():
    w = torch.ones(2, 3)
    with pytest.raises(ValueError, match=">= 0"):
        spike_times(torch.tensor([[-0.1, 0.0, 0.0]]), w, 2.0)
    with pytest.raises(ValueError, match="shape"):
        spike_times(torch.zeros(1, 4), w, 2.0)
    with pytest.raises(TypeError, match="dtype"):
        spike_times(torch.zeros(1, 3, dtype=torch.float64), w, 2.0)


# --------------------------------------------------------------------------
# network, objective, training
# --------------------------------------------------------------------------

def test_network_validates_window_and_shapes():
    with pytest.raises(ValueError, match="longer than the input window"):
        TTFSNetwork((4, 3, 2), t_max=1.0, t_in=1.0)
    net = TTFSNetwork((4, 3, 2))
    assert net.t_max == 3.0
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        net(torch.zeros(2, 5))


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=-0.1), "gamma"), (dict(sigma=0.0), "sigma"), (dict(regularizer="l2"), "unknown")])
def test_objective_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TTFSObjective(**kwargs)


def toy_problem(seed=0, n=600, d=40, classes=3):
    """Class prototypes in [0, 1]^d plus noise, encoded as spike times."""
    rng = np.random.default_rng(seed)
    protos = rng.random((classes, d)) ** 2
    y = rng.integers(0, classes, n)
    x = np.clip(protos[y] + 0.15 * rng.normal(size=(n, d)), 0, 1)
    return encode_images(x), torch.as_tensor(y)


def test_training_learns_and_records_spikes_per_layer(tmp_path):
    x, y = toy_problem()
    net = TTFSNetwork((40, 30, 3), seed=0)
    obj = TTFSObjective()
    before = evaluate(net, obj, (x[400:], y[400:]))
    df = fit(net, obj, (x[:400], y[:400]), epochs=4, lr=3e-3, batch_size=32,
             val_data=(x[400:], y[400:]), out=tmp_path, progress=False)
    assert df["val_accuracy"].iloc[-1] > max(0.8, before["eval_accuracy"] + 0.2)
    for col in ("val_spikes_l1", "val_spikes_l2", "val_spikes_total", "val_no_output"):
        assert col in df.columns
    assert (tmp_path / "epochs.csv").is_file() and (tmp_path / "weights.npz").is_file()
    counts = spike_counts(net(x[:5]))
    assert counts.shape == (5, 2) and float(counts[:, 0].max()) <= 30


def test_silent_layer_stops_training_with_a_clear_error():
    x, y = toy_problem(n=200)
    net = TTFSNetwork((40, 30, 3), init_mean=-5.0, init_std=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SilentLayerWarning)
        with pytest.raises(SilentLayerError, match="init_mean"):
            fit(net, TTFSObjective(patience=3), (x, y), epochs=1, batch_size=20, progress=False)
    with pytest.warns(SilentLayerWarning, match="fired no spike"):
        fit(TTFSNetwork((40, 30, 3), init_mean=-5.0, init_std=0.1), TTFSObjective(patience=100),
            (x[:40], y[:40]), epochs=1, batch_size=20, progress=False)


@pytest.mark.parametrize("regularizer", ["m-ssr", "f-ssr"])
def test_spike_count_falls_with_gamma(regularizer):
    x, y = toy_problem(seed=1, n=400)
    gammas = [0.0, 0.01, 0.1] if regularizer == "m-ssr" else [0.0, 0.003, 0.03]
    spikes = np.zeros((3, len(gammas)))
    for s, seed in enumerate([0, 1, 2]):
        for g, gamma in enumerate(gammas):
            net = TTFSNetwork((40, 30, 3), seed=seed)
            obj = TTFSObjective(regularizer, gamma)
            fit(net, obj, (x, y), epochs=3, lr=3e-3, batch_size=40, seed=seed, progress=False)
            spikes[s, g] = evaluate(net, obj, (x, y))["eval_spikes_total"]
    mean = spikes.mean(axis=0)
    assert mean[0] > mean[1] > mean[2], (regularizer, spikes)


def test_network_regularizer_sums_layers():
    x, _ = toy_problem(n=8)
    net = TTFSNetwork((40, 30, 3), dtype=torch.float32)
    times = net(x)
    per_layer = m_ssr(x, times[0], net.weights[0], net.t_max) + m_ssr(times[0], times[1], net.weights[1], net.t_max)
    total = network_regularizer("m-ssr", x, times, list(net.weights), net.t_max)
    assert total.item() == pytest.approx(per_layer.mean().item(), rel=1e-5)
    assert network_regularizer("none", x, times, list(net.weights), net.t_max).item() == 0.0


# --------------------------------------------------------------------------
# convolutional variant
# --------------------------------------------------------------------------

def test_conv_layer_equals_dense_layer_on_each_patch():
    from bioplastic.gradient.ttfs.conv import conv_spike_times

    rng = np.random.default_rng(7)
    t_in = torch.tensor(rng.uniform(0, 1, (2, 2, 5, 5)))
    t_in[t_in > 0.8] = float("inf")
    w = torch.tensor(rng.normal(0.3, 0.4, (3, 2, 3, 3)))
    out = conv_spike_times(t_in, w, 3.0, padding=1)
    assert out.shape == (2, 3, 5, 5)
    padded = torch.nn.functional.pad(t_in, (1, 1, 1, 1), value=float("inf"))
    for b in range(2):
        for y in range(5):
            for x in range(5):
                patch = padded[b, :, y:y + 3, x:x + 3].reshape(1, -1)
                ref = spike_times(patch, w.reshape(3, -1), 3.0)[0]
                np.testing.assert_array_equal(out[b, :, y, x].numpy(), ref.numpy())


def test_conv_network_trains_through_pooling():
    from bioplastic.gradient.ttfs.conv import TTFSConvNetwork

    rng = np.random.default_rng(0)
    y = torch.as_tensor(rng.integers(0, 2, 64))
    x = rng.random((64, 1, 8, 8)) * 0.3
    x[y.numpy() == 1, :, :4, :] += 0.6                 # class 1: bright upper half
    t = encode_images(np.clip(x, 0, 1).reshape(64, -1)).reshape(64, 1, 8, 8)
    net = TTFSConvNetwork((1, 8, 8), channels=[4], hidden=[2], kernel=3, seed=0, init_mean=10.0)
    times = net(t)
    assert [tt.shape[1] for tt in times] == [4 * 4 * 4, 2]
    df = fit(net, TTFSObjective(), (t, y), epochs=15, lr=3e-3, batch_size=16, progress=False)
    assert df["train_accuracy"].iloc[-1] > 0.9
