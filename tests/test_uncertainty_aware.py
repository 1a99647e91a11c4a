"""Tests of pgtheory.exact.uncertainty_aware (vanilla / conservative KL-regularised Gibbs policies) and claim L155."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from pgtheory.exact.divergences import kl_divergence
from pgtheory.exact.uncertainty_aware import (beta_for_kl, ensemble_mean_and_spread, gibbs_kl, gibbs_policy,
                                              lower_confidence_reward, matched_kl_policies, max_tilt_kl, true_value,
                                              uncertainty_aware_policy, value_law)
from pgtheory.stats.mcnemar import mcnemar_exact

pytestmark = pytest.mark.usefixtures("one_torch_thread")

T = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731


def test_gibbs_policy_is_the_argmax_of_the_kl_regularised_objective():
    rng = np.random.default_rng(0)
    for _ in range(5):
        ref = rng.dirichlet(np.ones(4))
        r = rng.normal(size=4)
        beta = float(10 ** rng.uniform(-0.5, 0.5))

        def neg(p):
            p = np.clip(p, 1e-300, None)
            return -(p @ r - beta * (p * (np.log(p) - np.log(ref))).sum())

        res = minimize(neg, ref.copy(), method="SLSQP", bounds=[(0, 1)] * 4,
                       constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}], options={"ftol": 1e-14, "maxiter": 1000})
        pi = gibbs_policy(T(ref), T(r), beta).numpy()
        assert -neg(pi) >= -res.fun - 1e-10  # the closed form is never beaten by the optimiser
        assert np.abs(pi - res.x).max() < 1e-4


def test_hand_values_on_two_arms():
    ref, r = T([0.5, 0.5]), T([1.0, 0.0])
    pi = gibbs_policy(ref, r, 1.0)
    e = math.e
    assert torch.allclose(pi, T([e / (e + 1), 1 / (e + 1)]), atol=1e-15)
    kl = float(gibbs_kl(ref, r, 1.0))
    p1 = e / (e + 1)
    assert kl == pytest.approx(p1 * math.log(2 * p1) + (1 - p1) * math.log(2 * (1 - p1)), abs=1e-14)
    assert float(kl_divergence(pi, ref)) == pytest.approx(kl, abs=1e-14)
    assert float(max_tilt_kl(ref, r)) == pytest.approx(math.log(2), abs=1e-15)
    assert float(beta_for_kl(ref, r, kl)) == pytest.approx(1.0, abs=1e-7)
    assert float(true_value(pi, r)) == pytest.approx(p1, abs=1e-15)


def test_zero_penalty_gives_the_vanilla_policy_and_large_beta_the_reference():
    g = torch.Generator().manual_seed(1)
    ref = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), -1)
    ens = torch.randn(7, 4, 6, generator=g, dtype=torch.float64)
    mean, _ = ensemble_mean_and_spread(ens)
    assert torch.equal(uncertainty_aware_policy(ref, ens, 0.3, 0.0), gibbs_policy(ref, mean, 0.3))
    assert float((gibbs_policy(ref, mean, 1e12) - ref).abs().max()) < 1e-10


def test_ensemble_statistics_and_lower_confidence_reward_by_hand():
    ens = T([[1.0, 2.0], [3.0, 4.0]])  # M = 2 members, K = 2
    mean, spread = ensemble_mean_and_spread(ens)
    assert torch.equal(mean, T([2.0, 3.0]))
    assert torch.allclose(spread, T([math.sqrt(2), math.sqrt(2)]), atol=1e-15)
    assert torch.allclose(lower_confidence_reward(ens, 1.0), T([1.0, 2.0]), atol=1e-15)


def test_matched_kl_policies_reach_the_target_and_penalise_the_noisy_response():
    ref = T([0.4, 0.3, 0.3])
    # responses 0 and 2 have the same ensemble mean (1); response 2 has the larger spread
    ens = T([[1.0, 0.0, 2.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]) + T([[0.0, 0.0, 0.0], [0.1, 0.1, 0.0], [-0.1, -0.1, 0.0]])
    pol = matched_kl_policies(ref, ens, 0.2, 1.0)
    assert float(gibbs_kl(ref, ens.mean(0), pol.beta_vanilla)) == pytest.approx(0.2, abs=1e-9)
    assert float(kl_divergence(pol.conservative, ref)) == pytest.approx(0.2, abs=1e-9)
    assert float(pol.conservative[2]) < float(pol.vanilla[2])


def test_beta_for_kl_batched_matches_target_everywhere():
    g = torch.Generator().manual_seed(2)
    ref = torch.softmax(torch.randn(15, generator=g, dtype=torch.float64), -1)
    r = 3 * torch.randn(500, 15, generator=g, dtype=torch.float64)
    target = 0.75 * float(-ref.max().log())
    beta = beta_for_kl(ref, r, target)
    assert float((gibbs_kl(ref, r, beta) - target).abs().max()) < 1e-9


def test_value_law_by_hand():
    law = value_law(T([0.0, 1.0, 2.0, 3.0]), level=0.1, threshold=1.5)
    assert law.mean == 1.5 and law.variance == pytest.approx(5 / 3) and law.prob_below == 0.5
    assert law.lower_quantile == pytest.approx(0.3) and law.n == 4


def _risk_draws(penalty_sign: float, n: int, seed: int):
    """True values over RM draws on a 3-arm prompt: arm 0 truly best, low noise; arm 2 bad with very noisy estimates."""
    g = torch.Generator().manual_seed(seed)
    ref, r, sigma = T([1 / 3, 1 / 3, 1 / 3]), T([1.0, 0.0, -1.0]), T([0.1, 0.1, 3.0])
    ens = r + sigma * torch.randn(n, 5, 3, generator=g, dtype=torch.float64)
    mean, spread = ensemble_mean_and_spread(ens)
    adjusted = mean + penalty_sign * spread / math.sqrt(5)
    van = true_value(gibbs_policy(ref, mean, beta_for_kl(ref, mean, 0.3)), r)
    other = true_value(gibbs_policy(ref, adjusted, beta_for_kl(ref, adjusted, 0.3)), r)
    return float(true_value(ref, r)), van, other


def test_risk_test_detects_less_risk_and_its_optimistic_twin():
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import _risk_test

    j_ref, van, con = _risk_draws(-1.0, 4000, 3)
    assert _risk_test(con < j_ref, van < j_ref, 1e-3)[0] == "less"  # conservative: less often below the reference
    j_ref, van, opt = _risk_draws(+1.0, 4000, 3)
    outcome, test = _risk_test(opt < j_ref, van < j_ref, 1e-3)
    assert outcome == "more"  # twin: the same test flags the optimistic policy as riskier
    assert test == mcnemar_exact((opt < j_ref).numpy(), (van < j_ref).numpy())
    _, van, same = _risk_draws(0.0, 4000, 3)
    assert _risk_test(same < j_ref, van < j_ref, 1e-3)[0] == "tie"


def test_refute_fraction_counts_informative_prompts_only():
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import (INFORMATIVE_RISK, _family_verdict, _informative,
                                                                    _refute_fraction, n_min_informative)
    n_min = n_min_informative(0.05)

    def row(outcome, risk, risk_c=None):
        return {"outcome": outcome, "risk_vanilla": risk, "risk_conservative": risk if risk_c is None else risk_c}

    quiet = [row("tie", 0.0)] * 6  # prompts where neither policy can fall below π_ref
    rows = [row("more", 0.05), row("tie", 0.05), row("less", 0.05), row("tie", 0.5 * INFORMATIVE_RISK)] + quiet
    assert [_informative(x) for x in rows[:4]] == [True, True, True, False]
    assert _refute_fraction(rows) == pytest.approx(1 / 3)
    assert _family_verdict(rows, 1.0, n_min) == "refuted"  # over all 10 prompts the fraction would be 10% (qualified)
    # the informative set is symmetric in the two policies and fixed before testing: the outcome does not enter
    assert _informative(row("tie", 0.0, INFORMATIVE_RISK)) and _informative(row("tie", INFORMATIVE_RISK, 0.0))
    assert not _informative(row("more", 0.5 * INFORMATIVE_RISK, 0.9 * INFORMATIVE_RISK))
    assert _family_verdict([row("more", 0.05)] + [row("tie", 0.05)] * 5, 1.0, n_min) == "qualified"
    assert _refute_fraction(quiet) == 0.0


def test_confirmed_needs_the_minimum_number_of_informative_prompts():
    """Blocking item of the referee's audit (2026-12-01): "confirmed" with no or too few informative prompts is
    inconclusive; the minimum is the smallest n with (1 − REFUTE_FRACTION)^n ≤ the level (5% when the rule was
    added; the claim's per-decision level since the multiplicity revision of 2026-12-01)."""
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import (REFUTE_FRACTION, TWIN_MIN_FRACTION, _family_verdict,
                                                                    n_min_informative)

    assert n_min_informative(0.05) == 14
    for level in (0.05, 0.05 / 128 / (9 * 11), 0.05 / 128 / (9 * 37)):  # the quick and full levels of 2026-12-01
        n = n_min_informative(level)
        assert (1 - REFUTE_FRACTION) ** n <= level < (1 - REFUTE_FRACTION) ** (n - 1)
    assert n_min_informative(0.05 / 128 / (9 * 37)) == 62  # more than the 36 prompts the full scale had then
    # the re-planned full scale (second revision of 2026-12-01) can confirm: its minimum is two thirds of its prompts
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import ID, _settings
    from pgtheory.claims.protocol import LEDGER_ALPHA, PLANNED_CLAIMS, claim_alpha
    from pgtheory.claims.registry import CLAIMS

    full = CLAIMS.get(ID).scales["full"]
    n_full = full["bandits"] + full["prompts"]
    k = len(list(_settings())) * (n_full + 1)  # the run's k: every prompt's test at every setting + one count each
    assert n_min_informative(claim_alpha(PLANNED_CLAIMS) / k) == 66 <= 2 * n_full / 3
    assert claim_alpha(PLANNED_CLAIMS) == LEDGER_ALPHA / PLANNED_CLAIMS
    with pytest.raises(ValueError, match="^level"):
        n_min_informative(1.0)
    N_MIN_INFORMATIVE = n_min_informative(0.05)

    def rows(n_informative, n_quiet=6):
        return ([{"outcome": "tie", "risk_vanilla": 0.05, "risk_conservative": 0.05}] * n_informative +
                [{"outcome": "tie", "risk_vanilla": 0.0, "risk_conservative": 0.0}] * n_quiet)

    assert _family_verdict(rows(0), 1.0, N_MIN_INFORMATIVE) == "inconclusive"  # was "confirmed" with zero informative prompts
    assert _family_verdict(rows(1), 1.0, N_MIN_INFORMATIVE) == "inconclusive"  # the quick s = 1.5 point of the audit
    assert _family_verdict(rows(N_MIN_INFORMATIVE - 1), 1.0, N_MIN_INFORMATIVE) == "inconclusive"
    assert _family_verdict(rows(N_MIN_INFORMATIVE), 1.0, N_MIN_INFORMATIVE) == "confirmed"
    assert _family_verdict(rows(N_MIN_INFORMATIVE), 0.99 * TWIN_MIN_FRACTION, N_MIN_INFORMATIVE) == "inconclusive"  # unpowered twin


def test_practical_size_margin_on_the_risk_test():
    """A significant reversal smaller than MIN_RISK_DIFFERENCE is a tie (the audit's 0.02% → 0.48% case); twin: the
    same difference scaled past the margin is "more"."""
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import MIN_RISK_DIFFERENCE, _risk_test

    n = 20_000
    van = torch.zeros(n, dtype=torch.bool)
    small = torch.zeros(n, dtype=torch.bool)
    small[:96] = True  # 0.48% against 0%: McNemar p ≈ 2e-29, but below the one-point margin
    outcome, test = _risk_test(small, van, 1e-6)
    assert test.p_value < 1e-20 and test.difference < MIN_RISK_DIFFERENCE and outcome == "tie"
    large = torch.zeros(n, dtype=torch.bool)
    large[: int(1.5 * MIN_RISK_DIFFERENCE * n)] = True
    assert _risk_test(large, van, 1e-6)[0] == "more" and _risk_test(van, large, 1e-6)[0] == "less"


def test_single_member_twin_is_caught_and_the_vanilla_policy_ties_with_itself():
    """The single-member power twin (2026-12-01) is judged "more" risky than the vanilla policy by the claim's test on
    an informative prompt; the vanilla policy against itself is a tie (its null twin)."""
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import _risk_test, _single_member_twin

    g = torch.Generator().manual_seed(5)
    ref = torch.softmax(torch.randn(8, generator=g, dtype=torch.float64), -1)
    r = torch.randn(8, generator=g, dtype=torch.float64)
    shape = 3.0 * (0.2 + 1.8 * torch.rand(8, generator=g, dtype=torch.float64))
    ens = r + shape * torch.randn(4000, 5, 8, generator=g, dtype=torch.float64)
    kappa = 0.5 * float(-ref.max().log())
    mean = ens.mean(-2)
    j_ref = float(true_value(ref, r))
    j_van = true_value(gibbs_policy(ref, mean, beta_for_kl(ref, mean, kappa)), r)
    assert float((j_van < j_ref).double().mean()) > 0.01  # an informative prompt
    assert _single_member_twin(ref, r, ens, kappa, j_ref, j_van, 1e-4) == "more"
    assert _risk_test(j_van < j_ref, j_van < j_ref, 1e-4)[0] == "tie"


def test_member_pairwise_accuracy_against_monte_carlo_and_limits():
    from pgtheory.claims.library.l155_uncertainty_aware_rlhf import NOISE_LOG_RANGE, member_pairwise_accuracy

    rng = np.random.default_rng(0)
    n = 400_000
    for s, m in ((3.0, 1), (6.0, 5)):
        sigma = s * np.exp(rng.uniform(*NOISE_LOG_RANGE, size=(n, 2)))
        r = rng.normal(size=(n, 2))
        est = r + sigma / math.sqrt(m) * rng.normal(size=(n, 2))
        mc = float(np.mean((r[:, 0] - r[:, 1]) * (est[:, 0] - est[:, 1]) > 0))
        assert abs(member_pairwise_accuracy(s, m) - mc) < 5 * math.sqrt(0.25 / n)
    assert member_pairwise_accuracy(1e-8) == pytest.approx(1.0, abs=1e-6)
    assert member_pairwise_accuracy(1e8) == pytest.approx(0.5, abs=1e-6)
    # the declared range: a member orders 73% / 64% / 58% of pairs correctly
    assert [round(member_pairwise_accuracy(s), 2) for s in (1.5, 3.0, 6.0)] == [0.73, 0.64, 0.58]


@pytest.mark.parametrize("call, name", [
    (lambda: gibbs_policy(T([0.0, 1.0]), T([1.0, 0.0]), 1.0), "reference"),
    (lambda: gibbs_policy(T([0.5, 0.5]), T([1.0, 0.0]), -1.0), "beta"),
    (lambda: gibbs_policy(T([0.5, 0.5]), T([1.0, 0.0, 2.0]), 1.0), "reward"),
    (lambda: gibbs_policy(T([0.5, 0.5]), T([1.0, float("nan")]), 1.0), "reward"),
    (lambda: ensemble_mean_and_spread(T([[1.0, 2.0]])), "ensemble"),
    (lambda: lower_confidence_reward(T([[1.0, 2.0], [0.0, 1.0]]), -1.0), "penalty"),
    (lambda: beta_for_kl(T([0.5, 0.5]), T([1.0, 0.0]), 0.8), "target_kl"),
    (lambda: beta_for_kl(T([0.5, 0.5]), T([1.0, 0.0]), 0.0), "target_kl"),
    (lambda: value_law(T([1.0]), level=0.1, threshold=0.0), "values"),
    (lambda: value_law(T([1.0, 2.0]), level=1.0, threshold=0.0), "level"),
])
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=f"^{name}"):
        call()


def test_claim_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l155_uncertainty_aware_rlhf as mod
    from pgtheory.claims.runner import check

    rec = check([mod.ID], scale="quick", results=tmp_path)[0]
    for key in ("verdict", "summary", "instances", "sensitivity", "kind", "quote", "figure"):
        assert key in rec
    assert rec["kind"] == "empirical" and rec["extension"] and len(rec["sensitivity"]) == 8
    assert rec["instances"]["count"] == 10
    assert not rec["code_checks"]
    assert all("refute_fraction" in p and "informative" in p and "twin_member_power" in p for p in rec["sensitivity"])
    assert "McNemar" in rec["threshold"]
    # quick scale has 10 prompts, fewer than the minimum informative count: no setting can be confirmed
    assert rec["verdict"] != "confirmed" and all(p["verdict"] != "confirmed" for p in rec["sensitivity"])
    assert "stalled" in rec["summary"]
