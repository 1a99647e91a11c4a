"""Exact Bellman losses (squared, projected, Huber, absolute), their convex-program minimisers, and saddle-point TD."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from pgtheory.exact.bellman_losses import (BELLMAN_LOSSES, best_response, bellman_loss, expected_td_error, huber,
                                           linear_bellman_residual_problem, minimise_bellman_loss,
                                           projected_bellman_loss, saddle_point_objective, value_error)
from pgtheory.exact.linear_evaluation import bellman_residual_minimiser, td_fixed_point
from pgtheory.sampling.transitions import TransitionStream, sample_iid_transitions
from pgtheory.optim.saddle_point_td import saddle_point_expected, saddle_point_sampled
from pgtheory.problems import TabularMDP, garnet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _instance(seed=1, S=5, A=2, d=3):
    mdp = garnet(S, A, 3, discount=0.9, seed=seed)
    g = torch.Generator().manual_seed(seed)
    e = -torch.log(torch.rand(S, A, generator=g, dtype=torch.float64))
    pi = e / e.sum(-1, keepdim=True)
    phi = torch.cat([torch.ones(S * A, 1, dtype=torch.float64),
                     torch.randn(S * A, d - 1, generator=g, dtype=torch.float64)], 1)
    return mdp, pi, phi / phi.norm(dim=-1, keepdim=True)


def _one_state(r=1.0, gamma=0.5):
    P = torch.ones(1, 1, 1, dtype=torch.float64)
    return TabularMDP(P, torch.tensor([[r]], dtype=torch.float64), gamma, torch.ones(1, dtype=torch.float64))


# ---------------------------------------------------------------------------------------------------------------- values
def test_huber_hand_values():
    x = torch.tensor([0.5, 3.0, -3.0, 0.0], dtype=torch.float64)
    assert huber(x, 1.0).tolist() == pytest.approx([0.125, 2.5, 2.5, 0.0])
    assert float(huber(torch.tensor(-3.0, dtype=torch.float64), 2.0)) == pytest.approx(4.0)


@pytest.mark.parametrize("loss,tau", [("squared", 1.0), ("huber", 0.7), ("absolute", 1.0)])
def test_conjugate_forms_match_brute_force_over_h(loss, tau):
    """ρ(x) = max_{|h|≤c} hx − κh²/2, the max taken over a fine grid of h."""
    x = torch.linspace(-3, 3, 41, dtype=torch.float64)
    c = {"squared": 10.0, "huber": tau, "absolute": 1.0}[loss]
    kappa = 0.0 if loss == "absolute" else 1.0
    hgrid = torch.linspace(-c, c, 200_001, dtype=torch.float64)
    brute = (hgrid[None] * x[:, None] - 0.5 * kappa * hgrid[None] ** 2).max(-1).values
    rho = {"squared": 0.5 * x * x, "huber": huber(x, tau), "absolute": x.abs()}[loss]
    assert torch.allclose(brute, rho, atol=1e-9)


def test_one_state_hand_computed():
    """S = A = 1, γ = ½, r = 1, φ = 1: δ̄ = 1 − w/2, every loss is minimised at Q = w = 2."""
    p = linear_bellman_residual_problem(_one_state(), torch.ones(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64))
    assert float(p.X) == pytest.approx(0.5)
    assert float(expected_td_error(p, torch.tensor([0.0], dtype=torch.float64))) == pytest.approx(1.0)
    assert float(bellman_loss(p, torch.tensor([0.0], dtype=torch.float64), "huber", 0.5)) == pytest.approx(0.5 - 0.125)
    for loss in BELLMAN_LOSSES:
        sol = minimise_bellman_loss(p, loss, 0.5)
        assert float(sol.w) == pytest.approx(2.0, abs=1e-8)
        assert sol.value == pytest.approx(0.0, abs=1e-10)


# ------------------------------------------------------------------------------------------------------------ minimisers
def test_squared_minimiser_is_the_bellman_residual_minimiser():
    mdp, pi, phi = _instance()
    p = linear_bellman_residual_problem(mdp, pi, phi)
    sol = minimise_bellman_loss(p, "squared")
    ref = bellman_residual_minimiser(mdp, pi, phi)
    assert torch.allclose(sol.w, ref.w, atol=1e-10)
    assert sol.certificate < 1e-12 and sol.duality_gap == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("loss", BELLMAN_LOSSES)
def test_complete_features_give_q_pi_for_every_loss(loss):
    mdp, pi, _ = _instance(seed=3)
    p = linear_bellman_residual_problem(mdp, pi, torch.eye(10, dtype=torch.float64))
    sol = minimise_bellman_loss(p, loss, 0.3)
    assert torch.allclose(sol.w, p.q_true, atol=1e-7)
    assert float(value_error(p, sol.w)) < 1e-8


def test_absolute_minimiser_matches_vertex_enumeration():
    """Weighted least absolute deviations has an optimal vertex interpolating d pairs: enumerate them all."""
    mdp, pi, phi = _instance(seed=4, S=4, A=2, d=2)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    sol = minimise_bellman_loss(p, "absolute")
    best = math.inf
    for rows in itertools.combinations(range(8), 2):
        Xs = p.X[list(rows)]
        if abs(float(torch.linalg.det(Xs))) < 1e-12:
            continue
        w = torch.linalg.solve(Xs, p.r[list(rows)])
        best = min(best, float(bellman_loss(p, w, "absolute")))
    assert sol.value == pytest.approx(best, abs=1e-10)
    assert sol.duality_gap < 1e-10 and sol.certificate < 1e-10


def test_huber_minimiser_is_a_local_and_global_minimum():
    mdp, pi, phi = _instance(seed=5)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    tau = 0.05  # small enough that many pairs are on the linear pieces
    sol = minimise_bellman_loss(p, "huber", tau)
    assert sol.certificate < 1e-12
    assert bool((expected_td_error(p, sol.w).abs() > tau).any())
    g = torch.Generator().manual_seed(0)
    pert = sol.w + 1e-3 * torch.randn(500, 3, generator=g, dtype=torch.float64)
    assert bool((bellman_loss(p, pert, "huber", tau) >= sol.value - 1e-15).all())
    # large τ: the Huber loss is ½MSBE near the minimiser, so the minimisers coincide
    big = minimise_bellman_loss(p, "huber", 1e3)
    assert torch.allclose(big.w, minimise_bellman_loss(p, "squared").w, atol=1e-9)


def test_projected_loss_zero_at_td_fixed_point_and_msbe_with_tabular_h():
    mdp, pi, phi = _instance(seed=6)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    w_td = td_fixed_point(mdp, pi, phi).w
    assert float(projected_bellman_loss(p, w_td)) < 1e-20
    w = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(projected_bellman_loss(p, w, torch.eye(10, dtype=torch.float64)), bellman_loss(p, w, "squared"))


@pytest.mark.parametrize("loss", BELLMAN_LOSSES)
def test_saddle_objective_at_best_response_is_the_loss(loss):
    mdp, pi, phi = _instance(seed=7)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    w = torch.randn(3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    h = best_response(p, w, loss, 0.2)
    assert float(saddle_point_objective(p, w, h, loss, 0.2)) == pytest.approx(float(bellman_loss(p, w, loss, 0.2)), abs=1e-14)
    c = {"squared": 5.0, "huber": 0.2, "absolute": 1.0}[loss]
    others = (torch.rand(200, 10, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1) * c
    assert bool((saddle_point_objective(p, w, others, loss, 0.2) <= bellman_loss(p, w, loss, 0.2) + 1e-14).all())


# ---------------------------------------------------------------------------------------------------- saddle-point TD
@pytest.mark.parametrize("loss,tau", [("squared", 1.0), ("huber", 0.2)])
def test_expected_gda_converges_to_the_convex_program(loss, tau):
    mdp, pi, phi = _instance(seed=8)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    sol = minimise_bellman_loss(p, loss, tau)
    if loss == "huber":  # τ = 0.2 puts several pairs on the linear pieces of the Huber loss
        assert int((expected_td_error(p, sol.w).abs() > tau).sum()) >= 3
    run = saddle_point_expected(p, loss, alpha=2.0, beta=4.0, n_iterations=5000, tau=tau)
    assert not bool(run.diverged.any())
    assert torch.allclose(run.w[0], sol.w, atol=1e-7)
    assert torch.allclose(run.h[0], sol.h, atol=1e-7)


@pytest.mark.parametrize("loss,tau", [("squared", 1.0), ("huber", 0.05), ("absolute", 1.0)])
def test_convex_program_solution_is_a_fixed_point_and_a_wrong_tau_twin_is_not(loss, tau):
    mdp, pi, phi = _instance(seed=9)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    sol = minimise_bellman_loss(p, loss, tau)
    assert sol.certificate < 1e-9
    h_star = sol.h.clamp(-1.0, 1.0) if loss == "absolute" else sol.h
    run = saddle_point_expected(p, loss, alpha=1.0, beta=1.0, n_iterations=3, tau=tau, w0=sol.w, h0=h_star)
    assert torch.allclose(run.w[0], sol.w, atol=1e-12) and torch.allclose(run.h[0], h_star, atol=1e-12)
    if loss == "huber":  # twin: the minimiser of the Huber loss with 3τ is not a saddle point of the τ problem
        twin = minimise_bellman_loss(p, "huber", 3 * tau)
        h_twin = best_response(p, twin.w, "huber", tau)
        moved = saddle_point_expected(p, loss, alpha=1.0, beta=1.0, n_iterations=1, tau=tau, w0=twin.w, h0=h_twin)
        assert float((moved.w[0] - twin.w).abs().max()) > 1e-4


def test_absolute_gda_average_approaches_the_lp_solution():
    mdp, pi, phi = _instance(seed=10)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    sol = minimise_bellman_loss(p, "absolute")
    run = saddle_point_expected(p, "absolute", alpha=0.5, beta=1.0, n_iterations=5000)
    zero = torch.zeros(3, dtype=torch.float64)
    progress = (float(bellman_loss(p, run.w_average[0], "absolute")) - sol.value) / (float(bellman_loss(p, zero, "absolute")) - sol.value)
    assert 0 <= progress < 0.05  # bilinear GDA cycles: only the average gets close (95% of the way from w = 0)


def test_sampled_gda_mean_is_the_minimiser_and_td_fixed_point_twin_is_rejected():
    mdp, pi, phi = _instance(seed=11, S=4, A=2, d=2)  # an instance where TD and the MSBE minimiser differ by > 2
    p = linear_bellman_residual_problem(mdp, pi, phi)
    target = minimise_bellman_loss(p, "squared").w
    twin = td_fixed_point(mdp, pi, phi).w
    stream = sample_iid_transitions(mdp, pi, p.D, 4000, torch.Generator().manual_seed(0), shape=(16,),
                                    noise_scale=0.5, noise_df=math.inf)
    run = saddle_point_sampled(phi, stream, 0.9, "squared", alpha=0.2, beta=0.4)
    w = run.w_average[0]  # [R, d]
    mean, se = w.mean(0), w.std(0) / 4.0
    assert bool(((mean - target).abs() < 5 * se + 0.02).all())
    assert float((twin - target).abs().max()) > 0.2
    assert bool(((mean - twin).abs() > 5 * se + 0.02).any())


def test_sampled_updates_are_bounded_for_robust_losses_under_outliers():
    """|Δw| ≤ α·c·‖φ − γφ'‖ for the boxed duals, whatever the reward; the squared dual is unbounded."""
    mdp, pi, phi = _instance(seed=12)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    stream = sample_iid_transitions(mdp, pi, p.D, 50, torch.Generator().manual_seed(1), shape=(1,))
    stream = TransitionStream(stream.pair, stream.next_pair, stream.reward + 1e6 * (torch.arange(50) == 0))
    for loss, c in (("huber", 0.5), ("absolute", 1.0)):
        run = saddle_point_sampled(phi, stream, 0.9, loss, alpha=0.1, beta=1.0, tau=0.5)
        xmax = float((phi.norm(dim=-1).max()) * 1.9)
        assert float(run.w.abs().max()) <= 50 * 0.1 * c * xmax + 1e-12
        assert float(run.h.abs().max()) <= c + 1e-12
    sq = saddle_point_sampled(phi, stream, 0.9, "squared", alpha=0.1, beta=1.0)
    assert float(sq.h.abs().max()) > 1e5


