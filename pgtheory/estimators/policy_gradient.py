r"""Monte Carlo policy-gradient estimators on tabular MDPs, one estimate per trajectory.

Every estimator here has the form

.. math:: \hat g_n = \sum_t \psi_t\,\nabla_\theta\log\pi_\theta(a_t\mid s_t)

and differs only in the per-step weight ψ_t, computed by a pure function of the batch (registered in
:data:`PG_ESTIMATORS`). With step weights w_t (1 under geometric termination, γ^t under truncation):

=====================  ==============================================  ================================
name                   ψ_t                                             reference
=====================  ==============================================  ================================
``reinforce``          Σ_{t'} w_{t'} r_{t'} − b                        Williams 1992
``gpomdp``             Σ_{t'≥t} w_{t'} r_{t'} − w_t b(s_t)              Baxter & Bartlett 2001 (reward-to-go)
``actor_critic_q``     w_t Q(s_t, a_t)                                 Sutton et al. 2000
``actor_critic_adv``   w_t A(s_t, a_t)                                 Sutton et al. 2000
=====================  ==============================================  ================================

Under geometric termination all four are unbiased for ∇J when the baseline depends on the state only.
A baseline table ``b[S, A]`` that depends on the action is accepted by ``gpomdp`` — it is the
known-biased estimator the tests must catch: its bias is
:math:`-\tfrac1{1-\gamma}\sum_{s,a} d^\pi(s)\,b(s,a)\,\nabla\pi(a|s)` (see :func:`action_baseline_bias`).

The contraction with scores uses a per-(s, a) table of ∇log π (analytic for softmax, autograd for
other parameterisations), so no per-sample autograd is ever run.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite
from ..policies.tabular import TabularPolicy, TabularSoftmax
from ..sampling.mdp import Trajectories
from .._registry import Registry

__all__ = [
    "PG_ESTIMATORS",
    "score_contraction",
    "policy_gradient_estimates",
    "optimal_state_baseline",
    "fit_state_baseline",
    "action_baseline_bias",
]

PsiFn = Callable[..., torch.Tensor]
PG_ESTIMATORS: Registry[PsiFn] = Registry("policy-gradient estimator")


def _baseline_at(traj: Trajectories, baseline) -> torch.Tensor:
    """Baseline value at each transition, ``[M]``: scalar, per-state [S] or per-(state, action) [S, A]."""
    if baseline is None:
        return torch.zeros_like(traj.rewards)
    b = as_tensor(baseline, "baseline", device=traj.rewards.device)
    check_finite(b, "baseline")
    if b.ndim == 0:
        return b.expand_as(traj.rewards)
    if b.ndim == 1:
        return b[traj.states]
    if b.ndim == 2:
        return b[traj.states, traj.actions]
    raise ValueError(f"baseline: expected a scalar, [S] or [S, A], got shape {tuple(b.shape)}")


@PG_ESTIMATORS.register("reinforce")
def reinforce_weights(traj: Trajectories, *, baseline: float | None = None, **_) -> torch.Tensor:
    """ψ_t = Σ_{t'} w_{t'} r_{t'} − b: the whole return multiplies every score (b must be a constant)."""
    if baseline is not None and torch.as_tensor(baseline).ndim != 0:
        raise ValueError("baseline: REINFORCE takes a constant baseline (use 'gpomdp' for state baselines)")
    ret = traj.discounted_returns()[traj.episode]
    return ret - (0.0 if baseline is None else float(baseline))


@PG_ESTIMATORS.register("gpomdp")
def gpomdp_weights(traj: Trajectories, *, baseline=None, **_) -> torch.Tensor:
    """ψ_t = Σ_{t'≥t} w_{t'} r_{t'} − w_t b(s_t) (reward-to-go; b may be a scalar, [S] or — biased — [S, A])."""
    return traj.reverse_cumsum(traj.weights * traj.rewards) - traj.weights * _baseline_at(traj, baseline)


@PG_ESTIMATORS.register("actor_critic_q")
def actor_critic_q_weights(traj: Trajectories, *, critic, **_) -> torch.Tensor:
    """ψ_t = w_t Q(s_t, a_t) with a given critic table ``critic [S, A]`` (exact Q^π: unbiased)."""
    q = as_tensor(critic, "critic", device=traj.rewards.device)
    if q.ndim != 2:
        raise ValueError(f"critic: expected a table [S, A], got shape {tuple(q.shape)}")
    return traj.weights * q[traj.states, traj.actions]


@PG_ESTIMATORS.register("actor_critic_adv")
def actor_critic_adv_weights(traj: Trajectories, *, critic, **_) -> torch.Tensor:
    """ψ_t = w_t A(s_t, a_t) with a given advantage table ``critic [S, A]`` (exact A^π: unbiased)."""
    return actor_critic_q_weights(traj, critic=critic)


def score_contraction(traj: Trajectories, psi: torch.Tensor, policy: TabularPolicy, theta: torch.Tensor) -> torch.Tensor:
    r"""ĝ_n = Σ_{t ∈ episode n} ψ_t ∇_θ log π_θ(a_t|s_t), ``[N, *param_shape]``.

    First W[n, s, a] = Σ_t ψ_t 1[s_t = s, a_t = a] (one scatter-add), then for softmax
    ĝ[n, s, ·] = W[n, s, ·] − π(·|s) Σ_b W[n, s, b]; for other policies ĝ_n = W_n · ∇log π table.
    Memory: N·S·A floats — stream in chunks for large N.
    """
    S, A = policy.n_states, policy.n_actions
    N = traj.n
    flat = traj.episode * (S * A) + traj.states * A + traj.actions
    W = torch.zeros(N * S * A, dtype=psi.dtype, device=psi.device).index_add_(0, flat, psi).view(N, S, A)
    if isinstance(policy, TabularSoftmax):
        pi = policy.probs(theta)
        return W - pi * W.sum(-1, keepdim=True)
    table = policy.log_prob_jacobian(theta).reshape(S * A, policy.n_params)
    return (W.reshape(N, S * A) @ table).reshape(N, *policy.param_shape)


def policy_gradient_estimates(traj: Trajectories, policy: TabularPolicy, theta, estimator: str = "gpomdp", **kwargs) -> torch.Tensor:
    """Per-trajectory gradient estimates ``[N, *param_shape]`` of the named estimator.

    ``theta`` must be the parameters of the policy that the trajectories' target log-probs refer to
    (on-policy sampling). Keyword arguments go to the estimator (``baseline=``, ``critic=``).
    """
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta).to(traj.states.device)
    if theta.ndim != len(policy.param_shape):
        raise ValueError(f"theta: expected one parameter vector of shape {policy.param_shape}, got {tuple(theta.shape)}")
    psi = PG_ESTIMATORS.get(estimator)(traj, **kwargs)
    return check_finite(score_contraction(traj, psi, policy, theta), f"{estimator} estimates")


