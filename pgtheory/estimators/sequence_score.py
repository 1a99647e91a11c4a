r"""Score-function contraction for the tabular sequence policy: Σ_i c_i ∇_θ log π_θ(y_i | q) per group.

For a token v after prefix p of prompt q, ∇_{θ[q,p,·]} log softmax(θ[q,p])[v] = e_v − π(·|q,p). So one
scatter-add of the coefficients into W[b, q, p, v] followed by W − π ⊙ Σ_v W gives every group's sum,
with no per-sample autograd. Memory: B·M·P·V floats (meant for small enumerable tasks).
"""
from __future__ import annotations

import torch

from .._checks import check_finite, check_shape
from ..policies.sequence import TabularSequencePolicy
from ..sampling.sequence import SequenceGroups

__all__ = ["sequence_score_sum", "expected_score_sum"]


def sequence_score_sum(policy: TabularSequencePolicy, theta: torch.Tensor, groups: SequenceGroups, coef: torch.Tensor) -> torch.Tensor:
    """Σ_{i ∈ group b} coef[b, i] ∇_θ log π_θ(y_{b,i} | q_b), ``[B, M, P, V]`` (θ: a single table [M, P, V]).

    ``coef [B, G]`` weights whole responses; ``coef [B, G, L]`` weights each token's ∇log π_θ(y_t | q, y_<t)
    separately (token-level surrogates; entries on padding are ignored).
    """
    if not isinstance(policy, TabularSequencePolicy):
        raise TypeError(f"policy: expected a TabularSequencePolicy, got {type(policy).__name__}")
    if not isinstance(groups, SequenceGroups):
        raise TypeError(f"groups: expected SequenceGroups, got {type(groups).__name__}")
    theta = check_shape(policy.check_params(theta), "theta", policy.param_shape, "one table [M, P, V]")
    check_finite(coef.detach() if isinstance(coef, torch.Tensor) else coef, "coef")
    B, G = groups.index.shape
    if groups.prompts.numel() and int(groups.prompts.max()) >= policy.param_shape[0]:
        raise ValueError(f"groups: prompt {int(groups.prompts.max())} does not exist for the policy's {policy.param_shape[0]} prompts")
    if coef.shape not in ((B, G), tuple(groups.mask.shape)):
        raise ValueError(f"coef: expected shape [B, G] = {(B, G)} or [B, G, L] = {tuple(groups.mask.shape)}, got {tuple(coef.shape)}")
    task = policy.task
    M, P, V = policy.param_shape
    dev = theta.device
    pre = task.prefix_ids.to(dev)[groups.index]  # [B, G, L]
    tok = groups.tokens.clamp_min(0)
    mask = groups.mask
    b = torch.arange(B, device=dev)[:, None, None].expand_as(pre)
    q = groups.prompts[:, None, None].expand_as(pre)
    flat = ((b * M + q) * P + pre) * V + tok
    vals = (coef[:, :, None].expand_as(pre) if coef.ndim == 2 else coef).to(theta.dtype)
    W = torch.zeros(B * M * P * V, dtype=theta.dtype, device=dev).index_add_(0, flat[mask], vals[mask]).view(B, M, P, V)
    pi = torch.softmax(theta, -1)
    return W - pi * W.sum(-1, keepdim=True)


def expected_score_sum(policy: TabularSequencePolicy, theta: torch.Tensor, groups: SequenceGroups, coef: torch.Tensor,
                       prob: torch.Tensor) -> torch.Tensor:
    """Σ_b prob[b] · :func:`sequence_score_sum` ``(…)[b]`` flattened, ``[dim θ]``: the exact expectation of a per-group
    estimate over an enumeration of groups (``groups, prob`` from :func:`pgtheory.sampling.enumerate_sequence_groups`)."""
    per_group = sequence_score_sum(policy, theta, groups, coef).reshape(len(prob), -1)
    return torch.einsum("b,b...->...", prob, per_group)
