"""The verdict protocol on synthetic claims with known truth (issue 10, item 11).

Statistical assertions here use fixed seeds; each states its false-failure rate under a correct
implementation. Synthetic claims are run through the real runner (``run_claim``) so the record checks apply.
"""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pgtheory.claims import runner
from pgtheory.claims.protocol import (FULL_SEED_BASE, ProtocolError, apply_protocol, asymptotic_verdict,
                                      claim_alpha, equivalence_verdict, run_seed, twin, validate_record)
from pgtheory.claims.record import Claim, DeclaredMargin, Evidence, sweep_point
from pgtheory.stats import bias_test, local_slopes, replication_summary

TRUTH = torch.tensor([1.0, -0.5, 0.25], dtype=torch.float64)
MARGIN = 0.01 * float(TRUTH.norm())  # declared before running: 1% of ‖truth‖
LEVEL = 1 - claim_alpha(1)  # a claim's share of the ledger's error rate, one interval decision


#: the design constants the synthetic claims sweep (the protocol refuses undeclared ones, 2026-12-01)
SYNTHETIC_CONSTANTS = {k: [0, 1] for k in ("G", "alpha", "batch", "beta", "k", "lam", "lr", "mismatch", "s", "sigma0", "sigma_p", "size")}


def _claim(run, **kw):
    base = dict(id="L999-synthetic", paper="Synthetic", seed_line=999, claim="the estimator is unbiased", theme="T",
                exact="truth", monte_carlo="samples", test="equivalence within 1%",
                scales={"quick": {"n": 1}, "full": {"n": 1}}, run=run, kind="empirical",
                quote="our estimator is unbiased", quote_source="synthetic (test)", unbiasedness=True, reading="as-written",
                margin=DeclaredMargin(0.01, "‖truth‖₂"))
    base.setdefault("constants", SYNTHETIC_CONSTANTS)
    base.update(kw)
    return Claim(**base)


def _unbiasedness_evidence(bias: float, n: int, seed: int) -> Evidence:
    g = torch.Generator().manual_seed(seed)
    x = TRUTH + bias + torch.randn(n, 3, generator=g, dtype=torch.float64)
    res = bias_test(x, TRUTH)
    twins = [twin("1% near twin", x, TRUTH, TRUTH + MARGIN, near=True), twin("far twin", x, TRUTH, -TRUTH, near=False)]
    verdict, eq = equivalence_verdict(res, MARGIN, twins, confidence_level=LEVEL)
    return Evidence(verdict, res.statistic, "bias bound ≤ 1% of ‖truth‖", n, "synthetic", instances=verdict == "confirmed",
                    sensitivity=[], equivalence=eq)


def test_an_unbiased_estimator_is_confirmed_with_a_powered_near_twin_rejected():
    """n = 4e6: the 99.9% simultaneous half-width is ≈ 0.0019 < margin 0.0115 (false failure < 1e-3)."""
    ev = _unbiasedness_evidence(0.0, 4_000_000, seed=0)
    out = apply_protocol(_claim(lambda ctx: ev), ev)
    assert out["verdict"] == "confirmed" and out["bias_bound"] <= MARGIN
    assert out["twins"]["near_rejected"] >= 1 and out["twins"]["rejected"] == out["twins"]["powered"]


def test_a_half_margin_bias_is_not_confirmed_when_the_interval_reaches_past_the_margin():
    """Bias = margin/2 with n = 1e5 (half-width ≈ 0.012 > margin/2): the bound exceeds the margin → inconclusive."""
    ev = _unbiasedness_evidence(MARGIN / 2, 100_000, seed=1)
    out = apply_protocol(_claim(lambda ctx: ev), ev)
    assert out["verdict"] == "inconclusive" and out["bias_bound"] > MARGIN


def test_a_practical_bias_is_refuted_and_an_unpowered_design_is_inconclusive():
    ev = _unbiasedness_evidence(10 * MARGIN, 1_000_000, seed=2)
    assert apply_protocol(_claim(lambda ctx: ev), ev)["verdict"] == "refuted"
    small = _unbiasedness_evidence(0.0, 200, seed=3)  # the near twin is not powered at n = 200
    out = apply_protocol(_claim(lambda ctx: small), small)
    assert out["verdict"] == "inconclusive" and out["twins"]["near_powered"] == 0


