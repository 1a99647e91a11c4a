r"""Entropic-risk (KL-regularised robust) MDPs, exactly.

Entropic risk of a reward X under P with risk aversion β > 0 and its Donsker–Varadhan dual:

.. math:: \rho_\beta(X) = -\tfrac1\beta\log\mathbb E_P e^{-\beta X} = \min_Q\ \mathbb E_Q X + \tfrac1\beta\mathrm{KL}(Q\|P),
          \qquad Q^* \propto P e^{-\beta X}.

The risk-sensitive Bellman equation V(s) = Σ_a π(a|s)[r(s,a) + γ ρ_β^{P(·|s,a)}(V)] is therefore the Bellman
equation of an (s,a)-rectangular robust MDP whose adversary picks a kernel Q and pays (γ/β)KL(Q‖P): with the
worst-case kernel P̃_π(·|s,a) ∝ P(·|s,a)e^{−βV^π} and reward r̃ = r + (γ/β)KL(P̃‖P), V^π is the ordinary value of π in
the MDP (P̃_π, r̃). By the envelope theorem the policy gradient is the ordinary PG theorem in that MDP with P̃ and r̃
held fixed (:func:`risk_sensitive_policy_gradient`), which the tests check against finite differences.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_positive_int
from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from .evaluation import check_policy, evaluate_policy
from .gradients import policy_gradient

__all__ = ["entropic_risk", "entropic_worst_case", "RiskEvaluation", "risk_sensitive_evaluation",
           "risk_sensitive_value_iteration", "risk_sensitive_objective", "risk_sensitive_policy_gradient"]


def _beta(beta) -> float:
    b = float(beta)
    if not b > 0 or b == float("inf"):
        raise ValueError(f"beta: the risk aversion must be positive and finite, got {beta}")
    return b


def entropic_risk(x: torch.Tensor, p: torch.Tensor, beta: float) -> torch.Tensor:
    """ρ_β(X) = −(1/β) log Σ_i p_i e^{−βx_i} over the last axis (log-sum-exp; p_i = 0 terms drop out)."""
    b = _beta(beta)
    x = check_finite(as_tensor(x, "x"), "x")
    p = as_tensor(p, "p")
    logp = torch.where(p > 0, p.clamp_min(1e-300).log(), torch.full_like(p, -torch.inf))
    return -torch.logsumexp(logp - b * x, -1) / b


def entropic_worst_case(x: torch.Tensor, p: torch.Tensor, beta: float) -> torch.Tensor:
    """Q* ∝ P e^{−βX}: the minimiser in the Donsker–Varadhan dual, same shape as p."""
    b = _beta(beta)
    logp = torch.where(p > 0, p.clamp_min(1e-300).log(), torch.full_like(p, -torch.inf))
    return torch.softmax(logp - b * x, -1)


class RiskEvaluation(NamedTuple):
    v: torch.Tensor  #: V^π_β, [S]
    kernel: torch.Tensor  #: worst-case P̃_π(s'|s,a), [S, A, S]
    reward: torch.Tensor  #: r̃ = r + (γ/β) KL(P̃‖P), [S, A]
    iterations: int


def risk_sensitive_evaluation(mdp: TabularMDP, pi, beta: float, *, tol: float = 1e-13, max_iter: int = 100_000,
                              v0: torch.Tensor | None = None) -> RiskEvaluation:
    """V^π_β by fixed-point iteration of the risk-sensitive Bellman operator (a γ-contraction in sup norm).

    Each step is a policy evaluation in the current worst-case MDP (P̃_v, r̃_v) — a policy-iteration step for the
    adversary, which converges in a handful of steps — from ``v0`` (default 0).
    """
    b = _beta(beta)
    pi = check_policy(mdp, pi)
    if pi.ndim != 2:
        raise ValueError(f"pi: expected a single policy [S, A], got shape {tuple(pi.shape)}")
    v = torch.zeros(mdp.n_states, dtype=mdp.rewards.dtype, device=mdp.device) if v0 is None else v0.clone()
    for k in range(1, max_iter + 1):
        kernel, reward = _worst_case_mdp(mdp, v, b)
        new = evaluate_policy(TabularMDP(kernel, reward, mdp.discount, mdp.initial), pi).v
        done = float((new - v).abs().max()) < tol
        v = new
        if done:
            break
    kernel, reward = _worst_case_mdp(mdp, v, b)
    return RiskEvaluation(v, kernel, reward, k)


def _worst_case_mdp(mdp: TabularMDP, v: torch.Tensor, b: float):
    kernel = entropic_worst_case(v.expand(mdp.n_states, mdp.n_actions, -1), mdp.transitions, b)
    pos = kernel > 0
    kl = torch.where(pos, kernel * (kernel.clamp_min(1e-300).log() - mdp.transitions.clamp_min(1e-300).log()), torch.zeros_like(kernel)).sum(-1)
    return kernel, mdp.rewards + mdp.discount / b * kl


def risk_sensitive_value_iteration(mdp: TabularMDP, beta: float, *, tol: float = 1e-13, max_iter: int = 100_000):
    """(V*_β, greedy policy [S, A]) of the risk-sensitive MDP: V(s) = max_a r + γ ρ_β(V)."""
    b = _beta(beta)
    check_positive_int(max_iter, "max_iter")
    v = torch.zeros(mdp.n_states, dtype=mdp.rewards.dtype, device=mdp.device)
    for _ in range(max_iter):
        q = mdp.rewards + mdp.discount * entropic_risk(v.expand(mdp.n_states, mdp.n_actions, -1), mdp.transitions, b)
        new = q.max(-1).values
        done = float((new - v).abs().max()) < tol
        v = new
        if done:
            break
    pi = torch.nn.functional.one_hot(q.argmax(-1), mdp.n_actions).to(mdp.rewards.dtype)
    return v, pi


def _robust_mdp(mdp: TabularMDP, ev: RiskEvaluation) -> TabularMDP:
    return TabularMDP(ev.kernel, ev.reward, mdp.discount, mdp.initial)


def risk_sensitive_objective(mdp: TabularMDP, pi, beta: float) -> torch.Tensor:
    """J_β(π) = Σ_s ρ_0(s) V^π_β(s)."""
    return (mdp.initial * risk_sensitive_evaluation(mdp, pi, beta).v).sum()


def risk_sensitive_policy_gradient(mdp: TabularMDP, policy: TabularPolicy, theta, beta: float) -> torch.Tensor:
    """∇_θ J_β by the envelope theorem: the PG theorem in the robust MDP (P̃_π, r̃) held fixed."""
    theta = as_tensor(theta, "theta", device=mdp.device)
    ev = risk_sensitive_evaluation(mdp, policy.probs(theta), beta)
    return policy_gradient(_robust_mdp(mdp, ev), policy, theta)
