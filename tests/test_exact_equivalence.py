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
