r"""Saddle-point gradient TD for the squared, Huber and absolute Bellman errors: expected and sampled updates.

The objective (see :mod:`pgtheory.exact.bellman_losses`) is :math:`\min_w\max_{h\in[-c,c]^n}\mathcal L(w, h)` with

.. math:: \mathcal L(w, h) = \sum_i D_i\,\big(h_i\,\bar\delta_i(w) - \kappa h_i^2/2\big),\qquad \bar\delta(w) = r - Xw,

(κ, c) = (1, ∞) squared, (1, τ) Huber, (0, 1) absolute; the dual function h is *tabular* (one value per
state-action pair), so max_h 𝓛 is the loss itself and the saddle point's w is the loss's minimiser. Gradient
descent–ascent (simultaneous, constant step sizes α for w and β for h, projection of h on its box):

* expected (:func:`saddle_point_expected`): :math:`h \leftarrow \Pi_{[-c,c]}\big(h + \beta D\odot(\bar\delta(w) - \kappa h)\big)`,
  :math:`w \leftarrow w + \alpha X^\top(D\odot h)` — the mean of the sampled update below before projection;
* sampled (:func:`saddle_point_sampled`) from transitions (i, r_t, j) with i ~ D, j the next pair:
  :math:`\delta_t = r_t + \gamma\phi_j^\top w - \phi_i^\top w`,
  :math:`h_i \leftarrow \Pi_{[-c,c]}(h_i + \beta(\delta_t - \kappa h_i))`,
  :math:`w \leftarrow w + \alpha\,h_i\,(\phi_i - \gamma\phi_j)`.
  Since h does not depend on the transition, :math:`E[h_i\delta_t\,|\,i] = h_i\bar\delta_i`: the w-update is an unbiased
  stochastic gradient of 𝓛 (no double sampling) — the reason for the saddle-point form (Patterson, Liao & White 2022,
  arXiv:2205.08464, abstract; the GTD2-style two-timescale update is our reading: their exact parameterisation of h,
  its step-size ratio and any iterate averaging were not verified from the paper body).

Convergence (expected updates, checked in tests/test_bellman_losses.py): for κ = 1 (squared, Huber) the h-player is
strongly concave and small enough steps converge to the saddle point, whose w is the convex program's minimiser
(:func:`~pgtheory.exact.bellman_losses.minimise_bellman_loss`); for the absolute loss (κ = 0) the game is bilinear in a
box, the last iterate cycles, and only the average w approaches the minimiser.

Both return the last iterate and the Polyak–Ruppert average of w over iterations ``average_from … K−1``, batched over a
grid of step sizes (and, sampled, over instances and runs). A run whose w or h leaves ``divergence_bound`` (or
overflows) is frozen at its last iterate inside it and flagged (``diverged``), never silently NaN.

:func:`pgtheory.sampling.transitions.sample_iid_transitions` draws the i.i.d. transitions: pair i ~ D, next state s' ~ P(·|i), next action
a' ~ π(·|s'), reward r(i) + σ·ε with ε Student-t(ν) (heavy-tailed for small ν; ν = ∞ is Gaussian).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_positive_int, check_real
from ..estimators.linear_td import polyak_averaging_start
from ..exact.bellman_losses import BellmanResidualProblem, dual_bound, dual_curvature
from ..sampling.transitions import TransitionStream

__all__ = ["SaddlePointRun", "saddle_point_expected", "saddle_point_sampled", "DIVERGENCE_BOUND"]

#: an iterate with a coordinate beyond this magnitude is declared diverged and frozen
DIVERGENCE_BOUND = 1e8


class SaddlePointRun(NamedTuple):
    """Iterates of saddle-point GDA, with a leading step-size axis G."""

    w: torch.Tensor  #: last w, [G, ..., d]
    w_average: torch.Tensor  #: mean of w over iterations average_from … K−1, [G, ..., d]
    h: torch.Tensor  #: last dual function, [G, ..., n]
    diverged: torch.Tensor  #: bool, [G, ...]: the run left the divergence bound and was frozen
    loss: str


def _steps(alpha, beta) -> tuple[torch.Tensor, torch.Tensor]:
    a = check_finite(as_tensor(alpha, "alpha"), "alpha").reshape(-1)
    b = check_finite(as_tensor(beta, "beta"), "beta").reshape(-1)
    if a.numel() == 0 or bool((a <= 0).any()):
        raise ValueError("alpha: step sizes must be positive (a scalar or a 1-D grid)")
    if bool((b <= 0).any()):
        raise ValueError("beta: step sizes must be positive (a scalar or a 1-D grid)")
    if b.numel() not in (1, a.numel()):
        raise ValueError(f"beta: expected 1 or {a.numel()} step sizes (one per alpha), got {b.numel()}")
    return a, b.expand(a.numel()).clone()


def saddle_point_expected(problem: BellmanResidualProblem, loss: str, *, alpha, beta, n_iterations: int,
                          tau: float = 1.0, w0=None, h0=None, average_from: int | None = None,
                          divergence_bound: float = DIVERGENCE_BOUND) -> SaddlePointRun:
    r"""Deterministic projected GDA on 𝓛 with exact expectations (module docstring), for a grid of step sizes.

    ``alpha [G]`` (or a scalar), ``beta`` scalar or ``[G]``; w starts at ``w0 [d]``, h at ``h0 [n]`` (default 0; h0 must
    lie in the loss's box). Returns
    :class:`SaddlePointRun` with ``w, w_average [G, d]``, ``h [G, n]``, ``diverged [G]``. Its fixed points are
    exactly the saddle points: h = best response at w and Xᵀ D h = 0 (the loss's first-order condition).
    """
    if not isinstance(problem, BellmanResidualProblem):
        raise TypeError(f"problem: expected a BellmanResidualProblem, got {type(problem).__name__}")
    c, kappa = dual_bound(loss, tau), dual_curvature(loss)
    a, b = _steps(alpha, beta)
    K = check_positive_int(n_iterations, "n_iterations")
    k0 = polyak_averaging_start(average_from, K)
    bound = check_real(divergence_bound, "divergence_bound", low=0.0, low_open=True)
    X, r, D = problem.X, problem.r, problem.D
    G, (n, d) = a.numel(), X.shape
    w = torch.zeros(G, d, dtype=X.dtype) if w0 is None else check_finite(as_tensor(w0, "w0"), "w0").expand(G, d).clone()
    if h0 is None:
        h = torch.zeros(G, n, dtype=X.dtype)
    else:
        h = check_finite(as_tensor(h0, "h0"), "h0")
        if tuple(h.shape) != (n,):
            raise ValueError(f"h0: expected shape [n] = [{n}], got {tuple(h.shape)}")
        if bool((h.abs() > c + 1e-12).any()):
            raise ValueError(f"h0: the dual function of the {loss} loss must lie in [−{c:g}, {c:g}]")
        h = h.expand(G, n).clone()
    ok = torch.ones(G, dtype=torch.bool)
    avg = torch.zeros_like(w)
    a_, b_ = a.unsqueeze(-1), b.unsqueeze(-1)
    for k in range(K):
        delta = r - w @ X.T
        h_new = h + b_ * D * (delta - kappa * h)
        if not math.isinf(c):
            h_new = h_new.clamp(-c, c)
        w_new = w + a_ * ((D * h) @ X)
        ok = ok & (torch.maximum(w_new.abs().amax(-1), h_new.abs().amax(-1)) < bound)  # False for NaN and inf too
        w = torch.where(ok.unsqueeze(-1), w_new, w)
        h = torch.where(ok.unsqueeze(-1), h_new, h)
        if k >= k0:
            avg = avg + w
    return SaddlePointRun(w, avg / (K - k0), h, ~ok, loss)


def saddle_point_sampled(features, stream: TransitionStream, discount: float, loss: str, *, alpha, beta,
                         tau: float = 1.0, average_from: int | None = None,
                         divergence_bound: float = DIVERGENCE_BOUND) -> SaddlePointRun:
    r"""Sampled projected GDA (module docstring) on a stream of transitions, for a grid of step sizes at once.

    ``features [*B, n, d]`` (one feature set per instance, B possibly empty) and ``stream`` of shape ``[*B, R, K]``
    (R runs of K transitions each, e.g. from :func:`pgtheory.sampling.transitions.sample_iid_transitions`); every step size of the grid
    ``alpha [G]`` (``beta`` scalar or ``[G]``) sees the *same* transitions (common random numbers). w and h start at 0.
    Returns :class:`SaddlePointRun` with ``w, w_average [G, *B, R, d]``, ``h [G, *B, R, n]``, ``diverged [G, *B, R]``.
    """
    if not isinstance(stream, TransitionStream):
        raise TypeError(f"stream: expected a TransitionStream, got {type(stream).__name__}")
    phi = check_finite(as_tensor(features, "features"), "features")
    if phi.ndim < 2:
        raise ValueError(f"features: expected shape [*B, n, d], got {tuple(phi.shape)}")
    B, (n, d) = tuple(phi.shape[:-2]), phi.shape[-2:]
    if stream.pair.ndim != len(B) + 2 or tuple(stream.pair.shape[:-2]) != B:
        raise ValueError(f"stream: expected transitions of shape [*B, R, K] with B = {B}, got {tuple(stream.pair.shape)}")
    if int(stream.pair.max()) >= n or int(stream.next_pair.max()) >= n or int(stream.pair.min()) < 0:
        raise ValueError(f"stream: pair indices must lie in [0, {n})")
    g = check_real(discount, "discount", low=0.0, high=1.0, high_open=True)
    c, kappa = dual_bound(loss, tau), dual_curvature(loss)
    a, b = _steps(alpha, beta)
    R, K = stream.pair.shape[-2:]
    k0 = polyak_averaging_start(average_from, K)
    bound = check_real(divergence_bound, "divergence_bound", low=0.0, low_open=True)
    nb = int(np.prod(B)) if B else 1
    M, G = nb * R, a.numel()
    flat_phi = phi.reshape(nb * n, d)
    offset = (torch.arange(nb).repeat_interleave(R) * n).unsqueeze(-1)  # [M, 1]
    pair = stream.pair.reshape(M, K) + offset
    nxt = stream.next_pair.reshape(M, K) + offset
    rew = stream.reward.reshape(M, K)
    local = stream.pair.reshape(M, K)
    w = torch.zeros(G, M, d, dtype=torch.float64)
    h = torch.zeros(G, M, n, dtype=torch.float64)
    ok = torch.ones(G, M, dtype=torch.bool)
    avg = torch.zeros_like(w)
    rows = torch.arange(M)
    a_, b_ = a.view(G, 1), b.view(G, 1)
    for k in range(K):
        fi, fj = flat_phi[pair[:, k]], flat_phi[nxt[:, k]]  # [M, d]
        x = fi - g * fj
        delta = rew[:, k] - (w * x).sum(-1)  # [G, M]
        col = local[:, k]
        hi = h[:, rows, col]  # [G, M]
        hi_new = hi + b_ * (delta - kappa * hi)
        if not math.isinf(c):
            hi_new = hi_new.clamp(-c, c)
        w_new = w + (a_ * hi).unsqueeze(-1) * x
        ok = ok & (torch.maximum(w_new.abs().amax(-1), hi_new.abs()) < bound)  # False for NaN and inf too
        w = torch.where(ok.unsqueeze(-1), w_new, w)
        h[:, rows, col] = torch.where(ok, hi_new, hi)
        if k >= k0:
            avg = avg + w
    shape = (G, *B, R)
    return SaddlePointRun(w.reshape(*shape, d), (avg / (K - k0)).reshape(*shape, d), h.reshape(*shape, n),
                          (~ok).reshape(shape), loss)
