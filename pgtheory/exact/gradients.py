r"""Exact first- and second-order quantities of J(θ) = ρᵀV^{π_θ}: gradient, Hessian, Fisher, natural gradient.

Three independent routes to ∇J, which the tests compare against each other:

* :func:`policy_gradient` — the policy-gradient theorem (Sutton et al. 2000),
  :math:`\nabla J = \frac{1}{1-\gamma}\sum_s d^\pi_\rho(s) \sum_a Q^\pi(s,a)\,\nabla\pi_\theta(a|s)`,
  a single vector-Jacobian product through the policy map (closed form for softmax and log-linear);
* :func:`policy_gradient_autograd` — reverse-mode autograd through the linear solve;
* :func:`policy_gradient_finite_difference` — central differences, for testing only.
"""
from __future__ import annotations

import torch

from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from .._checks import check_finite
from .evaluation import _evaluate_unchecked, evaluate_policy

__all__ = [
    "policy_gradient",
    "policy_gradient_autograd",
    "policy_gradient_finite_difference",
    "objective_of_params",
    "hessian",
    "fisher_information",
    "natural_gradient",
    "check_mdp_policy",
]


def check_mdp_policy(mdp, policy) -> None:
    """Raise unless ``mdp`` is a :class:`~pgtheory.problems.TabularMDP` and ``policy`` a tabular policy of its [S, A]."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy: expected a TabularPolicy, got {type(policy).__name__}")
    if (policy.n_states, policy.n_actions) != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"policy: built for S={policy.n_states}, A={policy.n_actions} but the MDP has "
            f"S={mdp.n_states}, A={mdp.n_actions}"
        )


def _prep(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    check_mdp_policy(mdp, policy)
    return policy.check_params(theta).to(mdp.device)


def objective_of_params(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    """J(π_θ) for ``theta [..., *param_shape]``, differentiable in θ: ``[...]``."""
    theta = _prep(mdp, policy, theta)
    return evaluate_policy(mdp, policy.probs(theta)).objective


def policy_gradient(mdp: TabularMDP, policy: TabularPolicy, theta, *, rewards: torch.Tensor | None = None) -> torch.Tensor:
    r"""∇_θ J by the policy-gradient theorem, ``[..., *param_shape]``.

    .. math:: \nabla J(\theta) = \frac{1}{1-\gamma}\sum_{s,a} d^{\pi}_\rho(s)\,Q^{\pi}(s,a)\,\nabla_\theta \pi_\theta(a|s)

    Q, not A: the two agree only when Σ_a ∇π(a|s) = 0, which fails for the direct parameterisation,
    whose unconstrained coordinates have ∂J/∂π(a|s) = d(s) Q(s,a)/(1−γ) (Agarwal et al. 2021).
    ``rewards [..., S, A]`` (optional, as in :func:`evaluate_policy`) replaces the MDP's reward — e.g. a chain rule's
    pseudo-reward, one table per policy.
    """
    theta = _prep(mdp, policy, theta)
    pi = policy.probs(theta)
    ev = evaluate_policy(mdp, pi, rewards=rewards)
    w = ev.occupancy.unsqueeze(-1) * ev.q / (1 - mdp.discount)
    return policy.vjp_probs(theta, w)


def policy_gradient_autograd(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    """∇_θ J by reverse-mode autograd through the linear solve, ``[..., *param_shape]``."""
    theta = _prep(mdp, policy, theta)
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        J = evaluate_policy(mdp, policy.probs(th)).objective
        (g,) = torch.autograd.grad(J.sum(), th)
    return g


def policy_gradient_finite_difference(mdp: TabularMDP, policy: TabularPolicy, theta, step: float = 1e-5) -> torch.Tensor:
    """∇_θ J by central differences (2·n_params evaluations, batched), ``[..., *param_shape]``. For tests."""
    theta = _prep(mdp, policy, theta)
    batch = policy.batch_shape(theta)
    n = policy.n_params
    flat = theta.reshape(*batch, 1, n)
    E = torch.eye(n, dtype=theta.dtype, device=theta.device) * step
    plus = (flat + E).reshape(*batch, n, *policy.param_shape)
    minus = (flat - E).reshape(*batch, n, *policy.param_shape)
    # unchecked evaluation: for the direct parameterisation θ ± h e_i leaves the simplex, and J is the
    # formula ρᵀ(I − γP_π)⁻¹r_π extended off it (the extension its gradient is defined on)
    Jp = _evaluate_unchecked(mdp, policy.probs(plus), mdp.rewards).objective
    Jm = _evaluate_unchecked(mdp, policy.probs(minus), mdp.rewards).objective
    return check_finite((Jp - Jm) / (2 * step), "finite-difference gradient").reshape(theta.shape)


def hessian(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    """∇²_θ J by autograd (forward-over-reverse), ``[..., n_params, n_params]``."""
    theta = _prep(mdp, policy, theta)
    batch = policy.batch_shape(theta)
    n = policy.n_params

    def J(th_flat: torch.Tensor) -> torch.Tensor:
        return _evaluate_unchecked(mdp, policy.probs(th_flat.reshape(policy.param_shape)), mdp.rewards).objective

    # a Python loop over the batch: vmap of forward-over-reverse through linalg.solve/lu_solve returns NaN
    # in torch 2.13 (checked against torch.autograd.functional.hessian), the unbatched transform is exact
    flat = theta.reshape(-1, n)
    H = torch.stack([torch.func.hessian(J)(flat[i]) for i in range(flat.shape[0])]) if flat.shape[0] else flat.new_zeros(0, n, n)
    return check_finite(H.reshape(*batch, n, n), "hessian")


def fisher_information(mdp: TabularMDP, policy: TabularPolicy, theta) -> torch.Tensor:
    r"""Fisher information of the policy under its own occupancy (Kakade 2001), ``[..., n, n]``:

    .. math:: F(\theta) = \sum_s d^\pi_\rho(s)\sum_a \pi(a|s)\, \nabla\log\pi(a|s)\,\nabla\log\pi(a|s)^\top .
    """
    theta = _prep(mdp, policy, theta)
    pi = policy.probs(theta)
    d = evaluate_policy(mdp, pi).occupancy
    G = policy.log_prob_jacobian(theta)  # [..., S, A, n]
    w = d.unsqueeze(-1) * pi  # [..., S, A]
    return torch.einsum("...sa,...sai,...saj->...ij", w, G, G)


def natural_gradient(mdp: TabularMDP, policy: TabularPolicy, theta, *, rtol: float = 1e-10) -> torch.Tensor:
    r"""Natural-gradient direction :math:`F(\theta)^{+}\nabla J(\theta)` (minimum-norm), ``[..., *param_shape]``.

    For tabular softmax this equals :math:`A^\pi(s,a)/(1-\gamma)` up to per-state constants on states
    with d(s) > 0 (Kakade 2001; Agarwal et al. 2021, Lemma 15).
    """
    theta = _prep(mdp, policy, theta)
    F = fisher_information(mdp, policy, theta)
    g = policy_gradient(mdp, policy, theta).reshape(*F.shape[:-1])
    # F is singular for softmax (per-state shifts); the Hermitian pseudo-inverse works batched on CPU and CUDA.
    # F⁺g is invariant to scaling F and g by one constant c (F⁺/c · g/c·c): dividing both by max|F| keeps a nearly
    # deterministic policy (π of order 1e-300, F subnormal) from turning pinv into NaN. Where F and g vanish exactly
    # in float64, the direction is 0.
    c = F.abs().amax(dim=(-2, -1), keepdim=True)
    live = c > 0
    c = torch.where(live, c, torch.ones_like(c))
    w = torch.linalg.pinv(F / c, rtol=rtol, hermitian=True) @ (g.unsqueeze(-1) / c)
    w = torch.where(live, w, torch.zeros_like(w))
    return w.squeeze(-1).reshape(theta.shape)
