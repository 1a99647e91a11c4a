r"""Bias tests of a vector Monte Carlo estimator against an exact value, as scipy.stats-style results.

Two tests of H0: E[ĝ] = g for ĝ ∈ R^P from n i.i.d. samples:

* ``method="bonferroni"`` (default): coordinate z-scores z_i = (ḡ_i − g_i)/SE_i with the normal
  approximation (n large), p = min(1, k · 2Φ(−max_i |z_i|)) over the k coordinates. Robust to singular
  covariance — which is the normal case for softmax policy gradients, whose per-state coordinates sum to
  zero — and its false-rejection rate is at most α whatever the correlation between coordinates.
  Coordinates with zero sample variance count as exact: a non-zero deviation there rejects (z = ∞).
* ``method="hotelling"``: T² = n dᵀ S⁺ d on the r-dimensional range of the sample covariance,
  F = (n − r) T² / (r (n − 1)) ~ F(r, n − r). More powerful against biases spread over many
  coordinates; a deviation outside the range of S (a direction with no variance) rejects.

The choice: Bonferroni-z is the default used by the property tests because its false-failure bound
does not rest on estimating a P × P inverse covariance; Hotelling is offered for dense biases.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats as _st

from .._checks import as_tensor, check_finite
from .moments import MomentAccumulator

__all__ = ["BiasTestResult", "bias_test"]


@dataclass(frozen=True)
class BiasTestResult:
    """Result of :func:`bias_test` (in the style of ``scipy.stats`` results)."""

    statistic: float  #: max |z| (bonferroni) or T² (hotelling)
    pvalue: float
    estimate: np.ndarray  #: sample mean ḡ, [P]
    truth: np.ndarray  #: exact g, [P]
    standard_error: np.ndarray  #: per-coordinate SE of ḡ, [P]
    n: int
    method: str
    df: tuple[float, ...] = field(default=())

    @property
    def bias(self) -> np.ndarray:
        """ḡ − g, [P]."""
        return self.estimate - self.truth

    @property
    def z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(self.standard_error > 0, self.bias / np.where(self.standard_error > 0, self.standard_error, 1), 0.0)
        return z

    def confidence_interval(self, confidence_level: float = 0.95, simultaneous: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate CI for the bias E[ĝ] − g (Bonferroni-simultaneous over P by default)."""
        if not 0 < confidence_level < 1:
            raise ValueError(f"confidence_level: must lie in (0, 1), got {confidence_level}")
        k = len(self.estimate) if simultaneous else 1
        zc = _st.norm.isf((1 - confidence_level) / (2 * k))
        return self.bias - zc * self.standard_error, self.bias + zc * self.standard_error

    def reject(self, alpha: float) -> bool:
        return self.pvalue < alpha


def _moments(samples) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, int]:
    if isinstance(samples, MomentAccumulator):
        acc = samples
    else:
        x = as_tensor(samples, "samples")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"samples: expected a non-empty batch [n, ...], got shape {tuple(x.shape)}")
        acc = MomentAccumulator.from_samples(x)
    if acc.n < 2:
        raise ValueError(f"samples: need at least 2 samples, got {acc.n}")
    cov = acc.covariance if acc.full_covariance else None
    return acc.mean, cov, acc.variance, acc.n


def bias_test(samples, truth, *, method: str = "bonferroni", zero_tol: float = 1e-12) -> BiasTestResult:
    """Test H0: E[ĝ] = ``truth`` from per-sample estimates ``samples [n, ...]`` or a :class:`MomentAccumulator`."""
    mean, cov, var, n = _moments(samples)
    g = check_finite(as_tensor(truth, "truth", device=mean.device).reshape(-1), "truth")
    if g.shape != mean.shape:
        raise ValueError(f"truth: has {g.numel()} entries but the estimates have {mean.numel()}")
    d = mean - g
    se = (var / n).sqrt()
    scale = zero_tol * (1 + float(g.abs().max()) + float(mean.abs().max()))
    if method == "bonferroni":
        live = se > scale
        z = torch.where(live, d / se.clamp_min(1e-300), torch.where(d.abs() > scale, torch.full_like(d, math.inf), torch.zeros_like(d)))
        zmax = float(z.abs().max())
        k = d.numel()
        p = 1.0 if zmax == 0 else min(1.0, k * 2 * float(_st.norm.sf(zmax)))
        res = BiasTestResult(zmax, p, mean.cpu().numpy(), g.cpu().numpy(), se.cpu().numpy(), n, method)
    elif method == "hotelling":
        if cov is None:
            raise ValueError("method: 'hotelling' needs a full covariance (MomentAccumulator(full_covariance=True))")
        evals, evecs = torch.linalg.eigh(cov)
        keep = evals > evals.max().clamp_min(0) * 1e-10
        r = int(keep.sum())
        proj = evecs[:, keep].T @ d
        outside = d - evecs[:, keep] @ proj
        if float(outside.abs().max()) > 1e3 * scale + 1e-9 * float(se.max()):
            return BiasTestResult(math.inf, 0.0, mean.cpu().numpy(), g.cpu().numpy(), se.cpu().numpy(), n, method, (r, n - r))
        if r == 0:
            return BiasTestResult(0.0, 1.0, mean.cpu().numpy(), g.cpu().numpy(), se.cpu().numpy(), n, method, (0, n))
        if n <= r:
            raise ValueError(f"samples: Hotelling's test needs more samples ({n}) than covariance rank ({r})")
        t2 = float(n * (proj * proj / evals[keep]).sum())
        f = (n - r) / (r * (n - 1)) * t2
        p = float(_st.f.sf(f, r, n - r))
        res = BiasTestResult(t2, p, mean.cpu().numpy(), g.cpu().numpy(), se.cpu().numpy(), n, method, (r, n - r))
    else:
        raise ValueError(f"method: expected 'bonferroni' or 'hotelling', got {method!r}")
    return res
