"""Generative-model counts, LS-MDVI / VWLS-MDVI on linear MDPs, and the L67 claim's quick run."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pgtheory.exact.optimal_design import g_optimal_design
from pgtheory.exact.regularized import soft_value_iteration
from pgtheory.exact.solvers import value_iteration
from pgtheory.optim.linear_mdvi import (design_allocation, estimate_next_value_variance, least_squares_smoother,
                                        ls_mdvi, mdvi_exact, mdvi_policy, mdvi_state_value, vwls_mdvi,
                                        weighted_least_squares)
from pgtheory.problems import garnet
from pgtheory.problems.linear_mdp import one_hot_linear_mdp, random_linear_mdp
from pgtheory.sampling.generative import (conditional_binomial_probabilities, empirical_next_means,
                                          sample_next_state_counts)
from pgtheory.stats import bias_test, twin_rejects

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tabular_mdvi(mdp, alpha, beta, K):
    """Tabular MDVI written out from its definition (β = ∞: max / greedy): the reference for the linear versions."""
    S, A = mdp.n_states, mdp.n_actions
    s = torch.zeros(S, A, dtype=torch.float64)
    w_prev = torch.zeros(S, dtype=torch.float64)
    w = torch.zeros(S, dtype=torch.float64)
    vs = []
    for _ in range(K):
        q = mdp.rewards + mdp.discount * mdp.transitions @ (w - alpha * w_prev)
        s = q + alpha * s
        w_prev, w = w, (s.amax(-1) if beta == math.inf else torch.logsumexp(beta * s, -1) / beta)
        vs.append(w - alpha * w_prev)
    return torch.stack(vs), s


# ---------------------------------------------------------------- generative counts


def test_conditional_probabilities_by_hand():
    c = conditional_binomial_probabilities(torch.tensor([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(c, torch.tensor([[0.2, 0.375, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64))


def test_counts_sum_to_n_and_respect_zeros():
    mdp = garnet(6, 2, 3, seed=1)
    g = torch.Generator().manual_seed(0)
    n = torch.tensor([[0, 5, 17, 1000]] * 3)
    c = sample_next_state_counts(mdp, torch.tensor([0, 3, 7, 11]), n, g)
    assert c.shape == (3, 4, 6)
    assert torch.equal(c.sum(-1), n.double())
    support = mdp.transitions.reshape(12, 6)[torch.tensor([0, 3, 7, 11])] > 0
    assert bool((c[:, ~support] == 0).all() if (~support).any() else True)


def test_counts_have_the_multinomial_law_with_a_twin():
    P = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64)
    n, R = 50, 20_000
    g = torch.Generator().manual_seed(3)
    c = sample_next_state_counts(P, torch.tensor([0]), n, g, runs=R)[:, 0]  # [R, 4]
    mean = n * P[0]
    assert bias_test(c, mean).pvalue > 1e-6
    # second moments: the multinomial covariance n(diag P − PPᵀ), entrywise, via products of centred counts
    centred = c - mean
    prods = (centred[:, :, None] * centred[:, None, :]).reshape(R, -1)
    cov = n * (torch.diag(P[0]) - P[0][:, None] * P[0][None, :])
    assert bias_test(prods, cov.reshape(-1)).pvalue > 1e-6
    # twin: a 5% relative shift of the law's mean is rejected (and the test has the power to)
    wrong = n * torch.tensor([0.105, 0.2, 0.3, 0.395], dtype=torch.float64)
    assert twin_rejects(c, mean, wrong) is True
    # twin of the covariance: the independent-Poisson covariance n·diag P is rejected
    assert twin_rejects(prods, cov.reshape(-1), (n * torch.diag(P[0])).reshape(-1)) is True


def test_empirical_next_means_by_hand():
    counts = torch.tensor([[[1.0, 3.0], [0.0, 0.0]]])
    m = empirical_next_means(counts, torch.tensor([2.0, 4.0]), torch.tensor([[4, 0]]))
    assert torch.allclose(m, torch.tensor([[3.5, 0.0]], dtype=torch.float64))


def test_sampler_bad_inputs():
    P = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="^pairs"):
        sample_next_state_counts(P, torch.tensor([1]), 3, g)
    with pytest.raises(ValueError, match="^samples_per_pair"):
        sample_next_state_counts(P, torch.tensor([0]), -1, g)
    with pytest.raises(TypeError, match="^samples_per_pair"):
        sample_next_state_counts(P, torch.tensor([0]), 2.5, g)
    with pytest.raises(TypeError, match="^generator"):
        sample_next_state_counts(P, torch.tensor([0]), 3, 0)
    with pytest.raises(ValueError, match="^transitions"):
        sample_next_state_counts(torch.tensor([[0.5, 0.6]], dtype=torch.float64), torch.tensor([0]), 3, g)


# ---------------------------------------------------------------- least squares pieces


def test_design_allocation_and_wls_by_hand():
    assert design_allocation(torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=torch.float64), 10).tolist() == [5, 3, 3, 0]
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
    w = torch.tensor([[1.0, 1.0, 2.0]], dtype=torch.float64)
    # normal equations [[3, 2], [2, 3]] θ = [9, 10] → θ = (7/5, 12/5)
    assert torch.allclose(weighted_least_squares(X, y, w), torch.tensor([[1.4, 2.4]], dtype=torch.float64))
    M = least_squares_smoother(X, w)
    assert torch.allclose(M @ y.unsqueeze(-1), (X @ torch.tensor([1.4, 2.4], dtype=torch.float64)).reshape(1, 3, 1))
    with pytest.raises(ValueError, match="^weights"):
        weighted_least_squares(X, y, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))


def test_state_value_and_policy_limits():
    s = torch.tensor([[1.0, 3.0, 2.0]], dtype=torch.float64)
    assert torch.allclose(mdvi_state_value(s, math.inf), torch.tensor([3.0], dtype=torch.float64))
    assert abs(float(mdvi_state_value(s, 1e4)) - 3.0) < 1e-3
    assert torch.equal(mdvi_policy(s, math.inf), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(mdvi_policy(s, 1.0), torch.softmax(s, -1))


# ---------------------------------------------------------------- exact-expectation MDVI


@pytest.mark.parametrize("alpha,beta", [(0.9, math.inf), (0.5, 3.0), (0.0, math.inf)])
def test_exact_one_hot_equals_tabular_mdvi(alpha, beta):
    mdp = garnet(5, 3, 3, discount=0.9, seed=4)
    lin = one_hot_linear_mdp(mdp)
    ex = mdvi_exact(lin, alpha=alpha, beta=beta, iterations=60)
    ref_v, ref_s = _tabular_mdvi(mdp, alpha, beta, 60)
    assert torch.allclose(ex.values, ref_v, atol=1e-10, rtol=0)
    assert torch.allclose(ex.s, ref_s, atol=1e-10, rtol=0)


def test_exact_low_rank_equals_tabular_mdvi_for_any_weights():
    lin = random_linear_mdp(8, 3, 4, seed=2, discount=0.9, concentration=0.5)
    ref_v, _ = _tabular_mdvi(lin.tabular(), 0.9, math.inf, 80)
    var = torch.rand(8, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.1
    for variance in (None, var):
        ex = mdvi_exact(lin, alpha=0.9, beta=math.inf, iterations=80, variance=variance)
        assert torch.allclose(ex.values, ref_v, atol=1e-9, rtol=0)


def test_lsvi_is_value_iteration():
    lin = random_linear_mdp(6, 2, 3, seed=5, discount=0.8)
    mdp = lin.tabular()
    ex = mdvi_exact(lin, alpha=0.0, beta=math.inf, iterations=30)
    v = torch.zeros(6, dtype=torch.float64)
    for k in range(30):
        v = (mdp.rewards + mdp.discount * mdp.transitions @ v).amax(-1)
        assert torch.allclose(ex.values[k], v, atol=1e-10, rtol=0)


def test_exact_mdvi_converges_to_the_regularised_optimum():
    lin = random_linear_mdp(7, 3, 4, seed=6, discount=0.9)
    mdp = lin.tabular()
    alpha, beta = 0.6, 5.0
    ex = mdvi_exact(lin, alpha=alpha, beta=beta, iterations=600)
    soft = soft_value_iteration(mdp, (1 - alpha) / beta)
    assert float((ex.values[-1] - soft.v).abs().max()) < 1e-10
    assert float((ex.policy - soft.policy).abs().max()) < 1e-10
    # β = ∞: the unregularised optimum, and the greedy policy is optimal
    ex = mdvi_exact(lin, alpha=0.9, beta=math.inf, iterations=600)
    vi = value_iteration(mdp)
    assert float((ex.values[-1] - vi.v).abs().max()) < 1e-10
    assert float((ex.s * (1 - 0.9) - vi.q).abs().max()) < 1e-10


# ---------------------------------------------------------------- sampled versions


def test_vwls_with_constant_variance_is_ls():
    lin = random_linear_mdp(8, 2, 4, seed=7, discount=0.9, concentration=0.3)
    rho = g_optimal_design(lin.features.reshape(16, 4)).weights
    a = ls_mdvi(lin, rho, 32, torch.Generator().manual_seed(9), alpha=0.9, beta=math.inf, iterations=40, runs=5)
    b = ls_mdvi(lin, rho, 32, torch.Generator().manual_seed(9), alpha=0.9, beta=math.inf, iterations=40, runs=5,
                variance=torch.full((8, 2), 7.5, dtype=torch.float64))
    assert torch.allclose(a.values, b.values, atol=1e-10, rtol=0)
    assert torch.equal(a.samples, b.samples)
    # twin: on a design with more than d support points a non-constant variance changes the estimates (on a
    # d-point design, such as this G-optimal one, least squares interpolates and no weighting matters)
    assert int((rho > 0).sum()) == 4
    uniform = torch.full((16,), 1 / 16, dtype=torch.float64)
    var = torch.linspace(1.0, 50.0, 16, dtype=torch.float64).reshape(8, 2)
    runs = [ls_mdvi(lin, uniform, 32, torch.Generator().manual_seed(9), alpha=0.9, beta=math.inf, iterations=40, runs=5,
                    variance=v) for v in (None, torch.full((8, 2), 7.5, dtype=torch.float64), var)]
    assert torch.allclose(runs[0].values, runs[1].values, atol=1e-10, rtol=0)
    assert float((runs[0].values - runs[2].values).abs().max()) > 1e-3


def test_sampled_ls_mdvi_is_consistent_and_counts_samples():
    lin = random_linear_mdp(6, 2, 3, seed=8, discount=0.8, concentration=0.5)
    rho = g_optimal_design(lin.features.reshape(12, 3)).weights
    N = 200_000
    res = ls_mdvi(lin, rho, N, torch.Generator().manual_seed(1), alpha=0.8, beta=math.inf, iterations=60, runs=4)
    ex = mdvi_exact(lin, alpha=0.8, beta=math.inf, iterations=60, design=rho)
    err = float((res.values[:, -1] - ex.values[-1]).abs().max())
    assert err < 0.02  # statistical error ≈ H·sqrt(Var/(N·H)) ≈ 3e-3 here
    assert torch.equal(res.samples, torch.full((4,), 60 * int(design_allocation(rho, N).sum())))
    # twin: a budget 10⁴ times smaller is visibly noisier
    small = ls_mdvi(lin, rho, 20, torch.Generator().manual_seed(1), alpha=0.8, beta=math.inf, iterations=60, runs=4)
    assert float((small.values[:, -1] - ex.values[-1]).abs().max()) > 5 * err


def test_variance_estimate_is_consistent_with_a_twin():
    lin = random_linear_mdp(6, 2, 3, seed=10, discount=0.9)
    v = torch.linspace(0.0, 5.0, 6, dtype=torch.float64)
    P = lin.transitions
    truth = P @ (v * v) - (P @ v) ** 2
    rho = g_optimal_design(lin.features.reshape(12, 3)).weights
    var, n = estimate_next_value_variance(lin, v.expand(3, -1), rho, 500_000, torch.Generator().manual_seed(2))
    assert float((var - truth).abs().max()) < 0.02
    assert torch.equal(n, torch.full((3,), int(design_allocation(rho, 500_000).sum())))
    # twin: the uncentred second moment P v² is far from the estimate
    assert float((var - P @ (v * v)).abs().min()) > 0.5


def test_vwls_on_one_hot_features_uses_the_uniform_design():
    lin = one_hot_linear_mdp(garnet(3, 2, 2, discount=0.8, seed=3))
    rho = torch.full((6,), 1 / 6, dtype=torch.float64)
    out = vwls_mdvi(lin, rho, 60, torch.Generator().manual_seed(0), alpha=0.8, beta=math.inf, iterations=20, runs=3,
                    phase1_budget=12, variance_budget=60)
    assert float((out.design - 1 / 6).abs().max()) < 1e-2 / 6
    assert bool((out.sigma2 >= 1 / (1 - 0.8) - 1e-12).all())  # the floor H
    per_phase = 20 * 12 + 60 + 20 * int(design_allocation(out.design, 60).sum(-1).max())
    assert int(out.result.samples.max()) <= per_phase


def test_linear_mdvi_bad_inputs():
    lin = random_linear_mdp(4, 2, 2, seed=0)
    rho = torch.full((8,), 1 / 8, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="^alpha"):
        mdvi_exact(lin, alpha=1.5, beta=math.inf, iterations=3)
    with pytest.raises(ValueError, match="^beta"):
        mdvi_exact(lin, alpha=0.5, beta=0.0, iterations=3)
    with pytest.raises(ValueError, match="^iterations"):
        mdvi_exact(lin, alpha=0.5, beta=1.0, iterations=0)
    with pytest.raises(TypeError, match="^lin"):
        mdvi_exact(lin.tabular(), alpha=0.5, beta=1.0, iterations=3)
    with pytest.raises(ValueError, match="^design"):
        ls_mdvi(lin, torch.full((7,), 1 / 7, dtype=torch.float64), 4, g, alpha=0.5, beta=1.0, iterations=2, runs=2)
    with pytest.raises(ValueError, match="^design"):
        ls_mdvi(lin, torch.full((8,), 0.2, dtype=torch.float64), 4, g, alpha=0.5, beta=1.0, iterations=2, runs=2)
    with pytest.raises(ValueError, match="^variance"):
        ls_mdvi(lin, rho, 4, g, alpha=0.5, beta=1.0, iterations=2, runs=2, variance=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="^budget"):
        ls_mdvi(lin, rho, 0, g, alpha=0.5, beta=1.0, iterations=2, runs=2)
    with pytest.raises(TypeError, match="^generator"):
        ls_mdvi(lin, rho, 4, 1, alpha=0.5, beta=1.0, iterations=2, runs=2)
    with pytest.raises(ValueError, match="^values"):
        estimate_next_value_variance(lin, torch.zeros(3), rho, 4, g)


# ---------------------------------------------------------------- the claim


def _beta_binomial_sf(m, n, a, b):
    """P(X ≥ m) for X ~ BetaBinomial(n, a, b), written out from its pmf C(n,k) B(k+a, n−k+b)/B(a, b)."""
    lbeta = lambda x, y: math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)  # noqa: E731
    return sum(math.comb(n, k) * math.exp(lbeta(k + a, n - k + b) - lbeta(a, b)) for k in range(m, n + 1))


def test_l67_n_delta_law_by_hand():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    # R = 4 runs, δ = 0.25: a level succeeds when ≥ 3 runs have error ≤ ε; level 1 was not evaluated
    err = [[0.0, 0.0, 1.0, 1.0], None, [0.0, 0.0, 0.0, 0.0]]
    values, probs, p_inf = mod.n_delta_law(err, [10, 20, 40], 0.5, 0.25)
    q0, q2 = _beta_binomial_sf(3, 4, 2.5, 2.5), _beta_binomial_sf(3, 4, 4.5, 0.5)
    assert values.tolist() == [10.0, 40.0]
    assert np.allclose(probs, [q0, (1 - q0) * q2], atol=1e-12, rtol=0)
    assert abs(p_inf - (1 - q0) * (1 - q2)) < 1e-12 and abs(probs.sum() + p_inf - 1) < 1e-12
    assert mod._success_count_needed(4, 0.25) == 3 and mod._success_count_needed(16, 0.1) == 15
    with pytest.raises(ValueError, match="^err"):
        mod.n_delta_law([[0.0, math.nan]], [10], 0.5, 0.25)


def test_l67_log_sum_law_and_interval_by_hand():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    a = (np.array([4.0]), np.array([1.0]), 0.0)
    b = (np.array([2.0, 8.0]), np.array([0.5, 0.5]), 0.0)
    grid, mass, p_inf = mod.log_sum_law([(1.0, a), (-1.0, b)])  # log 4 − log N_b ∈ {log 2, −log 2}, ½ each
    support = grid[mass > 0]
    assert np.allclose(support, [-math.log(2), math.log(2)], atol=mod.LAW_GRID) and np.allclose(mass[mass > 0], 0.5)
    assert p_inf == 0.0
    lo, hi = mod.law_interval((grid, mass, p_inf), 0.9)
    assert abs(lo + math.log(2)) <= mod.LAW_GRID and abs(hi - math.log(2)) <= mod.LAW_GRID
    # an undefined resample (some N infinite, here with probability 0.2 > α/2) makes both ends infinite
    c = (np.array([2.0]), np.array([0.8]), 0.2)
    law = mod.log_sum_law([(1.0, a), (-1.0, c)])
    assert abs(law[2] - 0.2) < 1e-12 and mod.law_interval(law, 0.9) == (-math.inf, math.inf)
    assert mod.law_interval(law, 0.5)[1] < math.inf  # α/2 = 0.25 > 0.2: the upper end is finite again
    with pytest.raises(ValueError, match="^level"):
        mod.law_interval(law, 1.0)


def _l67_meas(first_success, family="linear", spread=3.0, R=200, vw_cost=1.1):
    """Hand-made stored errors: per method and γ, budget level j (draws 100·2^j, VWLS ×vw_cost) fails in all R runs
    below ``first_success[m][γ]`` and succeeds in all R runs from there on (four levels evaluated)."""
    gammas = [0.8, 0.9]
    err = {m: [[[1.0] * R if j < lv else [0.0] * R for j in range(4)] for lv in first_success[m]] for m in ("LS", "VW")}
    draws = {"LS": [[100.0 * 2 ** j for j in range(4)]] * 2, "VW": [[vw_cost * 100.0 * 2 ** j for j in range(4)]] * 2}
    return {"gammas": gammas, "instances": [{
        "name": "x", "family": family, "budgets": [100 * 2 ** j for j in range(4)], "err": err, "samples": draws,
        "weight_spread": [[None, 1.0, None, None], [None, spread, None, None]]}]}


def test_l67_rules_hold_fail_and_the_null_control():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    H = 1 / (1 - np.array([0.8, 0.9]))
    # (A) and (B) hold: at the larger H VWLS succeeds two levels (×4 budget) before LS, at the smaller H on the same level
    d = mod.decide(_l67_meas({"LS": [0, 3], "VW": [0, 1]}), alpha=1e-3)
    row = d["rows"][0]
    assert row["n_delta_LS"] == [100.0, 800.0] and np.allclose(row["n_delta_VW"], [110.0, 220.0])
    assert abs(row["log_ratio"] - math.log(220 / 800)) < 1e-12
    assert abs(row["exponent_gain"] - math.log(4) / math.log(H[1] / H[0])) < 1e-12
    assert abs(row["log_ratio_ci"][1] - math.log(220 / 800)) < 1e-3  # R = 200 all-or-nothing levels: a tight law
    assert row["rule_A"] is True and row["rule_B"] is True and row["holds"] and d["verdict"] == "confirmed"
    assert d["level"] == 1 - 1e-3 / 2
    # twin: the methods swapped — VWLS costlier at the largest H and growing faster — both rules fail
    d = mod.decide(_l67_meas({"LS": [0, 1], "VW": [0, 3]}), alpha=1e-3)
    assert d["rows"][0]["rule_A"] is False and d["rows"][0]["rule_B"] is False and d["verdict"] == "refuted"
    # few runs with mixed outcomes: the intervals straddle, the instance is undecided, the verdict inconclusive
    meas = _l67_meas({"LS": [0, 3], "VW": [0, 1]}, R=10)
    for m in ("LS", "VW"):
        for per_gamma in meas["instances"][0]["err"][m]:
            for e in per_gamma:
                e[:2] = [0.0, 0.0] if e[0] == 1.0 else [1.0, 0.0]  # 2/10 and 9/10 successes
    d = mod.decide(meas, alpha=1e-3)
    assert d["rows"][0]["n_delta_LS"] == [100.0, 800.0]  # the same point estimates as in the first case
    assert d["rows"][0]["undecided"] == "interval straddles" and d["verdict"] == "inconclusive"
    # near-uniform weights: out of the denominator, so nothing is decided
    d = mod.decide(_l67_meas({"LS": [0, 3], "VW": [0, 1]}, spread=1.02), alpha=1e-3)
    assert d["rows"][0]["undecided"] == "weighting inactive" and d["verdict"] == "inconclusive" and d["active"] == 0
    # the one-hot null control: the same errors for both methods (one algorithm) — its interval covers 0, and a
    # control never enters the verdict even where the rules would hold
    same = mod.decide(_l67_meas({"LS": [1, 2], "VW": [1, 2]}, family="tabular"), alpha=1e-3)
    row = same["rows"][0]
    assert row["undecided"] == "control" and row["null_covered"] and same["verdict"] == "inconclusive"
    assert row["log_ratio_budget_ci"][0] <= 0 <= row["log_ratio_budget_ci"][1]
    # twin of the control: a "VWLS" that succeeds two budget levels earlier is caught (the interval excludes 0)
    assert mod.decide(_l67_meas({"LS": [1, 3], "VW": [1, 1]}, family="tabular"), alpha=1e-3)["rows"][0]["null_covered"] is False


def test_l67_alpha_is_split_over_the_decision_sets():
    # revision 2026-12-01: the sweep points' intervals count (the smoothing point at ½ is the main decision itself)
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    assert mod.decision_sets(False) == 2 and mod.decision_sets(True) == 6
    with pytest.raises(TypeError):
        mod.decide(_l67_meas({"LS": [0, 3], "VW": [0, 1]}))  # no default level
    assert mod.decide(_l67_meas({"LS": [0, 3], "VW": [0, 1]}), alpha=4e-4)["level"] == 1 - 4e-4 / 2


def test_l67_smoothing_is_the_prior_of_the_law_and_widens_the_interval():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    # the same hand computation as above with the uniform prior Beta(1, 1): BetaBinomial(R, s + 1, R − s + 1)
    err = [[0.0, 0.0, 1.0, 1.0], None, [0.0, 0.0, 0.0, 0.0]]
    values, probs, p_inf = mod.n_delta_law(err, [10, 20, 40], 0.5, 0.25, smoothing=1.0)
    q0, q2 = _beta_binomial_sf(3, 4, 3.0, 3.0), _beta_binomial_sf(3, 4, 5.0, 1.0)
    assert np.allclose(probs, [q0, (1 - q0) * q2], atol=1e-12, rtol=0) and abs(p_inf - (1 - q0) * (1 - q2)) < 1e-12
    assert mod.SMOOTHING in mod.SMOOTHING_RANGE
    # a flatter prior puts more mass on failing at all-success levels: the identical-method interval is no narrower
    meas = _l67_curve_meas(1.0)
    narrow = mod.decide(meas, alpha=_FULL_ALPHA)["rows"][0]["log_ratio_ci"]
    wide = mod.decide(meas, alpha=_FULL_ALPHA, smoothing=1.0)["rows"][0]["log_ratio_ci"]
    assert wide[0] <= narrow[0] < 0 < narrow[1] <= wide[1] and (wide[0], wide[1]) != (narrow[0], narrow[1])
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="^smoothing"):
            mod.n_delta_law(err, [10, 20, 40], 0.5, 0.25, smoothing=bad)


_STEEP = (0.0, 0.1, 0.75, 0.975, 1.0)  # success fraction per level from the curve's start (then 1)
_FULL_ALPHA = 0.05 / 47 / 7  # with one low-rank instance: level 1 − 0.05/47/(2·7) ≈ 1 − 7.6e-5, the full scale's level
# before 2026-12-01, at which the docstring's power table was computed (the full level is now 1 − 4.7e-6)


def _l67_curve_meas(vw_factor: float, R: int = 40, levels: int = 14, start: int = 4):
    """Both methods with the same steep per-level success curve (from ``start``), every level evaluated; VWLS's draws
    per run are ``vw_factor`` × LS's, so the true D = log vw_factor at every γ (and G = 0)."""
    def level(j):
        f = 0.0 if j < start else (_STEEP[j - start] if j - start < len(_STEEP) else 1.0)
        k = int(round(f * R))
        return [0.0] * k + [1.0] * (R - k)
    err = [[level(j) for j in range(levels)]] * 2
    draws = [100.0 * 2 ** (j / 2) for j in range(levels)]
    return {"gammas": [0.8, 0.9], "instances": [{
        "name": "x", "family": "linear", "budgets": [int(x) for x in draws], "err": {"LS": err, "VW": err},
        "samples": {"LS": [draws] * 2, "VW": [[vw_factor * x for x in draws]] * 2},
        "weight_spread": [[None] * levels, [3.0] * levels]}]}


