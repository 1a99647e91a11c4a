r"""Risk measures and distances of discrete distributions on the real line (issue 14, item 5).

A distribution is given by atoms ``z [..., K]`` and probabilities ``p [..., K]`` (same shape; every leading
dimension is a batch; atoms need not be sorted or distinct; zero-probability atoms are allowed).

**Sign convention.** ``Z`` is a *reward* (a return): large is good, so the risk-averse side is the *lower* tail.
:math:`\mathrm{VaR}_\alpha` and :math:`\mathrm{CVaR}_\alpha` below are the lower α-quantile and the mean of the worst
α fraction of outcomes; both are *values* (higher is better) and :math:`\mathrm{CVaR}_\alpha(Z)\le\mathbb E Z`.
For a *cost* ``C`` (small is good) the usual upper-tail CVaR is :math:`\mathrm{CVaR}^{\rm cost}_\alpha(C) =
-\mathrm{CVaR}_\alpha(-C)` — call these functions on ``-c`` and negate.

* :func:`value_at_risk` — :math:`\mathrm{VaR}_\alpha(Z) = F^{-1}(\alpha) = \inf\{z : F(z)\ge\alpha\}` (lower quantile).
* :func:`cvar` — :math:`\mathrm{CVaR}_\alpha(Z) = \frac1\alpha\int_0^\alpha F^{-1}(u)\,du`; the atom at the quantile is
  split so that exactly mass α is averaged (Acerbi & Tasche 2002).
* :func:`cvar_rockafellar_uryasev` — :math:`\max_c\{c - \mathbb E(c-Z)_+/\alpha\}` (Rockafellar & Uryasev 2000,
  written for rewards); the maximand is concave and piecewise linear in c with kinks at the atoms, so the maximum is
  attained at an atom (at :math:`c=\mathrm{VaR}_\alpha`) and is computed exactly by evaluating every atom.
* :func:`mixed_risk` — :math:`(1-\lambda)\mathbb E Z + \lambda\,\mathrm{CVaR}_\alpha(Z)`.
* :func:`distortion_risk` — :math:`\rho_g(Z) = \int z\,d\,g(F(z)) = \sum_i z_{(i)}[g(F_i) - g(F_{i-1})]` on sorted
  atoms, for a non-decreasing distortion g: [0,1] → [0,1] with g(0) = 0, g(1) = 1 (Wang 1996; Dhaene et al. 2006).
  :func:`cvar_distortion` gives g(u) = min(u/α, 1), for which ρ_g = CVaR_α; g(u) = u gives the mean.
* :func:`wasserstein1` — :math:`W_1(\mu,\nu) = \int_{\mathbb R}|F_\mu(x)-F_\nu(x)|\,dx`, exact for discrete laws
  (Vallender 1974): merge the atoms, the CDF difference is constant between consecutive merged atoms.
* :func:`kolmogorov_distance` — :math:`\sup_x|F_\mu(x)-F_\nu(x)|`, exact.

Everything is float64; results have the batch shape ``[...]``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_probabilities, check_real

__all__ = ["CDF_SLACK", "check_distribution", "sorted_distribution", "mean", "value_at_risk", "cvar",
           "cvar_rockafellar_uryasev", "mixed_risk", "cvar_distortion", "distortion_risk", "wasserstein1",
           "kolmogorov_distance"]

#: Slack on cumulative sums when comparing F(z) ≥ α: absorbs the round-off of Σ p_i (K·ε ≪ 1e-12 for K < 10^3..10^4).
CDF_SLACK = 1e-12


def check_distribution(z, p, name: str = "z", pname: str = "p") -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a batched discrete distribution: finite atoms ``z [..., K]``, probabilities ``p [..., K]`` summing to 1
    on the last axis (same shape, or shapes that broadcast with the same K — e.g. a shared support ``z [K]`` and
    ``p [B, K]``; K ≥ 1). Returns both as float64 tensors on ``z``'s device, expanded to the common shape."""
    z = check_finite(as_tensor(z, name), name)
    p = as_tensor(p, pname, device=z.device)
    if z.ndim == 0:
        raise ValueError(f"{name}: expected atoms of shape [..., K], got a scalar")
    if tuple(p.shape) != tuple(z.shape):
        try:  # a shared support z [K] (or any broadcastable batch) with p [..., K]
            shape = torch.broadcast_shapes(z.shape, p.shape)
        except RuntimeError:
            shape = None
        if shape is None or p.ndim == 0 or shape[-1] != z.shape[-1] or shape[-1] != p.shape[-1]:
            raise ValueError(f"{pname}: expected the shape of the atoms {tuple(z.shape)} (or one broadcasting with it), "
                             f"got {tuple(p.shape)}")
        z, p = z.expand(shape), p.expand(shape)
    p = check_probabilities(p, pname)
    return z, p