def test_sampler_frequencies_match_d_and_uniform_twin_is_rejected():
    mdp, pi, phi = _instance(seed=13)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    n = 200_000
    s = sample_iid_transitions(mdp, pi, p.D, n, torch.Generator().manual_seed(2), noise_scale=1.0, noise_df=1.5)
    freq = torch.bincount(s.pair, minlength=10).double() / n
    se = (p.D * (1 - p.D) / n).sqrt()
    assert bool(((freq - p.D).abs() < 5 * se + 1e-12).all())
    uniform = torch.full((10,), 0.1, dtype=torch.float64)
    assert bool(((freq - uniform).abs() > 5 * se).any())
    # next-pair features: E[φ(j) | i] = (P_πΦ)_i, checked on the most frequent pair
    i = int(p.D.argmax())
    sel = s.pair == i
    emp = phi[s.next_pair[sel]].mean(0)
    assert torch.allclose(emp, p.next_phi[i], atol=5 * float(phi.std()) / math.sqrt(int(sel.sum())) + 1e-3)
    # median of the noise ≈ 0 (Student-t has a median of 0 even when heavy-tailed)
    noise = s.reward - p.r[s.pair]
    assert abs(float(noise.median())) < 0.02


# ------------------------------------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    mdp, pi, phi = _instance()
    p = linear_bellman_residual_problem(mdp, pi, phi)
    with pytest.raises(ValueError, match="^loss"):
        bellman_loss(p, torch.zeros(3, dtype=torch.float64), "cubic")
    with pytest.raises(TypeError, match="^loss"):
        minimise_bellman_loss(p, 3)
    with pytest.raises(ValueError, match="^tau"):
        minimise_bellman_loss(p, "huber", 0.0)
    with pytest.raises(ValueError, match="^w"):
        bellman_loss(p, torch.zeros(4, dtype=torch.float64), "squared")
    with pytest.raises(ValueError, match="^features"):
        linear_bellman_residual_problem(mdp, pi, torch.ones(7, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="^weights"):
        linear_bellman_residual_problem(mdp, pi, phi, weights=torch.full((10,), 0.2, dtype=torch.float64))
    with pytest.raises(ValueError, match="^h"):
        saddle_point_objective(p, torch.zeros(3, dtype=torch.float64), torch.full((10,), 2.0, dtype=torch.float64), "absolute")
    with pytest.raises(TypeError, match="^problem"):
        bellman_loss("not a problem", torch.zeros(3), "squared")
    with pytest.raises(ValueError, match="^alpha"):
        saddle_point_expected(p, "huber", alpha=-1.0, beta=1.0, n_iterations=10)
    with pytest.raises(ValueError, match="^beta"):
        saddle_point_expected(p, "huber", alpha=[1.0, 2.0], beta=[1.0, 2.0, 3.0], n_iterations=10)
    with pytest.raises(TypeError, match="^stream"):
        saddle_point_sampled(phi, (1, 2, 3), 0.9, "squared", alpha=0.1, beta=0.1)
    with pytest.raises(TypeError, match="^generator"):
        sample_iid_transitions(mdp, pi, p.D, 10, 0)
    with pytest.raises(ValueError, match="^noise_df"):
        sample_iid_transitions(mdp, pi, p.D, 10, torch.Generator(), noise_df=0.0)


def test_divergence_is_flagged_not_nan():
    mdp, pi, phi = _instance(seed=14)
    p = linear_bellman_residual_problem(mdp, pi, phi)
    run = saddle_point_expected(p, "squared", alpha=[0.1, 1e4], beta=[0.2, 2e4], n_iterations=200)
    assert run.diverged.tolist() == [False, True]
    assert bool(torch.isfinite(run.w).all()) and bool(torch.isfinite(run.w_average).all())


# ------------------------------------------------------------------------------------------------------------ the claim
def test_claim_decision_rule_on_planted_measurements():
    from pgtheory.claims.library.l69_robust_bellman_losses import decide, sensitivity_index

    assert sensitivity_index(np.array([[1.0, 10.0, 100.0]])).tolist() == pytest.approx([1.0])
    flat = np.ones((12, 4))
    steep = np.tile([1.0, 2.0, 4.0, 8.0], (12, 1))
    m = {"errors": {"squared": steep, "huber": flat * 2, "absolute": flat * 3}}
    assert decide(m, 1e-3)["verdict"] == "confirmed"
    m = {"errors": {"squared": flat, "huber": steep, "absolute": steep}}
    assert decide(m, 1e-3)["verdict"] == "refuted"
    m = {"errors": {"squared": np.vstack([steep[:6], flat[:6]]), "huber": np.vstack([flat[:6], steep[:6]]), "absolute": flat}}
    assert decide(m, 1e-3)["per_loss"]["huber"]["verdict"] == "inconclusive"


@pytest.mark.slow
def test_claim_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l69_robust_bellman_losses as mod
    from pgtheory.claims.runner import check

    rec = check([mod.ID], scale="quick", results=tmp_path)[0]
    for key in ("verdict", "summary", "instances", "sensitivity", "kind", "quote", "figure"):
        assert key in rec
    assert rec["kind"] == "empirical" and rec["extension"] is True and len(rec["sensitivity"]) == 9
    assert rec["instances"]["count"] == 12
    assert not rec["code_checks"]
