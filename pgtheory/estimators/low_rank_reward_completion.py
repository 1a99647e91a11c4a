r"""Estimating an S×A reward table from noisy sampled entries, tabular or by low-rank completion, and the exact
suboptimality of the greedy policy of an estimate.

Observations: i.i.d. pairs (s, a) with noisy rewards y = R[s, a] + ε, aggregated into ``counts [S, A]`` (number of
observations of each entry) and ``sums [S, A]`` (their total), which carry everything both estimators use.

* **Tabular**: R̂ = sums / counts on observed entries; an unobserved entry is never chosen by the greedy policy (it
  is set to −∞ for the argmax), and a row with no observation at all picks action 0 (:func:`tabular_estimate`).
* **Low-rank completion** (alternating least squares, the standard non-convex matrix-completion estimator — Jain,
  Netrapalli & Sanghavi 2013; here with every observation weighted once and a small ridge):
  min_{U [S, r], V [A, r]} Σ_{s,a} c_{sa} (u_s·v_a − ȳ_{sa})² + λ(‖U‖² + ‖V‖²), ȳ = sums/counts, which equals the
  sum of squared errors over all observations up to a constant. Initialised spectrally from the rescaled zero-filled
  matrix (SA/n)·sums (its top-r SVD), as in Keshavan, Montanari & Oh 2010. Each half-step is an exact ridge solve, so
  the objective never increases (:func:`als_complete`; it stops early once a sweep gains less than ``tol``, relative).
* **Greedy suboptimality**: (1/S) Σ_s [max_a R[s, a] − R[s, â(s)]], â(s) = argmax_a R̂[s, a] (exact, given R)
  (:func:`greedy_suboptimality`).
"""
from __future__ import annotations

import torch

from .._checks import check_positive_int

__all__ = ["aggregate_observations", "tabular_estimate", "als_complete", "als_objective", "greedy_suboptimality"]


def aggregate_observations(states: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor, S: int, A: int):
    """``counts [S, A]`` and ``sums [S, A]`` of observations (s_i, a_i, y_i), ``states``/``actions`` int64 [n]."""
    if states.shape != actions.shape or states.shape != rewards.shape or states.ndim != 1:
        raise ValueError("states: states, actions and rewards must be 1-d of the same length")
    if len(states) and (int(states.min()) < 0 or int(states.max()) >= S or int(actions.min()) < 0 or int(actions.max()) >= A):
        raise ValueError(f"states: indices must lie in [0, S) × [0, A) = [0, {S}) × [0, {A})")
    flat = states * A + actions
    counts = torch.bincount(flat, minlength=S * A).reshape(S, A).to(torch.float64)
    sums = torch.zeros(S * A, dtype=torch.float64).index_add_(0, flat, rewards.to(torch.float64)).reshape(S, A)
    return counts, sums


def _check_table(counts: torch.Tensor, sums: torch.Tensor) -> None:
    if counts.ndim != 2 or counts.shape != sums.shape:
        raise ValueError("counts: expected [S, A] tensors counts and sums of the same shape")
    if bool((counts < 0).any()):
        raise ValueError("counts: must be non-negative")


def tabular_estimate(counts: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
    """Per-entry empirical means, −∞ where unobserved (so the greedy policy never picks an untried action), ``[S, A]``."""
    _check_table(counts, sums)
    est = sums / counts.clamp_min(1)
    return torch.where(counts > 0, est, torch.full_like(est, float("-inf")))


def als_objective(U, V, counts, sums, ridge: float) -> torch.Tensor:
    """Σ c (u_s·v_a − ȳ)² + λ(‖U‖² + ‖V‖²), ȳ = sums/counts on observed entries (a scalar)."""
    ybar = sums / counts.clamp_min(1)
    return (counts * (U @ V.T - ybar) ** 2).sum() + ridge * (U.pow(2).sum() + V.pow(2).sum())


def _ridge_rows(F: torch.Tensor, C: torch.Tensor, T: torch.Tensor, ridge: float) -> torch.Tensor:
    """Row-wise ridge solves: for each row i, argmin_x Σ_j C_ij (F_j·x − T_ij)² + λ‖x‖² → [rows, r]."""
    r = F.shape[1]
    G = torch.einsum("ij,jk,jl->ikl", C, F, F) + ridge * torch.eye(r, dtype=F.dtype)
    b = torch.einsum("ij,jk->ik", C * T, F)
    return torch.linalg.solve(G, b[..., None])[..., 0]


def als_complete(counts: torch.Tensor, sums: torch.Tensor, rank: int, *, ridge: float = 1e-3, iters: int = 30,
                 tol: float = 1e-6):
    """Low-rank completion of the reward table by alternating ridge least squares; returns ``(R̂ [S, A], U, V)``.
    Stops after ``iters`` sweeps or when a sweep lowers the objective by less than ``tol`` (relative)."""
    _check_table(counts, sums)
    S, A = counts.shape
    r = check_positive_int(rank, "rank")
    if r > min(S, A):
        raise ValueError(f"rank: must be <= min(S, A) = {min(S, A)}, got {r}")
    if not ridge > 0:
        raise ValueError(f"ridge: must be > 0, got {ridge}")
    iters = check_positive_int(iters, "iters")
    n = float(counts.sum())
    if n == 0:
        raise ValueError("counts: no observations")
    Us, Ss, Vhs = torch.linalg.svd(sums * (S * A / n), full_matrices=False)
    U, V = Us[:, :r] * Ss[:r].sqrt(), Vhs[:r].T * Ss[:r].sqrt()
    ybar = sums / counts.clamp_min(1)
    prev = float("inf")
    for _ in range(iters):
        U = _ridge_rows(V, counts, ybar, ridge)
        V = _ridge_rows(U, counts.T, ybar.T, ridge)
        obj = float(als_objective(U, V, counts, sums, ridge))
        if prev - obj <= tol * max(obj, 1e-300):
            break
        prev = obj
    return U @ V.T, U, V


def greedy_suboptimality(R: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """(1/S) Σ_s [max_a R − R(s, argmax_a estimate(s, ·))], exact given the true table R ``[S, A]`` (a scalar)."""
    if R.shape != estimate.shape or R.ndim != 2:
        raise ValueError(f"estimate: expected shape {tuple(R.shape)}, got {tuple(estimate.shape)}")
    if bool(torch.isnan(estimate).any()):
        raise ValueError("estimate: contains NaN")
    chosen = R.gather(1, estimate.argmax(1, keepdim=True))[:, 0]
    return (R.amax(1) - chosen).mean()
