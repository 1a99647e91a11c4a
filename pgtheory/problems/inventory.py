r"""A periodic-review, single-item inventory problem with backlogging and a (noisy) base-stock policy.

The testbed of claim L85 (HDPO, Alvo, Russo, Kanoria & Lee 2023): demand is *exogenous* — it does not depend on the
orders — so a batch of demand paths can be replayed under any policy ("offline counterfactual simulation"), and the
total cost of a path is a piecewise-linear, almost-everywhere differentiable function of the policy parameter.

Dynamics (periods t = 0, …, T + L − 1; lead time L ≥ 0; decisions at t < T; standard backlogging model, e.g.
Zipkin, *Foundations of Inventory Management*, ch. 9):

.. math::
    y_t = \theta + \sigma\xi_t,\quad \xi_t \sim \mathcal N(0, 1)\quad\text{(order-up-to level; } q_t = y_t - IP_t\text{)},

    IP_{t+1} = y_t - D_t,\qquad NI_{t+1} = NI_t + q_{t-L} - D_t,\qquad c_t = h\,(NI_{t+1})^+ + b\,(NI_{t+1})^-,

with :math:`D_t \sim \mathcal N(\mu, s^2)` i.i.d. The order placed at t arrives at the start of period t + L, so the
end-of-period net inventory of period t + L is :math:`y_t - \sum_{k=t}^{t+L} D_k`: decision t alone sets the cost of
period t + L. The costs of periods 0, …, L − 1 depend only on the initial inventory, not on θ, and are left out of
the objective :math:`J(\theta) = \mathbb E\sum_{t=L}^{T+L-1} c_t` (their entries are 0 in the cost array).
σ = 0 is the deterministic base-stock policy that HDPO optimises; σ > 0 is the randomised policy a score-function
(REINFORCE) estimator needs. Orders may be negative (returns) and Gaussian demand may be negative: simplifications
that keep the exact objective in closed form (:mod:`pgtheory.exact.inventory`); the paper's benchmarks use lost
sales, non-negative orders and neural policies.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .._checks import DTYPE, check_finite, check_positive_int, check_real

__all__ = ["BaseStockProblem", "base_stock_period_costs", "base_stock_total_cost"]


@dataclass(frozen=True)
class BaseStockProblem:
    """Costs, Gaussian demand, lead time and horizon of the backlogging base-stock problem (see the module docstring).

    ``horizon = 1`` with ``lead_time = 0`` is the single-period newsvendor.
    """

    holding_cost: float  #: h > 0 per unit left at the end of a period
    backorder_cost: float  #: b > 0 per unit short at the end of a period
    demand_mean: float  #: μ
    demand_std: float  #: s > 0
    lead_time: int = 0  #: L ≥ 0
    horizon: int = 1  #: T ≥ 1 decisions
    initial_inventory: float = 0.0  #: NI_0 (pipeline empty)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holding_cost", check_real(self.holding_cost, "holding_cost", low=0.0, low_open=True))
        object.__setattr__(self, "backorder_cost", check_real(self.backorder_cost, "backorder_cost", low=0.0, low_open=True))
        object.__setattr__(self, "demand_mean", check_real(self.demand_mean, "demand_mean"))
        object.__setattr__(self, "demand_std", check_real(self.demand_std, "demand_std", low=0.0, low_open=True))
        object.__setattr__(self, "lead_time", check_positive_int(self.lead_time, "lead_time", minimum=0))
        object.__setattr__(self, "horizon", check_positive_int(self.horizon, "horizon"))
        object.__setattr__(self, "initial_inventory", check_real(self.initial_inventory, "initial_inventory"))

    @property
    def periods(self) -> int:
        """T + L: the number of simulated periods."""
        return self.horizon + self.lead_time

    @property
    def critical_ratio(self) -> float:
        """b / (b + h)."""
        return self.backorder_cost / (self.backorder_cost + self.holding_cost)

    def sample_demand(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` demand paths ``[n, T + L]`` (i.i.d. N(μ, s²)) drawn from ``generator``."""
        n = check_positive_int(n, "n")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
        z = torch.randn(n, self.periods, generator=generator, dtype=DTYPE)
        return self.demand_mean + self.demand_std * z


