r"""A tabular critic V̂ [S] fitted from a finite batch of trajectories, so that GAE's bias comes from a real fit.

Registry ``CRITIC_FITS`` (each entry ``fit(traj, n_states, **options) → V̂ [S]``):

* ``monte_carlo`` — ridge regression of every-visit reward-to-go on the state:
  V̂(s) = (Σ_{t: s_t = s} G_t + κ v₀(s)) / (n(s) + κ), G_t = Σ_{t'≥t} (w_{t'}/w_t) r_{t'} (the per-state mean of
  :func:`~pgtheory.estimators.policy_gradient.fit_state_baseline` when κ = 0).
* ``td_lambda`` — the batch TD(λ) fixed point (LSTD(λ) with one-hot features, Boyan 2002): the V̂ at which the
  accumulated TD(λ) update on the whole batch is zero, plus a ridge κ toward the prior v₀. Because
  Σ_t e_t δ_t = Σ_t φ(s_t) Â_t (eligibility traces e_t, forward view), the fixed point is the V at which the
  GAE(λ) advantages of :func:`~pgtheory.estimators.advantages.gae_advantages` sum to zero in every state:

  .. math:: \sum_{t:\,s_t = s} \hat A^{\mathrm{GAE}(\lambda)}_t(\hat V) = \kappa\,(\hat V(s) - v_0(s))
            \quad\text{for every } s,\qquad\text{i.e.}\quad (A_\lambda + \kappa I)\hat V = b_\lambda + \kappa v_0,

  with b_λ = Σ_t φ(s_t) Σ_l (gλ)^l r_{t+l} and A_λ = Σ_t φ(s_t)[φ(s_t) − g(1−λ) Σ_l (gλ)^l φ(s_{t+l+1})]ᵀ
  (terms after an episode's end dropped; g = 1 under geometric termination, γ under truncation, as in GAE).
  λ = 1 is ``monte_carlo``; λ = 0 is batch TD(0), the certainty-equivalence value of the empirical model
  (Sutton & Barto 2018, §6.3). With κ = 0 and finite episodes A_λ restricted to the visited states is a weakly
  chained diagonally dominant M-matrix (row s: n(s) on the diagonal, off-diagonal mass ≤ n(s), with equality possible
  — e.g. λ = 0, g = 1, a state always followed by another — but every visited state reaches an episode's end, whose
  row is strictly dominant), so it is non-singular and the fit is always defined.

States never visited get v₀ (``prior``, a scalar or a table [S]) for every κ ≥ 0 — explicitly, since their rows
of A_λ are zero and nothing in the batch bootstraps from them. Under ``termination="truncate"`` the horizon's end is
treated as terminal, so both fits target a time-averaged truncated value, not V^π; under geometric termination
they are consistent for V^π: per episode, E[A_λ] = diag(d)[I − γ(1−λ)P_π(I − γλP_π)^{-1}] and
E[b_λ] = diag(d)(I − γλP_π)^{-1} r_π with d the expected visits ρᵀ(I − γP_π)^{-1}, whose solution is
(I − γP_π)^{-1} r_π = V^π for every λ (:func:`expected_td_lambda_statistics`).

GAE with a fitted critic (:func:`expected_gae_gradient`). Given a critic V̂ from an *independent* batch, the
advantage batch's GAE policy gradient has the exact conditional mean g_λ(V̂) = Σ_{s,a} d(s) Ā_λ(V̂)(s,a) ∇π(a|s)
per episode, with Ā_λ = :func:`~pgtheory.estimators.advantages.gae_expected_advantage`, affine in V̂. Hence

.. math:: \mathbb E[\hat g] = \mathbb E_{\hat V}\big[g_\lambda(\hat V)\big] = g_\lambda(\mathbb E\hat V),

and GAE's bias is g_λ(E V̂) − ∇J: zero for λ = 1 (Ā_1 = Q^π − V̂, a state baseline; policies with
Σ_a ∇π(a|s) = 0, e.g. softmax) and whenever E V̂ − V^π is constant across states (a constant offset shifts Ā_λ by a
constant), nonzero in general for λ < 1 when the fit is biased unevenly across states — ridge shrinkage toward v₀,
every-visit Monte Carlo and batch TD on a few episodes all are, and E V̂ has no closed form for them (average
independently fitted critics; the identity above is exact for any finite set of them). Reusing the *same* batch for the critic
and the advantages breaks the conditional mean (V̂ then depends on the actions taken) and, for ``td_lambda`` with
κ = 0, forces Σ_{t: s_t = s} Â_t = 0 in every state: each state's advantages are centred on the batch, and a state
whose visits all take one action contributes exactly zero to the softmax policy gradient.

Sources: LSTD(λ) (Boyan 2002, "Technical update: least-squares temporal difference learning"), batch TD(0) as
certainty equivalence (Sutton & Barto 2018, §6.3); the one-hot specialisation, the ridge toward v₀, the unvisited-state
rule and the GAE identities are derived here. Not verified against a public implementation: the LLM-RL libraries
(verl, TRL) train a neural critic by clipped regression to returns and have no tabular batch fit to compare with.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_positive_int, check_real, check_shape
from .._registry import Registry
from ..exact.gradients import check_mdp_policy
from ..exact.evaluation import evaluate_policy, policy_reward, policy_transition_matrix
from ..policies.tabular import TabularPolicy
from ..problems.mdp import TabularMDP
from ..sampling.mdp import Trajectories
from .advantages import gae_expected_advantage
from .policy_gradient import check_trajectories, fit_state_baseline

__all__ = [
    "CRITIC_FITS",
    "CriticStatistics",
    "td_lambda_statistics",
    "expected_td_lambda_statistics",
    "solve_critic",
    "monte_carlo_critic",
    "td_lambda_critic",
    "fit_critic",
    "expected_gae_gradient",
]

CRITIC_FITS: Registry[Callable[..., torch.Tensor]] = Registry("critic fit")


class CriticStatistics(NamedTuple):
    """Sufficient statistics of the batch TD(λ) fit: A_λ V = b_λ (module docstring)."""

    matrix: torch.Tensor  #: A_λ, [S, S]
    target: torch.Tensor  #: b_λ, [S]
    visits: torch.Tensor  #: n(s), the number of visits (expected visits per episode for the exact statistics), [S]


def _check_lambda(lam: Any) -> float:
    return check_real(lam, "lam", low=0.0, high=1.0)


def _n_states(traj: Trajectories, n_states: Any) -> int:
    S = check_positive_int(n_states, "n_states")
    s_max = int(traj.states.max()) if traj.n_transitions else -1
    if s_max >= S:
        raise ValueError(f"n_states: the trajectories visit state {s_max}; expected n_states >= {s_max + 1}, got {S}")
    return S


def _prior(prior: Any, n_states: int, like: torch.Tensor) -> torch.Tensor:
    """The prior value v₀ as a table [S] on ``like``'s device: a real number is broadcast to every state."""
    if not isinstance(prior, (torch.Tensor, np.ndarray, list, tuple)):
        return torch.full((n_states,), check_real(prior, "prior"), dtype=like.dtype, device=like.device)
    v0 = check_finite(as_tensor(prior, "prior", device=like.device), "prior").to(like.dtype)
    if v0.ndim == 0:
        return v0.expand(n_states)
    return check_shape(v0, "prior", (n_states,), "[S]")


