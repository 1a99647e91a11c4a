r"""Probability-smoothing policy optimisation (PSPO; seed L177): the smoothed ratio and its token surrogates.

PSPO (Dwyer, Sobey & Chapman 2025, "It's Not You, It's Clipping") smooths the current policy toward the old one
before forming the importance ratio, as label smoothing does toward the uniform law:

.. math:: \tilde\pi = (1 - \alpha)\,\pi_\theta + \alpha\,\pi_{old}, \qquad
          \tilde r_t = \tilde\pi(y_t)/\pi_{old}(y_t) = (1 - \alpha)\,r_t + \alpha,\qquad \alpha \in [0, 1).

Two exact consequences (checked by the tests): ``r̃ − 1 = (1 − α)(r − 1)``; and, because r̃ is affine in r, the
smoothed surrogate r̃·A has ∂/∂lp_t = (1 − α)·r_t·A — exactly (1 − α) times the unclipped importance-weighted
surrogate's coefficient, never zero where A ≠ 0 (no clipping zone). On next-token laws the smoothing contracts
divergences from π_old: TV(π̃, π_old) = (1 − α)·TV(π_θ, π_old) (an equality) and, by joint convexity of KL,
KL(π̃ ‖ π_old) ≤ (1 − α)·KL(π_θ ‖ π_old) (:func:`smoothed_distribution`).

Registered into :data:`~pgtheory.estimators.token_surrogates.TOKEN_SURROGATES` when this module is imported:

==============  ==========================================================  ===================================
name            per-token value (A = advantage of the response)              reading
==============  ==========================================================  ===================================
``pspo``        r̃_t A, r̃_t = (1 − α) r_t + α, α = 0.1 (no clipping)          GR-PSPO as the abstract describes it
``pspo_clip``   min(r̃_t A, clip(r̃_t, 1 − ε, 1 + ε) A), ε = 0.2               the alternative reading (clip kept on
                                                                              r̃; equals PPO's clip at ε/(1 − α))
==============  ==========================================================  ===================================

Source: the seed abstract (line 177) and the arXiv v2 abstract (2509.21282: "our method uses a linear
interpolation"); the TV/KL contraction statements as summarised publicly. Whether GR-PSPO keeps a clip on r̃, and
the paper's α, were not verified from the paper body; hence both readings are registered.
"""
from __future__ import annotations

import torch

from .._checks import check_real
from .token_surrogates import TOKEN_SURROGATES

__all__ = ["smoothed_ratio", "smoothed_distribution", "DEFAULT_ALPHA"]

#: the smoothing weight used when none is given (a plausible middle value; the paper's default was not verified)
DEFAULT_ALPHA = 0.1


def _check_alpha(alpha) -> float:
    return check_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)


def smoothed_ratio(ratio: torch.Tensor, alpha: float = DEFAULT_ALPHA) -> torch.Tensor:
    r"""r̃ = (1 − α)·r + α: the ratio of the smoothed policy (1 − α)π_θ + απ_old to π_old, same shape as ``ratio``."""
    if not isinstance(ratio, torch.Tensor) or not ratio.dtype.is_floating_point:
        raise TypeError(f"ratio: expected a floating-point torch.Tensor, got {type(ratio).__name__}")
    a = _check_alpha(alpha)
    return (1 - a) * ratio + a


def smoothed_distribution(probs: torch.Tensor, probs_old: torch.Tensor, alpha: float = DEFAULT_ALPHA) -> torch.Tensor:
    r"""π̃ = (1 − α)·π + α·π_old over the last axis (laws ``[..., K]`` of the same shape); a law again."""
    for t, n in ((probs, "probs"), (probs_old, "probs_old")):
        if not isinstance(t, torch.Tensor) or not t.dtype.is_floating_point:
            raise TypeError(f"{n}: expected a floating-point torch.Tensor, got {type(t).__name__}")
        if bool((t < 0).any()) or not torch.allclose(t.sum(-1), torch.ones((), dtype=t.dtype), atol=1e-9):
            raise ValueError(f"{n}: expected probability vectors on the last axis (non-negative, summing to 1)")
    if probs.shape != probs_old.shape:
        raise ValueError(f"probs_old: expected shape {tuple(probs.shape)} (as probs), got {tuple(probs_old.shape)}")
    a = _check_alpha(alpha)
    return (1 - a) * probs + a * probs_old


@TOKEN_SURROGATES.register("pspo")
def _pspo(lp, lo, adv, mask, *, alpha: float = DEFAULT_ALPHA):
    """PSPO: r̃_t·A with r̃_t = (1 − α)e^{lp_t − lo_t} + α and no clipping; ∂/∂lp_t = (1 − α) r_t A."""
    return smoothed_ratio(torch.exp(lp - lo), alpha) * adv[..., None].expand_as(lp)


@TOKEN_SURROGATES.register("pspo_clip")
def _pspo_clip(lp, lo, adv, mask, *, alpha: float = DEFAULT_ALPHA, eps: float = 0.2):
    """PPO's pessimistic clip applied to the smoothed ratio: min(r̃ A, clip(r̃, 1 − ε, 1 + ε) A)."""
    rt = smoothed_ratio(torch.exp(lp - lo), alpha)
    A = adv[..., None].expand_as(lp)
    return torch.minimum(rt * A, rt.clamp(1 - eps, 1 + eps) * A)
