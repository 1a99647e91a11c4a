"""Sample-complexity measurement (issue 12): first passage per run, the exponent of median N(ε) with a run bootstrap,
and the adequacy gate. Synthetic run families with known exponents; deterministic (fixed numpy seeds), no tolerance
was tuned on these draws: the checks use the fit's own 95% interval widened by nothing, on noise designed to be mild.
"""
from __future__ import annotations

import numpy as np
import pytest

from pgtheory.stats import first_passage, fit_sample_complexity, mean_tail_slope


def _runs(rate_of_n, R=200, K=80, seed=0, noise=0.2):
    """error_r(n) = rate(n)·exp(noise·z_r) with a per-run level z_r (runs as instances), n log-spaced to 1e6."""
    rng = np.random.default_rng(seed)
    n = np.unique(np.rint(np.geomspace(1, 1e6, K))).astype(float)
    level = np.exp(noise * rng.standard_normal((R, 1)))
    return np.broadcast_to(n, (R, n.size)), rate_of_n(n)[None] * level


def test_first_passage_by_hand():
    samples = np.array([[0, 10, 20, 40], [0, 10, 20, 40]])
    error = np.array([[1.0, 0.5, 0.2, 0.3], [1.0, np.nan, 0.05, 0.01]])
    N = first_passage(samples, error, [0.6, 0.25, 0.1])
    assert np.array_equal(N, np.array([[10, 20, np.inf], [20, 20, 20]], dtype=float))
    with pytest.raises(ValueError, match="samples: must be finite and non-decreasing"):
        first_passage([[0, 5, 3]], [[1, 1, 1]], [0.5])
    with pytest.raises(ValueError, match="targets: expected a non-empty"):
        first_passage(samples, error, [0.0])
    with pytest.raises(ValueError, match="samples, error: expected the same shape"):
        first_passage(samples, error[:, :3], [0.5])


@pytest.mark.parametrize("p", [2.0, 2.5, 4.0])
def test_known_exponent_is_recovered_and_gated_in(p):
    """error = n^{-1/p} ⇒ N(ε) = ε^{-p}: the interval covers p (checkpoint resolution 1e6^{1/80} ≈ 19% per point),
    the gate passes; a wrong exponent (p − 0.5, the ε^{-2.5}-vs-ε^{-3} size of difference) lies outside the interval."""
    samples, err = _runs(lambda n: n ** (-1 / p))
    eps = np.geomspace(err.max() * 0.5 ** (1 / p) * 0.5, 1e6 ** (-1 / p) * 3, 8)
    fit = fit_sample_complexity(eps, first_passage(samples, err, eps))
    lo, hi = fit.confidence_interval()
    assert lo <= p <= hi and fit.in_regime
    assert not lo <= p - 0.5 <= hi
    assert abs(fit.exponent - p) < 0.1
    assert not fit.steepening and fit.all_reached and fit.fine_ci_low <= p <= fit.fine_ci_high


def test_floor_fails_the_gate_and_never_refutes():
    """A run family that hits a floor (error = n^{-1/2} + 1e-3) has a fine-half exponent far above the coarse one:
    the gate fails (pre-asymptotic/biased window), and the fit reports it rather than a spurious exponent."""
    samples, err = _runs(lambda n: n ** (-0.5) + 1e-3)
    eps = np.geomspace(0.3, 1.2e-3, 8)
    fit = fit_sample_complexity(eps, first_passage(samples, err, eps))
    assert not fit.in_regime and fit.exponent_fine > fit.exponent_coarse + fit.tolerance and fit.steepening


def test_steepening_and_flattening_curves():
    """Upper-bound claims use the fine half and the steepening flag. A run family that speeds up (error n^{-1/2} up to
    n = 1000, then ∝ n^{-1}) flattens: not steepening, and the fine half recovers the late exponent 1. A delayed start
    (error ×5 for the first 100 samples, then n^{-1/2}) makes N(ε) flat over the coarse targets: flagged as steepening,
    which an upper-bound rule treats as undecided (conservative: the local exponent is still rising)."""
    fast = lambda n: np.where(n < 1000, n ** (-0.5), 1000 ** (-0.5) * (n / 1000) ** (-1.0))  # noqa: E731
    samples, err = _runs(fast)
    eps = np.geomspace(0.2, 1e-4, 8)
    fit = fit_sample_complexity(eps, first_passage(samples, err, eps))
    assert fit.all_reached and not fit.steepening and fit.exponent_fine < fit.exponent_coarse
    assert fit.fine_ci_low <= 1.0 <= fit.fine_ci_high
    samples, err = _runs(lambda n: np.where(n < 100, 5.0, 1.0) * n ** (-0.5))
    eps = np.geomspace(0.3, 1.5e-3, 8)
    fit = fit_sample_complexity(eps, first_passage(samples, err, eps))
    assert fit.all_reached and fit.steepening


def test_unreached_targets_fail_the_gate_and_bad_input_is_named():
    samples, err = _runs(lambda n: n ** (-0.5))
    eps = np.geomspace(0.5, 1e-4, 6)  # the last targets are below 1e6^{-1/2} = 1e-3: never reached
    fit = fit_sample_complexity(eps, first_passage(samples, err, eps))
    assert not fit.in_regime and fit.reached_fraction[-1] == 0
    with pytest.raises(ValueError, match="targets: need at least 4"):
        fit_sample_complexity([0.1, 0.01], np.ones((3, 2)))
    with pytest.raises(ValueError, match="samples_needed: must be positive"):
        fit_sample_complexity([0.4, 0.3, 0.2, 0.1], np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="fewer than two targets"):
        fit_sample_complexity([0.4, 0.3, 0.2, 0.1], np.full((3, 4), np.inf))


def test_mean_tail_slope_recovers_the_rate_of_the_expectation_and_the_tilt_is_exact():
    """E[value] ∝ x^{-0.5} with multiplicative log-normal run noise: the interval covers −0.5 and the gate passes; a
    tilt moves the point slope by exactly the tilt; a kink inside the tail fails the gate; bad input is named."""
    rng = np.random.default_rng(3)
    x = np.geomspace(1, 1e4, 120)
    runs = x[None] ** -0.5 * np.exp(0.3 * rng.standard_normal((64, x.size)))
    f = mean_tail_slope(x, runs, confidence_level=0.99, seed=1)
    assert f.ci_low <= -0.5 <= f.ci_high and f.gated
    assert abs(mean_tail_slope(x, runs, tilt=0.3, seed=1).slope - (f.slope + 0.3)) < 1e-12
    kink = np.where(x < 3000, x ** -0.2, 3000 ** -0.2 * (x / 3000) ** -1.2)
    assert not mean_tail_slope(x, kink[None] * np.exp(0.01 * rng.standard_normal((64, x.size)))).gated
    with pytest.raises(ValueError, match="values: must be positive"):
        mean_tail_slope(x, -runs)
    with pytest.raises(ValueError, match="x: expected at least 4"):
        mean_tail_slope(x[::-1], runs)
