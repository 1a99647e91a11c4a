r"""The bilevel reward-MLE problem in its tractable Gaussian setting, exactly (closed forms and implicit differentiation).

Source: Benechehab et al. 2025, "From Data to Rewards: a Bilevel Optimization Perspective on Maximum Likelihood
Estimation" (arXiv 2510.07624). The setting was reconstructed from the authors' code (github.com/abenechehab/nll_to_po:
``training/reward.py`` Mahalanobis reward −(ŷ − y)ᵀU(ŷ − y) around the data target y, ``training/loss.py`` PG loss with an
entropy bonus λ·H(p_θ), Gaussian policy; the isotropic reward is labelled λn/(2 tr Σ)·I there) and from third-party
summaries of the body stating the optimum U* = (λ/2)Σ⁻¹; the paper body itself was not read.

Data: y ∼ q = N(μ, Σ) in ℝⁿ (one context; the policy's mean is free, so contexts decouple). Policy p = N(m, S).

Inner (entropy-regularised PG objective, exact expectation):

.. math:: J_U(m, S) = E_{\hat y\sim p} E_{y\sim q}[-(\hat y - y)^\top U(\hat y - y)] + \lambda H(p)
          = -\mathrm{tr}(U S) - \mathrm{tr}(U\Sigma) - (m-\mu)^\top U (m-\mu) + \tfrac{\lambda}{2}\log\det(2\pi e S),

maximised by m* = μ, S*(U) = (λ/2)U⁻¹. Outer (log-likelihood of the data under the inner optimum):

.. math:: \ell(U) = E_{y\sim q}\log N(y; m^*, S^*(U)) = -\tfrac12[n\log 2\pi + \log\det S^* + \mathrm{tr}(S^{*-1}\Sigma)
          + (\mu - m^*)^\top S^{*-1}(\mu - m^*)],

maximised at S* = Σ, i.e. U* = (λ/2)Σ⁻¹ (for U = u·I: u* = λn/(2 tr Σ)). SPD matrices are parameterised by a log-Cholesky
vector of length n(n+1)/2 (diagonal entries exp(·), lower triangle row-major). All float64.
"""
from __future__ import annotations

import math

import torch

from .._checks import as_tensor, check_finite, check_real

__all__ = [
    "spd_from_log_cholesky",
    "log_cholesky_from_spd",
    "gaussian_inner_objective",
    "gaussian_inner_optimum",
    "gaussian_data_loglik",
    "optimal_reward_matrix",
    "isotropic_optimal_reward_scale",
    "solve_inner_numerically",
    "outer_gradient_implicit",
    "outer_loglik_closed_inner",
    "solve_bilevel_reward",
]


def _lam(lam) -> float:
    v = check_real(lam, "lam", low=0.0)
    if v == 0.0:
        raise ValueError("lam: the entropy weight must be > 0")
    return v


def _spd(x, name: str) -> torch.Tensor:
    t = check_finite(as_tensor(x, name), name)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] == 0:
        raise ValueError(f"{name}: expected a square matrix [n, n], got {tuple(t.shape)}")
    if not torch.allclose(t, t.T, atol=1e-12, rtol=1e-12):
        raise ValueError(f"{name}: must be symmetric")
    if float(torch.linalg.eigvalsh(t).min()) <= 0:
        raise ValueError(f"{name}: must be positive definite")
    return t


def _vec(x, name: str, n: int) -> torch.Tensor:
    t = check_finite(as_tensor(x, name), name)
    if tuple(t.shape) != (n,):
        raise ValueError(f"{name}: expected shape [{n}], got {tuple(t.shape)}")
    return t