def test_l67_planted_cost_twins_through_decide_at_the_full_level():
    # the power statement of the docstring, checked: at R = 40, level 1 − 7.6e-5 and a dense window, (A) holds when
    # VWLS is truly ×½ as costly (two levels), cannot hold at parity, and fails when it is ×4 as costly (four levels)
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    half, same, four = (mod.decide(_l67_curve_meas(f), alpha=_FULL_ALPHA)["rows"][0] for f in (0.5, 1.0, 4.0))
    assert abs(half["log_ratio"] + math.log(2)) < 1e-12 and half["rule_A"] is True
    assert same["rule_A"] is None and same["log_ratio_ci"][0] < 0 < same["log_ratio_ci"][1]
    assert four["rule_A"] is False
    # G = 0 truly: (B) never holds
    assert all(r["rule_B"] is not True for r in (half, same, four))


def test_l67_budget_search_evaluates_a_contiguous_window():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    R, n_levels, first = 10, 30, 17  # level j succeeds in all runs from ``first`` on
    calls = []

    def run_budget(j):
        calls.append(j)
        return ([0.0] * R if j >= first else [1.0] * R), [0.0] * R, 100.0 * 2 ** (j / 2)

    main, loose = (mod.EPSILON, mod.DELTA), (max(mod.EPSILON_RANGE), max(mod.DELTA_RANGE))
    err, _, num, top = mod._evaluate_budgets(run_budget, n_levels, 3, [loose, main], main=main)
    done = [j for j in range(n_levels) if err[j] is not None]
    below, above = mod.WINDOW_MAIN
    assert set(range(first - below, first + above + 1)) <= set(done)  # contiguous around the first success
    assert len(calls) == len(set(calls)) == len(done)  # each level run once
    assert top < first + above and mod._n_delta(err, num, *main) == num[first]  # the window does not move N_δ
    # twin: without a main criterion every criterion gets the sweep's narrower window, so j* + 3 stays unevaluated
    calls.clear()
    err2, *_ = mod._evaluate_budgets(run_budget, n_levels, 3, [loose, main])
    assert err2[first + mod.WINDOW_SWEEP[1]] is not None and err2[first + above] is None


