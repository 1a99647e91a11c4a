"""exact_equivalence: the equivalence record of an estimator whose expectation is computed exactly (no sampling)."""
import numpy as np
import pytest

from pgtheory.stats import exact_equivalence


def _twins(g, margin):
    return [("1% off", g * 1.01, True), ("far", g * 0.5, False)]


def test_an_exact_expectation_equal_to_the_truth_is_confirmed_and_its_twins_rejected():
    g = np.array([0.3, -0.2, 0.1])
    margin = 0.01 * np.abs(g).max()
    eq = exact_equivalence(g + 1e-15, g, margin, _twins(g, margin), round_off=1e-12)
    assert eq.confirmed and eq.confidence_level == 1.0 and eq.bias_bound < 2e-12
    assert eq.twins.near_rejected == 1 and eq.twins.rejected == eq.twins.powered == 2


def test_a_bias_of_half_the_margin_is_inside_it_but_rejects_no_near_twin_planted_closer():
    g = np.array([0.3, -0.2, 0.1])
    margin = 0.01 * np.abs(g).max()
    biased = g + np.array([0.5 * margin, 0, 0])
    eq = exact_equivalence(biased, g, margin, [("0.4 margin off", g + np.array([0.4 * margin, 0, 0]), True)], round_off=1e-12)
    assert eq.within_margin and not eq.confirmed  # the near twin lies closer than the bias: not rejected


def test_a_bias_beyond_the_margin_is_not_within_it():
    g = np.array([0.3, -0.2, 0.1])
    margin = 0.01 * np.abs(g).max()
    eq = exact_equivalence(g + 2 * margin, g, margin, _twins(g, margin), round_off=1e-12)
    assert not eq.within_margin and not eq.confirmed


def test_bad_input_names_the_argument():
    g = np.ones(3)
    with pytest.raises(ValueError, match="margin"):
        exact_equivalence(g, g, 0.0, [], round_off=0.0)
    with pytest.raises(ValueError, match="round_off"):
        exact_equivalence(g, g, 0.01, [], round_off=0.02)
    with pytest.raises(ValueError, match="expectation, truth"):
        exact_equivalence(np.ones(2), g, 0.01, [], round_off=0.0)
    with pytest.raises(ValueError, match="finite"):
        exact_equivalence(np.array([np.nan, 1, 1]), g, 0.01, [], round_off=0.0)
    with pytest.raises(ValueError, match="twins"):
        exact_equivalence(g, g, 0.01, [("x", np.ones(2), True)], round_off=0.0)


def test_an_exact_bias_above_the_round_off_is_detected_inside_the_margin_too():
    """A pre-run audit (2026-12-02): a bias measured exactly below the margin must not confirm."""
    from pgtheory.claims.protocol import exact_equivalence_verdict

    g = np.array([0.3, -0.2, 0.1])
    margin = 0.01 * np.abs(g).max()
    verdict, eq = exact_equivalence_verdict(g + np.array([0.5 * margin, 0, 0]), g, margin,
                                            [("1% off", g * 1.01, True)], round_off=1e-12)
    assert verdict == "refuted" and eq.bias_detected and eq.within_margin  # the protocol then shows "qualified"
    verdict, eq = exact_equivalence_verdict(g + 1e-15, g, margin, [("1% off", g * 1.01, True)], round_off=1e-12)
    assert verdict == "confirmed" and not eq.bias_detected and eq.to_dict()["exact"] is True


def test_l3_exact_path_refutes_planted_estimator_bugs():
    """L3's exact expectation, through the enumeration of every group, against ∇J: the estimator holds to round-off;
    the mean-baseline mistake and the missing importance weight (mutants of the same code) are detected."""
    import torch

    from pgtheory.claims.library import l3_rapid_staleness as l3
    from pgtheory.claims.protocol import exact_equivalence_verdict
    from pgtheory.exact import sequence_policy_gradient
    from pgtheory.policies import TabularSequencePolicy
    from pgtheory.problems import toy_sequence_task
    from pgtheory.sampling import enumerate_sequence_groups

    task = toy_sequence_task(3, 3, 1, seed=2)
    pol = TabularSequencePolicy(task)
    th_old = pol.random_params(generator=torch.Generator().manual_seed(2))
    th = th_old + 0.3 * sequence_policy_gradient(pol, th_old)
    every, prob = enumerate_sequence_groups(pol, th_old, l3.G)
    lp_k = pol.sequence_log_probs(th)[0]
    g = sequence_policy_gradient(pol, th).reshape(-1)
    margin = l3.MARGIN_REL * float(g.abs().max())
    r = l3.ROUND_OFF * float(g.abs().max())
    ok, _ = exact_equivalence_verdict(l3.exact_expectation(pol, th, every, prob, lp_k), g, margin, [("1%", g * 1.01, True)], round_off=r)
    assert ok == "confirmed"
    for kw in ({"baseline": "mean"}, {"weighted": False}):
        bad, eq = exact_equivalence_verdict(l3.exact_expectation(pol, th, every, prob, lp_k, **kw), g, margin,
                                            [("1%", g * 1.01, True)], round_off=r)
        assert bad == "refuted" and eq.bias_detected, kw  # detected (beyond the margin it stays refuted)