def base_stock_period_costs(problem: BaseStockProblem, order_up_to: torch.Tensor, demand: torch.Tensor,
                            order_noise: torch.Tensor | None = None, noise_std: float = 0.0) -> torch.Tensor:
    r"""Per-period costs ``[N, T + L]`` of N replayed demand paths under :math:`y_t = \theta + \sigma\xi_t`.

    ``order_up_to``: θ, a scalar tensor or one value per path ``[N]`` (a per-path copy of θ gives per-path pathwise
    gradients by one backward pass). ``demand [N, T + L]``; ``order_noise`` ξ ``[N, T]`` (required when
    ``noise_std`` σ > 0). The recursion of the module docstring is simulated step by step; it is differentiable in θ
    (and in σ) almost everywhere. Entries of periods t < L are 0 (costs that θ cannot change; left out of J).
    """
    if not isinstance(problem, BaseStockProblem):
        raise TypeError(f"problem: expected a BaseStockProblem, got {type(problem).__name__}")
    if not isinstance(demand, torch.Tensor) or demand.ndim != 2 or demand.shape[1] != problem.periods:
        raise ValueError(f"demand: expected a tensor [N, T + L] = [N, {problem.periods}], got "
                         f"{tuple(demand.shape) if isinstance(demand, torch.Tensor) else type(demand).__name__}")
    check_finite(demand, "demand")
    n, T, L = demand.shape[0], problem.horizon, problem.lead_time
    theta = order_up_to if isinstance(order_up_to, torch.Tensor) else torch.tensor(float(order_up_to), dtype=DTYPE)
    if theta.ndim not in (0, 1) or (theta.ndim == 1 and theta.shape[0] != n):
        raise ValueError(f"order_up_to: expected a scalar or one value per path [{n}], got shape {tuple(theta.shape)}")
    check_finite(theta.detach(), "order_up_to")
    sigma = check_real(noise_std, "noise_std", low=0.0)
    if sigma > 0:
        if order_noise is None or tuple(order_noise.shape) != (n, T):
            raise ValueError(f"order_noise: with noise_std > 0 expected a tensor [N, T] = [{n}, {T}], got "
                             f"{None if order_noise is None else tuple(order_noise.shape)}")
        check_finite(order_noise, "order_noise")
    theta = theta.expand(n)
    h, b = problem.holding_cost, problem.backorder_cost
    net = torch.full((n,), problem.initial_inventory, dtype=DTYPE)
    position = net
    pipeline = [torch.zeros(n, dtype=DTYPE) for _ in range(L)]  # pipeline[k]: arrives k periods from now
    costs = []
    for t in range(T + L):
        if t < T:
            level = theta + sigma * order_noise[:, t] if sigma > 0 else theta
            order = level - position
            position = level
        else:
            order = torch.zeros(n, dtype=DTYPE)
        pipeline.append(order)
        net = net + pipeline.pop(0) - demand[:, t]
        position = position - demand[:, t]
        cost = h * net.clamp_min(0) + b * (-net).clamp_min(0)
        costs.append(cost if t >= L else torch.zeros_like(cost))
    return torch.stack(costs, dim=1)


def base_stock_total_cost(problem: BaseStockProblem, order_up_to: torch.Tensor, demand: torch.Tensor,
                          order_noise: torch.Tensor | None = None, noise_std: float = 0.0) -> torch.Tensor:
    """Σ_t c_t per path, ``[N]``: the sample of J(θ) of each replayed demand path (see :func:`base_stock_period_costs`)."""
    return base_stock_period_costs(problem, order_up_to, demand, order_noise, noise_std).sum(1)
