"""Tests of the PF-PPO rank filters (L121), the polychromic set objective (L223) and the constrained KL-regularised
tilt of constrained RLHF (L77): exact values, twins, errors."""
import math

import pytest
import torch

from pgtheory.exact.constrained_tilt import constrained_kl_rlhf, tilt
from pgtheory.exact.rank_filtration import best_of_n_law, filtered_law, worst_of_n_law
from pgtheory.exact.set_objectives import correct_entropy, perturbed_pass_at_k, polychromic_objective, set_table
from pgtheory.testing import assert_unbiased

pytestmark = pytest.mark.usefixtures("one_torch_thread")
T = torch.float64


# ---- rank filters (L121) --------------------------------------------------------------------------------------------

def test_filter_laws_by_hand():
    pi, r = torch.tensor([0.5, 0.5], dtype=T), torch.tensor([0.0, 1.0], dtype=T)
    assert torch.allclose(best_of_n_law(pi, r, 2), torch.tensor([0.25, 0.75], dtype=T), atol=1e-15)
    assert torch.allclose(worst_of_n_law(pi, r, 2), torch.tensor([0.75, 0.25], dtype=T), atol=1e-15)
    # best + random other: ½(0.25, 0.75) + ½(2π − best)/1 = (0.5, 0.5); best + worst: (0.5, 0.5)
    assert torch.allclose(filtered_law(pi, r, 2, "best_random"), torch.tensor([0.5, 0.5], dtype=T), atol=1e-15)
    assert torch.allclose(filtered_law(pi, r, 2, "best_worst"), torch.tensor([0.5, 0.5], dtype=T), atol=1e-15)


def test_filter_laws_are_distributions_and_batch():
    g = torch.Generator().manual_seed(1)
    pi = torch.softmax(torch.randn(3, 7, generator=g, dtype=T), -1)
    r = torch.randn(3, 7, generator=g, dtype=T)
    for f in ("none", "best_of_n", "best_random", "best_worst"):
        mu = filtered_law(pi, r, 5, f)
        assert torch.allclose(mu.sum(-1), torch.ones(3, dtype=T), atol=1e-12) and bool((mu >= -1e-15).all())
        for i in range(3):
            assert torch.allclose(mu[i], filtered_law(pi[i], r[i], 5, f), atol=1e-14)


def _kept_onehots(pi, r, n, strategy, count, gen):
    """Sampled kept-sample one-hots (averaged over the kept samples of one filtered group), [count, K]."""
    k = pi.shape[0]
    draws = torch.multinomial(pi.expand(count, k), n, replacement=True, generator=gen)  # [count, n]
    ranks = r[draws].argsort(-1)
    best, worst = draws.gather(1, ranks[:, -1:]), draws.gather(1, ranks[:, :1])
    eye = torch.eye(k, dtype=T)
    if strategy == "best_of_n":
        return eye[best[:, 0]]
    if strategy == "best_worst":
        return 0.5 * (eye[best[:, 0]] + eye[worst[:, 0]])
    if strategy == "best_random":  # a uniform one of the n − 1 non-best samples
        pos = torch.randint(0, n - 1, (count, 1), generator=gen)
        others = ranks[:, :-1].gather(1, pos)
        return 0.5 * (eye[best[:, 0]] + eye[draws.gather(1, others)[:, 0]])
    if strategy == "best_any":  # twin: the random pick may be the best sample itself
        pos = torch.randint(0, n, (count, 1), generator=gen)
        return 0.5 * (eye[best[:, 0]] + eye[draws.gather(1, pos)[:, 0]])
    raise ValueError(strategy)


@pytest.mark.parametrize("strategy", ["best_random", "best_worst"])
def test_filter_law_matches_sampling_with_twin(strategy):
    pi = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=T)
    r = torch.tensor([0.2, 0.9, -0.3, 0.5], dtype=T)
    truth = filtered_law(pi, r, 3, strategy)
    twins = {"best_any": lambda m, g: _kept_onehots(pi, r, 3, "best_any", m, g)}
    if strategy == "best_worst":
        twins = {"best_random": lambda m, g: _kept_onehots(pi, r, 3, "best_random", m, g)}
    assert_unbiased(lambda m, g: _kept_onehots(pi, r, 3, strategy, m, g), truth, margin=0.01, twins=twins, seed=3)


