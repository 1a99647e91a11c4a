r"""Per-trajectory policy-gradient estimates on LQR trajectories: the model-derivative estimator (derivatives of an
approximate linear model along real trajectories; Westenbroek, Levy & Fridovich-Keil 2023) and the score-function
(GPOMDP) estimator on the same batch. Formulas and the exact expectation of the first:
:mod:`pgtheory.exact.lqr_model_derivative`. Both need a ``termination="truncate"`` batch
(:func:`~pgtheory.sampling.sample_lqr_trajectories`), in which every episode has all H steps.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_finite
from ..exact.lqr_model_derivative import check_linear_model
from ..policies.gaussian import LinearGaussianPolicy
from ..problems.lqr import LQR
from ..sampling.lqr import LQRTrajectories
from .pathwise import score_function_gradient

__all__ = ["lqr_model_derivative_gradient", "lqr_score_function_gradient", "lqr_reward_to_go_baseline"]


def _grid(batch: LQRTrajectories, values: torch.Tensor) -> torch.Tensor:
    """Step-major per-transition ``values [H·N, ...]`` → ``[N, H, ...]``."""
    H = batch.n_steps
    return values.reshape(H, batch.n, *values.shape[1:]).transpose(0, 1)


def _check_batch(batch) -> None:
    if not isinstance(batch, LQRTrajectories):
        raise TypeError(f"batch: expected LQRTrajectories, got {type(batch).__name__}")
    if batch.termination != "truncate":
        raise ValueError(f"batch: needs termination='truncate' (all episodes H steps long), got {batch.termination!r}")


def lqr_model_derivative_gradient(lqr: LQR, batch: LQRTrajectories, model_A: Any, model_B: Any) -> torch.Tensor:
    r"""Model-derivative estimates of :math:`\nabla_K J_H`, one per trajectory, ``[N, m, n]``.

    Runs the tangent recursion :math:`\xi_{t+1} = \hat A\xi_t + \hat B(-E_k x_t - K\xi_t)` on the batch's real states
    and actions, and returns :math:`-\sum_t \gamma^t[2x_t^\top Q\xi_t + 2u_t^\top R(-E_k x_t - K\xi_t)]` for every
    entry k of K (the batch's gain). (Â, B̂) = (A, B) gives the exact pathwise (reparameterised) gradient.
    """
    _check_batch(batch)
    Ah, Bh = check_linear_model(lqr, model_A, model_B)
    K = batch.gain
    m, n = K.shape
    x, u = _grid(batch, batch.states), _grid(batch, batch.actions)  # [N, H, n], [N, H, m]
    N, H = x.shape[0], x.shape[1]
    eye_m = torch.eye(m, dtype=torch.float64, device=x.device)
    xi = torch.zeros(N, m, n, n, dtype=torch.float64, device=x.device)  # ξ[N, i, j, :] = ∂x_t/∂K_ij
    g = torch.zeros(N, m, n, dtype=torch.float64, device=x.device)
    for t in range(H):
        xt, ut = x[:, t], u[:, t]
        du = -torch.einsum("ab,Nijb->Nija", K, xi) - eye_m[None, :, None, :] * xt[:, None, :, None]
        dc = 2 * torch.einsum("Nb,Nijb->Nij", xt @ lqr.Q, xi) + 2 * torch.einsum("Na,Nija->Nij", ut @ lqr.R, du)
        g = g - lqr.discount ** t * dc
        xi = torch.einsum("ab,Nijb->Nija", Ah, xi) + torch.einsum("ab,Nijb->Nija", Bh, du)
    return check_finite(g, "batch, model_A, model_B (model-derivative gradient)")


def lqr_reward_to_go_baseline(batch: LQRTrajectories) -> torch.Tensor:
    """Mean discounted reward-to-go Σ_{k≥t} γ^k r_k at each step t, ``[H]`` (a baseline from an independent batch)."""
    _check_batch(batch)
    r = _grid(batch, batch.weights * batch.rewards)
    return r.flip(1).cumsum(1).flip(1).mean(0)


def lqr_score_function_gradient(batch: LQRTrajectories, policy: LinearGaussianPolicy,
                                baseline: torch.Tensor | None = None) -> torch.Tensor:
    r"""GPOMDP estimates :math:`\sum_t \nabla_K\log\pi_K(u_t|x_t)\,(\sum_{k\ge t}\gamma^k r_k - b_t)`, ``[N, m, n]``;
    unbiased for :math:`\nabla_K J_H` when ``baseline [H]`` is independent of the batch (or None)."""
    _check_batch(batch)
    scores = _grid(batch, policy.score(batch.gain, batch.states, batch.actions))
    return score_function_gradient(scores, _grid(batch, batch.weights * batch.rewards), baseline)
