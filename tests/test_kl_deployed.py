"""KL estimators as deployed (verl ``kl_penalty``: abs, clamped low_var_kl, the straight-through "+" variants) and the
KL-coefficient controllers: hand values in the libraries' conventions, exact expectations on a small categorical
π_θ = softmax(z) against closed-form truths (gradients by autograd in z), and twins that the same checks reject."""
import math
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.estimators.divergences import (KL_ESTIMATORS, LOW_VAR_KL_VALUE_CLAMP, kl_estimate,
                                             kl_loss_score_coefficient)
from pgtheory.estimators.kl_control import (KL_CONTROLLERS, adaptive_kl_coefficient, fixed_kl_coefficient,
                                            kl_coefficient_trace)

T = lambda *x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
NEW = ("abs", "k3_clamped", "k1_plus", "k3_plus")


# -- exact expectations over y ∼ π_θ = softmax(z) -------------------------------------------------------------------

def _log_ratio(z: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """ℓ(y) = log π_ref(y) − log π_θ(y) for every response y."""
    return ref.log() - torch.log_softmax(z, -1)


def _expected_value(kind, z, ref):
    pi = torch.softmax(z, -1)
    return float((pi * kl_estimate(_log_ratio(z, ref), kind)).sum())


def _expected_gradient(kind_or_coefficient, z, ref):
    """E_π[c(ℓ) ∇_z log π(y)] = Σ_y π(y) c(ℓ(y)) (e_y − π): the expected gradient of the estimator used as a loss."""
    pi = torch.softmax(z, -1)
    lr = _log_ratio(z, ref)
    c = kind_or_coefficient(lr) if callable(kind_or_coefficient) else kl_loss_score_coefficient(lr, kind_or_coefficient)
    return ((pi * c)[:, None] * (torch.eye(len(z), dtype=torch.float64) - pi)).sum(0)


def _grad(fn, z):
    zz = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(zz), zz)
    return g


def reverse_kl(z, ref):
    pi = torch.softmax(z, -1)
    return (pi * (torch.log_softmax(z, -1) - ref.log())).sum()


def forward_kl(z, ref):
    return (ref * (ref.log() - torch.log_softmax(z, -1))).sum()


def l1_distance(z, ref):
    return (torch.softmax(z, -1) - ref).abs().sum()


def clamp_excess(z, ref):
    """E_π[(κ(ℓ) − C)₊] and E_π[1{κ > C}(1 − r) ∇log π]: the clamp's exact bias in value and in gradient."""
    lr = _log_ratio(z, ref)
    kappa = torch.expm1(lr) - lr
    pi = torch.softmax(z, -1)
    over = kappa > LOW_VAR_KL_VALUE_CLAMP
    value = float((pi * (kappa - LOW_VAR_KL_VALUE_CLAMP).clamp(min=0)).sum())
    grad = _expected_gradient(lambda l: torch.where(over, -torch.expm1(l), torch.zeros_like(l)), z, ref)
    return value, grad


MILD = (T(0.3, -0.2, 0.5, 0.0), T(0.1, 0.4, 0.3, 0.2))  # every κ(ℓ) < 10: the clamps never bind
EXTREME = (T(3.0, 0.0, -2.5, 0.5), T(0.05, 0.15, 0.6, 0.2))  # π(y₂) ≈ 0.004, π_ref(y₂) = 0.6: κ(ℓ₂) ≈ 140 > 10


# -- hand values, in verl's convention: logprob = log π_θ, ref_logprob = log π_ref, ℓ = ref_logprob − logprob --------

def test_hand_values_and_registry():
    lr = T(0.0, math.log(2.0), -1.0, 3.0, -12.0, 25.0, -25.0)
    assert torch.equal(kl_estimate(lr, "abs"), lr.abs())
    assert torch.equal(kl_loss_score_coefficient(lr, "abs"), T(0.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0))
    k3 = torch.expm1(lr[:3]) - lr[:3]  # 0, 1 − log 2, e^{-1}
    assert torch.allclose(kl_estimate(lr, "k3_clamped"), torch.cat([k3, torch.full((4,), 10.0, dtype=torch.float64)]))
    assert torch.allclose(kl_estimate(lr[:3], "k3_clamped"), T(0.0, 1 - math.log(2.0), math.exp(-1.0)))
    assert torch.allclose(kl_loss_score_coefficient(lr, "k3_clamped"), T(0.0, -1.0, 1 - math.exp(-1.0), 0, 0, 0, 0))
    assert torch.equal(kl_estimate(lr, "k1_plus"), -lr)
    assert torch.equal(kl_estimate(lr, "k3_plus"), kl_estimate(lr, "k3_clamped"))
    for kind in ("k1_plus", "k3_plus"):
        assert torch.equal(kl_loss_score_coefficient(lr, kind), -lr)
    assert set(NEW) <= set(KL_ESTIMATORS.names())