def optimal_state_baseline(policy: TabularPolicy, theta, q: torch.Tensor) -> torch.Tensor:
    r"""Per-state baseline minimising the per-step variance of ψ ∇log π (Greensmith et al. 2004):

    .. math:: b^*(s) = \frac{\sum_a \pi(a|s)\,\lVert\nabla\log\pi(a|s)\rVert^2 Q(s,a)}{\sum_a \pi(a|s)\,\lVert\nabla\log\pi(a|s)\rVert^2}, \qquad [S].

    Exactly optimal for a one-step problem (bandit); for multi-step returns it ignores correlations
    across time steps, so it need not minimise the variance of the whole-trajectory estimate.
    """
    theta = policy.check_params(theta)
    pi = policy.probs(theta)
    G = policy.log_prob_jacobian(theta)
    sq = (G * G).sum(-1)
    w = pi * sq
    return (w * q).sum(-1) / w.sum(-1).clamp_min(1e-300)


def fit_state_baseline(traj: Trajectories, n_states: int, *, prior: float = 0.0) -> torch.Tensor:
    """Per-state mean of observed reward-to-go (Monte Carlo estimate of V^π under geometric termination), ``[S]``.

    Fit it on an independent batch: a baseline fitted on the same trajectories it is used with
    depends on their actions and is biased. States never visited get ``prior``.
    """
    rtg = traj.reverse_cumsum(traj.weights * traj.rewards) / traj.weights.clamp_min(1e-300)
    tot = torch.zeros(n_states, dtype=rtg.dtype, device=rtg.device).index_add_(0, traj.states, rtg)
    cnt = torch.zeros(n_states, dtype=rtg.dtype, device=rtg.device).index_add_(0, traj.states, torch.ones_like(rtg))
    return torch.where(cnt > 0, tot / cnt.clamp_min(1), torch.full_like(tot, prior))


def action_baseline_bias(mdp, policy: TabularPolicy, theta, baseline_sa: torch.Tensor) -> torch.Tensor:
    r"""Exact bias of ``gpomdp`` with an action-dependent baseline b(s, a) under geometric termination:

    .. math:: \mathbb E\Big[-\sum_t b(s_t,a_t)\nabla\log\pi(a_t|s_t)\Big] = -\frac{1}{1-\gamma}\sum_{s,a} d^\pi_\rho(s)\,b(s,a)\,\nabla\pi(a|s).
    """
    from ..exact.evaluation import evaluate_policy

    theta = policy.check_params(theta).to(mdp.device)
    d = evaluate_policy(mdp, policy.probs(theta)).occupancy
    return -policy.vjp_probs(theta, d.unsqueeze(-1) * baseline_sa / (1 - mdp.discount))
