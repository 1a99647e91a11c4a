"""Claims moved from one instance to a family on 2026-12-02: their per-instance rules and family verdicts."""
import numpy as np

from pgtheory.claims.library import l15_dppo_variance as l15


def test_l15_path_rule_confirms_a_quadratic_and_refutes_a_concave_variance():
    L = np.linspace(0, 1, 31)
    assert l15._fit(L, 1 + 0.5 * L + 3 * L**2)["verdict"] == "confirmed"
    assert l15._fit(L, 1 + 2 * L - 0.5 * L**2)["verdict"] == "refuted"  # the twin: c2 < 0
    assert l15._fit(L, 1 + 2 * L + 0.1 * L**2 + 0.3 * np.sin(20 * L))["verdict"] == "qualified"  # c2 > 0, poor fit


def test_l15_family_verdict():
    assert l15.family_verdict(["confirmed"] * 3) == "confirmed"
    assert l15.family_verdict(["refuted"] * 3) == "refuted"
    assert l15.family_verdict(["confirmed", "refuted"]) == "qualified"
    assert l15.family_verdict(["qualified", "confirmed"]) == "qualified"
