"""Fixes from the referee of the seed-24 ledger (docs/reviews/2026-12-02-ledger-seed24-referee.md), each with a twin.
(B1, L165's cycling mean field, is tested in tests/test_value_mapping.py.)"""
import dataclasses

from pgtheory.claims.library import l41_aspo as l41
from pgtheory.claims.protocol import _clip_words, apply_protocol
from pgtheory.claims.record import Evidence
from pgtheory.claims.registry import CLAIMS, load_claims


def _record(claim, signs):
    ev = Evidence(l41.decide(signs), 0.28, "t", 32, "synthetic", instances=[True] * 32, sensitivity=[],
                  clauses=l41._clauses(signs, ["+", "+", "+", "+"]))
    return apply_protocol(claim, ev, alpha=0.05 / 128)


def test_an_undecided_readings_note_names_the_rule_not_an_extension_and_cuts_at_a_word():
    """F2: L41 has no extension beyond its sentence (extension=True only marks its undecided reading), so its note must
    not say "the extension"; the reading note is cut at a word boundary, not mid-word. Twin: a claim with a real
    extension (the same evidence read as a stand-in with no quote_part_verdict) still says "the extension"."""
    load_claims()
    claim = CLAIMS.get("L41-aspo-flipped-ratios")
    rec = _record(claim, ["−", "+", None, None])
    assert rec["quote_part_verdict"] == "qualified"
    notes = " ".join(rec["protocol_notes"])
    assert "the extension" not in notes and "the rule, read our-criterion, held in part" in notes
    cut = notes.split("(", 1)[1]
    assert "..." in cut and " a)" not in cut  # seed 24 printed "... is ours a)"
    # twin: a real extension (read as written) that held while its quoted part stayed undecided keeps the old note
    ev = Evidence("confirmed", 0.28, "t", 32, "synthetic", instances=[True] * 32, sensitivity=[],
                  clauses=l41._clauses(["0", "0", None, None], ["+", "+", "+", "+"]))
    twin = apply_protocol(dataclasses.replace(claim, reading="as-written"), ev, alpha=0.05 / 128)
    assert twin["verdict"] == "inconclusive" and "quote_part_verdict" not in twin
    assert "the extension held, but" in " ".join(twin["protocol_notes"])


def test_clip_words():
    assert _clip_words("short", 160) == "short"
    assert _clip_words("alpha beta gamma", 12) == "alpha..."
    assert len(_clip_words("x" * 50, 10)) == 10


def test_the_rule_wording_is_used_only_where_the_rule_is_the_quoted_part():
    """Pre-run audit A2: where the quoted part held (kept as quote_part_verdict) but the whole rule, with a real
    extension, failed, the note still names the extension (L79, L167, L237, L121, L135 are of this kind)."""
    load_claims()
    claim = CLAIMS.get("L41-aspo-flipped-ratios")
    ev = Evidence("refuted", 0.28, "t", 32, "synthetic", instances=[True] * 32, sensitivity=[],
                  clauses=l41._clauses(["+", "+", "+", "+"], ["+", "+", "+", "+"]))
    rec = apply_protocol(claim, ev, alpha=0.05 / 128)
    notes = " ".join(rec["protocol_notes"])
    assert rec["quote_part_verdict"] != rec["raw_verdict"] == "refuted"
    assert "the extension failed" in notes and "the rule, read" not in notes


def test_describe_matched_never_prints_an_interval_end_that_excludes_zero_as_zero():
    """F5: L197's KL-0.03 cell, +0.02046 [+0.00016, +0.04076], printed "+0.02 [+0.00, +0.04]". Twin: an end that is
    really 0 still prints as 0 at the given digits, and ends away from 0 keep the fixed decimals."""
    from types import SimpleNamespace as NS
    from pgtheory.claims.library._multi_epoch import describe_matched
    cell = NS(level=0.03, n_pairs=32, diff=NS(statistic=0.02046, low=0.00016, high=0.04076))
    assert describe_matched([cell], digits=2) == "KL 0.03: +0.02 [+0.00016, +0.04] (n=32)"
    zero = NS(level=0.03, n_pairs=32, diff=NS(statistic=0.02, low=0.0, high=0.04))
    assert describe_matched([zero], digits=2) == "KL 0.03: +0.02 [+0.00, +0.04] (n=32)"
    neg = NS(level=0.1, n_pairs=32, diff=NS(statistic=-0.004, low=-0.0081, high=-0.00002))
    assert describe_matched([neg], digits=2) == "KL 0.1: -0.00 [-0.01, -2e-05] (n=32)"
