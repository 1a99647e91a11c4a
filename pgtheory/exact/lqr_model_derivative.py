r"""Exact truth for model-derivative policy gradients on the LQR (claim L95): the truncated objective, its gradient, and
the exact expectation of the gradient estimator that differentiates an *approximate* linear model along *real*
trajectories.

Truncated objective (H steps, weights γ^t) under :math:`u = -Kx + \sigma\varepsilon`, with
:math:`M_0 = \Sigma_0,\ M_{t+1} = L_K M_t L_K^\top + W + \sigma^2 BB^\top` (:math:`L_K = A - BK`, moment recursion of
:mod:`pgtheory.exact.lqr`):

.. math:: J_H(K) = -\sum_{t<H}\gamma^t\big[\mathrm{tr}\big((Q + K^\top RK)M_t\big) + \sigma^2\,\mathrm{tr}R\big],

and :math:`\nabla_K J_H` by autograd through the recursion (it tends to the closed form of
:func:`~pgtheory.exact.lqr_policy_gradient` as H → ∞).

Model-derivative estimator (Westenbroek, Levy & Fridovich-Keil 2023; the authors' ``gradient_estimate.jl`` rolls the
model forward as :math:`\hat f(x_t, u_t) - \hat f(x_t^{real}, u_t^{real}) + x_{t+1}^{real}`, so values are the real
trajectory's and derivatives are the model's). For a linear model (Â, B̂) and parameter :math:`K_k` (:math:`E_k` its
unit matrix), the tangent :math:`\xi^{(k)}_t = \partial x_t/\partial K_k` obeys

.. math:: \xi_0 = 0,\quad \partial u_t/\partial K_k = -E_k x_t - K\xi_t,\quad
          \xi_{t+1} = \hat A\xi_t + \hat B\,\partial u_t/\partial K_k,\qquad
          \hat g_k = -\sum_{t<H}\gamma^t\big[2x_t^\top Q\xi_t + 2u_t^\top R\,\partial u_t/\partial K_k\big],

evaluated on real states :math:`x_t` and actions :math:`u_t` (exploration ε and process noise held fixed, as in a
reparameterised gradient). With (Â, B̂) = (A, B) it is the pathwise gradient, unbiased for :math:`\nabla J_H`.
Its exact expectation (derived here): :math:`z_t = (x_t, \xi^{(1)}_t, …, \xi^{(p)}_t)` is a linear system
:math:`z_{t+1} = F z_t + (\sigma B\varepsilon_t + w_t, 0, …)` with
:math:`F = \begin{pmatrix} A - BK & 0\\ -\hat B E_k\ (\text{row } k) & I_p\otimes(\hat A - \hat BK)\end{pmatrix}`, so
:math:`Z_t = \mathbb E z_t z_t^\top` follows :math:`Z_{t+1} = F Z_t F^\top + \mathrm{diag}(W + \sigma^2BB^\top, 0)`, and,
since :math:`\varepsilon_t` is independent of :math:`(x_t, \xi_t)`,

.. math:: \mathbb E\hat g_k = -2\sum_{t<H}\gamma^t\Big[\mathrm{tr}\big((Q + K^\top RK)\,\mathbb E\xi^{(k)}_t x_t^\top\big)
          + \mathrm{tr}\big(K^\top R E_k\,\mathbb E x_t x_t^\top\big)\Big].
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_finite, check_positive_int
from ..policies.gaussian import LinearGaussianPolicy
from ..problems.lqr import LQR
from .lqr import check_lqr_policy

__all__ = ["lqr_truncated_objective", "lqr_truncated_gradient", "lqr_model_derivative_expectation", "check_linear_model"]


def check_linear_model(lqr: LQR, model_A: Any, model_B: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(Â, B̂) as float64 tensors of A's and B's shapes, finite; raises naming ``model_A``/``model_B``."""
    out = []
    for name, x, ref in (("model_A", model_A, lqr.A), ("model_B", model_B, lqr.B)):
        t = torch.as_tensor(x, dtype=torch.float64, device=lqr.device)
        if tuple(t.shape) != tuple(ref.shape):
            raise ValueError(f"{name}: expected shape {tuple(ref.shape)}, got {tuple(t.shape)}")
        out.append(check_finite(t, name))
    return out[0], out[1]


