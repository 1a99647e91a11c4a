r"""Exact Bellman-error objectives of a linear value function — squared, projected, Huber, absolute — and their minimisers.

Setting (as :mod:`pgtheory.exact.linear_evaluation`): a :class:`~pgtheory.problems.mdp.TabularMDP`, a policy
``pi [S, A]``, features :math:`\Phi\in\mathbb R^{n\times d}` over the n = S·A state-action pairs (row sA + a) and a
weighting D over the pairs (default: the on-policy normalised discounted occupancy). The *expected* TD error of
:math:`Q_w = \Phi w` at every pair is affine in w,

.. math:: \bar\delta_w = T^\pi\Phi w - \Phi w = r - X w,\qquad X = \Phi - \gamma P_\pi\Phi\quad([n, d]).

Objectives (weights D_i ≥ 0, Σ D_i = 1; Patterson, Liao & White 2022, "Robust Losses for Learning Value Functions",
arXiv:2205.08464, §§3–4 as summarised in the abstract and pgtheory's catalogue row L69):

* squared:  :math:`\tfrac12\,\mathrm{MSBE}(w) = \tfrac12\sum_i D_i\bar\delta_i^2`,
* Huber:    :math:`\mathrm{HBE}_\tau(w) = \sum_i D_i\,\rho_\tau(\bar\delta_i)` with
  :math:`\rho_\tau(x) = x^2/2` for :math:`|x|\le\tau` and :math:`\tau|x| - \tau^2/2` otherwise,
* absolute: :math:`\mathrm{ABE}(w) = \sum_i D_i|\bar\delta_i|`,
* projected (generalised PBE with the dual function linear in features Ψ):
  :math:`\tfrac12\|\Pi^\Psi_D\bar\delta\|_D^2 = \tfrac12\bar\delta^\top D\Psi(\Psi^\top D\Psi)^{-1}\Psi^\top D\bar\delta`
  (Ψ = Φ is the MSPBE of GTD2; Sutton et al. 2009; Patterson, White & White 2022, "A generalized projected Bellman
  error").

Saddle-point (conjugate) forms — each loss is :math:`\rho(x) = \max_{h\in H}(hx - \kappa h^2/2)` (Fenchel conjugate):

.. math:: \tfrac12x^2 = \max_{h\in\mathbb R}(hx - h^2/2),\quad
          \rho_\tau(x) = \max_{|h|\le\tau}(hx - h^2/2),\quad |x| = \max_{|h|\le 1} hx,

so with a dual function h over the pairs, :math:`\mathcal L(w, h) = \sum_i D_i(h_i\bar\delta_i(w) - \kappa h_i^2/2)`
and loss(w) = max_h 𝓛(w, h), attained at the best response :func:`best_response` h* = clip(δ̄, −c, c)
(κ = 1; c = ∞ squared, c = τ Huber) or h* = sign δ̄ (κ = 0, c = 1, absolute; any value in [−1, 1] where δ̄ = 0).
Restricting h to a linear class Ψv turns the squared loss into the projected one (same max over v).

Minimisers (:func:`minimise_bellman_loss`), each with an optimality certificate:

* squared — weighted least squares on :math:`D^{1/2}X` (equal to
  :func:`~pgtheory.exact.linear_evaluation.bellman_residual_minimiser`); certificate ‖XᵀDδ̄‖∞.
* Huber — a convex, piecewise-quadratic, once-differentiable program: scipy BFGS from the squared solution, then
  exact semismooth-Newton polishing steps kept only when they lower the objective; certificate ‖Xᵀ D clip(δ̄, ±τ)‖∞
  (the gradient).
* absolute — weighted least absolute deviations as a linear program (scipy HiGHS), with its dual LP
  :math:`\max_{|h|\le1}\sum_i D_i h_i r_i` s.t. :math:`X^\top Dh = 0` solved too: the dual solution is the saddle
  point's h; certificate = duality gap, ‖XᵀDh‖∞ and the subgradient condition h_i = sign δ̄_i where δ̄_i ≠ 0.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from scipy.optimize import linprog, minimize

from .._checks import as_tensor, check_finite, check_real
from ..problems.linear_mdp import tabular_form
from .evaluation import evaluate_policy, state_action_occupancy
from .linear_evaluation import state_action_transition_matrix

__all__ = ["BELLMAN_LOSSES", "BellmanResidualProblem", "BellmanLossSolution", "linear_bellman_residual_problem",
           "expected_td_error", "huber", "bellman_loss", "projected_bellman_loss", "dual_bound", "dual_curvature",
           "saddle_point_objective", "best_response", "minimise_bellman_loss", "value_error"]

#: the robust and squared losses of Patterson, Liao & White (2022), by name
BELLMAN_LOSSES = ("squared", "huber", "absolute")


class BellmanResidualProblem(NamedTuple):
    r"""The affine expected TD error δ̄(w) = r − Xw of a linear Q = Φw on the n = S·A pairs, and its weighting."""

    X: torch.Tensor  #: Φ − γP_πΦ, [n, d]
    r: torch.Tensor  #: expected reward of each pair, [n]
    D: torch.Tensor  #: the weighting distribution over pairs, [n]
    phi: torch.Tensor  #: the features Φ, [n, d]
    next_phi: torch.Tensor  #: P_πΦ (expected next features), [n, d]
    q_true: torch.Tensor  #: the exact Q^π, [n]
    discount: float  #: γ


class BellmanLossSolution(NamedTuple):
    """The minimiser of one Bellman loss, the dual (saddle-point) h at it, and its optimality certificate."""

    w: torch.Tensor  #: the minimiser, [d]
    h: torch.Tensor  #: the dual function at the saddle point (best response at w; the dual LP's h for 'absolute'), [n]
    value: float  #: the loss at w
    certificate: float  #: first-order residual: ‖Xᵀ D h‖∞ (0 at an exact minimiser; h as above)
    duality_gap: float  #: loss(w) − 𝓛(w, h) ≥ 0 (0 at a saddle point; for 'absolute': primal LP − dual LP)
    loss: str  #: 'squared', 'huber' or 'absolute'
    tau: float  #: Huber threshold (nan for the others)


def _loss(loss) -> str:
    if not isinstance(loss, str):
        raise TypeError(f"loss: expected a string, one of {BELLMAN_LOSSES}, got {type(loss).__name__}")
    if loss not in BELLMAN_LOSSES:
        raise ValueError(f"loss: expected one of {BELLMAN_LOSSES}, got {loss!r}")
    return loss


def _tau(tau) -> float:
    return check_real(tau, "tau", low=0.0, low_open=True)


def linear_bellman_residual_problem(mdp, pi, features, weights=None) -> BellmanResidualProblem:
    r"""Assemble X = Φ − γP_πΦ [n, d], r [n], D [n] (and Φ, P_πΦ, Q^π) for one policy ``pi [S, A]``.

    ``features`` ``[S, A, d]`` or ``[S·A, d]``; ``weights`` a distribution over pairs ``[S, A]`` or ``[S·A]``
    (default: the on-policy normalised discounted occupancy d^π_ρ(s)π(a|s), the convention of
    :mod:`~pgtheory.exact.linear_evaluation`).
    """
    mdp = tabular_form(mdp)
    S, A = mdp.n_states, mdp.n_actions
    n = S * A
    pi = as_tensor(pi, "pi", device=mdp.device)
    if tuple(pi.shape) != (S, A):
        raise ValueError(f"pi: expected one policy of shape [S, A] = [{S}, {A}], got {tuple(pi.shape)}")
    P = state_action_transition_matrix(mdp, pi)  # validates pi
    phi = check_finite(as_tensor(features, "features", device=mdp.device), "features")
    if phi.ndim == 3 and tuple(phi.shape[:2]) == (S, A) and phi.shape[2] > 0:
        phi = phi.reshape(n, -1)
    if not (phi.ndim == 2 and phi.shape[0] == n and phi.shape[1] > 0):
        raise ValueError(f"features: expected shape [S, A, d] = [{S}, {A}, d] or [S·A, d] = [{n}, d], got {tuple(phi.shape)}")
    if weights is None:
        D = state_action_occupancy(mdp, pi).reshape(n)
    else:
        D = check_finite(as_tensor(weights, "weights", device=mdp.device), "weights").reshape(-1)
        if D.numel() != n:
            raise ValueError(f"weights: expected {n} entries ([S, A] or [S·A]), got shape {tuple(as_tensor(weights, 'weights').shape)}")
        if bool((D < 0).any()) or abs(float(D.sum()) - 1.0) > 1e-8:
            raise ValueError(f"weights: expected a probability distribution over the {n} pairs (non-negative, sum 1)")
    next_phi = P @ phi
    X = phi - mdp.discount * next_phi
    q = evaluate_policy(mdp, pi).q.reshape(n)
    return BellmanResidualProblem(X, mdp.rewards.reshape(n).clone(), D, phi, next_phi, q, float(mdp.discount))


def _problem(problem) -> BellmanResidualProblem:
    if not isinstance(problem, BellmanResidualProblem):
        raise TypeError(f"problem: expected a BellmanResidualProblem (linear_bellman_residual_problem), got {type(problem).__name__}")
    return problem


def _w(problem: BellmanResidualProblem, w) -> torch.Tensor:
    w = check_finite(as_tensor(w, "w", device=problem.X.device), "w")
    if w.ndim < 1 or w.shape[-1] != problem.X.shape[1]:
        raise ValueError(f"w: expected shape [..., d] = [..., {problem.X.shape[1]}], got {tuple(w.shape)}")
    return w


def expected_td_error(problem: BellmanResidualProblem, w) -> torch.Tensor:
    r""":math:`\bar\delta_w = r - Xw = T^\pi\Phi w - \Phi w` at every pair: ``w [..., d]`` → ``[..., n]``."""
    problem = _problem(problem)
    w = _w(problem, w)
    return problem.r - w @ problem.X.T


def huber(x: torch.Tensor, tau: float) -> torch.Tensor:
    r"""Huber function :math:`\rho_\tau(x) = x^2/2` if :math:`|x|\le\tau`, else :math:`\tau|x| - \tau^2/2` (elementwise)."""
    tau = _tau(tau)
    x = as_tensor(x, "x")
    a = x.abs()
    return torch.where(a <= tau, 0.5 * x * x, tau * a - 0.5 * tau * tau)


def bellman_loss(problem: BellmanResidualProblem, w, loss: str, tau: float = 1.0) -> torch.Tensor:
    r"""Σ_i D_i ρ(δ̄_i(w)) for ρ = x²/2 ('squared', i.e. ½MSBE), ρ_τ ('huber') or |x| ('absolute'): ``[...]``."""
    loss = _loss(loss)
    delta = expected_td_error(problem, w)
    if loss == "squared":
        rho = 0.5 * delta * delta
    elif loss == "huber":
        rho = huber(delta, tau)
    else:
        rho = delta.abs()
    return (problem.D * rho).sum(-1)


def projected_bellman_loss(problem: BellmanResidualProblem, w, h_features=None) -> torch.Tensor:
    r"""½‖Π^Ψ_D δ̄_w‖²_D = max_v Σ_i D_i((Ψv)_i δ̄_i − (Ψv)_i²/2): the squared loss with h linear in ``h_features``
    Ψ ``[n, k]`` (default Φ: ½MSPBE, GTD2's objective). ``w [..., d]`` → ``[...]``. Raises ``ValueError`` if ΨᵀDΨ is
    singular.
    """
    problem = _problem(problem)
    psi = problem.phi if h_features is None else check_finite(as_tensor(h_features, "h_features", device=problem.X.device), "h_features")
    if psi.ndim != 2 or psi.shape[0] != problem.X.shape[0]:
        raise ValueError(f"h_features: expected shape [n, k] with n = {problem.X.shape[0]}, got {tuple(psi.shape)}")
    G = psi.T @ (problem.D.unsqueeze(-1) * psi)
    sv = torch.linalg.svdvals(G)
    if not float(sv[-1]) > 1e-12 * float(sv[0]):
        raise ValueError("h_features: Ψᵀ D Ψ is singular (features dependent on the support of D)")
    g = (problem.D * expected_td_error(problem, w)) @ psi  # [..., k]
    return 0.5 * (g * torch.linalg.solve(G, g.unsqueeze(-1)).squeeze(-1)).sum(-1)


def dual_bound(loss: str, tau: float = 1.0) -> float:
    """The box [−c, c] of the dual variable h: c = ∞ (squared), τ (Huber), 1 (absolute)."""
    loss = _loss(loss)
    return math.inf if loss == "squared" else (_tau(tau) if loss == "huber" else 1.0)


def dual_curvature(loss: str) -> float:
    """κ in the conjugate term κh²/2: 1 for 'squared' and 'huber', 0 for 'absolute'."""
    return 0.0 if _loss(loss) == "absolute" else 1.0


def saddle_point_objective(problem: BellmanResidualProblem, w, h, loss: str, tau: float = 1.0) -> torch.Tensor:
    r""":math:`\mathcal L(w, h) = \sum_i D_i(h_i\bar\delta_i(w) - \kappa h_i^2/2)` for ``w [..., d]``, ``h [..., n]``.

    Raises ``ValueError`` if h leaves the loss's box [−c, c] (by more than 1e-12): the max over h of 𝓛 inside the box
    is the loss (see the module docstring).
    """
    loss = _loss(loss)
    c = dual_bound(loss, tau)
    h = check_finite(as_tensor(h, "h", device=problem.X.device), "h")
    if h.shape[-1] != problem.X.shape[0]:
        raise ValueError(f"h: expected shape [..., n] = [..., {problem.X.shape[0]}], got {tuple(h.shape)}")
    if bool((h.abs() > c + 1e-12).any()):
        raise ValueError(f"h: the dual function of the {loss} loss must lie in [−{c:g}, {c:g}]")
    delta = expected_td_error(problem, w)
    return (problem.D * (h * delta - 0.5 * dual_curvature(loss) * h * h)).sum(-1)


def best_response(problem: BellmanResidualProblem, w, loss: str, tau: float = 1.0) -> torch.Tensor:
    """The maximising h of 𝓛(w, ·): clip(δ̄, −c, c) (squared, Huber) or sign δ̄ (absolute; 0 where δ̄ = 0): ``[..., n]``."""
    loss = _loss(loss)
    delta = expected_td_error(problem, w)
    if loss == "absolute":
        return torch.sign(delta)
    c = dual_bound(loss, tau)
    return delta if math.isinf(c) else delta.clamp(-c, c)


def value_error(problem: BellmanResidualProblem, w) -> torch.Tensor:
    r"""‖Φw − Q^π‖_D / ‖Q^π‖_D (relative value error in the weighting D): ``w [..., d]`` → ``[...]``."""
    problem = _problem(problem)
    w = _w(problem, w)
    diff = w @ problem.phi.T - problem.q_true
    return ((problem.D * diff * diff).sum(-1) / (problem.D * problem.q_true ** 2).sum()).sqrt()


def _certificate(problem: BellmanResidualProblem, h: torch.Tensor) -> float:
    return float((problem.X.T @ (problem.D * h)).abs().max())


def _squared(problem: BellmanResidualProblem) -> torch.Tensor:
    sq = problem.D.sqrt().unsqueeze(-1)
    Xw = sq * problem.X
    sv = torch.linalg.svdvals(Xw)
    if not float(sv[-1]) > 1e-12 * float(sv[0]):
        raise ValueError("problem: D^{1/2}X is rank-deficient (smallest singular value "
                         f"{float(sv[-1]):.3g}); the Bellman-loss minimiser is not unique")
    return torch.linalg.lstsq(Xw, sq * problem.r.unsqueeze(-1)).solution.squeeze(-1)


def _huber(problem: BellmanResidualProblem, tau: float) -> torch.Tensor:
    X, r, D = (t.detach().cpu().numpy() for t in (problem.X, problem.r, problem.D))

    def fun(w):
        d = r - X @ w
        a = np.abs(d)
        return float(D @ np.where(a <= tau, 0.5 * d * d, tau * a - 0.5 * tau * tau))

    def jac(w):
        return -X.T @ (D * np.clip(r - X @ w, -tau, tau))

    w0 = _squared(problem).cpu().numpy()
    w = minimize(fun, w0, jac=jac, method="BFGS", options={"gtol": 1e-13, "maxiter": 10_000}).x
    f = fun(w)
    for _ in range(50):  # semismooth Newton on the quadratic pieces, kept only when it lowers the objective
        g = jac(w)
        if np.abs(g).max() <= 1e-15 * max(1.0, np.abs(X).max() * tau):
            break
        active = (np.abs(r - X @ w) <= tau).astype(float)
        H = X.T @ ((D * active)[:, None] * X)
        step = np.linalg.lstsq(H, -g, rcond=None)[0]
        t, improved = 1.0, False
        g_norm = np.abs(g).max()
        for _ in range(30):
            f_new = fun(w + t * step)
            # near the minimiser f changes below round-off: a step that keeps f (to round-off) and shrinks the
            # first-order residual is also progress, so the certificate is not left at the BFGS point's round-off
            if f_new < f or (f_new <= f + 4 * np.finfo(float).eps * abs(f) and np.abs(jac(w + t * step)).max() < g_norm):
                w, f, improved = w + t * step, min(f, f_new), True
                break
            t *= 0.5
        if not improved:
            break
    return torch.as_tensor(w, dtype=problem.X.dtype, device=problem.X.device)


def _absolute(problem: BellmanResidualProblem) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    X, r, D = (t.detach().cpu().numpy() for t in (problem.X, problem.r, problem.D))
    n, d = X.shape
    # primal LP over (w, t): min Σ D t  s.t.  r − Xw ≤ t,  Xw − r ≤ t
    c = np.concatenate([np.zeros(d), D])
    A = np.block([[-X, -np.eye(n)], [X, -np.eye(n)]])
    b = np.concatenate([-r, r])
    primal = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * d + [(0, None)] * n, method="highs")
    # dual LP over h: max Σ D h r  s.t.  Xᵀ(D h) = 0, −1 ≤ h ≤ 1
    dual = linprog(-(D * r), A_eq=(X * D[:, None]).T, b_eq=np.zeros(d), bounds=[(-1, 1)] * n, method="highs")
    if primal.status != 0 or dual.status != 0:
        raise ValueError(f"problem: the least-absolute-deviation LPs failed ({primal.message}; {dual.message})")
    w = torch.as_tensor(primal.x[:d], dtype=problem.X.dtype, device=problem.X.device)
    h = torch.as_tensor(dual.x, dtype=problem.X.dtype, device=problem.X.device)
    return w, h, float(primal.fun), float(-dual.fun)


def minimise_bellman_loss(problem: BellmanResidualProblem, loss: str, tau: float = 1.0) -> BellmanLossSolution:
    """The exact minimiser of :func:`bellman_loss` over w, with its saddle-point h and optimality certificate.

    See the module docstring for the programs (least squares, BFGS + semismooth Newton, HiGHS LP and its dual).
    Raises ``ValueError`` if D^{1/2}X is rank-deficient (squared, Huber start) or an LP fails.
    """
    problem = _problem(problem)
    loss = _loss(loss)
    t = _tau(tau) if loss == "huber" else math.nan
    if loss == "absolute":
        w, h, p_val, d_val = _absolute(problem)
        value = float(bellman_loss(problem, w, loss))
        delta = expected_td_error(problem, w)
        scale = float(delta.abs().max()) or 1.0
        # subgradient condition: h = sign δ̄ wherever δ̄ is clearly non-zero (and D > 0)
        off = ((problem.D > 0) & (delta.abs() > 1e-9 * scale) & ((h - torch.sign(delta)).abs() > 1e-7)).any()
        gap = max(p_val - d_val, value - float(saddle_point_objective(problem, w, h.clamp(-1, 1), loss)))
        cert = _certificate(problem, h) + (math.inf if bool(off) else 0.0)
        return BellmanLossSolution(w, h, value, cert, gap, loss, t)
    w = _squared(problem) if loss == "squared" else _huber(problem, t)
    h = best_response(problem, w, loss, 1.0 if loss == "squared" else t)
    value = float(bellman_loss(problem, w, loss, 1.0 if loss == "squared" else t))
    gap = value - float(saddle_point_objective(problem, w, h, loss, 1.0 if loss == "squared" else t))
    return BellmanLossSolution(w, h, value, _certificate(problem, h), gap, loss, t)
