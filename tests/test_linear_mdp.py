"""The linear-MDP foundation (issue 13, items 1, 2 (exact part) and 4): the :class:`LinearMDP` problem and its
generators, exact linear policy evaluation (TD(λ) fixed point, best linear fit, Bellman-residual minimiser) and the
G-optimal design by Frank–Wolfe.

Every check is exact (float64 linear algebra, no sampling) and deterministic (fixed seeds). Where a test says that two
quantities differ, it asserts the size of the difference measured on that instance, with a margin.

A finding recorded here (``test_tsitsiklis_van_roy_bound_*``): Tsitsiklis & Van Roy's bound
‖Φw_TD − Q^π‖_D ≤ ‖Π_D Q^π − Q^π‖_D / √(1 − γ²) holds for D the *stationary* distribution of the on-policy chain, as
their theorem states, but not for the normalised *discounted* occupancy d^π_ρ ⊗ π (the default weighting): a two-state
chain violates it by a factor 1.378. For that weighting the provable factor is 1/√(1 − γ) (γ D P_π ≤ D gives
‖γP_π f‖_D ≤ √γ ‖f‖_D), which the same chain attains with equality.
"""
import math

import numpy as np
import pytest
import torch

from pgtheory.exact.evaluation import evaluate_policy, state_action_occupancy
from pgtheory.exact.linear_evaluation import (SINGULAR_RCOND, bellman_residual_minimiser, best_linear_fit,
                                              lambda_bellman_operator, projected_bellman_residual,
                                              state_action_transition_matrix, stationary_state_action_distribution,
                                              td_fixed_point, weighted_norm)
from pgtheory.exact.optimal_design import design_leverages, g_optimal_design
from pgtheory.exact.solvers import value_iteration
from pgtheory.problems.generators import garnet
from pgtheory.problems.linear_mdp import (LINEAR_MDP_TOL, LinearMDP, misspecified_linear_mdp, one_hot_linear_mdp,
                                          random_linear_mdp)
from pgtheory.problems.mdp import TabularMDP

from .conftest import random_mdp

F64 = torch.float64
T = lambda *x: torch.tensor(x, dtype=F64)  # noqa: E731

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _policies(S: int, A: int, seed: int, batch: tuple[int, ...] = ()) -> torch.Tensor:
    """Softmax policies with standard-normal logits (full support): [*batch, S, A]."""
    return torch.softmax(torch.randn(*batch, S, A, generator=_gen(seed), dtype=F64), -1)


def _features(S: int, A: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(S, A, d, generator=_gen(seed), dtype=F64)


def _two_state_chain(gamma: float, rewards=(0.0, 1.0)) -> TabularMDP:
    """State 0 → state 1 → state 1 (absorbing), one action, start in 0."""
    P = T(0.0, 1.0, 0.0, 1.0).reshape(2, 1, 2)
    return TabularMDP(P, T(*rewards).reshape(2, 1), gamma, T(1.0, 0.0), name="two_state_chain")


ONE = torch.ones(2, 1, dtype=F64)  # the only policy of a one-action MDP


# ------------------------------------------------------------------------------------------------------------------
# LinearMDP: validation
# ------------------------------------------------------------------------------------------------------------------
def _valid_parts():
    """S = 2, A = 1, d = 2 with a *signed* μ whose product with φ is a valid kernel."""
    phi = T(0.5, 0.5, 0.75, 0.25).reshape(2, 1, 2)
    mu = T(1.5, -0.5, -0.5, 1.5)  # μ_1 = (1.5, −0.5), μ_2 = (−0.5, 1.5): signed measures
    return phi, mu.reshape(2, 2), T(1.0, -2.0), T(0.3, 0.7)


def test_signed_mu_is_allowed_and_the_product_is_the_kernel():
    phi, mu, theta, rho = _valid_parts()
    lin = LinearMDP(phi, mu, theta, rho, 0.9)
    assert torch.allclose(lin.transitions, T(0.5, 0.5, 1.0, 0.0).reshape(2, 1, 2), atol=1e-15, rtol=0)
    assert torch.allclose(lin.rewards, T(-0.5, 0.25).reshape(2, 1), atol=1e-15, rtol=0)
    assert (lin.n_states, lin.n_actions, lin.feature_dim) == (2, 1, 2)
    tab = lin.tabular()
    assert isinstance(tab, TabularMDP) and torch.equal(tab.transitions, lin.transitions) and tab.discount == 0.9
    assert torch.equal(tab.initial, lin.initial) and torch.equal(tab.rewards, lin.rewards)


def test_validation_row_not_summing_to_one_names_the_pair():
    phi, mu, theta, rho = _valid_parts()
    phi2 = phi.clone()
    phi2[1, 0] = T(0.75, 0.26)  # row (s=1, a=0) sums to 1.01
    with pytest.raises(ValueError, match=r"must sum to 1 within 1e-10, but the row \(s=1, a=0\) sums to 1\.01"):
        LinearMDP(phi2, mu, theta, rho, 0.9)
    # a violation just above the tolerance is caught, round-off below it is not
    phi3 = phi.clone()
    phi3[0, 0, 0] += 1e-9
    with pytest.raises(ValueError, match=r"row \(s=0, a=0\)"):
        LinearMDP(phi3, mu, theta, rho, 0.9)
    phi4 = phi.clone()
    phi4[0, 0, 0] += 1e-12
    LinearMDP(phi4, mu, theta, rho, 0.9)


def test_validation_negative_transition_names_the_entry():
    phi = T(1.0, 0.0, 0.0, 1.0).reshape(2, 1, 2)
    mu = T(1.2, -0.2, 0.5, 0.5).reshape(2, 2)  # rows sum to 1, but P(1 | 0, 0) = −0.2
    with pytest.raises(ValueError, match=r"must be non-negative, but P\(s'=1 \| s=0, a=0\) = -0\.2"):
        LinearMDP(phi, mu, T(0.0, 0.0), T(0.5, 0.5), 0.9)
    # a round-off negative (−1e-13 ≥ −LINEAR_MDP_TOL) passes and is clipped to 0 in `transitions`
    mu_ok = T(1.0 + 1e-13, -1e-13, 0.5, 0.5).reshape(2, 2)
    lin = LinearMDP(phi, mu_ok, T(0.0, 0.0), T(0.5, 0.5), 0.9)
    assert 1e-13 < LINEAR_MDP_TOL and float(lin.transitions.min()) == 0.0
    lin.tabular()  # the clipped kernel is a valid TabularMDP


@pytest.mark.parametrize("which, bad, message", [
    ("features", T(1.0, 0.0), r"features: expected a non-empty shape \[S, A, d\], got \(2,\)"),
    ("mu", torch.ones(2, 3, dtype=F64) / 3, r"mu: expected shape \[d, S\] = \(2, 2\).*got \(2, 3\)"),
    ("reward_weights", T(1.0, 2.0, 3.0), r"reward_weights: expected shape \[d\] = \(2,\), got \(3,\)"),
    ("initial", T(0.2, 0.3, 0.5), r"initial: expected shape \[S\] = \(2,\), got \(3,\)"),
])
def test_validation_wrong_shapes(which, bad, message):
    parts = dict(zip(("features", "mu", "reward_weights", "initial"), _valid_parts()))
    parts[which] = bad
    with pytest.raises(ValueError, match=message):
        LinearMDP(parts["features"], parts["mu"], parts["reward_weights"], parts["initial"], 0.9)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, float("nan")])
