"""Fixes from the referee of the seed-23 ledger (docs/reviews/2026-12-02-ledger-seed23-referee.md), each with a twin."""
from pgtheory.claims.library import l41_aspo as l41
from pgtheory.claims.protocol import quote_verdict_from_clauses
from pgtheory.claims.registry import CLAIMS, load_claims


def test_l41_reads_its_own_measure_as_our_criterion_so_no_sign_pattern_decides_the_sentence():
    """F1 (blocking): the statistic that decides L41 is ours, so its mismatch clause is read our-criterion and the
    sentence stays undecided whatever GRPO's signs; the rule's own outcome (decide) is unchanged and still reported."""
    load_claims()
    assert CLAIMS.get("L41-aspo-flipped-ratios").reading == "our-criterion"
    for grpo, rule in ((["−", "+", None], "qualified"), (["+", "+"], "confirmed"), (["−", "−"], "refuted")):
        c = l41._clauses(grpo, ["+", "+"])
        assert [x["reading"] for x in c] == ["our-criterion", "no-result"]
        assert c[0]["verdict"] == rule == l41.decide(grpo)
        assert quote_verdict_from_clauses(c) == "inconclusive"
        # the twin: the same clause read as written decides the sentence (the seed-23 record's reading)
        assert quote_verdict_from_clauses([dict(c[0], reading="as-written"), c[1]]) == rule
