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

Validation (:func:`policy_gradient_estimates`): the estimator's keywords are checked against its signature
(a misspelt ``basline=`` raises ``TypeError``), every table argument must have the policy's shape [S] or
[S, A], the policy must cover every visited state and taken action, and log π_θ(a_t|s_t) must match the
log-probabilities the trajectories recorded (so a policy or θ other than the sampling one is caught even
when its extra states are never visited).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real, check_shape
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

#: |log π_θ(a_t|s_t) − recorded log-prob| allowed per transition, relative to 1 + |log-prob| (float32-sampled batches pass)
_ON_POLICY_RTOL = 1e-4


def check_trajectories(traj: Any, name: str = "traj") -> Trajectories:
    """``traj`` itself after checking it is a :class:`~pgtheory.sampling.Trajectories` batch."""
    if not isinstance(traj, Trajectories):
        raise TypeError(f"{name}: expected a Trajectories batch, got {type(traj).__name__}")
    return traj


def _largest(x: torch.Tensor) -> int:
    return int(x.max()) if x.numel() else -1


def check_table_covers(table: torch.Tensor, name: str, traj: Trajectories, *, by_action: bool) -> torch.Tensor:
    """Check a table indexed by state ``[S]`` (or state and action ``[S, A]``) has a row for every visited state
    (and a column for every taken action) of ``traj``; a too-small table raises naming ``name``."""
    s_max = _largest(traj.states)
    if table.shape[0] <= s_max:
        raise ValueError(f"{name}: has {table.shape[0]} states (shape {tuple(table.shape)}) but the trajectories visit "
                         f"state {s_max}; expected at least {s_max + 1}")
    if by_action:
        a_max = _largest(traj.actions)
        if table.shape[1] <= a_max:
            raise ValueError(f"{name}: has {table.shape[1]} actions (shape {tuple(table.shape)}) but the trajectories take "
                             f"action {a_max}; expected at least {a_max + 1}")
    return table


def _baseline_at(traj: Trajectories, baseline) -> torch.Tensor:
    """Baseline value at each transition, ``[M]``: scalar, per-state [S] or per-(state, action) [S, A]."""
    if baseline is None:
        return torch.zeros_like(traj.rewards)
    b = check_finite(as_tensor(baseline, "baseline", device=traj.rewards.device), "baseline")
    if b.ndim == 0:
        return b.expand_as(traj.rewards)
    if b.ndim == 1:
        return check_table_covers(b, "baseline", traj, by_action=False)[traj.states]
    if b.ndim == 2:
        return check_table_covers(b, "baseline", traj, by_action=True)[traj.states, traj.actions]
    raise ValueError(f"baseline: expected a scalar, [S] or [S, A], got shape {tuple(b.shape)}")


@PG_ESTIMATORS.register("reinforce")
def reinforce_weights(traj: Trajectories, *, baseline: float | None = None) -> torch.Tensor:
    """ψ_t = Σ_{t'} w_{t'} r_{t'} − b: the whole return multiplies every score (b must be a constant)."""
    if isinstance(baseline, (torch.Tensor, np.ndarray, list, tuple)) and as_tensor(baseline, "baseline").ndim != 0:
        raise ValueError("baseline: REINFORCE takes a constant baseline (use 'gpomdp' for state baselines)")
    b = 0.0 if baseline is None else check_real(baseline, "baseline")
    ret = traj.discounted_returns()[traj.episode]
    return ret - b


@PG_ESTIMATORS.register("gpomdp")
def gpomdp_weights(traj: Trajectories, *, baseline=None) -> torch.Tensor:
    """ψ_t = Σ_{t'≥t} w_{t'} r_{t'} − w_t b(s_t) (reward-to-go; b may be a scalar, [S] or — biased — [S, A])."""
    return traj.reverse_cumsum(traj.weights * traj.rewards) - traj.weights * _baseline_at(traj, baseline)


@PG_ESTIMATORS.register("actor_critic_q")
def actor_critic_q_weights(traj: Trajectories, *, critic) -> torch.Tensor:
    """ψ_t = w_t Q(s_t, a_t) with a given critic table ``critic [S, A]`` (exact Q^π: unbiased)."""
    q = check_finite(as_tensor(critic, "critic", device=traj.rewards.device), "critic")
    if q.ndim != 2:
        raise ValueError(f"critic: expected a table [S, A], got shape {tuple(q.shape)}")
    return traj.weights * check_table_covers(q, "critic", traj, by_action=True)[traj.states, traj.actions]