def test_validation_discount_outside_unit_interval(gamma):
    phi, mu, theta, rho = _valid_parts()
    with pytest.raises(ValueError, match=r"discount: must lie in \[0, 1\)"):
        LinearMDP(phi, mu, theta, rho, gamma)


def test_validation_initial_nonfinite_and_types():
    phi, mu, theta, rho = _valid_parts()
    with pytest.raises(ValueError, match=r"initial: rows must sum to 1"):
        LinearMDP(phi, mu, theta, T(0.3, 0.6), 0.9)
    with pytest.raises(ValueError, match=r"initial: negative probability"):
        LinearMDP(phi, mu, theta, T(1.2, -0.2), 0.9)
    bad = phi.clone()
    bad[0, 0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"features: contains NaN or inf"):
        LinearMDP(bad, mu, theta, rho, 0.9)
    with pytest.raises(ValueError, match=r"reward_weights: contains NaN or inf"):
        LinearMDP(phi, mu, T(1.0, float("inf")), rho, 0.9)
    with pytest.raises(TypeError, match=r"features: expected a torch.Tensor, numpy array or sequence"):
        LinearMDP("phi", mu, theta, rho, 0.9)
    with pytest.raises(TypeError, match=r"discount: expected a real number"):
        LinearMDP(phi, mu, theta, rho, "0.9")


# ------------------------------------------------------------------------------------------------------------------
# LinearMDP: generators and the link to the tabular exact layer
# ------------------------------------------------------------------------------------------------------------------
def test_random_linear_mdp_is_valid_by_construction_and_seeded():
    lin = random_linear_mdp(7, 3, 4, seed=0, discount=0.8)
    assert lin.features.shape == (7, 3, 4) and lin.mu.shape == (4, 7) and lin.reward_weights.shape == (4,)
    assert float(lin.features.min()) >= 0 and torch.allclose(lin.features.sum(-1), torch.ones(7, 3, dtype=F64), atol=1e-14)
    assert float(lin.mu.min()) >= 0 and torch.allclose(lin.mu.sum(-1), torch.ones(4, dtype=F64), atol=1e-14)
    assert 0.0 <= float(lin.rewards.min()) and float(lin.rewards.max()) <= 1.0
    assert float((lin.transitions.sum(-1) - 1).abs().max()) <= 1e-14 and lin.discount == 0.8
    again = random_linear_mdp(7, 3, 4, seed=0, discount=0.8)
    assert torch.equal(again.features, lin.features) and torch.equal(again.mu, lin.mu)
    other = random_linear_mdp(7, 3, 4, seed=1, discount=0.8)
    assert float((other.transitions - lin.transitions).abs().max()) > 0.05  # another seed, another MDP
    # concentration: small c gives nearly one-hot features, large c nearly uniform ones
    sharp = random_linear_mdp(7, 3, 4, seed=0, concentration=0.02).features.amax(-1)
    flat = random_linear_mdp(7, 3, 4, seed=0, concentration=1000.0).features.amax(-1)
    assert float(sharp.median()) > 0.99 and float(flat.max()) < 0.3
    with pytest.raises(ValueError, match="concentration: must be positive"):
        random_linear_mdp(3, 2, 2, seed=0, concentration=0.0)
    with pytest.raises(ValueError, match="feature_dim: must be >= 1"):
        random_linear_mdp(3, 2, 0, seed=0)
    with pytest.raises(ValueError, match="seed: must be >= 0"):
        random_linear_mdp(3, 2, 2, seed=-1)


