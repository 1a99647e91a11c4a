r"""Closed-form objective and gradient of the backlogging base-stock problem (:mod:`pgtheory.problems.inventory`).

Decision t sets the end-of-period net inventory of period t + L, :math:`X_t = y_t - \sum_{k=t}^{t+L} D_k` with
:math:`y_t = \theta + \sigma\xi_t`, so :math:`X_t \sim \mathcal N(m, v^2)`, :math:`m = \theta - (L+1)\mu`,
:math:`v^2 = \sigma^2 + (L+1)s^2`, the same law for every t. With :math:`C(x) = h x^+ + b x^-`,
:math:`\mathbb E X^+ = m\Phi(m/v) + v\varphi(m/v)` and :math:`X^- = X^+ - X` (the normal loss function), so

.. math::
    J(\theta) = T\big[(h+b)\,(m\Phi(m/v) + v\varphi(m/v)) - b\,m\big],\qquad
    \frac{dJ}{d\theta} = T\big[(h+b)\,\Phi(m/v) - b\big],

and the minimiser is the critical fractile :math:`\theta^* = (L+1)\mu + v\,\Phi^{-1}(b/(b+h))` (newsvendor,
e.g. Zipkin 2000, §9.4; T = 1, L = 0 is the single-period newsvendor). The pathwise derivative of one path,
:math:`\sum_t h\,1[X_t > 0] - b\,1[X_t < 0]`, has mean dJ/dθ — the identity HDPO relies on.
"""
from __future__ import annotations

import math

import torch

from .._checks import DTYPE
from ..problems.inventory import BaseStockProblem

__all__ = ["base_stock_net_inventory_law", "base_stock_objective", "base_stock_gradient", "base_stock_optimal_level"]

_SQRT2 = math.sqrt(2.0)


def _check(problem, noise_std):
    if not isinstance(problem, BaseStockProblem):
        raise TypeError(f"problem: expected a BaseStockProblem, got {type(problem).__name__}")
    if not (isinstance(noise_std, (int, float)) and not isinstance(noise_std, bool) and 0 <= noise_std < float("inf")):
        raise ValueError(f"noise_std: expected a finite number >= 0, got {noise_std!r}")


def base_stock_net_inventory_law(problem: BaseStockProblem, order_up_to, noise_std: float = 0.0):
    r"""(m, v): mean ``[...]`` and standard deviation (float) of :math:`X_t = y_t - \sum_{k=t}^{t+L} D_k`."""
    _check(problem, noise_std)
    theta = torch.as_tensor(order_up_to, dtype=DTYPE)
    L = problem.lead_time
    return theta - (L + 1) * problem.demand_mean, math.sqrt(noise_std ** 2 + (L + 1) * problem.demand_std ** 2)


def _phi_cdf(z):
    return 0.5 * (1 + torch.erf(z / _SQRT2)), torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def base_stock_objective(problem: BaseStockProblem, order_up_to, noise_std: float = 0.0) -> torch.Tensor:
    """J(θ) = E Σ_t c_t in closed form, ``[...]`` for θ of shape ``[...]`` (differentiable in θ)."""
    m, v = base_stock_net_inventory_law(problem, order_up_to, noise_std)
    cdf, pdf = _phi_cdf(m / v)
    h, b = problem.holding_cost, problem.backorder_cost
    return problem.horizon * ((h + b) * (m * cdf + v * pdf) - b * m)


def base_stock_gradient(problem: BaseStockProblem, order_up_to, noise_std: float = 0.0) -> torch.Tensor:
    """dJ/dθ = T[(h + b)Φ(m/v) − b] in closed form, ``[...]``."""
    m, v = base_stock_net_inventory_law(problem, order_up_to, noise_std)
    cdf, _ = _phi_cdf(m / v)
    return problem.horizon * ((problem.holding_cost + problem.backorder_cost) * cdf - problem.backorder_cost)


def base_stock_optimal_level(problem: BaseStockProblem, noise_std: float = 0.0) -> float:
    """θ* = (L + 1)μ + v Φ⁻¹(b/(b + h)), the minimiser of J (the critical fractile)."""
    _check(problem, noise_std)
    v = math.sqrt(noise_std ** 2 + (problem.lead_time + 1) * problem.demand_std ** 2)
    z = float(torch.special.ndtri(torch.tensor(problem.critical_ratio, dtype=DTYPE)))
    return (problem.lead_time + 1) * problem.demand_mean + v * z
