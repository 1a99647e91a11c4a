"""L27's interval for the median per-group Spearman correlation: exact order statistics, valid at the ledger's level."""
import numpy as np

from pgtheory.claims.library.l27_d3s import _median_ci


def test_median_ci_is_the_binomial_order_statistic_interval():
    # n = 10, level 0.9: P(Bin(10, ½) ≤ 1) = 11/1024 ≤ 0.05 < P(≤ 2) = 56/1024, so l = 2: [x_(2), x_(9)]
    x = np.arange(1.0, 11.0)
    assert _median_ci(np.random.default_rng(0).permutation(x), 0.9) == (2.0, 9.0)
    # level 1 − 4e-4 needs n with P(Bin(n, ½) ≤ 0) = 2^-n ≤ 2e-4: n = 10 is too few → no interval
    assert _median_ci(x, 1 - 4e-4) == (-np.inf, np.inf)


def test_median_ci_at_the_ledger_level_separates_a_shifted_sample_from_zero():
    """A median of 0.5 over 200 groups (σ = 1) is resolved at 1 − 4e-4; its mirror is resolved below, a centred one not."""
    z = np.random.default_rng(1).standard_normal(200)
    lo, hi = _median_ci(z + 0.5, 1 - 4e-4)
    assert lo > 0
    lo, hi = _median_ci(-z - 0.5, 1 - 4e-4)
    assert hi < 0
    lo, hi = _median_ci(z - np.median(z), 1 - 4e-4)
    assert lo < 0 < hi
