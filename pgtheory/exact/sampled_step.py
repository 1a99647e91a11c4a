r"""Exact law of one sampled REINFORCE step on softmax logits, by enumerating the batch's action counts.

A K-armed softmax π = softmax(z) takes one step with a batch of B actions a_1..a_B ∼ π and per-arm rewards r_a
(deterministic; a baseline b not depending on the batch):

.. math:: z' = z + \frac{\eta}{B}\sum_{b=1}^{B} (r_{a_b} - b)\,(e_{a_b} - \pi)
             = z + \frac{\eta}{B}\sum_a n_a (r_a - b)\,(e_a - \pi),

a function of the counts n ∼ Multinomial(B, π) only, so E f(z') is a finite sum over the C(B + K − 1, K − 1)
compositions of B. With a constant reward r ≡ c and b = 0 the expected step is 0 (E n = Bπ and Σπ(e_a − π) = 0),
but E f(z') − f(z) is not: to second order it is (η²c²/(2B))·tr(∇²f(z)·(diag π − ππᵀ)), since Cov(n/B) = (diag π −
ππᵀ)/B. Used for the peakiness effect of constant-reward REINFORCE (seed L119).
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real

__all__ = ["batch_count_compositions", "expected_reinforce_step_change", "softmax_entropy"]


def batch_count_compositions(batch: int, n_arms: int) -> torch.Tensor:
    """Every count vector n ∈ ℕ^K with Σ n = B: ``[C(B + K − 1, K − 1), K]`` int64 (stars and bars)."""
    B = check_positive_int(batch, "batch")
    K = check_positive_int(n_arms, "n_arms")
    rows = []
    for bars in itertools.combinations(range(B + K - 1), K - 1):
        edges = (-1,) + bars + (B + K - 1,)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(K)])
    return torch.tensor(rows, dtype=torch.long)


def softmax_entropy(logits: Any) -> torch.Tensor:
    """H(softmax(z)) = −Σ_a π_a log π_a for logits ``[..., K]`` → ``[...]`` (stable: via log_softmax)."""
    z = check_finite(as_tensor(logits, "logits"), "logits")
    lp = torch.log_softmax(z, -1)
    return -(lp.exp() * lp).sum(-1)


def expected_reinforce_step_change(logits: Any, rewards: Any, step: float, batch: int,
                                   fn: Callable[[torch.Tensor], torch.Tensor] = softmax_entropy, *,
                                   baseline: float = 0.0) -> torch.Tensor:
    """E[f(z') − f(z)] for one sampled REINFORCE step of size ``step`` with ``batch`` actions, exactly.

    ``logits [..., K]``, ``rewards [K]`` or ``[..., K]`` (per arm); ``fn`` maps logits ``[..., K]`` to ``[...]``
    (default: the entropy). Returns ``[...]``. The sum runs over all count vectors of the batch (refused above
    200 000 of them).
    """
    z = check_finite(as_tensor(logits, "logits"), "logits")
    if z.ndim < 1 or z.shape[-1] < 2:
        raise ValueError(f"logits: expected [..., K] with K >= 2, got {tuple(z.shape)}")
    K = z.shape[-1]
    r = check_finite(as_tensor(rewards, "rewards"), "rewards")
    if r.shape[-1:] != (K,):
        raise ValueError(f"rewards: expected [..., {K}] (one per arm), got {tuple(r.shape)}")
    eta = check_real(step, "step", low=0.0)
    B = check_positive_int(batch, "batch")
    b = check_real(baseline, "baseline")
    if math.comb(B + K - 1, K - 1) > 200_000:
        raise ValueError(f"batch: {math.comb(B + K - 1, K - 1)} count vectors for B = {B}, K = {K} exceed 200000")
    n = batch_count_compositions(B, K).to(z.device, torch.float64)  # [C, K]
    logp = torch.log_softmax(z, -1)
    pi = logp.exp()
    log_coef = math.lgamma(B + 1) - torch.lgamma(n + 1).sum(-1)  # [C]
    log_prob = log_coef + (n * logp[..., None, :]).sum(-1)  # [..., C]
    weight = n * (r - b)[..., None, :] / B  # [..., C, K]: (1/B) n_a (r_a − b)
    delta = eta * (weight - weight.sum(-1, keepdim=True) * pi[..., None, :])  # Σ_a w_a (e_a − π)
    f_new = fn(z[..., None, :] + delta)  # [..., C]
    out = (log_prob.exp() * f_new).sum(-1) - fn(z)
    return check_finite_result(out, "logits, rewards, step", "expected change")
