r"""Advantage estimators on sampled trajectories: TD errors, GAE(λ) and λ-returns (Schulman et al. 2016).

With a critic V (a table [S]) and the per-step discount g_eff — 1 under geometric termination, where
continuing with probability γ already discounts, and γ under a truncated horizon —

.. math:: \delta_t = r_t + g_{\rm eff}\,V(s_{t+1})\,[t+1 < T] - V(s_t),\qquad
          \hat A_t = \sum_{l\ge0} (g_{\rm eff}\lambda)^l\,\delta_{t+l} = G^\lambda_t - V(s_t).

λ = 0 gives δ_t; λ = 1 gives the Monte Carlo return minus V(s_t). The exact conditional expectation
of Â_t given (s_t, a_t) = (s, a) under geometric termination is

.. math:: \bar A_\lambda(s,a) = D(s,a) + \gamma\lambda\,\big[P (I-\gamma\lambda P_\pi)^{-1} D_\pi\big](s,a),\quad
          D = r + \gamma P V - V,\ D_\pi(s) = \textstyle\sum_a \pi(a|s) D(s,a),

so Ā_λ = A^π for every λ when V = V^π, and Ā_1 = Q^π − V for every V — not A^π, but it differs from A^π
by a state-only baseline, so the policy gradient built from λ = 1 is unbiased for any critic
(:func:`gae_expected_advantage`).
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_finite_result, check_real, check_shape
from ..exact.evaluation import check_policy, policy_transition_matrix
from ..problems.mdp import TabularMDP
from ..sampling.mdp import Trajectories
from .policy_gradient import PG_ESTIMATORS, check_table_covers, check_trajectories

__all__ = ["td_errors", "gae_advantages", "gae_expected_advantage"]


def _values(traj: Trajectories, values) -> torch.Tensor:
    """The critic ``values [S]`` as a float64 tensor with an entry for every state ``traj`` visits."""
    check_trajectories(traj)
    v = check_finite(as_tensor(values, "values", device=traj.rewards.device), "values")
    if v.ndim != 1:
        raise ValueError(f"values: expected a state-value table [S], got shape {tuple(v.shape)}")
    return check_table_covers(v, "values", traj, by_action=False)


def _check_lambda(lam: float) -> float:
    return check_real(lam, "lam", low=0.0, high=1.0)


def _g_eff(traj: Trajectories) -> float:
    return 1.0 if traj.termination == "geometric" else traj.discount


def td_errors(traj: Trajectories, values) -> torch.Tensor:
    """δ_t for every transition, ``[M]``."""
    v = _values(traj, values)
    nxt = traj.next_index()
    v_next = torch.where(nxt >= 0, v[traj.states[nxt.clamp_min(0)]], torch.zeros((), dtype=v.dtype, device=v.device))
    return check_finite_result(traj.rewards + _g_eff(traj) * v_next - v[traj.states], "values", "TD error")


def gae_advantages(traj: Trajectories, values, lam: float) -> torch.Tensor:
    """Â_t = Σ_l (g_eff λ)^l δ_{t+l} within each episode, ``[M]`` (backward recursion over steps)."""
    lam = _check_lambda(lam)
    return check_finite_result(traj.backward_recursion(td_errors(traj, values), _g_eff(traj) * lam), "values", "GAE advantage")


@PG_ESTIMATORS.register("gae")
def gae_weights(traj: Trajectories, *, values, lam: float) -> torch.Tensor:
    """ψ_t = w_t Â_t^{GAE(λ)} (Schulman et al. 2016)."""
    return traj.weights * gae_advantages(traj, values, lam)


def gae_expected_advantage(mdp: TabularMDP, pi: torch.Tensor, values, lam: float) -> torch.Tensor:
    """Exact E[Â_t | s_t = s, a_t = a] under geometric termination with critic ``values [S]`` and policy ``pi [S, A]``: ``[S, A]``."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    lam = _check_lambda(lam)
    pi = check_shape(check_policy(mdp, pi), "pi", (mdp.n_states, mdp.n_actions), "[S, A]")
    v = check_finite(as_tensor(values, "values", device=mdp.device), "values")
    check_shape(v, "values", (mdp.n_states,), "[S]")
    g = mdp.discount
    D = mdp.rewards + g * mdp.transitions @ v - v.unsqueeze(-1)
    D_pi = (pi * D).sum(-1)
    P_pi = policy_transition_matrix(mdp, pi)
    w = torch.linalg.solve(torch.eye(mdp.n_states, dtype=v.dtype, device=v.device) - g * lam * P_pi, D_pi)
    return check_finite_result(D + g * lam * mdp.transitions @ w, "values", "expected GAE advantage")
