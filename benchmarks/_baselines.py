"""Numpy baselines shared by the sampler benchmarks (issue 17): what a competent numpy user writes."""
from __future__ import annotations

import numpy as np


def alias_rows(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias tables for each row of ``p`` [rows, K]: (prob [rows, K], alias [rows, K])."""
    rows, K = p.shape
    prob, alias = np.ones((rows, K)), np.zeros((rows, K), dtype=np.int64)
    for i in range(rows):
        q = p[i] * K
        small, large = [j for j in range(K) if q[j] < 1], [j for j in range(K) if q[j] >= 1]
        while small and large:
            lo, hi = small.pop(), large.pop()
            prob[i, lo], alias[i, lo] = q[lo], hi
            q[hi] -= 1 - q[lo]
            (small if q[hi] < 1 else large).append(hi)
        alias[i, np.arange(K)[prob[i] == 1]] = np.arange(K)[prob[i] == 1]
    return prob, alias


def alias_draw(prob: np.ndarray, alias: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per entry of ``row`` from the rows' alias tables: one uniform, split into a column and a coin."""
    u = rng.random(row.shape[0]) * prob.shape[1]
    k = u.astype(np.int64)
    return np.where(u - k < prob[row, k], k, alias[row, k])