def test_filter_bad_inputs():
    pi, r = torch.tensor([0.5, 0.5], dtype=T), torch.tensor([0.0, 1.0], dtype=T)
    with pytest.raises(ValueError, match="^n"):
        best_of_n_law(pi, r, 1)
    with pytest.raises(ValueError, match="^scores"):
        best_of_n_law(pi, torch.zeros(3, dtype=T), 2)
    with pytest.raises(ValueError, match="^pi"):
        worst_of_n_law(torch.tensor([0.7, 0.7], dtype=T), r, 2)
    with pytest.raises(ValueError, match="^strategy"):
        filtered_law(pi, r, 2, "top_k")


def test_l121_measures_exact_properties():
    from pgtheory.claims.library.l121_pf_ppo_filtration import noise_sd, pooled_r2, update_alignment

    g = torch.Generator().manual_seed(0)
    pi = torch.softmax(torch.randn(2, 5, generator=g, dtype=T), -1)
    s = torch.rand(2, 5, generator=g, dtype=T)
    assert pooled_r2(pi, 3 * s + 1, s) == pytest.approx(1.0, abs=1e-12)  # an affine RM is perfectly correlated
    assert update_alignment(pi, s, pi, s) == pytest.approx(1.0, abs=1e-12)  # no filter, exact RM: the true gradient
    assert update_alignment(pi, -s, pi, s) == pytest.approx(-1.0, abs=1e-12)
    u = torch.linspace(0, 1, 100001, dtype=T)
    for shape in ("reliable_high", "reliable_extremes", "homoscedastic"):  # all three have mean σ₀/2 under U(0, 1)
        assert float(noise_sd(u, 0.4, shape).mean()) == pytest.approx(0.2, abs=1e-5)
    with pytest.raises(ValueError, match="^shape"):
        noise_sd(u, 0.4, "flat")
    with pytest.raises(ValueError, match="^weights"):
        pooled_r2(torch.tensor([[1.0, 0.0]], dtype=T), torch.tensor([[1.0, 2.0]], dtype=T), torch.tensor([[0.0, 1.0]], dtype=T))


def test_l121_quote_rule_counts_only_gains_beyond_the_paired_control_and_its_twin_fails():
    import numpy as np

    from pgtheory.claims.library.l121_pf_ppo_filtration import _fractions, _quote_rule, instance_measures

    # pairing: with σ₀ = 0 the main RM and the homoscedastic control see the same scores, policy and noise draws
    a = instance_measures(torch.Generator().manual_seed(3), 4, 0.0, "reliable_high")
    b = instance_measures(torch.Generator().manual_seed(3), 4, 0.0, "homoscedastic")
    assert np.array_equal(a["r2"], b["r2"]) and np.array_equal(a["cos"], b["cos"])
    # columns: none, best_of_n, best_random, best_worst; best_worst gains +0.1 on every instance
    r2 = np.tile([0.5, 0.4, 0.45, 0.6], (10, 1))
    cos = np.tile([0.9, 0.1, 0.8, 0.7], (10, 1))
    main = {"r2": r2, "cos": cos}
    below = {"r2": r2 + np.array([0.0, 0.0, 0.0, 0.05]), "cos": cos}  # control gains +0.15 > +0.1
    above = {"r2": r2 - np.array([0.0, 0.0, 0.0, 0.05]), "cos": cos}  # control gains +0.05 < +0.1
    assert _quote_rule(_fractions(main, above)) == "confirmed"
    # twin: the same R² rise, but no larger than under constant noise (range enhancement) — never confirmed
    fr = _fractions(main, below)
    assert fr["best_worst"]["r2_up"] == 1.0 and fr["best_worst"]["r2_beyond_control"] == 0.0
    assert _quote_rule(fr) == "qualified"
    assert _quote_rule(_fractions(main, main)) == "qualified"  # an equal gain does not count
    assert _quote_rule(_fractions({"r2": np.tile([0.5, 0.4, 0.45, 0.45], (10, 1)), "cos": cos}, above)) == "refuted"


