"""Tests of pgtheory.optim.linear_control: LSTD-Q, LSPI, LSVI and Q-NPG with linear critics (issue 13, item 3)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgtheory.exact.evaluation import evaluate_policy
from pgtheory.exact.gradients import natural_gradient
from pgtheory.exact.linear_evaluation import best_linear_fit, projected_bellman_residual
from pgtheory.exact.solvers import policy_iteration, value_iteration
from pgtheory.optim.algorithms import make_algorithm
from pgtheory.optim.harness import iterate
from pgtheory.optim.linear_control import (GREEDY_TIE_RTOL, greedy_improvement, lspi_exact, lspi_sampled, lsvi_exact,
                                           lsvi_sampled, lstdq_exact, lstdq_expected_statistics, lstdq_sampled,
                                           lstdq_statistics, q_npg_exact, q_npg_sampled, uniform_pair_weights)
from pgtheory.exact.linear_evaluation import state_action_visitation
from pgtheory.sampling.transitions import sample_visitation_q_estimates
from pgtheory.policies.tabular import TabularSoftmax
from pgtheory.problems.linear_mdp import one_hot_linear_mdp, random_linear_mdp
from pgtheory.problems.mdp import TabularMDP
from pgtheory.sampling.transitions import sample_iid_transitions

from .conftest import random_mdp

pytestmark = pytest.mark.usefixtures("one_torch_thread")

F64 = torch.float64
#: |z| above this rejects "the sample mean estimates the exact value" (Gaussian tail 6e-6 per entry; ≤ 30 entries
#: per check, so a family-wise false rejection rate below 2e-4).
Z_REJECT = 4.5
#: Q-NPG with the exact critic on realisable linear MDPs: step size, iterations and the gap J* − J_T it must reach.
QNPG_STEP, QNPG_ITERATIONS, QNPG_GAP = 20.0, 100, 1e-6


def _rand(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64)


def _policy(S, A, seed):
    return torch.softmax(_rand((S, A), seed), -1)


def _one_hot(mdp):
    return one_hot_linear_mdp(mdp).features


def _howard_sequence(mdp, pi0, cap=100):
    """Policy iteration written out in the test (the rule of exact.solvers.policy_iteration), all its policies."""
    seq, pi = [pi0], pi0
    for _ in range(cap):
        q = evaluate_policy(mdp, pi).q
        best = q.amax(-1, keepdim=True)
        keep = ((q * pi).sum(-1, keepdim=True) >= best - 1e-12 * (1 + best.abs())) & (pi.amax(-1, keepdim=True) == 1)
        new = torch.where(keep, pi, torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).to(F64))
        seq.append(new)
        if torch.equal(new, pi):
            return torch.stack(seq)
        pi = new
    raise AssertionError("policy iteration did not stabilise")


# ----------------------------------------------------------------------------------------------------------------
# LSTD-Q
# ----------------------------------------------------------------------------------------------------------------
def test_lstdq_hand_computed_single_pair():
    # one state, one action, φ = 2: A = φ(φ − γφ) = 4(1 − γ), b = φ r, w = r / (2(1 − γ)), Φw = Q = r/(1 − γ)
    mdp = TabularMDP(torch.ones(1, 1, 1, dtype=F64), torch.tensor([[3.0]], dtype=F64), 0.75, torch.ones(1, dtype=F64))
    phi = torch.full((1, 1, 1), 2.0, dtype=F64)
    A, b = lstdq_expected_statistics(mdp, torch.ones(1, 1, dtype=F64), phi)
    assert A.item() == pytest.approx(4 * 0.25, abs=1e-14) and b.item() == pytest.approx(6.0, abs=1e-14)
    ev = lstdq_exact(mdp, torch.ones(1, 1, dtype=F64), phi)
    assert ev.w.item() == pytest.approx(3.0 / (2 * 0.25), abs=1e-12)
    assert ev.q.item() == pytest.approx(12.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lstdq_exact_fixed_point_satisfies_projected_bellman_equation(seed):
    mdp = random_mdp(6, 3, 0.9, seed)
    phi = _rand((6, 3, 4), 100 + seed)
    pi = _policy(6, 3, 200 + seed)
    D = torch.softmax(_rand((6, 3), 300 + seed).reshape(-1), 0).reshape(6, 3)
    ev = lstdq_exact(mdp, pi, phi, weights=D)
    A, b = lstdq_expected_statistics(mdp, pi, phi, weights=D)
    assert float((A @ ev.w - b).abs().max()) < 1e-10
    assert float(projected_bellman_residual(mdp, pi, phi, ev.w, weights=D).abs().max()) < 1e-10
    # the statistics are the written-out Φᵀ D (Φ − γ P_π Φ) and Φᵀ D r
    Phi = phi.reshape(18, 4)
    PpiPhi = mdp.transitions.reshape(18, 6) @ torch.einsum("sa,sad->sd", pi, phi)
    assert torch.allclose(A, Phi.T @ (D.reshape(18, 1) * (Phi - 0.9 * PpiPhi)), atol=1e-13)
    assert torch.allclose(b, Phi.T @ (D.reshape(-1) * mdp.rewards.reshape(-1)), atol=1e-13)
    # one-hot features: LSTD-Q returns Q^π itself
    assert torch.allclose(lstdq_exact(mdp, pi, _one_hot(mdp)).q, evaluate_policy(mdp, pi).q, atol=1e-10)


def _z_max(samples, exact):
    """max |z| of the mean of ``samples [R, ...]`` against ``exact [...]`` (standard error from the R replicates)."""
    R = samples.shape[0]
    se = samples.std(0) / R ** 0.5
    return float(((samples.mean(0) - exact).abs() / se.clamp_min(1e-300)).max())


def test_sampled_lstdq_statistics_unbiased_and_twins_rejected():
    S, A_, d, gamma = 5, 3, 4, 0.9
    mdp = random_mdp(S, A_, gamma, 7)
    phi = _rand((S, A_, d), 8)
    pi, other = _policy(S, A_, 9), _policy(S, A_, 10)
    D = uniform_pair_weights(S, A_)
    A, b = lstdq_expected_statistics(mdp, pi, phi, weights=D)
    g = torch.Generator().manual_seed(11)
    R, n = 1600, 500
    on = sample_iid_transitions(mdp, pi, D, n, g, shape=(R,))  # a' ~ π
    off = sample_iid_transitions(mdp, other, D, n, g, shape=(R,))  # a' ~ another policy
    for stream, target in ((on, "expected"), (on, "sampled"), (off, "expected")):
        st = lstdq_statistics(stream, phi, pi, gamma, target=target)
        assert _z_max(st.A, A) < Z_REJECT and _z_max(st.b, b) < Z_REJECT, target
    # twins: a wrong discount, and the sampled next action of the wrong policy
    wrong_gamma = lstdq_statistics(on, phi, pi, 0.8)
    assert _z_max(wrong_gamma.A, A) > Z_REJECT
    wrong_action = lstdq_statistics(off, phi, pi, gamma, target="sampled")
    assert _z_max(wrong_action.A, A) > Z_REJECT
    # consistency of the solution: the pooled LSTD-Q solution Ā⁻¹b̄ over all R·n transitions against the exact fixed
    # point, z-scored with the standard error sd(ŵ_r)/√R of the R per-batch solutions (delta method); twins rejected
    w_exact = lstdq_exact(mdp, pi, phi, weights=D).w

    def z_solution(st):
        w_pooled = torch.linalg.solve(st.A.mean(0), st.b.mean(0))
        return float(((w_pooled - w_exact).abs() / (st.w.std(0) / R ** 0.5)).max())

    assert z_solution(lstdq_statistics(on, phi, pi, gamma)) < Z_REJECT
    assert z_solution(lstdq_statistics(on, phi, pi, gamma, target="sampled")) < Z_REJECT
    assert z_solution(wrong_gamma) > Z_REJECT and z_solution(wrong_action) > Z_REJECT
    assert lstdq_sampled(on, phi, pi, gamma).shape == (R, d)
    # one policy per batch entry (as LSPI's runs use) gives the same statistics as a shared policy
    few = type(on)(*(x[:3] for x in on))
    shared, batched = lstdq_statistics(few, phi, pi, gamma), lstdq_statistics(few, phi, pi.expand(3, S, A_), gamma)
    assert torch.allclose(shared.A, batched.A, atol=1e-14) and torch.allclose(shared.w, batched.w, atol=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# LSPI
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_lspi_one_hot_is_policy_iteration(seed):
    mdp = random_mdp(6, 3, 0.9, seed)
    res = lspi_exact(mdp, _one_hot(mdp))
    seq = _howard_sequence(mdp, torch.full((6, 3), 1 / 3, dtype=F64))
    assert torch.equal(res.policies, seq)
    sol = policy_iteration(mdp)
    assert torch.equal(res.policies[-1], sol.policy) and int(res.iterations) == sol.iterations and bool(res.converged)
    # from a deterministic start as well
    pi0 = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).to(F64)
    res0 = lspi_exact(mdp, _one_hot(mdp), initial_policy=pi0)
    assert torch.equal(res0.policies, _howard_sequence(mdp, pi0))
    # the cap: one evaluation from the uniform policy cannot confirm stability
    capped = lspi_exact(mdp, _one_hot(mdp), max_iterations=1)
    assert not bool(capped.converged) and int(capped.iterations) == 1 and capped.policies.shape == (2, 6, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lspi_reaches_optimal_policy_on_realisable_linear_mdp(seed):
    lin = random_linear_mdp(10, 3, 4, seed=seed, discount=0.9)
    res = lspi_exact(lin, lin.features)
    sol = policy_iteration(lin.tabular())
    assert bool(res.converged)
    assert torch.equal(res.policies[-1], sol.policy)
    J = evaluate_policy(lin.tabular(), res.policies[-1]).objective
    assert float(J) == pytest.approx(float(sol.v @ lin.initial), abs=1e-10)


def test_lspi_sampled_one_hot_large_batch_finds_optimal_policy():
    mdp = random_mdp(5, 3, 0.8, 4)
    sol = policy_iteration(mdp)
    g = torch.Generator().manual_seed(5)
    stream = sample_iid_transitions(mdp, _policy(5, 3, 6), uniform_pair_weights(5, 3), 30000, g, shape=(3,))
    res = lspi_sampled(stream, _one_hot(mdp), 0.8)
    assert res.policies.shape[1:] == (3, 5, 3) and bool(res.converged.all())
    assert bool((res.policies[-1] == sol.policy).all())


def test_greedy_improvement_keeps_current_action_on_ties():
    q = torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0 - 1e-3]], dtype=F64)
    cur = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    new = greedy_improvement(q, cur)
    assert torch.equal(new, torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64))
    assert torch.equal(greedy_improvement(q), torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64))
    assert GREEDY_TIE_RTOL == 1e-12


# ----------------------------------------------------------------------------------------------------------------
# LSVI
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_lsvi_one_hot_is_value_iteration(seed):
    mdp = random_mdp(5, 3, 0.9, seed)
    K = 400
    res = lsvi_exact(mdp, _one_hot(mdp), K)
    q = torch.zeros(5, 3, dtype=F64)
    for k in range(K):
        q = mdp.rewards + 0.9 * torch.einsum("sat,t->sa", mdp.transitions, q.amax(-1))
        if k in (0, 1, 9, K - 1):
            assert torch.allclose(res.weights[k].reshape(5, 3), q, atol=1e-11, rtol=0)
    vi = value_iteration(mdp)
    assert float((res.q - vi.q).abs().max()) < 1e-8
    assert torch.equal(res.policy, vi.policy)


def test_lsvi_realisable_linear_mdp_converges_to_q_star():
    lin = random_linear_mdp(10, 3, 4, seed=3, discount=0.9)
    res = lsvi_exact(lin, lin.features, 400)
    vi = value_iteration(lin.tabular())
    assert float((res.q - vi.q).abs().max()) < 1e-8


def test_lsvi_sampled_approaches_exact_with_data():
    mdp = random_mdp(5, 3, 0.8, 12)
    phi = _one_hot(mdp)
    exact = lsvi_exact(mdp, phi, 150).q
    g = torch.Generator().manual_seed(13)
    errs = []
    for n in (600, 24000):
        stream = sample_iid_transitions(mdp, _policy(5, 3, 14), uniform_pair_weights(5, 3), n, g, shape=(8,))
        res = lsvi_sampled(stream, phi, 0.8, 150)
        errs.append(float((res.q - exact).abs().amax((-2, -1)).mean()))
    assert errs[1] < errs[0] / 3  # error ∝ n^{-1/2}: a factor ≈ √40 ≈ 6.3 expected


# ----------------------------------------------------------------------------------------------------------------
# Q-NPG
# ----------------------------------------------------------------------------------------------------------------
def test_q_npg_hand_computed_bandit_step():
    # S = 1, A = 2, r = (1, 0), γ = 1/2, θ = 0: π = (½, ½), V = ½/(1 − ½) = 1, Q = r + γV = (1.5, 0.5)
    mdp = TabularMDP(torch.ones(1, 2, 1, dtype=F64), torch.tensor([[1.0, 0.0]], dtype=F64), 0.5, torch.ones(1, dtype=F64))
    res = q_npg_exact(mdp, torch.eye(2, dtype=F64).reshape(1, 2, 2), torch.zeros(2, dtype=F64), step_size=0.3,
                      iterations=1)
    assert torch.allclose(res.critic[0], torch.tensor([1.5, 0.5], dtype=F64), atol=1e-12)
    assert torch.allclose(res.theta[1], torch.tensor([0.45, 0.15], dtype=F64), atol=1e-12)
    assert float(res.objective[0]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_q_npg_one_hot_step_is_tabular_npg_step(seed):
    S, A, gamma, eta = 5, 3, 0.9, 0.7
    mdp = random_mdp(S, A, gamma, seed)
    theta = _rand((S, A), 50 + seed)
    res = q_npg_exact(mdp, _one_hot(mdp), theta.reshape(S * A), step_size=eta, iterations=1)
    pi = torch.softmax(theta, -1)
    assert torch.allclose(res.critic[0].reshape(S, A), evaluate_policy(mdp, pi).q, atol=1e-10)
    # the exact_npg step of optim.algorithms moves by η' F⁺∇J = η' A^π/(1 − γ) (+ per-state constants): η' = η(1 − γ)
    npg_theta = theta + eta * (1 - gamma) * natural_gradient(mdp, TabularSoftmax(S, A), theta)
    assert torch.allclose(torch.softmax(res.theta[1].reshape(S, A), -1), torch.softmax(npg_theta, -1), atol=1e-12)
    # several steps against the registered exact_npg algorithm run by the optimisation harness
    T = 5
    qnpg = q_npg_exact(mdp, _one_hot(mdp), theta.reshape(S * A), step_size=eta, iterations=T)
    steps = iterate(mdp, make_algorithm("exact_npg", step_size=eta * (1 - gamma)), theta, seeds=[0])
    for t, step in zip(range(T + 1), steps):
        assert torch.allclose(torch.softmax(qnpg.theta[t].reshape(S, A), -1), torch.softmax(step.theta[0], -1),
                              atol=1e-11)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q_npg_exact_critic_converges_on_realisable_linear_mdp(seed):
    lin = random_linear_mdp(8, 3, 4, seed=seed, discount=0.9)
    res = q_npg_exact(lin, lin.features, torch.zeros(4, dtype=F64), step_size=QNPG_STEP, iterations=QNPG_ITERATIONS)
    J_star = float(value_iteration(lin.tabular()).v @ lin.initial)
    assert J_star - float(res.objective[-1]) < QNPG_GAP
    assert float(res.critic_error.max()) < 1e-10  # realisable: the linear critic is exact
    assert bool((res.objective[1:] >= res.objective[:-1] - 1e-12).all())  # NPG with exact Q is monotone


def test_state_action_visitation_matches_its_definition():
    mdp = random_mdp(4, 2, 0.8, 20)
    pi = _policy(4, 2, 21)
    nu = torch.softmax(_rand((8,), 22), 0).reshape(4, 2)
    d = state_action_visitation(mdp, pi, nu)
    # power series (1 − γ) Σ_t γ^t ν P_π^t
    P = (mdp.transitions.reshape(8, 4, 1) * pi.unsqueeze(0)).reshape(8, 8)
    x, acc = nu.reshape(8), torch.zeros(8, dtype=F64)
    for t in range(400):
        acc = acc + 0.2 * 0.8 ** t * x
        x = x @ P
    assert torch.allclose(d.reshape(8), acc, atol=1e-12)
    assert float(d.sum()) == pytest.approx(1.0, abs=1e-12)


def test_visitation_q_sampler_unbiased_with_twin():
    S, A, gamma = 3, 2, 0.7
    mdp = random_mdp(S, A, gamma, 30)
    pi = _policy(S, A, 31)
    g = torch.Generator().manual_seed(32)
    R, n = 200, 400
    pairs, q_hat, steps = sample_visitation_q_estimates(mdp, pi.expand(R, S, A), n, g)
    counts = torch.nn.functional.one_hot(pairs, S * A).to(F64)  # [R, n, SA]
    freq = counts.mean(1)  # [R, SA]
    assert _z_max(freq, state_action_visitation(mdp, pi).reshape(-1)) < Z_REJECT
    # per-run sums Σ_i 1{pair_i = j} Q̂_i / n estimate d(j) Q^π(j)
    dq = (counts * q_hat.unsqueeze(-1)).mean(1)
    truth = (state_action_visitation(mdp, pi) * evaluate_policy(mdp, pi).q).reshape(-1)
    assert _z_max(dq, truth) < Z_REJECT
    # twin: the visitation of another policy is rejected by the same check
    assert _z_max(freq, state_action_visitation(mdp, _policy(S, A, 33)).reshape(-1)) > Z_REJECT
    assert bool((steps > 0).all())


def test_q_npg_sampled_critic_consistent_and_improves():
    lin = random_linear_mdp(6, 2, 3, seed=40, discount=0.8)
    theta0 = torch.zeros(3, dtype=F64)
    g = torch.Generator().manual_seed(41)
    errs = []
    for n in (500, 20000):
        res = q_npg_sampled(lin, lin.features, theta0, g, step_size=2.0, iterations=1, samples_per_iteration=n, runs=4)
        errs.append(float(res.critic_error[0].mean()))  # ‖Φw − Q^π‖ in L2(d^π_ν), exact Q^π (realisable: 0 for the exact fit)
    assert errs[1] < errs[0] / 3  # ∝ n^{-1/2}: a factor ≈ √40 ≈ 6.3 expected
    q_scale = float(evaluate_policy(lin.tabular(), torch.full((6, 2), 0.5, dtype=F64)).q.abs().max())
    assert errs[1] < 0.05 * q_scale
    assert res.theta.shape == (2, 4, 3) and res.objective.shape == (2, 4) and bool((res.samples > 0).all())
    assert bool((res.objective[1] > res.objective[0]).all())
    # with the critic fitted on the exact Q (best_linear_fit), the same critic error is 0: the sampled error is noise
    pi0 = torch.full((6, 2), 0.5, dtype=F64)
    assert float(best_linear_fit(lin.tabular(), pi0, lin.features, weights=state_action_visitation(lin, pi0)).error) < 1e-10


# ----------------------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------------------
def test_bad_inputs():
    mdp = random_mdp(3, 2, 0.9, 0)
    phi = _rand((3, 2, 2), 1)
    pi = _policy(3, 2, 2)
    g = torch.Generator().manual_seed(0)
    stream = sample_iid_transitions(mdp, pi, uniform_pair_weights(3, 2), 20, g, shape=(2,))
    with pytest.raises(ValueError, match="^discount"):
        lstdq_statistics(stream, phi, pi, 1.0)
    with pytest.raises(ValueError, match="^discount"):
        lsvi_sampled(stream, phi, -0.1, 3)
    with pytest.raises(ValueError, match="^features"):
        lstdq_exact(mdp, pi, phi.reshape(3, 4))
    with pytest.raises(ValueError, match="^features"):
        lstdq_statistics(stream, phi[:, :, :0], pi, 0.9)
    with pytest.raises(ValueError, match="^stream"):
        lstdq_statistics(stream, _rand((2, 2, 2), 3), pi, 0.9)  # pair indices beyond S·A = 4
    with pytest.raises(ValueError, match="^pi"):
        lstdq_exact(mdp, pi * 2, phi)
    with pytest.raises(ValueError, match="^pi"):
        lstdq_statistics(stream, phi, torch.full((3, 2), -0.5, dtype=F64), 0.9)
    with pytest.raises(ValueError, match="^pi"):
        state_action_visitation(mdp, torch.ones(3, 3, dtype=F64) / 3)
    with pytest.raises(ValueError, match="^weights"):
        lspi_exact(mdp, phi, weights=torch.ones(3, 2, dtype=F64))
    with pytest.raises(ValueError, match="^initial_policy"):
        lspi_exact(mdp, phi, initial_policy=torch.ones(3, 2, dtype=F64))
    with pytest.raises(ValueError, match="^start"):
        q_npg_exact(mdp, phi, torch.zeros(2), step_size=1.0, iterations=1, start=torch.ones(4, dtype=F64) / 4)
    with pytest.raises(ValueError, match="^target"):
        lstdq_statistics(stream, phi, pi, 0.9, target="greedy")
    with pytest.raises(TypeError, match="^stream"):
        lspi_sampled((stream.pair, stream.next_pair, stream.reward), phi, 0.9)
    with pytest.raises(ValueError, match="^stream"):
        lspi_sampled(type(stream)(*(x[0] for x in stream)), phi, 0.9)
    with pytest.raises(TypeError, match="^mdp"):
        lspi_exact("mdp", phi)
    with pytest.raises(ValueError, match="^theta0"):
        q_npg_exact(mdp, phi, torch.zeros(3), step_size=1.0, iterations=1)
    with pytest.raises(ValueError, match="^step_size"):
        q_npg_exact(mdp, phi, torch.zeros(2), step_size=0.0, iterations=1)
    with pytest.raises(ValueError, match="^iterations"):
        lsvi_exact(mdp, phi, 0)
    with pytest.raises(TypeError, match="^generator"):
        sample_visitation_q_estimates(mdp, pi.expand(2, 3, 2), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="^weights"):  # the data's pairs do not span R^d
        lsvi_exact(mdp, _one_hot(mdp), 2, weights=torch.tensor([[1.0, 0], [0, 0], [0, 0]], dtype=F64))
    with pytest.raises(ValueError, match="^A"):  # singular LSTD system: features of unvisited pairs
        lstdq_statistics(type(stream)(stream.pair[..., :1], stream.next_pair[..., :1], stream.reward[..., :1]),
                         _one_hot(mdp), pi, 0.9)
