"""L85 (HDPO: pathwise vs score-function gradients on a base-stock problem) and L95 (model-derivative policy gradients
on the LQR): problem, exact truth, estimators (with twins) and the claims' quick runs."""
from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate, stats

from pgtheory.estimators.model_derivative import (lqr_model_derivative_gradient, lqr_reward_to_go_baseline,
                                                  lqr_score_function_gradient)
from pgtheory.estimators.pathwise import per_sample_pathwise_gradient, score_function_gradient
from pgtheory.exact.inventory import base_stock_gradient, base_stock_objective, base_stock_optimal_level
from pgtheory.exact.lqr import lqr_optimal_gain, lqr_policy_gradient
from pgtheory.exact.lqr_model_derivative import (lqr_model_derivative_expectation, lqr_truncated_gradient,
                                                 lqr_truncated_objective)
from pgtheory.policies.gaussian import LinearGaussianPolicy
from pgtheory.problems.inventory import BaseStockProblem, base_stock_period_costs, base_stock_total_cost
from pgtheory.problems.lqr import random_lqr
from pgtheory.sampling.lqr import sample_lqr_trajectories
from pgtheory.testing import StatisticalAssertionError, assert_unbiased

pytestmark = pytest.mark.usefixtures("one_torch_thread")
f64 = torch.float64


# ---------------------------------------------------------------- inventory problem and its closed forms
def test_newsvendor_costs_by_hand():
    p = BaseStockProblem(1.0, 3.0, 10.0, 2.0)
    c = base_stock_period_costs(p, torch.tensor(5.0, dtype=f64), torch.tensor([[3.0], [7.0]], dtype=f64))
    assert c[:, 0].tolist() == [2.0, 6.0]  # h·(5 − 3) and b·(7 − 5)


def test_lead_time_recursion_by_hand():
    # L = 1, T = 2, NI_0 = 0: y_0 = 4, y_1 = 4 (σ = 0). Period 0: order 4 (arrives in period 1), NI_1 = −1 → left out.
    # Period 1: IP = 4 − 1 = 3, order 1 (arrives in period 2); NI_2 = −1 + 4 − 2 = 1 → cost h·1 = 1.
    # Period 2: NI_3 = 1 + 1 − 5 = −3 → cost b·3 = 6.
    p = BaseStockProblem(1.0, 2.0, 3.0, 1.0, lead_time=1, horizon=2)
    c = base_stock_period_costs(p, torch.tensor(4.0, dtype=f64), torch.tensor([[1.0, 2.0, 5.0]], dtype=f64))
    assert c[0].tolist() == [0.0, 1.0, 6.0]
    # decision t sets period t + L's cost through y_t − (D_t + … + D_{t+L}): 4 − 3 = 1 and 4 − 7 = −3
    assert c[0, 1] == 1.0 * (4 - 1 - 2) and c[0, 2] == 2.0 * (2 + 5 - 4)


def test_simulated_costs_match_the_decomposition_on_random_paths():
    p = BaseStockProblem(1.0, 4.0, 10.0, 2.0, lead_time=2, horizon=5, initial_inventory=3.0)
    g = torch.Generator().manual_seed(0)
    D, xi = p.sample_demand(50, g), torch.randn(50, 5, generator=g, dtype=f64)
    c = base_stock_period_costs(p, torch.tensor(31.0, dtype=f64), D, xi, 0.7)
    y = 31.0 + 0.7 * xi
    X = torch.stack([y[:, t] - D[:, t:t + 3].sum(1) for t in range(5)], 1)
    expected = 1.0 * X.clamp_min(0) + 4.0 * (-X).clamp_min(0)
    assert torch.allclose(c[:, 2:], expected, atol=1e-12) and bool((c[:, :2] == 0).all())