def test_confirmed_without_twins_is_downgraded_and_missing_equivalence_is_refused():
    g = torch.Generator().manual_seed(4)
    x = TRUTH + torch.randn(4_000_000, 3, generator=g, dtype=torch.float64)
    _, eq = equivalence_verdict(bias_test(x, TRUTH), MARGIN, [], confidence_level=LEVEL)
    ev = Evidence("confirmed", 0.0, "t", 1, "s", instances=True, sensitivity=[], equivalence=eq)
    out = apply_protocol(_claim(lambda ctx: ev), ev)
    assert out["verdict"] == "inconclusive" and "twins inadequate" in out["protocol_notes"][0]
    bare = Evidence("confirmed", 0.0, "t", 1, "s", instances=True, sensitivity=[])
    with pytest.raises(ProtocolError, match="equivalence: claim L999-synthetic asserts unbiasedness"):
        apply_protocol(_claim(lambda ctx: bare), bare)


def _rate_runs(T: np.ndarray, transient: float) -> np.ndarray:
    """gap_t = 1/t + transient·exp(−t/3000): the 1/t regime is reached only once t ≫ 3000·log(transient·t)."""
    return np.stack([1 / T + transient * c * np.exp(-T / 3000) for c in (0.5, 1.0, 2.0)])


def test_a_pre_asymptotic_rate_is_inconclusive_not_refuted_and_the_limit_confirms():
    short, long_ = np.geomspace(10, 2_000, 24), np.geomspace(10, 1e7, 40)
    pre = local_slopes(short, _rate_runs(short, 1.0))
    assert asymptotic_verdict(pre, -1.0, 0.05) == "inconclusive"
    post = local_slopes(long_, _rate_runs(long_, 1.0))
    assert asymptotic_verdict(post, -1.0, 0.05) == "confirmed"
    twin_rate = local_slopes(long_, np.stack([long_ ** -0.5 * c for c in (1, 2)]))  # a slower rate, in regime
    assert asymptotic_verdict(twin_rate, -1.0, 0.05) == "refuted"


def test_a_verdict_that_flips_inside_the_declared_range_is_qualified():
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=[True] * 20,
                  sensitivity=[sweep_point("batch", b, "confirmed" if b >= 22 else "refuted", instances=20)
                               for b in (10, 22, 100)])
    c = _claim(lambda ctx: ev, unbiasedness=False, constants={"batch": [10, 100]})
    out = apply_protocol(c, ev)
    assert out["verdict"] == "qualified" and "batch = 10: refuted" in out["protocol_notes"][0]
    assert out["instances"]["count"] == 20 and out["instances"]["fraction"] == 1.0


def test_an_extension_can_qualify_but_never_refute():
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=False, sensitivity=[], quote_verdict="confirmed")
    out = apply_protocol(_claim(lambda ctx: ev, unbiasedness=False, extension=True), ev)
    assert out["verdict"] == "qualified" and out["raw_verdict"] == "refuted"
    ev.quote_verdict = None  # a claim without an extension: its rule is the sentence
    out = apply_protocol(_claim(lambda ctx: ev, unbiasedness=False, extension=False), ev)
    assert out["verdict"] == "refuted"


def test_identities_are_shown_as_verified_and_counted_apart():
    from pgtheory.claims.render import ledger_markdown, verdict_counts

    rows = [{"id": "L1-a", "paper": "p", "verdict": "confirmed", "kind": "identity", "statistic": 0.0, "threshold": "t",
             "n_samples": 0, "seconds": 0.1, "summary": "s", "instances": {"count": 1, "holding": 1}},
            {"id": "L2-b", "paper": "p", "verdict": "confirmed", "kind": "empirical", "statistic": 0.0, "threshold": "t",
             "n_samples": 0, "seconds": 0.1, "summary": "s", "instances": {"count": 20, "holding": 19}}]
    md = ledger_markdown(rows)
    assert "Identities and definitions" in md and "**verified**" in md and "19/20" in md
    assert verdict_counts(rows) == "1 confirmed, 1 verified"


