r"""Loss aggregation over the tokens of a group (registry ``LOSS_AGGREGATIONS``): token weights w_{i,t}.

A group's gradient is Σ_{i,t} w_{i,t} c_{i,t} ∇log π(y_{i,t}), with c the per-token coefficient (advantage ×
ratio terms) and w from the aggregation, for G responses of lengths L_i (L_max the task's maximum length):

=======================  ==================================  =========================================
name                     w_{i,t}                              used by
=======================  ==================================  =========================================
``token_mean``           1 / Σ_j L_j                          DAPO
``seq_mean_token_mean``  1 / (G L_i)                          GRPO
``seq_mean_token_sum``   1 / G                                REINFORCE / RLOO (unbiased for E Σ_t)
``constant``             1 / (G L_max)                        Dr. GRPO (a constant: unbiased up to scale)
``delta_l``              L_i^{−α} / Σ_j L_j^{−α}              ΔL normalisation (α = 1 default)
=======================  ==================================  =========================================

Only ``seq_mean_token_sum`` and ``constant`` are data-independent; the others weight responses by their
length, so they estimate c·∇J only if E[gradient of a response | its length] does not depend on the length.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_mask, check_real
from .._registry import Registry

__all__ = ["LOSS_AGGREGATIONS", "aggregation_weights"]

AggFn = Callable[..., torch.Tensor]
LOSS_AGGREGATIONS: Registry[AggFn] = Registry("loss aggregation")


def _lengths(mask):
    return mask.sum(-1).to(torch.float64)  # [..., G]


LOSS_AGGREGATIONS.register("token_mean")(lambda mask: mask / _lengths(mask).sum(-1)[..., None, None])
LOSS_AGGREGATIONS.register("seq_mean_token_mean")(lambda mask: mask / (mask.shape[-2] * _lengths(mask))[..., None])
LOSS_AGGREGATIONS.register("seq_mean_token_sum")(lambda mask: mask / mask.shape[-2] + 0.0)
LOSS_AGGREGATIONS.register("constant")(lambda mask: mask / (mask.shape[-2] * mask.shape[-1]) + 0.0)


@LOSS_AGGREGATIONS.register("delta_l")
def _delta_l(mask: torch.Tensor, *, alpha: float = 1.0) -> torch.Tensor:
    """L_i^{−α} / Σ_j L_j^{−α}, computed as softmax_i(−α log L_i) so that no power overflows or underflows to 0/0."""
    alpha = check_real(alpha, "alpha")
    x = torch.softmax(-alpha * _lengths(mask).log(), -1)
    return mask * x[..., None]


def aggregation_weights(mask: torch.Tensor, kind: str = "seq_mean_token_mean", **kwargs) -> torch.Tensor:
    """Token weights ``[..., G, L]`` (0 on padding) of the named aggregation for the token mask ``[..., G, L]``.

    ``mask`` is boolean (or 0/1); keywords are those of the chosen aggregation (``alpha=`` for ``delta_l``).
    """
    fn = LOSS_AGGREGATIONS.resolve(kind, kwargs, n_positional=1, arg="kind")
    mask = check_mask(mask)
    if mask.ndim < 2:
        raise ValueError(f"mask: expected [..., G, L], got shape {tuple(mask.shape)}")
    if bool((mask.sum(-1) == 0).any()):
        raise ValueError("mask: every response needs at least one token")
    return fn(mask.to(torch.float64), **kwargs)
