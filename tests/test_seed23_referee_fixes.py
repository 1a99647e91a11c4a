"""Fixes from the referee of the seed-23 ledger (docs/reviews/2026-12-02-ledger-seed23-referee.md), each with a twin."""
import dataclasses

from pgtheory.claims.library import l41_aspo as l41
from pgtheory.claims.protocol import apply_protocol
from pgtheory.claims.record import Evidence
from pgtheory.claims.registry import CLAIMS, load_claims


def _l41_record(claim, grpo_signs):
    rule = l41.decide(grpo_signs)
    ev = Evidence(rule, 0.28, "t", 32, "synthetic", instances=[True] * 32, sensitivity=[],
                  clauses=l41._clauses(grpo_signs, ["+", "+", "+", "+"]))
    return apply_protocol(claim, ev, alpha=0.05 / 128)


def test_l41_reads_its_own_measure_as_our_criterion_and_keeps_the_rules_outcome_as_the_quoted_part():
    """F1 (blocking): the statistic that decides L41 is ours, so the claim is read our-criterion: its sentence stays
    undecided whatever GRPO's signs, and the rule's outcome is kept as the quoted part's verdict (the pre-run audit's
    A1). The twin: the same evidence under the seed-23 reading (as written) is shown as the rule gave it."""
    load_claims()
    claim = CLAIMS.get("L41-aspo-flipped-ratios")
    assert claim.reading == "our-criterion" and claim.extension
    for signs, rule in ((["−", "+", None, None], "qualified"), (["+", "+", "+", "+"], "confirmed"),
                        (["−", "−", None, None], "refuted")):
        rec = _l41_record(claim, signs)
        assert rec["verdict"] == "inconclusive" and rec["raw_verdict"] == rule
        assert rec["quote_part_verdict"] == rule
        seed23 = _l41_record(dataclasses.replace(claim, reading="as-written", extension=False), signs)
        assert seed23["verdict"] == rule


def test_l69_sweep_points_carry_the_quoted_parts_verdict_so_the_rule_column_can_mark_its_flips(tmp_path):
    """The pre-run audit's A3: L69's rule is its quoted part, so each sweep point's quoted-part verdict is its verdict;
    with the Rule column comparing quoted parts (F3), a point without it could never be marked. The twin: the same
    record with the points' quoted-part verdicts removed, and one point flipped, is not marked."""
    from pgtheory.claims import runner
    from pgtheory.claims.paper import rule_verdict_shown
    rec = runner.run_claim("L69-robust-bellman-losses-sensitivity", "quick", 0, "cpu", str(tmp_path), "v")
    assert rec["sensitivity"] and all(p["quote_verdict"] == p["verdict"] for p in rec["sensitivity"])
    flipped = dict(rec, verdict="inconclusive", raw_verdict="confirmed", quote_part_verdict="confirmed",
                   sensitivity=[dict(p, verdict="refuted", quote_verdict="refuted") for p in rec["sensitivity"]])
    assert rule_verdict_shown(flipped) == "confirmed (flips)"
    bare = dict(flipped, sensitivity=[{k: v for k, v in p.items() if k != "quote_verdict"} for p in flipped["sensitivity"]])
    assert rule_verdict_shown(bare) == "confirmed"