def spd_from_log_cholesky(params: torch.Tensor, n: int) -> torch.Tensor:
    """A = L Lᵀ from ``params`` [n(n+1)/2] (differentiable): L's diagonal exp(params[:n]), strict lower triangle params[n:]."""
    if not isinstance(params, torch.Tensor) or tuple(params.shape) != (n * (n + 1) // 2,):
        raise ValueError(f"params: expected a tensor of shape [{n * (n + 1) // 2}] for n = {n}")
    rows, cols = torch.tril_indices(n, n, offset=-1)
    L = torch.diag(params[:n].exp())
    if rows.numel():
        L = L.index_put((rows, cols), params[n:])
    return L @ L.T


def log_cholesky_from_spd(A) -> torch.Tensor:
    """Inverse of :func:`spd_from_log_cholesky`: ``[n, n] → [n(n+1)/2]``."""
    A = _spd(A, "A")
    L = torch.linalg.cholesky(A)
    n = A.shape[0]
    rows, cols = torch.tril_indices(n, n, offset=-1)
    return torch.cat([L.diagonal().log(), L[rows, cols]])


def gaussian_inner_objective(mean, cov, U, data_mean, data_cov, lam) -> torch.Tensor:
    """J_U(m, S) above (exact): a scalar, differentiable in ``mean``, ``cov`` and ``U``."""
    lam = _lam(lam)
    n = data_mean.shape[0]
    d = mean - data_mean
    return (-(U * cov).sum() - (U * data_cov).sum() - d @ U @ d
            + 0.5 * lam * (torch.logdet(cov) + n * math.log(2 * math.pi * math.e)))


def gaussian_inner_optimum(U, data_mean, lam) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form maximiser of J_U: (m*, S*) = (μ, (λ/2) U⁻¹)."""
    U = _spd(U, "U")
    mu = _vec(data_mean, "data_mean", U.shape[0])
    return mu.clone(), 0.5 * _lam(lam) * torch.linalg.inv(U)


def gaussian_data_loglik(mean, cov, data_mean, data_cov) -> torch.Tensor:
    """ℓ = E_{y∼N(μ,Σ)} log N(y; m, S) (exact): a scalar, differentiable in ``mean`` and ``cov``."""
    n = data_mean.shape[0]
    Sinv = torch.linalg.inv(cov)
    d = data_mean - mean
    return -0.5 * (n * math.log(2 * math.pi) + torch.logdet(cov) + (Sinv * data_cov).sum() + d @ Sinv @ d)


def optimal_reward_matrix(data_cov, lam) -> torch.Tensor:
    """U* = (λ/2) Σ⁻¹, the outer optimum of the bilevel problem."""
    return 0.5 * _lam(lam) * torch.linalg.inv(_spd(data_cov, "data_cov"))


def isotropic_optimal_reward_scale(data_cov, lam) -> float:
    """u* = λ n / (2 tr Σ), the outer optimum when the reward is restricted to U = u·I."""
    S = _spd(data_cov, "data_cov")
    return _lam(lam) * S.shape[0] / (2.0 * float(S.trace()))


def _inner_params_to_policy(phi: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return phi[:n], spd_from_log_cholesky(phi[n:], n)


#: below this predicted relative gain a Newton step's change of the objective is at its round-off (see _newton_step_length)
F_RESOLUTION = 1e-10

#: how far above the requested tolerance a gradient may stay once Newton no longer changes J (round-off stationarity)
ROUND_OFF_STATIONARITY = 100.0


def solve_inner_numerically(U, data_mean, data_cov, lam, *, tol: float = 1e-12, max_iter: int = 200) -> torch.Tensor:
    """Maximise J_U by damped Newton steps on the exact objective over φ = (m, log-Cholesky of S), from (0, I).

    Returns φ [n + n(n+1)/2] with ‖∇_φ J‖∞ ≤ ``tol``·max(1, λ, ‖U‖_max, ‖U‖_max·‖μ‖_∞), or within
    ``ROUND_OFF_STATIONARITY`` times that once three Newton steps in a row have left J unchanged to float64 round-off
    (raises RuntimeError otherwise). ``U`` may carry autograd history; the solve itself is detached.
    """
    lam = _lam(lam)
    n = data_mean.shape[0]
    Ud = U.detach()
    scale = max(1.0, lam, float(Ud.abs().max()), float(Ud.abs().max()) * float(data_mean.abs().max()))
    tol = tol * scale
    phi = torch.zeros(n + n * (n + 1) // 2, dtype=torch.float64)

    def f(p):
        m, S = _inner_params_to_policy(p, n)
        return gaussian_inner_objective(m, S, Ud, data_mean, data_cov, lam)

    stalled = 0
    for _ in range(max_iter):
        g = torch.autograd.functional.jacobian(f, phi)
        if float(g.abs().max()) <= tol:
            return phi
        if stalled >= 3 and float(g.abs().max()) <= ROUND_OFF_STATIONARITY * tol:
            # Newton has stopped changing J at float64 round-off with the gradient a few ulps above tol: stationary to
            # machine precision (revision 2026-12-01: L151's seed-1010 run stopped at ‖∇J‖∞ = 9.9e-12 against 1e-12·scale)
            return phi
        H = torch.autograd.functional.hessian(f, phi)
        evals, evecs = torch.linalg.eigh(-H)
        step = evecs @ ((evecs.T @ g) / evals.clamp_min(1e-8 * float(evals.abs().max())))
        f0 = float(f(phi))
        phi = phi + _newton_step_length(f, phi, g, step) * step
        stalled = stalled + 1 if abs(float(f(phi)) - f0) <= 4 * torch.finfo(torch.float64).eps * max(1.0, abs(f0)) else 0
    g = torch.autograd.functional.jacobian(f, phi)
    if float(g.abs().max()) > tol and not (stalled >= 3 and float(g.abs().max()) <= ROUND_OFF_STATIONARITY * tol):
        raise RuntimeError(f"solve_inner_numerically: no stationary point within {max_iter} Newton steps (‖∇J‖∞ = {float(g.abs().max()):.2g})")
    return phi


def outer_gradient_implicit(U_params: torch.Tensor, data_mean, data_cov, lam, *, isotropic: bool = False) -> tuple[float, torch.Tensor]:
    r"""ℓ(U(ψ)) and dℓ/dψ with the inner optimum solved numerically and differentiated implicitly:

    dφ*/dψ = −(∇²_φφ J)⁻¹ ∇²_φψ J, dℓ/dψ = ∇_φ ℓ · dφ*/dψ. ``U_params``: log-Cholesky ψ of U (or, with ``isotropic``,
    a 1-vector log u for U = u·I).
    """
    n = data_mean.shape[0]
    lam = _lam(lam)

    def U_of(psi):
        return psi[0].exp() * torch.eye(n, dtype=torch.float64) if isotropic else spd_from_log_cholesky(psi, n)

    psi = U_params.detach()
    phi = solve_inner_numerically(U_of(psi), data_mean, data_cov, lam)

    def grad_phi(p, s):
        m, S = _inner_params_to_policy(p, n)
        return gaussian_inner_objective(m, S, U_of(s), data_mean, data_cov, lam)

    H = torch.autograd.functional.hessian(lambda p: grad_phi(p, psi), phi)
    mixed = torch.autograd.functional.jacobian(
        lambda s: torch.autograd.functional.jacobian(lambda p: grad_phi(p, s), phi, create_graph=True), psi)
    dphi = -torch.linalg.solve(H, mixed)

    def ell(p):
        m, S = _inner_params_to_policy(p, n)
        return gaussian_data_loglik(m, S, data_mean, data_cov)

    g_phi = torch.autograd.functional.jacobian(ell, phi)
    return float(ell(phi)), g_phi @ dphi


def outer_loglik_closed_inner(U_params: torch.Tensor, data_mean, data_cov, lam, *, isotropic: bool = False) -> torch.Tensor:
    """ℓ(U(ψ)) with the inner optimum in closed form (m*, S*) = (μ, (λ/2)U⁻¹): a scalar, differentiable in ψ."""
    n = data_mean.shape[0]
    U = U_params[0].exp() * torch.eye(n, dtype=torch.float64) if isotropic else spd_from_log_cholesky(U_params, n)
    return gaussian_data_loglik(data_mean, 0.5 * _lam(lam) * torch.linalg.inv(U), data_mean, data_cov)


def _trial(f, p: torch.Tensor) -> float:
    """ℓ at a trial point of the line search; −∞ where a full Newton step overshoots to a numerically singular U
    (exp of a large log-Cholesky entry), so that the step is halved instead of the solve failing."""
    try:
        v = float(f(p))
    except torch.linalg.LinAlgError:
        return -math.inf
    return v if math.isfinite(v) else -math.inf


def _trial_gradient(f, p: torch.Tensor) -> float:
    """‖∇f‖∞ at a trial point; +∞ where f cannot be evaluated there (see :func:`_trial`)."""
    try:
        v = float(torch.autograd.functional.jacobian(f, p).abs().max())
    except torch.linalg.LinAlgError:
        return math.inf
    return v if math.isfinite(v) else math.inf


def _newton_step_length(f, x: torch.Tensor, g: torch.Tensor, step: torch.Tensor) -> float:
    """Backtracking length t ∈ (0, 1] of an ascent ``step`` on f at ``x`` (g = ∇f(x)), halved from 1.

    Far from the optimum a trial point is accepted when f does not fall. Once Newton's predicted gain g·step is below
    ``F_RESOLUTION``·max(1, |f|), the change in f is at its own evaluation round-off (its terms are far larger than f and
    cancel), so f can no longer rank the trial points and ‖∇f‖∞ does: a trial point is accepted when it lowers the
    gradient. (Revision 2026-12-01: ranking by f alone rejected exact Newton steps at ‖∇J‖∞ ≈ 4e-9 on a well-conditioned
    instance, the Hessian's eigenvalues in [0.62, 3.7], and L151's seed-1018 inner solve stalled there for 200 steps.)
    """
    t, f0 = 1.0, _trial(f, x)
    if float(g @ step) > F_RESOLUTION * max(1.0, abs(f0)):
        while _trial(f, x + t * step) < f0 - 1e-15 * abs(f0) and t > 1e-10:
            t *= 0.5
        return t
    g0 = float(g.abs().max())
    while _trial_gradient(f, x + t * step) >= g0 and t > 1e-10:
        t *= 0.5
    return t


def solve_bilevel_reward(data_mean, data_cov, lam, *, isotropic: bool = False, init=None, tol: float = 1e-13,
                         max_iter: int = 100) -> tuple[torch.Tensor, dict]:
    """Maximise ℓ(U) over SPD U (or U = u·I) by damped Newton steps on ψ (log-Cholesky of U, or log u), the inner
    problem in closed form; exact gradient and Hessian by autograd.

    Returns (U, info) with info = {"outer_gradient": ‖dℓ/dψ‖∞ at the end, "iterations", "loglik": ℓ(U),
    "max_hessian_eigenvalue": largest eigenvalue of ∇²_ψψ ℓ at the end (negative at a strict local maximum)}.
    ``init``: starting ψ (default: U = I).
    """
    S = _spd(data_cov, "data_cov")
    n = S.shape[0]
    mu = _vec(data_mean, "data_mean", n)
    lam = _lam(lam)
    size = 1 if isotropic else n * (n + 1) // 2
    psi = torch.zeros(size, dtype=torch.float64) if init is None else check_finite(as_tensor(init, "init"), "init").clone()
    if tuple(psi.shape) != (size,):
        raise ValueError(f"init: expected shape [{size}], got {tuple(psi.shape)}")

    def f(p):
        return outer_loglik_closed_inner(p, mu, S, lam, isotropic=isotropic)

    it = 0
    for it in range(max_iter):
        g = torch.autograd.functional.jacobian(f, psi)
        if float(g.abs().max()) <= tol:
            break
        H = torch.autograd.functional.hessian(f, psi)
        evals, evecs = torch.linalg.eigh(-H)
        step = evecs @ ((evecs.T @ g) / evals.abs().clamp_min(1e-8 * max(1.0, float(evals.abs().max()))))
        psi = psi + _newton_step_length(f, psi, g, step) * step
    g = torch.autograd.functional.jacobian(f, psi)
    H = torch.autograd.functional.hessian(f, psi)
    U = psi[0].exp() * torch.eye(n, dtype=torch.float64) if isotropic else spd_from_log_cholesky(psi, n)
    return U, {"outer_gradient": float(g.abs().max()), "iterations": it + 1, "loglik": float(f(psi)),
               "max_hessian_eigenvalue": float(torch.linalg.eigvalsh(H).max())}
