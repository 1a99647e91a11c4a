"""The optimiser harness beyond tabular first-order methods (issue 12): the batched LQR sampler and oracle, the unbiased
Hessian-vector estimator of (N-)HARPG on both problems, the HARPG transport identity, IGT, divergence handling.

Statistical assertions use ``pgtheory.stats.bias_test`` (Bonferroni over the coordinates, Student t) at family level
ALPHA = 1e-6 (false-failure rate ≤ 1e-6 each, by the CLT at these sample sizes). Every unbiasedness test has a twin
that the same test rejects: a wrong target of practical size (a 5% error in J; the noise-free LQR gradient; the Hessian
estimate without its score term; the transport evaluated at θ_t only instead of along the segment). Sample sizes were
planned, not tuned: ``required_sample_size`` at power 0.99 for each twin's gap, with the standard deviations of a pilot
on seeds disjoint from the ones below (2026-11-30): returns 35 083 → 40 000; LQR gradient 12 345 → 15 000; LQR
Hessian-vector 409 → 4 000 (more for the CLT: the terms are products of x⁴ and returns); tabular Hessian-vector 119 →
2 000; tabular transport 9 529 → 12 000 runs; LQR transport 5 719 → 8 000 runs, re-planned the same day to 40 000
runs: at 8 000 the twin gave p = 8e-5 because the pilot's standard deviations (at θ_t only, 20 000 draws) were 2–3× too
small for these heavy-tailed terms; 40 000 ≈ 5 719 × 2.6² (2.6 = observed/pilot standard deviation), rounded up.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgtheory.exact import policy_gradient
from pgtheory.exact.lqr import lqr_objective, lqr_optimal_gain, lqr_policy_gradient
from pgtheory.optim import (HessianAidedRecursion, ImplicitGradientTransport, LQROracle, TabularOracle, iterate,
                            make_algorithm, run, seed_generators)
from pgtheory.policies import LinearGaussianPolicy, TabularSoftmax
from pgtheory.problems import LQR
from pgtheory.problems.generators import garnet
from pgtheory.sampling import sample_lqr_runs
from pgtheory.stats import bias_test

ALPHA = 1e-6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _lqr():
    """A well-conditioned 2-state, 1-control instance (open-loop unstable under discounting: √0.8·1.0 < 1 < … no — the
    (1, 1) mode is marginal, K = 0 has ρ(√γA) = 0.89), K0 = K* + (0.3, −0.3) (ρ = 0.77, ‖∇J‖ ≈ 31)."""
    f64 = dict(dtype=torch.float64)
    lqr = LQR(torch.tensor([[1.0, 0.3], [0.0, 0.9]], **f64), torch.tensor([[0.0], [1.0]], **f64), torch.eye(2, **f64),
              torch.eye(1, **f64), 0.8, noise_cov=0.1 * torch.eye(2, **f64))
    pol = LinearGaussianPolicy(2, 1, std=1.0)
    K0 = lqr_optimal_gain(lqr).gain + torch.tensor([[0.3, -0.3]], **f64)
    return lqr, pol, K0


def _tabular():
    mdp = garnet(4, 3, 2, discount=0.7, seed=3)
    th = 0.5 * torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return mdp, th


# -- the batched LQR sampler ----------------------------------------------------------------------------------------

def test_lqr_runs_batched_equals_one_at_a_time_and_returns_are_unbiased():
    """Runs are independent streams: the batch of seeds [5, 9] equals the two single-seed batches bit for bit. The mean
    return over 20000 episodes is unbiased for J(K); twin: J at another gain (0.3 away) is rejected."""
    lqr, pol, K0 = _lqr()
    K2 = torch.stack([K0, K0 + 0.1])
    both = sample_lqr_runs(lqr, pol, K2, 3, seed_generators([5, 9], "cpu"))
    for r, s in enumerate([5, 9]):
        one = sample_lqr_runs(lqr, pol, K2[r:r + 1], 3, seed_generators([s], "cpu"))
        T = one.states.shape[2]
        assert torch.equal(both.states[r, :, :T], one.states[0]) and torch.equal(both.rewards[r, :, :T], one.rewards[0])
        assert float(both.mask[r, :, T:].abs().sum()) == 0
    n = 40000
    b = sample_lqr_runs(lqr, pol, K0[None], n, seed_generators([11], "cpu"))
    J = lqr_objective(lqr, pol, K0)
    assert bias_test(b.returns()[0, :, None], J.reshape(1)).pvalue > ALPHA
    assert bias_test(b.returns()[0, :, None], 1.05 * J.reshape(1)).pvalue < ALPHA
    assert abs(float(b.lengths().double().mean()) - 1 / (1 - lqr.discount)) < 0.1


def test_lqr_oracle_gradient_is_unbiased_with_twin():
    """E ĝ(K; τ) = ∇J(K) (closed form, Fazel et al. with noise) over 15000 trajectories; twin: the gradient with the
    noise-free state covariance (W = 0, σ = 0 in Σ_K) is rejected."""
    lqr, pol, K0 = _lqr()
    n = 15000
    o = LQROracle(lqr, pol, seed_generators([12], "cpu"))
    g = o.gradient_estimates(o.sample(K0[None], n), K0[None])[0].reshape(n, -1)
    truth = lqr_policy_gradient(lqr, pol, K0).reshape(-1)
    assert bias_test(g, truth).pvalue > ALPHA
    quiet = type(lqr)(lqr.A, lqr.B, lqr.Q, lqr.R, lqr.discount, noise_cov=0 * lqr.noise_cov, initial_cov=lqr.initial_cov)
    wrong = lqr_policy_gradient(quiet, LinearGaussianPolicy(2, 1, std=1e-6), K0).reshape(-1)
    assert bias_test(g, wrong).pvalue < ALPHA
    assert int(o.trajectories.sum()) == n and int(o.transitions.sum()) > n


# -- Hessian-vector estimates ------------------------------------------------------------------------------------------

def _autograd_hvp_lqr(batch, K, V, sigma):
    """B̂(τ; K)V by double backward through Φ(K) = Σ_t ψ_t log π_K(u_t|x_t) and log p = Σ_t log π_K(u_t|x_t) (one run)."""
    X, U, M, psi = batch.states[0], batch.actions[0], batch.mask[0], batch.rewards_to_go()[0]
    out = []
    for i in range(X.shape[0]):
        k = K.clone().requires_grad_(True)
        res = U[i] + X[i] @ k.T
        logp = -(res * res).sum(-1) / (2 * sigma ** 2) * M[i]
        phi = (psi[i] * logp).sum()
        (g,) = torch.autograd.grad(phi, k, create_graph=True)
        (s,) = torch.autograd.grad(logp.sum(), k, create_graph=True)
        (hv,) = torch.autograd.grad((g * V).sum(), k)
        out.append(g.detach() * (s.detach() * V).sum() + hv)
    return torch.stack(out)


def test_hessian_vector_estimates_match_autograd_lqr_and_tabular():
    """The closed forms of B̂(τ; θ)v equal the double-backward autograd value per trajectory (to 1e-9 relative)."""
    lqr, pol, K0 = _lqr()
    o = LQROracle(lqr, pol, seed_generators([3], "cpu"))
    b = o.sample(K0[None], 5)
    V = torch.tensor([[[0.7, -1.3]]], dtype=torch.float64)
    mine = o.hessian_vector_estimates(b, K0[None], V)[0]
    ref = _autograd_hvp_lqr(b, K0, V[0], 1.0)
    assert torch.allclose(mine, ref, rtol=1e-9, atol=1e-9 * float(ref.abs().max()))

    mdp, th = _tabular()
    o = TabularOracle(mdp, seed_generators([3], "cpu"))
    traj = o.sample(th[None], 4)
    v = torch.randn(1, 4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mine = o.hessian_vector_estimates(traj, th[None], v)[0]
    from pgtheory.estimators import PG_ESTIMATORS
    psi = PG_ESTIMATORS.get("gpomdp")(traj)
    for i in range(4):
        sel = traj.episode == i
        t = th.clone().requires_grad_(True)
        lp = torch.log_softmax(t, -1)[traj.states[sel], traj.actions[sel]]
        (g,) = torch.autograd.grad((psi[sel] * lp).sum(), t, create_graph=True)
        (s,) = torch.autograd.grad(lp.sum(), t, create_graph=True)
        (hv,) = torch.autograd.grad((g * v[0]).sum(), t)
        ref = g.detach() * (s.detach() * v[0]).sum() + hv
        assert torch.allclose(mine[i], ref, atol=1e-10)


def _exact_hvp(fn, theta, v):
    t = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(t), t, create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), t)
    return hv


@pytest.mark.parametrize("problem", ["tabular", "lqr"])
def test_hessian_vector_estimate_is_unbiased_with_twin(problem):
    """E_{τ∼π_θ}[B̂(τ; θ)v] = ∇²J(θ)v (autograd Hessian of the exact J). Twin: the estimate without its score term
    ĝ⟨∇log p, v⟩ (∇²Φ v alone, the 'Hessian of the surrogate' mistake) is rejected."""
    if problem == "lqr":
        lqr, pol, th = _lqr()
        R = 4000
        o = LQROracle(lqr, pol, seed_generators([10_000], "cpu"))
        v = torch.tensor([[0.5, 1.0]], dtype=torch.float64)
        truth = _exact_hvp(lambda k: lqr_objective(lqr, pol, k), th, v)
    else:
        mdp, th = _tabular()
        R = 2000
        o = TabularOracle(mdp, seed_generators([10_000], "cpu"))
        v = torch.randn(4, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
        from pgtheory.exact.evaluation import evaluate_policy
        truth = _exact_hvp(lambda t: evaluate_policy(mdp, torch.softmax(t, -1)).objective, th, v)
    b = o.sample(th[None], R)
    est = o.hessian_vector_estimates(b, th[None], v[None])[0]
    assert bias_test(est.reshape(R, -1), truth.reshape(-1)).pvalue > ALPHA
    g = o.gradient_estimates(b, th[None])[0]
    # the twin: ∇²Φ v alone = B̂v − ĝ⟨∇log p, v⟩ (∇log p(τ) = Σ_t ∇log π(a_t|s_t), the score summed over the episode)
    if problem == "lqr":
        resid = b.actions + b.states @ th.T
        score = -torch.einsum("rntm,rntx->rnmx", resid, b.states)[0] / pol.std ** 2
    else:
        N = torch.zeros(R, 4, 3, dtype=torch.float64).index_put_((b.episode, b.states, b.actions),
                                                                  torch.ones_like(b.rewards), accumulate=True)
        score = N - torch.softmax(th, -1) * N.sum(-1, keepdim=True)
    curvature_only = (est - g * (score * v).sum((-1, -2))[:, None, None]).reshape(R, -1)
    assert bias_test(curvature_only, truth.reshape(-1)).pvalue < ALPHA


# -- HARPG's transport and IGT -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("problem", ["tabular", "lqr"])
def test_harpg_transport_is_unbiased_for_the_gradient_difference(problem):
    """E_{q,τ̂}[B̂(τ̂; qθ + (1−q)θ')(θ − θ')] = ∇J(θ) − ∇J(θ') exactly (integral of the Hessian along the segment), over
    R = 40000 (LQR) or 12000 (tabular) runs; twin: the transport with q ≡ 1 (the Hessian at θ only) is rejected (the segment is long enough for
    the curvature to change)."""
    if problem == "lqr":
        R = 40000
        lqr, pol, th = _lqr()
        prev = th + torch.tensor([[0.4, -0.2]], dtype=torch.float64)
        o = LQROracle(lqr, pol, seed_generators(range(20_000, 20_000 + R), "cpu"))
        grad = lambda t: lqr_policy_gradient(lqr, pol, t)  # noqa: E731
    else:
        R = 12000
        mdp, th = _tabular()
        prev = th + 3.0 * torch.randn(4, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
        o = TabularOracle(mdp, seed_generators(range(20_000, 20_000 + R), "cpu"))
        grad = lambda t: policy_gradient(mdp, TabularSoftmax(4, 3), t)  # noqa: E731
    TH, PR = th.expand(R, *th.shape).clone(), prev.expand(R, *th.shape).clone()
    v = HessianAidedRecursion(momentum=0.5).transport(o, TH, PR, 1).reshape(R, -1)
    truth = (grad(th) - grad(prev)).reshape(-1)
    assert bias_test(v, truth).pvalue > ALPHA
    assert int(o.trajectories.sum()) == R
    b = o.sample(TH, 1)
    at_end = o.hessian_vector_estimates(b, TH, TH - PR)[:, 0].reshape(R, -1)
    assert bias_test(at_end, truth).pvalue < ALPHA


def test_harpg_and_igt_directions_and_trajectory_counts():
    """HARPG draws 2n trajectories per iteration after the first (n), N-PG-IGT n; HARPG's d_1 is unbiased for ∇J(θ_1)
    (the recursion keeps unbiasedness) over R = 5000 runs on the tabular problem, with the twin ∇J(θ_0) rejected."""
    mdp, th = _tabular()
    R = 5000
    alg = make_algorithm("n_harpg", step_size=0.5, momentum=0.5)
    it = iterate(mdp, alg, th, seeds=range(30_000, 30_000 + R))
    s0 = next(it)
    s1 = next(it)
    assert int(s0.new_trajectories[0]) == 1 and int(s1.new_trajectories[0]) == 2
    g1 = policy_gradient(mdp, TabularSoftmax(4, 3), s1.theta).reshape(R, -1)
    err = (s1.direction.reshape(R, -1) - g1)
    assert bias_test(err, torch.zeros(12, dtype=torch.float64)).pvalue > ALPHA
    g0 = policy_gradient(mdp, TabularSoftmax(4, 3), th).reshape(-1)
    assert bias_test(s1.direction.reshape(R, -1) - g1 + g0, torch.zeros(12, dtype=torch.float64)).pvalue < ALPHA
    igt = iterate(mdp, make_algorithm("n_pg_igt", step_size=0.5, momentum=0.5), th, seeds=[1, 2])
    a0, a1 = next(igt), next(igt)
    assert int(a0.new_trajectories[0]) == 1 and int(a1.new_trajectories[0]) == 1
    with pytest.raises(ValueError, match="momentum: η_t must lie in"):
        d, st = ImplicitGradientTransport(momentum=2.0)(TabularOracle(mdp, seed_generators([0], "cpu")), th[None],
                                                        (th[None], th[None]), 1, 1)


def test_lqr_run_freezes_a_diverging_run():
    """A huge normalised step leaves the stabilising set: the run is frozen at its last feasible gain, flagged in
    ``diverged_at``, and its records after that are NaN; a small step never diverges and approaches J*."""
    lqr, pol, K0 = _lqr()
    big = run(lqr, make_algorithm("normalized_pg", step_size=50.0, batch_size=1), K0, seeds=[0, 1], n_iterations=5,
              policy=pol, checkpoints=range(5))
    assert np.all(big.diverged_at >= 0)
    assert np.all(np.isnan(big.objective[:, -1])) and np.all(np.isfinite(big.objective[:, 0]))
    small = run(lqr, make_algorithm("exact_pg", step_size=0.01), K0, seeds=[0], n_iterations=300, policy=pol)
    assert small.diverged_at[0] == -1
    assert small.optimum - small.final_objective[0] < 0.1 * (small.optimum - small.objective[0, 0])


def test_igt_removes_the_momentum_lag_on_a_quadratic_with_twin():
    """On a quadratic J (one-step LQR, γ = 0: J(K) = −tr((Q + KᵀRK)Σ₀) − σ² tr R) the IGT extrapolation makes the momentum
    error unbiased: E[d_1 − ∇J(θ_1)] = (1 − η)E[d_0 − ∇J(θ_0)] = 0 (∇J(θ̃) = ∇J(θ_1) + H(θ̃ − θ_1) exactly). Twin: plain
    momentum (N-MPG) lags, E[d_1 − ∇J(θ_1)] = (1 − η)E[∇J(θ_0) − ∇J(θ_1)] ≠ 0, and the same test rejects it.
    R = 2000 runs of 100 trajectories per iteration (planned with ``required_sample_size`` at power 0.99 from a pilot of
    2000 runs on seeds 900 000+: the twin's lag (−0.36, 0.27) against per-run sds (0.85, 0.83) needs 312 runs)."""
    f64 = dict(dtype=torch.float64)
    lqr = LQR(torch.tensor([[1.0, 0.3], [0.0, 0.9]], **f64), torch.tensor([[0.0], [1.0]], **f64), torch.eye(2, **f64),
              torch.eye(1, **f64), 0.0, noise_cov=0.1 * torch.eye(2, **f64))
    pol = LinearGaussianPolicy(2, 1, std=1.0)
    K0 = torch.tensor([[0.8, -0.6]], **f64)
    R = 2000
    errs = {}
    for name in ("n_pg_igt", "n_mpg"):
        it = iterate(lqr, make_algorithm(name, step_size=0.5, momentum=0.5, batch_size=100), K0,
                     seeds=range(40_000, 40_000 + R), policy=pol)
        next(it)
        s1 = next(it)
        errs[name] = (s1.direction - lqr_policy_gradient(lqr, pol, s1.theta)).reshape(R, -1)
    zero = torch.zeros(2, **f64)
    assert bias_test(errs["n_pg_igt"], zero).pvalue > ALPHA
    assert bias_test(errs["n_mpg"], zero).pvalue < ALPHA