def test_to_device_returns_an_equal_copy():
    lin = random_linear_mdp(4, 2, 3, seed=3)
    moved = lin.to("cpu")
    assert moved is not lin and moved.device.type == "cpu"
    for a, b in ((moved.features, lin.features), (moved.mu, lin.mu), (moved.transitions, lin.transitions),
                 (moved.rewards, lin.rewards), (moved.initial, lin.initial)):
        assert torch.equal(a, b)


def test_q_pi_is_linear_in_the_features_for_every_policy():
    """Jin et al. (2020), Prop. 2.3: Q^π = φᵀw^π with w^π = θ_r + γ Σ_{s'} μ(s') V^π(s'), for every π."""
    lin = random_linear_mdp(8, 3, 4, seed=5, discount=0.9)
    pi = _policies(8, 3, seed=6, batch=(5,))
    ev = evaluate_policy(lin.tabular(), pi)
    w = lin.reward_weights + lin.discount * ev.v @ lin.mu.T  # [5, d]
    assert float((torch.einsum("sad,bd->bsa", lin.features, w) - ev.q).abs().max()) <= 1e-12


def test_one_hot_linear_mdp_is_the_tabular_mdp():
    """The tabular MDP as a linear MDP (d = S·A) and back: identical P, r, ρ, γ, hence identical V*, Q^π and J."""
    for seed in range(3):
        mdp = random_mdp(5, 3, 0.9, seed, sparse=seed == 1)
        lin = one_hot_linear_mdp(mdp)
        assert lin.feature_dim == 15
        back = lin.tabular()
        assert torch.equal(back.transitions, mdp.transitions) and torch.equal(back.rewards, mdp.rewards)
        assert torch.equal(back.initial, mdp.initial) and back.discount == mdp.discount
        v_star, v_back = value_iteration(mdp, tol=1e-13).v, value_iteration(back, tol=1e-13).v
        assert float((v_star - v_back).abs().max()) <= 1e-12
        pi = _policies(5, 3, seed=10 + seed, batch=(4,))
        e1, e2 = evaluate_policy(mdp, pi), evaluate_policy(back, pi)
        assert float((e1.q - e2.q).abs().max()) <= 1e-12 and float((e1.objective - e2.objective).abs().max()) <= 1e-12
    with pytest.raises(TypeError, match="mdp: expected a TabularMDP"):
        one_hot_linear_mdp(lin)


def test_misspecified_linear_mdp_is_epsilon_close_in_total_variation():
    lin = random_linear_mdp(6, 3, 3, seed=2, discount=0.9)
    same = misspecified_linear_mdp(lin, 0.0, seed=4)
    assert float((same.transitions - lin.transitions).abs().max()) <= 1e-15
    for eps in (0.05, 0.3, 1.0):
        m = misspecified_linear_mdp(lin, eps, seed=4)
        assert float((m.transitions.sum(-1) - 1).abs().max()) <= 1e-14 and float(m.transitions.min()) >= 0
        assert torch.equal(m.rewards, lin.rewards) and torch.equal(m.initial, lin.initial)
        tv = 0.5 * (m.transitions - lin.transitions).abs().sum(-1)  # [S, A]
        assert float(tv.max()) <= eps + 1e-14  # Jin et al. Assumption B with ζ = ε
        assert float(tv.max()) >= 0.3 * eps  # and not vacuously: measured 0.59ε at ε = 0.3
    # the features represent Q^π exactly at ε = 0 and only approximately for ε > 0. With sharp features (c = 0.1) the
    # best fit's ‖·‖_D error is measured at 0.0046, 0.0138, 0.0449 for ε = 0.1, 0.3, 1 (Q^π's spread: s.d. 0.21)
    sharp = random_linear_mdp(6, 3, 3, seed=2, discount=0.9, concentration=0.1)
    pi = _policies(6, 3, seed=8)
    errors = [float(best_linear_fit(misspecified_linear_mdp(sharp, eps, seed=4), pi, sharp.features).error)
              for eps in (0.0, 0.1, 0.3)]
    assert errors[0] <= 1e-12
    assert errors[1] >= 0.003 and errors[2] >= 0.01 and errors[2] >= 2 * errors[1]
    with pytest.raises(ValueError, match=r"epsilon: must lie in \[0, 1\]"):
        misspecified_linear_mdp(lin, 1.5, seed=0)
    with pytest.raises(TypeError, match="lin: expected a LinearMDP"):
        misspecified_linear_mdp(same, 0.1, seed=0)


