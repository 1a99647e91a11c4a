"""∇J three ways (PG theorem, autograd through the solve, central differences); Hessian, Fisher, NPG."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import (evaluate_policy, fisher_information, hessian, natural_gradient, objective_of_params,
                            policy_gradient, policy_gradient_autograd, policy_gradient_finite_difference)
from pgtheory.problems import TabularMDP
from pgtheory.policies import DirectPolicy, LogLinearSoftmax, TabularSoftmax

from .conftest import mdp_and_params, mdps, random_mdp


def close(a, b, J, rtol=1e-6):
    """‖a − b‖ ≤ rtol ‖b‖ + 1e-9 (1 + |J|) per batch element.

    The absolute floor is the round-off budget of central differences with step h = 1e-5:
    ε_machine |J| / h ≈ 2e-11 |J|, which dominates when the true gradient is ~0 (e.g. one action).
    """
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return bool(((a - b).norm(dim=1) <= rtol * b.norm(dim=1) + 1e-9 * (1 + J.abs())).all())


@pytest.mark.parametrize("policy_cls", [TabularSoftmax, DirectPolicy])
@given(data=st.data())
def test_pg_theorem_equals_autograd_and_fd(policy_cls, data):
    mdp, policy, theta = data.draw(mdp_and_params(policy_cls=policy_cls))
    g = policy_gradient(mdp, policy, theta)
    J = objective_of_params(mdp, policy, theta)
    assert close(g, policy_gradient_autograd(mdp, policy, theta), J, rtol=1e-9)
    assert close(g, policy_gradient_finite_difference(mdp, policy, theta), J)


@given(mdps(), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_loglinear_pg_theorem_equals_autograd_and_fd(mdp, d, seed):
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(mdp.n_states, mdp.n_actions, d, generator=gen, dtype=torch.float64)
    policy = LogLinearSoftmax(phi)
    theta = policy.random_params(3, generator=gen)
    g = policy_gradient(mdp, policy, theta)
    J = objective_of_params(mdp, policy, theta)
    assert close(g, policy_gradient_autograd(mdp, policy, theta), J, rtol=1e-9)
    assert close(g, policy_gradient_finite_difference(mdp, policy, theta), J)


def test_known_wrong_gradient_is_caught():
    """Twin: the A-weighted formula is wrong for the direct parameterisation, and the check sees it."""
    mdp = random_mdp(4, 3, 0.9, 3)
    pol = DirectPolicy(4, 3)
    th = pol.random_params(2, generator=torch.Generator().manual_seed(0))
    ev = evaluate_policy(mdp, th)
    wrong = ev.occupancy.unsqueeze(-1) * ev.advantage / (1 - mdp.discount)
    assert not close(wrong, policy_gradient_finite_difference(mdp, pol, th), ev.objective)


def test_batch_of_1000_policies_in_one_call():
    mdp = random_mdp(8, 3, 0.9, 1)
    pol = TabularSoftmax(8, 3)
    th = pol.random_params(1000, generator=torch.Generator().manual_seed(0))
    g = policy_gradient(mdp, pol, th)
    assert g.shape == (1000, 8, 3)
    for i in (0, 517, 999):
        assert torch.allclose(g[i], policy_gradient(mdp, pol, th[i]), atol=1e-13)


@given(mdp_and_params(batch=2, max_states=4, max_actions=3))
def test_hessian_symmetric_and_matches_fd_of_gradient(args):
    mdp, policy, theta = args
    H = hessian(mdp, policy, theta)
    n = policy.n_params
    assert H.shape == (2, n, n)
    assert torch.allclose(H, H.transpose(-1, -2), atol=1e-10)
    h = 1e-5
    E = torch.eye(n, dtype=theta.dtype).reshape(n, *policy.param_shape) * h
    Hfd = (policy_gradient(mdp, policy, theta[:, None] + E) - policy_gradient(mdp, policy, theta[:, None] - E)) / (2 * h)
    Hfd = Hfd.reshape(2, n, n)
    J = objective_of_params(mdp, policy, theta)
    assert bool(((H - Hfd).flatten(1).norm(dim=1) <= 1e-6 * H.flatten(1).norm(dim=1) + 1e-8 * (1 + J.abs())).all())


@given(mdp_and_params(batch=2))
def test_fisher_is_expected_outer_score_and_psd(args):
    mdp, policy, theta = args
    F = fisher_information(mdp, policy, theta)
    assert torch.allclose(F, F.transpose(-1, -2), atol=1e-12)
    assert float(torch.linalg.eigvalsh(F).min()) > -1e-12
    # independent route: autograd Jacobian of log π in the generic base-class path
    G = TabularSoftmax.__mro__[1].log_prob_jacobian(policy, theta)
    pi = policy.probs(theta)
    d = evaluate_policy(mdp, pi).occupancy
    F2 = torch.einsum("bs,bsa,bsai,bsaj->bij", d, pi, G, G)
    assert torch.allclose(F, F2, atol=1e-12)


@given(mdp_and_params(batch=2))
def test_softmax_natural_gradient_is_advantage(args):
    """F⁺∇J = A^π/(1−γ) up to per-state constants (Kakade 2001; Agarwal et al. 2021 Lemma 15)."""
    mdp, policy, theta = args
    w = natural_gradient(mdp, policy, theta)
    ev = evaluate_policy(mdp, policy.probs(theta))
    a = ev.advantage / (1 - mdp.discount)
    centred = lambda x: x - x.mean(-1, keepdim=True)
    live = ev.occupancy > 1e-8  # states the policy never reaches have no Fisher information
    err = (centred(w) - centred(a)).abs().amax(-1)[live]
    assert float(err.max()) < 1e-6 * (1 + float(a.abs().max()))


def test_natural_gradient_step_with_unit_step_is_policy_iteration_like():
    """NPG with step η on softmax is π ← π exp(η A/(1−γ)); as η → ∞ it becomes greedy (PI step)."""
    mdp = random_mdp(5, 3, 0.9, 7)
    pol = TabularSoftmax(5, 3)
    th = pol.random_params(generator=torch.Generator().manual_seed(2))
    w = natural_gradient(mdp, pol, th)
    ev = evaluate_policy(mdp, pol.probs(th))
    new = pol.probs(th + 1e3 * w)
    assert torch.equal(new.argmax(-1), ev.q.argmax(-1))


def test_natural_gradient_stays_finite_for_nearly_deterministic_policies():
    """Issue 18: with π(a|s) ~ 1e-300 the Fisher matrix is subnormal and pinv returned NaN (notebook 01's NPG cell,
    iteration 707). F⁺∇J is scale-invariant, so the direction must stay finite, and equal A/(1−γ) per-state
    centred wherever it is resolvable; where F and ∇J underflow to exactly 0 it is 0."""
    from pgtheory.exact import evaluate_policy, natural_gradient
    from pgtheory.policies import TabularSoftmax

    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 0] = P[1, 1, 1] = 1.0
    mdp = TabularMDP(P, torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64), 0.9, torch.tensor([1.0, 0.0]))
    pol = TabularSoftmax(2, 2)
    for scale in (1.0, 100.0, 340.0, 345.0, 400.0):  # π_min from 0.02 to subnormal to exactly 0
        th = torch.tensor([[scale, -scale], [-scale, scale]], dtype=torch.float64)
        npg = natural_gradient(mdp, pol, th)
        assert torch.isfinite(npg).all(), scale
        if scale == 1.0:
            adv = evaluate_policy(mdp, pol.probs(th)).advantage / 0.1
            centred = lambda x: x - x.mean(-1, keepdim=True)  # noqa: E731
            assert torch.allclose(centred(npg), centred(adv), atol=1e-8)
