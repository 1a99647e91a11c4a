r"""Exact objectives, Jacobians and scalarised gradients of a :class:`~pgtheory.problems.MultiObjectiveMDP`.

With m reward channels, J(π) = (J_1(π), …, J_m(π)) (each ρᵀV_i^π), the Jacobian ∇J = (∇J_1, …, ∇J_m) by the
policy-gradient theorem per channel, and for a scalarisation f the chain rule

.. math:: F(\theta) = f(J(\theta)), \qquad \nabla F(\theta) = \sum_{i=1}^m \partial_i f(J(\theta))\,\nabla J_i(\theta).

:func:`scalarised_optimum` maximises a concave f over all (stochastic, stationary) policies as a convex program in the
discounted state-action occupancy λ(s, a) = Σ_t γ^t Pr(s_t = s, a_t = a): the feasible λ are the polytope
{λ ≥ 0 : Σ_a λ(s', a) = ρ(s') + γ Σ_{s,a} P(s'|s, a) λ(s, a)} and J_i = Σ_{s,a} r_i(s, a) λ(s, a) is linear in λ.
"""
from __future__ import annotations

import numpy as np
import torch

from ..policies.tabular import TabularPolicy
from ..problems.multi_objective import MultiObjectiveMDP, Scalarisation
from .evaluation import evaluate_policy
from .gradients import check_mdp_policy, policy_gradient

__all__ = ["objective_vector", "objective_jacobian", "scalarised_objective", "scalarised_gradient", "scalarised_optimum"]


def _check(mo, f=None) -> None:
    if not isinstance(mo, MultiObjectiveMDP):
        raise TypeError(f"mo: expected a MultiObjectiveMDP, got {type(mo).__name__}")
    if f is not None and not isinstance(f, Scalarisation):
        raise TypeError(f"f: expected a Scalarisation (pgtheory.problems.make_scalarisation), got {type(f).__name__}")


def objective_vector(mo: MultiObjectiveMDP, pi) -> torch.Tensor:
    """J(π) = (ρᵀV_1^π, …, ρᵀV_m^π), ``[..., m]`` for a policy ``pi [..., S, A]``."""
    _check(mo)
    return torch.stack([evaluate_policy(c, pi).objective for c in mo.channels], -1)


def objective_jacobian(mo: MultiObjectiveMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    """∇_θ J_i for every channel, ``[..., m, *param_shape]`` (the policy-gradient theorem per channel)."""
    _check(mo)
    grads = [policy_gradient(c, policy, theta) for c in mo.channels]
    return torch.stack(grads, grads[0].ndim - len(policy.param_shape))


def scalarised_objective(mo: MultiObjectiveMDP, f: Scalarisation, pi) -> torch.Tensor:
    """F(π) = f(J(π)), ``[...]``."""
    _check(mo, f)
    return f(objective_vector(mo, pi))


def scalarised_gradient(mo: MultiObjectiveMDP, f: Scalarisation, policy: TabularPolicy, theta) -> torch.Tensor:
    """∇F(θ) = Σ_i ∂_i f(J(θ)) ∇J_i(θ), ``[..., *param_shape]``: by linearity of ∇J in the reward, the policy gradient of
    the pseudo-reward r̃ = Σ_i ∂_i f(J) r_i (one table per policy), so one more evaluation than J itself."""
    _check(mo, f)
    check_mdp_policy(mo.base, policy)
    theta = policy.check_params(theta).to(mo.device)
    c = f.gradient(objective_vector(mo, policy.probs(theta)))  # [..., m]
    return policy_gradient(mo.base, policy, theta, rewards=torch.einsum("...m,msa->...sa", c, mo.rewards))


def scalarised_optimum(mo: MultiObjectiveMDP, f: Scalarisation, *, tol: float = 1e-12) -> tuple[float, torch.Tensor]:
    r"""max_π f(J(π)) for a concave f, and a maximising policy ``[S, A]``: (F*, π*).

    Solved over occupancies λ (module docstring) by SLSQP from the uniform policy's λ, with the analytic gradient
    Rᵀ∇f(Rλ); π*(a|s) = λ(s, a)/Σ_b λ(s, b) (uniform where a state has no occupancy). F* is the *exact* f(J(π*)) of the
    returned policy (re-evaluated by :func:`evaluate_policy`), so it never exceeds the true maximum; ``tol`` is SLSQP's
    ``ftol``, and a solver failure raises RuntimeError. (The tests check it against every deterministic policy and
    against converged exact gradient ascent on F.)
    """
    _check(mo, f)
    from scipy.optimize import minimize

    base = mo.base.to("cpu")
    S, A, gamma = base.n_states, base.n_actions, base.discount
    P = base.transitions.numpy().reshape(S * A, S)
    rho = base.initial.numpy()
    Rm = mo.rewards.cpu().numpy().reshape(mo.n_objectives, S * A)
    E = np.kron(np.eye(S), np.ones((1, A))) - gamma * P.T  # flow constraints E λ = ρ, [S, S·A]

    def neg(lam):
        return -float(f(torch.from_numpy(Rm @ lam)))

    def neg_grad(lam):
        return -(Rm.T @ f.gradient(torch.from_numpy(Rm @ lam)).numpy())

    uniform = torch.full((S, A), 1.0 / A, dtype=torch.float64)
    lam0 = (evaluate_policy(base, uniform).occupancy[:, None] * uniform / (1 - gamma)).numpy().reshape(-1)
    res = minimize(neg, lam0, jac=neg_grad, method="SLSQP", bounds=[(0, None)] * (S * A),
                   constraints=[{"type": "eq", "fun": lambda lam: E @ lam - rho, "jac": lambda lam: E}],
                   options={"ftol": tol, "maxiter": 2000})
    if not res.success:
        raise RuntimeError(f"scalarised_optimum: SLSQP did not converge ({res.message})")
    lam = np.clip(res.x, 0, None).reshape(S, A)
    mass = lam.sum(1, keepdims=True)
    pi = np.where(mass > 0, lam / np.where(mass > 0, mass, 1), 1.0 / A)
    pi_t = torch.from_numpy(pi).to(mo.device)
    return float(scalarised_objective(mo, f, pi_t)), pi_t
