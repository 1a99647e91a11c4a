"""Issue 15, L87 (Contrastive Policy Gradient) and L151 (bilevel reward MLE): exact modules, their twins, bad inputs
and the claims' quick runs."""
from __future__ import annotations

import math

import pytest
import torch

from pgtheory.exact.bilevel_reward_mle import (gaussian_data_loglik, gaussian_inner_objective, gaussian_inner_optimum,
                                               isotropic_optimal_reward_scale, log_cholesky_from_spd, optimal_reward_matrix,
                                               outer_gradient_implicit, outer_loglik_closed_inner, solve_bilevel_reward,
                                               solve_inner_numerically, spd_from_log_cholesky)
from pgtheory.exact.contrastive_pg import (copg_expected_loss, copg_pair_loss, copg_softmax_update,
                                           cross_prompt_contrastive_loss, ipo_pair_loss, kl_regularised_objective,
                                           kl_regularised_optimum, offpolicy_pg_softmax_update,
                                           on_policy_regularised_gradient, regularised_reward)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
F64 = torch.float64


def _bandit(seed: int = 0, M: int = 3, K: int = 4):
    g = torch.Generator().manual_seed(seed)
    R = torch.randn(M, K, generator=g, dtype=F64)
    lref = torch.log_softmax(torch.randn(M, K, generator=g, dtype=F64), -1)
    mu = torch.softmax(torch.randn(M, K, generator=g, dtype=F64), -1)
    w = torch.softmax(torch.randn(M, generator=g, dtype=F64), -1)
    z = torch.randn(M, K, generator=g, dtype=F64)
    return R, lref, mu, w, z


# ---------------------------------------------------------------- CoPG: hand values
def test_kl_regularised_optimum_hand_value():
    # π_ref uniform on 2 responses, β = 1, R = (0, log 3): π* ∝ (1, 3)
    lp = kl_regularised_optimum(torch.log(torch.tensor([[0.5, 0.5]], dtype=F64)), torch.tensor([[0.0, math.log(3.0)]], dtype=F64), 1.0)
    assert torch.allclose(lp.exp(), torch.tensor([[0.25, 0.75]], dtype=F64), atol=1e-15)


def test_copg_loss_hand_value_and_zero_at_optimum():
    # one prompt, μ = (1/2, 1/2), D = (a, b): L = Var_μ(D)/(2β) = (a − b)²/(8β)
    beta = 0.5
    logp = torch.log(torch.tensor([[0.2, 0.8]], dtype=F64))
    lref = torch.log(torch.tensor([[0.5, 0.5]], dtype=F64))
    R = torch.tensor([[1.0, -1.0]], dtype=F64)
    D = regularised_reward(logp, lref, R, beta)
    a, b = float(D[0, 0]), float(D[0, 1])
    assert a == pytest.approx(1.0 - 0.5 * math.log(0.4)) and b == pytest.approx(-1.0 - 0.5 * math.log(1.6))
    mu = torch.tensor([[0.5, 0.5]], dtype=F64)
    assert float(copg_expected_loss(logp, lref, R, mu, beta)) == pytest.approx((a - b) ** 2 / (8 * beta), rel=1e-14)
    star = kl_regularised_optimum(lref, R, beta)
    assert float(copg_expected_loss(star, lref, R, mu, beta)) <= 1e-28
    # pair loss = expectation's integrand: ℓ(y1, y2)·2·μμ' summed over ordered pairs = the loss
    pl = copg_pair_loss(logp[0, 0], logp[0, 1], lref[0, 0], lref[0, 1], R[0, 0], R[0, 1], beta)
    assert float(pl) * 2 * 0.25 == pytest.approx(float(copg_expected_loss(logp, lref, R, mu, beta)), rel=1e-14)


def test_copg_update_is_minus_loss_gradient_and_behaviour_baseline_pg():
    R, lref, mu, w, z = _bandit(1)
    zr = z.clone().requires_grad_(True)
    (gl,) = torch.autograd.grad(copg_expected_loss(torch.log_softmax(zr, -1), lref, R, mu, 0.7, w), zr)
    upd = copg_softmax_update(z, lref, R, mu, 0.7, w)
    assert torch.allclose(upd, -gl, atol=1e-14)
    assert torch.allclose(upd, offpolicy_pg_softmax_update(z, lref, R, mu, 0.7, "behaviour", w), atol=1e-14)


