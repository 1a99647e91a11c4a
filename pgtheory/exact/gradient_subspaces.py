r"""Gradient subspaces (seed L49, Schneider et al. 2024, "Identifying Policy Gradient Subspaces"): how much of the
gradient lies in the top-curvature eigenspace of the Hessian, and how fast that eigenspace turns.

With the loss ℒ = −J, Hessian H_ℒ = −∇²J and its orthonormal top-k eigenvectors V_k = [v_1, …, v_k] (``[n, k]``):

.. math:: S_{frac}(g, V_k) = \frac{\|V_k V_k^\top g\|^2}{\|g\|^2}, \qquad
          S_{overlap}(V_k, W_k) = \frac{1}{k}\,\|V_k^\top W_k\|_F^2 = \frac{1}{k}\sum_{i\le k}\|V_kV_k^\top w_i\|^2 ,

both in [0, 1]; a random k-dimensional subspace of an m-dimensional space gives k/m in expectation for both.
S_frac is the paper's gradient-subspace fraction; the overlap is Gur-Ari et al.'s (2018) subspace overlap, which the
paper's S_overlap follows as far as public summaries say (its exact normalisation was not verified). "Top" means the
largest eigenvalues of H_ℒ (``order="signed"``, Gur-Ari's convention) or the largest |eigenvalue| (``order="magnitude"``).
"""
from __future__ import annotations

import torch

from .._checks import check_finite, check_positive_int
from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from .gradients import objective_of_params

__all__ = ["EIGEN_ORDERS", "loss_hessian", "top_eigenspace", "subspace_fraction", "subspace_overlap"]

EIGEN_ORDERS = ("signed", "magnitude")


def loss_hessian(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    r"""H_ℒ = −∇²_θ J(θ) for one parameter vector, ``[n, n]``, by reverse-over-reverse autograd.

    Equal to −:func:`pgtheory.exact.hessian` (tested to 1e-10); used here because torch.func's forward-over-reverse
    transform costs several seconds on its first call in a fresh process, and this one does not.
    """
    th = torch.as_tensor(theta, dtype=torch.float64)
    if tuple(th.shape) != tuple(policy.param_shape):
        raise ValueError(f"theta: expected one parameter vector of shape {tuple(policy.param_shape)}, got {tuple(th.shape)}")
    shape = th.shape
    H = torch.autograd.functional.hessian(lambda x: -objective_of_params(mdp, policy, x.reshape(shape)), th.reshape(-1))
    return check_finite(H, "loss_hessian")


def _check_matrix(x, name: str, ndim: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point torch.Tensor, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(x.shape)}")
    return check_finite(x, name)


def top_eigenspace(hessian: torch.Tensor, k: int, order: str = "signed") -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(eigenvalues [k], V_k [n, k])`` of the symmetric ``hessian [n, n]``, the k top ones by ``order``."""
    H = _check_matrix(hessian, "hessian", 2)
    if H.shape[0] != H.shape[1] or not torch.allclose(H, H.T, atol=1e-9 * max(1.0, float(H.abs().max()))):
        raise ValueError(f"hessian: expected a symmetric square matrix, got shape {tuple(H.shape)}")
    k = check_positive_int(k, "k")
    if k > H.shape[0]:
        raise ValueError(f"k: at most the dimension {H.shape[0]}, got {k}")
    if order not in EIGEN_ORDERS:
        raise ValueError(f"order: expected one of {EIGEN_ORDERS}, got {order!r}")
    lam, V = torch.linalg.eigh(0.5 * (H + H.T))
    key = lam if order == "signed" else lam.abs()
    idx = torch.argsort(key, descending=True)[:k]
    return lam[idx], V[:, idx]


def subspace_fraction(gradient: torch.Tensor, basis: torch.Tensor) -> float:
    r"""S_frac = ‖V Vᵀ g‖² / ‖g‖² for ``gradient [n]`` and an orthonormal ``basis [n, k]``."""
    g = _check_matrix(gradient.reshape(-1) if isinstance(gradient, torch.Tensor) else gradient, "gradient", 1)
    V = _check_matrix(basis, "basis", 2)
    if V.shape[0] != g.shape[0]:
        raise ValueError(f"basis: expected {g.shape[0]} rows (as gradient), got {V.shape[0]}")
    nrm = float(g @ g)
    if nrm == 0.0:
        raise ValueError("gradient: the zero vector has no direction (S_frac undefined)")
    return float(((V.T @ g) ** 2).sum()) / nrm


def subspace_overlap(basis_a: torch.Tensor, basis_b: torch.Tensor) -> float:
    r"""(1/k)‖V_aᵀ V_b‖_F² for orthonormal ``basis_a, basis_b [n, k]``: 1 for the same subspace, 0 for orthogonal ones."""
    A = _check_matrix(basis_a, "basis_a", 2)
    B = _check_matrix(basis_b, "basis_b", 2)
    if A.shape != B.shape:
        raise ValueError(f"basis_b: expected shape {tuple(A.shape)} (as basis_a), got {tuple(B.shape)}")
    return float(((A.T @ B) ** 2).sum()) / A.shape[1]
