r"""Convergence-rate fits: the slope of log(error) against log(n or t), with a bootstrap CI over seeds.

With errors e[k, j] for seeds k = 1..K at abscissae x_j, the point estimate is the OLS slope of
log(mean_k e[k, j]) on log x_j; the CI is the percentile interval of the same statistic over
``n_boot`` resamples of the seeds (rows) with replacement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

__all__ = ["RateFit", "fit_rate", "normal_interval", "ols_slopes"]


@dataclass(frozen=True)
class RateFit:
    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    confidence_level: float
    n_seeds: int
    n_points: int

    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high

    def contains(self, slope: float) -> bool:
        return self.ci_low <= slope <= self.ci_high


def ols_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of each row of ``y [..., n]`` on ``x [n]``: Σ(x − x̄)(y − ȳ)/Σ(x − x̄)², ``[...]``."""
    xc = x - x.mean()
    return (y - y.mean(-1, keepdims=True)) @ xc / (xc @ xc)


def _ols(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float]:
    A = np.stack([lx, np.ones_like(lx)], 1)
    (s, c), *_ = np.linalg.lstsq(A, ly, rcond=None)
    return float(s), float(c)


def fit_rate(x, errors, *, n_boot: int = 2000, confidence_level: float = 0.95, seed: int = 0) -> RateFit:
    """Fit error ∝ x^slope. ``x [J]`` positive; ``errors [K, J]`` positive (K seeds; K = 1 gives no CI width)."""
    x = np.asarray(x, dtype=float)
    e = np.atleast_2d(np.asarray(errors, dtype=float))
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x: need at least two abscissae, got shape {x.shape}")
    if e.shape[1] != x.size:
        raise ValueError(f"errors: expected shape [K, {x.size}], got {e.shape}")
    if np.any(x <= 0) or np.any(~np.isfinite(x)):
        raise ValueError("x: must be positive and finite")
    if np.any(e <= 0) or np.any(~np.isfinite(e)):
        raise ValueError("errors: must be positive and finite (log scale)")
    lx = np.log(x)
    slope, icpt = _ols(lx, np.log(e.mean(0)))
    rng = np.random.default_rng(seed)
    K = e.shape[0]
    idx = rng.integers(0, K, size=(n_boot, K))
    boot_means = e[idx].mean(1)  # [n_boot, J]
    slopes = ols_slopes(lx, np.log(boot_means))
    a = (1 - confidence_level) / 2
    lo, hi = np.quantile(slopes, [a, 1 - a])
    return RateFit(slope, icpt, float(lo), float(hi), confidence_level, K, x.size)


def normal_interval(fit, confidence_level: float, *, df: int | None = None) -> tuple[float, float]:
    """``slope ± z·se`` at ``confidence_level``, with ``se`` read off the fit's own percentile interval.

    ``fit`` is any fit with ``slope``, ``ci_low``, ``ci_high`` and ``confidence_level`` (:class:`RateFit`,
    :class:`~pgtheory.stats.MeanTailSlope`): ``se = (ci_high − ci_low)/(2·z(fit.confidence_level))`` and
    ``z(c) = Φ⁻¹(1 − (1 − c)/2)``. For levels far beyond the bootstrap's resolution (1 − 1e-5 with 2000 resamples puts
    the percentile limits at the most extreme resampled slopes), a normal approximation to the slope's sampling law
    is the honest interval; the bootstrap interval itself stays the one to use at levels it resolves. With few
    resampled units (``df`` = their number − 1, e.g. 15 prefixes), ``z`` is the Student-t quantile with ``df`` degrees
    of freedom instead: the normal one would understate the tail far out (at 1 − 4e-5 and 14 df, |t| > z is ~30× more
    likely than stated). The se is still read off the bootstrap interval with the normal 97.5% quantile, so with
    ``df`` the interval is slightly conservative (about ×1.09 at 14 df).
    """
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level: must be in (0, 1), got {confidence_level}")
    if df is not None and (not isinstance(df, (int, np.integer)) or df < 1):
        raise ValueError(f"df: must be a positive integer, got {df!r}")
    se = (fit.ci_high - fit.ci_low) / (2 * float(norm.ppf(1 - (1 - fit.confidence_level) / 2)))
    tail = (1 - confidence_level) / 2
    z = float(norm.isf(tail) if df is None else student_t.isf(tail, int(df)))
    return float(fit.slope - z * se), float(fit.slope + z * se)