def test_claims_need_kind_quote_and_replication():
    ev = Evidence("confirmed", 1.0, "t", 1, "s", sensitivity=[])
    with pytest.raises(ProtocolError, match="instances"):
        apply_protocol(_claim(lambda ctx: ev, unbiasedness=False), ev)
    with pytest.raises(ProtocolError, match="quote"):
        apply_protocol(_claim(lambda ctx: ev, unbiasedness=False, quote=""), Evidence("confirmed", 1, "t", 1, "s", instances=True, sensitivity=[]))
    with pytest.raises(ValueError, match="kind: expected one of"):
        _claim(lambda ctx: ev, kind="lemma")


def test_unbiasedness_claims_declare_their_margin_before_running():
    """A claim of unbiasedness without a DeclaredMargin is refused at construction; the record keeps the declaration
    beside the margin used. Twin: the same claim with the margin declared is accepted."""
    with pytest.raises(ValueError, match="margin: claim L999-synthetic asserts unbiasedness"):
        _claim(lambda ctx: None, margin=None)
    with pytest.raises(ValueError, match="value: a declared margin must be a positive"):
        DeclaredMargin(0.0, "‖truth‖₂")
    with pytest.raises(ValueError, match="of: say what the margin"):
        DeclaredMargin(0.01, " ")
    ev = _unbiasedness_evidence(0.0, 4_000_000, seed=0)
    out = apply_protocol(_claim(lambda ctx: ev), ev)
    assert out["margin_declared"] == "0.01 × ‖truth‖₂" and out["margin"] == pytest.approx(MARGIN)
    assert DeclaredMargin(0.01, "absolute (reward units)").describe() == "0.01 (absolute (reward units))"


def test_a_theorem_is_shown_as_confirmed_and_grouped_apart():
    """A paper's theorem checked exactly: 'confirmed' (not 'verified', which is for checks of our code), in its own
    group of the ledger; a failed check refutes it (no conversion to inconclusive, unlike code_checks of other kinds)."""
    from pgtheory.claims.protocol import shown_verdict
    from pgtheory.claims.render import by_kind, ledger_markdown

    assert shown_verdict("theorem", "confirmed") == "confirmed" and shown_verdict("identity", "confirmed") == "verified"
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=[False], sensitivity=[])
    out = apply_protocol(_claim(lambda ctx: ev, kind="theorem", unbiasedness=False, margin=None), ev)
    assert out["verdict"] == "refuted" and out["kind"] == "theorem"
    rows = [{"id": f"L{i}-x", "paper": "p", "verdict": "confirmed", "kind": k, "statistic": 0.0, "threshold": "t",
             "n_samples": 1, "seconds": 0.0, "summary": "s", "instances": {"holding": 1, "count": 1}}
            for i, k in enumerate(("identity", "theorem", "empirical"), 1)]
    assert [k for k, _ in by_kind(rows)] == ["empirical", "theorem", "identity"]
    assert "Theorems of the papers" in ledger_markdown(rows)