# ------------------------------------------------------------------------------------------------------------------
# exact linear evaluation
# ------------------------------------------------------------------------------------------------------------------
def test_one_hot_features_recover_q_pi_exactly():
    mdp = garnet(6, 3, 3, seed=0, discount=0.9)
    pi = _policies(6, 3, seed=1, batch=(3,))
    phi = torch.eye(18, dtype=F64)  # [S·A, d] layout
    for res in (td_fixed_point(mdp, pi, phi), td_fixed_point(mdp, pi, phi, lam=0.7), best_linear_fit(mdp, pi, phi),
                bellman_residual_minimiser(mdp, pi, phi)):
        assert res.q.shape == (3, 6, 3) and res.w.shape == (3, 18)
        assert float((res.q - res.q_true).abs().max()) <= 1e-10, res.method
        assert float(res.error.max()) <= 1e-10 and float(res.sup_error.max()) <= 1e-10


def test_linear_mdp_features_recover_q_pi_exactly_with_d_below_sa():
    """In a linear MDP Q^π ∈ span(Φ) (d = 4 < S·A = 24), so all three methods are exact under any full-support D."""
    lin = random_linear_mdp(8, 3, 4, seed=11, discount=0.95)
    pi = _policies(8, 3, seed=12, batch=(2,))
    D = torch.softmax(torch.randn(8, 3, generator=_gen(13), dtype=F64).reshape(-1), -1).reshape(8, 3)
    for weights in (None, D):
        for res in (td_fixed_point(lin, pi, lin.features, weights), td_fixed_point(lin, pi, lin.features, weights, lam=0.5),
                    best_linear_fit(lin, pi, lin.features, weights), bellman_residual_minimiser(lin, pi, lin.features, weights)):
            assert float(res.sup_error.max()) <= 1e-10, res.method


def test_td_fixed_point_solves_the_projected_bellman_equation():
    for seed in range(4):
        mdp = random_mdp(6, 3, 0.9, seed)
        pi = _policies(6, 3, seed=20 + seed)
        phi = _features(6, 3, 3, seed=40 + seed)
        Phi = phi.reshape(18, 3)
        for lam in (0.0, 0.3, 0.9):
            res = td_fixed_point(mdp, pi, phi, lam=lam)
            assert float(projected_bellman_residual(mdp, pi, phi, res.w, lam=lam).abs().max()) <= 1e-10
            # the same equation assembled independently: Φᵀ D (T^λ(Φw) − Φw), T^λ from lambda_bellman_operator
            q = Phi @ res.w
            indep = Phi.T @ (res.weights.reshape(-1) * (lambda_bellman_operator(mdp, pi, lam)(q) - q))
            assert float(indep.abs().max()) <= 1e-10
            # twin: the best linear fit does not solve it (measured residuals 0.016 to 0.57 on these instances)
            fit = best_linear_fit(mdp, pi, phi)
            assert float(projected_bellman_residual(mdp, pi, phi, fit.w, lam=lam).abs().max()) >= 0.01
    with pytest.raises(ValueError, match=r"w: expected shape \[\.\.\., d\] = \[\.\.\., 3\]"):
        projected_bellman_residual(mdp, pi, phi, T(1.0, 2.0))


def test_lambda_operator_is_the_lambda_return_and_td_one_is_the_best_fit():
    mdp = random_mdp(4, 2, 0.8, seed=3)
    pi = _policies(4, 2, seed=4)
    q_pi = evaluate_policy(mdp, pi).q.reshape(-1)
    t0 = lambda_bellman_operator(mdp, pi, 0.0)
    Q = torch.randn(8, generator=_gen(5), dtype=F64)
    # T^0 = T^π, and T^λ = (1 − λ) Σ_k λ^k (T^π)^{k+1} (series truncated where λ^k < 1e-17)
    assert torch.allclose(t0(Q), mdp.rewards.reshape(-1) + mdp.discount * state_action_transition_matrix(mdp, pi) @ Q,
                          atol=1e-14, rtol=0)
    lam = 0.6
    series, TkQ = torch.zeros(8, dtype=F64), Q
    for k in range(80):
        TkQ = t0(TkQ)
        series += (1 - lam) * lam**k * TkQ
    tl = lambda_bellman_operator(mdp, pi, lam)
    assert float((tl(Q) - series).abs().max()) <= 1e-12
    assert float((tl(q_pi) - q_pi).abs().max()) <= 1e-12  # Q^π is the fixed point of every T^λ
    assert float(lambda_bellman_operator(mdp, pi, 1.0).A.abs().max()) == 0.0  # T^1 Q = Q^π for every Q
    phi = _features(4, 2, 3, seed=6)
    assert float((td_fixed_point(mdp, pi, phi, lam=1.0).w - best_linear_fit(mdp, pi, phi).w).abs().max()) <= 1e-10
    with pytest.raises(ValueError, match=r"lam: must lie in \[0, 1\]"):
        td_fixed_point(mdp, pi, phi, lam=1.2)


