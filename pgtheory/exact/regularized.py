r"""Entropy- and KL-regularised MDPs: soft value iteration, regularised objectives and their gradients.

With temperature τ > 0 and a reference policy π_ref (uniform ↔ entropy regularisation up to a
constant), the regularised return of π is

.. math:: J_\tau(\pi) = \mathbb E\sum_t \gamma^t\big[r(s_t,a_t) - \tau\,\log\tfrac{\pi(a_t|s_t)}{\pi_{\rm ref}(a_t|s_t)}\big].

For ``reference=None`` the penalty is −τ log π(a|s) (Shannon entropy bonus). The soft Bellman optimality
operator is :math:`V(s) = \tau\log\sum_a \pi_{\rm ref}(a|s)\exp(Q(s,a)/\tau)`, whose fixed point gives the
unique optimum :math:`\pi^*_\tau(a|s) \propto \pi_{\rm ref}(a|s)\exp(Q^*_\tau(s,a)/\tau)` (Ziebart 2010;
Haarnoja et al. 2017; Geist et al. 2019).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import as_tensor, check_positive_int, check_probabilities
from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from .evaluation import PolicyEvaluation, check_policy, _evaluate_unchecked

__all__ = [
    "SoftSolution",
    "soft_value_iteration",
    "regularized_evaluation",
    "regularized_objective",
    "regularized_policy_gradient",
    "regularized_policy_gradient_autograd",
    "TsallisVIResult",
    "tsallis_kl_value_iteration",
]


class SoftSolution(NamedTuple):
    v: torch.Tensor  #: V*_τ, [S]
    q: torch.Tensor  #: Q*_τ = r + γPV*_τ, [S, A]
    policy: torch.Tensor  #: π*_τ ∝ π_ref exp(Q*_τ/τ), [S, A]
    iterations: int


def _log_reference(mdp: TabularMDP, reference) -> torch.Tensor:
    if reference is None:
        return torch.zeros(mdp.n_states, mdp.n_actions, dtype=mdp.rewards.dtype, device=mdp.device)
    ref = check_policy(mdp, as_tensor(reference, "reference", device=mdp.device), "reference")
    if ref.ndim != 2:
        raise ValueError(f"reference: expected shape [S, A], got {tuple(ref.shape)}")
    check_probabilities(ref, "reference")
    if bool((ref <= 0).any()):
        raise ValueError("reference: must have full support (KL to it would be infinite)")
    return ref.log()


def _check_temperature(t) -> float:
    t = float(t)
    if not t > 0 or t != t or t == float("inf"):
        raise ValueError(f"temperature: must be a positive finite number, got {t}")
    return t


def soft_value_iteration(mdp: TabularMDP, temperature: float, *, reference=None, tol: float = 1e-12,
                         max_iter: int = 100_000) -> SoftSolution:
    r"""Iterate V ← τ log Σ_a π_ref exp((r + γPV)/τ) to ‖V − V*_τ‖∞ ≤ ``tol``."""
    tau = _check_temperature(temperature)
    check_positive_int(max_iter, "max_iter")
    log_ref = _log_reference(mdp, reference)
    g = mdp.discount
    v = torch.zeros(mdp.n_states, dtype=mdp.rewards.dtype, device=mdp.device)
    thresh = tol * (1 - g) / max(g, 1e-300)
    for k in range(1, max_iter + 1):
        q = mdp.rewards + g * torch.einsum("sat,t->sa", mdp.transitions, v)
        v_new = tau * torch.logsumexp(q / tau + log_ref, -1)
        delta = float((v_new - v).abs().max())
        v = v_new
        if delta <= thresh:
            break
    else:
        raise RuntimeError(f"soft_value_iteration: no convergence to tol={tol} in max_iter={max_iter} sweeps")
    q = mdp.rewards + g * torch.einsum("sat,t->sa", mdp.transitions, v)
    pi = torch.softmax(q / tau + log_ref, -1)
    return SoftSolution(v, q, pi, k)


def regularized_evaluation(mdp: TabularMDP, pi: torch.Tensor, temperature: float, *, reference=None) -> PolicyEvaluation:
    r"""Soft V_τ^π, Q_τ^π = r + γPV_τ^π, A = Q_τ − V_τ, occupancy and J_τ of ``pi [..., S, A]``.

    Obtained by evaluating π on the policy-dependent reward r(s,a) − τ log(π/π_ref)(a|s)
    and then re-defining Q_τ without the penalty of the current step (the usual soft-Q convention).
    """
    tau = _check_temperature(temperature)
    log_ref = _log_reference(mdp, reference)
    pi = check_policy(mdp, pi)
    # Σ_a π (r − τ log π/π_ref), with 0·log 0 = 0 (xlogy keeps gradients finite at π = 0)
    r_pi = (pi * (mdp.rewards + tau * log_ref) - tau * torch.xlogy(pi, pi)).sum(-1)
    return _evaluate_unchecked(mdp, pi, mdp.rewards, r_pi)


def regularized_objective(mdp: TabularMDP, pi: torch.Tensor, temperature: float, *, reference=None) -> torch.Tensor:
    """J_τ(π) = ρᵀV_τ^π, ``[...]``."""
    return regularized_evaluation(mdp, pi, temperature, reference=reference).objective


def regularized_policy_gradient(mdp: TabularMDP, policy: TabularPolicy, theta, temperature: float, *, reference=None) -> torch.Tensor:
    r"""∇_θ J_τ by the soft policy-gradient theorem, ``[..., *param_shape]``:

    .. math:: \nabla J_\tau = \frac{1}{1-\gamma}\sum_{s,a} d^\pi_\rho(s)\,\big[Q^\pi_\tau(s,a) - \tau\log\tfrac{\pi(a|s)}{\pi_{\rm ref}(a|s)} - \tau\big]\,\nabla\pi_\theta(a|s).

    (The −τ term, from −τ Σ_a π ∇log π = −τ Σ_a ∇π, vanishes for parameterisations that stay on the
    simplex — softmax, log-linear — but not for unconstrained direct coordinates, where it is kept.)
    """
    theta = policy.check_params(theta).to(mdp.device)
    pi = policy.probs(theta)
    ev = regularized_evaluation(mdp, pi, temperature, reference=reference)
    log_ref = _log_reference(mdp, reference)
    w = ev.occupancy.unsqueeze(-1) * (ev.q - temperature * (policy.log_probs(theta) - log_ref + 1)) / (1 - mdp.discount)
    return policy.vjp_probs(theta, w)


def regularized_policy_gradient_autograd(mdp: TabularMDP, policy: TabularPolicy, theta, temperature: float, *,
                                         reference=None) -> torch.Tensor:
    """∇_θ J_τ by autograd through the linear solve, ``[..., *param_shape]``."""
    theta = policy.check_params(theta).to(mdp.device)
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        J = regularized_objective(mdp, policy.probs(th), temperature, reference=reference)
        (g,) = torch.autograd.grad(J.sum(), th)
    return g


class TsallisVIResult(NamedTuple):
    policies: torch.Tensor  #: π_1 … π_K, [K, S, A]
    q_values: torch.Tensor  #: Q_0 … Q_{K-1}, [K, S, A]
    averaged_policies: torch.Tensor  #: G_q(Σ_{j≤k} Q_j; π_0), the 'implicit averaging' prediction, [K, S, A]


def tsallis_kl_value_iteration(mdp: TabularMDP, temperature: float, entropic_index: float, iterations: int, *,
                               initial_policy=None) -> TsallisVIResult:
    r"""Tsallis-KL-regularised (mirror-descent) value iteration, the exact scheme MVI(q) approximates.

    .. math:: \pi_{k+1} = \arg\max_\pi \langle\pi, Q_k\rangle - \tau D_q(\pi\|\pi_k),\qquad
              Q_{k+1} = r + \gamma P\big[\langle\pi_{k+1}, Q_k\rangle - \tau D_q(\pi_{k+1}\|\pi_k)\big],

    with Q_0 = 0 and π_0 uniform (or ``initial_policy``), D_q in the package's '1-q' q-log convention. For q = 1,
    π_{k+1} ∝ π_0 exp(Σ_{j≤k} Q_j / τ): the policy is a softmax of the *sum* of past Q's (Vieillard et al. 2020's
    implicit averaging). ``averaged_policies`` holds that prediction for any q, so the deviation
    ‖π_{k+1} − G_q(Σ_j Q_j; π_0)‖ measures how far pseudo-additivity of ln_q breaks it when q ≠ 1.
    Keep π_0 with full support (D_q to a policy with zeros is then still finite).
    """
    from .divergences import tsallis_kl, tsallis_kl_greedy

    tau = _check_temperature(temperature)
    K = check_positive_int(iterations, "iterations")
    S, A = mdp.n_states, mdp.n_actions
    pi = (torch.full((S, A), 1.0 / A, dtype=mdp.rewards.dtype, device=mdp.device) if initial_policy is None
          else check_probabilities(as_tensor(initial_policy, "initial_policy", device=mdp.device), "initial_policy"))
    pi0 = pi
    Q = torch.zeros(S, A, dtype=mdp.rewards.dtype, device=mdp.device)
    total = torch.zeros_like(Q)
    pols, qs, avg = [], [], []
    for _ in range(K):
        qs.append(Q)
        total = total + Q
        new = tsallis_kl_greedy(Q, pi, tau, entropic_index)
        avg.append(tsallis_kl_greedy(total, pi0, tau, entropic_index))
        v = (new * Q).sum(-1) - tau * tsallis_kl(new, pi, entropic_index)
        Q = mdp.rewards + mdp.discount * torch.einsum("sat,t->sa", mdp.transitions, v)
        pi = new
        pols.append(pi)
    return TsallisVIResult(torch.stack(pols), torch.stack(qs), torch.stack(avg))
