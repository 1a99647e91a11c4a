r"""The G-optimal (equivalently D-optimal) design of a finite set of feature vectors, by Frank–Wolfe.

For features :math:`\phi_1,\dots,\phi_n\in\mathbb R^d` spanning :math:`\mathbb R^d` and a design ρ ∈ Δ_n,

.. math:: V(\rho) = \sum_i \rho_i\,\phi_i\phi_i^\top,\qquad g_i(\rho) = \phi_i^\top V(\rho)^{-1}\phi_i\ \ (\text{leverages}),
          \qquad g(\rho) = \max_i g_i(\rho).

Since :math:`\sum_i\rho_i g_i(\rho) = \mathrm{tr}(V^{-1}V) = d`, always :math:`g(\rho)\ge d`. The Kiefer–Wolfowitz
equivalence theorem (Kiefer & Wolfowitz 1960, "The equivalence of two extremum problems"; Lattimore & Szepesvári
2020, *Bandit Algorithms*, Theorem 21.1) states that the three are equivalent: ρ maximises log det V(ρ)
(D-optimal), ρ minimises g(ρ) (G-optimal), and g(ρ) = d; moreover an optimal design with support of at most
d(d+1)/2 points exists. The max leverage is therefore a certificate: g(ρ) ≤ d(1+ε) bounds the sub-optimality,
:math:`\log\det V(\rho^*) - \log\det V(\rho) \le d\log(1+\varepsilon)` (Todd 2016, *Minimum-Volume Ellipsoids*, §3).
G-optimal designs give the :math:`\sqrt{d}`-type confidence widths of linear bandits and of least-squares policy
evaluation from a fixed design (Lattimore & Szepesvári 2020, ch. 21–22; Lattimore, Szepesvári & Weisz 2020).

Algorithm: Frank–Wolfe on :math:`f(\rho)=\log\det V(\rho)` with exact line search, in the Fedorov–Wynn form
(Fedorov 1972; Wynn 1970; Todd 2016, Algorithm 3.1) with the *away steps* of Wolfe (1970) and Atwood (1973) — the
Wolfe–Atwood algorithm analysed by Todd & Yıldırım (2007), whose iterations converge linearly, so the tolerance
can be 1e-9 (plain Fedorov–Wynn needs O(d/ε) iterations). Each iteration, with :math:`k=\arg\max_i g_i`,
:math:`j=\arg\min_{i:\rho_i>0} g_i`, :math:`\varepsilon_+ = g_k/d-1`, :math:`\varepsilon_- = 1-g_j/d`:

* if :math:`\varepsilon_+\ge\varepsilon_-`, a toward (Frank–Wolfe) step :math:`\rho\leftarrow(1-\alpha)\rho+\alpha e_k`
  with the line-search step :math:`\alpha = (g_k/d-1)/(g_k-1)` (the maximiser of log det along the segment);
* otherwise an away step :math:`\rho\leftarrow(1+\beta)\rho-\beta e_j` with
  :math:`\beta=\min\{(1-g_j/d)/(g_j-1),\ \rho_j/(1-\rho_j)\}` (the second when :math:`g_j\le1`; reaching it drops
  point j from the support).

It starts from the uniform design (V(ρ) ≻ 0 iff the features span R^d) and stops when :math:`g(\rho)\le d(1+\mathrm{tol})`.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_positive_int, check_probabilities, check_real

__all__ = ["OptimalDesign", "g_optimal_design", "design_leverages"]

_REFRESH = 50  # recompute V(ρ)⁻¹ and the leverages from scratch every _REFRESH iterations (rank-one drift)


class OptimalDesign(NamedTuple):
    """The result of :func:`g_optimal_design` for n features in R^d."""

    weights: torch.Tensor  #: the design ρ, a distribution over the n features, [n]
    leverages: torch.Tensor  #: g_i = φ_iᵀ V(ρ)⁻¹ φ_i, [n]
    max_leverage: float  #: g(ρ) = max_i g_i ≥ d, = d at the optimum: the certificate
    dim: int  #: d
    iterations: int  #: Frank–Wolfe iterations (toward + away steps) done
    converged: bool  #: max_leverage ≤ d(1 + tol); False means the iteration cap was reached first

    def support(self, threshold: float = 0.0) -> torch.Tensor:
        """Indices of the features whose weight exceeds ``threshold``, ``[k]`` (long)."""
        return (self.weights > threshold).nonzero().squeeze(-1)


def _check_features(features, name: str = "features") -> torch.Tensor:
    X = check_finite(as_tensor(features, name), name)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty matrix [n, d], got shape {tuple(X.shape)}")
    return X


def _span_check(X: torch.Tensor, name: str = "features") -> None:
    n, d = X.shape
    rank = int(torch.linalg.matrix_rank(X))
    if rank < d:
        raise ValueError(f"{name}: the n = {n} feature vectors span a subspace of dimension {rank} < d = {d}; a "
                         f"G-optimal design needs features that span R^d (drop or combine dependent coordinates)")


def design_leverages(features, weights) -> torch.Tensor:
    r"""Leverages :math:`g_i = \phi_i^\top V(\rho)^{-1}\phi_i` with :math:`V(\rho)=\sum_i\rho_i\phi_i\phi_i^\top`: ``[n]``.

    ``features [n, d]``, ``weights [n]`` a distribution (ρ). Raises ``ValueError`` if V(ρ) is singular (the support of
    ρ does not span R^d). Σ_i ρ_i g_i = d always; see the module docstring (Kiefer & Wolfowitz 1960).
    """
    X = _check_features(features)
    rho = check_probabilities(as_tensor(weights, "weights", device=X.device), "weights")
    if tuple(rho.shape) != (X.shape[0],):
        raise ValueError(f"weights: expected shape [n] = [{X.shape[0]}], got {tuple(rho.shape)}")
    V = (X * rho.unsqueeze(-1)).T @ X
    L, info = torch.linalg.cholesky_ex(V)
    ev = torch.linalg.eigvalsh(V)
    if int(info) != 0 or not float(ev[0]) > 1e-12 * max(float(ev[-1]), 1e-300):
        raise ValueError(f"weights: V(ρ) = Σ ρ_i φ_i φ_iᵀ is singular (smallest eigenvalue {float(ev[0]):.3g}): the "
                         f"support of the design does not span R^d")
    Z = torch.linalg.solve_triangular(L, X.T, upper=False)  # L⁻¹ φ_i as columns
    return (Z * Z).sum(0)


def g_optimal_design(features, *, tol: float = 1e-9, max_iter: int = 100_000) -> OptimalDesign:
    r"""A G-optimal design ρ of the rows of ``features [n, d]``: :math:`\min_\rho \max_i \phi_i^\top V(\rho)^{-1}\phi_i`.

    Frank–Wolfe with exact line search and away steps (Wolfe–Atwood; see the module docstring for the steps and
    the sources: Kiefer & Wolfowitz 1960, Todd 2016, Lattimore & Szepesvári 2020 ch. 21). Stops when the max leverage
    is ≤ d(1 + ``tol``) (``converged=True``) or after ``max_iter`` iterations (``converged=False``; the design is
    then returned as it is, its ``max_leverage`` stating how far from optimal it is).

    Returns an :class:`OptimalDesign` (weights [n], leverages [n], max leverage, d, iterations, converged).
    Raises ``ValueError`` if the features do not span R^d. Invariant under ``features @ M`` for an invertible M
    [d, d]: the leverages (hence every step) do not change.
    """
    X = _check_features(features)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    _span_check(X)
    n, d = X.shape
    rho = torch.full((n,), 1.0 / n, dtype=X.dtype, device=X.device)

    def fresh(rho: torch.Tensor):
        V = (X * rho.unsqueeze(-1)).T @ X
        Vinv = torch.linalg.inv(V)
        Vinv = (Vinv + Vinv.T) / 2
        return Vinv, ((X @ Vinv) * X).sum(-1)

    Vinv, g = fresh(rho)
    is_fresh = True
    target = d * (1.0 + tol)
    it = 0
    while True:
        k = int(g.argmax())
        gk = float(g[k])
        if gk <= target or it >= max_iter:
            if is_fresh or it >= max_iter:
                break
            Vinv, g = fresh(rho)  # confirm the stopping rule on exact leverages, not rank-one updated ones
            is_fresh = True
            continue
        g_on = torch.where(rho > 0, g, torch.full_like(g, float("inf")))
        j = int(g_on.argmin())
        gj = float(g[j])
        drop = False
        if gk / d - 1.0 >= 1.0 - gj / d:  # toward step: ρ ← (1−α)ρ + α e_k
            idx, alpha = k, (gk / d - 1.0) / (gk - 1.0)
        else:  # away step: ρ ← (1+β)ρ − β e_j, i.e. α = −β
            rj = float(rho[j])
            beta_max = rj / (1.0 - rj)  # rj < 1 here: with a single support point g_j = g_k
            beta_ls = (1.0 - gj / d) / (gj - 1.0) if gj > 1.0 else float("inf")
            drop = beta_ls >= beta_max
            idx, alpha = j, -min(beta_ls, beta_max)
        rho = (1.0 - alpha) * rho
        rho[idx] += alpha
        if drop:
            rho[idx] = 0.0  # exactly: (1+β)ρ_j − β = 0 at β = ρ_j/(1−ρ_j)
        rho = rho.clamp_min(0.0)
        rho = rho / rho.sum()
        it += 1
        # Sherman–Morrison: V' = (1−α)V + α φφᵀ ⇒ V'⁻¹ = [V⁻¹ − α V⁻¹φφᵀV⁻¹ / (1 − α + α g)] / (1 − α)
        denom = 1.0 - alpha + alpha * float(g[idx])
        if it % _REFRESH == 0 or not (denom > 1e-8 and 1.0 - alpha > 1e-8):  # (d = 1: α = 1 jumps to a vertex)
            Vinv, g = fresh(rho)
            is_fresh = True
            continue
        u = Vinv @ X[idx]
        Vinv = (Vinv - (alpha / denom) * torch.outer(u, u)) / (1.0 - alpha)
        Xu = X @ u
        g = (g - (alpha / denom) * Xu * Xu) / (1.0 - alpha)
        is_fresh = False
    Vinv, g = fresh(rho)  # report exact leverages of the returned design
    gmax = float(g.max())
    check_finite(g, "g_optimal_design: leverages")
    return OptimalDesign(rho, g, gmax, d, it, gmax <= target)
