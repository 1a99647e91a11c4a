"""VI = PI = LP; optimality; soft VI reaches the closed-form softmax optimum."""
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import (bellman_optimality_residual, evaluate_policy, linear_program, policy_iteration,
                            regularized_objective, regularized_policy_gradient, regularized_policy_gradient_autograd,
                            soft_value_iteration, value_iteration)
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import cliff_walk, gridworld, hard_chain

from .conftest import mdps


@given(mdps())
def test_vi_pi_lp_agree(mdp):
    vi, pi, lp = value_iteration(mdp), policy_iteration(mdp), linear_program(mdp)
    scale = 1 + float(vi.v.abs().max())
    assert float((vi.v - pi.v).abs().max()) < 1e-9 * scale
    assert float((vi.v - lp.v).abs().max()) < 1e-7 * scale  # HiGHS primal feasibility tolerance 1e-7
    assert bellman_optimality_residual(mdp, pi.v) < 1e-9 * scale
    # the greedy policies are optimal: their exact values equal V*
    for sol in (vi, pi, lp):
        assert float((evaluate_policy(mdp, sol.policy).v - pi.v).abs().max()) < 1e-6 * scale


@given(mdps(), st.integers(0, 2**31 - 1))
def test_optimal_value_dominates_random_policies(mdp, seed):
    v = policy_iteration(mdp).v
    pol = TabularSoftmax(mdp.n_states, mdp.n_actions)
    th = pol.random_params(64, generator=torch.Generator().manual_seed(seed), scale=3.0)
    assert bool((evaluate_policy(mdp, pol.probs(th)).v <= v + 1e-9 * (1 + v.abs().max())).all())


def test_generators_have_expected_optimal_behaviour():
    chain = hard_chain(6, discount=0.95)
    sol = policy_iteration(chain)
    assert bool((sol.policy[:-1].argmax(-1) == 0).all())  # always move right
    assert abs(float(sol.v[0]) - 0.95**5 / 0.05) < 1e-9
    grid = gridworld(3, 3, slip=0.0, discount=0.9)
    assert abs(float(value_iteration(grid).v[0]) - 0.9**3) < 1e-9  # 4 moves, paid on the 4th
    cliff = cliff_walk(5, 3, slip=0.0)
    assert float(policy_iteration(cliff).v[(3 - 1) * 5]) > -1.0  # deterministic walk avoids the cliff


@given(mdps(max_states=5), st.floats(0.05, 2.0), st.booleans(), st.integers(0, 2**31 - 1))
def test_soft_vi_reaches_closed_form_softmax_optimum(mdp, tau, with_ref, seed):
    gen = torch.Generator().manual_seed(seed)
    ref = torch.softmax(torch.randn(mdp.n_states, mdp.n_actions, generator=gen, dtype=torch.float64), -1) if with_ref else None
    sol = soft_value_iteration(mdp, tau, reference=ref)
    log_ref = ref.log() if with_ref else 0.0
    # closed form: π* ∝ π_ref exp(Q*/τ) and V* = τ log Σ π_ref exp(Q*/τ)
    assert torch.allclose(sol.policy, torch.softmax(sol.q / tau + log_ref, -1), atol=1e-12)
    scale = 1 + float(sol.v.abs().max())
    # its regularised value equals V*_τ ...
    J_star = float((mdp.initial * sol.v).sum())
    assert abs(float(regularized_objective(mdp, sol.policy, tau, reference=ref)) - J_star) < 1e-8 * scale
    # ... no random policy beats it ...
    pol = TabularSoftmax(mdp.n_states, mdp.n_actions)
    th = pol.random_params(64, generator=gen, scale=2.0)
    assert bool((regularized_objective(mdp, pol.probs(th), tau, reference=ref) <= J_star + 1e-8 * scale).all())
    # ... and the exact regularised gradient vanishes there (soft PG theorem and autograd)
    th_star = sol.policy.log()
    for g in (regularized_policy_gradient(mdp, pol, th_star, tau, reference=ref),
              regularized_policy_gradient_autograd(mdp, pol, th_star, tau, reference=ref)):
        assert float(g.abs().max()) < 1e-8 * scale


@given(mdps(max_states=5), st.floats(0.05, 2.0), st.integers(0, 2**31 - 1))
def test_soft_pg_theorem_equals_autograd(mdp, tau, seed):
    pol = TabularSoftmax(mdp.n_states, mdp.n_actions)
    th = pol.random_params(3, generator=torch.Generator().manual_seed(seed), scale=2.0)
    a = regularized_policy_gradient(mdp, pol, th, tau)
    b = regularized_policy_gradient_autograd(mdp, pol, th, tau)
    assert float((a - b).abs().max()) < 1e-9 * (1 + float(b.abs().max()))


def test_soft_optimum_tends_to_hard_optimum_as_temperature_vanishes():
    from .conftest import random_mdp

    mdp = random_mdp(6, 3, 0.9, 11)
    v_star = value_iteration(mdp).v
    gaps = [float((soft_value_iteration(mdp, tau).v - v_star).abs().max()) for tau in (1.0, 0.1, 0.01)]
    # entropy bonus is at most τ log A / (1−γ)
    for tau, gap in zip((1.0, 0.1, 0.01), gaps):
        assert gap <= tau * torch.log(torch.tensor(3.0)).item() / 0.1 + 1e-9
    assert gaps[0] > gaps[1] > gaps[2]


def test_policy_iteration_values_are_its_policys_exact_values_and_checks_its_start():
    """Policy iteration solves for V only inside its loop and returns the last iteration's values (issue 17): they
    must equal a fresh evaluation of the returned policy; a start that is not a policy is refused by name."""
    import pytest

    from pgtheory.problems import garnet

    for seed in range(3):
        mdp = garnet(n_states=30, n_actions=4, branching=3, discount=0.95, seed=seed)
        sol = policy_iteration(mdp)
        ev = evaluate_policy(mdp, sol.policy)
        assert torch.allclose(sol.v, ev.v, atol=1e-12, rtol=0) and torch.allclose(sol.q, ev.q, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="initial_policy"):
        policy_iteration(mdp, initial_policy=torch.ones(30, 4, dtype=torch.float64))