def test_runner_records_provenance_fresh_seeds_and_refuses_incomplete_records(tmp_path, monkeypatch):
    seen = {}

    def run(ctx):
        seen["seed"], seen["alpha"] = ctx.seed, ctx.alpha
        return _unbiasedness_evidence(0.0, 4_000_000, seed=ctx.seed)

    claim = _claim(run)
    monkeypatch.setattr(runner, "CLAIMS", SimpleNamespace(get=lambda i: claim, names=lambda: [claim.id] * 25))
    rec = runner.run_claim(claim.id, "full", 3, "cpu", str(tmp_path), "v0")
    assert seen["seed"] == run_seed("full", 3) == FULL_SEED_BASE + 3 and rec["run_seed"] == 1003
    # α is the declared family's share (PLANNED_CLAIMS), not 0.05/25: adding claims does not change it ...
    assert run_seed("quick", 3) != run_seed("full", 3) and seen["alpha"] == pytest.approx(0.05 / 128)
    from pgtheory.claims.protocol import claim_alpha

    assert claim_alpha(25) == claim_alpha(128) == 0.05 / 128 and claim_alpha(200) == 0.05 / 200  # ... until it outgrows it
    for k in ("kind", "quote", "instances", "sensitivity", "git_commit", "dirty", "versions", "settings", "margin",
              "bias_bound", "twins"):
        assert k in rec, k
    assert rec["versions"]["torch"] == torch.__version__ and len(rec["git_commit"]) in (7, 40) or rec["git_commit"] == "unknown"
    json.dumps(rec)  # serialisable
    bad = dict(rec)
    del bad["twins"]
    with pytest.raises(ProtocolError, match="lacks twins"):
        validate_record(bad)
    monkeypatch.setattr(runner, "CLAIMS", SimpleNamespace(
        get=lambda i: _claim(lambda ctx: Evidence("confirmed", 1.0, "t", 1, "s")), names=lambda: ["x"]))
    with pytest.raises(ProtocolError):
        runner.run_claim(claim.id, "quick", 0, "cpu", str(tmp_path), "v0")


def test_replication_summary_is_exact_clopper_pearson():
    s = replication_summary([True] * 27 + [False] * 23)
    assert s.count == 50 and s.holding == 27 and s.ci_low < 0.54 < s.ci_high
    assert replication_summary([True] * 20).ci_high == 1.0 and replication_summary([True] * 20).ci_low == pytest.approx(0.025 ** (1 / 20))
    with pytest.raises(ValueError, match="holds: expected a non-empty"):
        replication_summary([])


def test_paper_tables_refuse_mixed_commits(tmp_path):
    from pgtheory.claims.paper import write_paper_tables

    from pgtheory.claims.protocol import REQUIRED_RECORD_KEYS

    fields = {k: None for k in REQUIRED_RECORD_KEYS}
    rows = [{**fields, "id": "L9-pg-theorem-autograd", "seed_line": 9, "git_commit": "a" * 40, "dirty": False,
             "paper": "p", "verdict": "confirmed", "n_samples": 1, "kind": "identity"},
            {**fields, "id": "L55-trpo-lower-bound", "seed_line": 55, "git_commit": "b" * 40, "dirty": False,
             "paper": "p", "verdict": "confirmed", "n_samples": 1, "kind": "theorem"}]
    (tmp_path / "l.json").write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="one commit of a clean tree"):
        write_paper_tables(tmp_path / "l.json", out_dir=tmp_path / "g")
    assert write_paper_tables(tmp_path / "l.json", out_dir=tmp_path / "g", allow_mixed=True)
    rows[1]["git_commit"] = "a" * 40
    (tmp_path / "one.json").write_text(json.dumps(rows))
    assert write_paper_tables(tmp_path / "one.json", out_dir=tmp_path / "g1")  # one commit, clean, complete
    del rows[1]["kind"]  # a record older than the protocol
    (tmp_path / "old.json").write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="rows without the protocol's fields .*L55-trpo-lower-bound"):
        write_paper_tables(tmp_path / "old.json", out_dir=tmp_path / "g2")


def test_every_registered_claim_declares_its_kind_quote_and_source():
    from pgtheory.claims import all_claims
    from pgtheory.claims.record import KINDS

    for c in all_claims():
        assert c.kind in KINDS, c.id
        assert c.quote.strip() and c.quote_source.strip(), c.id
        assert not (c.kind == "identity" and c.extension), f"{c.id}: an identity cannot be an extension"
        assert not c.unbiasedness or c.margin is not None, f"{c.id}: an unbiasedness claim declares its margin"


