r"""Distributional Bellman operators on per-state discrete return distributions (issue 14, item 1).

A *per-state distribution* η is a pair ``atoms [S, K]`` (or a shared support ``[K]``) and ``probs [S, K]``; row s is
the law η(s) of a return from state s. With the policy π [S, A] of a :class:`~pgtheory.problems.TabularMDP`
(deterministic rewards r(s, a); reward noise is ignored):

* :func:`bellman_pushforward` — the distributional Bellman evaluation operator (Bellemare, Dabney & Munos 2017;
  Rowland et al. 2018)

  .. math:: (T^\pi\eta)(s) = \sum_a \pi(a|s)\sum_{s'}P(s'|s,a)\,(f_{r(s,a),\gamma})_\#\,\eta(s'),\qquad
            f_{r,\gamma}(z) = r + \gamma z,

  an exact push-forward: the output has the A·S·K atoms r(s,a) + γ z_{s',k} with weights π(a|s)P(s'|s,a)p_{s',k}.
  It is a γ-contraction in the supremum-Wasserstein metric :math:`\bar W_1(\eta,\nu)=\max_s W_1(\eta(s),\nu(s))`
  (Bellemare et al. 2017, Lemma 3); :func:`contraction_ratio` measures the ratio.
* :func:`categorical_projection` — Π_C onto a fixed increasing support z_1 < … < z_m (C51, Bellemare et al. 2017,
  eq. 7): mass at x ∈ [z_i, z_{i+1}] goes to z_i and z_{i+1} in proportions (z_{i+1}−x, x−z_i)/(z_{i+1}−z_i); mass
  outside is clipped to the nearest end. It preserves the mean of laws supported in [z_1, z_m], moves each law by
  at most max_i(z_{i+1}−z_i)/2 in W1, and is a W1 non-expansion on laws supported in [z_1, z_m] (proof in
  :mod:`pgtheory.exact.return_law`).
* :func:`quantile_projection` — Π_Q onto N equally weighted atoms at the quantile midpoints τ_i = (2i−1)/(2N)
  (QR-DQN, Dabney et al. 2018, Lemma 2: the W1-closest N-atom uniform law), θ_i = F^{-1}(τ_i) (lower quantile).
* :func:`categorical_fixed_point`, :func:`quantile_fixed_point` — the fixed points of Π_C T^π (a γ-contraction in
  :math:`\bar W_1`) and Π_Q T^π (a γ-contraction in :math:`\bar W_\infty`, Dabney et al. 2018, Prop. 2) by iteration.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_probabilities, check_real
from ..problems.mdp import TabularMDP
from .evaluation import check_policy
from .risk_measures import CDF_SLACK, sorted_distribution, wasserstein1

__all__ = ["check_single_policy", "quantile_midpoints", "uniform_support", "bellman_pushforward", "categorical_projection",
           "quantile_projection", "sup_wasserstein1", "contraction_ratio", "FixedPoint", "categorical_fixed_point",
           "quantile_fixed_point"]


def check_single_policy(mdp, pi) -> torch.Tensor:
    """Validate ``mdp`` (a :class:`TabularMDP`) and one policy ``pi [S, A]`` of it; return ``pi`` as float64."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    pi = check_policy(mdp, pi)
    if pi.ndim != 2:
        raise ValueError(f"pi: expected a single policy [S, A], got shape {tuple(pi.shape)}")
    return pi


def quantile_midpoints(n: int) -> torch.Tensor:
    """τ_i = (2i − 1)/(2n), i = 1..n: ``[n]`` (Dabney et al. 2018)."""
    n = check_positive_int(n, "n")
    return (2 * torch.arange(1, n + 1, dtype=DTYPE) - 1) / (2 * n)


def uniform_support(v_min: float, v_max: float, m: int) -> torch.Tensor:
    """m equally spaced atoms from ``v_min`` to ``v_max`` (C51's support), ``[m]``; needs m ≥ 2 and v_min < v_max."""
    m = check_positive_int(m, "m", minimum=2)
    lo = check_real(v_min, "v_min")
    hi = check_real(v_max, "v_max")
    if not hi > lo:
        raise ValueError(f"v_max: must exceed v_min = {lo:g}, got {hi:g}")
    return torch.linspace(lo, hi, m, dtype=DTYPE)


def _per_state(mdp: TabularMDP, atoms, probs, name: str = "atoms", pname: str = "probs"):
    atoms = check_finite(as_tensor(atoms, name, device=mdp.device), name)
    probs = as_tensor(probs, pname, device=mdp.device)
    S = mdp.n_states
    if probs.ndim != 2 or probs.shape[0] != S:
        raise ValueError(f"{pname}: expected shape [S, K] with S = {S}, got {tuple(probs.shape)}")
    if atoms.ndim == 1:
        atoms = atoms.expand(S, -1)
    if tuple(atoms.shape) != tuple(probs.shape):
        raise ValueError(f"{name}: expected shape [K] or [S, K] = {tuple(probs.shape)}, got {tuple(atoms.shape)}")
    return atoms, check_probabilities(probs, pname)