def td_lambda_statistics(traj: Trajectories, n_states: int, lam: float) -> CriticStatistics:
    """(A_λ [S, S], b_λ [S], visits [S]) of a batch, by linearity of GAE(λ) in the critic.

    The TD error is affine in the critic, δ_t(V) = r_t + (g φ(s_{t+1})[t+1 alive] − φ(s_t))ᵀV, and GAE(λ) is the
    backward scan Â_t = δ_t + gλ Â_{t+1} (:meth:`~pgtheory.sampling.Trajectories.backward_recursion`, as in
    :func:`~pgtheory.estimators.advantages.gae_advantages`), so b_λ = Σ_t φ(s_t)·scan(r)_t and column j of A_λ is
    −Σ_t φ(s_t)·scan(δ's coefficient of V(j))_t: A_λV − b_λ is minus the per-state sum of the batch's GAE advantages.
    """
    check_trajectories(traj)
    S = _n_states(traj, n_states)
    lam = _check_lambda(lam)
    g = 1.0 if traj.termination == "geometric" else traj.discount  # per-step discount of GAE's TD error
    r = traj.rewards
    onehot = torch.eye(S, dtype=r.dtype, device=r.device)[traj.states]  # φ(s_t), [M, S]
    nxt = traj.next_index()
    following = torch.where((nxt >= 0).unsqueeze(-1), onehot[nxt.clamp_min(0)], torch.zeros_like(onehot))
    coefficient = g * following - onehot  # ∂δ_t/∂V, [M, S]

    def per_state(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(S, *x.shape[1:], dtype=x.dtype, device=x.device).index_add_(0, traj.states, x)

    scans = traj.backward_recursion(torch.cat([coefficient, r[:, None]], dim=1), g * lam)  # one scan for all S + 1 columns
    per_state_scans = per_state(scans)  # [S, S + 1]
    return CriticStatistics(-per_state_scans[:, :S], per_state_scans[:, S], per_state(torch.ones_like(r)))


def expected_td_lambda_statistics(mdp: TabularMDP, pi, lam: float) -> CriticStatistics:
    """Per-episode expectations of :func:`td_lambda_statistics` under geometric termination (module docstring).

    ``pi [S, A]``; visits d = ρᵀ(I − γP_π)^{-1} = occupancy/(1 − γ). Their solution is V^π for every λ.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    lam = _check_lambda(lam)
    g = mdp.discount
    ev = evaluate_policy(mdp, pi)
    P = policy_transition_matrix(mdp, pi)
    check_shape(P, "pi", (mdp.n_states, mdp.n_states), "one policy [S, A] giving P_π")
    eye = torch.eye(mdp.n_states, dtype=P.dtype, device=P.device)
    trace = torch.linalg.inv(eye - g * lam * P)  # Σ_l (γλP_π)^l
    d = ev.occupancy / (1 - g)
    matrix = d.unsqueeze(-1) * (eye - g * (1 - lam) * P @ trace)
    target = d * (trace @ policy_reward(mdp, pi))
    return CriticStatistics(matrix, target, d)


def solve_critic(stats: CriticStatistics, *, ridge: float = 0.0, prior=0.0) -> torch.Tensor:
    """V̂ [S] solving (A + κI)V̂ = b + κv₀ on visited states, V̂ = v₀ on unvisited ones (``ridge`` κ ≥ 0)."""
    if not isinstance(stats, CriticStatistics):
        raise TypeError(f"stats: expected CriticStatistics, got {type(stats).__name__}")
    kappa = check_real(ridge, "ridge", low=0.0)
    A, b, visits = stats
    S = b.shape[-1]
    check_shape(A, "stats", (S, S), "matrix [S, S]")
    check_shape(visits, "stats", (S,), "visits [S]")
    v0 = _prior(prior, S, b)
    eye = torch.eye(S, dtype=A.dtype, device=A.device)
    unseen = visits <= 0
    M = torch.where(unseen.unsqueeze(-1), eye, A + kappa * eye)
    rhs = torch.where(unseen, v0, b + kappa * v0)
    v, info = torch.linalg.solve_ex(M, rhs)
    if int(info) != 0:
        raise ValueError("stats: the TD(λ) system is singular on the visited states; pass ridge > 0")
    return check_finite_result(v, "stats", "fitted critic")


@CRITIC_FITS.register("monte_carlo")
def monte_carlo_critic(traj: Trajectories, n_states: int, *, ridge: float = 0.0, prior=0.0) -> torch.Tensor:
    """V̂(s) = (n(s)·Ḡ(s) + κv₀(s))/(n(s) + κ) on visited states, v₀ elsewhere: ``[S]`` (Ḡ from fit_state_baseline)."""
    check_trajectories(traj)
    S = _n_states(traj, n_states)
    kappa = check_real(ridge, "ridge", low=0.0)
    mean_return = fit_state_baseline(traj, S)
    visits = torch.zeros(S, dtype=mean_return.dtype, device=mean_return.device).index_add_(
        0, traj.states, torch.ones_like(traj.rewards))
    v0 = _prior(prior, S, mean_return)
    seen = visits > 0
    fitted = (visits * mean_return + kappa * v0) / torch.where(seen, visits + kappa, torch.ones_like(visits))
    return check_finite_result(torch.where(seen, fitted, v0), "traj", "Monte Carlo critic")


@CRITIC_FITS.register("td_lambda")
def td_lambda_critic(traj: Trajectories, n_states: int, *, lam: float, ridge: float = 0.0, prior=0.0) -> torch.Tensor:
    """The batch TD(λ) fixed point with ridge κ toward v₀ (LSTD(λ), one-hot features): ``[S]``."""
    return solve_critic(td_lambda_statistics(traj, n_states, lam), ridge=ridge, prior=prior)


def fit_critic(traj: Trajectories, n_states: int, kind: str = "td_lambda", **kwargs) -> torch.Tensor:
    """The critic ``V̂ [S]`` of the named fit (``CRITIC_FITS``) on ``traj``; keywords checked by name."""
    fn = CRITIC_FITS.resolve(kind, kwargs, n_positional=2, arg="kind")
    return fn(traj, n_states, **kwargs)


def expected_gae_gradient(mdp: TabularMDP, policy: TabularPolicy, theta, values, lam: float) -> torch.Tensor:
    r"""Exact E[Σ_t Â_t^{GAE(λ)} ∇log π_θ(a_t|s_t)] per episode for a *fixed* critic ``values [S]`` (geometric
    termination), ``param_shape``: Σ_{s,a} d(s)·Ā_λ(s,a)·∇π_θ(a|s) with d = occupancy/(1 − γ) the expected visits.

    Equals ∇J for λ = 1 (softmax and other policies with Σ_a ∇π = 0) or ``values`` = V^π; affine in ``values``, so
    its mean over independently fitted critics is its value at their mean.
    """
    check_mdp_policy(mdp, policy)
    theta = check_shape(policy.check_params(theta).to(mdp.device), "theta", policy.param_shape, "param_shape")
    pi = policy.probs(theta)
    visits = evaluate_policy(mdp, pi).occupancy / (1 - mdp.discount)
    weights = visits.unsqueeze(-1) * gae_expected_advantage(mdp, pi, values, lam)
    return check_finite_result(policy.vjp_probs(theta, weights), "values", "expected GAE gradient")
