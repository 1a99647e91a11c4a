r"""Exact truth for the discounted LQR (:class:`~pgtheory.problems.LQR`) under a linear-Gaussian policy
:math:`u = -Kx + \sigma\varepsilon` (:class:`~pgtheory.policies.LinearGaussianPolicy`).

Notation: closed loop :math:`L_K = A - BK`; effective process noise :math:`W_\sigma = W + \sigma^2 BB^\top` (the
exploration noise enters the state through B); :math:`S_\sigma = \Sigma_0 + \tfrac{\gamma}{1-\gamma} W_\sigma`.
Cost :math:`C(K) = -J(K)`.

Where each formula comes from
-----------------------------
* **Value matrix** (Fazel et al. 2018, eq. for :math:`P_K`, with γ inserted as in Bertsekas, DPOC vol. I §4.1):
  :math:`P_K = Q + K^\top R K + \gamma L_K^\top P_K L_K`. Solved by vectorisation,
  :math:`(I - \gamma L_K^\top \otimes L_K^\top)\,\mathrm{vec}\,P_K = \mathrm{vec}(Q + K^\top R K)`
  (:func:`solve_discounted_lyapunov`; equivalently scipy's ``solve_discrete_lyapunov`` on :math:`\sqrt\gamma L_K^\top`).
* **Stability** (standard): the series :math:`\sum_t \gamma^t (L_K^\top)^t Y L_K^t` converges iff
  :math:`\rho(\sqrt\gamma L_K) < 1`; otherwise C(K) = ∞ and every function here raises ``ValueError`` naming K.
* **Discounted state covariance** (derived here): with :math:`M_t = \mathbb E x_t x_t^\top`,
  :math:`M_0 = \Sigma_0`, :math:`M_{t+1} = L_K M_t L_K^\top + W_\sigma` (since
  :math:`x_{t+1} = L_K x_t + \sigma B\varepsilon_t + w_t` with independent zero-mean noises), the sum
  :math:`\Sigma_K = \sum_t \gamma^t M_t` satisfies
  :math:`\Sigma_K = \Sigma_0 + \gamma\sum_t\gamma^t M_{t+1} = S_\sigma + \gamma L_K \Sigma_K L_K^\top`.
  Fazel et al.'s :math:`\Sigma_K` is the special case γ = 1, W = 0, σ = 0 (there x_0 is random, dynamics deterministic).
* **Objective** (derived here; the noise terms are the new part): per step
  :math:`\mathbb E[c_t \mid x_t] = x_t^\top(Q + K^\top RK)x_t + \sigma^2\,\mathrm{tr} R`, so
  :math:`C(K) = \mathrm{tr}\big((Q + K^\top RK)\Sigma_K\big) + \frac{\sigma^2\,\mathrm{tr}R}{1-\gamma}`, and, by the duality
  :math:`\mathrm{tr}(Y\Sigma_K) = \mathrm{tr}(P_K S_\sigma)` of the two Lyapunov equations,

  .. math:: J(K) = -\Big[\mathrm{tr}(P_K\Sigma_0) + \frac{\gamma}{1-\gamma}\,\mathrm{tr}\big(P_K (W + \sigma^2 BB^\top)\big)
            + \frac{\sigma^2\,\mathrm{tr}R}{1-\gamma}\Big].

  Equivalently the value function is :math:`V_K(x) = -(x^\top P_K x + q_K)` with
  :math:`(1-\gamma) q_K = \sigma^2\mathrm{tr}R + \gamma\,\mathrm{tr}(P_K W_\sigma)` (the Bellman equation, matching
  quadratic and constant terms). Checked in the tests against the moment recursion :math:`\sum_{t<H}\gamma^t\,\mathbb E c_t`
  (which never uses P_K), and against sampled returns.
* **Policy gradient** (Fazel et al. 2018, Lemma 1, :math:`\nabla C = 2E_K\Sigma_K`, re-derived here with γ and noise):
  since :math:`S_\sigma` does not depend on K, :math:`dC = \mathrm{tr}(dP_K\,S_\sigma)`; differentiating the
  Lyapunov equation gives :math:`dP = \gamma L^\top dP\,L + dK^\top E_K + E_K^\top dK` with
  :math:`E_K = RK - \gamma B^\top P_K L_K = (R + \gamma B^\top P_K B)K - \gamma B^\top P_K A`, and the adjoint equation
  (the one :math:`\Sigma_K` solves) turns :math:`\mathrm{tr}(dP\,S_\sigma)` into :math:`2\,\mathrm{tr}(dK^\top E_K\Sigma_K)`:

  .. math:: \nabla_K J = -2\big[(R + \gamma B^\top P_K B)K - \gamma B^\top P_K A\big]\,\Sigma_K .

  The noise enters only through :math:`\Sigma_K` (W and σ²BBᵀ); forgetting it (the "noise-free Σ_K") is the
  wrong-target twin in the tests. Checked three ways: this formula, autograd through :func:`lqr_objective`, central
  differences.
* **Gradient in log σ** (derived here): only :math:`S_\sigma` and the σ² tr R term depend on σ, so
  :math:`\partial J/\partial\log\sigma = -2\sigma^2\,[\mathrm{tr}R + \gamma\,\mathrm{tr}(B^\top P_K B)]/(1-\gamma)`.
* **Fisher information** (derived here, the Gaussian analogue of Kakade 2001): with the normalised discounted
  state distribution :math:`d_K = (1-\gamma)\sum_t\gamma^t\,\mathrm{law}(x_t)` (pgtheory's convention, as in
  :func:`~pgtheory.exact.fisher_information`) and the per-state Fisher :math:`I_m\otimes xx^\top/\sigma^2`,
  :math:`F(K) = I_m \otimes (1-\gamma)\Sigma_K/\sigma^2` for row-major vec(K) (:math:`\Sigma_K\otimes I_m/\sigma^2`·(1−γ)
  in the column-major convention). Hence the natural gradient
  :math:`F^{-1}\nabla J = -\frac{2\sigma^2}{1-\gamma}E_K` when :math:`\Sigma_K \succ 0` — Fazel et al.'s natural
  policy gradient direction :math:`E_K`, up to the scale.
* **Optimal gain** (Bertsekas DPOC §4.1; the discounted problem is the undiscounted one for
  :math:`(\sqrt\gamma A, \sqrt\gamma B)`): :math:`P^* = Q + \gamma A^\top P^* A - \gamma^2 A^\top P^* B (R + \gamma B^\top P^* B)^{-1} B^\top P^* A`,
  :math:`K^* = \gamma (R + \gamma B^\top P^* B)^{-1} B^\top P^* A`, i.e. :math:`E_{K^*} = 0`. By certainty equivalence K* does
  not depend on W, Σ_0 or σ: :math:`C(K) = \mathrm{tr}(P_K S_\sigma) + \mathrm{const}` and :math:`P_{K^*} \preceq P_K`
  for every stabilising K.

Every function takes a batch of gains ``K [..., m, n]`` and returns ``[..., ...]``; tensors are float64 on the
problem's device; J and everything derived from it are differentiable in K (and in ``log_std``) through the linear
solve. The vectorised solve costs O(n⁶): fine for the small n of a testbed (n ≤ ~30).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .._checks import check_finite, check_finite_result
from ..policies.gaussian import LinearGaussianPolicy
from ..problems.lqr import LQR, is_stabilisable

__all__ = [
    "LQREvaluation",
    "LQRSolution",
    "check_lqr_policy",
    "solve_discounted_lyapunov",
    "lqr_closed_loop",
    "lqr_closed_loop_radius",
    "check_lqr_stable",
    "evaluate_lqr",
    "lqr_value_matrix",
    "lqr_state_covariance",
    "lqr_objective",
    "lqr_policy_gradient",
    "lqr_policy_gradient_autograd",
    "lqr_policy_gradient_finite_difference",
    "lqr_log_std_gradient",
    "lqr_fisher_information",
    "lqr_natural_gradient",
    "lqr_optimal_gain",
    "lqr_riccati_residual",
]


class LQREvaluation(NamedTuple):
    """Exact evaluation of a batch of gains ``K [..., m, n]`` (see the module docstring for each formula)."""

    value_matrix: torch.Tensor  #: P_K, [..., n, n]
    state_covariance: torch.Tensor  #: Σ_K = Σ_t γ^t E x_t x_tᵀ, [..., n, n]
    offset: torch.Tensor  #: q_K, the constant of −V_K(x) = xᵀP_K x + q_K, [...]
    objective: torch.Tensor  #: J(K) = −(tr(P_K Σ_0) + q_K), [...]
    gain_residual: torch.Tensor  #: E_K = (R + γBᵀP_K B)K − γBᵀP_K A, [..., m, n]


class LQRSolution(NamedTuple):
    gain: torch.Tensor  #: K*, [m, n]
    value_matrix: torch.Tensor  #: P* = P_{K*}, [n, n]


def check_lqr_policy(lqr, policy) -> None:
    """Raise unless ``lqr`` is an :class:`~pgtheory.problems.LQR` and ``policy`` a linear-Gaussian policy of its (n, m)."""
    if not isinstance(lqr, LQR):
        raise TypeError(f"lqr: expected an LQR, got {type(lqr).__name__}")
    if not isinstance(policy, LinearGaussianPolicy):
        raise TypeError(f"policy: expected a LinearGaussianPolicy, got {type(policy).__name__}")
    if (policy.state_dim, policy.action_dim) != (lqr.state_dim, lqr.action_dim):
        raise ValueError(f"policy: built for n={policy.state_dim}, m={policy.action_dim} but the LQR has "
                         f"n={lqr.state_dim}, m={lqr.action_dim}")


def _gain(lqr: LQR, K: Any, name: str = "K") -> torch.Tensor:
    """K as float64 on the problem's device with trailing shape [m, n]."""
    if not isinstance(lqr, LQR):
        raise TypeError(f"lqr: expected an LQR, got {type(lqr).__name__}")
    pol = LinearGaussianPolicy(lqr.state_dim, lqr.action_dim)
    return pol.check_params(K, name).to(lqr.device)


