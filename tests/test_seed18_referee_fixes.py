"""Rules revised after the referee of the seed-18 ledger (2026-12-01, fourth): each with a twin the same rule rejects.

Everything here is exact or deterministic (fixed seeds, hand-made curves); no test has a false-failure rate above 0.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgtheory.claims.library import l127_iwae_snr as l127
from pgtheory.claims.library import l231_iqn as l231
from pgtheory.estimators import iwae_log_weights, relative_weight_variance
from pgtheory.problems import GaussianLatentModel

F64 = torch.float64


# --- L231: "approximate" is judged by whether the error is still falling, not by a halving per decade ------------

def test_consistency_verdict_reads_the_interval_of_the_last_decade_slope():
    assert l231.consistency_verdict((-0.25, -0.14)) == "holds"  # seed 18's bandit 0: slow, still falling
    assert l231.consistency_verdict((-0.06, 0.004)) == "refuted"  # flattened (a twin: IQN's κ = 1 learner, quick seed)
    assert l231.consistency_verdict((-0.3, 0.02)) == "inconclusive"  # neither
    assert l231.consistency_verdict((-l231.FLAT_SLOPE - 1e-9, 0.01)) == "inconclusive"


def _runs(offset: float, n_runs: int = 200, seed: int = 0):
    """Error curves e_N = |offset + noise/√N| of n_runs runs on a checkpoint grid up to 10⁵."""
    rng = np.random.default_rng(seed)
    cps = l231._checkpoints(100_000)
    z = rng.normal(size=(n_runs, 1)) + 0.3 * rng.normal(size=(n_runs, len(cps)))
    return cps, np.abs(offset + z / np.sqrt(np.array(cps, dtype=float)))


def test_consistency_rule_holds_for_a_consistent_learner_and_refutes_an_offset_one():
    from scipy.stats import norm

    from pgtheory.stats import mean_tail_slope, normal_interval
    level = 1 - 0.05 / 128 / 24
    cps, err = _runs(0.0)
    fit = mean_tail_slope(cps, err, decades=1.0, gate_tolerance=l231.GATE_TOL, seed=0)
    assert l231.consistency_verdict(normal_interval(fit, level)) == "holds"
    # twin: the same noise around an estimate offset by 0.2 (IQN's κ = 1 Huber quantile is 0.15 sd off) has flattened
    cps, err = _runs(0.2)
    fit = mean_tail_slope(cps, err, decades=1.0, gate_tolerance=l231.GATE_TOL, seed=0)
    assert l231.consistency_verdict(normal_interval(fit, level)) == "refuted"
    assert norm.isf(0.05 / 128 / 24 / 2) > 3  # the level is the claim's, not 95%


def test_min_quantile_density_reads_a_gap_at_a_learned_quantile():
    atoms = torch.linspace(0.0, 1.0, 4001, dtype=F64)
    uniform = (atoms, torch.full_like(atoms, 1 / atoms.numel()))
    assert l231.min_quantile_density(uniform) == pytest.approx(1.0, rel=0.02)
    # twin: a crash component (14% of the mass) and the good one (83%) joined by a thin bridge (3%), as on seed 18's
    # bandit 0: the learned level τ = 5/32 (0.156) falls on the bridge, where the density is about 0.01
    parts = [(torch.linspace(-3.0, -2.9, 700, dtype=F64), 0.14), (torch.linspace(-2.9, 0.0, 3000, dtype=F64)[1:-1], 0.03),
             (torch.linspace(0.0, 1.0, 4000, dtype=F64), 0.83)]
    gap = (torch.cat([z for z, _ in parts]), torch.cat([torch.full_like(z, m / z.numel()) for z, m in parts]))
    assert l231.min_quantile_density(gap) < 0.05


# --- L127: the large-K regime and the resolution of the SNR estimate -----------------------------------------------

def test_relative_weight_variance_is_exact_for_gaussian_log_weights():
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(200_000, generator=g, dtype=F64)
    assert relative_weight_variance(lw) == pytest.approx(math.e - 1, rel=0.02)
    assert relative_weight_variance(2.0 * lw) == pytest.approx(math.exp(4) - 1, rel=0.05)  # twin: 4× the variance
    with pytest.raises(ValueError, match="log_weights"):
        relative_weight_variance(torch.tensor([1.0], dtype=F64))


def test_iwae_log_weights_are_constant_at_the_exact_posterior():
    mu = torch.linspace(-1, 1, 5, dtype=F64)
    model = GaussianLatentModel(mu)
    x = torch.linspace(0.5, -0.5, 5, dtype=F64)
    A, b, s = model.optimal_encoder()
    eps = torch.randn(100, 5, generator=torch.Generator().manual_seed(1), dtype=F64)
    lw = iwae_log_weights(model, x, eps, A, b, s)
    assert torch.allclose(lw, model.log_evidence(x).expand(100), atol=1e-12)  # w = p(x): ρ = 0
    assert relative_weight_variance(lw) == pytest.approx(0.0, abs=1e-20)
    lw_off = iwae_log_weights(model, x, eps, A, b + 0.5, s)  # twin: an encoder off the posterior
    assert relative_weight_variance(lw_off) > 0.1


def _power_law_curves(n: int, slope_t: float, slope_p: float):
    ks = np.array(sorted({round(2 ** (k / 2)) for k in range(21)}), dtype=float)
    return ks, np.tile(ks ** slope_t, (n, 1)), np.tile(ks ** slope_p, (n, 1))


def test_l127_regime_gate_needs_k_much_larger_than_rho():
    ks, snr_t, snr_p = _power_law_curves(8, 0.5, -0.5)
    ci = np.tile([-0.6, -0.4], (8, 1))
    resolved = np.full(8, -1)  # every K of the window resolved
    small = l127._decide(ks, snr_t, snr_p, ci, resolved, np.full(8, 2.0))  # window from K = 64 ≥ 10·2
    assert small["in_regime"] == 8 and small["extension"] == "confirmed" and small["quote"] == "confirmed"
    # twin: identical curves with weights of ρ = 10⁴ (σ_p = 0.3's order) are outside the large-K regime
    large = l127._decide(ks, snr_t, snr_p, ci, resolved, np.full(8, 1e4))
    assert large["in_regime"] == 0 and large["extension"] == "inconclusive"
    assert large["quote"] == "confirmed"  # the quoted sentence is read at any K
    # a flat plateau read in regime would refute; outside it, it refutes nothing
    ks, snr_t, snr_p = _power_law_curves(8, 0.0, 0.0)
    assert l127._decide(ks, snr_t, snr_p, ci, resolved, np.full(8, 2.0))["extension"] == "refuted"
    assert l127._decide(ks, snr_t, snr_p, ci, resolved, np.full(8, 1e4))["extension"] == "inconclusive"


def test_l127_snr_below_resolution_at_large_k_still_falls_but_is_not_in_regime():
    ks, snr_t, snr_p = _power_law_curves(8, 0.5, -0.5)
    rho = np.full(8, 2.0)
    falling = np.tile([-0.7, -0.3], (8, 1))  # fitted on the resolved K of the window
    d = l127._decide(ks, snr_t, snr_p, falling, np.full(8, 5), rho)  # 5 of the window's 9 K resolved
    assert d["quote"] == "confirmed" and d["fitted"] == 8 and d["in_regime"] == 0
    # twin: with fewer than MIN_RESOLVED resolved K there is no interval, and the instance neither falls nor rises
    unresolved = np.full((8, 2), np.nan)
    d = l127._decide(ks, snr_t, snr_p, unresolved, np.full(8, l127.MIN_RESOLVED - 1), rho)
    assert d["quote"] == "inconclusive" and d["falls"] == 0 and d["fitted"] == 0


def test_l127_resolved_points_mask_the_clipped_estimates():
    rng = np.random.default_rng(0)
    signal = rng.normal(loc=1.0, size=(2000, 4))
    noise = rng.normal(loc=0.0, size=(2000, 4))
    assert list(l127.resolved_points([signal, noise, signal])) == [True, l127._resolved(noise), True]


def test_l127_resolution_check_matches_the_clip_of_the_snr_estimate():
    rng = np.random.default_rng(0)
    signal = rng.normal(loc=1.0, size=(2000, 4))
    noise = rng.normal(loc=0.0, size=(2000, 4))
    assert l127._resolved(signal) and l127._snr(signal) > 0
    assert (not l127._resolved(noise)) == (l127._snr(noise) == 0.0)


# --- L7: a family of MDPs; a variance-ratio interval straddling 1 no longer refutes -----------------------------

def test_l7_variance_outcome_and_family_verdict():
    from types import SimpleNamespace as NS

    from pgtheory.claims.library import l7_gae as l7
    assert l7._variance_outcome(NS(ci_low=0.08, ci_high=0.12)) == "holds"
    assert l7._variance_outcome(NS(ci_low=0.9, ci_high=1.1)) == "undecided"  # was a refutation before 2026-12-01
    assert l7._variance_outcome(NS(ci_low=1.05, ci_high=1.3)) == "fails"  # the twin: λ = 0 raises the variance
    good = {"quote": "holds", "u_by_b": {l7.B: True}}
    no_u = {"quote": "holds", "u_by_b": {l7.B: False}}
    assert l7.family_verdict([good, good]) == ("confirmed", "confirmed")
    assert l7.family_verdict([good, no_u]) == ("confirmed", "qualified")  # the extension only qualifies
    assert l7.family_verdict([good, {"quote": "undecided", "u_by_b": {l7.B: True}}]) == ("inconclusive", "inconclusive")
    assert l7.family_verdict([good, {"quote": "refuted", "u_by_b": {l7.B: True}}]) == ("refuted", "refuted")


# --- identities that verify part of their sentence ---------------------------------------------------------------

def test_only_an_identity_names_the_part_it_verifies_and_the_record_carries_it():
    from pgtheory.claims.protocol import apply_protocol

    from .test_protocol_readings import _claim, _ev
    ident = _claim(kind="identity", reading="by-construction", reading_note="holds by construction",
                   verifies="Verified: the algebra. Not judged: 'destabilizes large updates'.")
    rec = apply_protocol(ident, _ev())  # an identity that holds is stored confirmed, shown verified
    assert rec["verdict"] == "confirmed" and rec["verifies"].startswith("Verified: the algebra")
    with pytest.raises(ValueError, match="verifies: claim L998-synthetic is kind 'empirical'"):
        _claim(verifies="Verified: x. Not judged: y.")  # the twin: a non-identity judges parts by clauses


def test_family_table_and_readings_appendix_mark_an_identity_verified_in_part():
    from pgtheory.claims.paper import _verifies, readings_latex
    part = {"id": "L75-empg-gradient-entropy", "kind": "identity", "reading": "by-construction", "verdict": "confirmed",
            "verifies": "Verified: the score-norm identity. Not judged: the behavioural clauses."}
    whole = dict(part, id="L998-synthetic", verifies="")  # not registered: no fallback text
    assert _verifies(part) and readings_latex([part, whole]).count("Verified: the score-norm identity") == 1
    assert "verified in part" not in readings_latex([whole])


def test_a_sweep_of_an_undeclared_constant_is_refused():
    from pgtheory.claims.protocol import ProtocolError, apply_protocol
    from pgtheory.claims.record import sweep_point

    from .test_protocol_readings import _claim, _ev
    c = _claim(constants={"eps_log (GMPO)": [0.2, 0.8], "std": [0, 1], "eps": [0, 1]})
    ok = _ev(sensitivity=[sweep_point("eps_log (GMPO)", 0.2, "confirmed", instances=4),
                          sweep_point("std|eps", "1|0.1", "confirmed", instances=4)])
    assert apply_protocol(c, ok)["verdict"] == "confirmed"
    with pytest.raises(ProtocolError, match="sweeps 'eps_log \\(GMPO clip\\)', which it did not declare"):
        apply_protocol(c, _ev(sensitivity=[sweep_point("eps_log (GMPO clip)", 0.2, "confirmed", instances=4)]))


# --- L41: compared at matched KL moved, over every learning rate ------------------------------------------------

def test_l41_decides_over_every_lr_and_kl_level_reached():
    from pgtheory.claims.library import l41_aspo as l41
    # since 2026-12-02 (second) GRPO's signs alone decide; ASPO's flip is a no-result clause (tests/test_seed21_referee_fixes)
    assert l41.decide(["+", "+", None]) == "confirmed"  # a level GRPO did not reach is skipped
    assert l41.decide(["+", "0"]) == "inconclusive"
    assert l41.decide(["+", "−"]) == "qualified"  # the mismatch at some progress, reversed at other
    assert l41.decide(["−", "−"]) == "refuted"  # the twin: the quoted mismatch absent wherever read
    assert l41.decide([None, None]) == "inconclusive"


def test_l41_matched_signs_read_each_run_at_its_own_progress():
    from pgtheory.claims.library import l41_aspo as l41
    seeds, epochs = 8, 9
    kl = np.tile(np.linspace(0.0, 0.4, epochs), (seeds, 1))  # every run reaches every level
    kl[:, 1] = 0.005  # the first epoch moves 0.005 nats: every level is read after it
    rng = np.random.default_rng(0)
    rising = np.tile(np.linspace(0.0, 0.8, epochs), (seeds, 1)) + 0.01 * rng.normal(size=(seeds, epochs))
    assert l41.matched_signs(rising, kl, 0.999) == ["+", "+", "+", "+"]
    assert l41.matched_signs(-rising, kl, 0.999) == ["−", "−", "−", "−"]  # the twin
    short = np.tile(np.linspace(0.0, 0.05, epochs), (seeds, 1))  # runs that move only 0.05 nats
    assert l41.matched_signs(rising, short, 0.999)[2:] == [None, None]
    fast = np.tile(np.linspace(0.0, 0.4, epochs), (seeds, 1))  # past 0.01 and 0.03 nats after the first epoch:
    assert l41.matched_signs(rising, fast, 0.999)[:2] == [None, None]  # not read from the start both methods share
    half = kl.copy()
    half[: seeds // 2 + 1, :] = np.linspace(0.0, 0.05, epochs)  # more than half the seeds stop at 0.05 nats
    assert l41.matched_signs(rising, half, 0.999)[2:] == [None, None]


def test_l197_outlier_clause_is_decided_from_the_exact_sensitivities():
    from pgtheory.claims.library.l197_gmpo import outlier_verdict
    n = 100
    assert outlier_verdict({"sequences": n, "largest_ratio_less_sensitive": n, "smallest_ratio_more_sensitive": n}) == "qualified"
    assert outlier_verdict({"sequences": n, "largest_ratio_less_sensitive": n, "smallest_ratio_more_sensitive": 0}) == "confirmed"
    assert outlier_verdict({"sequences": n, "largest_ratio_less_sensitive": n - 1,
                            "smallest_ratio_more_sensitive": n}) == "refuted"  # the twin: a mean not robust to large ratios


def test_an_identity_that_was_not_verified_is_not_listed_as_verified_in_part():
    from pgtheory.claims.paper import _verifies
    rec = {"id": "L3-rapid-stale-minibatches", "kind": "identity", "verdict": "inconclusive", "verifies": "Verified: x."}
    assert _verifies(rec) == "" and _verifies(dict(rec, verdict="confirmed")) == "Verified: x."
