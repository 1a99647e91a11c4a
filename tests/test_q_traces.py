"""Multi-step Q operators: exact per-decision operators (fixed point Q^π, Retrace/TB contraction ≤ γ, Q^π(λ)'s
loss of contraction) and sampled targets (per-decision ones match the exact operator; all traces keep Q^π fixed).

Statistical assertions: Bonferroni z at ALPHA = 1e-6 over the S·A entries (false-failure rate ≤ 1e-6 each); the twin
applies the same test to the truth of a different λ, which must reject after a power check.
"""
import numpy as np
import pytest
import torch

from pgtheory.estimators import Q_TRACES, q_trace_targets
from pgtheory.exact import evaluate_policy, per_decision_trace_operator
from pgtheory.problems import garnet
from pgtheory.sampling import rollouts_from_state_actions
from pgtheory.stats import bias_test, detection_power

ALPHA = 1e-6
MDP = garnet(n_states=4, n_actions=2, branching=2, discount=0.8, seed=3)
G = torch.Generator().manual_seed(0)
PI = torch.softmax(2 * torch.randn(4, 2, generator=G, dtype=torch.float64), -1)
MU = torch.softmax(torch.randn(4, 2, generator=G, dtype=torch.float64), -1)


@pytest.mark.parametrize("trace", ["is", "retrace", "tree_backup", "q_lambda"])
def test_exact_operator_fixed_point_and_modulus(trace):
    qpi = evaluate_policy(MDP, PI).q.reshape(-1)
    for lam in (0.0, 0.5, 1.0):
        op = per_decision_trace_operator(MDP, PI, MU, trace, lam)
        assert torch.allclose(op(qpi), qpi, atol=1e-10)
        if trace in ("retrace", "tree_backup"):
            assert op.modulus <= MDP.discount + 1e-12
    assert per_decision_trace_operator(MDP, PI, MU, "retrace", 0.0).modulus == pytest.approx(MDP.discount)


def test_q_lambda_can_expand():
    """Q^π(λ) without correction is not a contraction for λ = 1 when π and μ differ enough (Harutyunyan et al. 2016)."""
    pi = torch.tensor([[1.0, 0.0]] * 4, dtype=torch.float64)
    mu = torch.tensor([[0.0, 1.0]] * 4, dtype=torch.float64) * 0.99 + 0.005
    mu = mu / mu.sum(-1, keepdim=True)
    assert per_decision_trace_operator(MDP, pi, mu, "q_lambda", 1.0).modulus > 1


@pytest.mark.parametrize("trace", ["is", "retrace", "tree_backup", "q_lambda"])
def test_sampled_per_decision_targets_match_the_exact_operator_with_twin(trace):
    n, H = 40_000, 60  # truncation bias ≤ 0.8^60·max|δ| ≈ 2e-6, far below the test's resolution
    ro = rollouts_from_state_actions(MDP, MU, n, H, torch.Generator().manual_seed(1))
    q0 = torch.zeros(4, 2, dtype=torch.float64)
    targets = q_trace_targets(MDP, PI, MU, q0, ro, trace, 0.7).T  # [n, S·A]
    truth = per_decision_trace_operator(MDP, PI, MU, trace, 0.7)(q0.reshape(-1))
    assert bias_test(targets, truth).pvalue > ALPHA
    wrong = per_decision_trace_operator(MDP, PI, MU, trace, 0.2)(q0.reshape(-1))
    assert detection_power((truth - wrong).numpy(), targets.std(0).numpy(), n, alpha=ALPHA) >= 0.99
    assert bias_test(targets, wrong).pvalue <= ALPHA


@pytest.mark.parametrize("trace", sorted(Q_TRACES))
def test_q_pi_is_a_fixed_point_of_every_sampled_operator(trace):
    ro = rollouts_from_state_actions(MDP, MU, 20_000, 30, torch.Generator().manual_seed(2))
    qpi = evaluate_policy(MDP, PI).q
    targets = q_trace_targets(MDP, PI, MU, qpi, ro, trace, 0.9).T
    assert bias_test(targets, qpi.reshape(-1)).pvalue > ALPHA


def test_rbis_hand_values():
    """β_t = min(λ^t, β_{t−1}ρ_t): with ρ = (2, 2, 0.1) and λ = 0.9 → 0.9, 0.81, 0.081."""
    beta = torch.ones(1, dtype=torch.float64)
    out = []
    for t, rho in enumerate((2.0, 2.0, 0.1), start=1):
        r = torch.tensor([rho], dtype=torch.float64)
        beta = Q_TRACES["rbis"](beta, None, r, None, 0.9, t)
        out.append(float(beta))
    assert np.allclose(out, [0.9, 0.81, 0.081])
    with pytest.raises(ValueError, match="trace: unknown trace"):
        q_trace_targets(MDP, PI, MU, torch.zeros(4, 2, dtype=torch.float64), None, "nope", 0.5)


def test_twin_fixed_point_test_rejects_targets_for_another_policy():
    """Twin of the fixed-point test: the same test, at Q^π, on targets built for another target policy π′, rejects."""
    ro = rollouts_from_state_actions(MDP, MU, 20_000, 30, torch.Generator().manual_seed(2))
    qpi = evaluate_policy(MDP, PI).q
    other = torch.softmax(torch.randn(4, 2, generator=torch.Generator().manual_seed(9), dtype=torch.float64), -1)
    targets = q_trace_targets(MDP, other, MU, qpi, ro, "retrace", 0.9).T
    expected = per_decision_trace_operator(MDP, other, MU, "retrace", 0.9)(qpi.reshape(-1))
    assert detection_power((expected - qpi.reshape(-1)).numpy(), targets.std(0).numpy(), 20_000, alpha=ALPHA) >= 0.99
    assert bias_test(targets, qpi.reshape(-1)).pvalue <= ALPHA
