r"""Noise summaries: trace covariance, signal-to-noise ratio, relative efficiency of two estimators.

SNR = ‖E ĝ‖ / √(tr Cov ĝ) (per sample). Standard errors and CIs for the variance ratio use batch means
over the accumulator's chunks: each chunk gives an independent estimate of tr Cov, and the CI is a
t-interval on the log ratio across chunk pairs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from .moments import MomentAccumulator

__all__ = ["NoiseSummary", "noise_summary", "RelativeEfficiency", "relative_efficiency"]


@dataclass(frozen=True)
class NoiseSummary:
    trace_covariance: float
    mean_norm: float
    snr: float
    n: int


def noise_summary(acc: MomentAccumulator) -> NoiseSummary:
    tr = acc.trace_covariance
    m = float(acc.mean.norm())
    return NoiseSummary(tr, m, m / math.sqrt(tr) if tr > 0 else math.inf, acc.n)


@dataclass(frozen=True)
class RelativeEfficiency:
    """ratio = tr Cov(a) / tr Cov(b); ratio < 1 means a is less noisy."""

    ratio: float
    ci_low: float
    ci_high: float
    n_chunks: int
    confidence_level: float

    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high


def relative_efficiency(a: MomentAccumulator, b: MomentAccumulator, *, confidence_level: float = 0.95) -> RelativeEfficiency:
    """tr Cov(a)/tr Cov(b) with a batch-means t-interval over paired chunks (needs ≥ 2 chunks each)."""
    ka, kb = len(a.chunk_traces), len(b.chunk_traces)
    k = min(ka, kb)
    if k < 2:
        raise ValueError(f"a, b: need at least 2 chunks each for a confidence interval, got {ka} and {kb}")
    ratio = a.trace_covariance / b.trace_covariance
    lr = np.log(np.asarray(a.chunk_traces[:k]) / np.asarray(b.chunk_traces[:k]))
    se = lr.std(ddof=1) / math.sqrt(k)
    t = _st.t.isf((1 - confidence_level) / 2, k - 1)
    centre = math.log(ratio)
    return RelativeEfficiency(ratio, math.exp(centre - t * se), math.exp(centre + t * se), k, confidence_level)