def _deployed_k3(logprob, ref_logprob):
    """verl's low_var_kl as a differentiable expression of logprob: min(κ(clamp(ℓ, ±20)), 10)."""
    kl = (ref_logprob - logprob).clamp(-20, 20)
    return (torch.exp(kl) - kl - 1).clamp(-10, 10)


def test_coefficients_are_the_autograd_of_the_deployed_expressions():
    """c is d(value)/d(logprob): compare with autograd through the clamped and the straight-through expressions."""
    ref = T(-0.7, -2.0, -0.1, -0.3, -15.0, -0.2)
    lp = T(-1.0, -0.5, -3.0, -0.3, -1.0, -30.0).requires_grad_(True)
    lr = (ref - lp).detach()
    for kind, expr in [("k3_clamped", lambda: _deployed_k3(lp, ref)), ("abs", lambda: (lp - ref).abs()),
                       ("k3_plus", lambda: _straight_through(_deployed_k3(lp, ref), lp, ref)),
                       ("k1_plus", lambda: _straight_through(lp - ref, lp, ref))]:
        v = expr()
        (g,) = torch.autograd.grad(v.sum(), lp)
        assert torch.allclose(v.detach(), kl_estimate(lr, kind), atol=1e-12), kind
        assert torch.allclose(g, kl_loss_score_coefficient(lr, kind), atol=1e-12), kind


def _straight_through(value, lp, ref):
    """value of ``value``, gradient of k2 = ½(lp − ref)²."""
    k2 = 0.5 * (lp - ref) ** 2
    return k2 - k2.detach() + value.detach()


# -- exact expectations vs the module table -------------------------------------------------------------------------

@pytest.mark.parametrize("case", [MILD, EXTREME], ids=["mild", "extreme"])
def test_expected_values_and_gradients_match_the_table(case):
    z, ref = case
    kl, bias = float(reverse_kl(z, ref)), clamp_excess(z, ref)
    g_rev, g_fwd = _grad(lambda x: reverse_kl(x, ref), z), _grad(lambda x: forward_kl(x, ref), z)
    pi = torch.softmax(z, -1)
    # abs: E|ℓ| (≥ KL) and ∇‖π − π_ref‖₁
    assert _expected_value("abs", z, ref) == pytest.approx(float((pi * _log_ratio(z, ref).abs()).sum()), abs=1e-12)
    assert _expected_value("abs", z, ref) > kl
    assert torch.allclose(_expected_gradient("abs", z, ref), _grad(lambda x: l1_distance(x, ref), z), atol=1e-12)
    # k3_clamped and k3_plus: KL − E[(κ − C)₊]; gradients ∇KL(π_ref‖π) − clamp term, and ∇KL(π‖π_ref)
    for kind in ("k3_clamped", "k3_plus"):
        assert _expected_value(kind, z, ref) == pytest.approx(kl - bias[0], abs=1e-12)
    assert torch.allclose(_expected_gradient("k3_clamped", z, ref), g_fwd - bias[1], atol=1e-12)
    assert torch.allclose(_expected_gradient("k3_plus", z, ref), g_rev, atol=1e-12)
    # k1_plus: unbiased value and unbiased reverse-KL gradient
    assert _expected_value("k1_plus", z, ref) == pytest.approx(kl, abs=1e-12)
    assert torch.allclose(_expected_gradient("k1_plus", z, ref), g_rev, atol=1e-12)
    # twins: the un-straight-through estimators' gradients are not ∇KL(π‖π_ref); the flipped abs sign is not ∇‖·‖₁
    assert float((_expected_gradient("k3", z, ref) - g_rev).abs().max()) > 1e-3
    assert float((_expected_gradient("k1", z, ref) - g_rev).abs().max()) > 1e-3
    flipped = _expected_gradient(lambda l: torch.sign(l), z, ref)
    assert float((flipped - _grad(lambda x: l1_distance(x, ref), z)).abs().max()) > 1e-3


