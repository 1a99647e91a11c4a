r"""Comparisons at matched progress: two methods compared where they have moved equally far, not at one learning rate.

A method that moves further (larger KL from π_old, more J gained) also has wider ratios, more entropy loss,
… simply because it moved further. The fair question is: *at the same progress*, which method has the smaller
side effect? With runs r = 1..R, configurations c = 1..C (e.g. a learning-rate sweep) and checkpoints t = 1..T,

* :func:`value_at_progress` interpolates a run's side effect y at the first checkpoint where its progress x
  reaches a level ℓ (linear in log x between the checkpoints around the crossing; NaN if never reached);
* :func:`frontier_at_progress` takes, per run, the best value (min by default) over the C configurations that
  reach ℓ — the frontier a user tuning the learning rate would reach;
* :func:`matched_comparison` pairs two methods' frontiers over runs (same seeds ⇒ paired) and gives a paired
  t interval of the difference at each level (Bonferroni over the levels).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .paired import PairedDifference, paired_difference

__all__ = ["value_at_progress", "frontier_at_progress", "MatchedPoint", "matched_comparison", "matched_verdict"]


def value_at_progress(progress, value, levels) -> np.ndarray:
    """``progress, value [..., T]`` (checkpoints along a run; progress > 0), ``levels [L]`` → ``[..., L]`` (NaN: not reached)."""
    x = np.asarray(progress, dtype=float)
    y = np.asarray(value, dtype=float)
    lv = np.asarray(levels, dtype=float).ravel()
    if x.shape != y.shape or x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"progress, value: expected equal shapes [..., T], got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(lv)) and np.all(lv > 0)) or lv.size == 0:
        raise ValueError("levels: expected positive finite progress levels")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise ValueError("progress, value: must be finite")
    lead = x.shape[:-1]
    xf, yf = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    out = np.full((xf.shape[0], lv.size), np.nan)
    lx = np.log(np.maximum(xf, 1e-300))
    for i in range(xf.shape[0]):
        for j, level in enumerate(lv):
            hit = np.nonzero(xf[i] >= level)[0]
            if hit.size == 0:
                continue
            k = int(hit[0])
            if xf[i, k] == level:
                out[i, j] = yf[i, k]
                continue
            if k == 0:  # already past the level at the first checkpoint: not matched (include the start point)
                continue
            if xf[i, k - 1] > 0:
                w = (np.log(level) - lx[i, k - 1]) / (lx[i, k] - lx[i, k - 1])
            else:  # interpolating from the start (progress 0): linear in progress
                w = (level - xf[i, k - 1]) / (xf[i, k] - xf[i, k - 1])
            out[i, j] = (1 - w) * yf[i, k - 1] + w * yf[i, k]
    return out.reshape(*lead, lv.size)


def frontier_at_progress(progress, value, levels, *, best: str = "min", select: str = "mean") -> np.ndarray:
    """``progress, value [R, C, T]`` → ``[R, L]``: the best configuration's value at each level.

    ``select="mean"`` (default): at each level, one configuration for all runs — the one with the best mean over the
    runs that reach the level (among configurations reached by at least half of the runs) — so the choice is not
    tuned on each run's own noise (no winner's curse in a paired comparison). ``select="per_run"``: each run's best
    configuration (optimistic: selection and comparison use the same noise).
    """
    v = value_at_progress(progress, value, levels)
    if v.ndim != 3:
        raise ValueError(f"progress: expected shape [R, C, T], got {np.shape(progress)}")
    if best not in ("min", "max"):
        raise ValueError(f"best: expected 'min' or 'max', got {best!r}")
    if select not in ("mean", "per_run"):
        raise ValueError(f"select: expected 'mean' or 'per_run', got {select!r}")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (levels no configuration reached)
        if select == "per_run":
            return np.nanmin(v, axis=1) if best == "min" else np.nanmax(v, axis=1)
        R = v.shape[0]
        reached = np.isfinite(v).sum(0)  # [C, L]
        mean = np.where(reached >= max(2, (R + 1) // 2), np.nanmean(v, axis=0), np.nan)
        out = np.full((R, v.shape[2]), np.nan)
        for j in range(v.shape[2]):
            if np.all(np.isnan(mean[:, j])):
                continue
            c = int(np.nanargmin(mean[:, j]) if best == "min" else np.nanargmax(mean[:, j]))
            out[:, j] = v[:, c, j]
        return out


@dataclass(frozen=True)
class MatchedPoint:
    """The paired difference (a − b) of the frontiers at one progress level; ``diff`` None with < 2 complete pairs."""

    level: float
    n_pairs: int
    diff: PairedDifference | None

    @property
    def sign(self) -> int:
        return 0 if self.diff is None else self.diff.sign


def matched_comparison(a_frontier, b_frontier, levels, *, confidence_level: float = 0.95) -> list[MatchedPoint]:
    """Paired comparison of two ``[R, L]`` frontiers at each level, simultaneous over levels (Bonferroni)."""
    a, b = np.asarray(a_frontier, dtype=float), np.asarray(b_frontier, dtype=float)
    lv = np.asarray(levels, dtype=float).ravel()
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != lv.size:
        raise ValueError(f"a_frontier, b_frontier: expected two [R, {lv.size}] arrays, got {a.shape} and {b.shape}")
    level_conf = 1 - (1 - confidence_level) / lv.size
    out = []
    for j, level in enumerate(lv):
        ok = np.isfinite(a[:, j]) & np.isfinite(b[:, j])
        n = int(ok.sum())
        d = paired_difference(a[ok, j], b[ok, j], confidence_level=level_conf) if n >= 2 else None
        out.append(MatchedPoint(float(level), n, d))
    return out


def matched_verdict(points: list[MatchedPoint]) -> str:
    """The verdict of "a is lower than b" from matched points: significantly lower at every level reached → 'confirmed';
    higher at every level → 'refuted'; both signs occur → 'qualified'; otherwise (no significant level, or
    significant in one direction with the others not) → 'inconclusive'."""
    signs = {p.sign for p in points if p.diff is not None}
    if signs == {-1}:
        return "confirmed"
    if signs == {1}:
        return "refuted"
    if {-1, 1} <= signs:
        return "qualified"
    return "inconclusive"
