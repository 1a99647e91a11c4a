r"""Importance ratios for responses of the toy LLM, from per-token log-probabilities under target and behaviour.

With r_t = π(y_t | q, y_<t)/μ(y_t | q, y_<t) over the |y| real tokens (padding excluded):

* token ratios r_t (``[..., L]``, 1 on padding) — PPO/GRPO-style token-level correction;
* the sequence ratio Π_t r_t = π(y|q)/μ(y|q) — exact importance weight (unbiased; variance grows with length);
* the length-normalised ratio (Π_t r_t)^{1/|y|} = exp(mean_t log r_t) — GSPO's sequence ratio (biased as a
  weight; a geometric mean of the token ratios).
"""
from __future__ import annotations

import torch

from .._checks import check_finite, check_finite_result, check_mask

__all__ = ["token_log_ratios", "token_ratios", "sequence_ratio", "length_normalized_ratio", "spread_to_tokens"]


def token_log_ratios(log_target: torch.Tensor, log_behaviour: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log r_t on real tokens, 0 on padding: ``[..., L]``."""
    check_finite(log_target, "log_target")
    check_finite(log_behaviour, "log_behaviour")
    mask = check_mask(mask)
    if not (log_target.shape == log_behaviour.shape == mask.shape):
        raise ValueError(f"log_behaviour, mask: expected the shape of log_target {tuple(log_target.shape)}, got "
                         f"{tuple(log_behaviour.shape)} and {tuple(mask.shape)}")
    return torch.where(mask, log_target - log_behaviour, torch.zeros_like(log_target))


_OVERFLOW = "log_target, log_behaviour"


def token_ratios(log_target, log_behaviour, mask) -> torch.Tensor:
    """r_t on real tokens, 1 on padding: ``[..., L]``."""
    return check_finite_result(token_log_ratios(log_target, log_behaviour, mask).exp(), _OVERFLOW, "token ratio (overflow)")


def sequence_ratio(log_target, log_behaviour, mask) -> torch.Tensor:
    """Π_t r_t = π(y|q)/μ(y|q): ``[...]``."""
    return check_finite_result(token_log_ratios(log_target, log_behaviour, mask).sum(-1).exp(), _OVERFLOW, "sequence ratio (overflow)")


def length_normalized_ratio(log_target, log_behaviour, mask) -> torch.Tensor:
    """(Π_t r_t)^{1/|y|}: ``[...]`` (every response has at least one token, its EOS)."""
    lr = token_log_ratios(log_target, log_behaviour, mask)
    n = check_mask(mask).sum(-1)
    if bool((n == 0).any()):
        raise ValueError("mask: a response with no tokens has no length-normalised ratio")
    return check_finite_result((lr.sum(-1) / n).exp(), _OVERFLOW, "length-normalised ratio (overflow)")


def spread_to_tokens(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A per-response value ``v [...]`` placed on every real token: ``[..., L]``, 0 on padding (``mask [..., L]``,
    bool or 0/1). A token-weighted sum Σ_t w_t·v then equals (the response's total weight)·v. No validation."""
    return v[..., None] * mask.to(v.dtype)