def _sigma2(policy: LinearGaussianPolicy) -> float:
    return policy.std ** 2


def lqr_truncated_objective(lqr: LQR, policy: LinearGaussianPolicy, K: Any, horizon: int) -> torch.Tensor:
    """J_H(K) = −Σ_{t<H} γ^t E c_t for one gain ``K [m, n]`` (scalar, differentiable in K); σ is the policy's std."""
    check_lqr_policy(lqr, policy)
    H = check_positive_int(horizon, "horizon")
    K = policy.check_params(K)
    if K.ndim != 2:
        raise ValueError(f"K: expected one gain [m, n], got shape {tuple(K.shape)}")
    s2 = _sigma2(policy)
    L = lqr.A - lqr.B @ K
    Wt = lqr.noise_cov + s2 * lqr.B @ lqr.B.T
    Y = lqr.Q + K.T @ lqr.R @ K
    M, J = lqr.initial_cov, 0.0
    const = s2 * torch.trace(lqr.R)
    for t in range(H):
        J = J - lqr.discount ** t * (torch.trace(Y @ M) + const)
        M = L @ M @ L.T + Wt
    return J


def lqr_truncated_gradient(lqr: LQR, policy: LinearGaussianPolicy, K: Any, horizon: int) -> torch.Tensor:
    """∇_K J_H(K), ``[m, n]``, by autograd through the moment recursion."""
    Kt = policy.check_params(K).detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(lqr_truncated_objective(lqr, policy, Kt, horizon), Kt)
    return check_finite(g, "K (truncated LQR gradient)")


def lqr_model_derivative_expectation(lqr: LQR, policy: LinearGaussianPolicy, K: Any, horizon: int,
                                     model_A: Any, model_B: Any) -> torch.Tensor:
    """E[ĝ] of the model-derivative estimator (module docstring), ``[m, n]``, exactly (augmented moment recursion)."""
    check_lqr_policy(lqr, policy)
    H = check_positive_int(horizon, "horizon")
    K = policy.check_params(K)
    if K.ndim != 2:
        raise ValueError(f"K: expected one gain [m, n], got shape {tuple(K.shape)}")
    Ah, Bh = check_linear_model(lqr, model_A, model_B)
    n, m = lqr.state_dim, lqr.action_dim
    p = m * n
    D = n * (1 + p)
    F = torch.zeros(D, D, dtype=torch.float64, device=lqr.device)
    F[:n, :n] = lqr.A - lqr.B @ K
    Lh = Ah - Bh @ K
    E = []
    for k in range(p):
        Ek = torch.zeros(m, n, dtype=torch.float64, device=lqr.device)
        Ek[k // n, k % n] = 1.0
        E.append(Ek)
        r = n * (1 + k)
        F[r:r + n, :n] = -Bh @ Ek
        F[r:r + n, r:r + n] = Lh
    Nz = torch.zeros(D, D, dtype=torch.float64, device=lqr.device)
    Nz[:n, :n] = lqr.noise_cov + _sigma2(policy) * lqr.B @ lqr.B.T
    Z = torch.zeros(D, D, dtype=torch.float64, device=lqr.device)
    Z[:n, :n] = lqr.initial_cov
    Y = lqr.Q + K.T @ lqr.R @ K
    KR = K.T @ lqr.R
    g = torch.zeros(p, dtype=torch.float64, device=lqr.device)
    for t in range(H):
        Zxx = Z[:n, :n]
        for k in range(p):
            r = n * (1 + k)
            g[k] -= 2 * lqr.discount ** t * (torch.trace(Y @ Z[r:r + n, :n]) + torch.trace(KR @ E[k] @ Zxx))
        Z = F @ Z @ F.T + Nz
    return check_finite(g.reshape(m, n), "model_A, model_B, K (model-derivative expectation)")