@PG_ESTIMATORS.register("actor_critic_adv")
def actor_critic_adv_weights(traj: Trajectories, *, critic) -> torch.Tensor:
    """ψ_t = w_t A(s_t, a_t) with a given advantage table ``critic [S, A]`` (exact A^π: unbiased)."""
    return actor_critic_q_weights(traj, critic=critic)


def check_policy_fits(traj: Trajectories, policy: TabularPolicy, name: str = "policy") -> None:
    """Every visited state and taken action of ``traj`` must exist in ``policy`` (S states, A actions)."""
    S, A = policy.n_states, policy.n_actions
    s_max, a_max = _largest(traj.states), _largest(traj.actions)
    if s_max >= S or a_max >= A:
        raise ValueError(f"{name}: has shape [S, A] = {(S, A)} but the trajectories visit state {s_max} and take action "
                         f"{a_max}; expected S >= {s_max + 1} and A >= {a_max + 1}")


def check_on_policy(traj: Trajectories, policy: TabularPolicy, theta: torch.Tensor) -> None:
    """The recorded target log-probabilities of ``traj`` must be log π_θ(a_t|s_t) of ``policy`` at ``theta``.

    Catches a policy or parameters other than those the batch was sampled with (e.g. a policy with more states
    than the MDP, whose extra rows the trajectories never reveal), up to a relative tolerance of 1e-4.
    """
    if traj.n_transitions == 0:
        return
    lp = policy.log_probs(theta)[traj.states, traj.actions]
    rec = traj.log_target.to(lp.dtype)
    err = torch.where(lp == rec, torch.zeros_like(lp), (lp - rec).abs()) - _ON_POLICY_RTOL * (1 + rec.abs())
    m = int(err.argmax())
    if not bool(err[m] <= 0):
        raise ValueError(
            f"theta: log π_θ(a|s) of the policy {policy!r} (parameters of shape {tuple(theta.shape)}) is "
            f"{float(lp[m]):.6g} at transition {m} (state {int(traj.states[m])}, action {int(traj.actions[m])}), but the "
            f"trajectories recorded {float(rec[m]):.6g}; pass the policy and parameters the batch was sampled with")


def check_tables_match_policy(tables: dict[str, Any], n_states: int, n_actions: int) -> None:
    """Every array argument of a policy-gradient estimator is a table per state ``[S]`` or per (state, action)
    ``[S, A]``; check its shape against the policy's (S, A). Scalars and ``None`` pass."""
    S, A = n_states, n_actions
    for k, v in tables.items():
        if v is None or not isinstance(v, (torch.Tensor, np.ndarray, list, tuple)):
            continue
        t = as_tensor(v, k)
        if t.ndim == 0:
            continue
        if tuple(t.shape) not in ((S,), (S, A)):
            raise ValueError(f"{k}: expected a table [S] = {(S,)} or [S, A] = {(S, A)} for the policy's {S} states and "
                             f"{A} actions, got shape {tuple(t.shape)}")