# ---- polychromic set objective (L223) ------------------------------------------------------------------------------

def test_set_table_and_objective_by_hand():
    rewards = torch.tensor([1.0, 0.0], dtype=T)
    sets, f = set_table(rewards, 2)
    assert sets.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert torch.allclose(f, torch.tensor([0.5, 0.5, 0.5, 0.0], dtype=T))  # mean reward × distinct/n
    assert float(polychromic_objective(torch.zeros(2, dtype=T), sets, f)) == pytest.approx(0.375, abs=1e-15)


def test_polychromic_gradient_is_the_set_score_function_gradient():
    g = torch.Generator().manual_seed(2)
    rewards = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=T)
    sets, f = set_table(rewards, 3)
    th = torch.randn(5, generator=g, dtype=T).requires_grad_(True)
    (auto,) = torch.autograd.grad(polychromic_objective(th, sets, f), th)
    pi = torch.softmax(th.detach(), -1)
    prob = pi[sets].prod(-1)
    score = (torch.eye(5, dtype=T)[sets] - pi).sum(1)  # Σ_i ∇log π(y_i) = Σ_i (e_{y_i} − π)
    assert torch.allclose(auto, (prob * f) @ score, atol=1e-13)


def test_perturbed_pass_at_k_and_entropy_by_hand():
    pi = torch.tensor([0.3, 0.2, 0.5], dtype=T)
    rewards = torch.tensor([1.0, 1.0, 0.0], dtype=T)
    assert perturbed_pass_at_k(pi, rewards, 1, 0.5) == pytest.approx(0.25, abs=1e-15)
    assert perturbed_pass_at_k(pi, rewards, 2, 0.5) == pytest.approx((0.51 + 0.36 + 0.75) / 4, abs=1e-15)
    assert perturbed_pass_at_k(pi, rewards, 3, 1.0) == pytest.approx(1 - 0.5 ** 3, abs=1e-15)
    w = torch.tensor([0.6, 0.4], dtype=T)
    assert correct_entropy(pi, rewards) == pytest.approx(float(-(w * w.log()).sum()) / math.log(2), abs=1e-14)
    assert correct_entropy(pi, torch.tensor([1.0, 0.0, 0.0], dtype=T)) == 0.0


def test_set_objective_bad_inputs():
    with pytest.raises(ValueError, match="^n"):
        set_table(torch.ones(3, dtype=T), 0)
    with pytest.raises(TypeError, match="^rewards"):
        set_table(torch.ones(2, 2, dtype=T), 2)
    with pytest.raises(ValueError, match="^k"):
        perturbed_pass_at_k(torch.tensor([0.5, 0.5], dtype=T), torch.tensor([1.0, 0.0], dtype=T), 0, 0.5)
    with pytest.raises(ValueError, match="^keep"):
        perturbed_pass_at_k(torch.tensor([0.5, 0.5], dtype=T), torch.tensor([1.0, 0.0], dtype=T), 2, 0.0)


def test_training_stops_exactly_at_matched_pass1_and_pg_concentrates():
    from pgtheory.claims.library.l223_polychromic_set_objective import train_to_pass1

    rewards = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=T)
    th0 = torch.tensor([0.5, 0.0, 0.3, 0.3], dtype=T)
    sets, f = set_table(rewards, 2)
    th_pg, _, ok_pg = train_to_pass1(th0, rewards, lambda t: (torch.softmax(t, -1) * rewards).sum(), 0.8)
    th_poly, _, ok_poly = train_to_pass1(th0, rewards, lambda t: polychromic_objective(t, sets, f), 0.8)
    for th, ok in ((th_pg, ok_pg), (th_poly, ok_poly)):
        assert ok and float((torch.softmax(th, -1) * rewards).sum()) == pytest.approx(0.8, abs=1e-10)
    e0 = correct_entropy(torch.softmax(th0, -1), rewards)
    assert correct_entropy(torch.softmax(th_pg, -1), rewards) < e0  # PG: the more probable correct answer grows faster
    assert correct_entropy(torch.softmax(th_poly, -1), rewards) > correct_entropy(torch.softmax(th_pg, -1), rewards)
    with pytest.raises(ValueError, match="^target"):
        train_to_pass1(th0, rewards, lambda t: t.sum(), 0.3)


