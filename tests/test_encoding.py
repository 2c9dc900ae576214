"""Randman and latency encodings (bioplastic.data.encoding; numpy only)."""

import numpy as np
import pytest

from bioplastic.data import encoding


def _reference_series(manifold, x):
    """The released generator's python loop (fzenke/randman), for comparison."""
    out = np.ones((len(x), manifold.params.shape[0]))
    for m in range(manifold.params.shape[0]):
        for d in range(manifold.params.shape[1]):
            theta = manifold.params[m, d]
            tmp = np.zeros(len(x))
            for k, (f, s) in enumerate(zip(manifold.freqs, manifold.weights)):
                tmp += theta[0, k] * s * np.sin(2 * np.pi * (f * x[:, d] * theta[1, k] + theta[2, k]))
            out[:, m] *= tmp
    return out


@pytest.mark.parametrize("spectrum", encoding.SPECTRA)
def test_randman_matches_reference_loop(spectrum):
    rng = np.random.default_rng(3)
    manifold = encoding.Randman(4, 2, 2.0, rng, spectrum=spectrum)
    x = rng.uniform(size=(7, 2))
    np.testing.assert_allclose(manifold(x), _reference_series(manifold, x), rtol=1e-10, atol=1e-12)


def test_spectra_differ_as_documented():
    f_code, s_code = encoding.randman_spectrum(1.0, "code")
    f_paper, s_paper = encoding.randman_spectrum(1.0, "paper")
    assert len(f_code) == len(f_paper) == 1000
    assert f_code[0] == 0 and f_paper[0] == 1
    np.testing.assert_allclose(s_code[:3], [1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(s_paper[:3], [1, 1 / 2, 1 / 3])
    assert len(encoding.randman_spectrum(2.0)[0]) == 32  # ceil(1e-3 ** -0.5)
    with pytest.raises(ValueError, match="valid: code, paper"):
        encoding.randman_spectrum(1.0, "printed")


def test_make_randman_seeded_split_and_standardised():
    kw = dict(n_classes=4, n_units=6, n_samples=50, split=(30, 10, 10), max_f_cutoff=100)
    a = encoding.make_randman(seed=5, **kw)
    b = encoding.make_randman(seed=5, **kw)
    c = encoding.make_randman(seed=6, **kw)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(a, part).times, getattr(b, part).times)
        np.testing.assert_array_equal(getattr(a, part).labels, getattr(b, part).labels)
    assert not np.array_equal(a.train.times, c.train.times)
    assert [len(a.train), len(a.validation), len(a.test)] == [120, 40, 40]
    assert np.bincount(a.test.labels).tolist() == [10] * 4
    # one spike per unit, inside the first step_frac of the trial
    times = np.concatenate([a.train.times, a.validation.times, a.test.times])
    assert times.min() == 0 and times.max() == 49
    # per class and unit the standardised value spans [0, 1): first and last bin are used
    labels = np.concatenate([a.train.labels, a.validation.labels, a.test.labels])
    for k in range(4):
        assert (times[labels == k].min(axis=0) == 0).all()
        assert (times[labels == k].max(axis=0) == 49).all()
    dense = a.train.dense()
    assert dense.shape == (120, 100, 6) and (dense.sum(axis=1) == 1).all()
    with pytest.raises(ValueError, match="sum"):
        encoding.make_randman(n_samples=50, split=(30, 10, 5))


def test_class_manifolds_differ():
    d = encoding.make_randman(n_classes=2, n_units=5, n_samples=200, split=(200, 0, 0),
                              max_f_cutoff=50, seed=0)
    mean0 = d.train.times[d.train.labels == 0].mean(axis=0)
    mean1 = d.train.times[d.train.labels == 1].mean(axis=0)
    assert np.abs(mean0 - mean1).max() > 2


def test_latency_code_matches_formula():
    x = np.array([0.0, 0.2, 0.21, 0.5, 1.0])
    t = encoding.latency_spike_times(x, tau_eff=20.0, theta=0.2, nb_steps=100)
    assert t[0] == t[1] == 100  # at or below threshold: no spike
    assert t[2] == 60  # 20 ln(0.21/0.01) = 60.9, truncated
    assert t[3] == int(20 * np.log(0.5 / 0.3)) == 10
    assert t[4] == int(20 * np.log(1 / 0.8)) == 4
    images = (np.arange(4 * 784).reshape(4, 28, 28) % 256).astype(np.uint8)
    st = encoding.latency_encode_images(images, np.arange(4))
    assert st.times.shape == (4, 784) and (st.dense().sum(axis=1) <= 1).all()


def test_spike_times_events_and_validation():
    st = encoding.SpikeTimes(np.array([[3, 5], [5, 0]]), np.array([0, 1]), nb_steps=5)
    sample, step, unit = st.events()
    assert list(zip(sample, step, unit)) == [(0, 3, 0), (1, 0, 1)]  # step 5 = no spike
    assert st.dense().sum() == 2
    with pytest.raises(ValueError, match="nb_steps"):
        encoding.SpikeTimes(np.array([[6]]), np.array([0]), nb_steps=5)


def test_paper_spectrum_keeps_lowest_frequency():
    rng = np.random.default_rng(0)
    code = encoding.Randman(3, 1, 1.0, rng, spectrum="code")
    paper = encoding.Randman(3, 1, 1.0, np.random.default_rng(0), spectrum="paper")
    assert (code.params[:, :, 0, 0] == 0).all()      # constant term removed
    assert (paper.params[:, :, 0, 0] > 0).all()      # frequency 1 is not a constant