def test_td_differs_from_the_best_fit_on_a_two_state_chain_by_hand():
    """γ = 0.9, constant feature φ ≡ 1, 0 → 1 → 1, r = (0, 1), ρ = δ_0. On-policy D = (1 − γ, γ) = (0.1, 0.9),
    Q^π = (9, 10). Best fit: w = DᵀQ = 9.9, error² = 0.1·0.9² + 0.9·0.1² = 0.09. TD: 0.1·w = Dᵀr = 0.9, w = 9,
    error² = 0.9. So the TD error √0.9 ≈ 0.949 is 3.16 times the best fit's 0.3."""
    mdp = _two_state_chain(0.9)
    phi = torch.ones(2, 1, 1, dtype=F64)
    td, fit = td_fixed_point(mdp, ONE, phi), best_linear_fit(mdp, ONE, phi)
    assert torch.allclose(td.weights.reshape(-1), T(0.1, 0.9), atol=1e-15, rtol=0)
    assert math.isclose(float(td.w), 9.0, abs_tol=1e-12) and math.isclose(float(fit.w), 9.9, abs_tol=1e-12)
    assert math.isclose(float(td.error), math.sqrt(0.9), rel_tol=1e-12)
    assert math.isclose(float(fit.error), 0.3, rel_tol=1e-12)
    brm = bellman_residual_minimiser(mdp, ONE, phi)  # minimises 0.1·(0.1w)² + 0.9·(0.1w − 1)²: w = 9
    assert math.isclose(float(brm.w), 9.0, abs_tol=1e-12)


def test_td_differs_from_the_best_fit_on_a_random_instance():
    """A concrete random instance with d = 3 < S·A = 18: the TD(0) fixed point's error is measured at 1.165 times the
    best linear fit's 3.33 (asserted ≥ 1.1 times, i.e. ≥ 0.33 larger), and the weights differ by 1.83 (asserted ≥ 1)."""
    mdp = garnet(6, 3, 3, seed=7, discount=0.9)
    pi = _policies(6, 3, seed=8)
    phi = _features(6, 3, 3, seed=9)
    td, fit = td_fixed_point(mdp, pi, phi), best_linear_fit(mdp, pi, phi)
    assert float(td.error) >= 1.1 * float(fit.error) and float(fit.error) > 3.0
    assert float((td.w - fit.w).abs().max()) >= 1.0
    # the Bellman-residual minimiser is a third, different answer (error 1.21 times the best fit's; its weights
    # differ from TD's by 0.305)
    brm = bellman_residual_minimiser(mdp, pi, phi)
    assert float(brm.error) >= 1.15 * float(fit.error) and float((brm.w - td.w).abs().max()) >= 0.2


def test_bellman_residual_minimiser_minimises_the_bellman_residual():
    mdp = random_mdp(6, 3, 0.9, seed=21)
    pi = _policies(6, 3, seed=22)
    phi = _features(6, 3, 2, seed=23)
    D = state_action_occupancy(mdp, pi)
    T0 = lambda_bellman_operator(mdp, pi, 0.0)

    def bellman_error(res):
        q = res.q.reshape(-1)
        return float(weighted_norm((T0(q) - q).reshape(6, 3), D))

    brm, td, fit = (f(mdp, pi, phi) for f in (bellman_residual_minimiser, td_fixed_point, best_linear_fit))
    b_brm = bellman_error(brm)
    assert b_brm <= bellman_error(td) - 1e-3 and b_brm <= bellman_error(fit) - 1e-3
    # first-order condition: Mᵀ D (M w − r) = 0 with M = Φ − γP_πΦ
    Phi = phi.reshape(18, 2)
    M = Phi - mdp.discount * state_action_transition_matrix(mdp, pi) @ Phi
    grad = M.T @ (D.reshape(-1) * (M @ brm.w - mdp.rewards.reshape(-1)))
    assert float(grad.abs().max()) <= 1e-12
    # and it is a minimum: perturbing w in any coordinate increases the Bellman error
    for i in range(2):
        for h in (1e-3, -1e-3):
            w = brm.w.clone()
            w[i] += h
            q = (Phi @ w)
            assert float(weighted_norm((T0(q) - q).reshape(6, 3), D)) > b_brm


def _random_instance(seed: int):
    """A random (MDP, 3 policies, features) instance: S ∈ [2, 6], A ∈ [1, 3], d ∈ [1, S·A), γ ∈ {0.5, 0.9, 0.99}; the
    MDP, policies and features from seeds seed, seed + 1000 and seed + 2000."""
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    d = int(rng.integers(1, S * A))
    gamma = float(rng.choice([0.5, 0.9, 0.99]))
    mdp = random_mdp(S, A, gamma, seed)
    pi = _policies(S, A, seed=seed + 1000, batch=(3,))
    phi = _features(S, A, d, seed=seed + 2000)
    return mdp, pi, phi, gamma, S, A


def test_tsitsiklis_van_roy_bound_with_the_stationary_distribution():
    """TvR (1997), Thm 1 / Lemma 6 with κ = γ(1 − λ)/(1 − γλ): ‖Φw_TD − Q‖_D ≤ ‖ΠQ − Q‖_D/√(1 − κ²) for D the
    stationary distribution of P_π — on 120 random instances × 3 policies × λ ∈ {0, 0.5}. The largest ratio (error
    over bound) is recorded: it comes close to 1 (the bound is nearly tight), so the check is not vacuous."""
    worst = 0.0
    for seed in range(120):
        mdp, pi, phi, gamma, S, A = _random_instance(1000 + seed)
        D = stationary_state_action_distribution(mdp, pi)
        assert float((D.sum((-2, -1)) - 1).abs().max()) <= 1e-12
        DP = (D.reshape(3, 1, -1) @ state_action_transition_matrix(mdp, pi)).reshape(3, S, A)
        assert float((DP - D).abs().max()) <= 1e-12  # stationary: Dᵀ P_π = Dᵀ
        fit = best_linear_fit(mdp, pi, phi, D)
        for lam in (0.0, 0.5):
            kappa = gamma * (1 - lam) / (1 - gamma * lam)
            td = td_fixed_point(mdp, pi, phi, D, lam=lam)
            bound = fit.error / math.sqrt(1 - kappa**2)
            assert bool((td.error <= bound * (1 + 1e-9) + 1e-12).all()), (seed, lam)
            assert bool((td.error >= fit.error * (1 - 1e-9) - 1e-12).all())  # the projection is the best
            worst = max(worst, float((td.error / bound).max()))
    assert 0.9 < worst <= 1.0 + 1e-9


