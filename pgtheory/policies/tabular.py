r"""Parameterisations of stationary policies on a tabular MDP: θ ↦ π(a|s).

Every policy maps parameters with arbitrary leading batch dimensions, ``theta [..., *param_shape]``, to
action probabilities ``[..., S, A]``, differentiably in torch. The method
:meth:`TabularPolicy.vjp_probs` contracts ∂π/∂θ with a weight table ``w [..., S, A]``:

.. math:: \big(\mathrm{vjp}(\theta, w)\big)_i = \sum_{s,a} w(s,a)\, \frac{\partial \pi_\theta(a\mid s)}{\partial\theta_i},

which is all the policy-gradient theorem needs; subclasses give closed forms, the base class uses autograd.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int, check_probabilities

__all__ = ["TabularPolicy", "TabularSoftmax", "DirectPolicy", "LogLinearSoftmax", "project_simplex"]


class TabularPolicy:
    """Base class: a map from parameters ``[..., *param_shape]`` to probabilities ``[..., S, A]``."""

    n_states: int
    n_actions: int
    param_shape: tuple[int, ...]

    # -- to implement -------------------------------------------------------------------------------
    def probs(self, theta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return math.prod(self.param_shape)

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """log π(a|s), ``[..., S, A]``."""
        return self.probs(theta).log()

    def check_params(self, theta: Any, name: str = "theta") -> torch.Tensor:
        """Convert ``theta`` to float64 and check its trailing shape is ``param_shape``."""
        t = as_tensor(theta, name)
        k = len(self.param_shape)
        if t.ndim < k or tuple(t.shape[t.ndim - k:]) != self.param_shape:
            raise ValueError(f"{name}: expected shape [..., {', '.join(map(str, self.param_shape))}], got {tuple(t.shape)}")
        return check_finite(t, name)

    def batch_shape(self, theta: torch.Tensor) -> tuple[int, ...]:
        return tuple(theta.shape[: theta.ndim - len(self.param_shape)])

    def vjp_probs(self, theta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        r"""Σ_{s,a} w(s,a) ∂π(a|s)/∂θ for every batch element, ``[..., *param_shape]`` (autograd)."""
        with torch.enable_grad():
            th = theta.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.probs(th), th, weights)
        return g

    def log_prob_jacobian(self, theta: torch.Tensor) -> torch.Tensor:
        r"""∇_θ log π(a|s) for every (s, a): ``[..., S, A, n_params]`` (autograd, vmapped over the batch)."""
        flat_shape = self.param_shape

        def single(th_flat: torch.Tensor) -> torch.Tensor:
            return self.log_probs(th_flat.reshape(flat_shape))

        batch = self.batch_shape(theta)
        th = theta.reshape(-1, self.n_params)
        jac = torch.func.vmap(torch.func.jacrev(single))(th)
        return jac.reshape(*batch, self.n_states, self.n_actions, self.n_params)

    def random_params(self, *batch: int, generator: torch.Generator | None = None, scale: float = 1.0,
                      device: torch.device | str = "cpu") -> torch.Tensor:
        """Gaussian parameters N(0, scale²) of shape ``[*batch, *param_shape]``."""
        return scale * torch.randn(*batch, *self.param_shape, generator=generator, dtype=DTYPE, device=device)


class TabularSoftmax(TabularPolicy):
    r"""π_θ(a|s) = exp θ[s,a] / Σ_b exp θ[s,b], θ of shape [S, A].

    Closed forms: ∂/∂θ[s,b] Σ_a w(s,a) π(a|s) = π(b|s) (w(s,b) − Σ_a π(a|s) w(s,a)) and
    ∇_θ log π(a|s) = e_s ⊗ (e_a − π(·|s)).
    """

    def __init__(self, n_states: int, n_actions: int):
        self.n_states = check_positive_int(n_states, "n_states")
        self.n_actions = check_positive_int(n_actions, "n_actions")
        self.param_shape = (self.n_states, self.n_actions)

    def probs(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.softmax(theta, dim=-1)

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(theta, dim=-1)

    def vjp_probs(self, theta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        pi = self.probs(theta)
        return pi * (weights - (pi * weights).sum(-1, keepdim=True))

    def log_prob_jacobian(self, theta: torch.Tensor) -> torch.Tensor:
        pi = self.probs(theta)  # [..., S, A]
        S, A = self.param_shape
        eye_a = torch.eye(A, dtype=pi.dtype, device=pi.device)
        inner = eye_a - pi.unsqueeze(-2)  # [..., S, A(a), A(b)] = δ_ab − π_b
        eye_s = torch.eye(S, dtype=pi.dtype, device=pi.device)
        jac = eye_s[:, None, :, None] * inner.unsqueeze(-2)  # [..., S, A, S', B]
        return jac.reshape(*pi.shape[:-2], S, A, S * A)

    def __repr__(self) -> str:
        return f"TabularSoftmax(S={self.n_states}, A={self.n_actions})"


class DirectPolicy(TabularPolicy):
    r"""The direct parameterisation π(a|s) = θ[s,a] with θ(s,·) in the simplex (Agarwal et al. 2021).

    Gradient steps leave the simplex; use :func:`project_simplex` after each step.
    """

    def __init__(self, n_states: int, n_actions: int):
        self.n_states = check_positive_int(n_states, "n_states")
        self.n_actions = check_positive_int(n_actions, "n_actions")
        self.param_shape = (self.n_states, self.n_actions)

    def check_params(self, theta: Any, name: str = "theta") -> torch.Tensor:
        t = super().check_params(theta, name)
        return check_probabilities(t, name, atol=1e-8)

    def probs(self, theta: torch.Tensor) -> torch.Tensor:
        return theta

    def vjp_probs(self, theta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return weights.expand_as(theta).clone()

    def random_params(self, *batch: int, generator: torch.Generator | None = None, scale: float = 1.0,
                      device: torch.device | str = "cpu") -> torch.Tensor:
        """Random interior points of the simplex (softmax of Gaussian logits with std ``scale``)."""
        z = torch.randn(*batch, *self.param_shape, generator=generator, dtype=DTYPE, device=device)
        return torch.softmax(scale * z, -1)

    def __repr__(self) -> str:
        return f"DirectPolicy(S={self.n_states}, A={self.n_actions})"


class LogLinearSoftmax(TabularPolicy):
    r"""π_θ(a|s) ∝ exp(φ(s,a)ᵀθ) with features ``features [S, A, d]`` and θ of shape [d].

    Closed form: Σ_{s,a} w(s,a) ∂π(a|s)/∂θ = Σ_{s,a} π(a|s) (w(s,a) − w̄(s)) φ(s,a), w̄(s) = Σ_a π(a|s) w(s,a).
    """

    def __init__(self, features: Any):
        phi = check_finite(as_tensor(features, "features"), "features")
        if phi.ndim != 3 or 0 in phi.shape:
            raise ValueError(f"features: expected shape [S, A, d] with all sizes >= 1, got {tuple(phi.shape)}")
        self.features = phi
        self.n_states, self.n_actions, d = phi.shape
        self.param_shape = (int(d),)

    def logits(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.einsum("sad,...d->...sa", self.features.to(theta.device), theta)

    def probs(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(theta), -1)

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(theta), -1)

    def vjp_probs(self, theta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        pi = self.probs(theta)
        c = pi * (weights - (pi * weights).sum(-1, keepdim=True))
        return torch.einsum("...sa,sad->...d", c, self.features.to(theta.device))

    def log_prob_jacobian(self, theta: torch.Tensor) -> torch.Tensor:
        phi = self.features.to(theta.device)
        pi = self.probs(theta)
        mean_phi = torch.einsum("...sa,sad->...sd", pi, phi)
        return phi - mean_phi.unsqueeze(-2)

    def __repr__(self) -> str:
        return f"LogLinearSoftmax(S={self.n_states}, A={self.n_actions}, d={self.param_shape[0]})"


def project_simplex(x: torch.Tensor) -> torch.Tensor:
    r"""Euclidean projection of each last-axis row of ``x`` onto the probability simplex (Duchi et al. 2008)."""
    n = x.shape[-1]
    u, _ = torch.sort(x, dim=-1, descending=True)
    css = u.cumsum(-1) - 1
    k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    cond = u - css / k > 0
    rho = cond.to(x.dtype).mul(k).argmax(-1, keepdim=True)
    tau = css.gather(-1, rho) / (rho + 1).to(x.dtype)
    return (x - tau).clamp_min(0)