def test_l67_weighting_effect_same_draws_on_one_hot_and_its_twin():
    import pgtheory.claims.library.l67_vwls_mdvi as mod
    from pgtheory.optim.linear_mdvi import ls_mdvi

    gamma, K, N = 0.8, 20, 24
    lin = one_hot_linear_mdp(garnet(3, 2, 2, discount=gamma, seed=3))
    design = g_optimal_design(lin.features.reshape(6, -1)).weights
    eff = mod.weighting_effect(lin, design, N, gamma, K, seed=11, runs=3)
    assert eff["max_abs_diff"] <= mod.WEIGHTS_EFFECT_TOL and eff["d"] == 6 and eff["support"] == [6, 6, 6]
    # twin: the same comparison without holding the draws fixed differs by the sampling noise (the check has teeth)
    sigma2 = torch.full((3, 3, 2), 7.0, dtype=torch.float64)
    a = ls_mdvi(lin, design, N, torch.Generator().manual_seed(1), alpha=gamma, beta=math.inf, iterations=K, runs=3,
                variance=sigma2)
    b = ls_mdvi(lin, design, N, torch.Generator().manual_seed(2), alpha=gamma, beta=math.inf, iterations=K, runs=3)
    assert float((a.values[:, -1] - b.values[:, -1]).abs().max()) > 1e3 * mod.WEIGHTS_EFFECT_TOL


