"""Protocol rules of 2026-12-01 (a referee of the seed-10 ledger): declared readings, clauses, sweep points that state
their instances, and counterexamples the runner re-checks. Each rule is tested with a twin it must tell apart.

Deterministic: no random numbers are drawn (false-failure rate 0).
"""
import pytest

from pgtheory.claims.protocol import ProtocolError, apply_protocol, quote_verdict_from_clauses
from pgtheory.claims.record import Claim, Evidence, clause, sweep_point


from .test_protocol import SYNTHETIC_CONSTANTS  # the design constants the synthetic claims sweep


def _claim(**kw):
    base = dict(id="L998-synthetic", paper="Synthetic", seed_line=998, claim="c", theme="T", exact="e", monte_carlo="m",
                test="t", scales={"quick": {}, "full": {}}, run=lambda ctx: None, kind="empirical", quote="q",
                quote_source="synthetic (test)", reading="as-written")
    base.setdefault("constants", SYNTHETIC_CONSTANTS)
    base.update(kw)
    return Claim(**base)


def _ev(verdict="confirmed", n=4, **kw):
    return Evidence(verdict, 1.0, "t", 1, "s", instances=[True] * n, **dict(dict(sensitivity=[]), **kw))


# --- readings -----------------------------------------------------------------------------------------------------

def test_a_claim_without_a_reading_is_refused_and_one_with_it_runs():
    with pytest.raises(ProtocolError, match="reading: claim L998-synthetic must declare"):
        apply_protocol(_claim(reading=""), _ev())
    assert apply_protocol(_claim(), _ev())["verdict"] == "confirmed"


@pytest.mark.parametrize("reading", ["our-criterion", "stand-in", "no-result"])
def test_an_undecided_reading_makes_the_quote_inconclusive_whatever_the_rule_gave(reading):
    """L223's case: coverage defined by us; twin: the same evidence read as written keeps its confirmation."""
    c = _claim(reading=reading, reading_note="why", extension=True)
    out = apply_protocol(c, _ev("confirmed"))
    assert out["quote_verdict"] == "inconclusive" and out["verdict"] == "inconclusive" and out["reading"] == reading
    assert apply_protocol(_claim(extension=True), _ev("confirmed", quote_verdict="confirmed"))["verdict"] == "confirmed"


def test_an_undecided_reading_overrides_a_decided_quote_part_and_keeps_it_in_the_record():
    """L37-direct's case: its quoted-part rule confirmed on our ECRM reformulation (paper body not read). Twin: the same
    evidence read as written is confirmed."""
    c = _claim(reading="our-criterion", reading_note="body not read", extension=True)
    out = apply_protocol(c, _ev(quote_verdict="confirmed"))
    assert out["verdict"] == "inconclusive" and out["quote_part_verdict"] == "confirmed"
    assert "read our-criterion (body not read)" in out["protocol_notes"][0]
    assert apply_protocol(_claim(extension=True), _ev(quote_verdict="confirmed"))["verdict"] == "confirmed"


def test_readings_are_validated_when_the_claim_is_declared():
    with pytest.raises(ValueError, match="declare extension=True"):
        _claim(reading="our-criterion", reading_note="body not read")
    with pytest.raises(ValueError, match="reading_note"):
        _claim(reading="stand-in", extension=True)
    with pytest.raises(ValueError, match="holds by construction is kind identity"):
        _claim(reading="by-construction")  # L27's case: a sentence that holds by construction is an identity
    with pytest.raises(ValueError, match="holds by construction is kind identity"):
        _claim(kind="identity")  # an identity read "as-written"
    with pytest.raises(ValueError, match="expected one of"):
        _claim(reading="ours")
    assert _claim(kind="identity", reading="by-construction", reading_note="a definition").reading == "by-construction"


# --- clauses ------------------------------------------------------------------------------------------------------

