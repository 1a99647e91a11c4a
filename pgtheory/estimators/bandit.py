r"""Score-function estimators on a K-armed bandit with softmax logits z, one estimate per draw.

ĝ = (r − b) ∇_z log π(a) = (r − b)(e_a − π). Its exact second moment is available in closed form,

.. math:: \operatorname{tr}\operatorname{Cov}\hat g = \sum_a \pi_a\,\mathbb E[(r-b)^2\mid a]\,\lVert e_a-\pi\rVert^2 - \lVert\nabla J\rVert^2,

with E[(r − b)² | a] = σ_a² + (r̄_a − b)², which makes the variance-optimal constant baseline
b* = Σ_a π_a ‖e_a − π‖² r̄_a / Σ_a π_a ‖e_a − π‖² exactly computable (Greensmith et al. 2004).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite
from ..problems.bandits import Bandit
from ..sampling.bandits import BanditDraws

__all__ = ["bandit_reinforce_estimates", "bandit_reinforce_trace_variance", "bandit_optimal_baseline"]


def bandit_reinforce_estimates(draws: BanditDraws, logits, baseline: float = 0.0) -> torch.Tensor:
    """(r − b)(e_a − π) per draw, ``[N, K]``."""
    z = check_finite(as_tensor(logits, "logits"), "logits")
    pi = torch.softmax(z, -1)
    score = torch.nn.functional.one_hot(draws.actions, pi.shape[-1]).to(pi.dtype) - pi
    return (draws.rewards - float(baseline)).unsqueeze(-1) * score


def _sq_score(pi: torch.Tensor) -> torch.Tensor:
    # ‖e_a − π‖² = 1 − 2π_a + ‖π‖²
    return 1 - 2 * pi + (pi * pi).sum(-1, keepdim=True)


def bandit_reinforce_trace_variance(bandit: Bandit, logits, baseline: float = 0.0) -> torch.Tensor:
    """Exact tr Cov of (r − b)(e_a − π) under a ∼ π, r ∼ bandit, ``[...]``."""
    z = check_finite(as_tensor(logits, "logits"), "logits")
    pi = torch.softmax(z, -1)
    m, s = bandit.means.to(z.device), bandit.std.to(z.device)
    second = (pi * (s**2 + (m - baseline) ** 2) * _sq_score(pi)).sum(-1)
    grad = pi * (m - (pi * m).sum(-1, keepdim=True))
    return second - (grad * grad).sum(-1)


def bandit_optimal_baseline(bandit: Bandit, logits) -> torch.Tensor:
    """b* minimising the exact trace variance over constant baselines, ``[...]``."""
    z = check_finite(as_tensor(logits, "logits"), "logits")
    pi = torch.softmax(z, -1)
    w = pi * _sq_score(pi)
    return (w * bandit.means.to(z.device)).sum(-1) / w.sum(-1)
