r"""Replication over a family of instances: the fraction on which a rule holds, with an exact interval.

A verdict about a claim is a statement about a *family* of instances (random MDPs, policies, tasks), not
about seed 0's one instance. With k of m instances satisfying the rule, the Clopper–Pearson interval

.. math:: [\,B^{-1}(\alpha/2;\ k,\ m-k+1),\ B^{-1}(1-\alpha/2;\ k+1,\ m-k)\,]

covers the family's true fraction with probability ≥ 1 − α for every m (exact, conservative).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

__all__ = ["ReplicationSummary", "replication_summary"]


@dataclass(frozen=True)
class ReplicationSummary:
    """``holding`` of ``count`` instances satisfy the rule; ``fraction`` = holding / count."""

    count: int
    holding: int
    confidence_level: float
    ci_low: float
    ci_high: float

    @property
    def fraction(self) -> float:
        return self.holding / self.count

    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high

    def to_dict(self) -> dict:
        return {"count": self.count, "holding": self.holding, "fraction": self.fraction,
                "ci": [self.ci_low, self.ci_high], "confidence_level": self.confidence_level}


def replication_summary(holds, confidence_level: float = 0.95) -> ReplicationSummary:
    """Summarise per-instance outcomes ``holds`` (booleans, one per instance) with a Clopper–Pearson interval."""
    h = np.asarray(holds)
    if h.ndim != 1 or h.size == 0:
        raise ValueError(f"holds: expected a non-empty 1-D array of per-instance outcomes, got shape {h.shape}")
    if h.dtype != bool:
        if not np.all(np.isin(h, (0, 1))):
            raise ValueError("holds: entries must be booleans (or 0/1)")
        h = h.astype(bool)
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level: must lie in (0, 1), got {confidence_level}")
    m, k = int(h.size), int(h.sum())
    a = 1 - confidence_level
    lo = 0.0 if k == 0 else float(_st.beta.ppf(a / 2, k, m - k + 1))
    hi = 1.0 if k == m else float(_st.beta.ppf(1 - a / 2, k + 1, m - k))
    return ReplicationSummary(m, k, confidence_level, lo, hi)