def test_closed_form_objective_and_gradient():
    p = BaseStockProblem(1.0, 4.0, 10.0, 2.0, lead_time=1, horizon=3)
    theta, sigma = 21.5, 0.8
    v = math.sqrt(sigma ** 2 + 2 * 4.0)
    per = integrate.quad(lambda x: (max(x, 0) + 4 * max(-x, 0)) * stats.norm.pdf(x, theta - 20, v), -60, 60, points=[0])[0]
    assert float(base_stock_objective(p, theta, sigma)) == pytest.approx(3 * per, rel=1e-9)
    th = torch.tensor(theta, dtype=f64, requires_grad=True)
    (auto,) = torch.autograd.grad(base_stock_objective(p, th, sigma), th)
    assert float(auto) == pytest.approx(float(base_stock_gradient(p, theta, sigma)), abs=1e-12)
    star = base_stock_optimal_level(p, sigma)
    assert abs(float(base_stock_gradient(p, star, sigma))) < 1e-12
    assert stats.norm.cdf((star - 20) / v) == pytest.approx(0.8, abs=1e-12)  # critical fractile b/(b + h)


def _inventory_estimators(p, theta, sigma, baseline):
    def pathwise(n, g):
        D, xi = p.sample_demand(n, g), torch.randn(n, p.horizon, generator=g, dtype=f64)
        return per_sample_pathwise_gradient(lambda th: base_stock_total_cost(p, th, D, xi, sigma), theta, n)[:, None]

    def score(n, g, score_scale=1.0):
        D, xi = p.sample_demand(n, g), torch.randn(n, p.horizon, generator=g, dtype=f64)
        c = base_stock_period_costs(p, torch.tensor(theta, dtype=f64), D, xi, sigma)
        s = torch.zeros(n, p.periods, dtype=f64)
        s[:, :p.horizon] = score_scale * xi / sigma
        return score_function_gradient(s, c, baseline)[:, None]

    return pathwise, score


def test_pathwise_and_score_function_are_unbiased_and_their_twins_are_caught():
    p = BaseStockProblem(1.0, 3.0, 10.0, 2.0, lead_time=1, horizon=2)
    sigma = 2.0
    theta = base_stock_optimal_level(p, sigma) + 1.5
    truth = base_stock_gradient(p, theta, sigma).reshape(1)
    baseline = torch.tensor([6.0, 3.0, 1.0], dtype=f64)  # any fixed numbers keep REINFORCE unbiased
    pathwise, score = _inventory_estimators(p, theta, sigma, baseline)

    def pathwise_noise_dropped(n, g):  # the deterministic policy's gradient: a different target (σ ignored)
        D = p.sample_demand(n, g)
        return per_sample_pathwise_gradient(lambda th: base_stock_total_cost(p, th, D), theta, n)[:, None]

    margin = 0.02 * 4.0 * 2  # 2% of (h + b)·T, as the claim declares
    assert_unbiased(pathwise, truth, margin=margin, twins={"noise dropped": pathwise_noise_dropped}, max_samples=10**6)
    assert_unbiased(score, truth, margin=0.05 * 4.0 * 2, max_samples=10**6,
                    twins={"score without 1/σ": lambda n, g: score(n, g, score_scale=sigma)})


def test_pathwise_gradient_hand_values_and_bad_input():
    c = torch.tensor([1.0, 2.0, 3.0], dtype=f64)
    g = per_sample_pathwise_gradient(lambda th: c * th ** 2, torch.tensor(2.0, dtype=f64), 3)
    assert g.tolist() == [4.0, 8.0, 12.0]
    with pytest.raises(ValueError, match="^total_cost"):
        per_sample_pathwise_gradient(lambda th: th.sum(), 1.0, 3)
    with pytest.raises(TypeError, match="^n"):
        per_sample_pathwise_gradient(lambda th: th, 1.0, 2.5)


def test_score_function_gradient_hand_values_and_bad_input():
    s = torch.tensor([[1.0, 2.0]], dtype=f64)
    c = torch.tensor([[3.0, 4.0]], dtype=f64)
    assert score_function_gradient(s, c).tolist() == [1.0 * 7 + 2.0 * 4]
    assert score_function_gradient(s, c, torch.tensor([1.0, 1.0])).tolist() == [1.0 * 6 + 2.0 * 3]
    with pytest.raises(ValueError, match="^baseline"):
        score_function_gradient(s, c, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="^costs"):
        score_function_gradient(s, c[:, :1])