def test_on_policy_copg_is_the_regularised_policy_gradient():
    R, lref, _, w, z = _bandit(2)
    pi = torch.softmax(z, -1)
    assert torch.allclose(copg_softmax_update(z, lref, R, pi, 1.3, w), on_policy_regularised_gradient(z, lref, R, 1.3, w), atol=1e-13)
    # ∇J_β by central differences on one coordinate
    h = 1e-6
    e = torch.zeros_like(z)
    e[1, 2] = h
    fd = (kl_regularised_objective(torch.log_softmax(z + e, -1), lref, R, 1.3, w)
          - kl_regularised_objective(torch.log_softmax(z - e, -1), lref, R, 1.3, w)) / (2 * h)
    assert float(on_policy_regularised_gradient(z, lref, R, 1.3, w)[1, 2]) == pytest.approx(float(fd), abs=1e-8)


def test_copg_generalises_ipo():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(4, 7, generator=g, dtype=F64)
    Rl = torch.randn(7, generator=g, dtype=F64)
    tau = 0.3
    assert torch.allclose(copg_pair_loss(a[0], a[1], a[2], a[3], Rl + 0.5, Rl, tau), tau / 4 * ipo_pair_loss(a[0], a[1], a[2], a[3], tau), atol=1e-14)
    # twin: a reward gap other than 1/2 breaks the identity
    assert not torch.allclose(copg_pair_loss(a[0], a[1], a[2], a[3], Rl + 0.6, Rl, tau), tau / 4 * ipo_pair_loss(a[0], a[1], a[2], a[3], tau), atol=1e-6)


# ---------------------------------------------------------------- CoPG: the fixed point and its twins
def test_optimum_is_the_copg_fixed_point_and_not_the_twins():
    R, lref, mu, w, _ = _bandit(4)
    beta = 0.8
    star = kl_regularised_optimum(lref, R, beta)
    assert float(copg_softmax_update(star, lref, R, mu, beta, w).abs().max()) <= 1e-14
    # twins: no baseline; raw-reward baseline; contrast across prompts — π* is not their fixed point
    assert float(offpolicy_pg_softmax_update(star, lref, R, mu, beta, "none", w).abs().max()) > 1e-3
    assert float(offpolicy_pg_softmax_update(star, lref, R, mu, beta, (mu * R).sum(-1), w).abs().max()) > 1e-3
    zs = star.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad(cross_prompt_contrastive_loss(torch.log_softmax(zs, -1), lref, R, mu, beta, w), zs)
    assert float(gx.abs().max()) > 1e-3
    # the on-policy value baseline also vanishes at π* (why the claim does not use it as a twin)
    assert float(offpolicy_pg_softmax_update(star, lref, R, mu, beta, "on_policy", w).abs().max()) <= 1e-14


def test_copg_fixed_point_found_from_random_start_by_the_claims_solver():
    from pgtheory.claims.library.l87_copg import _loss_residuals, _lm_solve

    R, lref, mu, w, z0 = _bandit(5)
    beta = 0.5
    z, stat = _lm_solve(lambda z: _loss_residuals(torch.log_softmax(z, -1), lref, R, mu, beta, w, cross=False), z0)
    assert stat <= 1e-12
    assert float((torch.log_softmax(z, -1) - kl_regularised_optimum(lref, R, beta)).abs().max()) <= 1e-10