def _prep(lqr: LQR, policy: LinearGaussianPolicy, K: Any) -> torch.Tensor:
    check_lqr_policy(lqr, policy)
    return _gain(lqr, K)


def _sigma2(policy: LinearGaussianPolicy, log_std: Any, like: torch.Tensor) -> torch.Tensor:
    """σ² as a tensor broadcastable against a batch ``[...]`` (a scalar unless ``log_std`` is batched)."""
    return policy.sigma(log_std, like=like) ** 2


def _trail2(s: torch.Tensor) -> torch.Tensor:
    return s.reshape(*s.shape, 1, 1) if s.ndim else s


def solve_discounted_lyapunov(L: torch.Tensor, Y: torch.Tensor, discount: float) -> torch.Tensor:
    r"""The solution X of :math:`X = Y + \gamma L X L^\top` for ``L [..., n, n]``, symmetric ``Y [..., n, n]``: ``[..., n, n]``.

    :math:`X = \sum_t \gamma^t L^t Y (L^\top)^t`, which converges iff :math:`\rho(\sqrt\gamma L) < 1` (else ``ValueError``
    naming L). Solved by vectorisation, :math:`(I - \gamma L\otimes L)\,\mathrm{vec} X = \mathrm{vec} Y` (row-major vec:
    :math:`\mathrm{vec}(LXL^\top) = (L\otimes L)\mathrm{vec}X`), batched and differentiable; the result is symmetrised.
    The value matrix uses :math:`L_K^\top`, the state covariance :math:`L_K`.
    """
    check_finite(L.detach(), "L")
    check_finite(Y.detach(), "Y")
    if L.ndim < 2 or L.shape[-1] != L.shape[-2]:
        raise ValueError(f"L: expected square matrices [..., n, n], got {tuple(L.shape)}")
    n = L.shape[-1]
    if Y.shape[-2:] != L.shape[-2:]:
        raise ValueError(f"Y: expected trailing shape {(n, n)} like L, got {tuple(Y.shape)}")
    g = float(discount)
    rad = _radius(L, g)
    if bool((rad >= 1).any()):
        i = tuple(int(v) for v in (rad >= 1).nonzero()[0].tolist()) if rad.ndim else ()
        raise ValueError(f"L: the series Σ γ^t L^t Y L^tᵀ diverges: ρ(√γ L) = {float(rad[i] if rad.ndim else rad):.6g} >= 1"
                         f"{f' at batch index {i}' if i else ''}")
    batch = torch.broadcast_shapes(L.shape[:-2], Y.shape[:-2])
    L = L.expand(*batch, n, n)
    Y = Y.expand(*batch, n, n)
    kron = (L[..., :, None, :, None] * L[..., None, :, None, :]).reshape(*batch, n * n, n * n)
    eye = torch.eye(n * n, dtype=L.dtype, device=L.device)
    X = torch.linalg.solve(eye - g * kron, Y.reshape(*batch, n * n, 1)).reshape(*batch, n, n)
    return check_finite_result((X + X.transpose(-1, -2)) / 2, "L, Y", "Lyapunov solution")


