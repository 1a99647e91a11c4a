r"""Score-function estimators on a K-armed bandit with softmax logits z, one estimate per draw.

ĝ = (r − b) ∇_z log π(a) = (r − b)(e_a − π). Its exact second moment is available in closed form,

.. math:: \operatorname{tr}\operatorname{Cov}\hat g = \sum_a \pi_a\,\mathbb E[(r-b)^2\mid a]\,\lVert e_a-\pi\rVert^2 - \lVert\nabla J\rVert^2,

with E[(r − b)² | a] = σ_a² + (r̄_a − b)², which makes the variance-optimal constant baseline
b* = Σ_a π_a ‖e_a − π‖² r̄_a / Σ_a π_a ‖e_a − π‖² exactly computable (Greensmith et al. 2004).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_real
from ..problems.bandits import Bandit
from ..sampling.bandits import BanditDraws

__all__ = ["bandit_reinforce_estimates", "bandit_reinforce_trace_variance", "bandit_optimal_baseline"]


def _logits(logits, n_arms: int | None = None, *, batched: bool = True) -> torch.Tensor:
    """``logits [..., K]`` (``[K]`` unless ``batched``) as float64, K = ``n_arms`` when given."""
    z = check_finite(as_tensor(logits, "logits"), "logits")
    if z.ndim == 0 or (not batched and z.ndim != 1) or z.shape[-1] == 0:
        want = "[..., K]" if batched else "[K]"
        raise ValueError(f"logits: expected shape {want} with K >= 1, got {tuple(z.shape)}")
    if n_arms is not None and z.shape[-1] != n_arms:
        raise ValueError(f"logits: expected K = {n_arms} (the bandit's arms) on the last axis, got shape {tuple(z.shape)}")
    return z


def _bandit(bandit) -> Bandit:
    if not isinstance(bandit, Bandit):
        raise TypeError(f"bandit: expected a Bandit, got {type(bandit).__name__}")
    return bandit


def bandit_reinforce_estimates(draws: BanditDraws, logits, baseline: float = 0.0) -> torch.Tensor:
    """(r − b)(e_a − π) per draw, ``[N, K]`` for ``logits [K]``."""
    if not isinstance(draws, BanditDraws):
        raise TypeError(f"draws: expected BanditDraws, got {type(draws).__name__}")
    z = _logits(logits, batched=False)
    b = check_real(baseline, "baseline")
    a_max = int(draws.actions.max()) if draws.actions.numel() else -1
    if a_max >= z.shape[-1]:
        raise ValueError(f"logits: has K = {z.shape[-1]} arms (shape {tuple(z.shape)}) but the draws took arm {a_max}; "
                         f"expected K >= {a_max + 1}")
    z = z.to(draws.rewards.device)
    pi = torch.softmax(z, -1)
    score = torch.nn.functional.one_hot(draws.actions, pi.shape[-1]).to(pi.dtype) - pi
    return check_finite_result((draws.rewards - b).unsqueeze(-1) * score, "draws, baseline", "estimate")


def _sq_score(pi: torch.Tensor) -> torch.Tensor:
    # ‖e_a − π‖² = 1 − 2π_a + ‖π‖²
    return 1 - 2 * pi + (pi * pi).sum(-1, keepdim=True)


def bandit_reinforce_trace_variance(bandit: Bandit, logits, baseline: float = 0.0) -> torch.Tensor:
    """Exact tr Cov of (r − b)(e_a − π) under a ∼ π, r ∼ bandit, ``[...]`` for ``logits [..., K]``."""
    bandit = _bandit(bandit)
    z = _logits(logits, bandit.n_arms)
    b = check_real(baseline, "baseline")
    pi = torch.softmax(z, -1)
    m, s = bandit.means.to(z.device), bandit.std.to(z.device)
    second = (pi * (s**2 + (m - b) ** 2) * _sq_score(pi)).sum(-1)
    grad = pi * (m - (pi * m).sum(-1, keepdim=True))
    return check_finite_result(second - (grad * grad).sum(-1), "baseline", "trace variance")


def bandit_optimal_baseline(bandit: Bandit, logits) -> torch.Tensor:
    """b* minimising the exact trace variance over constant baselines, ``[...]`` for ``logits [..., K]``.

    For a (numerically) deterministic π the score is 0, every baseline is optimal, and b* = Σ_a π_a r̄_a is returned.
    """
    bandit = _bandit(bandit)
    z = _logits(logits, bandit.n_arms)
    pi = torch.softmax(z, -1)
    w = pi * _sq_score(pi)
    m = bandit.means.to(z.device)
    den = w.sum(-1)
    return torch.where(den > 0, (w * m).sum(-1) / torch.where(den > 0, den, torch.ones_like(den)), (pi * m).sum(-1))
