r"""Rank-limited linear dynamics models ŝ' = M z (z = [s; u]) fitted from transitions by maximum likelihood or by the
value-gradient weighted model loss (VaGraM; Voelcker, Liao, Garg & Farahmand, ICLR 2022).

Data: ``Z [N, p]`` (rows z_j = [s_j; u_j], p = n + m), ``Y [N, n]`` (rows s'_j). Model class: M ∈ R^{n×p} with
rank(M) ≤ r (a model of "small capacity": an r-dimensional bottleneck).

* **MLE** under Gaussian noise of fixed isotropic covariance = least squares, with the rank constraint: reduced-rank
  regression (Izenman 1975; Reinsel & Velu 1998 §2.3, identity weight). With the unconstrained fit
  M_ols = Yᵀ Z (ZᵀZ)⁻¹ and the fitted values F = Z M_olsᵀ, the minimiser of Σ_j ‖M z_j − s'_j‖² over rank ≤ r is
  M = U_r U_rᵀ M_ols, U_r the top-r right singular vectors of F (output directions of largest fitted variance)
  (:func:`reduced_rank_mle`).
* **VaGraM** (paper Eq. 7, the bounded, axis-aligned form: "the scaling is aligned with the axis of the coordinate
  system"): Σ_j Σ_i (∂V/∂s_i (s'_j))² (M z_j − s'_j)_i², the squared error of each output coordinate weighted by the
  squared value gradient at the observed next state. For a quadratic value V(s) = −sᵀPs (LQR), ∂V/∂s = −2Ps
  (:func:`quadratic_value_gradient_weights`). Not verified in the paper body (only its abstract and two public
  summaries could be read through ``search``); the diagonal form is from a review quoting the paper's Eq. 7.
  Minimised over rank ≤ r by alternating weighted least squares on M = U Vᵀ (:func:`reduced_rank_weighted_fit`):
  each half-step is an exact weighted least-squares solve (minimum-norm, so coordinates with zero weight get zero
  rows), so the loss never increases.
"""
from __future__ import annotations

import torch

from .._checks import check_positive_int

__all__ = ["reduced_rank_mle", "quadratic_value_gradient_weights", "weighted_model_loss", "reduced_rank_weighted_fit"]


def _check_data(Z, Y) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(Z, torch.Tensor) or Z.ndim != 2:
        raise TypeError("Z: expected a 2-d tensor [N, p]")
    if not isinstance(Y, torch.Tensor) or Y.ndim != 2 or Y.shape[0] != Z.shape[0]:
        raise ValueError(f"Y: expected a 2-d tensor [N, n] with N = {Z.shape[0]}")
    if not (torch.isfinite(Z).all() and torch.isfinite(Y).all()):
        raise ValueError("Z: data must be finite (Z and Y)")
    return Z.to(torch.float64), Y.to(torch.float64)


def _check_rank(rank, n: int, p: int) -> int:
    r = check_positive_int(rank, "rank")
    if r > min(n, p):
        raise ValueError(f"rank: must be <= min(n, p) = {min(n, p)}, got {r}")
    return r


def reduced_rank_mle(Z: torch.Tensor, Y: torch.Tensor, rank: int) -> torch.Tensor:
    r"""argmin_{rank M ≤ r} Σ_j ‖M z_j − s'_j‖², ``[n, p]`` (reduced-rank regression, see the module docstring)."""
    Z, Y = _check_data(Z, Y)
    r = _check_rank(rank, Y.shape[1], Z.shape[1])
    M_ols = torch.linalg.lstsq(Z, Y).solution.T                      # [n, p]
    F = Z @ M_ols.T                                                  # [N, n] fitted values
    U = torch.linalg.svd(F, full_matrices=False).Vh[:r].T            # [n, r]
    return U @ U.T @ M_ols


def quadratic_value_gradient_weights(Y: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    r"""(∂V/∂s_i (s'_j))² for V(s) = −sᵀPs: (2 P s'_j)_i², ``[N, n]`` (VaGraM's per-coordinate weights)."""
    if not isinstance(P, torch.Tensor) or P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] != Y.shape[1]:
        raise ValueError(f"P: expected a square [n, n] tensor with n = {Y.shape[1]}")
    return (2 * Y.to(torch.float64) @ P.to(torch.float64).T) ** 2


def weighted_model_loss(M: torch.Tensor, Z: torch.Tensor, Y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""(1/N) Σ_j Σ_i w_{ji} (M z_j − s'_j)_i² (weights all ones: the MLE/MSE loss), a scalar."""
    Z, Y = _check_data(Z, Y)
    if weights.shape != Y.shape:
        raise ValueError(f"weights: expected shape {tuple(Y.shape)}, got {tuple(weights.shape)}")
    return (weights * (Z @ M.T - Y) ** 2).sum(-1).mean()


def reduced_rank_weighted_fit(Z: torch.Tensor, Y: torch.Tensor, weights: torch.Tensor, rank: int, init: torch.Tensor,
                              iters: int = 50) -> torch.Tensor:
    r"""A local minimiser of :func:`weighted_model_loss` over rank ≤ r, by alternating weighted least squares from
    ``init`` (a rank-≤ r [n, p] matrix, e.g. the MLE fit), ``[n, p]``.

    With M = U Vᵀ (U [n, r], V [p, r]) and h_j = Vᵀ z_j: for fixed V each row U_i solves a weighted least-squares
    problem in h; for fixed U, (M z_j)_i = (z_j ⊗ U_i) · vec(V), one weighted least-squares problem in vec(V).
    Square-root weights multiply the rows; ``gelsd`` gives the minimum-norm solution where weights vanish.
    """
    Z, Y = _check_data(Z, Y)
    n, p = Y.shape[1], Z.shape[1]
    r = _check_rank(rank, n, p)
    iters = check_positive_int(iters, "iters")
    if weights.shape != Y.shape or not torch.isfinite(weights).all() or bool((weights < 0).any()):
        raise ValueError(f"weights: expected finite non-negative weights of shape {tuple(Y.shape)}")
    if init.shape != (n, p):
        raise ValueError(f"init: expected shape {(n, p)}, got {tuple(init.shape)}")
    Uf, S, Vh = torch.linalg.svd(init.to(torch.float64), full_matrices=False)
    U, V = Uf[:, :r] * S[:r], Vh[:r].T                                # init = U Vᵀ exactly when rank(init) ≤ r
    sw = weights.sqrt()                                              # [N, n]
    N = Z.shape[0]
    for _ in range(iters):
        H = Z @ V                                                    # [N, r]
        Hw = sw.T[:, :, None] * H[None]                               # [n, N, r]: row i's weighted design
        U = torch.linalg.lstsq(Hw, (sw * Y).T[:, :, None], driver="gelsd").solution[..., 0]
        # design for vec(V) (row-major [p, r]): row (j, i) = sw_ji · z_j ⊗ U_i
        X = (sw[:, :, None, None] * Z[:, None, :, None] * U[None, :, None, :]).reshape(N * n, p * r)
        V = torch.linalg.lstsq(X, (sw * Y).reshape(N * n), driver="gelsd").solution.reshape(p, r)
    return U @ V.T
