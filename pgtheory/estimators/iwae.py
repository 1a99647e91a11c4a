r"""Importance-weighted bounds and their reparameterised gradients on the linear-Gaussian model.

With K samples z_k = A x + b + σε_k from q_φ(z|x) and log-weights ℓ_k = log p_θ(x, z_k) − log q_φ(z_k|x):

.. math:: \mathrm{IWAE}_K = \log\frac1K\sum_k e^{\ell_k},\qquad \mathrm{MIWAE}_{M,K} = \frac1M\sum_m \mathrm{IWAE}_K^{(m)},
          \qquad \mathrm{CIWAE}_\beta = \beta\,\mathrm{ELBO} + (1-\beta)\,\mathrm{IWAE}_K,

whose expectations increase to log p(x) as K grows (Burda et al. 2016). :func:`iwae_gradients` returns, per
replicate, ∇_θ (θ = μ, generative) and ∇_φ (φ = b, the encoder offset) of MIWAE_{M,K} by autograd through the
reparameterisation — one independent estimate per replicate, for SNR = |E ĝ| / sd(ĝ) (Rainforth et al. 2018).
"""
from __future__ import annotations

import math

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real
from ..problems.latent import GaussianLatentModel

__all__ = ["iwae_bound", "iwae_gradients", "iwae_log_weights", "relative_weight_variance"]


def _log_weights(model, x, eps, mu, A, b, sigma):
    z = A * x + b + sigma * eps
    log_q = -0.5 * (eps**2).sum(-1) - eps.shape[-1] * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    return model.log_joint(x, z, mu) - log_q


def _vector(v, name: str, D: int) -> torch.Tensor:
    """A finite float64 scalar or ``[..., D]`` tensor (tensors that require grad are kept as they are)."""
    t = v if isinstance(v, torch.Tensor) and v.dtype == torch.float64 else as_tensor(v, name)
    check_finite(t.detach(), name)
    if t.ndim and t.shape[-1] != D:
        raise ValueError(f"{name}: expected a scalar or shape [..., D] with D = {D}, got {tuple(t.shape)}")
    return t


def _check_model(model, x, sigma) -> tuple[torch.Tensor, float]:
    if not isinstance(model, GaussianLatentModel):
        raise TypeError(f"model: expected a GaussianLatentModel, got {type(model).__name__}")
    x = check_finite(as_tensor(x, "x"), "x")
    if tuple(x.shape) != (model.dim,):
        raise ValueError(f"x: expected shape [D] = {(model.dim,)}, got {tuple(x.shape)}")
    return x, check_real(sigma, "sigma", low=0.0, low_open=True)


def iwae_bound(model: GaussianLatentModel, x: torch.Tensor, eps: torch.Tensor, A, b, sigma: float, *, mu=None) -> torch.Tensor:
    """Per-replicate MIWAE_{M,K} values for noise ``eps [R, M, K, D]``: ``[R]`` (M = 1: IWAE_K; K = 1: ELBO).

    ``x [D]``; encoder ``A``, ``b`` scalars or ``[..., D]`` broadcasting against ``eps``; ``sigma > 0``.
    """
    x, sigma = _check_model(model, x, sigma)
    D = model.dim
    eps = check_finite(as_tensor(eps, "eps"), "eps")
    if eps.ndim != 4 or eps.shape[-1] != D or 0 in eps.shape:
        raise ValueError(f"eps: expected a non-empty shape [R, M, K, D] with D = {D}, got {tuple(eps.shape)}")
    A, b = _vector(A, "A", D), _vector(b, "b", D)
    mu = model.mu if mu is None else _vector(mu, "mu", D)
    lw = _log_weights(model, x, eps, mu, A, b, sigma)  # [R, M, K]
    return check_finite_result((torch.logsumexp(lw, -1) - math.log(lw.shape[-1])).mean(-1), "x, eps, A, b, sigma", "bound (overflow)")


def iwae_log_weights(model: GaussianLatentModel, x: torch.Tensor, eps: torch.Tensor, A, b, sigma: float) -> torch.Tensor:
    """Log importance weights ℓ = log p_θ(x, z) − log q_φ(z|x) at z = A x + b + σ·eps: ``eps [..., D]`` → ``[...]``."""
    x, sigma = _check_model(model, x, sigma)
    D = model.dim
    eps = check_finite(as_tensor(eps, "eps"), "eps")
    if eps.ndim < 1 or eps.shape[-1] != D or eps.numel() == 0:
        raise ValueError(f"eps: expected a non-empty shape [..., D] with D = {D}, got {tuple(eps.shape)}")
    return _log_weights(model, x, eps, model.mu, _vector(A, "A", D), _vector(b, "b", D), sigma)


def relative_weight_variance(log_weights: torch.Tensor) -> float:
    r"""ρ = Var(w)/E[w]² of importance weights from samples of their logs, read through a log-normal proxy:
    ρ ≈ exp(Var ℓ) − 1 (exact when ℓ is Gaussian).

    Large-K expansions of an importance-weighted estimator (its bias, variance and SNR rates in K) have remainders of
    relative order ρ/K, so they describe runs with K ≫ ρ. The proxy is used because the plain moment estimate of
    Var(w)/E[w]² from samples of heavy-tailed weights is dominated by the largest weight and underestimates ρ by orders
    of magnitude (with ρ ≈ e^18 no feasible sample contains the weights that carry the variance). ``log_weights``: any
    shape with at least two finite entries.
    """
    lw = check_finite(as_tensor(log_weights, "log_weights"), "log_weights").reshape(-1)
    if lw.numel() < 2:
        raise ValueError(f"log_weights: need at least two samples, got {lw.numel()}")
    return math.expm1(float(lw.var()))


def iwae_gradients(model: GaussianLatentModel, x: torch.Tensor, A, b, sigma: float, *, n_replicates: int, n_outer: int = 1,
                   n_inner: int = 1, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇_μ, ∇_b) of MIWAE_{M,K} per replicate: two ``[R, D]`` tensors (M = ``n_outer``, K = ``n_inner``; ``b`` scalar or [D])."""
    x, sigma = _check_model(model, x, sigma)
    R = check_positive_int(n_replicates, "n_replicates")
    M = check_positive_int(n_outer, "n_outer")
    K = check_positive_int(n_inner, "n_inner")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    D = model.dim
    A = _vector(A, "A", D)
    b = _vector(b, "b", D)
    if b.ndim > 1:
        raise ValueError(f"b: expected a scalar or shape [D] = {(D,)}, got {tuple(b.shape)}")
    eps = torch.randn(R, M, K, D, generator=generator, dtype=torch.float64)
    mu = model.mu.expand(R, 1, 1, D).clone().requires_grad_(True)  # one copy per replicate → per-replicate gradients
    bb = b.detach().to(torch.float64).expand(R, 1, 1, D).clone().requires_grad_(True)
    bound = iwae_bound(model, x, eps, A, bb, sigma, mu=mu)
    g_mu, g_b = torch.autograd.grad(bound.sum(), (mu, bb))
    return g_mu.reshape(R, D), g_b.reshape(R, D)
