r"""Risk-averse REINFORCE for ECRM objectives from sampled trajectories (Yu & Ying 2023, arXiv:2301.10932).

The agent acts in the η-augmented chain of :func:`pgtheory.exact.ecrm.ecrm_problem`: at each step it observes
(s_t, η_{t−1}) — the start copy at t = 0 — draws (a_t, η_t) from π_θ, and the environment reports the raw cost
c_t = c(s_t, a_t). Trajectories are sampled from ``problem.environment`` (rewards = −c, so the batch records the raw
costs). The estimator rebuilds the ECRM-transformed cost of every step from what was observed,

.. math:: \tilde c_t = c_0 + \gamma\lambda\eta_0 \ (t = 0), \qquad
          \tilde c_t = (1-\lambda)c_t + \tfrac{\lambda}{1-\alpha}(c_t-\eta_{t-1})_+ + \gamma\lambda\eta_t \ (t\ge1),

and returns one gradient estimate of the ECRM *cost* J(θ) per trajectory,

.. math:: \hat g_n = \sum_t \psi_t\,\nabla_\theta\log\pi_\theta(a_t,\eta_t\mid s_t,\eta_{t-1}),

with ψ_t from the registry :data:`ECRM_PG_ESTIMATORS` (w_t = 1 under geometric termination, γ^t under truncation):

========================  =========================================  ==============================
name                      ψ_t                                        reference
========================  =========================================  ==============================
``ecrm_reinforce``        Σ_{t'} w_{t'} c̃_{t'}                        Williams 1992, on c̃
``ecrm_cost_to_go``       Σ_{t'≥t} w_{t'} c̃_{t'}                      reward-to-go form (same mean)
========================  =========================================  ==============================

Under geometric termination both are unbiased for ∇J of :func:`pgtheory.exact.ecrm.ecrm_policy_gradient` (the
augmented chain is an ordinary MDP with cost c̃). The risk-neutral REINFORCE on the raw costs (no η terms) is *not*
an estimator of this gradient; the tests use it as the twin their unbiasedness check must reject.

Source of the algorithm: the abstract's "risk-averse variants of REINFORCE" and the augmented-action reformulation of
CLAIMS.md row L37; the paper's pseudo-code could not be read here (not verified), so the transformed cost above is
the one derived in :mod:`pgtheory.exact.ecrm`.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite_result
from .._registry import Registry
from ..exact.ecrm import ECRMProblem
from ..policies.tabular import TabularPolicy
from ..sampling.mdp import Trajectories
from .policy_gradient import check_on_policy, check_policy_fits, check_trajectories, score_contraction

__all__ = ["ECRM_PG_ESTIMATORS", "ecrm_step_costs", "ecrm_gradient_estimates"]

EcrmPsiFn = Callable[..., torch.Tensor]
ECRM_PG_ESTIMATORS: Registry[EcrmPsiFn] = Registry("risk-averse (ECRM) policy-gradient estimator")


def _check_problem_fits(traj: Trajectories, problem: ECRMProblem) -> None:
    if not isinstance(problem, ECRMProblem):
        raise TypeError(f"problem: expected an ECRMProblem, got {type(problem).__name__}")
    S_aug, A_aug = problem.mdp.n_states, problem.mdp.n_actions
    if traj.n_transitions and (int(traj.states.max()) >= S_aug or int(traj.actions.max()) >= A_aug):
        raise ValueError(f"problem: its augmented chain has {S_aug} states and {A_aug} actions, but the trajectories visit "
                         f"state {int(traj.states.max())} and take action {int(traj.actions.max())}")


def ecrm_step_costs(traj: Trajectories, problem: ECRMProblem) -> torch.Tensor:
    r"""The transformed cost c̃_t of every transition, ``[M]``, from the observed raw cost c_t = −reward_t, the η-index
    k carried in the augmented state (K at the first step) and the η-index j of the augmented action."""
    check_trajectories(traj)
    _check_problem_fits(traj, problem)
    S, A = problem.n_states, problem.n_actions
    k = torch.div(traj.states, S, rounding_mode="floor")
    j = torch.div(traj.actions, A, rounding_mode="floor")
    return problem.transformed_costs(k, j, -traj.rewards)


@ECRM_PG_ESTIMATORS.register("ecrm_reinforce")
def ecrm_reinforce_weights(traj: Trajectories, *, problem: ECRMProblem) -> torch.Tensor:
    """ψ_t = Σ_{t'} w_{t'} c̃_{t'}: the whole transformed discounted cost multiplies every score."""
    cost = ecrm_step_costs(traj, problem)
    return traj.per_episode_sum(traj.weights * cost)[traj.episode]


@ECRM_PG_ESTIMATORS.register("ecrm_cost_to_go")
def ecrm_cost_to_go_weights(traj: Trajectories, *, problem: ECRMProblem) -> torch.Tensor:
    """ψ_t = Σ_{t'≥t} w_{t'} c̃_{t'}: the transformed cost-to-go (scores are uncorrelated with earlier costs)."""
    cost = ecrm_step_costs(traj, problem)
    return traj.reverse_cumsum(traj.weights * cost)


def ecrm_gradient_estimates(traj: Trajectories, policy: TabularPolicy, theta, problem: ECRMProblem,
                            estimator: str = "ecrm_reinforce") -> torch.Tensor:
    """Per-trajectory estimates of ∇_θ J (ECRM cost), ``[N, *param_shape]``.

    ``traj`` sampled on-policy from ``problem.environment`` with the augmented policy π_θ of ``policy`` (built for
    S(K+1) states and A·K actions; checked against the recorded log-probabilities).
    """
    check_trajectories(traj)
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    _check_problem_fits(traj, problem)
    if (policy.n_states, policy.n_actions) != (problem.mdp.n_states, problem.mdp.n_actions):
        raise ValueError(f"policy: built for S={policy.n_states}, A={policy.n_actions}; the augmented chain has "
                         f"S={problem.mdp.n_states}, A={problem.mdp.n_actions}")
    theta = policy.check_params(theta).to(traj.states.device)
    if theta.ndim != len(policy.param_shape):
        raise ValueError(f"theta: expected one parameter vector of shape {policy.param_shape}, got {tuple(theta.shape)}")
    check_policy_fits(traj, policy)
    check_on_policy(traj, policy, theta)
    fn = ECRM_PG_ESTIMATORS.resolve(estimator, {"problem": problem}, n_positional=1, arg="estimator")
    psi = fn(traj, problem=problem)
    return check_finite_result(score_contraction(traj, psi, policy, theta), "traj", f"{estimator} estimate")
