r"""The linear-Gaussian policy of the LQR: :math:`u = -Kx + \sigma\varepsilon,\ \varepsilon \sim \mathcal N(0, I_m)`.

.. math::
    \log\pi_K(u\mid x) = -\frac{\lVert u + Kx\rVert^2}{2\sigma^2} - m\log\sigma - \frac m2\log 2\pi,

    \nabla_K \log\pi_K(u\mid x) = -\frac{(u + Kx)\,x^\top}{\sigma^2} \;(= -\varepsilon x^\top/\sigma),\qquad
    \frac{\partial}{\partial\log\sigma}\log\pi_K(u\mid x) = \frac{\lVert u + Kx\rVert^2}{\sigma^2} - m .

K has shape [m, n] (Fazel et al. 2018 write u = −Kx). Every method takes a batch of gains ``K [..., m, n]`` and
broadcasts its leading dimensions against those of ``x [..., n]`` and ``u [..., m]`` (torch broadcasting: to
evaluate B gains on N states, pass ``K[:, None]`` of shape [B, 1, m, n] and ``x`` of shape [N, n]).

σ is fixed at construction (``std``); a *learnable* log-std is passed as ``log_std`` (a tensor broadcastable to
the batch, possibly with ``requires_grad``), which overrides it. The closed-form scores above are checked against
autograd in ``tests/test_lqr.py``.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_real

__all__ = ["LinearGaussianPolicy"]

_LOG2PI = math.log(2 * math.pi)


def _trail(s: torch.Tensor, k: int) -> torch.Tensor:
    """A per-batch σ-like tensor ``[...]`` with ``k`` trailing singleton axes (a scalar stays a scalar)."""
    return s.reshape(*s.shape, *([1] * k)) if s.ndim else s


class LinearGaussianPolicy:
    r"""π_K(·|x) = N(−Kx, σ² I_m) on states in R^n and actions in R^m, parameters K of shape ``param_shape = (m, n)``.

    Parameters
    ----------
    state_dim : int
        n.
    action_dim : int
        m.
    std : float
        σ > 0, the exploration noise used when no ``log_std`` is passed.
    """

    def __init__(self, state_dim: int, action_dim: int, std: float = 1.0):
        self.state_dim = check_positive_int(state_dim, "state_dim")
        self.action_dim = check_positive_int(action_dim, "action_dim")
        self.std = check_real(std, "std", low=0.0, low_open=True)
        self.param_shape = (self.action_dim, self.state_dim)

    @property
    def n_params(self) -> int:
        return self.action_dim * self.state_dim

    @property
    def log_std(self) -> float:
        """log σ of the fixed exploration noise."""
        return math.log(self.std)

    # -- parameters ---------------------------------------------------------------------------------
    def check_params(self, K: Any, name: str = "K") -> torch.Tensor:
        """Convert ``K`` to float64 and check its trailing shape is [m, n] and that it is finite."""
        t = as_tensor(K, name)
        if t.ndim < 2 or tuple(t.shape[-2:]) != self.param_shape:
            raise ValueError(f"{name}: expected shape [..., m, n] = [..., {self.action_dim}, {self.state_dim}], got {tuple(t.shape)}")
        return check_finite(t, name)

    def batch_shape(self, K: torch.Tensor) -> tuple[int, ...]:
        return tuple(K.shape[:-2])

    def sigma(self, log_std: Any = None, *, like: torch.Tensor | None = None) -> torch.Tensor:
        """σ as a float64 tensor: ``exp(log_std)`` (differentiable) or the fixed ``std``; on ``like``'s device."""
        dev = like.device if like is not None else None
        if log_std is None:
            return torch.tensor(self.std, dtype=DTYPE, device=dev)
        ls = log_std if isinstance(log_std, torch.Tensor) and log_std.dtype == DTYPE else as_tensor(log_std, "log_std", device=dev)
        check_finite(ls.detach(), "log_std")
        return ls.exp()

    def random_params(self, *batch: int, generator: torch.Generator | None = None, scale: float = 1.0,
                      device: torch.device | str = "cpu") -> torch.Tensor:
        """Gaussian gains N(0, scale²) of shape ``[*batch, m, n]`` (not necessarily stabilising)."""
        return scale * torch.randn(*batch, *self.param_shape, generator=generator, dtype=DTYPE, device=device)

    # -- the distribution ------------------------------------------------------------------------------
    def mean(self, K: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The mean action −Kx: ``K [..., m, n]``, ``x [..., n]`` → ``[..., m]`` (batch dims broadcast)."""
        if K.ndim == 2:  # one gain: a single matrix product (much faster than a batch of tiny ones)
            return -(x @ K.transpose(-1, -2))
        return -(K @ x.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, K: torch.Tensor, x: torch.Tensor, u: torch.Tensor, log_std: Any = None) -> torch.Tensor:
        r"""log π_K(u|x) = −‖u + Kx‖²/(2σ²) − m log σ − (m/2) log 2π, ``[...]``; differentiable in K and ``log_std``."""
        s = self.sigma(log_std, like=K)
        d = u - self.mean(K, x)
        m = self.action_dim
        return -0.5 * (d * d).sum(-1) / (s * s) - m * s.log() - 0.5 * m * _LOG2PI

    def score(self, K: torch.Tensor, x: torch.Tensor, u: torch.Tensor, log_std: Any = None) -> torch.Tensor:
        r"""∇_K log π_K(u|x) = −(u + Kx) xᵀ/σ², ``[..., m, n]`` (closed form)."""
        s2 = _trail(self.sigma(log_std, like=K) ** 2, 2)
        d = u - self.mean(K, x)
        return -(d.unsqueeze(-1) * x.unsqueeze(-2)) / s2

    def score_log_std(self, K: torch.Tensor, x: torch.Tensor, u: torch.Tensor, log_std: Any = None) -> torch.Tensor:
        r"""∂ log π_K(u|x) / ∂ log σ = ‖u + Kx‖²/σ² − m, ``[...]`` (closed form)."""
        s = self.sigma(log_std, like=K)
        d = u - self.mean(K, x)
        return (d * d).sum(-1) / (s * s) - self.action_dim

    def sample(self, K: torch.Tensor, x: torch.Tensor, generator: torch.Generator, log_std: Any = None) -> torch.Tensor:
        """u = −Kx + σε with ε ~ N(0, I_m) drawn from ``generator``: ``[..., m]`` (the broadcast batch of K and x)."""
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
        mu = self.mean(K, x)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + _trail(self.sigma(log_std, like=K), 1) * eps

    def fisher(self, x: torch.Tensor, log_std: Any = None) -> torch.Tensor:
        r"""Per-state Fisher information of vec(K) (row-major flattening, index i·n + j for K[i, j]), ``[..., mn, mn]``:

        .. math:: F(x) = \mathbb E_{u\sim\pi(\cdot|x)}\,\nabla\log\pi\,\nabla\log\pi^\top = I_m \otimes \frac{x x^\top}{\sigma^2},

        since ∇_{K_{ij}} log π = −ε_i x_j/σ and E ε_i ε_k = δ_ik. It does not depend on K (a Gaussian's Fisher in its
        mean is the inverse covariance); it equals −∇²_K log π(u|x) for every u, as log π is quadratic in K.
        """
        s2 = _trail(self.sigma(log_std, like=x) ** 2, 2)
        xx = x.unsqueeze(-1) * x.unsqueeze(-2) / s2
        m, n = self.param_shape
        eye = torch.eye(m, dtype=x.dtype, device=x.device)
        return (eye[:, None, :, None] * xx[..., None, :, None, :]).reshape(*x.shape[:-1], m * n, m * n)

    def __repr__(self) -> str:
        return f"LinearGaussianPolicy(n={self.state_dim}, m={self.action_dim}, std={self.std})"