def test_clamp_bias_is_zero_when_no_clamp_binds_and_positive_when_one_does():
    assert clamp_excess(*MILD)[0] == 0.0
    assert _expected_value("k3_clamped", *MILD) == pytest.approx(float(reverse_kl(*MILD)), abs=1e-12)
    bias = clamp_excess(*EXTREME)[0]
    assert bias > 0.1
    z, ref = EXTREME
    kl = float(reverse_kl(z, ref))
    assert _expected_value("k3_clamped", z, ref) == pytest.approx(kl - bias, abs=1e-12)
    # twin: clamping only the log-ratio (±20, not the value) would be unbiased here; the bias check rejects it
    lr = _log_ratio(z, ref).clamp(-20, 20)
    log_ratio_clamp_only = float((torch.softmax(z, -1) * (torch.expm1(lr) - lr)).sum())
    assert abs(log_ratio_clamp_only - (kl - bias)) > 1e-3


@given(st.lists(st.floats(-6, 6), min_size=3, max_size=3), st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3))
def test_clamp_bias_sign_over_random_pairs(logits, ref_weights):
    z, ref = T(*logits), T(*ref_weights)
    ref = ref / ref.sum()
    lr = _log_ratio(z, ref)
    binds = bool((torch.expm1(lr) - lr > LOW_VAR_KL_VALUE_CLAMP).any())
    excess = clamp_excess(z, ref)[0]  # a sum of non-negative terms: > 0 iff some κ exceeds the clamp
    assert float(reverse_kl(z, ref)) - _expected_value("k3_clamped", z, ref) == pytest.approx(excess, abs=1e-9)
    assert (excess > 0) if binds else excess == 0.0


def test_kl_bad_inputs_are_named():
    lr = T(0.1, -0.2)
    with pytest.raises(ValueError, match="log_ratio: contains NaN"):
        kl_estimate(T(float("nan")), "k3_clamped")
    with pytest.raises(ValueError, match=re.escape("kind: unknown KL estimator 'k3+'")):
        kl_estimate(lr, "k3+")
    with pytest.raises(ValueError, match="weights: importance weights must be non-negative"):
        kl_loss_score_coefficient(lr, "k1_plus", weights=T(1.0, -1.0))
    assert torch.isfinite(kl_loss_score_coefficient(T(900.0, -900.0), "k3_clamped")).all()


# -- KL-coefficient controllers -------------------------------------------------------------------------------------

def test_adaptive_controller_hand_values_and_trace():
    """β = 0.1, target 6, horizon 10 000, 256 samples a step (the TRL / verl convention: n_steps = batch size)."""
    hp = dict(target=6.0, horizon=10_000, n_steps=256)
    up = adaptive_kl_coefficient(0.1, 8.0, **hp)  # error clip(1/3) = 0.2 → ×(1 + 0.2·0.0256)
    assert up == pytest.approx(0.1 * 1.00512, rel=1e-15)
    down = adaptive_kl_coefficient(up, 5.4, **hp)  # error −0.1 → ×(1 − 0.1·0.0256)
    assert down == pytest.approx(0.1 * 1.00512 * 0.99744, rel=1e-15)
    assert adaptive_kl_coefficient(down, 6.0, **hp) == down
    trace = kl_coefficient_trace(T(8.0, 5.4, 6.0), 0.1, **hp)
    assert torch.allclose(trace, T(0.1, up, down, down), rtol=1e-15)
    assert torch.equal(kl_coefficient_trace(T(8.0, 5.4), 0.1, "fixed"), T(0.1, 0.1, 0.1))
    assert fixed_kl_coefficient(0.3, 100.0) == 0.3
    assert KL_CONTROLLERS.names() == ["adaptive", "fixed"]


def _unclipped(coef, kl, *, target, horizon, n_steps):
    """Twin: the controller without the ±0.2 clip on the proportional error."""
    return coef * (1 + (kl / target - 1) * n_steps / horizon)


