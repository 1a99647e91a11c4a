r"""Exact moments of the single-sample score-function (REINFORCE) estimator over a finite response set.

For responses y with probabilities π(y), scores s(y) = ∇_θ log π(y) ∈ R^D, rewards R(y) and a baseline b that
does not depend on y, the estimator ĝ = s(y)(R(y) − b), y ∼ π, has

.. math:: \mathbb E\,\hat g = \sum_y \pi(y)\,R(y)\,s(y) = \nabla J,\qquad
          \operatorname{Cov}\hat g = \sum_y \pi(y)\,(R(y) - b)^2\, s(y)s(y)^\top - \nabla J\,\nabla J^\top,

and the Fisher matrix Γ = Σ_y π(y) s(y)s(y)ᵀ (the score has mean 0, so ∇J does not depend on b). Used to check
bounds that relate Cov ĝ, Γ and the reward variance Var_π(R) (e.g. MMR1's "variance sandwich", seed L167).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .._checks import as_tensor, check_finite_result, check_probabilities

__all__ = ["ScoreMoments", "score_function_moments", "softmax_minimal_scores"]


class ScoreMoments(NamedTuple):
    """``mean [..., D]`` (= ∇J), ``covariance [..., D, D]`` of ĝ, ``fisher [..., D, D]``, ``reward_variance [...]``."""

    mean: torch.Tensor
    covariance: torch.Tensor
    fisher: torch.Tensor
    reward_variance: torch.Tensor


def score_function_moments(probs: Any, scores: Any, rewards: Any, baseline: Any = None) -> ScoreMoments:
    """Exact mean and covariance of ĝ = s(y)(R(y) − b) for y ∼ ``probs``, and the Fisher matrix E[s sᵀ].

    ``probs [..., N]`` (a distribution over N responses), ``scores [..., N, D]``, ``rewards [..., N]``; ``baseline``
    ``[...]`` or a number (default: the optimal action-independent baseline E_π R). Returns :class:`ScoreMoments`.
    """
    p = check_probabilities(as_tensor(probs, "probs"), "probs")
    s = as_tensor(scores, "scores")
    r = as_tensor(rewards, "rewards")
    if s.ndim != p.ndim + 1 or tuple(s.shape[:-1]) != tuple(p.shape):
        raise ValueError(f"scores: expected shape {tuple(p.shape)} + (D,), got {tuple(s.shape)}")
    if tuple(r.shape) != tuple(p.shape):
        raise ValueError(f"rewards: expected shape {tuple(p.shape)} (as probs), got {tuple(r.shape)}")
    mean_r = (p * r).sum(-1)
    b = mean_r if baseline is None else torch.broadcast_to(as_tensor(baseline, "baseline"), mean_r.shape)
    grad = ((p * r)[..., None] * s).sum(-2)
    w = p * (r - b[..., None]) ** 2
    second = torch.einsum("...n,...ni,...nj->...ij", w, s, s)
    cov = second - grad[..., :, None] * grad[..., None, :]
    fisher = torch.einsum("...n,...ni,...nj->...ij", p, s, s)
    var_r = (p * (r - mean_r[..., None]) ** 2).sum(-1)
    return ScoreMoments(check_finite_result(grad, "probs, scores, rewards", "∇J"),
                        check_finite_result(cov, "probs, scores, rewards, baseline", "covariance"),
                        check_finite_result(fisher, "probs, scores", "Fisher matrix"), var_r)


def softmax_minimal_scores(probs: Any) -> torch.Tensor:
    """Scores of a K-armed softmax in its minimal (identifiable) coordinates z_1..z_{K−1}, z_K ≡ 0.

    s(a)_i = 1[a = i] − π_i for i < K: ``probs [..., K]`` → ``[..., K, K − 1]``. Its Fisher matrix
    diag(π_{<K}) − π_{<K}π_{<K}ᵀ is positive definite whenever π > 0 (the full K-logit softmax is not: Γ·1 = 0).
    """
    p = check_probabilities(as_tensor(probs, "probs"), "probs")
    K = p.shape[-1]
    if K < 2:
        raise ValueError(f"probs: need K >= 2 arms, got {K}")
    eye = torch.eye(K, K - 1, dtype=p.dtype, device=p.device)
    return eye - p[..., None, : K - 1]
