r"""Streaming first and second moments of vector estimates, merged chunk by chunk (Chan et al. 1979).

Keeps the count n, the mean and the centred sum of outer products M2 = Σ (x − x̄)(x − x̄)ᵀ (or only
its diagonal), in float64, so 10⁹ samples can be summarised without holding them. It also keeps
the per-chunk trace of the covariance, which gives batch-means intervals for variance ratios.
"""
from __future__ import annotations

import torch

from .._checks import check_finite

__all__ = ["MomentAccumulator"]


class MomentAccumulator:
    """Running mean and covariance of samples ``x [n, P]`` (any trailing shape is flattened)."""

    def __init__(self, full_covariance: bool = True):
        self.full_covariance = full_covariance
        self.n = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None
        self.shape: tuple[int, ...] | None = None
        self.chunk_traces: list[float] = []

    def update(self, x: torch.Tensor) -> "MomentAccumulator":
        """Add a chunk of samples (leading axis = samples)."""
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"x: expected a non-empty chunk [n, ...], got shape {tuple(x.shape)}")
        check_finite(x, "x")
        if self.shape is None:
            self.shape = tuple(x.shape[1:])
        elif tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"x: trailing shape {tuple(x.shape[1:])} differs from earlier chunks {self.shape}")
        x = x.reshape(x.shape[0], -1).to(torch.float64)
        nb = x.shape[0]
        mb = x.mean(0)
        xc = x - mb
        m2b = xc.T @ xc if self.full_covariance else (xc * xc).sum(0)
        self.chunk_traces.append(float((xc * xc).sum() / max(nb - 1, 1)))
        if self.n == 0:
            self.n, self._mean, self._m2 = nb, mb, m2b
            return self
        n = self.n + nb
        delta = mb - self._mean
        self._mean = self._mean + delta * (nb / n)
        corr = torch.outer(delta, delta) if self.full_covariance else delta * delta
        self._m2 = self._m2 + m2b + corr * (self.n * nb / n)
        self.n = n
        return self

    def _need(self, k: int = 1) -> None:
        if self.n < k:
            raise ValueError(f"accumulator: needs at least {k} samples, has {self.n}")

    @property
    def mean(self) -> torch.Tensor:
        """Sample mean, ``[P]`` (flattened)."""
        self._need()
        return self._mean

    @property
    def covariance(self) -> torch.Tensor:
        """Unbiased sample covariance ``[P, P]`` (needs ``full_covariance=True``)."""
        self._need(2)
        if not self.full_covariance:
            raise ValueError("accumulator: built with full_covariance=False; only variances are kept")
        return self._m2 / (self.n - 1)

    @property
    def variance(self) -> torch.Tensor:
        """Unbiased per-coordinate sample variance, ``[P]``."""
        self._need(2)
        d = self._m2.diagonal() if self.full_covariance else self._m2
        return d / (self.n - 1)

    @property
    def standard_error(self) -> torch.Tensor:
        """Standard error of the mean per coordinate, ``[P]``."""
        return (self.variance / self.n).sqrt()

    @property
    def trace_covariance(self) -> float:
        """tr Cov(x) = Σ_i Var(x_i)."""
        return float(self.variance.sum())

    @classmethod
    def from_samples(cls, x: torch.Tensor, full_covariance: bool = True, chunk: int | None = None) -> "MomentAccumulator":
        acc = cls(full_covariance)
        step = x.shape[0] if chunk is None else chunk
        for i in range(0, x.shape[0], step):
            acc.update(x[i : i + step])
        return acc
