r"""Exact expected update of a group policy-gradient estimator on a toy LLM, by enumerating every group.

For one prompt with N enumerated responses, G i.i.d. draws y_1..y_G ∼ π_old, group advantages A_i (a function of
the G rewards), token weights w_{i,t} (a loss aggregation, a function of the G masks) and optional per-token
importance ratios r_{i,t} = π_θ(y_{i,t}|·)/π_old(y_{i,t}|·), the estimator and its exact expectation are

.. math:: \hat g = \sum_{i,t} w_{i,t}\,A_i\,r_{i,t}\,\nabla\log\pi_\theta(y_{i,t}),\qquad
          \mathbb E\,\hat g = \sum_{\text{groups}} \Pr(\text{group})\,\hat g(\text{group})

(the gradient of the unclipped token-level surrogate Σ w A r, the ``pg`` surrogate of
:mod:`pgtheory.estimators.token_surrogates`; at θ = θ_old r = 1 and this is the on-policy update). The sum over all
N^G ordered groups is exact (:func:`pgtheory.exact.enumerate_groups`). The expectation is accumulated on the
(response, token) coefficients, so one contraction with the per-token score ``[N, L, D]`` gives E ĝ ``[D]``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import as_tensor, check_positive_int
from ..exact.groups import enumerate_groups
from .group import group_advantages

__all__ = ["expected_group_update"]

CHUNK = 100_000


def expected_group_update(probs, token_scores, rewards, mask, group_size: int,
                          token_weights: Callable[[torch.Tensor], torch.Tensor], *, advantage: str | Callable = "rloo",
                          token_ratios=None) -> torch.Tensor:
    """E ĝ ``[D]`` of the group estimator above, exactly.

    ``probs [N]`` the sampling distribution π_old(·|q); ``token_scores [N, L, D]`` ∇_θ log π_θ(y_t) of every token of
    every response (0 on padding); ``rewards [N]``; ``mask [N, L]`` real tokens; ``token_weights(mask [n, G, L]) ->
    [n, G, L]`` the aggregation (e.g. ``lambda m: aggregation_weights(m, "constant")``); ``advantage`` a name of
    :func:`pgtheory.estimators.group_advantages` or a callable ``rewards [n, G] -> [n, G]`` (e.g. one that splits the
    G draws into B sub-groups of a multi-group batch); ``token_ratios [N, L]`` r_{i,t} (None: on-policy, r = 1).
    """
    p = as_tensor(probs, "probs")
    S = as_tensor(token_scores, "token_scores")
    R = as_tensor(rewards, "rewards")
    m = torch.as_tensor(mask)
    if S.ndim != 3 or p.shape != S.shape[:1] or R.shape != p.shape or tuple(m.shape) != tuple(S.shape[:2]):
        raise ValueError(f"token_scores: expected [N, L, D] with probs [N], rewards [N], mask [N, L]; got {tuple(S.shape)}, "
                         f"{tuple(p.shape)}, {tuple(R.shape)}, {tuple(m.shape)}")
    G = check_positive_int(group_size, "group_size")
    if not callable(token_weights):
        raise TypeError(f"token_weights: expected a callable, got {type(token_weights).__name__}")
    ratio = None
    if token_ratios is not None:
        ratio = as_tensor(token_ratios, "token_ratios")
        if ratio.shape != m.shape:
            raise ValueError(f"token_ratios: expected shape {tuple(m.shape)}, got {tuple(ratio.shape)}")
    keep = p > 0  # zero-probability responses never appear in a group
    kept = torch.nonzero(keep).squeeze(-1)
    idx, pg = enumerate_groups(p[keep], G)
    idx = kept[idx]
    N, L, D = S.shape
    coef_mean = torch.zeros(N * L, dtype=torch.float64)
    for s in range(0, len(idx), CHUNK):
        ix = idx[s:s + CHUNK]
        A = advantage(R[ix]) if callable(advantage) else group_advantages(R[ix], advantage)  # [n, G]
        coef = token_weights(m[ix]) * A[..., None]  # [n, G, L]
        if ratio is not None:
            coef = coef * ratio[ix]
        rows = (ix[..., None] * L + torch.arange(L)).reshape(len(ix), -1)
        coef_mean.index_add_(0, rows.reshape(-1), (pg[s:s + CHUNK, None] * coef.reshape(len(ix), -1)).reshape(-1))
    return coef_mean @ S.reshape(N * L, D)