def test_inventory_bad_input():
    with pytest.raises(ValueError, match="^backorder_cost"):
        BaseStockProblem(1.0, 0.0, 10.0, 2.0)
    with pytest.raises(ValueError, match="^demand_std"):
        BaseStockProblem(1.0, 1.0, 10.0, -1.0)
    with pytest.raises(ValueError, match="^lead_time"):
        BaseStockProblem(1.0, 1.0, 10.0, 1.0, lead_time=-1)
    p = BaseStockProblem(1.0, 1.0, 10.0, 1.0, horizon=2)
    with pytest.raises(ValueError, match="^demand"):
        base_stock_period_costs(p, 10.0, torch.zeros(3, 3, dtype=f64))
    with pytest.raises(ValueError, match="^order_noise"):
        base_stock_period_costs(p, 10.0, torch.zeros(3, 2, dtype=f64), None, 0.5)
    with pytest.raises(ValueError, match="^noise_std"):
        base_stock_gradient(p, 10.0, -1.0)


# ---------------------------------------------------------------- LQR: model-derivative gradients
@pytest.fixture(scope="module")
def lqr_case():
    lqr = random_lqr(2, 1, seed=3, discount=0.9)
    Ks = lqr_optimal_gain(lqr).gain
    K = Ks + torch.tensor([[-0.5, 0.5]], dtype=f64)  # stabilising (ρ(A − BK) ≈ 0.67), ∇J ≠ 0
    dA = torch.tensor([[0.1, -0.05], [0.02, 0.08]], dtype=f64)
    dB = torch.tensor([[0.05], [-0.04]], dtype=f64)
    return lqr, K, lqr.A + dA, lqr.B + dB


def test_truncated_gradient_matches_finite_differences_and_the_infinite_horizon_limit(lqr_case):
    lqr, K, _, _ = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=0.3)
    g = lqr_truncated_gradient(lqr, pol, K, 30)
    for j in range(2):
        e = torch.zeros(1, 2, dtype=f64)
        e[0, j] = 1e-5
        fd = (lqr_truncated_objective(lqr, pol, K + e, 30) - lqr_truncated_objective(lqr, pol, K - e, 30)) / 2e-5
        assert float(fd) == pytest.approx(float(g[0, j]), rel=1e-7)
    assert torch.allclose(lqr_truncated_gradient(lqr, pol, K, 600), lqr_policy_gradient(lqr, pol, K), rtol=1e-9)


def test_model_derivative_expectation_with_the_true_model_is_the_exact_gradient(lqr_case):
    lqr, K, Ah, Bh = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=0.3)
    truth = lqr_truncated_gradient(lqr, pol, K, 40)
    exact_md = lqr_model_derivative_expectation(lqr, pol, K, 40, lqr.A, lqr.B)
    assert torch.allclose(exact_md, truth, rtol=1e-10, atol=1e-10)
    wrong = lqr_model_derivative_expectation(lqr, pol, K, 40, Ah, Bh)
    assert float((wrong - truth).abs().max()) > 0.05 * float(truth.abs().max())  # a wrong model biases it


def _md_estimator(lqr, K, model, H=15, std=0.5):
    pol = LinearGaussianPolicy(2, 1, std=std)

    def est(n, g):
        b = sample_lqr_trajectories(lqr, pol, K, n, g, termination="truncate", horizon=H)
        return lqr_model_derivative_gradient(lqr, b, *model)

    return est


def test_model_derivative_estimator_is_unbiased_with_the_true_model_and_its_mismatched_twin_is_caught(lqr_case):
    lqr, K, Ah, Bh = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=0.5)
    truth = lqr_truncated_gradient(lqr, pol, K, 15)
    assert_unbiased(_md_estimator(lqr, K, (lqr.A, lqr.B)), truth, relative_margin=0.05, max_samples=400_000,
                    twins={"model about 5% off": _md_estimator(lqr, K, (Ah, Bh))})


