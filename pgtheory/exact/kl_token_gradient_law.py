r"""The exact law of the per-token gradient of a KL estimator used as a loss, for one next-token softmax.

A token v ∼ π_θ = softmax(θ) (θ ∈ R^V the logits) contributes ∇_θ k(ℓ_v) = c(ℓ_v) (e_v − π_θ) to the loss gradient,
ℓ_v = log π_ref(v) − log π_θ(v), c the estimator's coefficient (:func:`~pgtheory.estimators.kl_loss_score_coefficient`
for k1, k2, k3; :func:`~pgtheory.estimators.kl_flipped.flipped_k3_coefficient` for ``"k3_flipped"``). Its norm is

.. math:: \|g(v)\| = |c(\ell_v)|\,\sqrt{1 - 2\pi_\theta(v) + \textstyle\sum_u \pi_\theta(u)^2},

a discrete random variable with law P(v) = π_θ(v); :func:`discrete_law_summary` gives its moments and quantiles
exactly (no sampling).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_real
from ..estimators.divergences import kl_loss_score_coefficient
from ..estimators.kl_flipped import flipped_k3_coefficient

__all__ = ["TOKEN_GRADIENT_ESTIMATORS", "token_kl_gradient_norms", "discrete_law_summary"]

TOKEN_GRADIENT_ESTIMATORS = ("k1", "k2", "k3", "k3_flipped")


def _logits(x, name: str) -> torch.Tensor:
    t = check_finite(as_tensor(x, name), name)
    if t.ndim != 1 or t.numel() < 2:
        raise ValueError(f"{name}: expected one logit vector [V] with V ≥ 2, got shape {tuple(t.shape)}")
    return t


def token_kl_gradient_norms(logits, ref_logits, estimator: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(π_θ(v), ‖∇_θ k(ℓ_v)‖) for every token v: two ``[V]`` tensors (the law of the per-token gradient norm)."""
    th, ref = _logits(logits, "logits"), _logits(ref_logits, "ref_logits")
    if th.shape != ref.shape:
        raise ValueError(f"ref_logits: expected shape {tuple(th.shape)} (as logits), got {tuple(ref.shape)}")
    if estimator not in TOKEN_GRADIENT_ESTIMATORS:
        raise ValueError(f"estimator: expected one of {TOKEN_GRADIENT_ESTIMATORS}, got {estimator!r}")
    lp, lref = torch.log_softmax(th, -1), torch.log_softmax(ref, -1)
    ell = lref - lp
    c = flipped_k3_coefficient(ell) if estimator == "k3_flipped" else kl_loss_score_coefficient(ell, estimator)
    p = lp.exp()
    score_norm = (1 - 2 * p + (p**2).sum()).clamp_min(0).sqrt()
    return p, c.abs() * score_norm


def discrete_law_summary(values, probs, *, quantile: float = 0.999) -> dict[str, float]:
    """Mean, s.d., root mean square, kurtosis E[(X − μ)⁴]/σ⁴ and the ``quantile`` (smallest x with P(X ≤ x) ≥ q) of
    the discrete law P(X = values[i]) = probs[i]; kurtosis is NaN-free: 0 variance raises a ValueError."""
    x, p = check_finite(as_tensor(values, "values"), "values"), check_finite(as_tensor(probs, "probs"), "probs")
    if x.shape != p.shape or x.ndim != 1:
        raise ValueError(f"values, probs: expected two [n] tensors of one shape, got {tuple(x.shape)}, {tuple(p.shape)}")
    if bool((p < 0).any()) or abs(float(p.sum()) - 1) > 1e-9:
        raise ValueError("probs: expected non-negative probabilities summing to 1")
    q = check_real(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)
    mu = float((p * x).sum())
    var = float((p * (x - mu) ** 2).sum())
    if var <= 0:
        raise ValueError("values: the law is a point mass (zero variance); its kurtosis is undefined")
    order = torch.argsort(x)
    cdf = torch.cumsum(p[order], 0)
    idx = int(torch.searchsorted(cdf, torch.tensor(q - 1e-12, dtype=cdf.dtype)))
    return {"mean": mu, "sd": var**0.5, "rms": float((p * x**2).sum()) ** 0.5,
            "kurtosis": float((p * (x - mu) ** 4).sum()) / var**2, "quantile": float(x[order][min(idx, len(x) - 1)])}
