"""The LQR testbed (issue 12, item 3): closed forms checked against each other, against recursions that never use
them, and against sampled trajectories.

Statistical assertions use :func:`pgtheory.stats.bias_test` (Bonferroni over the coordinates, Student t) at family
level ALPHA = 1e-6 with fixed seeds: a correct estimator fails a given seed with probability ≈ 1e-6 under the normal
approximation. The per-episode estimates here are products of Gaussian quadratics (skewed, heavier-tailed than a
Gaussian), so that nominal rate is asymptotic; at the 5σ quantile and N = 200,000 an Edgeworth-sized correction can
move it by a small factor — read the false-failure rate as ≲ 1e-5 per assertion. Every twin first asserts (from the
sample s.d.) that its exact deviation is detectable at the same N with power ≥ 0.99, then that the test flags it.
"""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from pgtheory.exact.lqr import (check_lqr_stable, evaluate_lqr, lqr_closed_loop_radius, lqr_fisher_information,
                                lqr_log_std_gradient, lqr_natural_gradient, lqr_objective, lqr_optimal_gain,
                                lqr_policy_gradient, lqr_policy_gradient_autograd, lqr_policy_gradient_finite_difference,
                                lqr_riccati_residual, lqr_state_covariance, lqr_value_matrix, solve_discounted_lyapunov)
from pgtheory.policies.gaussian import LinearGaussianPolicy
from pgtheory.problems.lqr import LQR, is_stabilisable, random_lqr
from pgtheory.sampling.lqr import sample_lqr_trajectories
from pgtheory.stats import bias_test, detection_power

ALPHA = 1e-6
F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _near_optimal(lqr: LQR, scale: float, seed: int, batch: tuple[int, ...] = ()) -> torch.Tensor:
    """K* + scale·Z (Z standard Gaussian), checked stabilising."""
    Ks = lqr_optimal_gain(lqr).gain
    K = Ks + scale * torch.randn(*batch, *Ks.shape, generator=_gen(seed), dtype=F64)
    return check_lqr_stable(lqr, K)


CASES = [  # (n, m, γ, σ, seed, size of the perturbation of K*): γ = 0 (a contextual bandit), short and long horizons, m > n
    (3, 2, 0.0, 0.7, 0, 0.3),
    (3, 2, 0.6, 0.7, 1, 0.3),
    (2, 1, 0.9, 0.4, 2, 0.1),
    (2, 3, 0.8, 1.3, 3, 0.05),
]


