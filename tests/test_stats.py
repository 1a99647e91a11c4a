"""Statistics: moment merging, bias tests (size and power), planning, rate fits, multiplicity."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.stats import (MomentAccumulator, adjust_pvalues, bias_test, bias_test_power, fit_rate,
                            noise_summary, relative_efficiency, required_sample_size, stream)


@given(st.integers(2, 300), st.integers(1, 5), st.integers(1, 50), st.integers(0, 2**31 - 1))
def test_accumulator_merge_equals_one_pass(n, p, chunk, seed):
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3 + 10
    acc = MomentAccumulator.from_samples(x, chunk=chunk)
    assert acc.n == n
    assert torch.allclose(acc.mean, x.mean(0), atol=1e-12)
    assert torch.allclose(acc.covariance, torch.atleast_2d(torch.cov(x.T)), atol=1e-10)
    diag = MomentAccumulator.from_samples(x, full_covariance=False, chunk=chunk)
    assert torch.allclose(diag.variance, x.var(0), atol=1e-10)


def test_bias_test_size_and_power_by_simulation():
    """Under H0 the rejection rate at α = 0.05 is ≤ 0.05 (checked over 400 seeded replications, with a
    binomial margin: P(≥ 34 of 400 | rate 0.05) < 1e-3); under a shift of 0.1σ with n = 2000 it is ≥ 0.95."""
    gen = torch.Generator().manual_seed(0)
    rej0 = rej1 = 0
    truth = torch.zeros(4, dtype=torch.float64)
    for _ in range(400):
        x = torch.randn(2000, 4, generator=gen, dtype=torch.float64)
        rej0 += bias_test(x, truth).pvalue < 0.05
        x[:, 2] += 0.1
        rej1 += bias_test(x, truth).pvalue < 0.05
    assert rej0 < 34
    assert rej1 / 400 >= 0.95 * bias_test_power(0.1, 1.0, 2000, alpha=0.05, n_tests=4)


@pytest.mark.parametrize("method", ["bonferroni", "hotelling"])
def test_bias_test_handles_singular_covariance(method):
    """Softmax-gradient-like samples: coordinates sum to zero, one coordinate constant."""
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(5000, 2, generator=gen, dtype=torch.float64)
    x = torch.stack([z[:, 0], z[:, 1], -z[:, 0] - z[:, 1], torch.full((5000,), 0.5, dtype=torch.float64)], 1)
    truth = torch.tensor([0.0, 0.0, 0.0, 0.5], dtype=torch.float64)
    assert bias_test(x, truth, method=method).pvalue > 1e-6
    off = truth.clone()
    off[3] = 0.5 + 1e-6  # a deviation in a zero-variance direction is a certain bias
    res = bias_test(x, off, method=method)
    assert res.pvalue == 0.0 and math.isinf(res.statistic)


def test_bias_result_confidence_interval_covers_bias():
    x = torch.randn(10_000, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + torch.tensor([0.0, 0.2, 0.0])
    res = bias_test(x, torch.zeros(3))
    lo, hi = res.confidence_interval(0.999)
    assert lo[1] < 0.2 < hi[1] and lo[0] < 0 < hi[0]
    assert res.reject(1e-6) and res.n == 10_000


@given(st.floats(0.01, 1.0), st.floats(0.1, 10.0), st.sampled_from([1e-6, 1e-3, 0.05]), st.floats(0.5, 0.99), st.integers(1, 100))
def test_required_sample_size_reaches_power(bias, sd, alpha, power, k):
    n = required_sample_size(bias, sd, alpha=alpha, power=power, n_tests=k)
    assert bias_test_power(bias, sd, n, alpha=alpha, n_tests=k) >= power
    assert n == 1 or bias_test_power(bias, sd, int(n * 0.97), alpha=alpha, n_tests=k) < power + 0.02


def test_rate_fit_recovers_slope_and_rejects_a_slower_one():
    rng = np.random.default_rng(0)
    x = np.array([10, 30, 100, 300, 1000, 3000], float)
    errs = x[None] ** -1.0 * np.exp(rng.normal(0, 0.2, (200, 6)))
    fit = fit_rate(x, errs)
    assert fit.contains(-1.0) and abs(fit.slope + 1) < 0.05
    slower = x[None] ** -0.5 * np.exp(rng.normal(0, 0.2, (200, 6)))
    assert not fit_rate(x, slower).contains(-1.0)  # twin: an O(1/√n) method is told apart from O(1/n)


def test_adjust_pvalues_hand_computed():
    p = [0.01, 0.04, 0.03, 0.5]
    assert np.allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 1.0])
    assert np.allclose(adjust_pvalues(p, "holm"), [0.04, 0.09, 0.09, 0.5])
    # BH step-up: sorted 0.01, 0.03, 0.04, 0.5 → raw 0.04, 0.06, 0.0533, 0.5 → running min from the top
    assert np.allclose(adjust_pvalues(p, "bh"), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    with pytest.raises(ValueError, match="pvalues: must be finite"):
        adjust_pvalues([0.1, 1.5])


def test_stream_bounded_memory_and_relative_efficiency():
    def chunk(n, g):
        return torch.randn(n, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0])

    a = stream(chunk, 50_000, 5_000, torch.Generator().manual_seed(0)).accumulator
    b = stream(lambda n, g: 2 * chunk(n, g), 50_000, 5_000, torch.Generator().manual_seed(1)).accumulator
    assert abs(a.trace_covariance / 14 - 1) < 0.03
    eff = relative_efficiency(a, b)
    assert eff.ci_low < 0.25 < eff.ci_high
    s = noise_summary(a)
    assert s.n == 50_000 and s.snr < 0.05


def test_stats_bad_input():
    with pytest.raises(ValueError, match="samples: expected a non-empty batch"):
        bias_test(torch.zeros(0, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="truth: has 2 entries but the estimates have 3"):
        bias_test(torch.zeros(10, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="method: expected"):
        bias_test(torch.randn(10, 3), torch.zeros(3), method="t")
    with pytest.raises(ValueError, match="samples: contains NaN"):
        bias_test(torch.tensor([[1.0], [float("nan")]]), torch.zeros(1))
    with pytest.raises(ValueError, match="samples: the estimates have no coordinates"):
        bias_test(torch.zeros(5, 0), torch.zeros(0))
    with pytest.raises(ValueError, match="samples: need at least 2"):
        bias_test(torch.zeros(1, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="x: contains NaN"):
        MomentAccumulator().update(torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="errors: must be positive"):
        fit_rate([1, 2], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="bias: must be non-zero"):
        required_sample_size(0.0, 1.0)
    with pytest.raises(ValueError, match="n_total: must be >= 1"):
        stream(lambda n, g: torch.zeros(n, 1), 0, 10, torch.Generator())


def test_twin_rejects_reports_unpowered_twins_as_none():
    from pgtheory.stats import twin_rejects

    g = torch.Generator().manual_seed(0)
    x = torch.randn(10_000, 2, generator=g, dtype=torch.float64)
    zero = torch.zeros(2, dtype=torch.float64)
    assert twin_rejects(x, zero, zero + 1e-4) is None  # a 1e-4 shift is undetectable with n = 1e4
    assert twin_rejects(x, zero, zero + 0.5) is True  # a powered wrong target is rejected
    assert twin_rejects(x + 0.5, zero + 0.5, zero) is True


# --- small-sample level, Hotelling's domain, overflow (issue 18) -------------------------------------------------
# Each configuration draws R unbiased Gaussian batches (independent coordinates, so every method's level is exactly
# or very nearly α = 0.05) and counts rejections. The count must lie inside the central 1 − 2e-4 binomial interval
# of Binomial(R, α): a correct test fails one configuration with probability ≤ 2e-4, the file (≈ 40 configurations)
# with probability ≤ 1%. Seeds are fixed, so the outcome is deterministic. The twin: the old normal-approximation
# z-test at n = 3 rejects far too often and lands outside the same interval.
_LEVEL_NS, _LEVEL_PS, _ALPHA = (2, 3, 5, 10, 30, 100), (1, 5, 50), 0.05


def _rejections(method, n, p, reps, seed, **kw):
    g = torch.Generator().manual_seed(seed)
    zero = torch.zeros(p, dtype=torch.float64)
    return sum(bias_test(torch.randn(n, p, generator=g, dtype=torch.float64), zero, method=method, **kw).pvalue < _ALPHA
               for _ in range(reps))


def _binomial_band(reps, rate=_ALPHA, tail=1e-4):
    from scipy import stats as st_

    return st_.binom.ppf(tail, reps, rate), st_.binom.isf(tail, reps, rate)


@pytest.mark.parametrize("n", _LEVEL_NS)
@pytest.mark.parametrize("p", _LEVEL_PS)
def test_bonferroni_t_holds_its_level_at_small_n(n, p):
    reps = 600
    lo, hi = _binomial_band(reps, 1 - (1 - _ALPHA / p) ** p)
    assert lo <= _rejections("bonferroni", n, p, reps, seed=1000 * n + p) <= hi


@pytest.mark.parametrize("n", [n for n in _LEVEL_NS if n > 2])
@pytest.mark.parametrize("p", _LEVEL_PS)
def test_hotelling_holds_its_level_or_refuses(n, p):
    zero = torch.zeros(p, dtype=torch.float64)
    if n <= p + 1:  # the rank is limited by the data: a clear error, never p = 0
        with pytest.raises(ValueError, match="Hotelling's test needs more samples"):
            bias_test(torch.randn(n, p, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), zero, method="hotelling")
        return
    reps = 600
    lo, hi = _binomial_band(reps)
    assert lo <= _rejections("hotelling", n, p, reps, seed=2000 * n + p) <= hi


@pytest.mark.parametrize("n", _LEVEL_NS)
def test_sign_flip_level_is_at_most_alpha(n):
    """Exact under symmetry: the rate is ≤ α (and 0 for n ≤ 5, where no sign pattern is rare enough)."""
    reps = 300
    _, hi = _binomial_band(reps)
    r = _rejections("sign-flip", n, 5, reps, seed=3000 + n, n_resamples=499)
    assert r <= hi
    if n <= 5:
        assert r == 0


def test_holm_matches_bonferroni_globally_and_rejects_more_coordinates():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(50, 6, generator=g, dtype=torch.float64) + torch.tensor([0.9, 0.8, 0.0, 0.0, 0.0, 0.0])
    b, h = bias_test(x, torch.zeros(6)), bias_test(x, torch.zeros(6), method="holm")
    assert b.pvalue == pytest.approx(h.pvalue)
    assert np.all(h.pvalues <= b.pvalues + 1e-15) and np.sum(h.pvalues < 0.01) >= np.sum(b.pvalues < 0.01)


def test_normal_approximation_twin_fails_the_level_test():
    """The twin of the level tests: a z-based Bonferroni test (the old default) at n = 3 is rejected by them."""
    from scipy import stats as st_

    g = torch.Generator().manual_seed(5)
    reps, rej = 600, 0
    for _ in range(reps):
        x = torch.randn(3, 5, generator=g, dtype=torch.float64)
        z = (x.mean(0) / (x.std(0) / 3 ** 0.5)).abs().max().item()
        rej += min(1.0, 5 * 2 * st_.norm.sf(z)) < _ALPHA
    assert rej > _binomial_band(reps, 1 - (1 - _ALPHA / 5) ** 5)[1]


@pytest.mark.parametrize("magnitude", [1e-200, 1e-50, 1.0, 1e50, 1e155, 1e200, 1e300])
@pytest.mark.parametrize("method", ["bonferroni", "hotelling", "sign-flip"])
def test_bias_test_is_scale_invariant_and_overflow_safe(magnitude, method):
    g = torch.Generator().manual_seed(6)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    ref_null, ref_bias = bias_test(x, torch.zeros(3), method=method), bias_test(x + 2.0, torch.zeros(3), method=method)
    null, biased = bias_test(x * magnitude, torch.zeros(3), method=method), bias_test((x + 2.0) * magnitude, torch.zeros(3), method=method)
    assert null.pvalue == pytest.approx(ref_null.pvalue, rel=1e-9)
    assert biased.pvalue == pytest.approx(ref_bias.pvalue, rel=1e-6, abs=1e-300) and biased.pvalue <= 1e-4
    assert np.all(np.isfinite(biased.standard_error)) and biased.estimate[0] == pytest.approx(float((x[:, 0] + 2).mean()) * magnitude)


def test_confidence_interval_uses_t_quantiles_and_gives_an_equivalence_bound():
    from scipy import stats as st_

    x = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)  # mean 1, s.d. 1, SE 1/√3
    res = bias_test(x, torch.zeros(1))
    lo, hi = res.confidence_interval(0.95)
    q = st_.t.isf(0.025, 2)
    assert lo[0] == pytest.approx(1 - q / 3 ** 0.5) and hi[0] == pytest.approx(1 + q / 3 ** 0.5)
    assert res.bias_bound(0.95) == pytest.approx(1 + q / 3 ** 0.5)
    assert res.within_margin(4.0) and not res.within_margin(2.0)
    with pytest.raises(ValueError, match="margin: must be a positive"):
        res.within_margin(0.0)


def test_equivalence_confirms_unbiased_and_not_half_margin_biased():
    """An unbiased estimator is inside a 1% margin with enough samples; one biased by half the margin is not
    confirmed inside a quarter margin (its bound must exceed its true bias)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(200_000, 4, generator=g, dtype=torch.float64)
    assert bias_test(x, torch.zeros(4)).within_margin(0.02)
    assert not bias_test(x + 0.01, torch.zeros(4)).within_margin(0.005)


