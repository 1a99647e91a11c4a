r"""Exact divergences between explicit distributions (last axis): q-logarithm, Tsallis KL, f-divergences,
and the Tsallis-KL-regularised greedy policy.

**q-logarithm convention (pinned).** The package's default is Tsallis' original

.. math:: \ln_q x = \frac{x^{1-q} - 1}{1 - q},\qquad \exp_q x = [1 + (1-q)x]_+^{1/(1-q)},

with :math:`\ln_1 = \log`. Then :math:`D_q(\pi\|\mu) = \mathbb E_\pi[-\ln_q(\mu/\pi)] = (\sum \pi^q\mu^{1-q} - 1)/(q-1)`,
which is ≥ 0 with equality iff π = μ for **every** q > 0 (Jensen on t ↦ t^q). The other convention in the
RL literature, :math:`\ln_q x = (x^{q-1} - 1)/(q-1)` (``convention="q-1"``), gives
:math:`D_q = (1 - \sum\pi^{2-q}\mu^{q-1})/(q-1)`, which is **negative** for q > 2 whenever π ≠ μ (Jensen on
t ↦ t^{2-q}, convex for q > 2); both give KL at q = 1. The two are related by q ↔ 2 − q.

**f-divergences** :math:`D_f(\pi\|p) = \sum_y p(y) f(\pi(y)/p(y))` for convex f with f(1) = 0; the registry
``F_DIVERGENCES`` holds f and f′ for the reverse KL KL(π‖p) (f = t log t), forward KL KL(p‖π) (f = −log t),
Jensen–Shannon (f = ½[t log t − (1+t) log((1+t)/2)]) and total variation (f = ½|t − 1|); its gradient in the
parameters of π is :math:`\mathbb E_\pi[f'(\pi/p)\nabla\log\pi]` (the f-DPG identity, Go et al. 2023).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .._checks import as_tensor, check_finite, check_probabilities
from .._registry import Registry

__all__ = ["Q_LOG_CONVENTIONS", "q_log", "q_exp", "kl_divergence", "tsallis_kl", "FDivergence", "F_DIVERGENCES",
           "f_divergence", "tsallis_kl_greedy"]

Q_LOG_CONVENTIONS = ("1-q", "q-1")


def _check_q(q) -> float:
    q = float(q)
    if not q > 0 or q != q or q == float("inf"):
        raise ValueError(f"q: the entropic index must be a positive finite number, got {q}")
    return q


def q_log(x: torch.Tensor, q: float, *, convention: str = "1-q") -> torch.Tensor:
    """ln_q x for x > 0 (see the module docstring for the two conventions); ln_1 = log."""
    q = _check_q(q)
    if convention not in Q_LOG_CONVENTIONS:
        raise ValueError(f"convention: expected one of {Q_LOG_CONVENTIONS}, got {convention!r}")
    x = check_finite(as_tensor(x, "x"), "x")
    if bool((x <= 0).any()):
        raise ValueError("x: the q-logarithm needs positive arguments")
    if q == 1.0:
        return x.log()
    e = 1.0 - q if convention == "1-q" else q - 1.0
    return torch.expm1(e * x.log()) / e


def q_exp(x: torch.Tensor, q: float) -> torch.Tensor:
    """exp_q x = [1 + (1 − q)x]_+^{1/(1−q)}, the inverse of ln_q in the default '1-q' convention."""
    q = _check_q(q)
    x = check_finite(as_tensor(x, "x"), "x")
    if q == 1.0:
        return x.exp()
    return torch.clamp(1 + (1 - q) * x, min=0.0) ** (1 / (1 - q))


def _pair(p, m, names=("p", "m")) -> tuple[torch.Tensor, torch.Tensor]:
    p = check_probabilities(as_tensor(p, names[0]), names[0])
    m = check_probabilities(as_tensor(m, names[1]), names[1])
    if bool(((m == 0) & (p > 0)).any()):
        raise ValueError(f"{names[1]}: is zero where {names[0]} is positive (the divergence is infinite)")
    return p, m


def kl_divergence(p, m) -> torch.Tensor:
    """KL(p ‖ m) = Σ p log(p/m) over the last axis (0 log 0 = 0)."""
    p, m = _pair(p, m)
    safe = torch.where(p > 0, p, torch.ones_like(p))
    return torch.where(p > 0, p * (safe.log() - torch.where(p > 0, m, torch.ones_like(m)).log()), torch.zeros_like(p)).sum(-1)


def tsallis_kl(p, m, q: float, *, convention: str = "1-q") -> torch.Tensor:
    r"""D_q(p ‖ m) = E_p[−ln_q(m/p)] over the last axis; KL at q = 1 (terms with p = 0 contribute 0)."""
    q = _check_q(q)
    if convention not in Q_LOG_CONVENTIONS:
        raise ValueError(f"convention: expected one of {Q_LOG_CONVENTIONS}, got {convention!r}")
    p, m = _pair(p, m)
    if q == 1.0:
        return kl_divergence(p, m)
    pos = p > 0
    ratio = torch.where(pos, m / torch.where(pos, p, torch.ones_like(p)), torch.ones_like(p))
    e = 1.0 - q if convention == "1-q" else q - 1.0
    terms = torch.where(pos, -p * torch.expm1(e * ratio.clamp_min(1e-300).log()) / e, torch.zeros_like(p))
    return terms.sum(-1)


class FDivergence(NamedTuple):
    f: Callable[[torch.Tensor], torch.Tensor]  #: generator, f(1) = 0
    df: Callable[[torch.Tensor], torch.Tensor]  #: its derivative f′
    description: str


F_DIVERGENCES: Registry[FDivergence] = Registry("f-divergence")
F_DIVERGENCES.register("reverse_kl")(FDivergence(lambda t: torch.xlogy(t, t), lambda t: t.log() + 1, "KL(π‖p), f = t log t"))
F_DIVERGENCES.register("forward_kl")(FDivergence(lambda t: -t.log(), lambda t: -1 / t, "KL(p‖π), f = −log t"))
F_DIVERGENCES.register("jensen_shannon")(FDivergence(
    lambda t: 0.5 * (torch.xlogy(t, t) - (1 + t) * torch.log((1 + t) / 2)),
    lambda t: 0.5 * torch.log(2 * t / (1 + t)), "JS(π, p), f = ½[t log t − (1+t) log((1+t)/2)]"))
F_DIVERGENCES.register("total_variation")(FDivergence(lambda t: 0.5 * (t - 1).abs(), lambda t: 0.5 * torch.sign(t - 1),
                                                      "TV(π, p), f = ½|t − 1|"))


def f_divergence(pi, p, kind: str) -> torch.Tensor:
    """D_f(π ‖ p) = Σ_y p(y) f(π(y)/p(y)) over the last axis; p must have full support."""
    div = F_DIVERGENCES.get(kind)
    pi, p = _pair(pi, p, ("pi", "p"))
    if bool((p <= 0).any()):
        raise ValueError("p: must have full support for an f-divergence D_f(π‖p)")
    return (p * div.f(pi / p)).sum(-1)


def tsallis_kl_greedy(q_values, mu, tau: float, q: float, *, iterations: int = 200) -> torch.Tensor:
    r"""argmax_π ⟨π, Q⟩ − τ D_q(π ‖ μ) over the simplex (last axis), default q-log convention.

    KKT: for q > 1, :math:`\pi(a) = \mu(a)\,[(q-1)(Q(a) - \lambda)/(\tau q)]_+^{1/(q-1)}` with λ set by Σπ = 1
    (found by bisection, ``iterations`` halvings; λ is monotone), so actions with Q(a) ≤ λ get probability 0
    — a truncated, sparsemax-like support. For q = 1, π ∝ μ e^{Q/τ}. For q < 1 the objective is
    still concave; π(a) = μ(a)[(1−q)(λ − Q(a))/(τq)]^{−1/(1−q)} with λ > max Q (full support).
    """
    q = _check_q(q)
    tau = float(tau)
    if not tau > 0:
        raise ValueError(f"tau: must be positive, got {tau}")
    Q = check_finite(as_tensor(q_values, "q_values"), "q_values")
    mu = check_probabilities(as_tensor(mu, "mu"), "mu")
    if q == 1.0:
        return torch.softmax(Q / tau + torch.log(mu), -1)

    def pi_of(lam):
        if q > 1:
            return mu * torch.clamp((q - 1) * (Q - lam) / (tau * q), min=0.0) ** (1 / (q - 1))
        return torch.where(support, mu * ((1 - q) * (lam - Q) / (tau * q)) ** (-1 / (1 - q)), torch.zeros_like(mu))

    support = mu > 0  # π ≪ μ: actions outside μ's support keep probability 0
    top = torch.where(support, Q, torch.full_like(Q, -torch.inf)).max(-1, keepdim=True).values
    if q > 1:  # Σπ(λ) decreasing in λ; Σπ(top) = 0; find lo with Σπ(lo) ≥ 1
        inv = torch.where(support, 1 / torch.where(support, mu, torch.ones_like(mu)), torch.zeros_like(mu))
        lo, hi = top - tau * q / (q - 1) * inv.max(-1, keepdim=True).values ** (q - 1), top
    else:  # Σπ(λ) decreasing in λ on (top, ∞); Σπ → ∞ as λ ↓ top
        lo = top + 1e-300
        hi = top + tau * q / (1 - q) * torch.ones_like(top)
        while bool((pi_of(hi).sum(-1, keepdim=True) > 1).any()):
            hi = top + 2 * (hi - top)
        lo = top + (hi - top) * 1e-12
    for _ in range(iterations):
        mid = (lo + hi) / 2
        big = pi_of(mid).sum(-1, keepdim=True) > 1
        lo, hi = torch.where(big, mid, lo), torch.where(big, hi, mid)
    pi = pi_of((lo + hi) / 2)
    return pi / pi.sum(-1, keepdim=True)
