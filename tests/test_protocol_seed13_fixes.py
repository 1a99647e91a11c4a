"""Protocol rules of 2026-12-01 (second; a referee of the seed-13 ledger, fixed before the seed-18 run): the subset
rule on shown verdicts (P1), clause claims' sweep points (P2), strata that must partition or cover the instances (P3),
quote-refuting sweep points noted (P5), and the rate rule that never refutes with a slope faster than possible or with
disagreeing windows. Each rule is tested with a twin it must tell apart.

Deterministic: no random numbers are drawn (false-failure rate 0).
"""
import numpy as np
import pytest

from pgtheory.claims.protocol import ProtocolError, apply_protocol, asymptotic_verdict, rate_band_verdict
from pgtheory.claims.record import clause, sweep_point
from pgtheory.stats import LocalSlopes
from .test_protocol_readings import _claim, _ev  # the synthetic claim and evidence of the first protocol-rule tests


# --- P1: the subset rule compares shown verdicts -------------------------------------------------------------------

def test_a_subset_point_whose_extension_held_does_not_leave_a_confirmation_standing():
    """Main: quote confirmed, extension undecided → shown confirmed. A point on 2 of 4 instances with quote confirmed and
    extension held also shows confirmed: agreeing, but on fewer instances → not established (qualified). Keyed on the
    rule verdict (inconclusive vs confirmed) the point read as a disagreement and as a flip to 'confirmed', which left the
    claim confirmed. Twin: the same point on all 4 instances leaves it confirmed."""
    c = _claim(extension=True)
    p = sweep_point("lr", 0.1, "confirmed", quote_verdict="confirmed", instances=2)
    out = apply_protocol(c, _ev("inconclusive", quote_verdict="confirmed", sensitivity=[p]))
    assert out["verdict"] == "qualified" and "not established" in out["protocol_notes"][-1]
    full = sweep_point("lr", 0.1, "confirmed", quote_verdict="confirmed", instances=4)
    assert apply_protocol(c, _ev("inconclusive", quote_verdict="confirmed", sensitivity=[full]))["verdict"] == "confirmed"


def test_an_agreeing_subset_point_does_not_weaken_a_refutation():
    """A pre-run audit: a refutation repeated on fewer instances is agreement, not 'not established'. Twin: the same
    subset point under a confirmation qualifies it."""
    p = sweep_point("lr", 0.1, "refuted", instances=2)
    assert apply_protocol(_claim(), _ev("refuted", sensitivity=[p]))["verdict"] == "refuted"
    q = sweep_point("lr", 0.1, "confirmed", instances=2)
    assert apply_protocol(_claim(), _ev("confirmed", sensitivity=[q]))["verdict"] == "qualified"


# --- P2: clause claims' sweep points -------------------------------------------------------------------------------

def test_a_clause_claims_points_are_read_from_their_clauses():
    """L177's case: the main verdict comes from the clauses (one read ours → inconclusive); a point that carried only
    its rule verdict ('refuted', the clause read as ours) would be compared as if it decided the sentence. Read from its
    clauses, the point is inconclusive too and changes nothing. Twin: a point whose clause read as written is refuted
    refutes the sentence there, which the protocol notes."""
    main = [clause("a", "confirmed"), clause("c", "refuted", "our-criterion")]
    p = sweep_point("alpha", 0.2, "refuted", instances=4, clauses=[clause("a", "confirmed"), clause("c", "refuted", "our-criterion")])
    out = apply_protocol(_claim(), _ev("refuted", clauses=main, sensitivity=[p]))
    assert out["verdict"] == "inconclusive" and out["sensitivity"][0]["verdict"] == "inconclusive"
    assert out["sensitivity"][0]["rule_verdict"] == "refuted"
    twin = sweep_point("alpha", 0.2, "refuted", instances=4, clauses=[clause("a", "refuted"), clause("c", "refuted", "our-criterion")])
    out = apply_protocol(_claim(), _ev("refuted", clauses=main, sensitivity=[twin]))
    assert out["sensitivity"][0]["verdict"] == "refuted" and any("fails at alpha = 0.2" in n for n in out["protocol_notes"])


def test_a_clause_claims_point_without_clauses_is_refused():
    p = sweep_point("alpha", 0.2, "refuted", instances=4)
    with pytest.raises(ProtocolError, match="must return its clauses there"):
        apply_protocol(_claim(), _ev("confirmed", clauses=[clause("a", "confirmed")], sensitivity=[p]))
    q = sweep_point("alpha", 0.2, "refuted", instances=4, quote_verdict="refuted", clauses=[clause("a", "refuted")])
    with pytest.raises(ProtocolError, match="carries no separate quote verdict"):
        apply_protocol(_claim(), _ev("confirmed", clauses=[clause("a", "confirmed")], sensitivity=[q]))


# --- P3: strata partition or cover the instances ------------------------------------------------------------------