def test_matched_progress_compares_methods_where_they_moved_equally_far():
    """Method a moves twice as fast per step as b but has the same side effect at equal progress: a comparison at one
    learning rate (last checkpoint) finds a larger side effect for a; the matched comparison finds none. The twin: a
    method with a genuinely larger side effect at equal progress is detected."""
    from pgtheory.stats import frontier_at_progress, matched_comparison, value_at_progress

    assert np.allclose(value_at_progress([[0.01, 0.04, 0.1, 0.3]], [[1.0, 2.0, 3.0, 4.0]], [0.02, 0.1, 0.5]),
                       [[1.5, 3.0, np.nan]], equal_nan=True)
    rng = np.random.default_rng(0)
    steps = np.arange(1, 9)
    lrs = np.array([0.5, 1.0, 2.0])
    R = 12
    noise = rng.normal(0, 0.01, (R, 1, 1))  # per run (seed), shared by its configurations
    kl_a = 0.02 * 2 * lrs[None, :, None] * steps[None, None, :] * np.ones((R, 1, 1))
    kl_b = kl_a / 2
    side = lambda kl, extra=0.0: 0.1 * np.log(kl) + extra + noise  # noqa: E731  depends on progress only (log-linear)
    levels = [0.02, 0.05, 0.1]
    same = matched_comparison(frontier_at_progress(kl_a, side(kl_a), levels), frontier_at_progress(kl_b, side(kl_b), levels), levels)
    assert all(p.sign == 0 for p in same)
    assert (side(kl_a)[:, 1, -1] - side(kl_b)[:, 1, -1]).mean() > 0.05  # at one shared lr, a looks worse
    worse = matched_comparison(frontier_at_progress(kl_a, side(kl_a, 0.05) + rng.normal(0, 0.005, (R, 3, 8)), levels), frontier_at_progress(kl_b, side(kl_b), levels), levels)
    assert all(p.sign == 1 for p in worse)


def test_a_twin_labelled_near_counts_as_near_only_if_its_bias_is_within_twice_the_margin():
    g = torch.Generator().manual_seed(8)
    x = TRUTH + torch.randn(4_000_000, 3, generator=g, dtype=torch.float64)
    res = bias_test(x, TRUTH)
    far_but_labelled_near = twin("25% off, labelled near", x, TRUTH, TRUTH * 1.25, near=True)
    assert far_but_labelled_near.rejected and far_but_labelled_near.offset == pytest.approx(0.25)
    verdict, eq = equivalence_verdict(res, MARGIN, [far_but_labelled_near], confidence_level=LEVEL)
    assert eq.twins.near_powered == 0 and verdict == "inconclusive"
    verdict, eq = equivalence_verdict(res, MARGIN, [twin("1%", x, TRUTH, TRUTH + MARGIN, near=True)], confidence_level=LEVEL)
    assert eq.twins.near_rejected == 1 and verdict == "confirmed"


def test_a_detected_bias_inside_the_margin_qualifies_instead_of_refuting():
    g = torch.Generator().manual_seed(9)
    x = TRUTH + MARGIN / 4 + torch.randn(40_000_000 // 10, 3, generator=g, dtype=torch.float64) * 0.1
    res = bias_test(x, TRUTH)
    assert res.pvalue < 1e-6  # the small bias is detected ...
    _, eq = equivalence_verdict(res, MARGIN, [twin("1%", x, TRUTH, TRUTH + MARGIN, near=True)], confidence_level=LEVEL)
    ev = Evidence("refuted", res.statistic, "t", len(x), "s", instances=False, sensitivity=[], equivalence=eq)
    out = apply_protocol(_claim(lambda ctx: ev), ev)
    assert out["verdict"] == "qualified" and "not of practical size" in out["protocol_notes"][0]  # ... but is not practical


def test_an_extension_claim_is_refuted_when_the_quoted_part_itself_fails_and_code_bugs_never_refute():
    c = _claim(lambda ctx: None, unbiasedness=False, extension=True)
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=False, sensitivity=[], quote_verdict="refuted")
    out = apply_protocol(c, ev)
    assert out["verdict"] == "refuted" and "quoted sentence itself" in out["protocol_notes"][0]
    assert out["quote_verdict"] == "refuted"  # the record keeps what the evidence said of the quoted sentence
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=False, sensitivity=[], quote_verdict="confirmed")
    assert apply_protocol(c, ev)["verdict"] == "qualified"
    # a held extension does not confirm a sentence the evidence leaves undecided; twin: a decided sentence is confirmed
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=[], quote_verdict="inconclusive")
    out = apply_protocol(c, ev)
    assert out["verdict"] == "inconclusive" and "undecided" in out["protocol_notes"][-1]
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=[], quote_verdict="confirmed")
    assert apply_protocol(c, ev)["verdict"] == "confirmed"
    # ... also when a sweep point is undecided (rule order of 2026-12-01: the quote rule before the sensitivity rule;
    # twin: with a decided sentence the same sweep point qualifies)
    sweep = [sweep_point("beta", 4, "inconclusive", instances=1, quote_verdict="inconclusive")]
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=sweep, quote_verdict="inconclusive")
    assert apply_protocol(c, ev)["verdict"] == "inconclusive"
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=sweep, quote_verdict="confirmed")
    assert apply_protocol(c, ev)["verdict"] == "qualified"
    bug = Evidence("refuted", 1.0, "t", 1, "s", instances=False, sensitivity=[], code_checks=["GMPO ≠ GSPO by 1e-3"])
    out = apply_protocol(_claim(lambda ctx: None, unbiasedness=False), bug)
    assert out["verdict"] == "inconclusive" and "bug to fix" in out["protocol_notes"][0]
    with pytest.raises(ValueError, match="quote_verdict: expected one of"):
        Evidence("refuted", 1.0, "t", 1, "s", quote_verdict="maybe")