def test_copg_bad_inputs():
    R, lref, mu, w, z = _bandit(6)
    with pytest.raises(ValueError, match="^beta"):
        copg_expected_loss(torch.log_softmax(z, -1), lref, R, mu, 0.0, w)
    with pytest.raises(ValueError, match="^behaviour"):
        copg_expected_loss(torch.log_softmax(z, -1), lref, R, mu * 2, 1.0, w)
    with pytest.raises(ValueError, match="^rewards"):
        regularised_reward(torch.log_softmax(z, -1), lref, R[:, :2], 1.0)
    with pytest.raises(ValueError, match="^baseline"):
        offpolicy_pg_softmax_update(z, lref, R, mu, 1.0, "wrong", w)
    with pytest.raises(ValueError, match="^prompt_weights"):
        copg_softmax_update(z, lref, R, mu, 1.0, torch.ones(2, dtype=F64) / 2)


# ---------------------------------------------------------------- bilevel reward MLE (Gaussian)
def test_gaussian_hand_values():
    S = torch.diag(torch.tensor([2.0, 4.0], dtype=F64))
    assert torch.allclose(optimal_reward_matrix(S, 1.0), torch.diag(torch.tensor([0.25, 0.125], dtype=F64)))
    assert isotropic_optimal_reward_scale(S, 3.0) == pytest.approx(0.5)
    one = torch.ones(1, 1, dtype=F64)
    zero = torch.zeros(1, dtype=F64)
    assert float(gaussian_data_loglik(zero, one, zero, one)) == pytest.approx(-0.5 * (math.log(2 * math.pi) + 1))
    # J_U at n = 1, U = 1, S = 1, Σ = 1, m = μ, λ = 2: −1 − 1 + log(2πe)
    assert float(gaussian_inner_objective(zero, one, one, zero, one, 2.0)) == pytest.approx(-2 + math.log(2 * math.pi * math.e))


def test_log_cholesky_round_trip():
    A = torch.tensor([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]], dtype=F64)
    assert torch.allclose(spd_from_log_cholesky(log_cholesky_from_spd(A), 3), A, atol=1e-14)


def test_inner_closed_form_is_stationary_and_matches_newton():
    g = torch.Generator().manual_seed(7)
    n, lam = 2, 0.7
    U = spd_from_log_cholesky(0.5 * torch.randn(3, generator=g, dtype=F64), n)
    mu = torch.randn(n, generator=g, dtype=F64)
    Sig = torch.tensor([[1.0, 0.2], [0.2, 0.5]], dtype=F64)
    m, S = gaussian_inner_optimum(U, mu, lam)
    m_, S_ = m.clone().requires_grad_(True), S.clone().requires_grad_(True)
    gm, gS = torch.autograd.grad(gaussian_inner_objective(m_, S_, U, mu, Sig, lam), (m_, S_))
    assert float(gm.abs().max()) <= 1e-12 and float(gS.abs().max()) <= 1e-12
    phi = solve_inner_numerically(U, mu, Sig, lam)
    assert torch.allclose(phi[:n], m, atol=1e-10) and torch.allclose(spd_from_log_cholesky(phi[n:], n), S, atol=1e-10)


def test_implicit_gradient_equals_closed_form_gradient():
    g = torch.Generator().manual_seed(8)
    n, lam = 2, 1.5
    mu = torch.randn(n, generator=g, dtype=F64)
    Sig = torch.tensor([[1.0, 0.2], [0.2, 0.5]], dtype=F64)
    psi = 0.5 * torch.randn(3, generator=g, dtype=F64)
    _, gi = outer_gradient_implicit(psi, mu, Sig, lam)
    pr = psi.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(outer_loglik_closed_inner(pr, mu, Sig, lam), pr)
    assert torch.allclose(gi, ga, atol=1e-9)


def test_bilevel_solution_is_the_closed_form_and_rejects_twins():
    Sig = torch.tensor([[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 0.8]], dtype=F64)
    mu = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    lam = 3.0  # λ/2 ≠ 1, so that the twin Σ⁻¹ differs from U*
    U, info = solve_bilevel_reward(mu, Sig, lam, init=torch.tensor([0.3, -0.2, 0.1, 0.4, -0.5, 0.2], dtype=F64))
    U_star = optimal_reward_matrix(Sig, lam)
    rel = float((U - U_star).norm() / U_star.norm())
    assert info["outer_gradient"] <= 1e-10 and info["max_hessian_eigenvalue"] < 0 and rel <= 1e-10
    for twin in (1.05 * U_star, torch.linalg.inv(Sig)):
        assert float((U - twin).norm() / twin.norm()) > 1e-3
    u, _ = solve_bilevel_reward(mu, Sig, lam, isotropic=True)
    assert float(u[0, 0]) == pytest.approx(isotropic_optimal_reward_scale(Sig, lam), rel=1e-10)


