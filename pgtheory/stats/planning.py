r"""Sample-size planning and power for the Bonferroni coordinate t-test of :func:`~pgtheory.stats.bias_test`.

For a bias δ on one coordinate whose estimator has standard deviation σ, testing k coordinates at
family level α with n samples, the coordinate's t statistic follows a non-central t law with n − 1
degrees of freedom and non-centrality λ = |δ|√n/σ (exactly for Gaussian estimates), so the test
rejects with probability

.. math:: \text{power}(n) = P(|T_{n-1,\lambda}| > t_{n-1,\,1-\alpha/(2k)}),

and :func:`required_sample_size` returns the smallest n ≥ 2 with power ≥ the target
(approximately ((z_{1−α/2k} + z_{power}) σ/δ)² for large n).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from scipy import stats as _st

__all__ = ["twin_rejects", "bias_test_power", "required_sample_size", "detection_power", "equivalence_sample_size"]


def _check(alpha: float, n_tests: int) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    if n_tests < 1:
        raise ValueError(f"n_tests: must be >= 1, got {n_tests}")


def bias_test_power(bias: float, sd: float, n: int, *, alpha: float = 1e-6, n_tests: int = 1) -> float:
    """Probability that a coordinate with bias ``bias`` and per-sample s.d. ``sd`` is flagged with n samples."""
    _check(alpha, n_tests)
    if not sd >= 0 or n < 2:
        raise ValueError(f"sd, n: need sd >= 0 and n >= 2 (a t-test has n − 1 degrees of freedom), got {sd}, {n}")
    if sd == 0:
        return 1.0 if bias != 0 else alpha
    df = n - 1
    tc = _st.t.isf(alpha / (2 * n_tests), df)
    shift = abs(bias) * math.sqrt(n) / sd
    if shift == 0:
        return float(alpha / n_tests)
    return _noncentral_t_two_sided_power(tc, df, shift)


def _noncentral_t_two_sided_power(tc: float, df: int, shift: float) -> float:
    """P(|T| > tc) for T = (Z + shift)/S, S = χ_df/√df, by quadrature over S.

    (scipy's ``nct.sf`` returns values > 1 or jumps for large shift and small tail probabilities, so the
    conditional normal probability is integrated against the law of S instead.)
    """
    root = math.sqrt(df)
    lo, hi = _st.chi.ppf(1e-14, df) / root, _st.chi.isf(1e-14, df) / root
    nodes, weights = _legendre_nodes()
    s = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    dens = _st.chi.pdf(s * root, df) * root
    cond = _st.norm.sf(tc * s - shift) + _st.norm.cdf(-tc * s - shift)
    val = 0.5 * (hi - lo) * float(np.dot(weights, cond * dens))
    return float(min(1.0, max(0.0, val)))


@functools.lru_cache(maxsize=1)
def _legendre_nodes() -> tuple[np.ndarray, np.ndarray]:
    """256 Gauss–Legendre nodes: on the central 1 − 2e-14 of S's law this agrees with adaptive quadrature to < 1e-9."""
    return np.polynomial.legendre.leggauss(256)


def detection_power(bias: np.ndarray, sd: np.ndarray, n: int, *, alpha: float = 1e-6) -> float:
    """Power of the Bonferroni test over all coordinates: at least the best single coordinate's power."""
    bias, sd = np.asarray(bias, float).ravel(), np.asarray(sd, float).ravel()
    k = bias.size
    return max(bias_test_power(float(b), float(s), n, alpha=alpha, n_tests=k) for b, s in zip(bias, sd))


