"""Generative-model counts, LS-MDVI / VWLS-MDVI on linear MDPs, and the L67 claim's quick run."""
from __future__ import annotations

import math

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


@pytest.mark.slow
def test_l67_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l67_vwls_mdvi as mod
    from pgtheory.claims.protocol import apply_protocol
    from pgtheory.claims.record import RunContext
    from pgtheory.claims.registry import CLAIMS

    claim = CLAIMS.get(mod.ID)
    ev = claim.run(RunContext("quick", dict(claim.scales["quick"]), 0, "cpu", str(tmp_path)))
    rec = apply_protocol(claim, ev)
    assert rec["verdict"] in ("confirmed", "refuted", "qualified", "inconclusive")
    assert rec["verdict"] != "refuted"  # an extension never refutes
    assert ev.instances.count >= 1 and ev.figure and (tmp_path / f"{mod.ID}.png").is_file()
    assert not ev.code_checks
    assert np.isfinite(ev.statistic)


def test_l67_decide_is_a_pure_function_of_stored_errors():
    import pgtheory.claims.library.l67_vwls_mdvi as mod

    R = 10
    H = 1 / (1 - np.array([0.8, 0.9]))

    def series(levels, draws):  # a method that succeeds from budget index `levels[γ]` on, with `draws` per budget
        return ([[None if j < lv - 1 else ([0.0] * R if j >= lv else [1.0] * R) for j in range(4)] for lv in levels],
                [[d * 2 ** j for j in range(4)] for d in draws])

    e_ls, n_ls = series([1, 2], [100, 800])
    e_vw, n_vw = series([1, 1], [110, 800])
    spread = [[None, 1.2, None, None], [None, 3.0, 2.0, None]]  # weights vary ×3 at the largest H: weighting active
    meas = {"gammas": [0.8, 0.9], "instances": [{"name": "x", "family": "linear", "weight_spread": spread,
                                                  "err": {"LS": e_ls, "VW": e_vw}, "samples": {"LS": n_ls, "VW": n_vw}}]}
    d = mod.decide(meas)
    row = d["rows"][0]
    assert row["n_delta_LS"] == [200.0, 3200.0] and row["n_delta_VW"] == [220.0, 1600.0]
    assert abs(row["exponent_VW"] - math.log(1600 / 220) / math.log(H[1] / H[0])) < 1e-9
    assert row["fewer"] and row["holds"] and d["verdict"] == "confirmed"
    # twin: VWLS costlier than LS at the largest H fails rule (A)
    meas["instances"][0]["samples"]["VW"] = [[110 * 2 ** j for j in range(4)], [8000 * 2 ** j for j in range(4)]]
    assert mod.decide(meas)["verdict"] == "refuted"
    # near-uniform weights: (A) is undecidable, and with no instance decided the verdict is inconclusive
    meas["instances"][0]["weight_spread"] = [[None, 1.2, None, None], [None, 1.01, 1.02, None]]
    d = mod.decide(meas)
    assert d["rows"][0]["undecided"] == "weighting inactive" and d["verdict"] == "inconclusive"
