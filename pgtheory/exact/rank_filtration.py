r"""Exact laws of the responses a rank filter keeps from N i.i.d. samples (PF-PPO-style policy filtration).

A prompt has K enumerable responses with policy probabilities π ∈ Δ_K and reward-model scores r ∈ R^K (distinct).
Draw N i.i.d. responses y_1..y_N ∼ π and rank them by r. A *filter* keeps some of them; its kept law μ is the
expected fraction of the kept samples equal to each response. With the responses sorted by r ascending and
F_j = Σ_{i≤j} π_(i) (F_0 = 0), the order statistics of N draws have the exact laws

    P(best = (j))  = F_j^N − F_{j−1}^N,            P(worst = (j)) = (1 − F_{j−1})^N − (1 − F_j)^N.

A uniformly chosen one of the N − 1 non-best samples has law (N·π − P_best)/(N − 1), since the expected count of a
response among the N samples is N·π and the best accounts for P_best of it. Hence the kept laws

    none: π,   best-of-N: P_best,   best+random: ½P_best + ½(Nπ − P_best)/(N − 1),   best+worst: ½P_best + ½P_worst.

Source of the strategies: Zhang et al., "Policy Filtration for RLHF to Mitigate Noise in Reward Models"
(arXiv:2409.06957): BoN / BR / BW variants of PF-PPO, read from public summaries of the paper, not from its body.
"""
from __future__ import annotations

import torch

__all__ = ["FILTERS", "best_of_n_law", "worst_of_n_law", "filtered_law"]

FILTERS = ("none", "best_of_n", "best_random", "best_worst")


def _check(pi: torch.Tensor, scores: torch.Tensor, n: int) -> None:
    if not isinstance(pi, torch.Tensor) or pi.dim() < 1:
        raise TypeError("pi: expected a torch tensor with a last axis of responses")
    if not isinstance(scores, torch.Tensor) or scores.shape != pi.shape:
        raise ValueError(f"scores: expected a tensor of the shape of pi {tuple(pi.shape)}, got "
                         f"{getattr(scores, 'shape', type(scores).__name__)}")
    if bool((pi < 0).any()) or not torch.allclose(pi.sum(-1), torch.ones((), dtype=pi.dtype), atol=1e-9):
        raise ValueError("pi: each row must be a probability vector")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n: the number of sampled responses must be an int >= 2, got {n!r}")


def _sorted_cdf(pi: torch.Tensor, scores: torch.Tensor):
    order = torch.argsort(scores, dim=-1)
    p_sorted = torch.gather(pi, -1, order)
    cdf = p_sorted.cumsum(-1).clamp(max=1.0)
    cdf_prev = torch.cat([torch.zeros_like(cdf[..., :1]), cdf[..., :-1]], -1)
    return order, cdf, cdf_prev


def _unsort(values_sorted: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(values_sorted).scatter_(-1, order, values_sorted)


def best_of_n_law(pi: torch.Tensor, scores: torch.Tensor, n: int) -> torch.Tensor:
    """P(the highest-scored of N i.i.d. draws from π is response k), shape of ``pi`` ([..., K])."""
    _check(pi, scores, n)
    order, cdf, cdf_prev = _sorted_cdf(pi, scores)
    return _unsort(cdf ** n - cdf_prev ** n, order)


def worst_of_n_law(pi: torch.Tensor, scores: torch.Tensor, n: int) -> torch.Tensor:
    """P(the lowest-scored of N i.i.d. draws from π is response k), shape of ``pi`` ([..., K])."""
    _check(pi, scores, n)
    order, cdf, cdf_prev = _sorted_cdf(pi, scores)
    return _unsort((1 - cdf_prev) ** n - (1 - cdf) ** n, order)


def filtered_law(pi: torch.Tensor, scores: torch.Tensor, n: int, strategy: str) -> torch.Tensor:
    """The law μ of a kept sample under ``strategy`` ∈ :data:`FILTERS` (kept samples weighted equally), [..., K]."""
    if strategy not in FILTERS:
        raise ValueError(f"strategy: expected one of {FILTERS}, got {strategy!r}")
    _check(pi, scores, n)
    if strategy == "none":
        return pi.clone()
    best = best_of_n_law(pi, scores, n)
    if strategy == "best_of_n":
        return best
    if strategy == "best_random":
        return 0.5 * best + 0.5 * (n * pi - best) / (n - 1)
    return 0.5 * best + 0.5 * worst_of_n_law(pi, scores, n)
