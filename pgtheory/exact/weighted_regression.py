r"""Exact error covariance of (weighted) least squares of a Bellman backup from generative draws on a design.

One regression step of LS-/VWLS-MDVI (:mod:`pgtheory.optim.linear_mdvi`; Kitamura et al. 2023): for a fixed value
vector v, pair i of a design is drawn n_i times from the generative model, s'_{i,1..n_i} ~ P(·|s_i, a_i), and the
targets are the means :math:`\bar y_i = r_i + \gamma\,\frac1{n_i}\sum_j v(s'_{i,j})`. With regression weights
:math:`\lambda_i = n_i/\tilde\sigma_i^2` (:math:`\tilde\sigma^2\equiv1`: LS; :math:`\tilde\sigma^2` an estimate of the
noise variance: WLS, the VWLS choice),

.. math:: \hat\theta = (X^\top\Lambda X)^{-1}X^\top\Lambda\,\bar y,\qquad \Lambda = \mathrm{diag}(\lambda_i),

over the pairs with n_i > 0 (rows of X). θ̂ is *linear* in the draws and, on a linear MDP (r + γPv = Φθ* exactly),
unbiased, so its error covariance is exactly the sandwich

.. math:: \mathrm{Cov}[\hat\theta] = A\,\Sigma\,A^\top,\qquad A = (X^\top\Lambda X)^{-1}X^\top\Lambda,\qquad
          \Sigma = \mathrm{diag}\big(\gamma^2\,\mathrm{Var}_{s'\sim P(\cdot|s_i,a_i)}[v(s')]\,/\,n_i\big)

(Huber 1967 / White 1980 for the sandwich form; here Σ is known, not estimated, so the formula is exact — no
asymptotics). The prediction error at any pair j is :math:`\phi_j^\top\hat\theta - (r_j + \gamma P_j v)` with
variance :math:`\phi_j^\top\,\mathrm{Cov}[\hat\theta]\,\phi_j`. When :math:`\tilde\sigma^2 \propto` the true noise
variance, the sandwich collapses to :math:`(X^\top\Lambda X)^{-1}` times the constant (Gauss–Markov: the smallest
covariance, in the Loewner order, of any linear unbiased estimator from these targets). When the design has exactly
d support points, A = X⁻¹ whatever Λ (interpolation): the weights change nothing and only the allocation matters.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_probabilities

__all__ = ["next_value_variance", "regression_error_covariance", "prediction_variance"]


def next_value_variance(transitions, values) -> torch.Tensor:
    r"""Var_{s'~P(·|s,a)}[v(s')] = P v² − (P v)² for every row of ``transitions [..., S']`` and ``values [S']``: ``[...]``.

    Computed as :math:`\sum_{s'} P(s')\,(v(s') - (Pv))^2` (centred, so no cancellation); exactly ≥ 0.
    """
    P = check_probabilities(as_tensor(transitions, "transitions"), "transitions")
    v = check_finite(as_tensor(values, "values", device=P.device), "values")
    if v.ndim != 1 or v.shape[0] != P.shape[-1]:
        raise ValueError(f"values: expected shape [S'] = [{P.shape[-1]}], got {tuple(v.shape)}")
    mean = P @ v
    return (P * (v - mean.unsqueeze(-1)) ** 2).sum(-1)


def regression_error_covariance(features, samples, noise_variance, assumed_variance=None) -> torch.Tensor:
    r"""Cov[θ̂] = A Σ Aᵀ of the (weighted) least-squares fit of per-pair sample means (see the module docstring): ``[d, d]``.

    Parameters
    ----------
    features : [n, d]
        φ_i of the candidate pairs.
    samples : [n]
        n_i ≥ 0, the draws at pair i (real numbers are allowed: N·Cov for a continuous design ρ is the value at
        n = ρ, since Cov scales as 1/N); pairs with n_i = 0 are not regressed on.
    noise_variance : [n]
        σ_i² ≥ 0, the variance of one target draw at pair i (γ² Var[v(s')] for the Bellman backup).
    assumed_variance : [n], optional
        σ̃_i² > 0 of the regression weights λ_i = n_i/σ̃_i² (None: 1, plain least squares).

    Raises ``ValueError`` when the regressed pairs do not span R^d.
    """
    X = check_finite(as_tensor(features, "features"), "features")
    if X.ndim != 2 or 0 in X.shape:
        raise ValueError(f"features: expected a non-empty matrix [n, d], got shape {tuple(X.shape)}")
    n_pairs = X.shape[0]

    def vec(x, name):
        t = check_finite(as_tensor(x, name, device=X.device), name)
        if tuple(t.shape) != (n_pairs,):
            raise ValueError(f"{name}: expected shape [n] = [{n_pairs}], got {tuple(t.shape)}")
        return t

    n = vec(samples, "samples")
    if bool((n < 0).any()):
        raise ValueError("samples: must be non-negative")
    sigma2 = vec(noise_variance, "noise_variance")
    if bool((sigma2 < 0).any()):
        raise ValueError("noise_variance: must be non-negative")
    s2 = torch.ones_like(n) if assumed_variance is None else vec(assumed_variance, "assumed_variance")
    if bool((s2 <= 0).any()):
        raise ValueError("assumed_variance: must be positive")
    on = n > 0
    Xs, ns = X[on], n[on]
    lam = ns / s2[on]
    G = (Xs * lam.unsqueeze(-1)).T @ Xs
    ev = torch.linalg.eigvalsh(G)
    if Xs.shape[0] == 0 or not float(ev[0]) > 1e-12 * max(float(ev[-1]), 1e-300):
        raise ValueError(f"samples: the pairs with n_i > 0 do not span R^d (d = {X.shape[1]})")
    A = torch.linalg.solve(G, Xs.T * lam)  # [d, k]
    cov = (A * (sigma2[on] / ns)) @ A.T
    return check_finite((cov + cov.T) / 2, "regression_error_covariance: result")


def prediction_variance(features, covariance) -> torch.Tensor:
    r"""Var[φ_jᵀθ̂] = φ_jᵀ C φ_j for every row of ``features [..., d]`` and ``covariance`` C ``[d, d]``: ``[...]``."""
    X = check_finite(as_tensor(features, "features"), "features")
    C = check_finite(as_tensor(covariance, "covariance", device=X.device), "covariance")
    d = X.shape[-1]
    if tuple(C.shape) != (d, d):
        raise ValueError(f"covariance: expected shape [d, d] = [{d}, {d}], got {tuple(C.shape)}")
    return ((X @ C) * X).sum(-1).clamp_min(0.0)
