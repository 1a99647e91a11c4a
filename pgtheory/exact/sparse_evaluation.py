r"""Exact policy evaluation on a :class:`~pgtheory.problems.SparseTabularMDP`, with a certified error bound.

V^π solves V = r_π + γ P_π V. With P_π sparse (S·A·k non-zeros) the iteration V ← r_π + γ P_π V costs one sparse
mat-vec; since the Bellman operator is a γ-contraction in ‖·‖∞, after a step whose change is δ the error of the new
iterate is at most γδ/(1 − γ) (the standard bound ‖V_{n+1} − V^π‖∞ ≤ γ/(1−γ)·‖V_{n+1} − V_n‖∞). The loop stops
when that bound is below ``tol``, and the result reports it — exact to the stated tolerance, not approximately.
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch

from .._checks import as_tensor, check_probabilities
from ..problems.sparse_mdp import SparseTabularMDP

__all__ = ["SparseEvaluation", "evaluate_policy_sparse", "sparse_policy_matrix"]


class SparseEvaluation(NamedTuple):
    v: torch.Tensor  #: [S] V^π
    q: torch.Tensor  #: [S, A] Q^π = r + γ Σ_j p_j V^π(s'_j)
    objective: float  #: J(π) = ρ·V^π
    error_bound: float  #: certified ‖v − V^π‖∞ bound
    iterations: int


def sparse_policy_matrix(mdp: SparseTabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """P_π as a sparse CSR tensor ``[S, S]``: P_π[s, s'] = Σ_a π(a|s) Σ_j p(s, a, j)·1[support(s, a, j) = s']."""
    S, A, k = mdp.support.shape
    rows = torch.arange(S, device=mdp.device).repeat_interleave(A * k)
    vals = (pi.unsqueeze(-1) * mdp.probs).reshape(-1)
    coo = torch.sparse_coo_tensor(torch.stack([rows, mdp.support.reshape(-1)]), vals, (S, S),
                                  check_invariants=False).coalesce()  # indices are validated by SparseTabularMDP
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.to_sparse_csr()


def evaluate_policy_sparse(mdp: SparseTabularMDP, pi, *, tol: float = 1e-10, max_iterations: int | None = None) -> SparseEvaluation:
    """V^π, Q^π and J(π) of ``pi [S, A]`` to within ``tol`` in sup-norm (certified; see the module docstring).

    Raises ValueError naming ``pi`` (not a policy of this MDP), ``tol`` (not positive) or ``max_iterations`` (reached
    before the bound fell below ``tol``).
    """
    if not isinstance(mdp, SparseTabularMDP):
        raise TypeError(f"mdp: expected a SparseTabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    pi = check_probabilities(as_tensor(pi, "pi", device=mdp.device), "pi")
    if tuple(pi.shape) != (S, A):
        raise ValueError(f"pi: expected shape [S, A] = {(S, A)}, got {tuple(pi.shape)}")
    if not tol > 0:
        raise ValueError(f"tol: must be positive, got {tol!r}")
    g = mdp.discount
    r_pi = (pi * mdp.rewards).sum(-1)
    if g == 0:
        v, n, bound = r_pi, 0, 0.0
    else:
        P = sparse_policy_matrix(mdp, pi)
        scale = float(r_pi.abs().max())
        # iterations after which the a-priori bound γ^n·‖r‖/(1−γ)² falls below tol (a cap, normally not reached)
        need = math.ceil(math.log(max(tol * (1 - g) ** 2 / max(scale, 1e-300), 1e-300)) / math.log(g)) + 2
        cap = need if max_iterations is None else int(max_iterations)
        v, n, bound = r_pi.clone(), 0, float("inf")
        while n < cap:
            new = r_pi + g * (P @ v)
            delta = float((new - v).abs().max())
            v, n = new, n + 1
            bound = g * delta / (1 - g)
            if bound <= tol:
                break
        if bound > tol:
            raise ValueError(f"max_iterations: stopped after {n} iterations with error bound {bound:.3g} > tol = {tol:g}")
    q = mdp.rewards + g * (mdp.probs * v[mdp.support]).sum(-1)
    return SparseEvaluation(v, q, float(mdp.initial @ v), float(bound), n)
