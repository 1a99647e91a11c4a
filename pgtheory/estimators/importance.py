r"""Importance-sampling estimators of J(π) from trajectories of a behaviour policy μ, one estimate per episode.

With per-step ratios ρ_t = π(a_t|s_t)/μ(a_t|s_t) (from the recorded log-probabilities), step weights w_t (1 under
geometric termination, γ^t under truncation) and the running product W_t = Π_{k≤t} ρ_k:

================  ======================================  =======================================
name              per-episode value                       property
================  ======================================  =======================================
``is``            W_T · Σ_t w_t r_t                       unbiased for J(π)
``pdis``          Σ_t W_t w_t r_t                          unbiased; per-decision (Precup et al. 2000)
``truncated_is``  Σ_t (Π_{k≤t} min(ρ_k, c)) w_t r_t        biased (less variance)
================  ======================================  =======================================

Self-normalised (weighted) IS, Σ_i W_i G_i / Σ_i W_i, is a ratio of means and not an average of per-episode
estimates: :func:`weighted_is` returns it for a batch (consistent, biased at finite n).
Unbiasedness under geometric termination holds because continuing is independent of the policy.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite_result, check_real
from ..sampling.mdp import Trajectories
from .._registry import Registry
from .policy_gradient import check_trajectories

__all__ = ["IS_ESTIMATORS", "importance_estimates", "trajectory_weights", "weighted_is"]

ISFn = Callable[..., torch.Tensor]
IS_ESTIMATORS: Registry[ISFn] = Registry("importance-sampling estimator")


def trajectory_weights(traj: Trajectories) -> torch.Tensor:
    """W = Π_t π(a_t|s_t)/μ(a_t|s_t) over each whole episode, ``[N]``."""
    check_trajectories(traj)
    return traj.per_episode_sum(traj.log_target - traj.log_behaviour).exp()


@IS_ESTIMATORS.register("is")
def ordinary_is(traj: Trajectories) -> torch.Tensor:
    return trajectory_weights(traj) * traj.discounted_returns()


@IS_ESTIMATORS.register("pdis")
def per_decision_is(traj: Trajectories) -> torch.Tensor:
    W_t = traj.cumsum(traj.log_target - traj.log_behaviour).exp()
    return traj.per_episode_sum(W_t * traj.weights * traj.rewards)


@IS_ESTIMATORS.register("truncated_is")
def truncated_is(traj: Trajectories, *, clip: float = 1.0) -> torch.Tensor:
    clip = check_real(clip, "clip", low=0.0, low_open=True)
    log_rho = (traj.log_target - traj.log_behaviour).clamp(max=torch.log(torch.tensor(float(clip))).item())
    return traj.per_episode_sum(traj.cumsum(log_rho).exp() * traj.weights * traj.rewards)


def importance_estimates(traj: Trajectories, kind: str = "pdis", **kwargs) -> torch.Tensor:
    """Per-episode estimates of J(π) by the named estimator, ``[N]`` (keywords: those the estimator takes, e.g. ``clip=``)."""
    fn = IS_ESTIMATORS.resolve(kind, kwargs, n_positional=1, arg="kind")
    check_trajectories(traj)
    return check_finite_result(fn(traj, **kwargs), "traj", f"{kind} estimate (importance weights overflow)")


def weighted_is(traj: Trajectories) -> float:
    """Self-normalised IS for the batch: Σ_i W_i G_i / Σ_i W_i (weights rescaled by their maximum, so no overflow)."""
    check_trajectories(traj)
    log_w = traj.per_episode_sum(traj.log_target - traj.log_behaviour)
    W = (log_w - log_w.max()).exp() if log_w.numel() else log_w
    if not bool(W.sum() > 0):
        raise ValueError("traj: no trajectory has a positive importance weight; self-normalised IS is undefined")
    return float(check_finite_result((W * traj.discounted_returns()).sum() / W.sum(), "traj", "weighted IS estimate"))
