"""Paired comparisons across seeds: mean difference with a t confidence interval."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as _st

__all__ = ["PairedDifference", "paired_difference"]


class PairedDifference(NamedTuple):
    statistic: float  #: mean of a − b over pairs
    low: float
    high: float
    n: int

    def confidence_interval(self) -> tuple[float, float]:
        return self.low, self.high

    @property
    def sign(self) -> int:
        """+1 if the CI lies above 0, −1 if below, 0 if it contains 0."""
        return 1 if self.low > 0 else (-1 if self.high < 0 else 0)


def paired_difference(a, b, *, confidence_level: float = 0.95) -> PairedDifference:
    """Mean of a_i − b_i with a Student-t interval (needs ≥ 2 finite pairs)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a, b: expected two vectors of equal length, got shapes {a.shape} and {b.shape}")
    d = a - b
    if len(d) < 2 or not np.isfinite(d).all():
        raise ValueError("a, b: need at least 2 finite pairs")
    m, se = d.mean(), d.std(ddof=1) / np.sqrt(len(d))
    h = _st.t.ppf(0.5 + confidence_level / 2, len(d) - 1) * se
    return PairedDifference(float(m), float(m - h), float(m + h), len(d))
