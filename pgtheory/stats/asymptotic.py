r"""The adequacy gate of asymptotic claims: is a run in the regime its limit describes?

A rate "error ∝ t^s" or a limit "x_t → c" can only be judged once the run is in its regime. The gate
used by every asymptotic claim: the *local* log–log slopes over the last ``windows`` consecutive windows
(each a least-squares slope over a geometric block of the run) agree within ``tolerance``; only then is
the tail slope — the fit over those windows — a measurement of the rate. Runs from fixed
initialisations are instances: the gate and the slope are computed per run, and a family is summarised
by per-run statistics (median, fraction within tolerance), never by the slope of a mean over runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rates import ols_slopes

__all__ = ["LocalSlopes", "local_slopes"]


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