def test_worst_equivalence_judges_an_unbiasedness_claim_on_its_weakest_setting():
    """Three settings: confirmed with a small bound, confirmed with a bound near its margin, inconclusive. The worst is
    the inconclusive one; among confirmed ones, the largest bound/margin. Twin: picking the first setting is not it."""
    from pgtheory.claims.protocol import worst_equivalence

    good = _unbiasedness_evidence(0.0, 4_000_000, seed=0).equivalence
    weak = _unbiasedness_evidence(MARGIN / 2, 100_000, seed=1).equivalence
    pairs = [("confirmed", good), ("confirmed", weak), ("inconclusive", weak)]
    assert worst_equivalence(pairs) is pairs[2]
    assert worst_equivalence(pairs[:2])[1] is weak and worst_equivalence(pairs[:2]) is not pairs[0]
    with pytest.raises(ValueError, match="results: need at least one"):
        worst_equivalence([])


def test_records_carry_the_commit_of_the_code_that_ran_not_a_later_one(tmp_path, monkeypatch):
    """A commit made while a long run is under way must not be recorded as the code that ran: ``check`` takes the
    provenance once, at the start. Twin: without it, a record written after the 'commit' names the new commit."""
    ev = Evidence("confirmed", 0.0, "t", 1, "s", instances=True, sensitivity=[])
    claim = _claim(lambda ctx: ev, unbiasedness=False, margin=None)
    monkeypatch.setattr(runner.CLAIMS, "get", lambda cid, arg="name": claim)
    calls = iter(["start", "later"])
    monkeypatch.setattr(runner, "provenance", lambda: {"git_commit": next(calls), "dirty": False, "versions": {}, "torch": "x"})
    src = runner.provenance()
    assert runner.run_claim(claim.id, "quick", 0, "cpu", str(tmp_path), "v0", src)["git_commit"] == "start"
    assert runner.run_claim(claim.id, "quick", 1, "cpu", str(tmp_path), "v0")["git_commit"] == "later"  # the twin


@pytest.mark.parametrize("kind", ["empirical", "asymptotic", "theorem"])
def test_an_extension_without_a_quote_verdict_is_refused_for_every_kind(kind):
    """Rule of 2026-12-01 (referee of the seed-9 ledger: L9-softmax-pg-rates and L27 were shown confirmed on a held
    extension alone). Twin: the same evidence with the quote verdict stated is accepted."""
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=[])
    c = _claim(lambda ctx: ev, unbiasedness=False, extension=True, kind=kind)
    with pytest.raises(ProtocolError, match="quote_verdict"):
        apply_protocol(c, ev)
    ev.quote_verdict = "inconclusive"
    assert apply_protocol(c, ev)["verdict"] == "inconclusive"