def score_contraction(traj: Trajectories, psi: torch.Tensor, policy: TabularPolicy, theta: torch.Tensor) -> torch.Tensor:
    r"""ĝ_n = Σ_{t ∈ episode n} ψ_t ∇_θ log π_θ(a_t|s_t), ``[N, *param_shape]``.

    First W[n, s, a] = Σ_t ψ_t 1[s_t = s, a_t = a] (one scatter-add), then for softmax
    ĝ[n, s, ·] = W[n, s, ·] − π(·|s) Σ_b W[n, s, b]; for other policies ĝ_n = W_n · ∇log π table.
    ``psi [M]``, one weight per transition; ``theta`` a single parameter vector ``param_shape``.
    Memory: N·S·A floats — stream in chunks for large N.
    """
    check_trajectories(traj)
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta).to(traj.states.device)
    check_shape(theta, "theta", policy.param_shape, "param_shape")
    check_finite(psi, "psi")
    check_shape(psi, "psi", (traj.n_transitions,), "[M]")
    check_policy_fits(traj, policy)
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

    ``theta [*param_shape]`` must be the parameters of the policy that the trajectories' target log-probs refer to
    (on-policy sampling; checked). Keyword arguments go to the estimator (``baseline=``, ``critic=``, ``values=``,
    ``lam=``); one it does not take raises ``TypeError``, and every table among them must have the policy's
    shape [S] or [S, A].
    """
    check_trajectories(traj)
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta).to(traj.states.device)
    if theta.ndim != len(policy.param_shape):
        raise ValueError(f"theta: expected one parameter vector of shape {policy.param_shape}, got {tuple(theta.shape)}")
    check_policy_fits(traj, policy)
    check_on_policy(traj, policy, theta)
    fn = PG_ESTIMATORS.resolve(estimator, kwargs, n_positional=1, arg="estimator")
    check_tables_match_policy(kwargs, policy.n_states, policy.n_actions)
    psi = fn(traj, **kwargs)
    est = score_contraction(traj, psi, policy, theta)
    return check_finite_result(est, ", ".join(["traj", *kwargs]), f"{estimator} estimate")


def optimal_state_baseline(policy: TabularPolicy, theta, q: torch.Tensor) -> torch.Tensor:
    r"""Per-state baseline minimising the per-step variance of ψ ∇log π (Greensmith et al. 2004):

    .. math:: b^*(s) = \frac{\sum_a \pi(a|s)\,\lVert\nabla\log\pi(a|s)\rVert^2 Q(s,a)}{\sum_a \pi(a|s)\,\lVert\nabla\log\pi(a|s)\rVert^2}, \qquad [S].

    ``theta [..., *param_shape]``, ``q [..., S, A]`` → ``[..., S]``. Where the denominator vanishes (a
    deterministic π(·|s), whose score is 0 so every baseline is optimal) b*(s) = Σ_a π(a|s) Q(s, a).
    Exactly optimal for a one-step problem (bandit); for multi-step returns it ignores correlations
    across time steps, so it need not minimise the variance of the whole-trajectory estimate.
    """
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    theta = policy.check_params(theta)
    q = check_finite(as_tensor(q, "q", device=theta.device), "q")
    if q.ndim < 2 or tuple(q.shape[-2:]) != (policy.n_states, policy.n_actions):
        raise ValueError(f"q: expected shape [..., S, A] = [..., {policy.n_states}, {policy.n_actions}], got {tuple(q.shape)}")
    pi = policy.probs(theta)
    G = policy.log_prob_jacobian(theta)
    sq = (G * G).sum(-1)
    w = pi * sq
    den = w.sum(-1)
    b = torch.where(den > 0, (w * q).sum(-1) / torch.where(den > 0, den, torch.ones_like(den)), (pi * q).sum(-1))
    return check_finite_result(b, "q", "optimal baseline")


def fit_state_baseline(traj: Trajectories, n_states: int, *, prior: float = 0.0) -> torch.Tensor:
    """Per-state mean of observed reward-to-go (Monte Carlo estimate of V^π under geometric termination), ``[S]``.

    Fit it on an independent batch: a baseline fitted on the same trajectories it is used with
    depends on their actions and is biased. States never visited get ``prior``.
    """
    check_trajectories(traj)
    n_states = check_positive_int(n_states, "n_states")
    prior = check_real(prior, "prior")
    s_max = _largest(traj.states)
    if s_max >= n_states:
        raise ValueError(f"n_states: the trajectories visit state {s_max}; expected n_states >= {s_max + 1}, got {n_states}")
    rtg = traj.reverse_cumsum(traj.weights * traj.rewards) / traj.weights.clamp_min(1e-300)
    tot = torch.zeros(n_states, dtype=rtg.dtype, device=rtg.device).index_add_(0, traj.states, rtg)
    cnt = torch.zeros(n_states, dtype=rtg.dtype, device=rtg.device).index_add_(0, traj.states, torch.ones_like(rtg))
    b = torch.where(cnt > 0, tot / cnt.clamp_min(1), torch.full_like(tot, prior))
    return check_finite_result(b, "traj", "fitted baseline")


def action_baseline_bias(mdp, policy: TabularPolicy, theta, baseline_sa: torch.Tensor) -> torch.Tensor:
    r"""Exact bias of ``gpomdp`` with an action-dependent baseline b(s, a) under geometric termination:

    .. math:: \mathbb E\Big[-\sum_t b(s_t,a_t)\nabla\log\pi(a_t|s_t)\Big] = -\frac{1}{1-\gamma}\sum_{s,a} d^\pi_\rho(s)\,b(s,a)\,\nabla\pi(a|s).

    ``baseline_sa [S, A]``, ``theta [..., *param_shape]`` → ``[..., *param_shape]``.
    """
    from ..exact.evaluation import evaluate_policy
    from ..exact.gradients import check_mdp_policy

    check_mdp_policy(mdp, policy)
    b = check_finite(as_tensor(baseline_sa, "baseline_sa", device=mdp.device), "baseline_sa")
    check_shape(b, "baseline_sa", (mdp.n_states, mdp.n_actions), "[S, A]")
    theta = policy.check_params(theta).to(mdp.device)
    d = evaluate_policy(mdp, policy.probs(theta)).occupancy
    return -policy.vjp_probs(theta, d.unsqueeze(-1) * b / (1 - mdp.discount))
