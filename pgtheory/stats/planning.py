r"""Sample-size planning and power for the Bonferroni coordinate z-test of :func:`~pgtheory.stats.bias_test`.

For a bias δ on one coordinate whose estimator has standard deviation σ, testing k coordinates at
family level α, the test rejects with probability

.. math:: \text{power}(n) = \Phi\big(|\delta|\sqrt n/\sigma - z_{1-\alpha/(2k)}\big) + \Phi\big(-|\delta|\sqrt n/\sigma - z_{1-\alpha/(2k)}\big),

and :func:`required_sample_size` returns the smallest n with power ≥ the target
(approximately ((z_{1−α/2k} + z_{power}) σ/δ)²).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as _st

__all__ = ["twin_rejects", "bias_test_power", "required_sample_size", "detection_power"]


def _check(alpha: float, n_tests: int) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    if n_tests < 1:
        raise ValueError(f"n_tests: must be >= 1, got {n_tests}")


def bias_test_power(bias: float, sd: float, n: int, *, alpha: float = 1e-6, n_tests: int = 1) -> float:
    """Probability that a coordinate with bias ``bias`` and per-sample s.d. ``sd`` is flagged with n samples."""
    _check(alpha, n_tests)
    if sd < 0 or n < 1:
        raise ValueError(f"sd, n: need sd >= 0 and n >= 1, got {sd}, {n}")
    if sd == 0:
        return 1.0 if bias != 0 else alpha
    zc = _st.norm.isf(alpha / (2 * n_tests))
    shift = abs(bias) * math.sqrt(n) / sd
    return float(_st.norm.cdf(shift - zc) + _st.norm.cdf(-shift - zc))


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
    n = max(1, math.ceil(((zc + _st.norm.isf(1 - power)) * sd / abs(bias)) ** 2))
    while bias_test_power(bias, sd, n, alpha=alpha, n_tests=n_tests) < power:
        n += max(1, n // 100)
    return n


def twin_rejects(samples, truth, wrong, *, alpha: float = 1e-6, power: float = 0.99) -> bool | None:
    """The twin of an unbiasedness test: does ``bias_test(samples, wrong)`` reject at ``alpha``?

    Returns None when the exact difference ``truth − wrong`` is not detectable with at least ``power`` at this sample
    size (the twin is then uninformative and must not be counted), else True/False. ``samples [n, d]``.
    """
    from .tests import bias_test

    x = torch.as_tensor(samples)
    diff = (torch.as_tensor(truth) - torch.as_tensor(wrong)).reshape(-1).numpy()
    if detection_power(diff, x.reshape(len(x), -1).std(0).numpy(), len(x), alpha=alpha) < power:
        return None
    return bool(bias_test(x, wrong).pvalue <= alpha)
