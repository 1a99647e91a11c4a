r"""Bias tests of a vector Monte Carlo estimator against an exact value, as scipy.stats-style results.

Tests of H0: E[ĝ] = g for ĝ ∈ R^P from n i.i.d. samples. All of them hold their level at small n:

* ``method="bonferroni"`` (default) and ``method="holm"``: per-coordinate Student t statistics
  t_i = (ḡ_i − g_i)/SE_i with n − 1 degrees of freedom, two-sided p_i = 2 T_{n−1}(−|t_i|), combined
  over the k coordinates by Bonferroni (global p = min(1, k · min_i p_i)). Exact for Gaussian
  estimates at any n ≥ 2 and, by the central limit theorem, asymptotically for any estimate with finite
  variance; the family-wise false-rejection rate is at most α whatever the correlation between
  coordinates. Robust to a singular covariance — the normal case for softmax policy gradients, whose
  per-state coordinates sum to zero. ``holm`` has the same global p-value and also reports Holm-adjusted
  per-coordinate p-values (``result.pvalues``), which reject at least as many coordinates.
  Coordinates with zero sample variance count as exact: a non-zero deviation there rejects (t = ∞).
  With *discrete* estimates at very small n a coordinate can have zero sample variance by chance; use
  ``method="sign-flip"`` there.
* ``method="hotelling"``: T² = n dᵀ S⁺ d on the r-dimensional range of the sample covariance,
  F = (n − r) T² / (r (n − 1)) ~ F(r, n − r) (exact for Gaussian estimates). More powerful against
  biases spread over many coordinates. A deviation outside the range of S (a direction with no
  variance) rejects — which is only meaningful when that range is *structural*, so the test needs
  r < n − 1 (more samples than the covariance rank plus one) and raises a ``ValueError`` otherwise
  (with n ≤ P samples the sample covariance is rank-deficient for lack of data, not by structure).
* ``method="sign-flip"``: a randomisation test of max_i |t_i| over random sign flips of the centred
  deviations x_j − g, exact (level ≤ α at any n ≥ 2) when the estimate's law is symmetric about its
  mean, and asymptotically valid otherwise. Needs the samples themselves (not a
  :class:`MomentAccumulator`); deterministic (its own seeded generator).

Minimum n: 2 for every method (one degree of freedom). Inputs are rescaled by a power of two before
any moment is formed, so estimates of magnitude up to the float64 limit neither overflow nor lose the
test (t, T² and F are scale-invariant).

Confidence intervals (:meth:`BiasTestResult.confidence_interval`) use the same t quantiles, simultaneous
over the P coordinates by Bonferroni by default; :meth:`BiasTestResult.bias_bound` and
:meth:`BiasTestResult.within_margin` turn them into an equivalence statement ("|E ĝ − g| ≤ margin").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats as _st

from .._checks import as_tensor, check_finite
from .moments import MomentAccumulator
from .multiple import adjust_pvalues

__all__ = ["BiasTestResult", "bias_test", "BIAS_TEST_METHODS", "MIN_SAMPLES"]

BIAS_TEST_METHODS = ("bonferroni", "holm", "hotelling", "sign-flip")
MIN_SAMPLES = 2


@dataclass(frozen=True)
class BiasTestResult:
    """Result of :func:`bias_test` (in the style of ``scipy.stats`` results).

    ``estimate``, ``truth`` and ``standard_error`` are in the input's units; ``statistic`` is max |t|
    (bonferroni, holm, sign-flip) or T² (hotelling); ``df`` the degrees of freedom of its reference law.
    """

    statistic: float
    pvalue: float
    estimate: np.ndarray  #: sample mean ḡ, [P]
    truth: np.ndarray  #: exact g, [P]
    standard_error: np.ndarray  #: per-coordinate SE of ḡ, [P]
    n: int
    method: str
    df: tuple[float, ...] = field(default=())
    pvalues: np.ndarray | None = None  #: per-coordinate adjusted p-values (bonferroni/holm)

    @property
    def bias(self) -> np.ndarray:
        """ḡ − g, [P]."""
        return self.estimate - self.truth

    @property
    def t(self) -> np.ndarray:
        """Per-coordinate t statistics (ḡ_i − g_i)/SE_i; ±inf for a deviation with zero variance, 0 for none."""
        se = self.standard_error
        b = self.bias
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, b / np.where(se > 0, se, 1.0), np.where(b != 0, np.sign(b) * np.inf, 0.0))
        return t

    @property
    def z(self) -> np.ndarray:
        """Alias of :attr:`t` (the statistic was a z-score before the small-sample fix)."""
        return self.t

    def _quantile(self, confidence_level: float, simultaneous: bool) -> float:
        if not 0 < confidence_level < 1:
            raise ValueError(f"confidence_level: must lie in (0, 1), got {confidence_level}")
        k = len(self.estimate) if simultaneous else 1
        return float(_st.t.isf((1 - confidence_level) / (2 * k), self.n - 1))

    def confidence_interval(self, confidence_level: float = 0.95, simultaneous: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate t interval for the bias E[ĝ] − g (Bonferroni-simultaneous over P by default)."""
        q = self._quantile(confidence_level, simultaneous)
        return self.bias - q * self.standard_error, self.bias + q * self.standard_error

    def bias_bound(self, confidence_level: float = 0.95, norm: str = "max") -> float:
        """Upper confidence bound on the size of the bias E[ĝ] − g.

        ``norm="max"``: max_i max(|lo_i|, |hi_i|) from the simultaneous interval (a bound on ‖bias‖∞);
        ``norm="l2"``: the Euclidean norm of the per-coordinate maxima (a bound on ‖bias‖₂ holding on the
        same simultaneous event).
        """
        lo, hi = self.confidence_interval(confidence_level, simultaneous=True)
        m = np.maximum(np.abs(lo), np.abs(hi))
        if norm == "max":
            return float(m.max())
        if norm == "l2":
            return float(np.sqrt((m * m).sum()))
        raise ValueError(f"norm: expected 'max' or 'l2', got {norm!r}")

    def within_margin(self, margin: float, confidence_level: float = 0.95, norm: str = "max") -> bool:
        """Equivalence: does the simultaneous interval for the bias lie inside [−margin, margin]?"""
        if not (margin > 0 and math.isfinite(margin)):
            raise ValueError(f"margin: must be a positive finite number, got {margin!r}")
        return self.bias_bound(confidence_level, norm) <= margin

    def reject(self, alpha: float) -> bool:
        return self.pvalue < alpha