def test_sign_flip_refuses_an_accumulator():
    acc = MomentAccumulator.from_samples(torch.randn(20, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="sign-flip' needs the per-sample estimates"):
        bias_test(acc, torch.zeros(2), method="sign-flip")


@given(st.integers(0, 6), st.integers(0, 4), st.sampled_from(["bonferroni", "holm", "hotelling", "sign-flip"]),
       st.sampled_from([0.0, 1e-300, 1.0, 1e150, 1e300, float("nan"), float("inf")]), st.integers(0, 2**31 - 1),
       st.booleans())
def test_bias_test_fuzz_named_errors_and_finite_results(n, p, method, magnitude, seed, constant_column):
    """Fuzz (issue 18): any shape, scale, NaN/inf or degenerate column gives a finite p in [0, 1] or a ValueError that
    names its argument — never another exception, never a NaN p-value."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=torch.float64) * magnitude
    if constant_column and p:
        x[:, 0] = 0.5
    try:
        res = bias_test(x, torch.zeros(p), method=method, n_resamples=99)
    except ValueError as e:
        assert str(e).split(":")[0] in ("samples", "truth", "method"), str(e)
        return
    assert 0.0 <= res.pvalue <= 1.0 and not math.isnan(res.statistic)
    assert np.all(np.isfinite(res.standard_error))


def test_normal_interval_reads_se_off_the_fit_and_widens_to_the_level():
    """slope ± z·se with se = (95% width)/(2·1.96): at 95% it returns the fit's own limits' width about the slope, and
    at 1 − 1e-5 it is z(1 − 5e-6)/1.96 ≈ 2.25 times as wide; a bad level names the argument."""
    from types import SimpleNamespace

    from pgtheory.stats import normal_interval

    fit = SimpleNamespace(slope=-0.5, ci_low=-0.6, ci_high=-0.4, confidence_level=0.95)
    lo, hi = normal_interval(fit, 0.95)
    assert lo == pytest.approx(-0.6) and hi == pytest.approx(-0.4)
    lo, hi = normal_interval(fit, 1 - 1e-5)
    assert (hi - lo) / 0.2 == pytest.approx(4.417173413467605 / 1.959963984540054) and (lo + hi) / 2 == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="confidence_level"):
        normal_interval(fit, 1.0)


def test_normal_interval_with_few_units_uses_the_t_quantile():
    """df = 14 (15 resampled prefixes): at 1 − 4e-5 the widening factor is t₁₄ (5.88), not z (4.11); bad df named."""
    from types import SimpleNamespace

    from scipy.stats import norm, t

    from pgtheory.stats import normal_interval

    fit = SimpleNamespace(slope=-1.0, ci_low=-1.1, ci_high=-0.9, confidence_level=0.95)
    lo, hi = normal_interval(fit, 1 - 4e-5, df=14)
    assert (hi - lo) / 0.2 == pytest.approx(t.isf(2e-5, 14) / norm.isf(0.025))
    assert t.isf(2e-5, 14) > 1.4 * norm.isf(2e-5)
    for bad in (0, 2.5, -1):
        with pytest.raises(ValueError, match="df"):
            normal_interval(fit, 0.99, df=bad)


def test_mean_tail_slope_at_level_widens_both_intervals_and_redecides_the_gate():
    """at_level(c): slope ± z_c·se and (s₂ − s₁) ± z_c·se_d with the se's read off the 95% intervals; the point
    estimates are unchanged; a wider difference interval can only make the gate pass more easily."""
    from scipy.stats import norm

    from pgtheory.stats import mean_tail_slope

    rng = np.random.default_rng(3)
    x = np.logspace(1, 3, 40)
    values = x[None, :] ** -0.5 * rng.lognormal(0.0, 0.5, size=(64, 40))
    fit = mean_tail_slope(x, values, decades=1.0, gate_tolerance=0.05, seed=1)
    wide = fit.at_level(1 - 1e-5)
    k = norm.isf(5e-6) / norm.isf(0.025)
    assert wide.slope == fit.slope and wide.half_slopes == fit.half_slopes and wide.confidence_level == 1 - 1e-5
    assert (wide.ci_high - wide.ci_low) == pytest.approx(k * (fit.ci_high - fit.ci_low))
    assert (wide.difference_ci[1] - wide.difference_ci[0]) == pytest.approx(k * (fit.difference_ci[1] - fit.difference_ci[0]))
    assert (wide.ci_low + wide.ci_high) / 2 == pytest.approx(fit.slope)
    assert wide.gated >= fit.gated


def test_twin_rejects_from_a_moment_accumulator_equals_the_samples_form():
    """A planned equivalence sample is streamed (L11-rpg): the twin's power check and test read the accumulator's
    variance and count, and give what the per-sample form gives — rejected, not rejected, and unpowered (None)."""
    from pgtheory.stats import MomentAccumulator, twin_rejects

    x = torch.from_numpy(np.random.default_rng(12).normal(0.0, 1.0, size=(50_000, 3)))
    acc = MomentAccumulator(full_covariance=False)
    for part in x.split(7_000):
        acc.update(part)
    truth = torch.zeros(3)
    for wrong in (torch.tensor([0.05, 0.0, 0.0]), torch.tensor([0.001, 0.0, 0.0]), torch.tensor([1e-5, 0.0, 0.0])):
        assert twin_rejects(acc, truth, wrong) == twin_rejects(x, truth, wrong)
    assert twin_rejects(acc, truth, torch.tensor([0.05, 0.0, 0.0])) is True
    assert twin_rejects(acc, truth, torch.tensor([1e-5, 0.0, 0.0])) is None
