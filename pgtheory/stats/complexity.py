r"""Sample complexity measured from runs: N(ε), the samples a run needs to reach error ≤ ε, and its exponent in 1/ε.

A rate claim "O(ε^{-p}) samples to reach ε" (stationarity ‖∇J‖ ≤ ε, or a gap J* − J ≤ ε) is measured here per run:

* :func:`first_passage` — for each run r and target ε_j, N_r(ε_j) = the samples consumed when the run's recorded error
  first falls to ≤ ε_j (``inf`` if it never does within the run, or diverged first). Records come at checkpoints, so
  N_r is an upper bound at checkpoint resolution (log-spaced checkpoints: a relative resolution of
  (T)^{1/K} for K points over T iterations).
* :func:`fit_sample_complexity` — the exponent p of median_r N_r(ε) ∝ ε^{-p}: ordinary least squares of
  log median N on log(1/ε) over the grid; the confidence interval resamples *runs* (the unit of replication) with
  replacement and refits (percentile bootstrap). The median is a per-run statistic: a few runs stuck on a plateau
  move it little, unlike the mean error curve whose slope the old rate fits used.
* **adequacy gate** (the same rule for every rate claim that states an exponent): the run family is *in its regime* only when (i) at every
  target at least ``min_reached`` of the runs reached it (else the median is undefined or driven by the censoring), and
  (ii) the exponents fitted on the coarse half and on the fine half of the ε grid differ by at most ``tolerance``
  (the log–log curve is straight: no transient, no floor). A claim judged on a family that fails the gate is
  inconclusive, never refuted. A claim that states an *upper bound* on the exponent (O(ε^{-p}) complexity) may use the
  one-sided form instead: targets reached as in (i), the curve not steepening (fine-half exponent ≤ coarse-half +
  ``tolerance``), and the fine half's exponent interval (``fine_ci_low``, ``fine_ci_high``) compared with the bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rates import ols_slopes

__all__ = ["first_passage", "SampleComplexityFit", "fit_sample_complexity"]


def first_passage(samples, error, targets) -> np.ndarray:
    """N[r, j] = ``samples[r, k]`` at the first checkpoint k with ``error[r, k] <= targets[j]``; ``inf`` if none.

    ``samples [R, K]`` non-decreasing along k (samples consumed to reach the checkpoint); ``error [R, K]`` (NaN = the run
    diverged or was not recorded: never counts as reached); ``targets [E]`` positive. Returns float64 ``[R, E]``.
    """
    n = np.atleast_2d(np.asarray(samples, dtype=float))
    e = np.atleast_2d(np.asarray(error, dtype=float))
    eps = np.atleast_1d(np.asarray(targets, dtype=float))
    if n.shape != e.shape:
        raise ValueError(f"samples, error: expected the same shape [R, K], got {n.shape} and {e.shape}")
    if n.shape[1] == 0:
        raise ValueError("samples: expected at least one checkpoint")
    if np.any(~np.isfinite(n)) or np.any(np.diff(n, axis=1) < 0):
        raise ValueError("samples: must be finite and non-decreasing along the checkpoints")
    if eps.ndim != 1 or eps.size == 0 or np.any(~np.isfinite(eps)) or np.any(eps <= 0):
        raise ValueError("targets: expected a non-empty 1-D array of positive finite numbers")
    hit = np.where(np.isnan(e)[..., None], False, e[..., None] <= eps)  # [R, K, E]
    first = hit.argmax(1)  # [R, E]
    reached = hit.any(1)
    out = np.take_along_axis(n, first, axis=1)
    return np.where(reached, out, np.inf)


@dataclass(frozen=True)
class SampleComplexityFit:
    """N(ε) ∝ ε^{-exponent} fitted on per-run first-passage samples (see the module docstring)."""

    exponent: float
    intercept: float
    ci_low: float
    ci_high: float
    confidence_level: float
    targets: np.ndarray  #: [E] the ε grid
    median_samples: np.ndarray  #: [E] median over runs of N_r(ε) (inf when fewer than half reached)
    reached_fraction: np.ndarray  #: [E]
    exponent_coarse: float  #: fitted on the larger-ε half of the grid
    exponent_fine: float  #: fitted on the smaller-ε half
    fine_ci_low: float  #: run-bootstrap interval of the fine-half exponent (the local exponent nearest the limit)
    fine_ci_high: float
    in_regime: bool  #: the adequacy gate
    tolerance: float
    n_runs: int
    all_reached: bool  #: every target was reached by at least ``min_reached`` of the runs (part (i) of the gate)

    @property
    def steepening(self) -> bool:
        """The fine-half exponent exceeds the coarse-half one by more than the tolerance: the complexity is still
        growing faster towards small ε, so the asymptotic exponent may be larger than any fitted here. An *upper bound*
        on the exponent can be checked on the fine half of a family that reached its targets and is not steepening
        (a curve that flattens, fine < coarse, only makes the bound easier to meet)."""
        return bool(not np.isfinite(self.exponent_fine) or not np.isfinite(self.exponent_coarse)
                    or self.exponent_fine > self.exponent_coarse + self.tolerance)


    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high


def fit_sample_complexity(targets, samples_needed, *, confidence_level: float = 0.95, n_boot: int = 2000, seed: int = 0,
                          tolerance: float = 0.25, min_reached: float = 0.8) -> SampleComplexityFit:
    """Fit the exponent p of median N(ε) ∝ ε^{-p}, with a run-bootstrap interval and the adequacy gate.

    ``targets [E]`` (E ≥ 4, distinct, positive); ``samples_needed [R, E]`` from :func:`first_passage` (``inf`` = not
    reached). The point fit uses the targets that more than half the runs reached (at least 2 are needed, else
    ``ValueError``); a bootstrap replicate whose median is infinite at some target is dropped from the interval (the
    interval is then computed on the rest). The gate requires ``reached_fraction >= min_reached`` at every target and
    |p_coarse − p_fine| ≤ ``tolerance``.
    """
    eps = np.asarray(targets, dtype=float)
    N = np.atleast_2d(np.asarray(samples_needed, dtype=float))
    if eps.ndim != 1 or eps.size < 4:
        raise ValueError(f"targets: need at least 4 targets for the exponent and the halves' gate, got {eps.size}")
    if np.any(eps <= 0) or np.unique(eps).size != eps.size:
        raise ValueError("targets: must be positive and distinct")
    if N.shape[1] != eps.size:
        raise ValueError(f"samples_needed: expected shape [R, {eps.size}], got {N.shape}")
    if np.any(np.isnan(N)) or np.any(N <= 0):
        raise ValueError("samples_needed: must be positive (inf for a target not reached), without NaN")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level: must lie in (0, 1), got {confidence_level}")
    if not tolerance > 0 or not 0 < min_reached <= 1:
        raise ValueError(f"tolerance, min_reached: need tolerance > 0 and min_reached in (0, 1], got {tolerance}, {min_reached}")
    order = np.argsort(-eps)  # coarse (large ε) first
    eps, N = eps[order], N[:, order]
    R = N.shape[0]
    reached = np.isfinite(N).mean(0)
    med = np.median(N, axis=0)
    ok = np.isfinite(med)
    if ok.sum() < 2:
        raise ValueError("samples_needed: fewer than two targets were reached by more than half of the runs")
    lx = np.log(1 / eps)
    ly = np.log(np.where(ok, med, 1.0))
    A = np.stack([lx[ok], np.ones(ok.sum())], 1)
    (p, c), *_ = np.linalg.lstsq(A, ly[ok], rcond=None)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, R, size=(n_boot, R))
    boot = np.median(N[idx][:, :, ok], axis=1)  # [n_boot, E_ok]
    finite = np.isfinite(boot).all(1)
    slopes = ols_slopes(lx[ok], np.log(boot[finite])) if finite.any() else np.array([np.nan])
    a = (1 - confidence_level) / 2
    lo, hi = (np.quantile(slopes, [a, 1 - a]) if finite.any() else (np.nan, np.nan))
    half = eps.size // 2
    coarse, fine = slice(0, half + 1), slice(half, eps.size)  # the halves share the middle target
    def _half(sl):
        m = ok[sl]
        return float(ols_slopes(lx[sl][m], ly[sl][m])) if m.sum() >= 2 else float("nan")
    p_coarse, p_fine = _half(coarse), _half(fine)
    fm = ok[fine]
    if fm.sum() >= 2 and finite.any():
        fine_boot = np.median(N[idx][:, :, fine][:, :, fm], axis=1)
        ff = np.isfinite(fine_boot).all(1)
        fslopes = ols_slopes(lx[fine][fm], np.log(fine_boot[ff])) if ff.any() else np.array([np.nan])
        flo, fhi = np.quantile(fslopes, [a, 1 - a]) if ff.any() else (np.nan, np.nan)
    else:
        flo, fhi = np.nan, np.nan
    all_reached = bool(np.all(reached >= min_reached))
    gate = bool(all_reached and np.isfinite(p_coarse) and np.isfinite(p_fine) and abs(p_coarse - p_fine) <= tolerance)
    return SampleComplexityFit(float(p), float(c), float(lo), float(hi), confidence_level, eps, med, reached, p_coarse,
                               p_fine, float(flo), float(fhi), gate, tolerance, R, all_reached)