# ------------------------------------------------------------------------------------------------------------------
# exact: three routes to ∇J, and recursions that never use the closed forms
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, m, gamma, std, seed, pert", CASES)
def test_gradient_three_ways(n, m, gamma, std, seed, pert):
    """Closed form −2E_KΣ_K = autograd through J = central differences, for a batch of gains (and for log σ)."""
    lqr = random_lqr(n, m, seed=seed, discount=gamma)
    pol = LinearGaussianPolicy(n, m, std=std)
    K = _near_optimal(lqr, pert, seed + 10, batch=(3,))
    g = lqr_policy_gradient(lqr, pol, K)
    assert g.shape == (3, m, n)
    scale = float(g.abs().max())
    assert scale > 1e-3  # not at the optimum: the comparison is not vacuous
    assert float((lqr_policy_gradient_autograd(lqr, pol, K) - g).abs().max()) <= 1e-10 * scale
    assert float((lqr_policy_gradient_finite_difference(lqr, pol, K) - g).abs().max()) <= 1e-8 * scale
    # one gain at a time equals the batch
    assert torch.allclose(lqr_policy_gradient(lqr, pol, K[1]), g[1], rtol=1e-12, atol=0)
    # the learnable log-std: closed form = autograd = central difference, also with a batched log σ
    ls = torch.tensor([math.log(std), math.log(std) + 0.3, math.log(std) - 0.2], dtype=F64)
    closed = lqr_log_std_gradient(lqr, pol, K, log_std=ls)
    auto = torch.func.grad(lambda v: lqr_objective(lqr, pol, K, log_std=v).sum())(ls)
    h = 1e-5
    fd = (lqr_objective(lqr, pol, K, log_std=ls + h) - lqr_objective(lqr, pol, K, log_std=ls - h)) / (2 * h)
    assert torch.allclose(closed, auto, rtol=1e-10, atol=0) and torch.allclose(closed, fd, rtol=1e-8, atol=0)
    # ∇_K J with a batched log σ: closed form = autograd
    assert torch.allclose(lqr_policy_gradient(lqr, pol, K, log_std=ls), lqr_policy_gradient_autograd(lqr, pol, K, log_std=ls),
                          rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize("n, m, gamma, std, seed, pert", CASES)
def test_closed_forms_match_recursions(n, m, gamma, std, seed, pert):
    """P_K = the fixed point of P ← Q + KᵀRK + γLᵀPL (iterated) = scipy's discrete Lyapunov solver; Σ_K = Σ_t γ^t M_t and
    J = −Σ_t γ^t E c_t from the moment recursion M_{t+1} = L M_t Lᵀ + W + σ²BBᵀ (which never uses P_K: it checks the
    noise terms of J independently)."""
    lqr = random_lqr(n, m, seed=seed, discount=gamma, noise_std=0.5)
    pol = LinearGaussianPolicy(n, m, std=std)
    K = _near_optimal(lqr, pert, seed + 20)
    A, B, Q, R, W, S0 = lqr.A, lqr.B, lqr.Q, lqr.R, lqr.noise_cov, lqr.initial_cov
    L = A - B @ K
    Y = Q + K.T @ R @ K
    P_it = torch.zeros_like(Q)
    for _ in range(5000):
        new = Y + gamma * L.T @ P_it @ L
        if float((new - P_it).abs().max()) == 0.0:
            break
        P_it = new
    P = lqr_value_matrix(lqr, K)
    assert torch.allclose(P, P_it, rtol=1e-12, atol=1e-12 * float(P.abs().max()))
    P_sp = scipy.linalg.solve_discrete_lyapunov(math.sqrt(gamma) * L.T.numpy(), Y.numpy())
    assert np.allclose(P.numpy(), P_sp, rtol=1e-11, atol=1e-11 * float(P.abs().max()))
    # moment recursion
    Wsig = W + std**2 * B @ B.T
    M, Sig, J, disc = S0.clone(), torch.zeros_like(S0), 0.0, 1.0
    for _ in range(5000):
        Sig = Sig + disc * M
        J -= disc * (float(torch.trace(Y @ M)) + std**2 * float(torch.trace(R)))
        M = L @ M @ L.T + Wsig
        disc *= gamma
        if disc * float(M.abs().max()) < 1e-18:
            break
    ev = evaluate_lqr(lqr, pol, K)
    assert torch.allclose(ev.state_covariance, Sig, rtol=1e-11, atol=1e-11 * float(Sig.abs().max()))
    assert abs(float(ev.objective) - J) <= 1e-11 * abs(J)
    # the Bellman equation of V_K(x) = −(xᵀPx + q): (1 − γ) q = σ² tr R + γ tr(P W_σ)
    assert math.isclose(float((1 - gamma) * ev.offset), std**2 * float(torch.trace(R)) + gamma * float(torch.trace(P @ Wsig)),
                        rel_tol=1e-12)
    # twin: J without the noise terms (−tr(P_KΣ_0), Fazel et al.'s noise-free cost) is not this J unless all noise is 0
    if gamma > 0:
        assert abs(-float(torch.trace(P @ S0)) - J) > 1e-3 * abs(J)


def test_lyapunov_solver_and_stability_errors():
    lqr = random_lqr(3, 1, seed=4, discount=0.95, open_loop_radius=1.2)
    pol = LinearGaussianPolicy(3, 1)
    zero = torch.zeros(1, 3, dtype=F64)  # open loop: ρ(√γ A) = √0.95·1.2 > 1
    assert float(lqr_closed_loop_radius(lqr, zero)) > 1
    with pytest.raises(ValueError, match=r"K: does not stabilise the discounted system: ρ\(√γ\(A − BK\)\) = 1\.1"):
        lqr_objective(lqr, pol, zero)
    K = _near_optimal(lqr, 0.0, 0)
    with pytest.raises(ValueError, match=r"K: .* at batch index \(1,\)"):
        lqr_policy_gradient(lqr, pol, torch.stack([K, zero]))
    with pytest.raises(ValueError, match=r"L: the series .* diverges"):
        solve_discounted_lyapunov(2 * torch.eye(2, dtype=F64), torch.eye(2, dtype=F64), 0.5)
    # solve_discounted_lyapunov against the series it sums
    Lm = 0.5 * torch.randn(3, 3, generator=_gen(0), dtype=F64)
    Y = torch.eye(3, dtype=F64)
    series = sum(0.9**t * torch.linalg.matrix_power(Lm, t) @ Y @ torch.linalg.matrix_power(Lm.T, t) for t in range(400))
    assert torch.allclose(solve_discounted_lyapunov(Lm, Y, 0.9), series, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, m, gamma, std, seed, pert", CASES)
def test_optimal_gain(n, m, gamma, std, seed, pert):
    """K* solves the discounted Riccati equation, ∇J(K*) = 0, and J(K*) ≥ J(K) for perturbed stabilising K — for every σ
    and W (certainty equivalence)."""
    lqr = random_lqr(n, m, seed=seed, discount=gamma)
    sol = lqr_optimal_gain(lqr)
    Ks, Ps = sol.gain, sol.value_matrix
    assert float(lqr_riccati_residual(lqr, Ps)) <= 1e-10 * float(Ps.abs().max())
    assert torch.allclose(lqr_value_matrix(lqr, Ks), Ps, rtol=1e-12, atol=1e-12 * float(Ps.abs().max()))
    # scipy's DARE on (√γA, √γB) gives the same P*
    sg = math.sqrt(gamma)
    if gamma > 0:
        P_sp = scipy.linalg.solve_discrete_are(sg * lqr.A.numpy(), sg * lqr.B.numpy(), lqr.Q.numpy(), lqr.R.numpy())
        assert np.allclose(Ps.numpy(), P_sp, rtol=1e-9, atol=1e-9)
    for s, noisy in ((std, lqr), (3 * std, LQR(lqr.A, lqr.B, lqr.Q, lqr.R, gamma, noise_cov=torch.eye(n, dtype=F64)))):
        pol = LinearGaussianPolicy(n, m, std=s)
        ev = evaluate_lqr(noisy, pol, Ks)
        assert float(ev.gain_residual.abs().max()) <= 1e-10 * (1 + float(Ks.abs().max()))
        assert float(lqr_policy_gradient(noisy, pol, Ks).abs().max()) <= 1e-9 * (1 + abs(float(ev.objective)))
        dK = torch.randn(64, m, n, generator=_gen(seed), dtype=F64) * torch.tensor([0.01, 0.1, 0.3, 1.0], dtype=F64).repeat(16)[:, None, None]
        Kp = Ks + dK
        stable = lqr_closed_loop_radius(noisy, Kp) < 1
        assert int(stable.sum()) >= 32
        Jp = lqr_objective(noisy, pol, Kp[stable])
        assert bool((Jp <= ev.objective + 1e-12 * abs(float(ev.objective))).all())
        assert float((ev.objective - Jp).max()) > 0  # the perturbations do lower J


def test_optimal_gain_rejects_unstabilisable():
    A = torch.diag(torch.tensor([2.0, 0.5], dtype=F64))
    B = torch.tensor([[0.0], [1.0]], dtype=F64)  # the unstable mode is not actuated
    lqr = LQR(A, B, torch.eye(2, dtype=F64), torch.eye(1, dtype=F64), 0.9)
    assert not is_stabilisable(A, B, 0.9) and is_stabilisable(A, B, 0.2)  # √0.2·2 < 1: discounting stabilises
    with pytest.raises(ValueError, match="lqr: .* not stabilisable"):
        lqr_optimal_gain(lqr)
    assert float(lqr_closed_loop_radius(lqr.with_discount(0.2), lqr_optimal_gain(lqr.with_discount(0.2)).gain)) < 1


def test_fisher_and_natural_gradient():
    """The policy's per-state Fisher I⊗xxᵀ/σ² equals −∇²_K log π (autograd) and the mean outer product of scores;
    F(K) = I⊗(1−γ)Σ_K/σ²; F⁺∇J = −2σ²E_K/(1−γ) = solve(F, ∇J)."""
    n, m, gamma, std = 3, 2, 0.7, 0.6
    lqr = random_lqr(n, m, seed=5, discount=gamma)
    pol = LinearGaussianPolicy(n, m, std=std)
    K = _near_optimal(lqr, 0.4, 1)
    x = torch.randn(n, generator=_gen(0), dtype=F64)
    u = pol.sample(K, x, _gen(1))
    H = torch.func.hessian(lambda k: pol.log_prob(k, x, u))(K).reshape(m * n, m * n)
    assert torch.allclose(pol.fisher(x), -H, rtol=1e-12, atol=1e-14)
    N = 400_000
    us = pol.sample(K, x.expand(N, n), _gen(2))
    s = pol.score(K, x, us).reshape(-1, m * n)
    emp = s.T @ s / N  # entries ε_iε_k x_j x_l/σ²: s.d. ≤ √2·max|F| per sample, so this is a 6σ band (fixed seed)
    assert torch.allclose(emp, pol.fisher(x), rtol=0, atol=6 * 2**0.5 * float(pol.fisher(x).abs().max()) / N**0.5)
    F = lqr_fisher_information(lqr, pol, K)
    Sig = lqr_state_covariance(lqr, pol, K)
    assert torch.allclose(F, torch.kron(torch.eye(m, dtype=F64), (1 - gamma) * Sig / std**2), rtol=1e-13, atol=0)
    g = lqr_policy_gradient(lqr, pol, K).reshape(-1)
    nat = lqr_natural_gradient(lqr, pol, K)
    assert torch.allclose(nat.reshape(-1), torch.linalg.solve(F, g), rtol=1e-9, atol=1e-12)
    E = evaluate_lqr(lqr, pol, K).gain_residual
    assert torch.allclose(nat, -2 * std**2 * E / (1 - gamma), rtol=1e-9, atol=1e-12)


def test_policy_log_prob_scores_and_batching():
    n, m = 3, 2
    pol = LinearGaussianPolicy(n, m, std=0.8)
    K = pol.random_params(4, generator=_gen(0))  # [4, m, n]
    x = torch.randn(5, n, generator=_gen(1), dtype=F64)
    u = torch.randn(4, 5, m, generator=_gen(2), dtype=F64)
    lp = pol.log_prob(K[:, None], x, u)  # gains [4, 1] broadcast against states [5]
    assert lp.shape == (4, 5)
    ref = torch.distributions.MultivariateNormal(-(K[:, None] @ x[..., None]).squeeze(-1), 0.64 * torch.eye(m, dtype=F64))
    assert torch.allclose(lp, ref.log_prob(u), rtol=1e-13)
    # closed-form scores = autograd of Σ log π, in K and in a learnable log σ
    ls = torch.tensor(math.log(0.8), dtype=F64)
    gK, gls = torch.func.grad(lambda k, l: pol.log_prob(k[:, None], x, u, log_std=l).sum(), argnums=(0, 1))(K, ls)
    assert torch.allclose(pol.score(K[:, None], x, u).sum(1), gK, rtol=1e-12)
    assert torch.allclose(pol.score_log_std(K[:, None], x, u).sum(), gls, rtol=1e-12)
    # a batched log σ broadcasts like the batch of K
    lsb = torch.log(torch.tensor([0.5, 1.0, 2.0, 0.8], dtype=F64))[:, None]
    sb = pol.score(K[:, None], x, u, log_std=lsb)
    assert torch.allclose(sb[3], pol.score(K[3], x, u[3]), rtol=1e-13)
    assert torch.allclose(sb[0], pol.score(K[0], x, u[0]) * 0.64 / 0.25, rtol=1e-13)
    assert pol.sample(K[:, None], x, _gen(3)).shape == (4, 5, m)


# ------------------------------------------------------------------------------------------------------------------
# sampling and Monte Carlo
# ------------------------------------------------------------------------------------------------------------------
def test_sampler_layout_dynamics_and_reproducibility():
    n, m, gamma = 2, 2, 0.7
    base = random_lqr(n, m, seed=0, discount=gamma)
    lqr = LQR(base.A, base.B, base.Q, base.R, gamma)  # W = 0: next states follow exactly from (x, u)
    pol = LinearGaussianPolicy(n, m, std=0.5)
    K = _near_optimal(lqr, 0.2, 0)
    tr = sample_lqr_trajectories(lqr, pol, K, 2000, _gen(0))
    again = sample_lqr_trajectories(lqr, pol, K, 2000, _gen(0))
    assert torch.equal(tr.states, again.states) and torch.equal(tr.actions, again.actions)
    assert tr.step_offsets[-1] == tr.n_transitions and int(tr.lengths().sum()) == tr.n_transitions
    assert bool((tr.lengths() >= 1).all())
    mean_len = float(tr.lengths().double().mean())
    assert abs(mean_len - 1 / (1 - gamma)) < 6 * math.sqrt(gamma) / (1 - gamma) / math.sqrt(2000)
    X, U, mask = tr.padded(tr.states), tr.padded(tr.actions), tr.padded(torch.ones(tr.n_transitions, dtype=F64)) > 0
    nxt = X[:, :-1] @ lqr.A.T + U[:, :-1] @ lqr.B.T
    live = mask[:, 1:]
    assert torch.allclose(X[:, 1:][live], nxt[live], rtol=1e-12, atol=1e-12)
    assert torch.allclose(tr.rewards, -((tr.states @ lqr.Q) * tr.states).sum(-1) - ((tr.actions @ lqr.R) * tr.actions).sum(-1))
    assert torch.allclose(tr.log_probs, pol.log_prob(K, tr.states, tr.actions))
    assert torch.allclose(tr.per_episode_sum(tr.rewards), tr.returns())
    first = tr.rewards_to_go()[tr.step_slice(0)]  # every episode is alive at t = 0, in id order
    assert torch.allclose(first, tr.returns())
    trunc = sample_lqr_trajectories(lqr, pol, K, 50, _gen(1), termination="truncate", horizon=4)
    assert trunc.n_transitions == 200 and torch.allclose(trunc.weights[trunc.step_slice(3)], torch.full((50,), gamma**3, dtype=F64))
    with pytest.raises(RuntimeError, match="horizon: .* outlived the cap of 1 steps"):
        sample_lqr_trajectories(lqr, pol, K, 100, _gen(0), horizon=1)


def test_truncated_returns_are_unbiased_for_the_truncated_objective():
    """termination='truncate': Σ_{t<H} γ^t r_t is unbiased for J_H = −Σ_{t<H} γ^t E c_t (moment recursion), not for J."""
    lqr = random_lqr(2, 1, seed=6, discount=0.9)
    pol = LinearGaussianPolicy(2, 1, std=0.5)
    K = _near_optimal(lqr, 0.1, 0)
    H, N = 3, 40_000
    R = sample_lqr_trajectories(lqr, pol, K, N, _gen(5), termination="truncate", horizon=H).returns()
    L, Y = lqr.A - lqr.B @ K, lqr.Q + K.T @ lqr.R @ K
    M, J_H = lqr.initial_cov, 0.0
    for t in range(H):
        J_H -= 0.9**t * (float(torch.trace(Y @ M)) + 0.25 * float(torch.trace(lqr.R)))
        M = L @ M @ L.T + lqr.noise_cov + 0.25 * lqr.B @ lqr.B.T
    assert bias_test(R[:, None], torch.tensor([J_H], dtype=F64)).pvalue > ALPHA
    J = lqr_objective(lqr, pol, K).reshape(1)
    assert detection_power((J - J_H).numpy(), R.std().reshape(1).numpy(), N, alpha=ALPHA) >= 0.99
    assert bias_test(R[:, None], J).pvalue < ALPHA


# the Monte Carlo instance: n = 2, m = 2, γ = 0.8, σ = 1, W = 0.09 I, a gain 1.5 away from K* (ρ(A − BK) ≈ 0.46, a
# well-damped loop, so the per-episode estimates have light enough tails), N = 200,000 geometric episodes
MC_N = 200_000


@pytest.fixture(scope="module")
def mc_setup():
    lqr = random_lqr(2, 2, seed=0, discount=0.8)
    pol = LinearGaussianPolicy(2, 2, std=1.0)
    K = _near_optimal(lqr, 1.5, 1)
    tr = sample_lqr_trajectories(lqr, pol, K, MC_N, _gen(2024))
    return lqr, pol, K, tr


def test_returns_are_unbiased_for_J_and_the_noise_free_J_is_rejected(mc_setup):
    lqr, pol, K, tr = mc_setup
    ev = evaluate_lqr(lqr, pol, K)
    R = tr.returns()
    assert bias_test(R[:, None], ev.objective.reshape(1)).pvalue > ALPHA
    wrong = -torch.trace(ev.value_matrix @ lqr.initial_cov).reshape(1)  # J without the noise terms
    assert detection_power((ev.objective - wrong).numpy(), R.std().reshape(1).numpy(), MC_N, alpha=ALPHA) >= 0.99
    assert bias_test(R[:, None], wrong).pvalue < ALPHA


def test_reinforce_is_unbiased_for_the_exact_gradient_with_twins(mc_setup):
    """REINFORCE, (Σ_t ∇ log π(u_t|x_t))·Σ_t r_t per geometric episode, over the coordinates of K and log σ, is unbiased for
    (∇_K J, ∂J/∂log σ); the same test at the same N rejects 1.2·∇J and the gradient with the noise-free Σ_K."""
    lqr, pol, K, tr = mc_setup
    N = tr.n
    R = tr.returns()
    score = torch.cat([tr.per_episode_sum(pol.score(K, tr.states, tr.actions)).reshape(N, -1),
                       tr.per_episode_sum(pol.score_log_std(K, tr.states, tr.actions))[:, None]], 1)
    est = score * R[:, None]  # [N, m·n + 1]
    ev = evaluate_lqr(lqr, pol, K)
    gK = lqr_policy_gradient(lqr, pol, K)
    truth = torch.cat([gK.reshape(-1), lqr_log_std_gradient(lqr, pol, K).reshape(1)])
    res = bias_test(est, truth)
    assert res.pvalue > ALPHA, f"p = {res.pvalue:.2e}, max|t| = {res.statistic:.2f}"
    sd = est.std(0).numpy()
    L = lqr.A - lqr.B @ K
    Sigma_noise_free = solve_discounted_lyapunov(L, lqr.initial_cov, lqr.discount)  # forgets W and σ²BBᵀ
    twins = {"1.2·∇J": 1.2 * truth,
             "noise-free Σ_K": torch.cat([(-2 * ev.gain_residual @ Sigma_noise_free).reshape(-1), truth[-1:]])}
    for label, wrong in twins.items():
        assert detection_power((truth - wrong).numpy(), sd, N, alpha=ALPHA) >= 0.99, label
        assert bias_test(est, wrong).pvalue < ALPHA, label
    # a lower-variance unbiased variant on the same batch: reward-to-go minus the exact V_K(x_t) (a state baseline)
    V = -(((tr.states @ ev.value_matrix) * tr.states).sum(-1) + ev.offset)
    adv = (tr.rewards_to_go() - V)[:, None]
    est2 = torch.cat([tr.per_episode_sum(pol.score(K, tr.states, tr.actions).reshape(-1, K.numel()) * adv),
                      tr.per_episode_sum(pol.score_log_std(K, tr.states, tr.actions)[:, None] * adv)], 1)
    assert bias_test(est2, truth).pvalue > ALPHA
    assert float(est2.std(0).max()) < float(est.std(0).max())


# ------------------------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------------------------
def test_bad_inputs_raise_named_errors():
    I2, I1 = torch.eye(2, dtype=F64), torch.eye(1, dtype=F64)
    A, B = torch.tensor([[1.0, 0.1], [0.0, 0.9]], dtype=F64), torch.tensor([[0.0], [1.0]], dtype=F64)
    ok = dict(A=A, B=B, Q=I2, R=I1, discount=0.9)
    bad = [
        (dict(A=torch.ones(2, 3, dtype=F64)), ValueError, "A: expected a non-empty square"),
        (dict(B=torch.ones(3, 1, dtype=F64)), ValueError, r"B: expected shape \[n, m\] with n = 2"),
        (dict(Q=torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=F64)), ValueError, "Q: must be symmetric"),
        (dict(Q=-I2), ValueError, "Q: must be positive semi-definite"),
        (dict(R=0 * I1), ValueError, "R: must be positive definite"),
        (dict(R=I2), ValueError, r"R: expected shape \[m, m\]"),
        (dict(noise_cov=torch.diag(torch.tensor([1.0, -0.1], dtype=F64))), ValueError, "noise_cov: must be positive semi-definite"),
        (dict(initial_cov=torch.ones(3, 3, dtype=F64)), ValueError, r"initial_cov: expected shape \[n, n\]"),
        (dict(initial_cov=torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)), ValueError, "initial_cov: must be positive semi-definite"),
        (dict(discount=1.0), ValueError, r"discount: must lie in \[0, 1\)"),
        (dict(A=torch.tensor([[float("nan"), 0.0], [0.0, 1.0]], dtype=F64)), ValueError, "A: contains NaN"),
        (dict(A="A"), TypeError, "A: expected a torch.Tensor"),
    ]
    for change, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            LQR(**{**ok, **change})
    lqr = LQR(**ok)
    pol = LinearGaussianPolicy(2, 1)
    K = torch.tensor([[0.1, 0.5]], dtype=F64)
    with pytest.raises(ValueError, match=r"K: expected shape \[..., m, n\] = \[..., 1, 2\]"):
        lqr_objective(lqr, pol, torch.zeros(2, 1, dtype=F64))
    with pytest.raises(ValueError, match="policy: built for n=3, m=1"):
        lqr_objective(lqr, LinearGaussianPolicy(3, 1), K)
    with pytest.raises(TypeError, match="lqr: expected an LQR"):
        lqr_objective("lqr", pol, K)
    with pytest.raises(ValueError, match="std: must be positive"):
        LinearGaussianPolicy(2, 1, std=0.0)
    with pytest.raises(ValueError, match="state_dim: must be >= 1"):
        LinearGaussianPolicy(0, 1)
    with pytest.raises(ValueError, match="log_std: contains NaN"):
        pol.log_prob(K, torch.zeros(2, dtype=F64), torch.zeros(1, dtype=F64), log_std=torch.tensor(float("nan"), dtype=F64))
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        sample_lqr_trajectories(lqr, pol, K, 10, 0)
    with pytest.raises(ValueError, match="termination: expected 'geometric' or 'truncate'"):
        sample_lqr_trajectories(lqr, pol, K, 10, _gen(0), termination="fixed")
    with pytest.raises(ValueError, match="horizon: required with termination='truncate'"):
        sample_lqr_trajectories(lqr, pol, K, 10, _gen(0), termination="truncate")
    with pytest.raises(ValueError, match=r"K: the sampler takes one gain"):
        sample_lqr_trajectories(lqr, pol, K[None], 10, _gen(0))
    with pytest.raises(ValueError, match="n: must be >= 1"):
        sample_lqr_trajectories(lqr, pol, K, 0, _gen(0))
    with pytest.raises(ValueError, match="open_loop_radius: must be non-negative"):
        random_lqr(2, 1, open_loop_radius=-1.0)


def test_nothing_is_created_on_the_default_device():
    """Every tensor follows the problem's device: with the default device set to 'meta', a factory call without
    ``device=`` would land on meta and fail when mixed with CPU tensors."""
    lqr = random_lqr(2, 1, seed=0, discount=0.8)
    pol = LinearGaussianPolicy(2, 1, std=0.5)
    torch.set_default_device("meta")
    try:
        lqr2 = random_lqr(2, 1, seed=0, discount=0.8)
        K = lqr_optimal_gain(lqr2).gain
        for out in (lqr_objective(lqr, pol, K), lqr_policy_gradient(lqr, pol, K), lqr_fisher_information(lqr, pol, K),
                    lqr_natural_gradient(lqr, pol, K), lqr_log_std_gradient(lqr, pol, K),
                    sample_lqr_trajectories(lqr, pol, K, 5, torch.Generator().manual_seed(0)).states):
            assert out.device.type == "cpu"
    finally:
        torch.set_default_device("cpu")
