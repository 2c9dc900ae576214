"""Adaptive synaptic scaling: contraction, fixed point, forward and backward (bioplastic.gradient.adaptive.scaling)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brian2 import ms  # noqa: E402

from bioplastic.gradient.adaptive.scaling import (  # noqa: E402
    AdaptiveScaling,
    RelaxationRule,
    effective_weight,
    get_scaling_rule,
    iterate_rule,
    trace_decay,
)

pytestmark = pytest.mark.gradient

RULES = [RelaxationRule(), RelaxationRule(kappa=50.0, r_ref=0.0, eta=0.05), RelaxationRule(kappa=3.0, r_ref=1.0, eta=1.0),
         RelaxationRule(kappa=-0.9, r_ref=0.1, eta=0.5)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"k{r.kappa}-r{r.r_ref}-e{r.eta}")
def test_contraction_to_fixed_point_from_any_start(rule):
    """|a_n - a*| <= q^n |a_0 - a*| for random r and starts far on both sides of a*."""
    rng = np.random.default_rng(1)
    r = rng.uniform(0, 1, size=200)
    a0 = rng.uniform(-50, 50, size=200)
    a_star = rule.fixed_point(r)
    assert np.allclose(rule(a_star, r), a_star, rtol=0, atol=1e-14)  # it is a fixed point
    values = iterate_rule(rule, a0, r, 60)
    err0 = np.abs(a0 - a_star)
    for n, a_n in enumerate(values):
        assert np.all(np.abs(a_n - a_star) <= rule.q ** n * err0 + 1e-12)
    # the Lipschitz bound itself, on pairs of starts
    b0 = rng.uniform(-50, 50, size=200)
    assert np.all(np.abs(rule(a0, r) - rule(b0, r)) <= rule.q * np.abs(a0 - b0) + 1e-12)
    if rule.q > 0:  # geometric, not faster: the rate is exactly q for this rule
        ratio = np.abs(values[5] - a_star) / np.abs(values[4] - a_star)
        assert np.allclose(ratio, rule.q, rtol=1e-6)


def test_fixed_point_decreases_with_intensity():
    """Direction chosen: more afferent drive -> more depression; potentiation below r_ref, depression above."""
    rule = RelaxationRule(kappa=10.0, r_ref=0.1)
    r = np.linspace(0, 1, 101)
    a_star = rule.fixed_point(r)
    assert np.all(np.diff(a_star) < 0)
    assert rule.fixed_point(0.1) == pytest.approx(1.0)
    assert rule.fixed_point(0.0) > 1.0 > rule.fixed_point(0.5)
    # kappa = 0 switches the mechanism off; -1 < kappa < 0 is the opposite direction (facilitation)
    assert np.all(RelaxationRule(kappa=0.0).fixed_point(r) == 1.0)
    assert np.all(np.diff(RelaxationRule(kappa=-0.5, r_ref=0.1).fixed_point(r)) > 0)


def test_busy_synapse_scales_and_silent_one_stays_at_rest():
    rule = RelaxationRule(kappa=10.0, r_ref=0.05, eta=0.3)
    scaling = AdaptiveScaling(3, rule=rule, tau_trace=10 * ms)
    spikes = torch.zeros(2, 200, 3, dtype=torch.float64)
    spikes[:, :, 1] = 1.0  # always on: r -> 1
    spikes[:, ::4, 2] = 1.0  # every 4th step: r oscillates around 0.25
    out = scaling(spikes)
    a_rest = rule.fixed_point(0.0)
    assert torch.all(out.factor[:, :, 0] == a_rest)  # silent: stays exactly at a*(0)
    assert torch.all(out.trace[:, :, 0] == 0)
    assert out.factor[0, -1, 1].item() == pytest.approx(rule.fixed_point(1.0), rel=1e-6)  # r = 1 - lam**200
    assert out.factor[0, -1, 1].item() < out.factor[0, -1, 2].item() < 1.0 < a_rest
    # the factor used at step n depends only on spikes before n (a[0] is the rest value)
    assert torch.all(out.factor[:, 0] == a_rest)
    assert torch.equal(out.scaled, out.factor * spikes)


def test_trace_and_factor_by_hand():
    rule = RelaxationRule(kappa=4.0, r_ref=0.25, eta=0.5)
    lam = trace_decay(5 * ms, 1 * ms)
    assert lam == pytest.approx(math.exp(-0.2))
    scaling = AdaptiveScaling(1, rule=rule, tau_trace=5 * ms)
    s = [1.0, 0.0, 1.0]
    out = scaling(torch.tensor(s, dtype=torch.float64).reshape(1, 3, 1))
    r, a = 0.0, 2.0 / 1.0  # a*(0) = (1 + 4 * 0.25) / 1
    for n in range(3):
        assert out.factor[0, n, 0].item() == pytest.approx(a, rel=1e-12)
        r = lam * r + (1 - lam) * s[n]
        assert out.trace[0, n, 0].item() == pytest.approx(r, rel=1e-12)
        a = a + 0.5 * (2.0 / (1 + 4.0 * r) - a)
    assert out.state.a[0, 0].item() == pytest.approx(a, rel=1e-12)


def test_state_carries_over_between_calls():
    scaling = AdaptiveScaling(4, tau_trace=15 * ms)
    spikes = (torch.rand(3, 40, 4, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    whole = scaling(spikes)
    first = scaling(spikes[:, :25])
    second = scaling(spikes[:, 25:], state=first.state)
    assert torch.equal(torch.cat([first.factor, second.factor], 1), whole.factor)
    assert torch.equal(second.state.a, whole.state.a)


def test_gradient_is_regulated_by_the_factor():
    """autograd dL/dW == a * dL/dW_eff to machine precision (a detached)."""
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(6, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    a = torch.rand(6, dtype=torch.float64, generator=gen) * 2
    x = torch.randn(5, 6, dtype=torch.float64, generator=gen)
    w_eff = effective_weight(w, a)
    w_eff.retain_grad()
    loss = torch.tanh(x @ w_eff).pow(2).sum()
    loss.backward()
    assert torch.equal(w.grad, a[:, None] * w_eff.grad) or torch.allclose(w.grad, a[:, None] * w_eff.grad, rtol=0, atol=1e-15)


def test_scaled_spikes_give_the_time_varying_effective_weight_and_its_gradient():
    """W applied to a*s equals (a*W) applied to s at each step; dL/dW = sum_n a[n] * dL/dW_eff[n]."""
    gen = torch.Generator().manual_seed(4)
    n_pre, n_post, steps = 5, 3, 12
    spikes = (torch.rand(2, steps, n_pre, generator=gen) < 0.4).double()
    out = AdaptiveScaling(n_pre, tau_trace=5 * ms)(spikes)
    w = torch.randn(n_pre, n_post, dtype=torch.float64, generator=gen, requires_grad=True)
    target = torch.randn(2, steps, n_post, dtype=torch.float64, generator=gen)
    # route 1: scaled spikes into the plain weight
    loss1 = ((out.scaled @ w - target) ** 2).sum()
    (g1,) = torch.autograd.grad(loss1, w)
    # route 2: one effective weight per (sample, step)
    w_effs, loss2 = [], 0.0
    for b in range(2):
        for n in range(steps):
            w_eff = effective_weight(w, out.factor[b, n])
            w_eff.retain_grad()
            w_effs.append((b, n, w_eff))
            loss2 = loss2 + ((spikes[b, n] @ w_eff - target[b, n]) ** 2).sum()
    loss2.backward()
    assert torch.allclose(loss1, loss2, rtol=1e-14, atol=0)
    regulated = sum(out.factor[b, n][:, None] * w_eff.grad for b, n, w_eff in w_effs)
    assert torch.allclose(g1, regulated, rtol=1e-12, atol=1e-14)
    assert torch.allclose(w.grad, regulated, rtol=1e-12, atol=1e-14)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown scaling rule 'nope'; known rules: \\['relaxation'\\]"):
        get_scaling_rule("nope")
    with pytest.raises(ValueError, match="eta must lie in \\(0, 1\\]"):
        RelaxationRule(eta=0.0)
    with pytest.raises(ValueError, match="kappa must be > -1"):
        RelaxationRule(kappa=-1.0)
    with pytest.raises(ValueError, match="r_ref must lie in \\[0, 1\\]"):
        RelaxationRule(r_ref=2.0)
    with pytest.raises(TypeError, match="Brian2 time quantity"):
        AdaptiveScaling(3, tau_trace=20.0)
    with pytest.raises(ValueError, match="shape \\(batch, time, 3\\)"):
        AdaptiveScaling(3)(torch.zeros(2, 5, 4))
    with pytest.raises(TypeError, match="ScalingRule"):
        AdaptiveScaling(3, rule=object())


def test_brian2_statement_is_the_same_arithmetic():
    """The Brian2 statement, evaluated as Python, gives the rule's value bit for bit."""
    rule = RelaxationRule(kappa=7.5, r_ref=0.125, eta=0.3)
    stmt = rule.brian2_update("a", "r")
    lhs, rhs = stmt.split(" = ", 1)
    assert lhs == "a"
    for a, r in [(2.0, 0.0), (0.3, 0.71), (1.0, 1.0)]:
        assert eval(rhs, {}, {"a": a, "r": r}) == rule(a, r)
    assert rule.record()["status"].startswith("a reading of the abstract")
