"""GAE(λ): hand-computed recursion, λ ∈ {0, 1} limits, exact conditional expectation, unbiasedness and its twin."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgtheory.exact import evaluate_policy, policy_gradient
from pgtheory.estimators import gae_advantages, gae_expected_advantage, policy_gradient_estimates, td_errors
from pgtheory.policies import TabularSoftmax
from pgtheory.sampling import TrajectorySampler
from pgtheory.stats import bias_test, detection_power

from .conftest import random_mdp

ALPHA = 1e-6  # family-wise false-failure rate of each statistical assertion (normal approximation)
N = 20_000


def test_gae_hand_computed_truncated():
    """Two-step episodes, γ = 0.5, λ = 0.5: Â_1 = δ_1, Â_0 = δ_0 + γλ δ_1."""
    P = torch.zeros(2, 1, 2, dtype=torch.float64)
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    from pgtheory.problems import TabularMDP

    mdp = TabularMDP(P, torch.tensor([[1.0], [2.0]]), 0.5, torch.tensor([1.0, 0.0]))
    traj = TrajectorySampler(mdp, torch.ones(2, 1, dtype=torch.float64), termination="truncate", horizon=2).sample(1, torch.Generator().manual_seed(0))
    V = torch.tensor([0.3, 0.7], dtype=torch.float64)
    d0 = 1.0 + 0.5 * 0.7 - 0.3
    d1 = 2.0 + 0.0 - 0.7  # the last step of a truncated episode bootstraps nothing
    assert torch.allclose(td_errors(traj, V), torch.tensor([d0, d1], dtype=torch.float64))
    assert torch.allclose(gae_advantages(traj, V, 0.5), torch.tensor([d0 + 0.25 * d1, d1], dtype=torch.float64))


def test_gae_limits():
    mdp = random_mdp(4, 3, 0.8, 0)
    pol = TabularSoftmax(4, 3)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    traj = TrajectorySampler(mdp, pol.probs(th)).sample(500, torch.Generator().manual_seed(1))
    V = torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(gae_advantages(traj, V, 0.0), td_errors(traj, V))
    rtg = traj.reverse_cumsum(traj.rewards)
    assert torch.allclose(gae_advantages(traj, V, 1.0), rtg - V[traj.states], atol=1e-12)
    assert torch.allclose(policy_gradient_estimates(traj, pol, th, "gae", values=V, lam=1.0),
                          policy_gradient_estimates(traj, pol, th, "gpomdp", baseline=V), atol=1e-12)
    with pytest.raises(ValueError, match=r"lam: must lie in \[0, 1\]"):
        gae_advantages(traj, V, 1.5)


@given(st.integers(2, 5), st.integers(2, 3), st.floats(0.3, 0.95), st.floats(0.0, 1.0), st.integers(0, 2**31 - 1))
def test_expected_gae_identities(S, A, g, lam, seed):
    mdp = random_mdp(S, A, g, seed)
    pi = torch.softmax(torch.randn(S, A, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)), -1)
    ev = evaluate_policy(mdp, pi)
    scale = 1 + float(ev.q.abs().max())
    assert float((gae_expected_advantage(mdp, pi, ev.v, lam) - ev.advantage).abs().max()) < 1e-10 * scale  # V = V^π: any λ
    V = torch.randn(S, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    assert float((gae_expected_advantage(mdp, pi, V, 1.0) - (ev.q - V[:, None])).abs().max()) < 1e-10 * scale  # λ = 1: Q − V


def _noisy_gae_setup(seed, lam):
    mdp = random_mdp(4, 3, 0.8, seed)
    pol = TabularSoftmax(4, 3)
    th = pol.random_params(generator=torch.Generator().manual_seed(seed))
    pi = pol.probs(th)
    ev = evaluate_policy(mdp, pi)
    V = ev.v + 2.0 * torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    est = policy_gradient_estimates(TrajectorySampler(mdp, pi).sample(N, torch.Generator().manual_seed(seed + 2)), pol, th,
                                    "gae", values=V, lam=lam)
    expected = pol.vjp_probs(th, ev.occupancy.unsqueeze(-1) * gae_expected_advantage(mdp, pi, V, lam) / (1 - mdp.discount))
    return est, expected, policy_gradient(mdp, pol, th)


@settings(max_examples=5)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_gae_gradient_is_unbiased_for_its_exact_expectation(seed, lam):
    est, expected, _ = _noisy_gae_setup(seed, lam)
    assert bias_test(est, expected).pvalue > ALPHA


@settings(max_examples=5)
@given(st.integers(0, 2**31 - 1))
def test_twin_noisy_critic_td0_is_caught_as_biased_for_grad_j(seed):
    """λ = 0 with a critic off by N(0, 2²) per state: its exact bias is detectable (power ≥ 0.99) and detected."""
    est, expected, truth = _noisy_gae_setup(seed, 0.0)
    bias = expected - truth
    assert detection_power(bias.numpy(), est.std(0).numpy(), N, alpha=ALPHA) >= 0.99
    assert bias_test(est, truth).pvalue < ALPHA
