r"""REINFORCE++ token advantages (registry ``TOKEN_ADVANTAGES``), as verl implements them.

Inputs: per-token rewards ``token_rewards [..., B, G, L]`` (the outcome reward on a response's last token, plus
any per-token terms such as a KL penalty) and the token ``mask [..., B, G, L]``; output: token advantages of the
same shape (0 on padding). The whitening pools the tokens of one batch — axes (B, G, L) — with verl's
``masked_whiten`` (:func:`pgtheory.estimators.normalization.whiten`): a token-weighted (so length-weighted) mean and the Bessel-corrected token variance,
(x − mean)/√(var + 1e-8). Leading axes beyond the batch are independent replicates, whitened separately.

* ``reinforce_pp``          — the discounted return-to-go G_t = Σ_{t′≥t} γ^{t′−t} r_{t′} within each response,
  whitened over the batch's tokens (REINFORCE++, Hu et al. 2025; verl ``compute_reinforce_plus_plus_outcome_advantage``).
* ``reinforce_pp_baseline`` — the response's total reward minus its group's mean total reward (the group is axis
  G; a singleton group subtracts 0), placed on every token, whitened over the batch's tokens (verl
  ``compute_reinforce_plus_plus_baseline_outcome_advantage``).

Definitions follow verl's ``core_algos.py`` as read on 2026-11-30 (the code, not copied). Whitening makes neither
estimator unbiased for ∇J: the batch mean and std are functions of the sample itself.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite, check_finite_result, check_mask, check_real
from .._registry import Registry
from .normalization import whiten

__all__ = ["TOKEN_ADVANTAGES", "token_advantages"]

TOKEN_ADVANTAGES: Registry[Callable[..., torch.Tensor]] = Registry("token advantage")


def _whiten_batch_tokens(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """verl's ``masked_whiten`` over the batch's tokens (axes B, G, L): (x − m)/√(v + 1e-8), Bessel v; 0 on padding."""
    return whiten(x, mask=mask, std="bessel", eps=1e-8, eps_placement="variance", pool_axes=3)


@TOKEN_ADVANTAGES.register("reinforce_pp")
def _reinforce_pp(token_rewards: torch.Tensor, mask: torch.Tensor, *, gamma: float = 1.0) -> torch.Tensor:
    """Whitened discounted return-to-go per token."""
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    w = mask.to(token_rewards.dtype)
    returns = torch.zeros_like(token_rewards)
    running = torch.zeros_like(token_rewards[..., 0])
    for t in range(token_rewards.shape[-1] - 1, -1, -1):
        running = token_rewards[..., t] * w[..., t] + gamma * running * w[..., t]
        returns[..., t] = running
    return _whiten_batch_tokens(returns, mask)


@TOKEN_ADVANTAGES.register("reinforce_pp_baseline")
def _reinforce_pp_baseline(token_rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Group-centred total reward on every token, whitened over the batch's tokens."""
    scores = (token_rewards * mask.to(token_rewards.dtype)).sum(-1)  # [..., B, G]
    G = scores.shape[-1]
    centred = scores - scores.mean(-1, keepdim=True) if G > 1 else scores
    return _whiten_batch_tokens(centred[..., None].expand_as(token_rewards), mask)


def token_advantages(token_rewards: torch.Tensor, mask, kind: str = "reinforce_pp", **kwargs) -> torch.Tensor:
    """Token advantages of the named kind for ``token_rewards [..., B, G, L]`` and ``mask`` (same shape)."""
    fn = TOKEN_ADVANTAGES.resolve(kind, kwargs, n_positional=2, arg="kind")
    if not isinstance(token_rewards, torch.Tensor) or not token_rewards.dtype.is_floating_point:
        raise TypeError("token_rewards: expected a floating-point torch.Tensor [..., B, G, L]")
    check_finite(token_rewards, "token_rewards")
    mask = check_mask(mask, "mask")
    if token_rewards.ndim < 3:
        raise ValueError(f"token_rewards: expected shape [..., B, G, L] (batch, group, tokens), got {tuple(token_rewards.shape)}")
    if mask.shape != token_rewards.shape:
        raise ValueError(f"mask: expected shape {tuple(token_rewards.shape)} (as token_rewards), got {tuple(mask.shape)}")
    return check_finite_result(fn(token_rewards, mask, **kwargs), "token_rewards", f"{kind} advantage")
