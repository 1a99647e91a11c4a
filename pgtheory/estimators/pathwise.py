r"""Per-sample pathwise (reparameterised, "differentiate through the simulator") and score-function gradients.

Both estimate :math:`\nabla_\theta\,\mathbb E[\sum_t c_t]` of a simulated cost; they differ in how θ's influence is
read off a sample (Mohamed, Rosca, Figurnov & Mnih 2020, "Monte Carlo gradient estimation in machine learning", §4–5):

* **pathwise**: the sample is a differentiable function :math:`\sum_t c_t(\theta, \omega)` of θ and exogenous noise ω
  (demand, the policy's Gaussian ξ); the estimate is its derivative :math:`\nabla_\theta \sum_t c_t(\theta, \omega)`
  — HDPO's gradient (Alvo et al. 2023) and the backbone of differentiable simulation.
* **score function** (REINFORCE with reward-to-go, Williams 1992): with actions :math:`a_t \sim \pi_\theta`,
  :math:`\hat g = \sum_t \nabla_\theta\log\pi_\theta(a_t\mid s_t)\,\big(\sum_{k\ge t} c_k - b_t\big)`; a baseline
  :math:`b_t` that does not depend on :math:`a_{t}, a_{t+1}, …` (e.g. fixed from an independent pilot) keeps it unbiased.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_finite, check_positive_int

__all__ = ["per_sample_pathwise_gradient", "score_function_gradient"]


def per_sample_pathwise_gradient(total_cost: Callable[[torch.Tensor], torch.Tensor], theta, n: int) -> torch.Tensor:
    r"""Pathwise gradients of n independent samples, ``[n, *θ.shape]``.

    ``total_cost(θ_rep)`` receives θ repeated per sample, ``θ_rep [n, *θ.shape]`` (with ``requires_grad``), and must
    return the n sample costs ``[n]``, sample i depending on ``θ_rep[i]`` only (its own copy of θ and its own noise).
    Then :math:`\partial(\sum_i \text{cost}_i)/\partial\theta_{rep}[i] = \nabla_\theta\,\text{cost}_i`: all n
    per-sample gradients by one backward pass.
    """
    n = check_positive_int(n, "n")
    th = torch.as_tensor(theta, dtype=torch.float64).detach()
    rep = th.expand(n, *th.shape).clone().requires_grad_(True)
    cost = total_cost(rep)
    if not isinstance(cost, torch.Tensor) or tuple(cost.shape) != (n,):
        raise ValueError(f"total_cost: must return one cost per sample [{n}], got "
                         f"{tuple(cost.shape) if isinstance(cost, torch.Tensor) else type(cost).__name__}")
    (grad,) = torch.autograd.grad(cost.sum(), rep)
    return check_finite(grad, "total_cost (its pathwise gradient)")


def score_function_gradient(scores: torch.Tensor, costs: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
    r"""REINFORCE with reward-to-go: :math:`\hat g_i = \sum_t \text{scores}_{i,t}\,(\sum_{k\ge t}\text{costs}_{i,k} - b_t)`.

    ``scores [N, T, ...]``: :math:`\nabla_\theta\log\pi_\theta(a_t\mid s_t)` (zeros where no action is taken);
    ``costs [N, T]``; ``baseline [T]`` or None (no baseline). Returns ``[N, ...]``: an unbiased estimate of
    :math:`\nabla_\theta\,\mathbb E\sum_t c_t` per sample when the baseline does not depend on the samples.
    """
    if not isinstance(scores, torch.Tensor) or not isinstance(costs, torch.Tensor):
        raise TypeError("scores: scores and costs must be torch tensors")
    if costs.ndim != 2 or tuple(scores.shape[:2]) != tuple(costs.shape):
        raise ValueError(f"costs: expected [N, T] matching scores' leading shape {tuple(scores.shape[:2])}, got {tuple(costs.shape)}")
    to_go = costs.flip(1).cumsum(1).flip(1)
    if baseline is not None:
        baseline = torch.as_tensor(baseline, dtype=costs.dtype)
        if tuple(baseline.shape) != (costs.shape[1],):
            raise ValueError(f"baseline: expected one value per step [{costs.shape[1]}], got {tuple(baseline.shape)}")
        to_go = to_go - baseline
    w = to_go.reshape(*to_go.shape, *([1] * (scores.ndim - 2)))
    return check_finite((scores * w).sum(1), "scores, costs (the score-function estimate)")