@pytest.mark.slow
def test_l67_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l67_vwls_mdvi as mod
    from pgtheory.claims.protocol import apply_protocol
    from pgtheory.claims.record import RunContext
    from pgtheory.claims.registry import CLAIMS

    claim = CLAIMS.get(mod.ID)
    ev = claim.run(RunContext("quick", dict(claim.scales["quick"]), 0, "cpu", str(tmp_path)))
    rec = apply_protocol(claim, ev)
    assert rec["verdict"] in ("qualified", "inconclusive")  # an extension never refutes; the quote is undecidable
    assert ev.quote_verdict == "inconclusive" and ev.instances.count >= 1
    # measure → decide → draw: the run returns measurements and no figure; the claim's draw makes it from them
    assert ev.measurements and claim.draw is not None
    assert Path(claim.draw(ev.measurements, tmp_path)).is_file()
    assert not ev.code_checks  # includes the one-hot null control
    rows = ev.details["rows"]
    assert {r["family"] for r in rows} == {"tabular", "linear"}
    for r in rows:
        for key in ("log_ratio_ci", "exponent_gain_ci", "log_ratio_budget_ci", "ci_LS", "ci_VW"):
            lo, hi = r[key]
            assert lo <= hi
        assert r["undecided"] in (None, "control", "weighting inactive", "censored", "interval straddles")
        assert ("holds" in r) == (r["undecided"] is None)
    assert all(r["null_covered"] for r in rows if r["family"] == "tabular")
    assert 0 < ev.details["level"] < 1
    smooth = [p for p in ev.sensitivity if p["constant"] == "smoothing"]
    assert [p["value"] for p in smooth] == list(mod.SMOOTHING_RANGE) and smooth[0]["verdict"] == ev.verdict
    for name, eff in ev.details["weighting_effect"].items():
        assert eff["d"] >= 1 and len(eff["support"]) == mod.WEIGHTS_CHECK_RUNS and eff["max_abs_diff"] >= 0
        if name.startswith("tabular"):
            assert eff["max_abs_diff"] <= mod.WEIGHTS_EFFECT_TOL
