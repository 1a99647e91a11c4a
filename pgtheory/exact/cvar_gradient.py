r"""The CVaR policy gradient exactly, and the exact mean of its sampled (likelihood-ratio) estimator (issue 14, item 3).

Setting: a policy induces a discrete law of outcomes ``k = 1..K`` with returns ``z_k`` (rewards: large is good,
lower tail is the risk, as in :mod:`pgtheory.exact.risk_measures`), probabilities ``p_k(θ)`` and scores
``s_k = ∇_θ log p_k(θ)`` (``[K, P]``; for a softmax bandit whose arm a has reward law q_a, outcome k = (a, r) has
``p_k = π_a q_a(r)`` and ``s_k = e_a − π``).

**Exact gradient.** By the Rockafellar–Uryasev form :math:`\mathrm{CVaR}_\alpha = \max_c\{c - \mathbb E(c-Z)_+/\alpha\}`
and the envelope theorem (the maximiser is :math:`v = \mathrm{VaR}_\alpha`, unique when α is not a CDF level),

.. math:: \nabla_\theta \mathrm{CVaR}_\alpha = \frac1\alpha\,\mathbb E\big[(Z - v)\,\mathbf 1\{Z\le v\}\,\nabla\log p(Z)\big]
          = \frac1\alpha\sum_k p_k\,s_k\,(z_k - v)\,\mathbf 1\{z_k \le v\}.

This is the likelihood-ratio CVaR gradient of Tamar, Glassner & Mannor ("Optimizing the CVaR via sampling",
AAAI 2015, arXiv:1404.3862), written for rewards (their loss/upper-tail form mirrored; the formula was read from
secondary sources, the paper's body was not re-read on 2026-11-30). When α *is* a CDF level, CVaR has a kink and
only one-sided derivatives exist; :func:`cvar_policy_gradient` refuses that case (argument ``alpha``).

**The sampled estimator** with N i.i.d. outcomes and the empirical lower quantile
:math:`\hat v = Z_{(\lceil\alpha N\rceil)}`:

.. math:: \hat g_N = \frac1{\alpha N}\sum_{i=1}^N (Z_i - \hat v)\,\mathbf 1\{Z_i \le \hat v\}\,s(Z_i).

(:func:`pgtheory.estimators.cvar_pg.cvar_gradient_estimate`). Plugging in :math:`\hat v` biases it.
:func:`expected_cvar_gradient_estimate` computes :math:`\mathbb E\hat g_N` **exactly**: by exchangeability
:math:`\mathbb E\hat g_N = \frac1\alpha\mathbb E[(Z_1-\hat v)\mathbf 1\{Z_1\le\hat v\}s(Z_1)]`, and given
:math:`Z_1 = x` the quantile is the m-th smallest (m = ⌈αN⌉) of x and N − 1 i.i.d. draws, so
:math:`P(\hat v\le u\mid Z_1=x) = P(C_u + \mathbf 1\{x\le u\}\ge m)` with :math:`C_u\sim\mathrm{Bin}(N-1, F(u))`.
Cost ``O(K·J)`` binomial tails for J distinct return values, for any N (no sampling).

Behaviour (measured in tests / notebook 05): for a law with J distinct values the bias decays like 1/N while the
quantile's spread covers several atoms, then exponentially once :math:`\hat v = v` with high probability —
so "O(1/N) bias" describes continuous-like laws, and discrete ones do better eventually.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real
from .risk_measures import CDF_SLACK, check_distribution, value_at_risk

__all__ = ["cvar_policy_gradient", "expected_cvar_gradient_estimate", "cvar_gradient_bias"]


def _inputs(z, p, score, alpha):
    z, p = check_distribution(z, p)
    if z.ndim != 1:
        raise ValueError(f"z: expected one law of shape [K], got {tuple(z.shape)}")
    score = check_finite(as_tensor(score, "score", device=z.device), "score")
    if score.ndim != 2 or score.shape[0] != z.shape[0]:
        raise ValueError(f"score: expected shape [K={z.shape[0]}, P], got {tuple(score.shape)}")
    a = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    return z, p, score, a


def _check_not_a_cdf_level(z: torch.Tensor, p: torch.Tensor, a: float) -> None:
    levels = torch.stack([p[z <= u].sum() for u in torch.unique(z)])
    if bool(((levels - a).abs() < 1e3 * CDF_SLACK).any()):
        raise ValueError(f"alpha: {a} is a CDF level of the return law, where CVaR_α is not differentiable "
                         "(only one-sided derivatives exist); move α off the level")


def cvar_policy_gradient(z, p, score, alpha: float) -> torch.Tensor:
    r"""Exact :math:`\nabla_\theta\mathrm{CVaR}_\alpha = \frac1\alpha\sum_k p_k s_k (z_k - v)\mathbf 1\{z_k\le v\}`, v = VaR_α.

    Shapes: ``z, p [K]`` (returns and probabilities of the outcomes), ``score [K, P]`` (∇ log p_k) → ``[P]``.
    α ∈ (0, 1) must not be a CDF level of the law (there CVaR has a kink).
    """
    z, p, score, a = _inputs(z, p, score, alpha)
    _check_not_a_cdf_level(z, p, a)
    v = value_at_risk(z, p, a)
    weight = p * (z - v).clamp_max(0.0) / a
    return check_finite_result(weight @ score, "z, p, score", "CVaR gradient")


def _quantile_law_given_first(z: torch.Tensor, p: torch.Tensor, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """P(v̂ = u_j | Z_1 = z_k) for the distinct values u_j (sorted): ``[K, J]``, and the values ``[J]`` (numpy)."""
    u, inverse = torch.unique(z, sorted=True, return_inverse=True)
    mass = torch.zeros(u.shape[0], dtype=p.dtype, device=p.device).index_add_(0, inverse, p)
    F = np.minimum(mass.cumsum(0).cpu().numpy(), 1.0)
    F[-1] = 1.0
    below = (u.cpu().numpy()[None, :] >= z.cpu().numpy()[:, None]).astype(int)  # 1{x ≤ u_j}  [K, J]
    # P(v̂ ≤ u_j | x) = P(Bin(n−1, F_j) ≥ m − 1{x ≤ u_j}); binom.sf(k − 1) = P(C ≥ k)
    cdf = stats.binom.sf(m - below - 1, n - 1, F[None, :])
    cdf[:, -1] = 1.0
    pmf = np.diff(np.concatenate([np.zeros((cdf.shape[0], 1)), cdf], axis=1), axis=1)
    return pmf, u.cpu().numpy()


def expected_cvar_gradient_estimate(z, p, score, alpha: float, n: int) -> torch.Tensor:
    r"""Exact :math:`\mathbb E\hat g_N` of the plug-in likelihood-ratio CVaR gradient with N samples (module docstring).

    Shapes: ``z, p [K]``, ``score [K, P]`` → ``[P]``. ``n`` ≥ 1 is the batch size N; the quantile index is
    m = ⌈αN⌉ (the empirical lower quantile, as :func:`~pgtheory.exact.risk_measures.value_at_risk` of the
    empirical law). Exact up to the binomial tails' round-off (scipy, ~1e-15 relative).
    """
    z, p, score, a = _inputs(z, p, score, alpha)
    n = check_positive_int(n, "n")
    m = max(1, math.ceil(a * n - 1e-12))
    pmf, u = _quantile_law_given_first(z, p, n, m)
    x = z.cpu().numpy()
    shortfall = (x[:, None] - u[None, :]) * (x[:, None] <= u[None, :])  # (x − u_j)·1{x ≤ u_j}  [K, J]
    h = torch.as_tensor((pmf * shortfall).sum(1), dtype=z.dtype, device=z.device)
    return check_finite_result((p * h / a) @ score, "z, p, score", "expected CVaR gradient estimate")


def cvar_gradient_bias(z, p, score, alpha: float, n: int) -> torch.Tensor:
    """Exact bias ``E ĝ_N − ∇CVaR_α`` of the plug-in estimator with N samples, ``[P]``."""
    return expected_cvar_gradient_estimate(z, p, score, alpha, n) - cvar_policy_gradient(z, p, score, alpha)
