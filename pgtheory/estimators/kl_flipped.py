r"""k3 with its ratio flipped: the KL "k3" that computes r = π_θ/π_ref instead of Schulman's r = π_ref/π_θ.

With ℓ = log π_ref(y) − log π_θ(y) (the convention of :mod:`pgtheory.estimators.divergences`) and y ∼ π_θ:

==================  =====================  =========================================  ==============================
name                value                  E[value]                                   coefficient c (∇ = c ∇log π_θ)
==================  =====================  =========================================  ==============================
``k3`` (Schulman)   e^ℓ − 1 − ℓ            KL(π_θ‖π_ref)                              1 − e^ℓ = 1 − π_ref/π_θ
``k3_flipped``      e^{−ℓ} − 1 + ℓ         Σ_y π_θ²/π_ref − 1 − KL(π_θ‖π_ref)         e^{−ℓ} − 1 = π_θ/π_ref − 1
==================  =====================  =========================================  ==============================

Schulman's coefficient is bounded by 1 where the policy has raised a token's probability (π_θ > π_ref) and unbounded
only where it has lowered it (π_θ ≪ π_ref, sampled with probability π_θ); the flipped one is bounded by 1 where π_θ <
π_ref and grows like π_θ/π_ref where the policy has raised a token — the tokens it samples most. This is the form of
``approx_kl3`` in natolambert/rlhf-book ``code/policy_gradients/loss.py`` before its PR #528 (``log_ratio = log_probs −
log_probs_ref``; ``(log_ratio.exp() − 1) − log_ratio``), read on 2026-12-01 with the fix's notes that cite issue #489.
"""
from __future__ import annotations

import torch

from .._checks import check_finite, check_finite_result

__all__ = ["flipped_k3", "flipped_k3_coefficient"]


def flipped_k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """e^{−ℓ} − 1 + ℓ per sample (ℓ = log π_ref − log π_θ), same shape."""
    lr = check_finite(log_ratio, "log_ratio")
    return check_finite_result(torch.expm1(-lr) + lr, "log_ratio", "flipped k3 value")


def flipped_k3_coefficient(log_ratio: torch.Tensor) -> torch.Tensor:
    """c = e^{−ℓ} − 1 = π_θ/π_ref − 1 with ∇_θ[flipped k3 as a loss] = c ∇log π_θ(y), per sample."""
    lr = check_finite(log_ratio, "log_ratio")
    return check_finite_result(torch.expm1(-lr), "log_ratio", "flipped k3 coefficient")