def test_bilevel_bad_inputs():
    Sig = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="^lam"):
        optimal_reward_matrix(Sig, 0.0)
    with pytest.raises(ValueError, match="^data_cov"):
        optimal_reward_matrix(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64), 1.0)
    with pytest.raises(ValueError, match="^data_mean"):
        solve_bilevel_reward(torch.zeros(3, dtype=F64), Sig, 1.0)
    with pytest.raises(ValueError, match="^init"):
        solve_bilevel_reward(torch.zeros(2, dtype=F64), Sig, 1.0, init=torch.zeros(2, dtype=F64))


# ---------------------------------------------------------------- the claims' quick runs
@pytest.mark.parametrize("module, claim_id", [("l87_copg", "L87-copg-offpolicy-fixed-point"),
                                              ("l151_bilevel_reward_mle", "L151-bilevel-reward-mle-gaussian")])
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
    if claim_id.startswith("L87"):
        from pgtheory.claims.registry import CLAIMS
        from pgtheory.claims.runner import redraw_from_store

        # the ledger names the twins the code uses (referee s6b: E_π D is not a twin)
        assert "E_π D" not in CLAIMS.get(claim_id).test and "E_μ R" in CLAIMS.get(claim_id).test
        assert rec["measurements"] and (tmp_path / rec["figure"]).exists()
        assert redraw_from_store(claim_id, "quick", 0, tmp_path) is not None


def test_bilevel_line_search_treats_a_singular_trial_step_as_minus_infinity():
    """A full Newton step can overshoot to a numerically singular U (the first full-scale attempt crashed there);
    the line search must see −∞ and halve the step. Twin: a finite trial value is passed through unchanged."""
    import math

    from pgtheory.exact.bilevel_reward_mle import _trial

    def singular(p):
        return torch.linalg.inv(torch.zeros(2, 2, dtype=torch.float64)).sum()

    assert _trial(singular, torch.zeros(1)) == -math.inf
    assert _trial(lambda p: torch.tensor(float("nan")), torch.zeros(1)) == -math.inf
    assert _trial(lambda p: p.sum() + 1.5, torch.zeros(1)) == 1.5


#: L151's seed-1018 inner problem (U, μ, Σ, λ = 1): well conditioned (−∇²J's eigenvalues in [0.62, 3.7]), yet a line
#: search ranking trial points by J alone rejected every exact Newton step from ‖∇J‖∞ ≈ 4e-9 on, because J's change
#: there (~1e-17) is below its evaluation round-off; the solver stalled for 200 steps and raised
SEED_1018_INNER = ([[0.893651409461731, 0.6176127961048475], [0.6176127961048475, 0.9675417897213444]],
                   [-1.0410928572281595, -1.4693012106422438],
                   [[1.5720952130267785, -0.6563702944740266], [-0.6563702944740266, 1.0146638547237141]], 1.0)


def test_inner_newton_converges_where_the_objective_cannot_rank_its_steps():
    U, mu, Sig = (torch.tensor(x, dtype=F64) for x in SEED_1018_INNER[:3])
    lam = SEED_1018_INNER[3]
    phi = solve_inner_numerically(U, mu, Sig, lam)
    m, S = gaussian_inner_optimum(U, mu, lam)
    assert torch.allclose(phi[:2], m, rtol=0, atol=1e-13)
    assert torch.allclose(spd_from_log_cholesky(phi[2:], 2), S, rtol=0, atol=1e-13)
    # twin: the same solve with too few steps still raises rather than returning a non-stationary point
    with pytest.raises(RuntimeError, match="no stationary point"):
        solve_inner_numerically(U, mu, Sig, lam, max_iter=3)
