r"""Guided (product) policies of CFGRL (seed L79): π_w(a|s) ∝ π̂(a|s)·f(A^{π̂}(s, a))^w, and J along the guidance weight.

Frans, Park, Abbeel & Levine (2025), "Diffusion Guidance Is a Controllable Policy Improvement Operator": a reference
policy π̂ times an optimality factor f(A^{π̂}) that is non-negative and non-decreasing in π̂'s advantage; the guidance
weight w attenuates or sharpens the factor. Classifier-free guidance realises the same law as
π_w ∝ π̂^{1−w}·π(·|s, o = 1)^w with π(a|s, o = 1) ∝ π̂(a|s)·f(A^{π̂}(s, a)) (:func:`guided_policy` takes log f).

Optimality factors (registry-free, by name in :data:`OPTIMALITY_FACTORS`): ``"sigmoid"`` f = σ(A/T) (a binary
optimality likelihood p(o = 1|s, a)), ``"exp"`` f = e^{A/T} (the KL-regularised form, Remark 3 as summarised), and the
decreasing ``"anti_sigmoid"`` f = σ(−A/T) (not the paper's: a twin that must not improve).

Source: the seed abstract (line 79) and public summaries of the paper's Theorems 1–2 (π_w improves on π̂ for w > 0;
π_{w₂} on π_{w₁} for w₂ > w₁ ≥ 0); the paper body's exact assumptions were not verified.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import check_real
from ..problems.mdp import TabularMDP
from .evaluation import advantages, check_policy, objective

__all__ = ["OPTIMALITY_FACTORS", "log_optimality_factor", "guided_policy", "guidance_curve"]

OPTIMALITY_FACTORS = ("sigmoid", "exp", "anti_sigmoid")


def log_optimality_factor(advantage: torch.Tensor, kind: str, temperature: float) -> torch.Tensor:
    r"""log f(A) elementwise for ``kind`` in :data:`OPTIMALITY_FACTORS` at temperature T > 0 (same shape as A)."""
    if not isinstance(advantage, torch.Tensor) or not advantage.dtype.is_floating_point:
        raise TypeError(f"advantage: expected a floating-point torch.Tensor, got {type(advantage).__name__}")
    T = check_real(temperature, "temperature", low=0.0, low_open=True)
    if kind == "sigmoid":
        return F.logsigmoid(advantage / T)
    if kind == "exp":
        return advantage / T
    if kind == "anti_sigmoid":
        return F.logsigmoid(-advantage / T)
    raise ValueError(f"kind: unknown optimality factor {kind!r}; known: {', '.join(OPTIMALITY_FACTORS)}")


def guided_policy(pi_ref: torch.Tensor, log_factor: torch.Tensor, weight) -> torch.Tensor:
    r"""π_w(a|s) = π̂(a|s) f^w / Σ_b π̂(b|s) f(b)^w for every w in ``weight``.

    ``pi_ref [S, A]`` (strictly positive rows), ``log_factor [S, A]`` = log f, ``weight`` a scalar or ``[W]`` tensor
    of w ≥ 0. Returns ``[S, A]`` for a scalar weight, ``[W, S, A]`` otherwise.
    """
    if not isinstance(pi_ref, torch.Tensor) or not pi_ref.dtype.is_floating_point:
        raise TypeError(f"pi_ref: expected a floating-point torch.Tensor, got {type(pi_ref).__name__}")
    if pi_ref.ndim != 2 or bool((pi_ref <= 0).any()):
        raise ValueError("pi_ref: expected a [S, A] policy with strictly positive probabilities")
    if not isinstance(log_factor, torch.Tensor) or log_factor.shape != pi_ref.shape:
        raise ValueError(f"log_factor: expected a tensor of shape {tuple(pi_ref.shape)} (as pi_ref)")
    w = torch.as_tensor(weight, dtype=pi_ref.dtype)
    if w.ndim > 1 or not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError("weight: expected a finite scalar or 1-D tensor of guidance weights w ≥ 0")
    logits = pi_ref.log() + w.reshape(-1, 1, 1) * log_factor
    out = torch.softmax(logits, dim=-1)
    return out[0] if w.ndim == 0 else out


def guidance_curve(mdp: TabularMDP, pi_ref: torch.Tensor, weights: torch.Tensor, kind: str,
                   temperature_scale: float) -> torch.Tensor:
    r"""Exact J(π_w) for every w in ``weights [W]``: f of ``kind`` on π̂'s advantage A^{π̂}, with temperature
    T = ``temperature_scale`` · max_{s,a} |A^{π̂}(s, a)| (so T is in units of the instance's advantage range). ``[W]``."""
    pi_ref = check_policy(mdp, pi_ref, "pi_ref")
    adv = advantages(mdp, pi_ref)
    scale = check_real(temperature_scale, "temperature_scale", low=0.0, low_open=True)
    T = scale * float(adv.abs().max().clamp_min(1e-300))
    return objective(mdp, guided_policy(pi_ref, log_optimality_factor(adv, kind, T), weights))
