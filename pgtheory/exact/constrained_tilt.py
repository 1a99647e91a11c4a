r"""KL-regularised policies over an enumerable response set, unconstrained (exponential tilts) and with upper bounds on
expected component rewards (a constrained-RLHF toy with exact Lagrange multipliers).

Responses y = 1..K, reference π_ref, m component reward models R ∈ R^{m×K}.
Tilt: π_w(y) ∝ π_ref(y) exp(Σ_i w_i R_i(y))  — the maximiser of Σ_i w_i' E_π R_i − β KL(π‖π_ref) with w = w'/β.
Constrained problem:  max_π Σ_i E_π R_i − β KL(π‖π_ref)   s.t.  E_π R_i ≤ θ_i  (i = 1..m).
Lagrangian L(π, λ) = Σ_i (1 − λ_i) E_π R_i + λ·θ − β KL: for fixed λ ≥ 0 its maximiser is the tilt with weights
(1 − λ)/β (the "dynamic weights"), and the dual g(λ) = λ·θ + β log Σ_y π_ref(y) exp((1 − λ)·R(y)/β) is convex with
∇g = θ − E_{π_λ} R; the optimum (strong duality: a concave objective over the simplex, linear constraints) is π_{λ*}
with λ* = argmin_{λ ≥ 0} g. Source of the formulation: our reading of Moskovitz et al. 2023 (arXiv:2310.04373),
abstract ("dynamic weights, naturally expressed by Lagrange multipliers"); the paper's exact constrained objective
(which constraints, equality or inequality) was not verified in its body.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy.optimize import minimize

__all__ = ["tilt", "ConstrainedSolution", "constrained_kl_rlhf"]


def _check(log_ref: torch.Tensor, rewards: torch.Tensor) -> None:
    if not isinstance(log_ref, torch.Tensor) or log_ref.dim() != 1:
        raise TypeError("log_ref: expected a 1-D torch tensor of reference log-probabilities")
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 2 or rewards.shape[1] != log_ref.shape[0]:
        raise ValueError(f"rewards: expected a [m, K] tensor with K = {log_ref.shape[0]}, got "
                         f"{tuple(getattr(rewards, 'shape', ()))}")


def tilt(log_ref: torch.Tensor, weights: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """π_w ∝ π_ref exp(w·R): ``weights`` [..., m], ``rewards`` [m, K] → [..., K]."""
    _check(log_ref, rewards)
    return torch.softmax(log_ref + weights @ rewards, -1)


class ConstrainedSolution(NamedTuple):
    """The constrained optimum: policy [K], multipliers λ [m], expected rewards E_π R [m], max KKT residual."""

    policy: torch.Tensor
    multipliers: torch.Tensor
    expected: torch.Tensor
    kkt_residual: float


def _polish(dual, lr: np.ndarray, rw: np.ndarray, w: np.ndarray, upper: float, steps: int = 100) -> np.ndarray:
    """Projected Newton steps on the (convex, smooth) dual from L-BFGS-B's point, which can stop far from the
    optimum when E_{π_w} R is nearly flat in w (full-scale instances left KKT residuals up to 0.35). Coordinates at
    the bound w = upper whose gradient points outward stay fixed; the rest take a damped Newton step with
    ∇²h = Cov_{π_w} R, then are projected; a step is accepted only if it lowers h."""
    w = np.minimum(np.asarray(w, dtype=float), upper)
    for _ in range(steps):
        f, g = dual(w)
        a = lr + w @ rw
        p = np.exp(a - a.max())
        p /= p.sum()
        mean = rw @ p
        H = (rw * p) @ rw.T - np.outer(mean, mean)
        free = ~((w >= upper) & (g < 0))
        if not free.any() or np.abs(g[free]).max() < 1e-13:
            break
        d = np.zeros_like(w)
        Hf = H[np.ix_(free, free)] + 1e-14 * np.eye(int(free.sum()))
        d[free] = -np.linalg.solve(Hf, g[free])
        t = 1.0
        while t > 1e-12:
            trial = np.minimum(w + t * d, upper)
            if dual(trial)[0] < f:
                w = trial
                break
            t *= 0.5
        else:
            break
    return w


def constrained_kl_rlhf(log_ref: torch.Tensor, rewards: torch.Tensor, beta: float, thresholds: torch.Tensor,
                        tol: float = 1e-15) -> ConstrainedSolution:
    """Solve max Σ E R_i − β KL s.t. E R_i ≤ θ_i exactly via the convex dual (L-BFGS-B on w = (1 − λ)/β ≤ 1/β).

    KKT residual: max of primal violation max(0, E R_i − θ_i), |λ_i (E R_i − θ_i)| (complementary slackness),
    and the projected dual gradient.
    """
    _check(log_ref, rewards)
    if not (isinstance(beta, (int, float)) and beta > 0):
        raise ValueError(f"beta: expected a positive KL coefficient, got {beta!r}")
    if not isinstance(thresholds, torch.Tensor) or thresholds.shape != rewards.shape[:1]:
        raise ValueError(f"thresholds: expected a tensor of shape {tuple(rewards.shape[:1])}")
    lr, rw, th = log_ref.detach().cpu().numpy(), rewards.detach().cpu().numpy(), thresholds.detach().cpu().numpy()

    # the dual in the weights w = (1 − λ)/β (well conditioned for small β): g(λ)/β = θ·(1/β − w) + log Z(w), so
    # minimise h(w) = log Σ_y π_ref(y) exp(w·R(y)) − w·θ over w ≤ 1/β (λ ≥ 0); ∇h = E_{π_w} R − θ, ∇²h = Cov_{π_w} R
    def dual(w):
        a = lr + w @ rw
        amax = a.max()
        p = np.exp(a - amax)
        z = p.sum()
        p /= z
        return float(amax + np.log(z) - w @ th), rw @ p - th

    res = minimize(dual, np.zeros(rw.shape[0]), jac=True, method="L-BFGS-B", bounds=[(None, 1 / beta)] * rw.shape[0],
                   options={"ftol": tol, "gtol": tol, "maxiter": 10000, "maxls": 50})
    w = _polish(dual, lr, rw, res.x, 1 / beta)
    lam = (1 - beta * torch.tensor(w, dtype=torch.float64)).clamp(min=0)
    pi = tilt(log_ref.to(torch.float64), (1 - lam) / beta, rewards.to(torch.float64))
    er = rewards.to(torch.float64) @ pi
    slack = er - thresholds.to(torch.float64)
    proj_grad = torch.where(lam > 0, slack, slack.clamp(min=0))
    resid = float(torch.stack([slack.clamp(min=0).max(), (lam * slack).abs().max(), proj_grad.abs().max()]).max())
    return ConstrainedSolution(pi, lam, er, resid)