def bellman_pushforward(mdp: TabularMDP, pi, atoms, probs) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Exact :math:`T^\pi\eta`: atoms ``[S, A·S·K]`` = r(s,a) + γ z_{s',k} with probabilities π(a|s)P(s'|s,a)p_{s',k}.

    ``atoms [K]`` (shared support) or ``[S, K]``, ``probs [S, K]``. Output order: (a, s', k) row-major per state.
    """
    pi = check_single_policy(mdp, pi)
    atoms, probs = _per_state(mdp, atoms, probs)
    return _push(mdp, pi, atoms, probs)


def _push(mdp: TabularMDP, pi: torch.Tensor, atoms: torch.Tensor, probs: torch.Tensor):
    S, A, K = mdp.n_states, mdp.n_actions, atoms.shape[-1]
    g = mdp.discount
    z = mdp.rewards[:, :, None, None] + g * atoms[None, None, :, :]  # [S, A, S', K]
    w = pi[:, :, None, None] * mdp.transitions[:, :, :, None] * probs[None, None, :, :]
    return z.reshape(S, A * S * K), w.reshape(S, A * S * K)


def categorical_projection(atoms, probs, support) -> torch.Tensor:
    r"""Π_C: probabilities ``[..., m]`` on the increasing ``support [m]`` of the law (``atoms, probs [..., N]``).

    :math:`(\Pi_C\delta_x)(z_i) = \big[1 - |x_c - z_i|/\Delta_{i\pm}\big]_+` with x_c the clip of x to [z_1, z_m] and
    Δ the gap to the neighbour on x's side (Bellemare et al. 2017, eq. 7; Rowland et al. 2018, eq. 5).
    """
    z = check_finite(as_tensor(support, "support"), "support")
    if z.ndim != 1 or z.shape[0] < 2:
        raise ValueError(f"support: expected shape [m] with m >= 2, got {tuple(z.shape)}")
    if bool((z[1:] <= z[:-1]).any()):
        raise ValueError("support: must be strictly increasing")
    x = check_finite(as_tensor(atoms, "atoms", device=z.device), "atoms")
    p = as_tensor(probs, "probs", device=z.device)
    if tuple(p.shape) != tuple(x.shape):
        raise ValueError(f"probs: expected the shape of the atoms {tuple(x.shape)}, got {tuple(p.shape)}")
    p = check_probabilities(p, "probs")
    return _cat_project(x, p, z)


def _cat_project(x: torch.Tensor, p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    m = z.shape[0]
    xc = x.clamp(float(z[0]), float(z[-1]))
    hi = torch.searchsorted(z, xc.contiguous(), right=False).clamp(1, m - 1)  # z[hi-1] <= xc <= z[hi]
    lo = hi - 1
    frac = ((xc - z[lo]) / (z[hi] - z[lo])).clamp(0.0, 1.0)
    out = torch.zeros(*x.shape[:-1], m, dtype=p.dtype, device=p.device)
    out.scatter_add_(-1, lo, p * (1 - frac))
    out.scatter_add_(-1, hi, p * frac)
    return out


def quantile_projection(atoms, probs, n: int) -> torch.Tensor:
    r"""Π_Q: the N = ``n`` atoms θ_i = F^{-1}(τ_i), τ_i = (2i−1)/(2N), each of mass 1/N: ``[..., n]`` (sorted).

    :math:`F^{-1}` is the lower quantile inf{z : F(z) ≥ τ} (slack :data:`~pgtheory.exact.risk_measures.CDF_SLACK`).
    Among laws with N atoms of mass 1/N it minimises W1 to the input (Dabney et al. 2018, Lemma 2).
    """
    n = check_positive_int(n, "n")
    x = check_finite(as_tensor(atoms, "atoms"), "atoms")
    p = as_tensor(probs, "probs", device=x.device)
    if tuple(p.shape) != tuple(x.shape) or x.ndim == 0:
        raise ValueError(f"probs: expected the shape of the atoms {tuple(x.shape)}, got {tuple(p.shape)}")
    p = check_probabilities(p, "probs")
    return _q_project(x, p, n)


def _q_project(x: torch.Tensor, p: torch.Tensor, n: int) -> torch.Tensor:
    zs, _, cum = sorted_distribution(x, p)
    tau = quantile_midpoints(n).to(x.device) - CDF_SLACK
    idx = torch.searchsorted(cum.contiguous(), tau.expand(*cum.shape[:-1], n).contiguous()).clamp_max(zs.shape[-1] - 1)
    return torch.gather(zs, -1, idx)


def sup_wasserstein1(atoms1, probs1, atoms2, probs2) -> torch.Tensor:
    r""":math:`\bar W_1(\eta,\nu) = \max_s W_1(\eta(s),\nu(s))` for per-state laws ``[S, K1]``, ``[S, K2]`` (scalar)."""
    return wasserstein1(atoms1, probs1, atoms2, probs2).amax(-1)


def contraction_ratio(mdp: TabularMDP, pi, eta: tuple, nu: tuple) -> float:
    r""":math:`\bar W_1(T^\pi\eta, T^\pi\nu)/\bar W_1(\eta,\nu)` for two per-state laws ``eta = (atoms, probs)``,
    ``nu = (atoms, probs)``; at most γ (Bellemare et al. 2017, Lemma 3). Raises if η = ν (ratio undefined)."""
    pi = check_single_policy(mdp, pi)
    a1, p1 = _per_state(mdp, *eta, name="eta atoms", pname="eta probs")
    a2, p2 = _per_state(mdp, *nu, name="nu atoms", pname="nu probs")
    before = float(sup_wasserstein1(a1, p1, a2, p2))
    if before == 0:
        raise ValueError("nu: equals eta in sup-W1; the contraction ratio is undefined")
    after = float(sup_wasserstein1(*_push(mdp, pi, a1, p1), *_push(mdp, pi, a2, p2)))
    return after / before


class FixedPoint(NamedTuple):
    """The fixed point of a projected distributional Bellman operator, as a per-state law."""

    atoms: torch.Tensor  #: [m] shared support (categorical) or [S, n] per-state quantile atoms (quantile)
    probs: torch.Tensor  #: [S, m] (categorical) or [S, n] all 1/n (quantile)
    iterations: int  #: operator applications
    last_change: float  #: sup-W1 (categorical) or sup-W∞ (quantile) distance of the last two iterates


def categorical_fixed_point(mdp: TabularMDP, pi, support, *, tol: float = 1e-13, max_iter: int = 100_000) -> FixedPoint:
    r"""Fixed point of :math:`\Pi_C T^\pi` on ``support [m]`` by iteration from uniform probabilities.

    Π_C T^π is a γ-contraction in :math:`\bar W_1` for laws on [z_1, z_m] when [z_1, z_m] ⊇ [r_min/(1−γ), r_max/(1−γ)]
    (T^π maps such laws into the interval and Π_C is a W1 non-expansion there), so iteration converges geometrically;
    it stops when :math:`\bar W_1(\eta_{k+1},\eta_k) \le` ``tol``.
    """
    pi = check_single_policy(mdp, pi)
    z = check_finite(as_tensor(support, "support", device=mdp.device), "support")
    if z.ndim != 1 or z.shape[0] < 2 or bool((z[1:] <= z[:-1]).any()):
        raise ValueError(f"support: expected a strictly increasing 1-D support with >= 2 atoms, got shape {tuple(z.shape)}")
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    S, m = mdp.n_states, z.shape[0]
    probs = torch.full((S, m), 1.0 / m, dtype=DTYPE, device=mdp.device)
    zs = z.expand(S, m)
    change = float("inf")
    for k in range(1, max_iter + 1):
        new = _cat_project(*_push(mdp, pi, zs, probs), z)
        change = float(wasserstein1(zs, new, zs, probs).amax())
        probs = new
        if change <= tol:
            break
    return FixedPoint(z, probs, k, change)


def quantile_fixed_point(mdp: TabularMDP, pi, n: int, *, tol: float = 1e-13, max_iter: int = 100_000) -> FixedPoint:
    r"""Fixed point of :math:`\Pi_Q T^\pi` with ``n`` quantile atoms per state, by iteration from all atoms at 0.

    Π_Q T^π is a γ-contraction in :math:`\bar W_\infty` (Dabney et al. 2018, Prop. 2); iteration stops when the largest
    atom move :math:`\max_{s,i}|\theta^{k+1}_{s,i}-\theta^k_{s,i}|` (= :math:`\bar W_\infty` for sorted equal-weight
    atoms) is at most ``tol``.
    """
    pi = check_single_policy(mdp, pi)
    n = check_positive_int(n, "n")
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    S = mdp.n_states
    theta = torch.zeros(S, n, dtype=DTYPE, device=mdp.device)
    w = torch.full((S, n), 1.0 / n, dtype=DTYPE, device=mdp.device)
    change = float("inf")
    for k in range(1, max_iter + 1):
        new = _q_project(*_push(mdp, pi, theta, w), n)
        change = float((new - theta).abs().max())
        theta = new
        if change <= tol:
            break
    return FixedPoint(theta, w, k, change)