def test_tsitsiklis_van_roy_bound_with_the_discounted_occupancy():
    """With D = d^π_ρ ⊗ π (the default) only γ Dᵀ P_π ≤ Dᵀ holds, so ‖γP_π f‖_D ≤ √γ‖f‖_D and the provable bound is
    ‖Φw_TD − Q‖_D ≤ ‖ΠQ − Q‖_D/√(1 − γ): checked on 120 random instances (ρ random, hence D ≠ stationary). The
    two-state chain breaks the √(1 − γ²) version by a factor √0.9/(0.3/√0.19) = 1.378 and attains the √(1 − γ) one."""
    for seed in range(120):
        mdp, pi, phi, gamma, S, A = _random_instance(5000 + seed)
        td, fit = td_fixed_point(mdp, pi, phi), best_linear_fit(mdp, pi, phi)
        assert bool((td.error <= fit.error / math.sqrt(1 - gamma) * (1 + 1e-9) + 1e-12).all()), seed
    mdp = _two_state_chain(0.9)
    phi = torch.ones(2, 1, 1, dtype=F64)
    td, fit = td_fixed_point(mdp, ONE, phi), best_linear_fit(mdp, ONE, phi)
    ratio_tvr = float(td.error) / (float(fit.error) / math.sqrt(1 - 0.9**2))
    assert math.isclose(ratio_tvr, math.sqrt(0.9) / (0.3 / math.sqrt(0.19)), rel_tol=1e-12) and ratio_tvr > 1.37
    assert math.isclose(float(td.error), float(fit.error) / math.sqrt(1 - 0.9), rel_tol=1e-12)
    # with the stationary distribution (all mass on the absorbing state) the same chain is fitted exactly
    D = stationary_state_action_distribution(mdp, ONE)
    assert torch.equal(D.reshape(-1), T(0.0, 1.0))
    assert float(td_fixed_point(mdp, ONE, phi, D).error) <= 1e-12


def test_off_policy_weighting_can_make_td_far_worse_or_singular():
    """The "w → 2w" chain (Sutton & Barto 2018, §11.2; Tsitsiklis & Van Roy 1997): features φ = (1, 2), 0 → 1 → 1,
    r = (1, 0), Q^π = (1, 0). Off-policy D = (0.99, 0.01) at γ = 0.5: TD solves 0.99·(1 − 2γ)w + 0.02·(2 − 2γ)w = 0.99,
    w = 49.5, error 49.26 — 251 times the best fit's 0.196 — while on-policy TD errs by 0.79. With D = (1, 0) the TD
    system is 1·(1 − 2γ)w = 1: singular at γ = 0.5."""
    mdp = _two_state_chain(0.5, rewards=(1.0, 0.0))
    phi = T(1.0, 2.0).reshape(2, 1, 1)
    D = T(0.99, 0.01).reshape(2, 1)
    td, fit = td_fixed_point(mdp, ONE, phi, D), best_linear_fit(mdp, ONE, phi, D)
    assert math.isclose(float(td.w), 49.5, rel_tol=1e-12)
    assert float(td.error) >= 49.0 and float(fit.error) <= 0.2 and float(td.error) >= 200 * float(fit.error)
    on = td_fixed_point(mdp, ONE, phi)
    assert 0.7 <= float(on.error) <= 0.8
    with pytest.raises(ValueError, match=r"td_fixed_point: the projected Bellman system .* is singular"):
        td_fixed_point(mdp, ONE, phi, T(1.0, 0.0).reshape(2, 1))
    # the best fit under that D is still well defined (Φ restricted to the support of D has rank 1): w = 1
    assert math.isclose(float(best_linear_fit(mdp, ONE, phi, T(1.0, 0.0)).w), 1.0, rel_tol=1e-12)
    # with D = (0.99, 0.01) the system 0.99(1 − 2γ) + 0.02(2 − 2γ) is singular at γ* = 1.03/2.02 ≈ 0.5099; near it
    # the TD solution blows up: at γ = 0.505, w = 0.99/0.0099 = 100 and the error exceeds 100
    near = td_fixed_point(mdp.with_discount(0.505), ONE, phi, D)
    assert math.isclose(float(near.w), 0.99 / (0.99 * (1 - 1.01) + 0.02 * (2 - 1.01)), rel_tol=1e-10)
    assert math.isclose(float(near.w), 100.0, rel_tol=1e-10) and float(near.error) >= 100.0
    with pytest.raises(ValueError, match=r"is singular"):
        td_fixed_point(mdp.with_discount(1.03 / 2.02), ONE, phi, D)
    assert SINGULAR_RCOND == 1e-12


