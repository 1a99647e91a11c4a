r"""The adequacy gate of asymptotic claims: is a run in the regime its limit describes?

A rate "error ∝ t^s" or a limit "x_t → c" can only be judged once the run is in its regime. The gate
used by every asymptotic claim: the *local* log–log slopes over the last ``windows`` consecutive windows
(each a least-squares slope over a geometric block of the run) agree within ``tolerance``; only then is
the tail slope — the fit over those windows — a measurement of the rate. Runs from fixed
initialisations are instances: the gate and the slope are computed per run, and a family is summarised
by per-run statistics (median, fraction within tolerance), never by the slope of a mean over runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np

from .rates import normal_interval, ols_slopes

__all__ = ["LocalSlopes", "local_slopes", "MeanTailSlope", "mean_tail_slope"]


@dataclass(frozen=True)
class LocalSlopes:
    """Per-run local slopes ``slopes [R, W]`` over the last W windows, the tail slope per run, and the gate."""

    slopes: np.ndarray
    tail_slope: np.ndarray
    in_regime: np.ndarray
    tolerance: float

    @property
    def fraction_in_regime(self) -> float:
        return float(self.in_regime.mean())

    def median_tail_slope(self) -> float:
        """Median over the runs that passed the gate (NaN when none did)."""
        s = self.tail_slope[self.in_regime]
        return float(np.median(s)) if s.size else float("nan")


def local_slopes(t, values, *, windows: int = 3, points_per_window: int = 4, tolerance: float = 0.05) -> LocalSlopes:
    """Gate asymptotic runs: ``t [n]`` increasing positive abscissae, ``values [R, n]`` positive (R runs).

    The last ``windows × points_per_window`` points are split into ``windows`` consecutive blocks; a run is
    *in its regime* when the block slopes of log values on log t differ by at most ``tolerance`` (max − min).
    """
    x = np.asarray(t, dtype=float)
    y = np.atleast_2d(np.asarray(values, dtype=float))
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"t: expected at least two abscissae, got shape {x.shape}")
    if np.any(np.diff(x) <= 0) or np.any(x <= 0):
        raise ValueError("t: must be positive and strictly increasing")
    if y.shape[-1] != x.size:
        raise ValueError(f"values: expected shape [R, {x.size}], got {y.shape}")
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise ValueError("values: must be positive and finite (log scale)")
    if windows < 2 or points_per_window < 2:
        raise ValueError(f"windows, points_per_window: need ≥ 2 each, got {windows}, {points_per_window}")
    need = windows * points_per_window
    if x.size < need:
        raise ValueError(f"t: need at least windows × points_per_window = {need} points, got {x.size}")
    if not tolerance > 0:
        raise ValueError(f"tolerance: must be positive, got {tolerance}")
    lx, ly = np.log(x[-need:]), np.log(y[:, -need:])
    blocks = [slice(i * points_per_window, (i + 1) * points_per_window) for i in range(windows)]
    slopes = np.stack([ols_slopes(lx[b], ly[:, b]) for b in blocks], -1)
    in_regime = slopes.max(-1) - slopes.min(-1) <= tolerance
    return LocalSlopes(slopes, ols_slopes(lx, ly), in_regime, tolerance)


@dataclass(frozen=True)
class MeanTailSlope:
    """Tail slope of log E[value] against log x from R runs, with a run-bootstrap interval and a noise-aware gate."""

    slope: float
    ci_low: float
    ci_high: float
    half_slopes: tuple[float, float]  #: slopes of the first and second half of the tail
    difference_ci: tuple[float, float]  #: bootstrap interval of (second − first) half slope
    gated: bool  #: the two halves agree within ``gate_tolerance`` up to their noise
    points: int  #: abscissae in the tail
    confidence_level: float
    gate_tolerance: float

    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high

    def to_dict(self) -> dict:
        return {"slope": self.slope, "ci": [self.ci_low, self.ci_high], "half_slopes": list(self.half_slopes),
                "difference_ci": list(self.difference_ci), "gated": self.gated, "points": self.points}

    def at_level(self, confidence_level: float) -> "MeanTailSlope":
        """The same fit with both intervals widened (or narrowed) to ``confidence_level`` by the normal approximation:
        estimate ± z·se, se read off this fit's percentile interval (:func:`~pgtheory.stats.normal_interval`), and
        the gate re-decided on the new difference interval. For levels a bootstrap of a few thousand resamples cannot
        resolve (1 − 1e-5: its percentile limits are then the most extreme resamples, too narrow)."""
        lo, hi = normal_interval(self, confidence_level)
        d = self.half_slopes[1] - self.half_slopes[0]
        diff = SimpleNamespace(slope=d, ci_low=self.difference_ci[0], ci_high=self.difference_ci[1],
                               confidence_level=self.confidence_level)
        dlo, dhi = normal_interval(diff, confidence_level)
        gated = bool(dhi >= -self.gate_tolerance and dlo <= self.gate_tolerance)
        return replace(self, ci_low=lo, ci_high=hi, difference_ci=(dlo, dhi), gated=gated,
                       confidence_level=confidence_level)


def mean_tail_slope(x, values, *, decades: float = 1.0, gate_tolerance: float = 0.15, confidence_level: float = 0.95,
                    n_boot: int = 2000, seed: int = 0, tilt: float = 0.0) -> MeanTailSlope:
    r"""The rate of an *expected* quantity (e.g. E[J* − J(θ_t)], what convergence theorems bound) from R i.i.d. runs.

    ``x [K]`` positive increasing abscissae shared by the runs (samples or iterations); ``values [R, K]`` positive.
    The tail is the last ``decades`` decades of x; the slope is the least-squares slope of log(mean over runs) on log x
    there, and the interval resamples runs with replacement (percentile bootstrap, ``n_boot`` replicates). Gate (noise
    aware, two-sided): the slopes of the two halves of the tail (sharing the middle point) agree within
    ``gate_tolerance`` up to their noise — the bootstrap interval of their difference meets [−tol, tol]. Noise therefore
    never fails the gate; it widens the slope's interval, so a decision needing a narrow interval stays undecided.
    ``tilt``: multiply every run by (x/x_K)^tilt first — a planted twin whose slope is moved by exactly ``tilt`` at the
    measured noise level (a power check). Use :func:`local_slopes` for deterministic runs (instances, not noise).
    """
    xs = np.asarray(x, dtype=float)
    v = np.atleast_2d(np.asarray(values, dtype=float))
    if xs.ndim != 1 or xs.size < 4 or np.any(xs <= 0) or np.any(np.diff(xs) <= 0):
        raise ValueError("x: expected at least 4 positive, strictly increasing abscissae")
    if v.shape[1] != xs.size or v.shape[0] < 2:
        raise ValueError(f"values: expected shape [R ≥ 2, {xs.size}], got {v.shape}")
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("values: must be positive and finite (log scale)")
    if not decades > 0 or not gate_tolerance > 0 or not 0 < confidence_level < 1:
        raise ValueError("decades, gate_tolerance: must be positive; confidence_level: in (0, 1)")
    keep = xs >= xs[-1] / 10 ** decades
    if keep.sum() < 4:
        raise ValueError(f"x: fewer than 4 abscissae in the last {decades} decade(s)")
    lx = np.log(xs[keep])
    g = v[:, keep] * np.exp(tilt * (lx - lx[-1]))
    half = lx.size // 2

    def slopes(mean_values):
        ly = np.log(mean_values)
        return (ols_slopes(lx, ly), ols_slopes(lx[: half + 1], ly[..., : half + 1]), ols_slopes(lx[half:], ly[..., half:]))

    s, s1, s2 = slopes(g.mean(0))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, g.shape[0], size=(n_boot, g.shape[0]))
    bs, b1, b2 = slopes(g[idx].mean(1))
    a = (1 - confidence_level) / 2
    lo, hi = np.quantile(bs, [a, 1 - a])
    dlo, dhi = np.quantile(b2 - b1, [a, 1 - a])
    gated = bool(dhi >= -gate_tolerance and dlo <= gate_tolerance)
    return MeanTailSlope(float(s), float(lo), float(hi), (float(s1), float(s2)), (float(dlo), float(dhi)), gated,
                         int(keep.sum()), confidence_level, gate_tolerance)
