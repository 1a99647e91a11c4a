r"""All-action policy-gradient estimators on tabular MDPs: every action's value at each visited state, one estimate
per trajectory.

.. math:: \hat g_n = \sum_{t} w_t \sum_a \nabla_\theta\pi_\theta(a\mid s_t)\,\psi(s_t, a),

with w_t the step weight of the batch (1 under geometric termination, γ^t under truncation) and ψ a per-(state,
action) table computed from a critic ``critic [S, A]`` (registry :data:`ALL_ACTION_ESTIMATORS`):

========  ==================================================  ===================================================
name      ψ(s, a)                                             source
========  ==================================================  ===================================================
``mac``   Q̂(s, a)                                             Mean Actor-Critic, Allen, Asadi et al. 2017
                                                              (arXiv:1709.00503): ∇J ≈ Σ_s d(s) Σ_a ∇π(a|s) Q̂(s,a)
``qpg``   Q̂(s, a) − Σ_b π(b|s) Q̂(s, b)                        QPG, Srinivasan et al. 2018 (arXiv:1810.09026);
                                                              rlax ``qpg_loss`` (read on 2026-11-30): loss
                                                              −Σ_a π(a|s) [Q − Σ_b π Q]_stop-grad
========  ==================================================  ===================================================

Σ_a π(a|s) ψ(s,a) ∇log π(a|s) = Σ_a ∇π(a|s) ψ(s,a), so QPG is the mean actor-critic with the state baseline
Σ_b π(b|s) Q̂(s,b); the two coincide whenever Σ_a ∇π(a|s) = 0 (every softmax parameterisation), and differ for the
direct parameterisation in unconstrained coordinates. rlax averages over time steps; here steps are summed with their
weights w_t, so that the estimate is on the scale of ∇J.

Exact properties (geometric termination, where E Σ_t 1[s_t = s] = d^π_ρ(s)/(1−γ)):

* with ``critic = Q^π``, ``mac`` is unbiased for ∇J (policy-gradient theorem); ``qpg`` is unbiased whenever
  Σ_a ∇π(a|s) = 0;
* with any critic the bias is exactly :func:`all_action_bias`,
  (1/(1−γ)) Σ_s d(s) Σ_a ∇π(a|s) (ψ(s,a) − Q^π(s,a));
* variance: at one step the all-action term is E[ψ(s,a) ∇log π(a|s) | s] (Rao–Blackwell), so its variance is at most
  that of the single-action term ``actor_critic_q``. Summed over a trajectory the cross-step covariances can break
  the ordering in general; it holds when per-step scores are orthogonal, e.g. a tabular policy on an MDP that never
  revisits a state (a layered MDP), which the tests check exactly.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_shape
from .._registry import Registry
from ..exact.gradients import check_mdp_policy
from ..policies.tabular import TabularPolicy, TabularSoftmax
from ..sampling.mdp import Trajectories
from .policy_gradient import check_on_policy, check_policy_fits, check_trajectories

__all__ = ["ALL_ACTION_ESTIMATORS", "all_action_estimates", "all_action_weights", "all_action_bias"]

WeightFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ALL_ACTION_ESTIMATORS: Registry[WeightFn] = Registry("all-action estimator")


@ALL_ACTION_ESTIMATORS.register("mac")
def mean_actor_critic_weights(pi: torch.Tensor, critic: torch.Tensor) -> torch.Tensor:
    """ψ(s, a) = Q̂(s, a) (Mean Actor-Critic), ``[S, A]``."""
    return critic


@ALL_ACTION_ESTIMATORS.register("qpg")
def qpg_weights(pi: torch.Tensor, critic: torch.Tensor) -> torch.Tensor:
    """ψ(s, a) = Q̂(s, a) − Σ_b π(b|s) Q̂(s, b) (QPG), ``[S, A]``."""
    return critic - (pi * critic).sum(-1, keepdim=True)


def _check_critic(critic, policy: TabularPolicy, device: torch.device) -> torch.Tensor:
    q = check_finite(as_tensor(critic, "critic", device=device), "critic")
    return check_shape(q, "critic", (policy.n_states, policy.n_actions), "[S, A]")


def all_action_weights(policy: TabularPolicy, theta, critic, estimator: str = "mac") -> torch.Tensor:
    """ψ(s, a) of the named estimator for one θ and a critic table ``critic [S, A]``: ``[S, A]``."""
    fn = ALL_ACTION_ESTIMATORS.resolve(estimator, {}, n_positional=2, arg="estimator")
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    theta = check_shape(policy.check_params(theta), "theta", policy.param_shape, "param_shape")
    pi = policy.probs(theta)
    return fn(pi, _check_critic(critic, policy, pi.device))


def _contract_action_weights(W: torch.Tensor, policy: TabularPolicy, theta: torch.Tensor) -> torch.Tensor:
    """Σ_{s,a} W[n, s, a] ∇log π(a|s) for ``W [N, S, A]``: ``[N, *param_shape]`` (closed form for softmax)."""
    if isinstance(policy, TabularSoftmax):
        return W - policy.probs(theta) * W.sum(-1, keepdim=True)
    S, A = policy.n_states, policy.n_actions
    jac = policy.log_prob_jacobian(theta).reshape(S * A, policy.n_params)
    return (W.reshape(W.shape[0], S * A) @ jac).reshape(W.shape[0], *policy.param_shape)


def all_action_estimates(traj: Trajectories, policy: TabularPolicy, theta, critic, estimator: str = "mac") -> torch.Tensor:
    r"""ĝ_n = Σ_{t ∈ episode n} w_t Σ_a π(a|s_t) ψ(s_t, a) ∇_θ log π(a|s_t): ``[N, *param_shape]``.

    ``traj``: an on-policy batch of ``policy`` at ``theta`` (checked, as for
    :func:`~pgtheory.estimators.policy_gradient_estimates`); ``critic [S, A]``: the action values Q̂ (exact Q^π gives
    an unbiased ``mac``); ``estimator``: a name in :data:`ALL_ACTION_ESTIMATORS`. The actions taken are not used.
    First the weighted visit counts C[n, s] = Σ_t w_t 1[s_t = s] (one scatter-add), then W = C ⊗ (π ⊙ ψ) is contracted
    with the score table. Memory: N·S·A floats.
    """
    check_trajectories(traj)
    theta = policy.check_params(theta).to(traj.states.device)  # first: ψ is then made on the batch's device
    psi = all_action_weights(policy, theta, critic, estimator)
    check_policy_fits(traj, policy)
    check_on_policy(traj, policy, theta)
    S = policy.n_states
    counts = torch.zeros(traj.n * S, dtype=traj.weights.dtype, device=traj.weights.device)
    counts = counts.index_add_(0, traj.episode * S + traj.states, traj.weights).view(traj.n, S)
    W = counts[..., None] * (policy.probs(theta) * psi)
    est = _contract_action_weights(W, policy, theta)
    return check_finite_result(est, "traj, critic", f"{estimator} estimate")


def all_action_bias(mdp, policy: TabularPolicy, theta, critic, estimator: str = "mac") -> torch.Tensor:
    r"""Exact E[ĝ] − ∇J of :func:`all_action_estimates` under geometric termination: ``[*param_shape]``.

    .. math:: \frac{1}{1-\gamma}\sum_s d^\pi_\rho(s)\sum_a \nabla_\theta\pi(a|s)\,\big(\psi(s,a) - Q^\pi(s,a)\big).

    Zero for ``mac`` with ``critic = Q^π``; for a noisy critic Q^π + N it is the same contraction of N (``mac``) or of
    N − Σ_b π(b|s) N(s,b) (``qpg``). Also exact under truncation when every state the truncated episodes cannot reach
    has ψ = Q^π (e.g. an absorbing zero-reward state reached before the horizon).
    """
    from ..exact.evaluation import evaluate_policy

    check_mdp_policy(mdp, policy)
    psi = all_action_weights(policy, theta, critic, estimator)
    theta = policy.check_params(theta).to(mdp.device)
    ev = evaluate_policy(mdp, policy.probs(theta))
    weights = ev.occupancy[:, None] * (psi.to(mdp.device) - ev.q) / (1 - mdp.discount)
    return check_finite_result(policy.vjp_probs(theta, weights), "critic", f"{estimator} bias")
