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


def test_l65_parts_a_and_c_hold_on_random_bandits_and_the_check_can_fail():
    import torch

    from pgtheory.claims.library import l65_group_reinforce_off_policy as l65

    fam = l65._random_bandits(3, 2)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(fam, l65._random_bandits(3, 2)))  # deterministic
    r, th_old = fam[0]
    assert l65._consistency_gradient_error(r, th_old, 20, torch.Generator().manual_seed(0)) < 1e-10
    errs = l65._minimiser_errors(r, th_old)
    assert set(errs) == {"π_old", "uniform", "tempered π_old^0.3"} and max(errs.values()) < 1e-6
    # twin: the minimiser is not the tilt at another temperature (the 1e-6 tolerance separates them)
    wrong = torch.softmax(th_old + r / (2 * l65.TAU), -1)
    assert float((wrong - torch.softmax(th_old + r / l65.TAU, -1)).abs().max()) > 1e-3