def _radius(L: torch.Tensor, discount: float) -> torch.Tensor:
    return discount ** 0.5 * torch.linalg.eigvals(L.detach()).abs().amax(-1)


def lqr_closed_loop(lqr: LQR, K: Any) -> torch.Tensor:
    """The closed-loop matrix A − BK, ``[..., n, n]``."""
    K = _gain(lqr, K)
    return lqr.A - lqr.B @ K


def lqr_closed_loop_radius(lqr: LQR, K: Any) -> torch.Tensor:
    r"""Spectral radius :math:`\rho(\sqrt\gamma(A - BK))`, ``[...]``: J(K) is finite iff it is < 1."""
    return _radius(lqr_closed_loop(lqr, K), lqr.discount)


def check_lqr_stable(lqr: LQR, K: Any, name: str = "K") -> torch.Tensor:
    r"""Return K (float64, on the problem's device) after checking :math:`\rho(\sqrt\gamma(A - BK)) < 1` for every gain.

    Raises ``ValueError`` naming ``name``, the radius and the first offending batch index otherwise (the discounted
    cost is infinite there).
    """
    K = _gain(lqr, K, name)
    rad = _radius(lqr.A - lqr.B @ K, lqr.discount)
    bad = rad >= 1
    if bool(bad.any()):
        i = tuple(int(v) for v in bad.nonzero()[0].tolist()) if rad.ndim else ()
        r = float(rad[i]) if rad.ndim else float(rad)
        raise ValueError(f"{name}: does not stabilise the discounted system: ρ(√γ(A − BK)) = {r:.6g} >= 1"
                         f"{f' at batch index {i}' if i else ''} (the discounted cost is infinite)")
    return K


