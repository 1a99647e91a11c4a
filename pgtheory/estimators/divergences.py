r"""KL estimators k1, k2, k3 (Schulman 2020, "Approximating KL divergence"; RPG, seed L11): values and
the gradients they induce when used as a loss, per sample.

With y ∼ π_θ and the log-ratio ℓ = log π_ref(y) − log π_θ(y) (r = e^ℓ):

========  ===================  =============================  ==========================================
name      value                E[value]                       E[∇_θ value] (gradient not through sampling)
========  ===================  =============================  ==========================================
``k1``    −ℓ                   KL(π_θ ‖ π_ref)                0
``k2``    ½ ℓ²                 ≠ KL (biased)                  ∇_θ KL(π_θ ‖ π_ref)   (reverse KL)
``k3``    r − 1 − ℓ            KL(π_θ ‖ π_ref)                ∇_θ KL(π_ref ‖ π_θ)   (forward KL)
========  ===================  =============================  ==========================================

The gradient of each as a loss is c(ℓ)·∇log π_θ(y), with c = 1, −ℓ, 1 − r respectively (derivation:
∇ℓ = −∇log π_θ(y)); :func:`kl_loss_score_coefficient` returns c. Off-policy samples y ∼ μ carry importance
weights w = π_θ(y)/μ(y) multiplying both value and coefficient. Applied per token with token-level
log-ratios, Σ_t k1_t and Σ_t k3_t are both unbiased for the sequence KL (chain rule of KL).
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite, check_finite_result, check_real
from .._registry import Registry

__all__ = ["KL_ESTIMATORS", "kl_estimate", "kl_loss_score_coefficient", "tsallis_kl_estimate"]

KLFn = Callable[[torch.Tensor], torch.Tensor]
KL_ESTIMATORS: Registry[KLFn] = Registry("KL estimator")
_COEFFICIENTS: dict[str, KLFn] = {}


def _register(name: str, coefficient: KLFn):
    def deco(fn: KLFn) -> KLFn:
        KL_ESTIMATORS.register(name)(fn)
        _COEFFICIENTS[name] = coefficient
        return fn

    return deco


@_register("k1", lambda lr: torch.ones_like(lr))
def k1(log_ratio: torch.Tensor) -> torch.Tensor:
    """−ℓ."""
    return -log_ratio


@_register("k2", lambda lr: -lr)
def k2(log_ratio: torch.Tensor) -> torch.Tensor:
    """½ ℓ²."""
    return 0.5 * log_ratio**2


@_register("k3", lambda lr: 1 - torch.exp(lr))
def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """e^ℓ − 1 − ℓ (≥ 0; expm1 keeps it accurate for small ℓ)."""
    return torch.expm1(log_ratio) - log_ratio


def _log_ratio(log_ratio) -> torch.Tensor:
    return check_finite(log_ratio, "log_ratio")


def _weighted(v: torch.Tensor, weights, log_ratio: torch.Tensor) -> torch.Tensor:
    """``v`` times importance ``weights`` (finite, non-negative, broadcasting to the shape of ``log_ratio``)."""
    if weights is None:
        return v
    w = check_finite(weights, "weights")
    try:
        shape = torch.broadcast_shapes(w.shape, log_ratio.shape)
    except RuntimeError:
        shape = None
    if shape != log_ratio.shape:
        raise ValueError(f"weights: expected a shape broadcasting to log_ratio's {tuple(log_ratio.shape)}, got {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError("weights: importance weights must be non-negative")
    return w * v


def kl_estimate(log_ratio: torch.Tensor, kind: str = "k3", *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample values of the named estimator (times importance ``weights`` if given), same shape as ``log_ratio``."""
    fn = KL_ESTIMATORS.get(kind)
    lr = _log_ratio(log_ratio)
    return check_finite_result(_weighted(fn(lr), weights, lr), "log_ratio", f"{kind} value")


def kl_loss_score_coefficient(log_ratio: torch.Tensor, kind: str = "k3", *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """c with ∇_θ[estimator as a loss] = c ∇_θ log π_θ(y), per sample (times ``weights`` if given)."""
    KL_ESTIMATORS.get(kind)  # validates the name
    lr = _log_ratio(log_ratio)
    return check_finite_result(_weighted(_COEFFICIENTS[kind](lr), weights, lr), "log_ratio", f"{kind} coefficient")


def tsallis_kl_estimate(log_ratio: torch.Tensor, q: float, *, convention: str = "1-q",
                        weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""Per-sample −ln_q(e^ℓ) with ℓ = log μ(y) − log π(y), y ∼ π: unbiased for D_q(π ‖ μ) (times ``weights``
    π/ν if y ∼ ν instead). Default q-log convention '1-q' (see :mod:`pgtheory.exact.divergences`); for q > 1
    the values grow like (π/μ)^{q−1}, so the variance blows up with q when π/μ is heavy-tailed.
    """
    from ..exact.divergences import Q_LOG_CONVENTIONS

    q = check_real(q, "q", low=0.0, low_open=True)
    if convention not in Q_LOG_CONVENTIONS:
        raise ValueError(f"convention: expected one of {Q_LOG_CONVENTIONS}, got {convention!r}")
    lr = _log_ratio(log_ratio)
    e = 1.0 - q if convention == "1-q" else q - 1.0
    v = -lr if q == 1.0 else -torch.expm1(e * lr) / e  # −ln_q(e^ℓ), computed from ℓ (no overflow of e^ℓ itself)
    return check_finite_result(_weighted(v, weights, lr), "log_ratio, q", "Tsallis value")