def test_strata_must_partition_or_cover_the_main_instances():
    """Unequal strata summing to more than the main count are re-runs mislabelled as strata (refused). Twins: strata
    partitioning the main count, strata each covering every instance, and L87's case, cells each covering the same
    sub-family (40 bandits of 60 instances), all pass; a sub-family is named in the notes."""
    bad = [sweep_point("beta", b, "confirmed", instances=k, stratum=True) for b, k in ((0.1, 3), (1.0, 2))]
    with pytest.raises(ProtocolError, match="neither partition the main 4 instances"):
        apply_protocol(_claim(), _ev(sensitivity=bad))
    part = [sweep_point("G", g, "confirmed", instances=2, stratum=True) for g in (2, 4)]
    cover = [sweep_point("beta", b, "confirmed", instances=4, stratum=True) for b in (0.1, 1.0)]
    assert apply_protocol(_claim(), _ev(sensitivity=part + cover))["verdict"] == "confirmed"
    sub = [sweep_point("beta", b, "confirmed", instances=3, stratum=True) for b in (0.1, 1.0)]
    out = apply_protocol(_claim(), _ev(sensitivity=sub))
    assert out["verdict"] == "confirmed" and "the strata of beta cover 3 of the 4 instances" in out["protocol_notes"][0]


# --- P5: a point that refutes the quoted sentence is noted ---------------------------------------------------------

def test_a_quote_refuting_point_is_noted_under_a_qualified_verdict():
    """P-trl-4967's case: main qualified (extension failed); at one swept value the quoted sentence itself fails.
    Twin: a point where only the extension fails adds no such note."""
    c = _claim(extension=True)
    p = sweep_point("s", 0.2, "refuted", quote_verdict="refuted", instances=4)
    out = apply_protocol(c, _ev("qualified", quote_verdict="confirmed", sensitivity=[p]))
    assert out["verdict"] == "qualified" and any("quoted sentence itself fails at s = 0.2" in n for n in out["protocol_notes"])
    q = sweep_point("s", 0.2, "qualified", quote_verdict="confirmed", instances=4)
    out = apply_protocol(c, _ev("qualified", quote_verdict="confirmed", sensitivity=[q]))
    assert not any("fails at" in n for n in out["protocol_notes"])


# --- rates -----------------------------------------------------------------------------------------------------------

def test_a_slope_faster_than_possible_is_a_transient_not_a_refutation():
    """L231's case: gated slope −0.68 (interval [−0.75, −0.61]) against −½ ± 0.1, faster than any consistent estimate
    can converge. Twin: the same distance on the slow side refutes."""
    assert rate_band_verdict((-0.75, -0.61), -0.5, 0.1, gated=True, window_slopes=(-0.7, -0.66),
                             impossible_side="below") == "inconclusive"
    assert rate_band_verdict((-0.39, -0.25), -0.5, 0.1, gated=True, window_slopes=(-0.3, -0.33),
                             impossible_side="below") == "refuted"
    assert rate_band_verdict((-0.55, -0.45), -0.5, 0.1, gated=True, window_slopes=(-0.52, -0.48),
                             impossible_side="below") == "confirmed"
    assert rate_band_verdict((-0.39, -0.25), -0.5, 0.1, gated=False, window_slopes=(-0.3, -0.33)) == "inconclusive"


def test_a_refutation_needs_every_window_to_agree():
    """Twin pair: the same interval refutes when both half-tail slopes miss the band on its side, and is undecided when
    one half lies inside the band (the slope is still moving)."""
    assert rate_band_verdict((-0.35, -0.2), -0.5, 0.1, gated=True, window_slopes=(-0.25, -0.3)) == "refuted"
    assert rate_band_verdict((-0.35, -0.2), -0.5, 0.1, gated=True, window_slopes=(-0.15, -0.45)) == "inconclusive"
    with pytest.raises(ValueError, match="impossible_side"):
        rate_band_verdict((0, 1), 0.5, 0.1, gated=True, window_slopes=(0.5, 0.5), impossible_side="faster")
    with pytest.raises(ValueError, match="at least two windows"):
        rate_band_verdict((-0.35, -0.2), -0.5, 0.1, gated=True, window_slopes=())


def test_a_confirmation_needs_every_window_inside_the_band():
    """A pre-run audit's case: a transient passing through the band (halves −0.75 and −0.3) has a whole-tail interval
    inside the band; it is undecided, not confirmed. Twin: halves inside the band confirm."""
    assert rate_band_verdict((-0.58, -0.45), -0.5, 0.1, gated=True, window_slopes=(-0.75, -0.3)) == "inconclusive"
    assert rate_band_verdict((-0.58, -0.45), -0.5, 0.1, gated=True, window_slopes=(-0.55, -0.47)) == "confirmed"


def test_asymptotic_verdict_reads_each_window():
    """Deterministic local slopes (runs are instances): in regime with every window outside the band → refuted; the
    same tail slope with the last window inside the band → inconclusive; faster than possible → inconclusive."""
    slopes = np.array([[-0.12, -0.10, -0.08]] * 4)
    g = LocalSlopes(slopes, np.full(4, -0.10), np.ones(4, bool), 0.05)
    assert asymptotic_verdict(g, -0.5, 0.1) == "refuted"
    moving = LocalSlopes(np.array([[-0.3, -0.34, -0.41]] * 4), np.full(4, -0.35), np.ones(4, bool), 0.15)
    assert asymptotic_verdict(moving, -0.5, 0.1) == "inconclusive"
    assert asymptotic_verdict(g, -0.5, 0.1, impossible_side="above") == "inconclusive"
    near = LocalSlopes(np.array([[-0.52, -0.5, -0.49]] * 4), np.full(4, -0.5), np.ones(4, bool), 0.05)
    assert asymptotic_verdict(near, -0.5, 0.1) == "confirmed"