def _evaluate(lqr: LQR, K: torch.Tensor, sigma2: torch.Tensor) -> LQREvaluation:
    """Closed forms for a checked, stable batch of gains (no validation)."""
    g = lqr.discount
    A, B, Q, R = lqr.A, lqr.B, lqr.Q, lqr.R
    L = A - B @ K
    Kt = K.transpose(-1, -2)
    P = solve_discounted_lyapunov(L.transpose(-1, -2), Q + Kt @ R @ K, g)
    W_sigma = lqr.noise_cov + _trail2(sigma2) * (B @ B.T)  # W + σ² BBᵀ
    S = lqr.initial_cov + g / (1 - g) * W_sigma
    Sigma = solve_discounted_lyapunov(L, S, g)
    trR = torch.diagonal(R).sum()
    offset = (sigma2 * trR + g * (P * W_sigma).sum((-1, -2))) / (1 - g)
    J = -((P * lqr.initial_cov).sum((-1, -2)) + offset)
    Bt = B.T
    E = (R + g * Bt @ P @ B) @ K - g * Bt @ P @ A
    return LQREvaluation(P, Sigma, offset, check_finite_result(J, "K", "objective"), E)


def evaluate_lqr(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> LQREvaluation:
    r"""P_K, Σ_K, q_K, J(K) and E_K for gains ``K [..., m, n]`` (formulas in the module docstring).

    ``log_std``: a learnable log σ (scalar or ``[...]``) overriding the policy's fixed σ. Raises ``ValueError`` naming K
    if some gain does not stabilise the discounted system.
    """
    K = _prep(lqr, policy, K)
    check_lqr_stable(lqr, K)
    return _evaluate(lqr, K, _sigma2(policy, log_std, K))


def lqr_value_matrix(lqr: LQR, K: Any) -> torch.Tensor:
    r"""P_K solving :math:`P = Q + K^\top RK + \gamma(A - BK)^\top P (A - BK)`, ``[..., n, n]`` (independent of σ and W)."""
    K = check_lqr_stable(lqr, K)
    L = lqr.A - lqr.B @ K
    return solve_discounted_lyapunov(L.transpose(-1, -2), lqr.Q + K.transpose(-1, -2) @ lqr.R @ K, lqr.discount)


def lqr_state_covariance(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""Σ_K = Σ_t γ^t E[x_t x_tᵀ] solving :math:`\Sigma = \Sigma_0 + \frac{\gamma}{1-\gamma}(W + \sigma^2BB^\top) + \gamma L_K\Sigma L_K^\top`, ``[..., n, n]``.

    The unnormalised discounted occupancy's second moment; (1 − γ)Σ_K is the second moment of the normalised one.
    """
    return evaluate_lqr(lqr, policy, K, log_std=log_std).state_covariance


def lqr_objective(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""J(K) = −[tr(P_KΣ_0) + γ tr(P_K(W + σ²BBᵀ))/(1−γ) + σ² tr R/(1−γ)], ``[...]``; differentiable in K and ``log_std``."""
    return evaluate_lqr(lqr, policy, K, log_std=log_std).objective


def lqr_policy_gradient(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""∇_K J = −2[(R + γBᵀP_K B)K − γBᵀP_K A] Σ_K, ``[..., m, n]`` (Fazel et al. 2018, Lemma 1, with γ and noise)."""
    ev = evaluate_lqr(lqr, policy, K, log_std=log_std)
    return -2 * ev.gain_residual @ ev.state_covariance


def lqr_policy_gradient_autograd(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    """∇_K J by reverse-mode autograd through the closed-form J (two linear solves), ``[..., m, n]``."""
    K = _prep(lqr, policy, K)
    with torch.enable_grad():
        k = K.detach().requires_grad_(True)
        J = lqr_objective(lqr, policy, k, log_std=log_std)
        (g,) = torch.autograd.grad(J.sum(), k)
    return g


def lqr_policy_gradient_finite_difference(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None,
                                          step: float = 1e-5) -> torch.Tensor:
    """∇_K J by central differences of the closed-form J (2·m·n evaluations, batched), ``[..., m, n]``. For tests."""
    K = _prep(lqr, policy, K)
    m, n = policy.param_shape
    batch = K.shape[:-2]
    flat = K.reshape(*batch, 1, m * n)
    E = torch.eye(m * n, dtype=K.dtype, device=K.device) * step
    ls = log_std
    if isinstance(ls, torch.Tensor) and ls.ndim:
        ls = ls.unsqueeze(-1)
    Jp = lqr_objective(lqr, policy, (flat + E).reshape(*batch, m * n, m, n), log_std=ls)
    Jm = lqr_objective(lqr, policy, (flat - E).reshape(*batch, m * n, m, n), log_std=ls)
    return check_finite((Jp - Jm) / (2 * step), "finite-difference gradient").reshape(K.shape)


def lqr_log_std_gradient(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""∂J/∂log σ = −2σ²[tr R + γ tr(BᵀP_K B)]/(1 − γ), ``[...]`` (derived here; see the module docstring)."""
    K = _prep(lqr, policy, K)
    P = lqr_value_matrix(lqr, K)
    s2 = _sigma2(policy, log_std, K)
    g = lqr.discount
    B = lqr.B
    return -2 * s2 * (torch.diagonal(lqr.R).sum() + g * torch.diagonal(B.T @ P @ B, dim1=-2, dim2=-1).sum(-1)) / (1 - g)


def lqr_fisher_information(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""Fisher information of vec(K) (row-major) under the normalised discounted state distribution, ``[..., mn, mn]``:

    .. math:: F(K) = \mathbb E_{x\sim d_K}\, I_m\otimes\frac{xx^\top}{\sigma^2} = I_m \otimes \frac{(1-\gamma)\,\Sigma_K}{\sigma^2}.
    """
    K = _prep(lqr, policy, K)
    Sigma = lqr_state_covariance(lqr, policy, K, log_std=log_std)
    M = (1 - lqr.discount) * Sigma / _trail2(_sigma2(policy, log_std, K))
    m, n = policy.param_shape
    eye = torch.eye(m, dtype=M.dtype, device=M.device)
    return (eye[:, None, :, None] * M[..., None, :, None, :]).reshape(*M.shape[:-2], m * n, m * n)


def lqr_natural_gradient(lqr: LQR, policy: LinearGaussianPolicy, K: Any, *, log_std: Any = None) -> torch.Tensor:
    r"""Natural gradient :math:`F(K)^{+}\nabla_K J` as a gain-shaped ``[..., m, n]`` tensor.

    With :math:`M = (1-\gamma)\Sigma_K/\sigma^2`, :math:`F = I_m\otimes M` acts on a gain G as :math:`G \mapsto GM`, so
    :math:`F^+\nabla J = \nabla J\,M^+ = -\frac{2\sigma^2}{1-\gamma}E_K\,\Sigma_K\Sigma_K^+`, which is
    :math:`-\frac{2\sigma^2}{1-\gamma}E_K` when Σ_K ≻ 0 (e.g. Σ_0 ≻ 0).
    """
    K = _prep(lqr, policy, K)
    ev = evaluate_lqr(lqr, policy, K, log_std=log_std)
    s2 = _trail2(_sigma2(policy, log_std, K))
    M = (1 - lqr.discount) * ev.state_covariance / s2
    grad = -2 * ev.gain_residual @ ev.state_covariance
    return grad @ torch.linalg.pinv(M, hermitian=True)


def lqr_riccati_residual(lqr: LQR, P: torch.Tensor) -> torch.Tensor:
    r"""max |Q + γAᵀPA − γ²AᵀPB(R + γBᵀPB)⁻¹BᵀPA − P|, ``[...]``: zero at the discounted Riccati solution."""
    g, A, B = lqr.discount, lqr.A, lqr.B
    G = lqr.R + g * B.T @ P @ B
    rhs = lqr.Q + g * A.T @ P @ A - g * g * A.T @ P @ B @ torch.linalg.solve(G, B.T @ P @ A)
    return (rhs - P).abs().amax((-1, -2))


def lqr_optimal_gain(lqr: LQR, *, max_refinements: int = 50, tol: float = 1e-13) -> LQRSolution:
    r"""The optimal gain K* and value matrix P* of the discounted LQR (Bertsekas DPOC vol. I §4.1).

    P* solves the discounted Riccati equation
    :math:`P = Q + \gamma A^\top PA - \gamma^2 A^\top PB(R + \gamma B^\top PB)^{-1}B^\top PA`, which is the standard
    discrete algebraic Riccati equation of :math:`(\sqrt\gamma A, \sqrt\gamma B, Q, R)`, and
    :math:`K^* = \gamma(R + \gamma B^\top P^* B)^{-1} B^\top P^* A`. Computed by scipy's ``solve_discrete_are``, then
    refined in float64 torch by Hewer's policy iteration :math:`K \leftarrow \gamma(R + \gamma B^\top P_K B)^{-1}B^\top P_K A`
    (which keeps stability and converges quadratically) until the gain moves by less than ``tol`` (relative). If scipy
    fails (e.g. Q singular with an undetectable unstable mode), Hewer's iteration starts from K = 0 when that is stable.
    Raises ``ValueError`` naming ``lqr`` if (√γA, √γB) is not stabilisable. K* is the same for every σ, W and Σ_0.
    """
    if not isinstance(lqr, LQR):
        raise TypeError(f"lqr: expected an LQR, got {type(lqr).__name__}")
    g = lqr.discount
    if not is_stabilisable(lqr.A, lqr.B, g):
        raise ValueError("lqr: (√γ A, √γ B) is not stabilisable — no gain has finite discounted cost")
    A, B, Q, R = lqr.A, lqr.B, lqr.Q, lqr.R
    K = None
    try:
        from scipy.linalg import solve_discrete_are

        sg = g ** 0.5
        P0 = torch.from_numpy(solve_discrete_are((sg * A).cpu().numpy(), (sg * B).cpu().numpy(), Q.cpu().numpy(),
                                                 R.cpu().numpy())).to(A.device)
        K = g * torch.linalg.solve(R + g * B.T @ P0 @ B, B.T @ P0 @ A)
        if float(_radius(A - B @ K, g)) >= 1:
            K = None
    except (ValueError, ArithmeticError, torch.linalg.LinAlgError, RuntimeError):  # scipy's LinAlgError is a ValueError
        K = None
    if K is None:
        if float(_radius(A, g)) >= 1:
            raise ValueError("lqr: scipy's Riccati solver failed and K = 0 is not stabilising; supply a better-posed problem")
        K = torch.zeros(lqr.action_dim, lqr.state_dim, dtype=A.dtype, device=A.device)
    for _ in range(max_refinements):
        P = solve_discounted_lyapunov((A - B @ K).T, Q + K.T @ R @ K, g)
        K_new = g * torch.linalg.solve(R + g * B.T @ P @ B, B.T @ P @ A)
        done = float((K_new - K).abs().max()) <= tol * (1 + float(K.abs().max()))
        K = K_new
        if done:
            break
    P = solve_discounted_lyapunov((A - B @ K).T, Q + K.T @ R @ K, g)
    return LQRSolution(check_finite_result(K, "lqr", "optimal gain"), P)
