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