def required_sample_size(bias: float, sd: float, *, alpha: float = 1e-6, power: float = 0.9, n_tests: int = 1) -> int:
    """Smallest n whose power to detect ``bias`` (per-sample s.d. ``sd``) is at least ``power``."""
    _check(alpha, n_tests)
    if bias == 0:
        raise ValueError("bias: must be non-zero to plan a sample size")
    if not 0 < power < 1:
        raise ValueError(f"power: must lie in (0, 1), got {power}")
    zc = _st.norm.isf(alpha / (2 * n_tests))
    # the t-test needs at least the z-test's n; grow geometrically past the target, then bisect (power is monotone in n)
    lo = max(2, math.ceil(((zc + _st.norm.isf(1 - power)) * sd / abs(bias)) ** 2))
    ok = lambda m: bias_test_power(bias, sd, m, alpha=alpha, n_tests=n_tests) >= power  # noqa: E731
    if ok(lo):
        return lo
    hi = lo + 1
    while not ok(hi):
        lo, hi = hi, hi + max(1, hi // 4)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def twin_rejects(samples, truth, wrong, *, alpha: float = 1e-6, power: float = 0.99) -> bool | None:
    """The twin of an unbiasedness test: does ``bias_test(samples, wrong)`` reject at ``alpha``?

    Returns None when the exact difference ``truth − wrong`` is not detectable with at least ``power`` at this sample
    size (the twin is then uninformative and must not be counted), else True/False. ``samples [n, d]`` or a
    :class:`~pgtheory.stats.MomentAccumulator` of them (a sample too large to hold).
    """
    from .moments import MomentAccumulator
    from .tests import bias_test

    diff = (torch.as_tensor(truth) - torch.as_tensor(wrong)).reshape(-1).numpy()
    if isinstance(samples, MomentAccumulator):
        x, n, sd = samples, samples.n, samples.variance.reshape(-1).sqrt().numpy()
    else:
        x = torch.as_tensor(samples)
        n, sd = len(x), x.reshape(len(x), -1).std(0).numpy()
    if detection_power(diff, sd, n, alpha=alpha) < power:
        return None
    return bool(bias_test(x, wrong).pvalue <= alpha)


def equivalence_sample_size(sd: float, margin: float, *, confidence_level: float, power: float = 0.99,
                            bias: float = 0.0, n_tests: int = 1) -> int:
    r"""Smallest n for which the bias bound of :meth:`BiasTestResult.bias_bound` (one coordinate) falls inside ``margin``
    with probability ≥ ``power``, for an estimator with per-sample s.d. ``sd`` and true bias ``bias`` (|bias| < margin).

    The bound is :math:`|\bar x − g| + z_c σ/\sqrt n` with :math:`z_c = Φ^{-1}(1 − (1 − c)/2)`; in the normal
    approximation it is inside the margin with probability ≥ ``power`` once

    .. math:: n ≥ \left(\frac{(z_c + z_{(1 + \text{power})/2})\, σ}{\text{margin} − |\text{bias}|}\right)^2

    (exact two-sided for bias 0, conservative otherwise). ``sd = 0`` needs n = 2. With ``n_tests`` coordinates (the
    bound is Bonferroni-simultaneous over them) pass the largest coordinate s.d.: z_c is taken at
    1 − (1 − c)/(2·n_tests) and each coordinate must be inside with probability 1 − (1 − power)/n_tests (union bound).
    """
    if isinstance(n_tests, bool) or not isinstance(n_tests, int) or n_tests < 1:
        raise ValueError(f"n_tests: must be an integer >= 1, got {n_tests!r}")
    if not 0 < confidence_level < 1 or not 0 < power < 1:
        raise ValueError(f"confidence_level, power: must lie in (0, 1), got {confidence_level}, {power}")
    if not sd >= 0 or not math.isfinite(sd):
        raise ValueError(f"sd: must be finite and >= 0, got {sd}")
    if not margin > abs(bias):
        raise ValueError(f"margin: must exceed |bias| (an estimator biased beyond the margin is never inside it), "
                         f"got margin {margin}, bias {bias}")
    if sd == 0:
        return 2
    z = _st.norm.isf((1 - confidence_level) / (2 * n_tests)) + _st.norm.isf((1 - power) / (2 * n_tests))
    return max(2, math.ceil((z * sd / (margin - abs(bias))) ** 2))
