"""Importance-sampling estimators of J(π): hand values, unbiasedness (IS, PDIS), biased twins, variance ordering.

Statistical assertions: Bonferroni z at ALPHA = 1e-6 (false-failure rate ≤ 1e-6 each, normal approximation);
twins assert power ≥ 0.99 from the exact difference before testing.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgtheory.estimators import IS_ESTIMATORS, importance_estimates, trajectory_weights, weighted_is
from pgtheory.exact import evaluate_policy
from pgtheory.problems import TabularMDP
from pgtheory.sampling import TrajectorySampler
from pgtheory.stats import MomentAccumulator, bias_test, detection_power, relative_efficiency

from .conftest import random_mdp

ALPHA = 1e-6
N = 100_000


def test_hand_values_two_steps():
    P = torch.zeros(1, 2, 1, dtype=torch.float64)
    P[0, :, 0] = 1.0
    mdp = TabularMDP(P, torch.tensor([[1.0, 3.0]]), 0.5, torch.tensor([1.0]))
    mu = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    pi = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    traj = TrajectorySampler(mdp, mu, target=pi, termination="truncate", horizon=2).sample(32, torch.Generator().manual_seed(0))
    ratio = {0: 0.5, 1: 1.5}
    rew = {0: 1.0, 1: 3.0}
    IS, PD, TR = importance_estimates(traj, "is"), importance_estimates(traj, "pdis"), importance_estimates(traj, "truncated_is", clip=1.0)
    for e in range(32):
        a0, a1 = int(traj.actions[e]), int(traj.actions[32 + e])
        G = rew[a0] + 0.5 * rew[a1]
        assert math.isclose(float(IS[e]), ratio[a0] * ratio[a1] * G, rel_tol=1e-12)
        assert math.isclose(float(PD[e]), ratio[a0] * rew[a0] + ratio[a0] * ratio[a1] * 0.5 * rew[a1], rel_tol=1e-12)
        assert math.isclose(float(TR[e]), min(ratio[a0], 1) * rew[a0] + min(ratio[a0], 1) * min(ratio[a1], 1) * 0.5 * rew[a1], rel_tol=1e-12)
    assert set(IS_ESTIMATORS.names()) == {"is", "pdis", "truncated_is"}
    with pytest.raises(ValueError, match="clip: must be positive"):
        importance_estimates(traj, "truncated_is", clip=0.0)


def _setup(seed):
    mdp = random_mdp(4, 3, 0.7, seed)
    g = torch.Generator().manual_seed(seed)
    pi = torch.softmax(1.5 * torch.randn(4, 3, generator=g, dtype=torch.float64), -1)
    mu = torch.softmax(0.5 * torch.randn(4, 3, generator=g, dtype=torch.float64), -1)
    traj = TrajectorySampler(mdp, mu, target=pi).sample(N, torch.Generator().manual_seed(seed + 1))
    return mdp, pi, mu, traj, evaluate_policy(mdp, pi).objective


@settings(max_examples=4)
@given(st.integers(0, 2**20))
def test_is_and_pdis_unbiased_truncated_biased(seed):
    mdp, pi, mu, traj, J = _setup(seed)
    for kind in ("is", "pdis"):
        assert bias_test(importance_estimates(traj, kind)[:, None], J[None]).pvalue > ALPHA, kind
    assert bias_test(trajectory_weights(traj)[:, None], torch.ones(1, dtype=torch.float64)).pvalue > ALPHA  # E_μ[W] = 1
    # twin: ratios truncated at c = 0.5. Exact mean: with m(s,a) = μ min(π/μ, c), E = ρᵀ(I − γ M)⁻¹ r_m,
    # M = Σ_a m P, r_m = Σ_a m r (geometric continuation with probability γ)
    m = mu * torch.clamp(pi / mu, max=0.5)
    M = torch.einsum("sa,sat->st", m, mdp.transitions)
    exact_tr = mdp.initial @ torch.linalg.solve(torch.eye(4, dtype=torch.float64) - mdp.discount * M, (m * mdp.rewards).sum(-1))
    tr = importance_estimates(traj, "truncated_is", clip=0.5)[:, None]
    assert bias_test(tr, exact_tr[None]).pvalue > ALPHA  # unbiased for its own (wrong) target ...
    assert detection_power(np.array([float(exact_tr - J)]), tr.std(0).numpy(), N, alpha=ALPHA) >= 0.99
    assert bias_test(tr, J[None]).pvalue < ALPHA  # ... and caught as biased for J(π)


def test_pdis_has_lower_variance_than_is_and_wis_is_consistent():
    mdp, pi, mu, traj, J = _setup(3)
    a = MomentAccumulator.from_samples(importance_estimates(traj, "pdis")[:, None], chunk=N // 20)
    b = MomentAccumulator.from_samples(importance_estimates(traj, "is")[:, None], chunk=N // 20)
    assert relative_efficiency(a, b).ci_high < 1  # measured on this instance, not a theorem in general
    assert abs(weighted_is(traj) - float(J)) < 0.05 * (1 + abs(float(J)))