def test_l223_interval_uses_the_claims_alpha_and_substantial_threshold_has_teeth():
    import numpy as np
    from scipy.stats import t

    from pgtheory.claims.library import l223_polychromic_set_objective as mod

    gain = np.array([0.03, 0.05, 0.04, 0.06])  # mean 0.045, sd √(5e-4/3)
    half = t.ppf(0.975, 3) * math.sqrt(5e-4 / 3) / 2
    lo, hi = mod.gain_interval(gain, 0.95)
    assert lo == pytest.approx(0.045 - half, abs=1e-14) and hi == pytest.approx(0.045 + half, abs=1e-14)
    assert mod.n_intervals() == 9  # main + 2 non-primary values in each of the four instance sweeps
    ones = np.ones_like(gain)
    m = {"poly_coverage": 0.5 + gain, "pg_coverage": 0.5 * ones, "poly_matched": ones, "pg_matched": ones}
    # the same data: confirmed at a 95% interval, not at the claim's 1 − α/D (a wider interval) — α matters
    assert mod._decide(m, 0.95, substantial=0.02)[0] == "confirmed"
    assert mod._decide(m, 1 - 1e-3 / mod.n_intervals(), substantial=0.02)[0] == "qualified"
    # twin of the threshold: a gain below SUBSTANTIAL cannot confirm however tight the interval
    tight = dict(m, poly_coverage=0.5 + 0.02 + 1e-4 * gain)
    assert mod._decide(tight, 0.95)[0] == "qualified" and mod._decide(tight, 0.95, substantial=0.01)[0] == "confirmed"
    with pytest.raises(ValueError, match="^level"):
        mod.gain_interval(gain, 1.0)
    with pytest.raises(ValueError, match="^gain"):
        mod.gain_interval(gain[:1], 0.9)
    assert min(mod.SUBSTANTIAL_SWEEP) < mod.SUBSTANTIAL < max(mod.SUBSTANTIAL_SWEEP)


# ---- constrained RLHF (L77) ----------------------------------------------------------------------------------------

def test_tilt_by_hand():
    log_ref = torch.log(torch.tensor([0.5, 0.5], dtype=T))
    pi = tilt(log_ref, torch.tensor([1.0], dtype=T), torch.tensor([[0.0, 1.0]], dtype=T))
    assert torch.allclose(pi, torch.tensor([1.0, math.e], dtype=T) / (1 + math.e), atol=1e-15)


def test_constrained_solution_by_hand_and_kkt():
    log_ref = torch.log(torch.tensor([0.5, 0.5], dtype=T))
    R = torch.tensor([[0.0, 1.0]], dtype=T)
    beta = 0.1
    sol = constrained_kl_rlhf(log_ref, R, beta, torch.tensor([0.3], dtype=T))  # binding: E R = 0.3
    w = math.log(3 / 7)  # σ(w) = 0.3
    assert float(sol.expected[0]) == pytest.approx(0.3, abs=1e-8)
    assert float(sol.multipliers[0]) == pytest.approx(1 - beta * w, abs=1e-6)
    assert sol.kkt_residual < 1e-8
    loose = constrained_kl_rlhf(log_ref, R, beta, torch.tensor([2.0], dtype=T))  # slack: the unconstrained tilt
    assert float(loose.multipliers[0]) == pytest.approx(0.0, abs=1e-12)
    assert torch.allclose(loose.policy, tilt(log_ref, torch.tensor([1 / beta], dtype=T), R), atol=1e-10)