def test_batched_policies_equal_one_at_a_time():
    mdp = random_mdp(5, 3, 0.9, seed=31)
    pi = _policies(5, 3, seed=32, batch=(2, 3))
    phi = _features(5, 3, 4, seed=33)
    for f, kw in ((td_fixed_point, {}), (td_fixed_point, {"lam": 0.4}), (best_linear_fit, {}), (bellman_residual_minimiser, {})):
        batch = f(mdp, pi, phi, **kw)
        assert batch.w.shape == (2, 3, 4) and batch.error.shape == (2, 3)
        for i in range(2):
            for j in range(3):
                one = f(mdp, pi[i, j], phi, **kw)
                assert float((one.w - batch.w[i, j]).abs().max()) <= 1e-10 * (1 + float(one.w.abs().max()))
    # one weighting shared by every policy of the batch (broadcast), in the flat [S·A] layout
    D = torch.full((15,), 1 / 15, dtype=F64)
    shared = td_fixed_point(mdp, pi, phi, D)
    assert torch.allclose(shared.w[1, 2], td_fixed_point(mdp, pi[1, 2], phi, D.reshape(5, 3)).w, atol=1e-12, rtol=0)


def test_linear_evaluation_validation():
    mdp = random_mdp(3, 2, 0.9, seed=41)
    pi = _policies(3, 2, seed=42)
    phi = _features(3, 2, 2, seed=43)
    with pytest.raises(ValueError, match=r"features: expected shape \[S, A, d\] = \[3, 2, d\] or \[S·A, d\] = \[6, d\]"):
        td_fixed_point(mdp, pi, torch.ones(3, 3, 2, dtype=F64))
    with pytest.raises(ValueError, match=r"features: contains NaN"):
        best_linear_fit(mdp, pi, torch.full((6, 2), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match=r"weights: rows must sum to 1"):
        td_fixed_point(mdp, pi, phi, torch.full((3, 2), 0.2, dtype=F64))
    with pytest.raises(ValueError, match=r"weights: negative probability"):
        best_linear_fit(mdp, pi, phi, T(0.5, 0.5, 0.5, -0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"weights: expected a distribution over \(s, a\) of shape"):
        bellman_residual_minimiser(mdp, pi, phi, T(0.5, 0.5))
    with pytest.raises(ValueError, match=r"pi: expected shape \[\.\.\., S, A\] = \[\.\.\., 3, 2\]"):
        td_fixed_point(mdp, torch.full((2, 3), 1 / 3, dtype=F64), phi)
    with pytest.raises(ValueError, match=r"pi: rows must sum to 1"):
        td_fixed_point(mdp, torch.full((3, 2), 0.3, dtype=F64), phi)
    with pytest.raises(TypeError, match=r"mdp: expected a TabularMDP or LinearMDP"):
        td_fixed_point("mdp", pi, phi)
    # dependent features: the best fit and the residual minimiser are not unique
    dep = torch.cat([phi, 2 * phi[..., :1]], -1)
    with pytest.raises(ValueError, match=r"best_linear_fit: features: the least-squares problem is rank-deficient"):
        best_linear_fit(mdp, pi, dep)
    with pytest.raises(ValueError, match=r"bellman_residual_minimiser: features: the least-squares problem is rank-deficient"):
        bellman_residual_minimiser(mdp, pi, dep)
    with pytest.raises(ValueError, match=r"td_fixed_point: the projected Bellman system .* is singular"):
        td_fixed_point(mdp, pi, dep)
    # a chain with two closed classes has no unique stationary distribution
    P = torch.eye(2, dtype=F64).reshape(2, 1, 2)
    two = TabularMDP(P, torch.zeros(2, 1, dtype=F64), 0.9, T(0.5, 0.5))
    with pytest.raises(ValueError, match=r"pi: the state chain P_π has more than one stationary distribution"):
        stationary_state_action_distribution(two, ONE)


# ------------------------------------------------------------------------------------------------------------------
# G-optimal design
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, d, seed", [(20, 3, 0), (60, 5, 1), (200, 8, 2), (100, 2, 3)])
def test_g_optimal_design_certificate_on_random_features(n, d, seed):
    X = torch.randn(n, d, generator=_gen(seed), dtype=F64)
    res = g_optimal_design(X)
    assert res.converged and res.dim == d and 0 < res.iterations < 100_000
    assert 0.0 <= res.max_leverage - d <= 1e-6  # Kiefer–Wolfowitz: max leverage ≥ d always, = d at the optimum
    assert float(res.weights.min()) >= 0 and math.isclose(float(res.weights.sum()), 1.0, abs_tol=1e-12)
    assert math.isclose(float((res.weights * res.leverages).sum()), d, rel_tol=1e-10)  # Σ ρ_i g_i = tr(I) = d
    assert torch.allclose(res.leverages, design_leverages(X, res.weights), rtol=1e-10, atol=0)
    # D-optimality: no random design has a larger log det V (checked against 200 Dirichlet draws)
    logdet = lambda w: float(torch.logdet((X * w[:, None]).T @ X))  # noqa: E731
    best = logdet(res.weights)
    others = torch.from_numpy(np.random.default_rng(seed).dirichlet(np.ones(n), size=200))
    assert max(logdet(w) for w in others) < best


@pytest.mark.parametrize("n, d, seed", [(20, 3, 0), (60, 5, 1), (200, 8, 2), (500, 4, 4)])
def test_g_optimal_design_support_after_pruning(n, d, seed):
    """Kiefer–Wolfowitz / Carathéodory: an optimal design on ≤ d(d+1)/2 points exists. What we test: the weights above
    1e-6 are on at least d and at most d(d+1)/2 points, and the pruned, renormalised design still certifies
    max leverage ≤ d(1 + 1e-5) (the away steps drop points exactly, so pruning removes almost nothing)."""
    X = torch.randn(n, d, generator=_gen(seed), dtype=F64)
    res = g_optimal_design(X)
    keep = res.weights > 1e-6
    assert d <= int(keep.sum()) <= d * (d + 1) // 2
    pruned = torch.where(keep, res.weights, torch.zeros_like(res.weights))
    pruned = pruned / pruned.sum()
    assert float(design_leverages(X, pruned).max()) <= d * (1 + 1e-5)
    assert torch.equal(res.support(1e-6), keep.nonzero().squeeze(-1))


def test_g_optimal_design_is_invariant_under_linear_maps():
    """Leverages φᵀV⁻¹φ do not change under φ ↦ Mᵀφ (M invertible), so every Frank–Wolfe step, hence the design and its
    leverages, are the same up to round-off."""
    X = torch.randn(80, 4, generator=_gen(5), dtype=F64)
    M = torch.randn(4, 4, generator=_gen(6), dtype=F64) + 2 * torch.eye(4, dtype=F64)
    a, b = g_optimal_design(X), g_optimal_design(X @ M)
    assert a.iterations == b.iterations
    assert float((a.weights - b.weights).abs().max()) <= 1e-8
    assert float((a.leverages - b.leverages).abs().max()) <= 1e-8


def test_g_optimal_design_hand_computed_cases():
    # the d standard basis vectors: uniform weights 1/d, every leverage d, optimal from the start
    res = g_optimal_design(torch.eye(4, dtype=F64))
    assert torch.allclose(res.weights, torch.full((4,), 0.25, dtype=F64), atol=1e-15, rtol=0)
    assert torch.allclose(res.leverages, torch.full((4,), 4.0, dtype=F64), atol=1e-14, rtol=0)
    assert res.iterations == 0 and res.converged and math.isclose(res.max_leverage, 4.0, abs_tol=1e-14)
    # d = 1: all weight on the largest |x|, leverages x_i²/x_max²
    res = g_optimal_design(T(1.0, -3.0, 2.0).reshape(3, 1))
    assert torch.allclose(res.weights, T(0.0, 1.0, 0.0), atol=1e-15, rtol=0)
    assert torch.allclose(res.leverages, T(1 / 9, 1.0, 4 / 9), atol=1e-14, rtol=0)
    # e1, e2 and a short vector 0.1·e1 inside: the short one is dropped, leverages (2, 2, 0.02)
    res = g_optimal_design(T(1.0, 0.0, 0.0, 1.0, 0.1, 0.0).reshape(3, 2))
    assert torch.allclose(res.weights, T(0.5, 0.5, 0.0), atol=1e-12, rtol=0)
    assert torch.allclose(res.leverages, T(2.0, 2.0, 0.02), atol=1e-10, rtol=0)
    # three unit vectors at 120°: uniform by symmetry, V = I/2, every leverage 2
    th = T(0.0, 2 * math.pi / 3, 4 * math.pi / 3)
    res = g_optimal_design(torch.stack([th.cos(), th.sin()], -1))
    assert torch.allclose(res.weights, torch.full((3,), 1 / 3, dtype=F64), atol=1e-12, rtol=0)
    assert torch.allclose(res.leverages, torch.full((3,), 2.0, dtype=F64), atol=1e-12, rtol=0)


def test_g_optimal_design_iteration_cap_and_validation():
    X = torch.randn(100, 6, generator=_gen(7), dtype=F64)
    capped = g_optimal_design(X, max_iter=3)
    assert not capped.converged and capped.iterations == 3
    assert capped.max_leverage > 6 * (1 + 1e-9) and capped.max_leverage >= 6  # not optimal yet, still ≥ d
    # any design has max leverage ≥ d (the lower bound behind the certificate)
    for seed in range(5):
        w = torch.softmax(torch.randn(100, generator=_gen(100 + seed), dtype=F64), 0)
        assert float(design_leverages(X, w).max()) >= 6.0
    with pytest.raises(ValueError, match=r"features: the n = 3 feature vectors span a subspace of dimension 1 < d = 2"):
        g_optimal_design(T(1.0, 2.0, 2.0, 4.0, -1.0, -2.0).reshape(3, 2))
    with pytest.raises(ValueError, match=r"features: expected a non-empty matrix \[n, d\]"):
        g_optimal_design(T(1.0, 2.0))
    with pytest.raises(ValueError, match=r"features: contains NaN"):
        g_optimal_design(T(1.0, float("nan")).reshape(2, 1))
    with pytest.raises(ValueError, match=r"tol: must be positive"):
        g_optimal_design(X, tol=0.0)
    with pytest.raises(ValueError, match=r"weights: V\(ρ\) = Σ ρ_i φ_i φ_iᵀ is singular"):
        design_leverages(torch.eye(2, dtype=F64), T(1.0, 0.0))
