r"""A linear-Gaussian latent-variable model with closed-form evidence and posterior (the IWAE SNR testbed,
Rainforth et al. 2018): z ~ N(μ, I_D), x | z ~ N(z, I_D); encoder q_φ(z|x) = N(A x + b, σ² I_D), diagonal A.

Exact: p(x) = N(x; μ, 2I), p(z|x) = N((x + μ)/2, I/2), so the optimal encoder is A = ½, b = μ/2, σ = 1/√2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._checks import as_tensor, check_finite

__all__ = ["GaussianLatentModel"]

_LOG2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class GaussianLatentModel:
    """Generative mean ``mu [D]``; the encoder's parameters are passed to the functions that need them."""

    mu: torch.Tensor

    def __post_init__(self) -> None:
        mu = check_finite(as_tensor(self.mu, "mu"), "mu")
        if mu.ndim != 1 or mu.numel() == 0:
            raise ValueError(f"mu: expected a non-empty vector [D], got shape {tuple(mu.shape)}")
        object.__setattr__(self, "mu", mu)

    @property
    def dim(self) -> int:
        return self.mu.numel()

    def log_evidence(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = log N(x; μ, 2I), ``[...]`` for x ``[..., D]``."""
        return -0.5 * (((x - self.mu) ** 2).sum(-1) / 2 + self.dim * (_LOG2PI + math.log(2)))

    def optimal_encoder(self) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(A, b, σ) of the exact posterior: (½·1, μ/2, 1/√2)."""
        return torch.full_like(self.mu, 0.5), self.mu / 2, 1 / math.sqrt(2)

    @staticmethod
    def log_joint(x: torch.Tensor, z: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """log p(x, z) with generative mean ``mu`` (differentiable in it): sums the last axis."""
        return -0.5 * (((z - mu) ** 2).sum(-1) + ((x - z) ** 2).sum(-1)) - z.shape[-1] * _LOG2PI
