r"""Exact McNemar test: are two paired binary outcomes equally likely? (paired over units, binomial on the discordant pairs)

For n paired binary outcomes (a_i, b_i) — e.g. per reward-model draw, "the conservative policy ended below the
reference" and "the vanilla policy ended below the reference" — only the discordant pairs carry information about
P(a) − P(b): with n_ab = #{a_i = 1, b_i = 0} and n_ba = #{a_i = 0, b_i = 1},

.. math:: P(a = 1) - P(b = 1) = P(a=1, b=0) - P(a=0, b=1),\qquad
          \hat\Delta = (n_{ab} - n_{ba})/n,

and under H0: P(a) = P(b), conditionally on the number of discordant pairs d = n_ab + n_ba, n_ab ~ Binomial(d, 1/2).
The exact two-sided p-value is scipy's ``binomtest(n_ab, d, 1/2)`` (the sum of the probabilities of the outcomes no
more likely than the one observed); with no discordant pair it is 1. Unlike a paired t on the ±1/0 differences, the
test's size is at most its level for every n (conditionally on d, hence unconditionally).
Source: McNemar (1947), "Note on the sampling error of the difference between correlated proportions or
percentages", Psychometrika 12(2); the exact (binomial) version as in Agresti, *Categorical Data Analysis*, §10.1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as _st

__all__ = ["McNemar", "mcnemar_exact"]


class McNemar(NamedTuple):
    only_a: int  #: pairs with a = 1, b = 0
    only_b: int  #: pairs with a = 0, b = 1
    n: int  #: all pairs
    difference: float  #: (only_a − only_b)/n = mean(a) − mean(b)
    p_value: float  #: exact two-sided binomial p-value on the discordant pairs (1 when there are none)

    def sign(self, level: float) -> int:
        """+1 if a is significantly more often 1 than b at ``level`` (p ≤ level), −1 if less, 0 otherwise."""
        if not 0 < level < 1:
            raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
        if self.p_value > level or self.only_a == self.only_b:
            return 0
        return 1 if self.only_a > self.only_b else -1


def _binary(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected an array of binary outcomes, got objects")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty vector, got shape {arr.shape}")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name}: entries must be 0/1 or booleans")
        arr = arr.astype(bool)
    return arr


def mcnemar_exact(a, b) -> McNemar:
    """Exact McNemar test of P(a = 1) = P(b = 1) from paired binary outcomes ``a, b`` (vectors of equal length)."""
    x, y = _binary(a, "a"), _binary(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"b: expected the same length as a ({x.size}), got {y.size}")
    only_a, only_b = int((x & ~y).sum()), int((~x & y).sum())
    d = only_a + only_b
    p = float(_st.binomtest(only_a, d, 0.5).pvalue) if d else 1.0
    return McNemar(only_a, only_b, int(x.size), (only_a - only_b) / x.size, min(p, 1.0))
