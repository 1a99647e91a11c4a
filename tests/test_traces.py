"""V-trace: exact operator (fixed point, ρ̄ ≥ max π/μ, contraction), hand-computed targets, MC unbiasedness and twin."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgtheory.estimators import vtrace_targets
from pgtheory.exact import evaluate_policy, truncated_target_policy, vtrace_operator
from pgtheory.problems import TabularMDP
from pgtheory.sampling import TrajectorySampler
from pgtheory.stats import bias_test, detection_power

from .conftest import random_mdp

ALPHA = 1e-6  # false-failure rate of each statistical assertion (normal approximation)


@given(st.integers(2, 5), st.integers(2, 3), st.floats(0.3, 0.95), st.floats(0.05, 5.0), st.integers(0, 2**31 - 1))
def test_operator_fixed_point_and_contraction(S, A, g, rho_bar, seed):
    mdp = random_mdp(S, A, g, seed)
    gen = torch.Generator().manual_seed(seed)
    pi = torch.softmax(2 * torch.randn(S, A, generator=gen, dtype=torch.float64), -1)
    mu = torch.softmax(torch.randn(S, A, generator=gen, dtype=torch.float64), -1)
    R = vtrace_operator(mdp, pi, mu, rho_bar=rho_bar, c_bar=min(rho_bar, 1.0))
    v_star = evaluate_policy(mdp, truncated_target_policy(pi, mu, rho_bar)).v
    scale = 1 + float(v_star.abs().max())
    assert float((R.fixed_point() - v_star).abs().max()) < 1e-9 * scale
    assert R.modulus < 1
    x, y = torch.randn(S, generator=gen, dtype=torch.float64), torch.randn(S, generator=gen, dtype=torch.float64)
    assert float((R(x) - R(y)).abs().max()) <= R.modulus * float((x - y).abs().max()) + 1e-12
    if rho_bar >= float((pi / mu).max()):
        assert float((v_star - evaluate_policy(mdp, pi).v).abs().max()) < 1e-9 * scale


def test_vtrace_targets_hand_computed():
    """Two-step truncated episode, γ = 0.5, one action with π/μ = 2 → ρ = min(ρ̄, 2), c = min(c̄, 2)."""
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, :, 1] = P[1, :, 1] = 1.0
    mdp = TabularMDP(P, torch.tensor([[1.0, 1.0], [2.0, 2.0]]), 0.5, torch.tensor([1.0, 0.0]))
    mu = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    pi = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    traj = TrajectorySampler(mdp, mu, target=pi, termination="truncate", horizon=2).sample(64, torch.Generator().manual_seed(0))
    V = torch.tensor([0.3, 0.7], dtype=torch.float64)
    v = vtrace_targets(traj, V, rho_bar=1.5, c_bar=0.8)
    for e in range(64):
        i0, i1 = traj.step_slice(0).start + e, traj.step_slice(1).start + e
        r0 = 2.0 if int(traj.actions[i0]) == 0 else 0.0
        r1 = 2.0 if int(traj.actions[i1]) == 0 else 0.0
        d0 = min(1.5, r0) * (1.0 + 0.5 * 0.7 - 0.3)
        d1 = min(1.5, r1) * (2.0 - 0.7)
        assert math.isclose(float(v[i1]), 0.7 + d1, abs_tol=1e-12)
        assert math.isclose(float(v[i0]), 0.3 + d0 + 0.5 * min(0.8, r0) * d1, abs_tol=1e-12)
    with pytest.raises(ValueError, match="rho_bar: must be positive"):
        vtrace_targets(traj, V, rho_bar=0.0)


@settings(max_examples=4)
@given(st.integers(0, 2**20))
def test_vtrace_targets_unbiased_for_the_operator_and_twin(seed):
    mdp = random_mdp(4, 3, 0.8, seed)
    gen = torch.Generator().manual_seed(seed)
    pi = torch.softmax(2 * torch.randn(4, 3, generator=gen, dtype=torch.float64), -1)
    mu = torch.softmax(torch.randn(4, 3, generator=gen, dtype=torch.float64), -1)
    R = vtrace_operator(mdp, pi, mu, rho_bar=0.5, c_bar=0.5)
    V = torch.randn(4, generator=gen, dtype=torch.float64)
    n = 40_000
    traj = TrajectorySampler(mdp, mu, target=pi).sample(n, torch.Generator().manual_seed(seed + 1))
    v0 = vtrace_targets(traj, V, rho_bar=0.5, c_bar=0.5)[: traj.step_offsets[1]][:, None]
    assert bias_test(v0, (mdp.initial * R(V)).sum()[None]).pvalue > ALPHA
    # twin: truncated V-trace (ρ̄ = 0.2) started from its own fixed point V^{π_ρ̄} estimates ρᵀV^{π_ρ̄}, not ρᵀV^π
    R2 = vtrace_operator(mdp, pi, mu, rho_bar=0.2, c_bar=0.2)
    v_fp = R2.fixed_point()
    v0s = vtrace_targets(traj, v_fp, rho_bar=0.2, c_bar=0.2)[: traj.step_offsets[1]][:, None]
    assert bias_test(v0s, (mdp.initial * v_fp).sum()[None]).pvalue > ALPHA
    target_pi = (mdp.initial * evaluate_policy(mdp, pi).v).sum()
    diff = float((mdp.initial * v_fp).sum() - target_pi)
    assert detection_power(torch.tensor([diff]).numpy(), v0s.std(0).numpy(), n, alpha=ALPHA) >= 0.99
    assert bias_test(v0s, target_pi[None]).pvalue < ALPHA
