r"""Loss aggregation over the tokens of a group (registry ``LOSS_AGGREGATIONS``): token weights w_{i,t}.

A group's gradient is Σ_{i,t} w_{i,t} c_{i,t} ∇log π(y_{i,t}), with c the per-token coefficient (advantage ×
ratio terms) and w from the aggregation, for G responses of lengths L_i (L_max the task's maximum length):

===========================  ====================================  ================================================
name                         w_{i,t}                               used by
===========================  ====================================  ================================================
``token_mean``               1 / Σ_j L_j                           DAPO (the paper's per-group formula)
``seq_mean_token_mean``      1 / (G L_i)                           GRPO
``seq_mean_token_sum``       1 / G                                 REINFORCE / RLOO (unbiased for E Σ_t); LUSPO
``constant``                 1 / (G L_max)                         Dr. GRPO (a constant: unbiased up to scale)
``delta_l``                  L_i^{−α} / Σ_j L_j^{−α}               ΔL normalisation (α = 1 default)
``batch_token_mean``         1 / Σ_{b,j} L_{b,j}, mask [..., B,    verl ``token-mean``, TRL ``dapo``/``bnpo``
                             G, L]: one denominator for B groups   (DAPO as deployed: a mini-batch pooled)
``seq_mean_token_sum_norm``  1 / L_max (or 1 / loss_scale_factor)  verl ``seq-mean-token-sum-norm``
===========================  ====================================  ================================================

Only ``seq_mean_token_sum``, ``constant`` and ``seq_mean_token_sum_norm`` are data-independent; the others weight
responses by their length, so they estimate c·∇J only if E[gradient of a response | its length] does not depend on
the length.

verl's ``agg_loss`` (``verl/trainer/ppo/core_algos.py``, read on 2026-11-30) on a loss matrix [n, L] of n sequences:
``token-mean`` = Σ ℓ·m / Σ m over the whole batch it is given (``batch_token_mean``); ``seq-mean-token-sum`` and
``seq-mean-token-mean`` = the mean over the n sequences of the token sum / token mean (``seq_mean_token_sum`` and
``seq_mean_token_mean`` averaged over groups); ``seq-mean-token-sum-norm`` = Σ ℓ·m / ``loss_scale_factor`` (default
the padded width ``loss_mask.shape[-1]``) — a sum over sequences, not a mean, so it is G × ``constant`` per group.

LUSPO (Liu et al. 2026, arXiv 2602.05261; TRL ``loss_type="luspo"``: ``(per_token_loss * mask.sum(1)).mean()`` on
GSPO's per-sequence loss, read on 2026-11-30) needs no entry of its own: scaling GSPO's sequence loss ℓ_i by its
length and averaging over sequences, (1/G) Σ_i L_i ℓ_i, is ``seq_mean_token_sum`` applied to the ``gspo`` token values
(each response's value sits on its L_i tokens). The LUSPO paper's own equations were not read here; the aggregation
is verified from TRL's implementation and the authors' description ("scaling each sequence's loss by its length").
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite_result, check_mask, check_real
from .._registry import Registry

__all__ = ["LOSS_AGGREGATIONS", "aggregation_weights"]

AggFn = Callable[..., torch.Tensor]
LOSS_AGGREGATIONS: Registry[AggFn] = Registry("loss aggregation")


def _lengths(mask):
    return mask.sum(-1).to(torch.float64)  # [..., G]


@LOSS_AGGREGATIONS.register("token_mean")
def _token_mean(mask: torch.Tensor) -> torch.Tensor:
    """1 / Σ_j L_j: every real token of the group weighs the same."""
    return mask / _lengths(mask).sum(-1)[..., None, None]


@LOSS_AGGREGATIONS.register("seq_mean_token_mean")
def _seq_mean_token_mean(mask: torch.Tensor) -> torch.Tensor:
    """1 / (G L_i): the mean over each response's tokens, then over the G responses."""
    return mask / (mask.shape[-2] * _lengths(mask))[..., None]


@LOSS_AGGREGATIONS.register("seq_mean_token_sum")
def _seq_mean_token_sum(mask: torch.Tensor) -> torch.Tensor:
    """1 / G: the sum over each response's tokens, the mean over responses."""
    return mask / mask.shape[-2] + 0.0


@LOSS_AGGREGATIONS.register("constant")
def _constant(mask: torch.Tensor) -> torch.Tensor:
    """1 / (G L_max), L_max the padded width: a data-independent constant (Dr. GRPO)."""
    return mask / (mask.shape[-2] * mask.shape[-1]) + 0.0