def test_model_derivative_mc_mean_is_its_exact_expectation(lqr_case):
    lqr, K, Ah, Bh = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=0.5)
    expect = lqr_model_derivative_expectation(lqr, pol, K, 15, Ah, Bh)
    assert_unbiased(_md_estimator(lqr, K, (Ah, Bh)), expect, relative_margin=0.05, max_samples=400_000,
                          twins={"true-model estimator against the biased mean": _md_estimator(lqr, K, (lqr.A, lqr.B))})


def test_lqr_score_function_is_unbiased_and_its_twin_fails(lqr_case):
    lqr, K, _, _ = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=1.0)
    H = 5  # short and noisy enough that a margin of ~1/3 of ‖∇J_H‖∞ is decidable with a few 10⁵ draws
    truth = lqr_truncated_gradient(lqr, pol, K, H)
    gb = torch.Generator().manual_seed(99)
    base = lqr_reward_to_go_baseline(sample_lqr_trajectories(lqr, pol, K, 2000, gb, termination="truncate", horizon=H))

    def sf(n, g, sign=1.0):
        b = sample_lqr_trajectories(lqr, pol, K, n, g, termination="truncate", horizon=H)
        return sign * lqr_score_function_gradient(b, pol, base)

    assert_unbiased(sf, truth, margin=1.5, max_samples=600_000,
                    twins={"score with the wrong sign (far twin)": lambda n, g: sf(n, g, -1.0)})


def test_model_derivative_bad_input(lqr_case):
    lqr, K, Ah, Bh = lqr_case
    pol = LinearGaussianPolicy(2, 1, std=0.3)
    g = torch.Generator().manual_seed(0)
    geo = sample_lqr_trajectories(lqr, pol, K, 5, g)
    with pytest.raises(ValueError, match="^batch"):
        lqr_model_derivative_gradient(lqr, geo, Ah, Bh)
    b = sample_lqr_trajectories(lqr, pol, K, 5, g, termination="truncate", horizon=4)
    with pytest.raises(ValueError, match="^model_A"):
        lqr_model_derivative_gradient(lqr, b, Ah[:1], Bh)
    with pytest.raises(ValueError, match="^model_B"):
        lqr_model_derivative_expectation(lqr, pol, K, 4, Ah, Bh.T)
    with pytest.raises(TypeError, match="^batch"):
        lqr_score_function_gradient("not a batch", pol)
    with pytest.raises(ValueError, match="^horizon"):
        lqr_truncated_objective(lqr, pol, K, 0)


# ---------------------------------------------------------------- the claims' rules (revision of 2026-12-01)
def test_l85_far_twin_keeps_the_mean_and_forgets_the_lead_time_variance():
    from pgtheory.claims.library.l85_hdpo_pathwise import far_twin_gradient

    h, b, mu, s, L, T, theta, sigma = 1.0, 3.0, 10.0, 2.0, 2, 4, 33.0, 0.6
    p = BaseStockProblem(h, b, mu, s, lead_time=L, horizon=T)
    m = theta - (L + 1) * mu  # mean net inventory, kept by the twin
    twin = T * ((h + b) * stats.norm.cdf(m / math.sqrt(sigma ** 2 + s ** 2)) - b)
    truth = T * ((h + b) * stats.norm.cdf(m / math.sqrt(sigma ** 2 + (L + 1) * s ** 2)) - b)
    assert float(far_twin_gradient(p, theta, sigma)) == pytest.approx(twin, rel=1e-12)
    assert float(base_stock_gradient(p, theta, sigma)) == pytest.approx(truth, rel=1e-12)
    # at m = 0 the twin's target equals the truth: this is the case in which the far twin is unpowered (not counted)
    assert float(far_twin_gradient(p, (L + 1) * mu, sigma)) == pytest.approx(float(base_stock_gradient(p, (L + 1) * mu, sigma)), abs=1e-12)


