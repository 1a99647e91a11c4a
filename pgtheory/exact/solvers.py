r"""Optimal control of a :class:`~pgtheory.problems.TabularMDP`: value iteration, policy iteration, LP.

All three return a :class:`Solution` holding V*, Q*, a greedy optimal policy and the work done, so the
tests can check that they agree.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._checks import check_finite, check_positive_int
from ..problems.mdp import TabularMDP
from .evaluation import _values_unchecked, check_policy

__all__ = ["Solution", "value_iteration", "policy_iteration", "linear_program", "greedy_policy", "bellman_optimality_residual"]


class Solution(NamedTuple):
    v: torch.Tensor  #: V*, [S]
    q: torch.Tensor  #: Q*, [S, A]
    policy: torch.Tensor  #: a deterministic optimal policy as probabilities, [S, A]
    iterations: int  #: sweeps (VI), improvement steps (PI) or simplex/IPM iterations (LP)
    method: str


def _q_from_v(mdp: TabularMDP, v: torch.Tensor) -> torch.Tensor:
    return mdp.rewards + mdp.discount * torch.einsum("sat,...t->...sa", mdp.transitions, v)


def greedy_policy(q: torch.Tensor) -> torch.Tensor:
    """One-hot greedy policy argmax_a q(s,a) (lowest index on ties), ``[..., S, A]``."""
    return torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).to(q.dtype)


def bellman_optimality_residual(mdp: TabularMDP, v: torch.Tensor) -> float:
    """max_s |max_a (r + γPv)(s,a) − v(s)|."""
    return float((_q_from_v(mdp, v).amax(-1) - v).abs().max())


def value_iteration(mdp: TabularMDP, *, tol: float = 1e-12, max_iter: int = 100_000) -> Solution:
    r"""Iterate V ← max_a (r + γPV) until the sup-norm change guarantees ‖V − V*‖∞ ≤ ``tol``.

    Stops when ‖V_{k+1} − V_k‖∞ ≤ tol (1−γ)/γ, the standard contraction bound.
    """
    check_positive_int(max_iter, "max_iter")
    g = mdp.discount
    v = torch.zeros(mdp.n_states, dtype=mdp.rewards.dtype, device=mdp.device)
    thresh = tol * (1 - g) / max(g, 1e-300)
    for k in range(1, max_iter + 1):
        v_new = _q_from_v(mdp, v).amax(-1)
        delta = float((v_new - v).abs().max())
        v = v_new
        if delta <= thresh:
            break
    else:
        raise RuntimeError(f"value_iteration: no convergence to tol={tol} in max_iter={max_iter} sweeps")
    q = _q_from_v(mdp, v)
    return Solution(v, q, greedy_policy(q), k, "value_iteration")


def policy_iteration(mdp: TabularMDP, *, max_iter: int = 10_000, initial_policy: torch.Tensor | None = None) -> Solution:
    """Howard's policy iteration with exact evaluation; stops when the greedy policy is stable."""
    check_positive_int(max_iter, "max_iter")
    pi = (torch.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions, dtype=mdp.rewards.dtype, device=mdp.device)
          if initial_policy is None else check_policy(mdp, initial_policy, "initial_policy"))
    # inputs checked once; each iteration solves for V only (no occupancy), and the converged policy's values are
    # the last iteration's (issue 17: it used to evaluate the converged policy once more, occupancy included)
    for k in range(1, max_iter + 1):
        v, q = _values_unchecked(mdp, pi)
        # keep the current action where it is (near-)optimal, so ties do not cycle
        best = q.amax(-1, keepdim=True)
        current_ok = ((q * pi).sum(-1, keepdim=True) >= best - 1e-12 * (1 + best.abs())) & (pi.amax(-1, keepdim=True) == 1)
        new_pi = torch.where(current_ok, pi, greedy_policy(q))
        if torch.equal(new_pi, pi):
            break
        pi = new_pi
    else:
        raise RuntimeError(f"policy_iteration: policy still changing after max_iter={max_iter} steps")
    check_finite(v, "values")
    return Solution(v, q, pi, k, "policy_iteration")


def linear_program(mdp: TabularMDP) -> Solution:
    r"""Solve min_V ρ̃ᵀV s.t. V(s) ≥ r(s,a) + γ Σ_s' P(s'|s,a) V(s') for all (s,a) with scipy's HiGHS.

    ρ̃ is uniform (any positive weighting gives V*; using ρ itself would leave states it does not
    reach unconstrained from below).
    """
    from scipy.optimize import linprog

    S, A = mdp.n_states, mdp.n_actions
    P = mdp.transitions.detach().cpu().numpy()
    r = mdp.rewards.detach().cpu().numpy()
    # constraint: γ P(s'|s,a) V(s') − V(s) ≤ −r(s,a)
    A_ub = mdp.discount * P.reshape(S * A, S)
    A_ub[np.arange(S * A), np.repeat(np.arange(S), A)] -= 1.0
    res = linprog(np.full(S, 1.0 / S), A_ub=A_ub, b_ub=-r.reshape(-1), bounds=[(None, None)] * S, method="highs")
    if res.status != 0:
        raise RuntimeError(f"linear_program: HiGHS failed ({res.message})")
    v = torch.as_tensor(res.x, dtype=mdp.rewards.dtype, device=mdp.device)
    q = _q_from_v(mdp, v)
    return Solution(v, q, greedy_policy(q), int(res.nit), "linear_program")