def test_constrained_optimum_beats_feasible_perturbations_and_twin_fails_kkt():
    g = torch.Generator().manual_seed(4)
    log_ref = torch.log_softmax(torch.randn(10, generator=g, dtype=T), -1)
    R = torch.randn(2, 10, generator=g, dtype=T)
    beta, theta = 0.2, torch.tensor([0.2, 0.1], dtype=T)
    sol = constrained_kl_rlhf(log_ref, R, beta, theta)
    assert sol.kkt_residual < 1e-8

    def objective(pi):
        return float((R @ pi).sum() - beta * (pi * (pi.log() - log_ref)).sum())

    best = objective(sol.policy)
    for _ in range(200):  # random feasible tilts never do better
        cand = tilt(log_ref, torch.randn(2, generator=g, dtype=T) * 3, R)
        if bool(((R @ cand) <= theta).all()):
            assert objective(cand) <= best + 1e-10
    # twin: multipliers off by 1e-3 give a policy that violates a constraint or complementary slackness
    wrong = tilt(log_ref, (1 - (sol.multipliers + 1e-3 * torch.tensor([1.0, -1.0], dtype=T)).clamp(min=0)) / beta, R)
    slack = R @ wrong - theta
    assert float(torch.maximum(slack.clamp(min=0), (sol.multipliers * slack).abs()).max()) > 1e-6


def test_constrained_at_composite_proxy_points_equals_early_stop():
    from pgtheory.claims.library.l77_constrained_rlhf import instance

    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        m = instance(g, 0.5, 10.0, 1.0)
        if m["overopt"]:
            assert m["kkt"] < 1e-6 and abs(m["U_con"] - m["U_early"]) < 1e-6 and m["U_con"] > m["U_uncon"]
            # twin: thresholds at the path end never bind, the constrained optimum is the unconstrained one
            assert abs(m["U_con_end"] - m["U_uncon"]) < 1e-6


def test_l77_code_checks_pass_on_a_measure_and_fail_on_their_twins():
    import numpy as np

    from pgtheory.claims.library.l77_constrained_rlhf import _code_checks, _decide, _measure, _rule

    m = _measure(5, 6, 0.5, 10.0, 1.0)
    counted = m["overopt"] > 0
    assert counted.any() and _code_checks(m) == []
    assert not _rule(m, "U_con_end")[counted].any()  # the end-of-path twin fails the rule on every instance
    verdict, holds, _ = _decide(m)
    assert np.array_equal(holds, _rule(m, "U_con_single"))  # judged on the single-RM thresholds, not on U_con
    broken = dict(m, U_con_end=m["U_uncon"] + 1e-3)  # a twin that "holds" would mean the rule could not fail
    assert any("end-of-path twin" in c for c in _code_checks(broken))
    broken = dict(m, U_con=m["U_early"] - 1e-3 * counted)  # composite proxy points off the early stop
    assert any("early stop" in c for c in _code_checks(broken))
    broken = dict(m, kkt=m["kkt"] + 1e-3)
    assert any("KKT" in c for c in _code_checks(broken))


def test_constrained_bad_inputs():
    log_ref = torch.log(torch.tensor([0.5, 0.5], dtype=T))
    R = torch.tensor([[0.0, 1.0]], dtype=T)
    with pytest.raises(ValueError, match="^beta"):
        constrained_kl_rlhf(log_ref, R, 0.0, torch.tensor([0.3], dtype=T))
    with pytest.raises(ValueError, match="^thresholds"):
        constrained_kl_rlhf(log_ref, R, 0.1, torch.tensor([0.3, 0.2], dtype=T))
    with pytest.raises(ValueError, match="^rewards"):
        tilt(log_ref, torch.tensor([1.0], dtype=T), torch.zeros(1, 3, dtype=T))
    with pytest.raises(TypeError, match="^log_ref"):
        tilt(torch.zeros(2, 2, dtype=T), torch.tensor([1.0], dtype=T), R)


# ---- quick runs -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cid", ["L121-pf-ppo-filtration-snr", "L77-constrained-rlhf-proxy-points",
                                 pytest.param("L223-polychromic-coverage", marks=pytest.mark.slow)])  # ~20 s loaded
def test_quick_run_returns_complete_record(cid, tmp_path):
    import pgtheory.claims.library.l121_pf_ppo_filtration  # noqa: F401  (registers the claims)
    import pgtheory.claims.library.l223_polychromic_set_objective  # noqa: F401
    import pgtheory.claims.library.l77_constrained_rlhf  # noqa: F401
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    rec = check([cid], scale="quick", results=str(tmp_path))[0]
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "refuted", "qualified", "inconclusive")
    assert rec["instances"]["count"] >= 4 and rec["sensitivity"]
    assert not rec["code_checks"]
