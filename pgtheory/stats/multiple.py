"""Multiple-testing corrections across many checks: Bonferroni, Holm, Benjamini–Hochberg."""
from __future__ import annotations

import numpy as np

__all__ = ["adjust_pvalues"]


def adjust_pvalues(pvalues, method: str = "holm") -> np.ndarray:
    """Adjusted p-values (reject where adjusted p < α): 'bonferroni' and 'holm' control the FWER, 'bh' the FDR."""
    p = np.asarray(pvalues, dtype=float).ravel()
    if p.size == 0:
        raise ValueError("pvalues: empty")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues: must be finite and lie in [0, 1]")
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p)
    ps = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ps))
    elif method == "bh":
        adj = np.minimum.accumulate((ps * m / np.arange(1, m + 1))[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    else:
        raise ValueError(f"method: expected 'bonferroni', 'holm' or 'bh', got {method!r}")
    out = np.empty(m)
    out[order] = adj
    return out