def _power_of_two_scale(*xs: torch.Tensor) -> float:
    """2^k with k such that every |x| / 2^k ≤ 1 (exact rescaling: no rounding)."""
    m = max((float(x.abs().max()) if x.numel() else 0.0) for x in xs)
    if m == 0 or not math.isfinite(m):
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1])


def _prepare(samples, truth) -> tuple[MomentAccumulator, torch.Tensor | None, torch.Tensor, float]:
    """(accumulator in scaled units, scaled raw samples or None, scaled truth, scale)."""
    if isinstance(samples, MomentAccumulator):
        acc, x = samples, None
        if acc.n == 0:
            raise ValueError("samples: the accumulator is empty")
        mean = acc.mean
        if not bool(torch.isfinite(acc._m2).all()):
            raise ValueError("samples: the accumulator's second moments overflowed; rescale the estimates before accumulating")
        g = check_finite(as_tensor(truth, "truth", device=mean.device).reshape(-1), "truth")
        if g.shape != mean.shape:
            raise ValueError(f"truth: has {g.numel()} entries but the estimates have {mean.numel()}")
        scale = 1.0
    else:
        x = as_tensor(samples, "samples")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"samples: expected a non-empty batch [n, ...], got shape {tuple(x.shape)}")
        x = check_finite(x.reshape(x.shape[0], -1), "samples")
        if x.shape[1] == 0:
            raise ValueError(f"samples: the estimates have no coordinates (shape {tuple(as_tensor(samples, 'samples').shape)})")
        g = check_finite(as_tensor(truth, "truth", device=x.device).reshape(-1), "truth")
        if g.shape[0] != x.shape[1]:
            raise ValueError(f"truth: has {g.numel()} entries but the estimates have {x.shape[1]}")
        scale = _power_of_two_scale(x, g)
        x, g = x / scale, g / scale
        acc = MomentAccumulator.from_samples(x)
    if acc.n < MIN_SAMPLES:
        raise ValueError(f"samples: need at least {MIN_SAMPLES} samples, got {acc.n}")
    return acc, x, g, scale


def _max_t(d: torch.Tensor, se: torch.Tensor, tiny: float) -> torch.Tensor:
    """Per-coordinate |t|, with the zero-variance convention (inf for a deviation, 0 for none)."""
    live = se > tiny
    inf = torch.full_like(d, math.inf)
    return torch.where(live, d.abs() / se.clamp_min(1e-300), torch.where(d.abs() > tiny, inf, torch.zeros_like(d)))