@LOSS_AGGREGATIONS.register("delta_l")
def _delta_l(mask: torch.Tensor, *, alpha: float = 1.0) -> torch.Tensor:
    """L_i^{−α} / Σ_j L_j^{−α}, computed as softmax_i(−α log L_i) so that no power overflows or underflows to 0/0."""
    alpha = check_real(alpha, "alpha")
    x = torch.softmax(-alpha * _lengths(mask).log(), -1)
    return mask * x[..., None]


@LOSS_AGGREGATIONS.register("batch_token_mean")
def _batch_token_mean(mask: torch.Tensor) -> torch.Tensor:
    r"""Token-mean pooled over a batch of B groups: w_{b,i,t} = 1 / Σ_{b',j} L_{b',j}, ``mask [..., B, G, L]`` → same.

    The denominator runs over the last three axes (B, G, L): every real token of the B·G responses of a multi-prompt
    batch shares it, as verl's ``agg_loss(loss_agg_mode="token-mean")`` (``masked_sum / batch_num_tokens``, by default
    the tokens of the micro-batch it is given) and TRL's ``loss_type="dapo"`` (sum / ``num_items_in_batch``, the
    tokens of the global batch) and ``"bnpo"`` (the local batch) do. A ``[G, L]`` mask is read as B = 1 (then this
    is ``token_mean``); a leading axis before B indexes independent batches.

    Exact bias. Write n_b = Σ_{i,t} c_{b,i,t} ∇log π(y_{b,i,t}) and d_b = Σ_i L_{b,i} for group b, the B groups
    exchangeable (i.i.d. prompts and responses). The estimate is ĝ_B = Σ_b n_b / Σ_b d_b, so

    .. math:: \mathbb E\,\hat g_B = B\,\mathbb E\Big[\frac{n_1}{d_1 + D_{B-1}}\Big],\qquad D_{B-1} = d_2 + \dots + d_B
              \ \text{independent of group 1},

    which tends to g_∞ = E n / E d (a length-weighted gradient: c·∇J only if length and gradient are unrelated) with
    bias (E n·Var d / (E d)³ − Cov(n, d) / (E d)²) / B + O(B^{-2}). Per-group ``token_mean`` has E[n_1 / d_1]
    — the B = 1 value — whatever the batch size.
    """
    axes = tuple(range(-min(mask.ndim, 3), 0))
    return check_finite_result(mask / mask.sum(axes, keepdim=True), "mask", "batch token-mean weight")


@LOSS_AGGREGATIONS.register("seq_mean_token_sum_norm")
def _seq_mean_token_sum_norm(mask: torch.Tensor, *, loss_scale_factor: float | None = None) -> torch.Tensor:
    r"""verl's Σ/L_max: w_{i,t} = 1 / loss_scale_factor (default L_max = the padded width ``mask.shape[-1]``).

    ``mask [..., G, L]`` → weights of the same shape. verl ``agg_loss(loss_agg_mode="seq-mean-token-sum-norm")``
    returns Σ_{i,t} ℓ_{i,t} m_{i,t} / loss_scale_factor — despite its name a *sum* over sequences, so per group it is
    G × ``constant`` (TRL's ``dr_grpo`` divides by G·max_completion_length, i.e. ``constant``). The weight is a
    constant, so with an advantage that makes E[A_i ∇log π(y_i)] = ∇J (RLOO), E Σ_{i,t} w_{i,t} A_i ∇log π(y_{i,t}) =
    (G / L_max)·∇J exactly: unbiased up to that scale. verl's default divisor is the padded width of the batch, a
    constant only if responses are padded to the configured maximum; ``loss_scale_factor`` fixes it (verl
    ``actor.loss_scale_factor``, default null, read on 2026-11-30).
    """
    if loss_scale_factor is None:
        scale = mask.shape[-1]
    else:
        scale = check_real(loss_scale_factor, "loss_scale_factor", low=0.0, low_open=True)
    return check_finite_result(mask / scale, "mask, loss_scale_factor", "seq-mean-token-sum-norm weight")


def aggregation_weights(mask: torch.Tensor, kind: str = "seq_mean_token_mean", **kwargs) -> torch.Tensor:
    """Token weights ``[..., G, L]`` (0 on padding) of the named aggregation for the token mask ``[..., G, L]``.

    ``mask`` is boolean (or 0/1); keywords are those of the chosen aggregation (``alpha=`` for ``delta_l``,
    ``loss_scale_factor=`` for ``seq_mean_token_sum_norm``); ``batch_token_mean`` reads the mask as ``[..., B, G, L]``.
    """
    fn = LOSS_AGGREGATIONS.resolve(kind, kwargs, n_positional=1, arg="kind")
    mask = check_mask(mask)
    if mask.ndim < 2:
        raise ValueError(f"mask: expected [..., G, L], got shape {tuple(mask.shape)}")
    if bool((mask.sum(-1) == 0).any()):
        raise ValueError("mask: every response needs at least one token")
    return fn(mask.to(torch.float64), **kwargs)