def sorted_distribution(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Atoms sorted increasingly along the last axis, their probabilities and the CDF at each sorted atom
    (``F_i = Σ_{j≤i} p_(j)``, the last entry set to exactly 1): three tensors ``[..., K]``. No validation."""
    zs, idx = torch.sort(z, dim=-1, stable=True)
    ps = torch.gather(p, -1, idx)
    cum = ps.cumsum(-1).clamp(0.0, 1.0)
    cum[..., -1] = 1.0
    return zs, ps, cum


def _alpha(alpha) -> float:
    return check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True)


def mean(z, p) -> torch.Tensor:
    r""":math:`\mathbb E Z = \sum_i p_i z_i`, ``[...]``."""
    z, p = check_distribution(z, p)
    return (z * p).sum(-1)


def value_at_risk(z, p, alpha: float) -> torch.Tensor:
    r"""Lower α-quantile :math:`\mathrm{VaR}_\alpha(Z) = \inf\{z : F(z)\ge\alpha\}`, α ∈ (0, 1], ``[...]``.

    Convention: the *left-continuous inverse* of the CDF (the smallest atom whose cumulative probability reaches α,
    with slack :data:`CDF_SLACK` on the sums). For rewards this is the threshold of the worst α fraction.
    """
    z, p = check_distribution(z, p)
    a = _alpha(alpha)
    zs, _, cum = sorted_distribution(z, p)
    idx = torch.searchsorted(cum.contiguous(), torch.full(cum.shape[:-1] + (1,), a - CDF_SLACK, dtype=cum.dtype, device=cum.device))
    idx = idx.clamp_max(zs.shape[-1] - 1)
    return torch.gather(zs, -1, idx).squeeze(-1)


def cvar(z, p, alpha: float) -> torch.Tensor:
    r"""Lower-tail conditional value at risk :math:`\mathrm{CVaR}_\alpha(Z)=\frac1\alpha\int_0^\alpha F^{-1}(u)\,du`.

    On sorted atoms with CDF :math:`F_i`: the worst α fraction takes mass
    :math:`w_i = \min(F_i,\alpha) - \min(F_{i-1},\alpha)` from atom i (the atom at the quantile is split), and
    :math:`\mathrm{CVaR}_\alpha = \sum_i w_i z_{(i)}/\alpha`. α = 1 gives the mean; α → 0 the essential minimum.
    Shapes: ``z, p [..., K]`` → ``[...]``. (Acerbi & Tasche 2002, "On the coherence of expected shortfall".)
    """
    z, p = check_distribution(z, p)
    a = _alpha(alpha)
    zs, _, cum = sorted_distribution(z, p)
    capped = cum.clamp_max(a)
    prev = torch.cat([torch.zeros_like(capped[..., :1]), capped[..., :-1]], -1)
    w = (capped - prev).clamp_min(0.0)
    return check_finite_result((w * zs).sum(-1) / a, "z, p", "CVaR")


def cvar_rockafellar_uryasev(z, p, alpha: float) -> torch.Tensor:
    r"""CVaR by the Rockafellar–Uryasev variational formula (for rewards):

    .. math:: \mathrm{CVaR}_\alpha(Z) = \max_{c\in\mathbb R}\Big\{c - \tfrac1\alpha\,\mathbb E\,(c - Z)_+\Big\}.

    The maximand is concave, piecewise linear with kinks at the atoms, so its maximum is attained at an atom; we
    evaluate all K atoms (``[..., K, K]`` work and memory). Agrees with :func:`cvar` (tested). Rockafellar & Uryasev
    (2000), "Optimization of conditional value-at-risk", Thm 1 (stated there for losses L = −Z).
    """
    z, p = check_distribution(z, p)
    a = _alpha(alpha)
    c = z.unsqueeze(-1)  # candidates [..., K, 1]
    shortfall = ((c - z.unsqueeze(-2)).clamp_min(0.0) * p.unsqueeze(-2)).sum(-1)  # E(c_j − Z)_+  [..., K]
    return (z - shortfall / a).amax(-1)


def mixed_risk(z, p, alpha: float, lam: float) -> torch.Tensor:
    r"""Mean–CVaR mixture :math:`(1-\lambda)\,\mathbb E Z + \lambda\,\mathrm{CVaR}_\alpha(Z)`, λ ∈ [0, 1], ``[...]``.

    It is the distortion risk measure with :math:`g(u) = (1-\lambda)u + \lambda\min(u/\alpha,1)`.
    """
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    return (1 - lam) * mean(z, p) + lam * cvar(z, p, alpha)


def cvar_distortion(alpha: float) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The distortion :math:`g_\alpha(u) = \min(u/\alpha, 1)` whose distortion risk measure is CVaR_α (lower tail)."""
    a = _alpha(alpha)
    return lambda u: (u / a).clamp_max(1.0)


def distortion_risk(z, p, g: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    r"""Distortion risk measure :math:`\rho_g(Z) = \int z\,d\,g(F(z)) = \sum_i z_{(i)}\,[g(F_i) - g(F_{i-1})]`.

    ``g`` maps a tensor of levels in [0, 1] to [0, 1] elementwise; it must be non-decreasing with g(0) = 0 and
    g(1) = 1 (checked on the levels used; a concave g gives a coherent, risk-averse measure for rewards:
    it overweights the lower tail). Shapes ``z, p [..., K]`` → ``[...]``.
    """
    z, p = check_distribution(z, p)
    if not callable(g):
        raise TypeError(f"g: expected a callable distortion, got {type(g).__name__}")
    zs, _, cum = sorted_distribution(z, p)
    levels = torch.cat([torch.zeros_like(cum[..., :1]), cum], -1)
    gv = g(levels)
    if not isinstance(gv, torch.Tensor) or gv.shape != levels.shape:
        raise ValueError(f"g: must return a tensor of the shape of its input {tuple(levels.shape)}")
    gv = gv.to(levels.dtype)
    check_finite(gv, "g")
    ends = g(torch.tensor([0.0, 1.0], dtype=levels.dtype, device=levels.device))
    if abs(float(ends[0])) > 1e-12 or abs(float(ends[1]) - 1) > 1e-12:
        raise ValueError(f"g: a distortion needs g(0) = 0 and g(1) = 1, got g(0) = {float(ends[0]):.3g}, g(1) = {float(ends[1]):.3g}")
    inc = gv[..., 1:] - gv[..., :-1]
    if bool((inc < -1e-12).any()):
        raise ValueError("g: a distortion must be non-decreasing")
    return (zs * inc).sum(-1)


def _signed_merge(z1, p1, z2, p2):
    z1, p1 = check_distribution(z1, p1, "z1", "p1")
    z2, p2 = check_distribution(z2, p2, "z2", "p2")
    z2, p2 = z2.to(z1.device), p2.to(z1.device)
    try:
        batch = torch.broadcast_shapes(z1.shape[:-1], z2.shape[:-1])
    except RuntimeError as exc:
        raise ValueError(f"z2: batch shape {tuple(z2.shape[:-1])} does not broadcast with z1's {tuple(z1.shape[:-1])}") from exc
    z = torch.cat([z1.expand(*batch, z1.shape[-1]), z2.expand(*batch, z2.shape[-1])], -1)
    m = torch.cat([p1.expand(*batch, p1.shape[-1]), -p2.expand(*batch, p2.shape[-1])], -1)
    zs, idx = torch.sort(z, dim=-1, stable=True)
    diff = torch.gather(m, -1, idx).cumsum(-1)  # F1 − F2 just right of each sorted atom
    gaps = zs[..., 1:] - zs[..., :-1]
    return diff, gaps


def wasserstein1(z1, p1, z2, p2) -> torch.Tensor:
    r"""Exact 1-Wasserstein distance of two discrete laws on ℝ, :math:`W_1 = \int|F_1(x)-F_2(x)|\,dx`.

    ``z1, p1 [..., K1]`` and ``z2, p2 [..., K2]`` (batch shapes broadcast) → ``[...]``. The merged atoms are sorted;
    :math:`F_1-F_2` is constant between consecutive ones, so the integral is a finite sum (O((K1+K2) log(K1+K2))).
    """
    diff, gaps = _signed_merge(z1, p1, z2, p2)
    return (diff[..., :-1].abs() * gaps).sum(-1)


def kolmogorov_distance(z1, p1, z2, p2) -> torch.Tensor:
    r"""Exact Kolmogorov (KS) distance :math:`\sup_x|F_1(x)-F_2(x)|` of two discrete laws, ``[...]``.

    The supremum is attained at an atom (CDFs are right-continuous step functions); within a group of tied atoms only
    the value after the whole group counts.
    """
    diff, gaps = _signed_merge(z1, p1, z2, p2)
    last_of_group = torch.cat([gaps > 0, torch.ones_like(gaps[..., :1], dtype=torch.bool)], -1)
    return torch.where(last_of_group, diff.abs(), torch.zeros_like(diff)).amax(-1)