def test_one_rule_combines_the_quoted_sentence_and_the_extension():
    from pgtheory.claims.protocol import combine_quote_and_extension as combine

    table = {("refuted", v): "refuted" for v in ("confirmed", "refuted", "qualified", "inconclusive")}
    table.update({("inconclusive", v): "inconclusive" for v in ("confirmed", "refuted", "qualified", "inconclusive")})
    table.update({("qualified", v): "qualified" for v in ("confirmed", "refuted", "qualified", "inconclusive")})
    table.update({("confirmed", "confirmed"): "confirmed", ("confirmed", "refuted"): "qualified",
                  ("confirmed", "qualified"): "qualified", ("confirmed", "inconclusive"): "confirmed"})
    for (q, r), shown in table.items():
        assert combine(q, r) == shown, (q, r)
        ev = Evidence(r, 1.0, "t", 1, "s", instances=True, sensitivity=[], quote_verdict=q)
        assert apply_protocol(_claim(lambda ctx: ev, unbiasedness=False, extension=True), ev)["verdict"] == shown, (q, r)
    with pytest.raises(ValueError, match="quote_verdict"):
        combine("maybe", "confirmed")
    # an undecided extension of a confirmed sentence is said so in the notes (L127's case)
    ev = Evidence("inconclusive", 1.0, "t", 1, "s", instances=True, sensitivity=[], quote_verdict="confirmed")
    out = apply_protocol(_claim(lambda ctx: ev, unbiasedness=False, extension=True), ev)
    assert "extension beyond it was undecided" in out["protocol_notes"][0]


def test_sweep_points_are_read_on_the_quoted_sentence_when_they_report_it():
    """L95's case (referee of the seed-9 ledger): the quoted part refuted at the declared constant but confirmed at two
    swept values, while the rule (driven by an always-failing extension) reads refuted everywhere → qualified. Twin: the
    quoted part refuted at every swept value keeps the refutation."""
    c = _claim(lambda ctx: None, unbiasedness=False, extension=True)
    flip = [sweep_point("mismatch", m, "refuted", quote_verdict="confirmed" if m < 0.1 else "refuted", instances=2)
            for m in (0.02, 0.05, 0.2)]
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=[True, False], sensitivity=flip, quote_verdict="refuted")
    out = apply_protocol(c, ev)
    assert out["verdict"] == "qualified" and "mismatch = 0.02: qualified" in out["protocol_notes"][-1]
    steady = [sweep_point("mismatch", m, "refuted", quote_verdict="refuted", instances=2) for m in (0.02, 0.05, 0.2)]
    ev = Evidence("refuted", 1.0, "t", 1, "s", instances=[True, False], sensitivity=steady, quote_verdict="refuted")
    assert apply_protocol(c, ev)["verdict"] == "refuted"
    # a point of an extension claim without a quote verdict is refused (2026-12-01); with one, a failed extension
    # there still qualifies a confirmation
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, quote_verdict="confirmed",
                  sensitivity=[sweep_point("lr", 0.1, "refuted", instances=1)])
    with pytest.raises(ProtocolError, match="must report the quoted sentence's verdict"):
        apply_protocol(c, ev)
    ev.sensitivity = [sweep_point("lr", 0.1, "refuted", instances=1, quote_verdict="confirmed")]
    assert apply_protocol(c, ev)["verdict"] == "qualified"


def test_a_sweep_on_fewer_instances_than_the_main_verdict_does_not_establish_it():
    """L231's case (a sweep run on one bandit read against a verdict judged on eight): refused until 2026-12-01, now a
    subset point that leaves the confirmation "not established" (qualified). Twin: eight is read as a full point."""
    c = _claim(lambda ctx: None, unbiasedness=False)
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=[True] * 8,
                  sensitivity=[sweep_point("lr", 4, "confirmed", instances=1)])
    out = apply_protocol(c, ev)
    assert out["verdict"] == "qualified" and "swept on 1 of 8 instances" in out["protocol_notes"][-1]
    ev.sensitivity = [sweep_point("lr", 4, "confirmed", instances={"count": 8, "holding": 8})]
    assert apply_protocol(c, ev)["verdict"] == "confirmed"


