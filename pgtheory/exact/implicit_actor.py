r"""The IQL expectile critic and the implicit actor it defines (IDQL; Hansen-Estruch et al. 2023), exactly.

For a behaviour policy μ(·|s) and action values Q(s,·), the expectile critic at level τ ∈ (0, 1) is

.. math:: V_\tau(s) = \arg\min_v\ \mathbb E_{a\sim\mu}\big[\,|\tau - 1\{Q(s,a) < v\}|\,(Q(s,a) - v)^2\big],

the τ-expectile of the law of Q(s,a) under a ~ μ. Its first-order condition E_μ[|τ − 1{Q<V}|(Q − V)] = 0 says
V_τ = E_{π_imp}[Q] for the *implicit actor*

.. math:: \pi_{imp}(a|s) \propto \mu(a|s)\,\frac{f'(Q - V)}{Q - V} = \mu(a|s)\,|\tau - 1\{Q(s,a) < V_\tau(s)\}|,

with f(u) = |τ − 1{u<0}|u² (the IDQL generalisation π_imp ∝ μ·|f′(u)|/|u| for a convex critic loss f; weight form
cross-checked against the authors' code, github.com/philippe-eecs/IDQL, ``ddpm_iql_learner.py``: expectile weights
``where(adv > 0, τ, 1 − τ)``). IQL's critic is the fixed point Q = r + γ P V_τ(Q) (the Bellman backup on dataset
actions only; in the tabular full-support limit every action is a dataset action). Because V_τ = E_{π_imp}[Q],
this Q solves the Bellman equation of π_imp, i.e. Q = Q^{π_imp}: π_imp is the policy that attains IQL's values.

Here the expectile is the root of its piecewise-linear first-order condition, found by bracketing between sorted
atoms and interpolating, not by the implicit-actor weighted mean, so that V_τ = E_{π_imp}[Q] is a check and not a
rewriting.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_positive_int, check_probabilities, check_real
from ..problems import TabularMDP

__all__ = ["expectile", "expectile_implicit_policy", "iql_expectile_fixed_point"]

def _check_tau(tau) -> float:
    return check_real(tau, "tau", low=0.0, high=1.0, low_open=True, high_open=True)


def expectile(values, weights, tau: float) -> torch.Tensor:
    r"""The τ-expectile of the discrete law Σ_a weights[..., a]·δ_{values[..., a]}; shape [...].

    The root of g(v) = τ·Σ_a w_a (x_a − v)_+ − (1 − τ)·Σ_a w_a (v − x_a)_+, which is continuous, decreasing and
    linear between consecutive atoms: g is evaluated at every atom, the bracketing pair of consecutive sorted
    atoms x_(j) ≤ v ≤ x_(j+1) is found, and v = x_(j) + g(x_(j))·(x_(j+1) − x_(j)) / (g(x_(j)) − g(x_(j+1))) is exact up
    to round-off. ``values`` and ``weights`` [..., A]; ``weights`` a probability vector on the last axis.
    """
    x = check_finite(as_tensor(values, "values"), "values")
    w = check_probabilities(as_tensor(weights, "weights", device=x.device), "weights")
    if w.shape != x.shape:
        raise ValueError(f"weights: expected the shape of values {tuple(x.shape)}, got {tuple(w.shape)}")
    return _expectile_unchecked(x, w, _check_tau(tau))


def _expectile_unchecked(x: torch.Tensor, w: torch.Tensor, t: float) -> torch.Tensor:
    """:func:`expectile` without input checks (for the fixed-point loop)."""
    xs = x.sort(-1).values
    d = x.unsqueeze(-2) - xs.unsqueeze(-1)  # [..., j, a] = x_a − x_(j)
    g = t * (w.unsqueeze(-2) * d.clamp(min=0)).sum(-1) - (1 - t) * (w.unsqueeze(-2) * (-d).clamp(min=0)).sum(-1)
    # g is non-increasing in j; g(x_(1)) ≥ 0 ≥ g(x_(A)). j = last index with g(x_(j)) > 0 (0 if none).
    j = ((g > 0).sum(-1) - 1).clamp(min=0, max=max(x.shape[-1] - 2, 0)).unsqueeze(-1)
    jn = (j + 1).clamp(max=x.shape[-1] - 1)
    x0, x1 = xs.gather(-1, j).squeeze(-1), xs.gather(-1, jn).squeeze(-1)
    g0, g1 = g.gather(-1, j).squeeze(-1), g.gather(-1, jn).squeeze(-1)
    slope = g0 - g1
    frac = torch.where(slope > 0, g0 / torch.where(slope > 0, slope, torch.ones_like(slope)), torch.zeros_like(g0))
    return x0 + frac.clamp(0, 1) * (x1 - x0)


def expectile_implicit_policy(q, behaviour, v, tau: float) -> torch.Tensor:
    r"""π_imp(a|s) = μ(a|s)|τ − 1{Q(s,a) < V(s)}| / Σ_b μ(b|s)|τ − 1{Q(s,b) < V(s)}|; shape of ``q`` [..., A].

    ``q`` [..., A], ``behaviour`` μ [..., A] (a probability vector per row), ``v`` [...] (the critic's V).
    """
    q = check_finite(as_tensor(q, "q"), "q")
    mu = check_probabilities(as_tensor(behaviour, "behaviour", device=q.device), "behaviour")
    v = check_finite(as_tensor(v, "v", device=q.device), "v")
    if mu.shape != q.shape:
        raise ValueError(f"behaviour: expected the shape of q {tuple(q.shape)}, got {tuple(mu.shape)}")
    if v.shape != q.shape[:-1]:
        raise ValueError(f"v: expected shape {tuple(q.shape[:-1])}, got {tuple(v.shape)}")
    t = _check_tau(tau)
    below = (q < v.unsqueeze(-1)).to(q.dtype)
    weight = below * (1 - t) + (1 - below) * t  # in q's dtype (a Python-scalar torch.where would round to float32)
    un = mu * weight
    return un / un.sum(-1, keepdim=True)


def iql_expectile_fixed_point(mdp: TabularMDP, behaviour, tau: float, *, tol: float = 1e-12,
                              max_iterations: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    r"""IQL's tabular critic: the fixed point Q = r + γ P V_τ(Q), V_τ(s) = expectile_τ of Q(s,·) under μ(·|s).

    The backup is a γ-contraction in sup-norm (the expectile is monotone and commutes with adding constants), so
    iteration from Q = r converges; it stops when sup|Q_{k+1} − Q_k| ≤ tol·(1 − γ) (then ‖Q_k − Q*‖ ≤ tol).
    Returns (Q [S, A], V [S]). Raises ValueError naming ``max_iterations`` if it is reached first.
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    mu = check_probabilities(as_tensor(behaviour, "behaviour", device=mdp.device), "behaviour")
    if tuple(mu.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"behaviour: expected shape {(mdp.n_states, mdp.n_actions)}, got {tuple(mu.shape)}")
    t = _check_tau(tau)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    g = mdp.discount
    q = mdp.rewards.clone()
    for _ in range(max_iterations):
        v = _expectile_unchecked(q, mu, t)
        q_new = mdp.rewards + g * torch.einsum("sat,t->sa", mdp.transitions, v)
        if float((q_new - q).abs().max()) <= tol * (1 - g):
            return q_new, expectile(q_new, mu, t)
        q = q_new
    raise ValueError(f"max_iterations: the IQL backup did not reach tol={tol:g} in {max_iterations} iterations")
