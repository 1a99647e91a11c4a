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

from ..sampling.mdp import Trajectories
from .._registry import Registry

__all__ = ["IS_ESTIMATORS", "importance_estimates", "trajectory_weights", "weighted_is"]

ISFn = Callable[..., torch.Tensor]
IS_ESTIMATORS: Registry[ISFn] = Registry("importance-sampling estimator")


def trajectory_weights(traj: Trajectories) -> torch.Tensor:
    """W = Π_t π(a_t|s_t)/μ(a_t|s_t) over each whole episode, ``[N]``."""
    return traj.per_episode_sum(traj.log_target - traj.log_behaviour).exp()


@IS_ESTIMATORS.register("is")
def ordinary_is(traj: Trajectories, **_) -> torch.Tensor:
    return trajectory_weights(traj) * traj.discounted_returns()


@IS_ESTIMATORS.register("pdis")
def per_decision_is(traj: Trajectories, **_) -> torch.Tensor:
    W_t = traj.cumsum(traj.log_target - traj.log_behaviour).exp()
    return traj.per_episode_sum(W_t * traj.weights * traj.rewards)


@IS_ESTIMATORS.register("truncated_is")
def truncated_is(traj: Trajectories, *, clip: float = 1.0, **_) -> torch.Tensor:
    if not clip > 0:
        raise ValueError(f"clip: must be positive, got {clip}")
    log_rho = (traj.log_target - traj.log_behaviour).clamp(max=torch.log(torch.tensor(float(clip))).item())
    return traj.per_episode_sum(traj.cumsum(log_rho).exp() * traj.weights * traj.rewards)


def importance_estimates(traj: Trajectories, kind: str = "pdis", **kwargs) -> torch.Tensor:
    """Per-episode estimates of J(π) by the named estimator, ``[N]``."""
    return IS_ESTIMATORS.get(kind)(traj, **kwargs)


def weighted_is(traj: Trajectories) -> float:
    """Self-normalised IS for the batch: Σ_i W_i G_i / Σ_i W_i."""
    W = trajectory_weights(traj)
    return float((W * traj.discounted_returns()).sum() / W.sum())