def test_the_clause_rule():
    ok, bad = clause("a", "confirmed"), clause("b", "refuted")
    assert quote_verdict_from_clauses([ok, ok]) == "confirmed"
    assert quote_verdict_from_clauses([ok, clause("b", "qualified")]) == "qualified"
    assert quote_verdict_from_clauses([ok, clause("b", "confirmed", "stand-in")]) == "inconclusive"  # L135's case
    assert quote_verdict_from_clauses([bad, clause("b", "confirmed", "stand-in")]) == "refuted"      # L177's case
    # a refutation obtained on a stand-in is no refutation of the sentence
    assert quote_verdict_from_clauses([ok, clause("b", "refuted", "stand-in")]) == "inconclusive"
    with pytest.raises(ValueError, match="need at least one clause"):
        quote_verdict_from_clauses([])
    with pytest.raises(ValueError, match="reading: a clause is read"):
        clause("a", "confirmed", "by-construction")


def test_clauses_decide_the_quote_of_an_extension_claim_and_the_verdict_of_one_without():
    c = _claim(extension=True)
    out = apply_protocol(c, _ev("confirmed", clauses=[clause("a", "confirmed"), clause("b", "refuted")]))
    assert out["quote_verdict"] == "refuted" and out["verdict"] == "refuted" and len(out["clauses"]) == 2
    with pytest.raises(ProtocolError, match="leave the quote verdict to the clauses"):
        apply_protocol(c, _ev("confirmed", quote_verdict="confirmed",
                              clauses=[clause("a", "confirmed"), clause("b", "refuted")]))
    # P-tinker's case: no extension, the rule judged the effect only; the sentence's false cause refutes it
    out = apply_protocol(_claim(), _ev("confirmed", clauses=[clause("effect", "confirmed"), clause("cause", "refuted")]))
    assert out["verdict"] == "refuted" and "rule alone gave confirmed" in out["protocol_notes"][0]
    twin = apply_protocol(_claim(), _ev("confirmed", clauses=[clause("effect", "confirmed"), clause("cause", "confirmed")]))
    assert twin["verdict"] == "confirmed" and not twin["protocol_notes"]


# --- sweep points state their instances ---------------------------------------------------------------------------

def test_a_sweep_point_must_state_its_instances():
    with pytest.raises(TypeError):
        sweep_point("lr", 4, "confirmed")
    with pytest.raises(ValueError, match="instances: sweep point lr = 4"):
        sweep_point("lr", 4, "confirmed", instances=-1)
    # a setting that left nothing to judge (L77: no over-optimised instance there) is a subset point, not a crash
    empty = apply_protocol(_claim(), _ev(n=3, sensitivity=[sweep_point("lr", 4, "inconclusive", instances=0)]))
    assert empty["verdict"] == "qualified" and "swept on 0 of 3" in empty["protocol_notes"][-1]
    assert sweep_point("lr", 4, "confirmed", instances={"count": 3, "holding": 3})["instances"] == 3
    ev = _ev(sensitivity=[{"constant": "lr", "value": 4, "verdict": "confirmed"}])  # built by hand, without a count
    with pytest.raises(ProtocolError, match="does not state on how many instances"):
        apply_protocol(_claim(), ev)


def test_an_agreeing_subset_point_leaves_a_confirmation_not_established_and_a_full_one_does_not():
    """L37-direct's case: a confirmation judged on 3 instances whose sweep ran on 1. Twin: the sweep on all 3."""
    out = apply_protocol(_claim(), _ev(n=3, sensitivity=[sweep_point("lam", 0.5, "confirmed", instances=1)]))
    assert out["verdict"] == "qualified" and "swept on 1 of 3 instances" in out["protocol_notes"][-1]
    assert out["sensitivity"][0]["subset_of"] == 3
    full = apply_protocol(_claim(), _ev(n=3, sensitivity=[sweep_point("lam", 0.5, "confirmed", instances=3)]))
    assert full["verdict"] == "confirmed" and "subset_of" not in full["sensitivity"][0]
    # a subset point that disagrees is a flip on those instances
    flip = apply_protocol(_claim(), _ev(n=3, sensitivity=[sweep_point("lam", 0.5, "refuted", instances=1)]))
    assert flip["verdict"] == "qualified" and "lam = 0.5: refuted" in flip["protocol_notes"][-1]
    # a point judged on more instances than the main verdict (L77: the judged set depends on the setting) covers it
    assert apply_protocol(_claim(), _ev(n=3, sensitivity=[sweep_point("lam", 0.5, "confirmed", instances=4)]))[
        "verdict"] == "confirmed"