def bias_test(samples, truth, *, method: str = "bonferroni", zero_tol: float = 1e-12, n_resamples: int = 9999,
              seed: int = 0) -> BiasTestResult:
    """Test H0: E[ĝ] = ``truth`` from per-sample estimates ``samples [n, ...]`` or a :class:`MomentAccumulator`.

    ``method``: one of :data:`BIAS_TEST_METHODS` (see the module docstring). ``zero_tol``: a coordinate
    whose standard error is below ``zero_tol`` × (1 + max|g| + max|ḡ|) counts as exact.
    ``n_resamples``/``seed``: for ``"sign-flip"`` only. Needs n ≥ 2.
    """
    if method not in BIAS_TEST_METHODS:
        raise ValueError(f"method: expected one of {BIAS_TEST_METHODS}, got {method!r}")
    acc, x, g, scale = _prepare(samples, truth)
    mean, var, n = acc.mean, acc.variance, acc.n
    d = mean - g
    se = (var / n).sqrt()
    tiny = zero_tol * (1 + float(g.abs().max()) + float(mean.abs().max()))
    unscale = lambda t: (t * scale).cpu().numpy()  # noqa: E731
    common = dict(estimate=unscale(mean), truth=unscale(g), standard_error=unscale(se), n=n, method=method)
    if method in ("bonferroni", "holm"):
        t = _max_t(d, se, tiny)
        p_coord = np.where(np.isinf(t.cpu().numpy()), 0.0, 2 * _st.t.sf(t.cpu().numpy(), n - 1))
        adj = adjust_pvalues(p_coord, method)
        return BiasTestResult(float(t.max()), float(adj.min()), df=(n - 1,), pvalues=adj, **common)
    if method == "hotelling":
        return _hotelling(acc, d, se, tiny, n, common)
    if x is None:
        raise ValueError("samples: method 'sign-flip' needs the per-sample estimates, not a MomentAccumulator")
    return _sign_flip(x, g, tiny, n_resamples, seed, common)


def _hotelling(acc: MomentAccumulator, d: torch.Tensor, se: torch.Tensor, tiny: float, n: int, common: dict) -> BiasTestResult:
    if not acc.full_covariance:
        raise ValueError("method: 'hotelling' needs a full covariance (MomentAccumulator(full_covariance=True))")
    evals, evecs = torch.linalg.eigh(acc.covariance)
    keep = evals > evals.max().clamp_min(0) * 1e-10
    r = int(keep.sum())
    if r == 0:  # every coordinate constant: exact where the deviation is zero
        dev = float(d.abs().max()) > tiny
        return BiasTestResult(math.inf if dev else 0.0, 0.0 if dev else 1.0, df=(0, n), **common)
    if r >= n - 1:
        raise ValueError(
            f"samples: Hotelling's test needs more samples ({n}) than the covariance rank plus one ({r} + 1); with "
            f"n ≤ P the rank is limited by the data, not by structure — use method='bonferroni' or 'sign-flip'")
    basis = evecs[:, keep]
    proj = basis.T @ d
    outside = d - basis @ proj
    if float(outside.abs().max()) > 1e3 * tiny + 1e-9 * float(se.max()):
        return BiasTestResult(math.inf, 0.0, df=(r, n - r), **common)
    t2 = float(n * (proj * proj / evals[keep]).sum())
    f = (n - r) / (r * (n - 1)) * t2
    return BiasTestResult(t2, float(_st.f.sf(f, r, n - r)), df=(r, n - r), **common)


def _sign_flip(x: torch.Tensor, g: torch.Tensor, tiny: float, n_resamples: int, seed: int, common: dict) -> BiasTestResult:
    """p = (1 + #{b : T_b ≥ T_obs}) / (1 + B) with T = max_i |t_i| of the sign-flipped deviations.

    When 2^n ≤ B + 1 every sign vector is enumerated instead (the exact randomisation p-value). The law
    is discrete: with n samples the smallest attainable p is 2^{1−n} (the global flip leaves max|t|
    unchanged), so n ≤ 5 can never reject at α = 0.05 — valid, but without power.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples: must be >= 1, got {n_resamples}")
    dev = x - g  # [n, P]
    n = dev.shape[0]

    def max_t(signs: torch.Tensor) -> torch.Tensor:  # signs [B, n] → [B]
        m = signs @ dev / n  # [B, P]
        second = (dev * dev).sum(0) / n  # sign flips leave Σ dev² unchanged
        var = (second[None] - m * m) * n / (n - 1)
        return _max_t(m, (var.clamp_min(0) / n).sqrt(), tiny).amax(-1)

    t_obs = float(max_t(torch.ones(1, n, dtype=dev.dtype, device=dev.device))[0])
    if 2 ** n <= n_resamples + 1:  # small n: the exact randomisation law over all 2^n sign vectors
        bits = torch.arange(2 ** n).unsqueeze(1).bitwise_right_shift(torch.arange(n)).bitwise_and(1)
        stats_all = max_t((bits * 2 - 1).to(dev))
        p = float((stats_all >= t_obs * (1 - 1e-12)).sum()) / 2 ** n
    else:
        gen = torch.Generator().manual_seed(seed)
        exceed, done = 0, 0
        while done < n_resamples:
            b = min(4096, n_resamples - done)
            signs = (torch.randint(0, 2, (b, n), generator=gen, dtype=torch.int64) * 2 - 1).to(dev)
            exceed += int((max_t(signs) >= t_obs * (1 - 1e-12)).sum())
            done += b
        p = (1 + exceed) / (1 + n_resamples)
    return BiasTestResult(t_obs, float(p), df=(n - 1,), **common)