def _obeys_controller_properties(update, coef, kl, target, horizon, n_steps) -> bool:
    new = update(coef, kl, target=target, horizon=horizon, n_steps=n_steps)
    direction = math.copysign(1.0, new - coef) if new != coef else 0.0
    expected = math.copysign(1.0, kl - target) if kl != target else 0.0
    bounded = abs(new / coef - 1) <= 0.2 * n_steps / horizon * (1 + 1e-12)
    return direction == expected and bounded


@given(st.floats(1e-3, 10), st.floats(0, 50), st.floats(0.01, 10), st.integers(1, 512), st.integers(0, 4))
def test_adaptive_controller_direction_and_bounded_step(coef, kl, target, n_steps, extra):
    horizon = n_steps * (1 + extra)  # n_steps/horizon ≤ 1
    assert _obeys_controller_properties(adaptive_kl_coefficient, coef, kl, target, horizon, n_steps)


def test_unclipped_twin_breaks_the_bounded_step():
    args = (0.1, 30.0, 6.0, 1000, 100)  # KL = 5·target: the raw error 4 exceeds the 0.2 clip
    assert _obeys_controller_properties(adaptive_kl_coefficient, *args)
    assert not _obeys_controller_properties(_unclipped, *args)


def test_controller_bad_inputs_are_named():
    hp = dict(target=6.0, horizon=10_000, n_steps=256)
    with pytest.raises(ValueError, match="target: must be positive"):
        adaptive_kl_coefficient(0.1, 1.0, target=0.0, horizon=1.0, n_steps=1)
    with pytest.raises(ValueError, match="horizon: must be positive"):
        adaptive_kl_coefficient(0.1, 1.0, target=1.0, horizon=-5.0, n_steps=1)
    with pytest.raises(ValueError, match="n_steps: must be >= 1"):
        adaptive_kl_coefficient(0.1, 1.0, target=1.0, horizon=1.0, n_steps=0)
    with pytest.raises(TypeError, match="n_steps: expected an integer"):
        adaptive_kl_coefficient(0.1, 1.0, target=1.0, horizon=1.0, n_steps=2.5)
    with pytest.raises(ValueError, match="kl: must be finite"):
        adaptive_kl_coefficient(0.1, float("nan"), **hp)
    with pytest.raises(ValueError, match="coef: must be non-negative"):
        fixed_kl_coefficient(-0.1, 1.0)
    with pytest.raises(ValueError, match="kind: unknown KL controller 'pid'"):
        kl_coefficient_trace(T(1.0), 0.1, "pid")
    with pytest.raises(TypeError, match="target: unexpected keyword argument for KL controller 'fixed'"):
        kl_coefficient_trace(T(1.0), 0.1, "fixed", target=1.0)
    with pytest.raises(TypeError, match="horizon: required keyword argument of KL controller 'adaptive' is missing"):
        kl_coefficient_trace(T(1.0), 0.1, target=1.0, n_steps=1)
    with pytest.raises(ValueError, match="kl_trace: expected a vector"):
        kl_coefficient_trace(torch.ones(2, 2, dtype=torch.float64), 0.1, **hp)
    with pytest.raises(ValueError, match="kl_trace: contains NaN"):
        kl_coefficient_trace(T(float("nan")), 0.1, **hp)
    with pytest.raises(ValueError, match="init_coef: must be non-negative"):
        kl_coefficient_trace(T(1.0), -1.0, **hp)


def test_a_step_that_would_flip_the_coefficient_sign_raises_naming_n_steps_and_horizon():
    """n_steps/horizon = 10 with KL far below target: verl's multiplier 1 − 0.2·10 = −1 would make β negative; the
    error names the arguments that did it (not ``coef`` on the next step). Twin: n_steps/horizon = 1 is fine."""
    with pytest.raises(ValueError, match="n_steps, horizon: n_steps/horizon = 10"):
        adaptive_kl_coefficient(0.1, 0.0, target=1.0, horizon=1.0, n_steps=10)
    with pytest.raises(ValueError, match="n_steps, horizon"):
        kl_coefficient_trace(torch.zeros(2, dtype=torch.float64), 0.1, target=1.0, horizon=1.0, n_steps=10)
    assert adaptive_kl_coefficient(0.1, 0.0, target=1.0, horizon=1.0, n_steps=1) == pytest.approx(0.08)
