r"""Per-sample surrogate objectives of ratio-based policy optimisation, registered by name.

With the likelihood ratio r = π_θ(a|s)/π_old(a|s) and an advantage estimate Â, one value per sample:

=============  ==========================================================  ==============================
name           per-sample objective                                        reference
=============  ==========================================================  ==============================
``cpi``        r Â                                                         Kakade & Langford 2002
``ppo_clip``   min(r Â, clip(r, 1 − ε, 1 + ε) Â)                            Schulman et al. 2017, Eq. 7
=============  ==========================================================  ==============================

Properties (tested): ppo_clip ≤ cpi pointwise; both equal Â with equal gradients at r = 1.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite, check_real
from .._registry import Registry

__all__ = ["SURROGATES", "cpi_objective", "ppo_clip_objective"]

SurrogateFn = Callable[..., torch.Tensor]
SURROGATES: Registry[SurrogateFn] = Registry("surrogate objective")


def _check_eps(eps: float) -> float:
    eps = check_real(eps, "eps")
    if not 0 < eps < 1:
        raise ValueError(f"eps: the clip range must lie in (0, 1), got {eps}")
    return eps


def _check_pair(ratio: torch.Tensor, advantage: torch.Tensor) -> None:
    check_finite(ratio, "ratio")
    check_finite(advantage, "advantage")
    if bool((ratio < 0).any()):
        raise ValueError("ratio: importance ratios must be non-negative")
    try:
        torch.broadcast_shapes(ratio.shape, advantage.shape)
    except RuntimeError:
        raise ValueError(f"ratio, advantage: shapes {tuple(ratio.shape)} and {tuple(advantage.shape)} do not broadcast") from None


@SURROGATES.register("cpi")
def cpi_objective(ratio: torch.Tensor, advantage: torch.Tensor) -> torch.Tensor:
    """r Â per sample (the conservative-policy-iteration surrogate L^CPI); ``ratio`` and ``advantage`` broadcast."""
    _check_pair(ratio, advantage)
    return ratio * advantage


@SURROGATES.register("ppo_clip")
def ppo_clip_objective(ratio: torch.Tensor, advantage: torch.Tensor, *, eps: float = 0.2) -> torch.Tensor:
    """min(r Â, clip(r, 1 − ε, 1 + ε) Â) per sample (PPO's L^CLIP)."""
    eps = _check_eps(eps)
    unclipped = cpi_objective(ratio, advantage)
    return torch.minimum(unclipped, ratio.clamp(1 - eps, 1 + eps) * advantage)