def _l95_measurement(truth_norm, bias2, var_md, var_sf, spread=0.05, chunks=40):
    """A synthetic L95 measurement: chunk variances scattered ±spread around the totals."""
    import numpy as np

    wobble = 1 + spread * np.sin(np.arange(chunks))
    return {"truth_norm": truth_norm, "bias2": bias2, "var_md": var_md, "var_sf": var_sf,
            "chunk_var_md": var_md * wobble, "chunk_var_sf": var_sf * wobble[::-1]}


def test_l95_two_part_rule_by_hand_and_the_zero_twin_it_rejects():
    from pgtheory.claims.library.l95_model_derivative_pg import _combine, _decide

    assert _combine("holds", "holds") == "holds" and _combine("holds", "fails") == "fails"
    assert _combine("undecided", "holds") == "undecided" and _combine("fails", "undecided") == "fails"
    # MD: bias² 0.04, variance 1 at N = 10 → MSE 0.14; SF variance 100 → MSE 10; ‖∇J‖² = 1
    good = _decide(_l95_measurement(1.0, 0.04, 1.0, 100.0), 10, 0.999)
    assert good["ratio"] == pytest.approx(0.014) and good["abs_ratio"] == pytest.approx(0.14)
    assert good["quote_outcome"] == "holds" and good["abs_outcome"] == "holds" and good["outcome"] == "holds"
    # the case the referee found: MD beats a very noisy SF but is worse than no data (bias² 2 > ‖∇J‖² = 1)
    bad = _decide(_l95_measurement(1.0, 2.0, 1.0, 1e4), 10, 0.999)
    assert bad["quote_outcome"] == "holds" and bad["abs_outcome"] == "fails" and bad["outcome"] == "fails"
    # judged twin: the zero vector passes the quoted part alone when SF is this noisy (the old rule's lack of teeth) …
    assert good["zero_twin_quote_outcome"] == "holds" and good["zero_twin_ratio"] == pytest.approx(0.1)
    # … and the two-part rule never passes it (its MSE/‖∇J‖² is exactly 1)
    assert good["zero_twin_outcome"] != "holds" and bad["zero_twin_outcome"] != "holds"
    # with an accurate SF the quoted part has teeth: the zero vector fails it
    sharp = _decide(_l95_measurement(1.0, 0.04, 1.0, 0.5), 10, 0.999)
    assert sharp["zero_twin_quote_outcome"] == "fails" and sharp["quote_outcome"] == "fails"


# ---------------------------------------------------------------- the claims' quick runs
@pytest.mark.parametrize("module, claim_id", [("l85_hdpo_pathwise", "L85-hdpo-pathwise-variance"),
                                              ("l95_model_derivative_pg", "L95-model-derivative-pg")])
def test_claim_quick_run_returns_a_complete_record(tmp_path, module, claim_id):
    import importlib

    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    importlib.import_module(f"pgtheory.claims.library.{module}")
    (rec,) = check([claim_id], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "refuted", "qualified", "inconclusive")
    assert rec["instances"]["count"] >= 3 and rec["sensitivity"] and not rec["code_checks"]
    assert rec["summary"] and rec["figure"]
    if claim_id.startswith("L95"):  # revision of 2026-12-01: the absolute part is an extension, decided beside the quote
        assert rec["extension"] is True and rec["quote_verdict"] in ("confirmed", "refuted", "inconclusive")
        assert all("quote_verdict" in p and "zero_twin_passes_rule" in p for p in rec["sensitivity"])
        assert not any(rec["details"]["zero_twin"]["passes_rule_primary"])
    else:  # the corner of the declared box is a sweep point (revision of 2026-12-01)
        corner = [p for p in rec["sensitivity"] if p["constant"].startswith("corner")]
        assert len(corner) == 1 and corner[0]["min_ratio"] > 0
        assert corner[0]["verdict"] in ("confirmed", "refuted", "inconclusive") and "corner" in rec["summary"]
