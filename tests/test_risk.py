"""Entropic risk / KL-robust MDPs: Donsker–Varadhan duality (hypothesis), the risk-sensitive evaluation's fixed point,
and the envelope-theorem policy gradient against finite differences — with twins that must fail."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pgtheory.exact import (entropic_risk, entropic_worst_case, evaluate_policy, policy_gradient, risk_sensitive_evaluation,
                            risk_sensitive_objective, risk_sensitive_policy_gradient, risk_sensitive_value_iteration)
from pgtheory.policies import TabularSoftmax
from pgtheory.problems import garnet


@given(st.integers(2, 6), st.integers(0, 2**31 - 1), st.floats(0.05, 20.0))
def test_donsker_varadhan(k, seed, beta):
    rng = np.random.default_rng(seed)
    p, x = torch.from_numpy(rng.dirichlet(np.ones(k))), torch.from_numpy(rng.normal(size=k))
    rho = float(entropic_risk(x, p, beta))
    q = entropic_worst_case(x, p, beta)
    dual = float((q * x).sum() + (q * (q.log() - p.log())).sum() / beta)
    assert rho == pytest.approx(dual, abs=1e-10)
    assert float(x.min()) - 1e-12 <= rho <= float((p * x).sum()) + 1e-12  # risk-averse, bounded by the worst outcome
    other = torch.from_numpy(rng.dirichlet(np.ones(k)))  # twin: any other Q gives a larger dual value
    assert float((other * x).sum() + (other * (other.log() - p.log())).sum() / beta) >= rho - 1e-12


def test_small_beta_limit_is_the_mean():
    p, x = torch.tensor([0.3, 0.7], dtype=torch.float64), torch.tensor([1.0, -2.0], dtype=torch.float64)
    assert float(entropic_risk(x, p, 1e-6)) == pytest.approx(float((p * x).sum()), abs=1e-5)
    with pytest.raises(ValueError, match="beta: the risk aversion must be positive"):
        entropic_risk(x, p, 0.0)


def test_evaluation_is_the_value_in_the_worst_case_mdp_and_below_the_nominal_value():
    mdp = garnet(n_states=5, n_actions=3, branching=3, discount=0.9, seed=4)
    pi = torch.full((5, 3), 1 / 3, dtype=torch.float64)
    ev = risk_sensitive_evaluation(mdp, pi, 3.0)
    bellman = (pi * (mdp.rewards + 0.9 * entropic_risk(ev.v.expand(5, 3, 5), mdp.transitions, 3.0))).sum(-1)
    assert torch.allclose(bellman, ev.v, atol=1e-11)
    assert bool((ev.v <= evaluate_policy(mdp, pi).v + 1e-12).all())
    v_star, greedy = risk_sensitive_value_iteration(mdp, 3.0)
    assert torch.allclose(risk_sensitive_evaluation(mdp, greedy, 3.0).v, v_star, atol=1e-9)


def test_envelope_gradient_matches_finite_differences_and_the_nominal_pg_does_not():
    mdp = garnet(n_states=4, n_actions=2, branching=2, discount=0.9, seed=7)
    pol = TabularSoftmax(4, 2)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    g = risk_sensitive_policy_gradient(mdp, pol, th, 2.0)
    fd = torch.zeros_like(th)
    for j in range(th.numel()):
        e = torch.zeros(th.numel(), dtype=th.dtype)
        e[j] = 1e-6
        e = e.view_as(th)
        fd.view(-1)[j] = (risk_sensitive_objective(mdp, pol.probs(th + e), 2.0) - risk_sensitive_objective(mdp, pol.probs(th - e), 2.0)) / 2e-6
    assert torch.allclose(g, fd, atol=1e-7)
    assert float((policy_gradient(mdp, pol, th) - fd).abs().max()) > 1e-3  # twin: the risk-neutral gradient is not it
