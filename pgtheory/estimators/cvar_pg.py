r"""The likelihood-ratio CVaR policy gradient from a batch of sampled returns (Tamar, Glassner & Mannor 2015).

For rewards (lower tail = risk; the convention of :mod:`pgtheory.exact.risk_measures`), with a batch of N returns
``returns [..., N]`` and their scores ``scores [..., N, P]`` (∇_θ log p of each sampled trajectory or response):

.. math:: \hat g_N = \frac1{\alpha N}\sum_{i=1}^N (R_i - \hat v)\,\mathbf 1\{R_i \le \hat v\}\,\nabla\log p(\tau_i),
          \qquad \hat v = R_{(\lceil\alpha N\rceil)} .

``var`` may be given instead of the empirical quantile (e.g. the true VaR, which makes the estimator unbiased for
:math:`\nabla\mathrm{CVaR}_\alpha`: the expectation of each term is the exact gradient's summand). With the plug-in
quantile it is biased; :func:`pgtheory.exact.cvar_gradient.expected_cvar_gradient_estimate` gives its exact mean.

Source: Tamar, Glassner & Mannor, "Optimizing the CVaR via sampling", AAAI 2015 (arXiv:1404.3862) — formula read
from secondary sources on 2026-11-30, written here for rewards (their loss form mirrored). Normalisation 1/(αN) as
in the paper; dividing by the number of tail samples instead is a different (self-normalised) estimator, not
offered.
"""
from __future__ import annotations

import math

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_real

__all__ = ["empirical_value_at_risk", "cvar_gradient_estimate"]


def empirical_value_at_risk(returns, alpha: float) -> torch.Tensor:
    r"""Empirical lower α-quantile :math:`R_{(\lceil\alpha N\rceil)}` of each batch: ``returns [..., N]`` → ``[...]``."""
    r = check_finite(as_tensor(returns, "returns"), "returns")
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"returns: expected a non-empty batch [..., N], got shape {tuple(r.shape)}")
    a = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    m = max(1, math.ceil(a * r.shape[-1] - 1e-12))
    return torch.sort(r, dim=-1).values[..., m - 1]


def cvar_gradient_estimate(returns, scores, alpha: float, var=None) -> torch.Tensor:
    r"""Likelihood-ratio CVaR gradient :math:`\hat g_N` (module docstring).

    Shapes: ``returns [..., N]``, ``scores [..., N, P]`` → ``[..., P]``. ``var`` (optional, ``[...]`` or scalar):
    the threshold v to use instead of the empirical quantile.
    """
    r = check_finite(as_tensor(returns, "returns"), "returns")
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"returns: expected a non-empty batch [..., N], got shape {tuple(r.shape)}")
    s = check_finite(as_tensor(scores, "scores", device=r.device), "scores")
    if s.ndim != r.ndim + 1 or tuple(s.shape[:-1]) != tuple(r.shape):
        raise ValueError(f"scores: expected shape {tuple(r.shape)} + (P,), got {tuple(s.shape)}")
    a = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    if var is None:
        v = empirical_value_at_risk(r, a)
    else:
        v = check_finite(as_tensor(var, "var", device=r.device), "var")
        if v.ndim and tuple(v.shape) != tuple(r.shape[:-1]):
            raise ValueError(f"var: expected a scalar or shape {tuple(r.shape[:-1])}, got {tuple(v.shape)}")
    weight = (r - v.unsqueeze(-1)).clamp_max(0.0) / (a * r.shape[-1])  # (R_i − v)·1{R_i ≤ v}/(αN)
    return check_finite_result(torch.einsum("...n,...np->...p", weight, s), "returns, scores", "CVaR gradient estimate")
