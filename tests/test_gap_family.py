"""The two-point gap-ε linear MDPs (pgtheory.problems.gap_family): gaps c·ε exactly, the ε-optimality threshold."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgtheory.exact.evaluation import evaluate_policy, objective
from pgtheory.exact.solvers import value_iteration
from pgtheory.problems.gap_family import (DECISION_STATE, LOSE_STATE, WIN_STATE, gap_family, gap_linear_mdp,
                                          success_probabilities)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("eps,c,pbar,gamma,A,best", [(0.05, 1.0, 0.5, 0.8, 2, 0), (0.1, 2.0, 0.35, 0.9, 3, 2),
                                                     (0.4, 1.0, 0.3, 0.8, 2, 1), (0.003, 0.5, 0.7, 0.5, 4, 1)])
def test_action_gaps_equal_c_eps_exactly(eps, c, pbar, gamma, A, best):
    lin = gap_linear_mdp(eps, gap_multiple=c, base_success=pbar, discount=gamma, n_actions=A, best_action=best)
    mdp = lin.tabular()
    sol = value_iteration(mdp)
    q = evaluate_policy(mdp, sol.policy).q  # exact Q* from the tabular form
    gaps = q[DECISION_STATE, best] - q[DECISION_STATE]
    expected = torch.full((A,), c * eps, dtype=torch.float64)
    expected[best] = 0.0
    torch.testing.assert_close(gaps, expected, atol=1e-12, rtol=0)
    # win and lose: every action is the same (zero gap)
    torch.testing.assert_close(q[WIN_STATE] - q[WIN_STATE, 0], torch.zeros(A, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(q[LOSE_STATE] - q[LOSE_STATE, 0], torch.zeros(A, dtype=torch.float64), atol=1e-12, rtol=0)
    # hand-computed: Q*(0, a) = γ p_a + γ² V*(0), V*(0) = γ p_best / (1 − γ²)
    p = success_probabilities(eps, gap_multiple=c, base_success=pbar, discount=gamma, n_actions=A, best_action=best)
    v0 = gamma * p[best] / (1 - gamma**2)
    torch.testing.assert_close(q[DECISION_STATE], torch.from_numpy(gamma * p + gamma**2 * v0), atol=1e-12, rtol=0)
    assert lin.feature_dim == A + 2 and lin.n_states == 3


def test_wrong_action_with_probability_q_costs_q_c_eps_over_one_minus_gamma_squared():
    eps, c, gamma = 0.1, 1.0, 0.8
    lin = gap_linear_mdp(eps, gap_multiple=c, base_success=0.45, discount=gamma, best_action=1)
    mdp = lin.tabular()
    j_star = float(objective(mdp, value_iteration(mdp).policy))
    for q in (0.0, 0.36, 0.5, 1.0):
        pi = torch.full((3, 2), 0.5, dtype=torch.float64)
        pi[DECISION_STATE] = torch.tensor([q, 1 - q], dtype=torch.float64)  # action 0 is the wrong one
        gap = j_star - float(objective(mdp, pi))
        assert gap == pytest.approx(q * c * eps / (1 - gamma**2), abs=1e-12)
    # the threshold: q = 1 − γ² is exactly ε-optimal; the uniform policy (q = ½) is not
    assert (1 - gamma**2) * c * eps / (1 - gamma**2) == pytest.approx(eps)


def test_family_shares_everything_but_the_gap():
    targets = [0.2, 0.1, 0.05]
    fam = gap_family(targets, gap_multiple=1.0, base_success=0.6, discount=0.8, best_action=1)
    assert len(fam) == 3
    for lin, e in zip(fam, targets):
        P = lin.transitions
        assert float(P[DECISION_STATE, 1, WIN_STATE] - P[DECISION_STATE, 0, WIN_STATE]) == pytest.approx(e / 0.8, abs=1e-12)
        assert float(0.5 * (P[DECISION_STATE, 1, WIN_STATE] + P[DECISION_STATE, 0, WIN_STATE])) == pytest.approx(0.6)
        torch.testing.assert_close(P[WIN_STATE, :, DECISION_STATE], torch.ones(2, dtype=torch.float64))
        assert float(lin.initial[DECISION_STATE]) == 1.0
        np.testing.assert_allclose(lin.rewards.numpy(), [[0, 0], [1, 1], [0, 0]], atol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="^target"):
        gap_linear_mdp(0.0)
    with pytest.raises(ValueError, match="^target"):
        gap_linear_mdp(0.9, base_success=0.3)  # p̄ − Δp/2 < 0
    with pytest.raises(ValueError, match="^base_success"):
        gap_linear_mdp(0.1, base_success=1.0)
    with pytest.raises(ValueError, match="^n_actions"):
        gap_linear_mdp(0.1, n_actions=1)
    with pytest.raises(ValueError, match="^best_action"):
        gap_linear_mdp(0.1, n_actions=2, best_action=2)
    with pytest.raises(ValueError, match="^discount"):
        gap_linear_mdp(0.1, discount=0.0)
    with pytest.raises(ValueError, match="^gap_multiple"):
        gap_linear_mdp(0.1, gap_multiple=-1.0)
    with pytest.raises(ValueError, match="^targets"):
        gap_family([])