def test_the_equivalence_rule_binds_the_quoted_sentence_of_an_extension_claim():
    """An unbiasedness claim with an extension: a quoted 'unbiased' outside the margin cannot be confirmed through the
    combination rule (the rule verdict's downgrade alone would leave 'confirmed' by an undecided extension)."""
    ev = _unbiasedness_evidence(bias=0.5 * MARGIN, n=400, seed=3)  # interval reaches past the margin at n = 400
    assert not ev.equivalence.within_margin
    ev.verdict, ev.quote_verdict = "confirmed", "confirmed"
    out = apply_protocol(_claim(lambda ctx: ev, extension=True), ev)
    assert out["verdict"] == "inconclusive" and out["quote_verdict"] == "inconclusive"


def test_a_sweep_point_refuses_a_quote_verdict_under_another_key():
    """L127 (seed-1010 record) stored its sweep points' quote verdicts as ``quote``, which the protocol never read, and
    showed 'confirmed' where the stated rule gives 'qualified'. Twin: the same point with quote_verdict= is read."""
    with pytest.raises(ValueError, match="quote_verdict="):
        sweep_point("sigma_p", 0.03, "inconclusive", quote="inconclusive", instances=1)
    with pytest.raises(ValueError, match="quote_rule: pass"):
        sweep_point("sigma0", 0.2, "refuted", quote_rule="confirmed", instances=1)
    assert sweep_point("k", 6, "confirmed", quoted_part_holds=True, instances=1)["quoted_part_holds"]  # another word: allowed
    with pytest.raises(ValueError, match="quote_verdict: expected"):
        sweep_point("sigma_p", 0.03, "inconclusive", quote_verdict="maybe", instances=1)
    c = _claim(lambda ctx: None, unbiasedness=False, extension=True)
    ev = Evidence("inconclusive", 1.0, "t", 1, "s", instances=[True] * 8, quote_verdict="confirmed",
                  sensitivity=[sweep_point("sigma_p", 0.03, "inconclusive", quote_verdict="inconclusive", instances=8)])
    assert apply_protocol(c, ev)["verdict"] == "qualified"


def test_a_sweep_point_of_an_extension_claim_must_report_its_quote_verdict():
    """Referee of the seed-10 ledger: with the quote confirmed and the extension undecided (shown confirmed), a point
    whose rule verdict alone is reported cannot tell an undecided quote from an undecided extension. Since 2026-12-01
    such a point is refused; with its quote verdict, a held extension does not qualify the claim and a failed one does."""
    c = _claim(lambda ctx: None, unbiasedness=False, extension=True)
    bare = Evidence("inconclusive", 1.0, "t", 1, "s", instances=[True] * 8, quote_verdict="confirmed",
                    sensitivity=[sweep_point("lr", 4, "confirmed", instances=8)])
    with pytest.raises(ProtocolError, match="missing at lr = 4"):
        apply_protocol(c, bare)
    held = Evidence("inconclusive", 1.0, "t", 1, "s", instances=[True] * 8, quote_verdict="confirmed",
                    sensitivity=[sweep_point("lr", 4, "confirmed", instances=8, quote_verdict="confirmed")])
    assert apply_protocol(c, held)["verdict"] == "confirmed"
    failed = Evidence("inconclusive", 1.0, "t", 1, "s", instances=[True] * 8, quote_verdict="confirmed",
                      sensitivity=[sweep_point("lr", 4, "refuted", instances=8, quote_verdict="confirmed")])
    out = apply_protocol(c, failed)
    assert out["verdict"] == "qualified" and "lr = 4: qualified" in out["protocol_notes"][-1]


def test_a_quote_verdict_without_an_extension_is_refused():
    """L195's seed-10 record carried quote_verdict with extension False. Twin: the same evidence on an extension claim."""
    ev = Evidence("confirmed", 1.0, "t", 1, "s", instances=True, sensitivity=[], quote_verdict="confirmed")
    with pytest.raises(ProtocolError, match="has no extension"):
        apply_protocol(_claim(lambda ctx: None, unbiasedness=False, extension=False), ev)
    assert apply_protocol(_claim(lambda ctx: None, unbiasedness=False, extension=True), ev)["verdict"] == "confirmed"