def test_a_stratum_point_is_no_subset():
    """L57's case: each swept MDP size is the main instances of that size (a property of the instance, not a re-run).
    Twin: the same point without the stratum flag is a subset point and qualifies the confirmation."""
    strata = [sweep_point("size", s, "confirmed", instances=2, stratum=True) for s in ("3x2", "5x3")]
    out = apply_protocol(_claim(), _ev(n=4, sensitivity=strata))
    assert out["verdict"] == "confirmed" and all("subset_of" not in p for p in out["sensitivity"])
    plain = [sweep_point("size", s, "confirmed", instances=2) for s in ("3x2", "5x3")]
    assert apply_protocol(_claim(), _ev(n=4, sensitivity=plain))["verdict"] == "qualified"
    flip = [sweep_point("size", "3x2", "refuted", instances=2, stratum=True),
            sweep_point("size", "5x3", "confirmed", instances=2, stratum=True)]
    assert apply_protocol(_claim(), _ev(n=4, sensitivity=flip))["verdict"] == "qualified"


# --- counterexamples ----------------------------------------------------------------------------------------------

CE = ({"instance": {"seed": 1006, "index": 10}, "found": "run seed 1006 at commit abc"},)


def test_a_declared_counterexample_must_be_rechecked():
    c = _claim(counterexamples=CE, kind="theorem")
    with pytest.raises(ProtocolError, match="did not re-check the counterexample"):
        apply_protocol(c, _ev("refuted", n=2))
    out = apply_protocol(c, _ev("refuted", n=2, rechecked=[{"instance": {"seed": 1006, "index": 10}, "holds": False}]))
    assert out["verdict"] == "refuted" and out["counterexamples"][0]["found"].startswith("run seed 1006")
    assert out["counterexamples"][0]["holds"] is False


def test_a_known_counterexample_to_the_quote_refutes_and_one_to_the_extension_cannot_be_ignored():
    """L95's case (a quoted-part counterexample of the seed-9 run, still failing) refutes the sentence; L237's kind (an
    extension counterexample) must have been counted by the claim's rule. Twins: the same counterexamples holding."""
    fails = [{"instance": {"seed": 1006, "index": 10}, "holds": False}]
    holds = [{"instance": {"seed": 1006, "index": 10}, "holds": True}]
    out = apply_protocol(_claim(counterexamples=CE, kind="theorem"), _ev("confirmed", rechecked=fails))
    assert out["verdict"] == "refuted" and "still fail" in out["protocol_notes"][0]
    ext = _claim(counterexamples=({**CE[0], "part": "extension"},), kind="theorem", extension=True)
    with pytest.raises(ProtocolError, match="still fail"):
        apply_protocol(ext, _ev("confirmed", rechecked=fails, quote_verdict="confirmed"))
    assert apply_protocol(ext, _ev("refuted", rechecked=fails, quote_verdict="confirmed"))["verdict"] == "qualified"
    assert apply_protocol(_claim(counterexamples=CE, kind="theorem"), _ev("confirmed", rechecked=holds))[
        "verdict"] == "confirmed"
    with pytest.raises(ValueError, match="the part it fails"):
        _claim(counterexamples=({**CE[0], "part": "both"},))


def test_counterexamples_are_validated_and_handed_to_the_run_by_the_runner(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="counterexamples"):
        _claim(counterexamples=({"instance": 3},))
    from pgtheory.claims import runner
    seen = {}

    def run(ctx):
        seen["ce"] = ctx.counterexamples
        return _ev("refuted", n=2, rechecked=[{"instance": c["instance"], "holds": False} for c in ctx.counterexamples])

    c = _claim(counterexamples=CE, kind="theorem", run=run)
    monkeypatch.setattr(runner.CLAIMS, "get", lambda cid: c)
    rec = runner.run_claim(c.id, "quick", 0, "cpu", str(tmp_path), "v")
    assert seen["ce"] == CE and rec["counterexamples"][0]["holds"] is False and rec["reading"] == "as-written"
