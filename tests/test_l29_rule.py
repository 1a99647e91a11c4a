"""The decision rule of L29 (sample-complexity upper bounds) on synthetic run families with known expected-gap slopes:
a bound that holds is 'holds', a slower family 'violates', a family faster than 1/n 'pre-asymptotic', a kinked tail
'undecided'; the planted near twin (the same runs tilted to bound + 0.25) is flagged only when the noise allows; one
violating instance qualifies, a majority of all instances (≥ 2) refutes. Deterministic (fixed numpy seeds)."""
from __future__ import annotations

import numpy as np

from pgtheory.claims.library.l29_fisher_nondegenerate_rates import (BOUND_SLOPES, LOG_TOL, TWIN_EXCESS, algorithm_verdict,
                                                                      decide, tail_fit)

N = np.unique(np.rint(np.geomspace(1, 20000, 200)))


def _runs(slope, R=48, noise=0.3, seed=0, kink=None):
    rng = np.random.default_rng(seed)
    base = N ** slope if kink is None else np.where(N < kink[0], N ** slope, kink[0] ** slope * (N / kink[0]) ** kink[1])
    return base[None] * np.exp(noise * rng.standard_normal((R, N.size)))


def _fit(gap, tilt=0.0):
    return tail_fit(N, gap, n_boot=2000, level=0.999, seed=1, tilt=tilt)


def test_rule_on_known_slopes():
    b = BOUND_SLOPES["n_harpg"]  # −0.5
    assert decide(_fit(_runs(-0.7)), b, LOG_TOL) == "holds"
    assert decide(_fit(_runs(-0.2)), b, LOG_TOL) == "violates"
    assert decide(_fit(_runs(-1.5)), b, LOG_TOL) == "pre-asymptotic"
    kinked = _fit(_runs(-0.3, kink=(4000, -1.0)))  # slope changes by 0.7 inside the last decade
    assert not kinked["gated"] and decide(kinked, b, LOG_TOL) == "undecided"
    assert decide({"unusable": True}, b, LOG_TOL) == "unusable"


def test_planted_twin_moves_the_slope_exactly_and_needs_a_narrow_interval():
    gap = _runs(-0.7)
    f = _fit(gap)
    b = BOUND_SLOPES["n_pg_igt"]
    tilt = b + LOG_TOL + TWIN_EXCESS - f["slope"]
    tw = _fit(gap, tilt)
    assert abs(tw["slope"] - (b + LOG_TOL + TWIN_EXCESS)) < 1e-12
    assert decide(tw, b, LOG_TOL) == "violates"  # 48 runs at 30% noise: intervals narrower than 0.15
    noisy = _runs(-0.7, R=6, noise=3.0)
    fn = _fit(noisy)
    twn = _fit(noisy, b + LOG_TOL + TWIN_EXCESS - fn["slope"])
    assert decide(twn, b, LOG_TOL) != "violates"  # too noisy to detect a practical violation: the instance is unusable


def test_family_verdicts():
    ok = [True] * 4
    assert algorithm_verdict(["holds"] * 4, ok) == "confirmed"
    assert algorithm_verdict(["holds"] * 3 + ["violates"], ok) == "qualified"
    assert algorithm_verdict(["violates"] * 3 + ["holds"], ok) == "refuted"
    assert algorithm_verdict(["violates", "undecided", "undecided", "undecided"], ok) == "qualified"  # 1 never refutes
    assert algorithm_verdict(["holds"] * 4, [True, True, True, False]) == "inconclusive"  # no power on one of four
    assert algorithm_verdict(["holds", "holds", "holds", "pre-asymptotic"], ok) == "inconclusive"
