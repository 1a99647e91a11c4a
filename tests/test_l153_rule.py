"""The decision rule of L153 (variance reduction for multi-objective PG) on synthetic first-passage tables with known
medians: the log median-ratio interval, the per-instance comparison with its planted twin, the tuning choice and the
verdict table. The synthetic samples are log-normal with σ = 0.5 and fixed generators (deterministic); the stated true
ratios sit ≥ 10 standard errors from the decision boundaries, so a failure means a wrong rule, not bad luck."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pgtheory.claims.library.l153_mo_variance_reduction import (PLANTED, TARGET_FRACTIONS, _choose, _medians, compare,
                                                                log_ratio_interval, verdict_of)

LEVEL = 1 - 0.05 / 128 / 10  # the claim's share split over its 10 main decisions


def _table(rng, R: int, medians, reached=None) -> np.ndarray:
    """[R, E] first-passage samples, log-normal around ``medians`` (inf = never); ``reached`` fractions per target."""
    N = np.asarray(medians, float) * np.exp(0.5 * rng.standard_normal((R, len(medians))))
    N = np.sort(N, axis=1)  # first passages are ordered along the targets (coarse first)
    for j, f in enumerate(reached or [1.0] * len(medians)):
        N[int(round(f * R)):, j] = np.inf
    return N


def test_log_ratio_interval_covers_the_true_ratio_and_detects_the_planted_twin():
    rng = np.random.default_rng(0)
    a = 200 * np.exp(0.5 * rng.standard_normal(384))
    b = 100 * np.exp(0.5 * rng.standard_normal(384))
    p, lo, hi = log_ratio_interval(a, b, LEVEL, np.random.default_rng(1))
    assert lo < math.log(2) < hi and lo > 0 and p == pytest.approx(math.log(np.median(a) / np.median(b)))
    p, lo, hi = log_ratio_interval(a, a / PLANTED, LEVEL, np.random.default_rng(2))
    assert lo > 0  # a 25% faster method with the same noise is detected at 384 runs
    p, lo, hi = log_ratio_interval(a[:24], a[:24] / PLANTED, LEVEL, np.random.default_rng(2))
    assert lo < 0 < hi  # twin: at 24 runs the same difference is not detected (no power), as the quick scale finds
    inf = np.full(384, np.inf)
    assert all(math.isnan(x) for x in log_ratio_interval(inf, b, LEVEL, np.random.default_rng(3)))


def test_medians_need_more_than_half_reached_and_choose_prefers_the_finest_target():
    rng = np.random.default_rng(4)
    t = _table(rng, 100, [10, 100, 1000, 5000], reached=[1, 1, 0.6, 0.5])
    m = _medians(t)
    assert np.isfinite(m[:3]).all() and m[3] == np.inf
    slow_fine = _table(rng, 100, [50, 500, 5000, 9000], reached=[1, 1, 1, 0.9])
    fast_coarse = _table(rng, 100, [5, 50, 500, 9000], reached=[1, 1, 1, 0.2])
    assert _choose([fast_coarse, slow_fine]) == 1  # reaching the smallest target beats being fast at coarse ones
    assert _choose([_table(rng, 50, [1, 2, 3, 4]) * 2, _table(rng, 50, [1, 2, 3, 4])]) == 1


@pytest.mark.parametrize("ratio, expected", [(2.0, "faster"), (0.5, "slower"), (1.0, "tie")])
def test_compare_decides_at_the_finest_common_target(ratio, expected):
    rng = np.random.default_rng(5)
    base = [100, 400, 1600, 6400]
    mopg = _table(rng, 384, base)
    vr = _table(rng, 384, [b / ratio for b in base])
    out = compare(mopg, vr, LEVEL, np.random.default_rng(6))
    assert out["decision_target"] == len(TARGET_FRACTIONS) - 1 and out["twin"] == "faster"
    assert out["outcome"] == expected and out["usable"]
    lo, hi = out["log_ratio"][1:]
    assert lo < math.log(ratio) < hi


def test_compare_refuses_coarse_only_and_underpowered_ties():
    rng = np.random.default_rng(7)
    coarse = compare(_table(rng, 384, [100, 400, 1600, 6400], reached=[1, 1, 0.3, 0.1]),
                     _table(rng, 384, [50, 200, 800, 3200], reached=[1, 1, 0.3, 0.1]), LEVEL, np.random.default_rng(8))
    assert coarse["decision_target"] == 1 and coarse["outcome"] == "unusable"  # 0.1 of the gap: not sample complexity
    small = compare(_table(rng, 12, [100, 400, 1600, 6400]), _table(rng, 12, [100, 400, 1600, 6400]), LEVEL,
                    np.random.default_rng(9))
    assert small["twin"] != "faster" and small["outcome"] == "unusable"  # a tie without power says nothing


@pytest.mark.parametrize("outcomes, verdict", [
    (["faster"] * 10, "confirmed"),
    (["faster"] * 8 + ["tie"] * 2, "confirmed"),
    (["faster"] * 9 + ["slower"], "qualified"),
    (["faster"] * 5 + ["tie"] * 5, "qualified"),
    (["slower"] * 6 + ["faster"] * 4, "refuted"),
    (["tie"] * 10, "inconclusive"),
    (["faster", "faster"] + ["unusable"] * 8, "inconclusive"),
])
def test_verdict_table(outcomes, verdict):
    assert verdict_of(outcomes) == verdict
