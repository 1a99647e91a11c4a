r"""Exact policy evaluation on a :class:`~pgtheory.problems.TabularMDP` (float64, batched, any device).

With :math:`P_\pi(s,s') = \sum_a \pi(a|s) P(s'|s,a)` and :math:`r_\pi(s) = \sum_a \pi(a|s) r(s,a)`:

.. math::
    V^\pi = (I-\gamma P_\pi)^{-1} r_\pi,\qquad Q^\pi = r + \gamma P V^\pi,\qquad A^\pi = Q^\pi - V^\pi,\\
    d^\pi_\rho = (1-\gamma)\,\rho^\top (I-\gamma P_\pi)^{-1},\qquad J(\pi) = \rho^\top V^\pi .

One LU factorisation of :math:`I - \gamma P_\pi` serves both V and d. Policies are given as
probabilities ``pi [..., S, A]``; every leading dimension is a batch of policies.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .._checks import as_tensor, check_finite, check_probabilities, plain_host_tensor
from ..problems.mdp import TabularMDP

__all__ = [
    "check_policy",
    "PolicyEvaluation",
    "evaluate_policy",
    "policy_transition_matrix",
    "policy_reward",
    "state_values",
    "action_values",
    "advantages",
    "occupancy",
    "state_action_occupancy",
    "objective",
    "bellman_residual",
]


class PolicyEvaluation(NamedTuple):
    """Exact evaluation of a batch of policies (shapes for batch shape ``B``)."""

    v: torch.Tensor  #: V^π, [*B, S]
    q: torch.Tensor  #: Q^π, [*B, S, A]
    advantage: torch.Tensor  #: A^π = Q^π − V^π, [*B, S, A]
    occupancy: torch.Tensor  #: d^π_ρ (normalised, sums to 1), [*B, S]
    objective: torch.Tensor  #: J(π) = ρᵀV^π, [*B]


def check_policy(mdp: TabularMDP, pi: torch.Tensor, name: str = "pi", validate: bool = True) -> torch.Tensor:
    """Policies ``pi [..., S, A]`` for ``mdp`` as float64 on its device: the shape checked and (unless ``validate`` is
    False or ``pi`` carries a gradient) every row a distribution — errors name ``name``."""
    pi = as_tensor(pi, name, device=mdp.device)
    if pi.ndim < 2 or tuple(pi.shape[-2:]) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"{name}: expected shape [..., S, A] = [..., {mdp.n_states}, {mdp.n_actions}], got {tuple(pi.shape)}")
    if validate and not pi.requires_grad:
        pi = check_probabilities(pi, name, atol=1e-6)  # float32-normalised input comes back renormalised in float64
    return pi


def policy_transition_matrix(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """P_π[s, s'] = Σ_a π(a|s) P(s'|s,a): ``[..., S, S]``."""
    return _policy_matrix(mdp, check_policy(mdp, pi))


def _policy_matrix(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    # one [B, A] @ [A, S'] product per state s (bmm over s): 3x faster than the einsum on CPU
    batch = pi.shape[:-2]
    S, A = mdp.n_states, mdp.n_actions
    flat = pi.reshape(-1, S, A).transpose(0, 1)  # [S, B, A]
    return torch.bmm(flat, mdp.transitions).transpose(0, 1).reshape(*batch, S, S)


def policy_reward(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """r_π[s] = Σ_a π(a|s) r(s,a): ``[..., S]``."""
    pi = check_policy(mdp, pi)
    return (pi * mdp.rewards).sum(-1)


def _lu(mdp: TabularMDP, pi: torch.Tensor):
    # I − γP_π, built in place (no identity matrix allocated: the small-S overhead of issue 17), is strictly
    # row-diagonally dominant for γ < 1 (P_π is stochastic), hence never singular: the _ex variant skips a
    # redundant error check (and a device sync on CUDA)
    m = _policy_matrix(mdp, pi) * (-mdp.discount)
    m.diagonal(dim1=-2, dim2=-1).add_(1.0)
    LU, piv, _ = torch.linalg.lu_factor_ex(m)
    return LU, piv


def evaluate_policy(mdp: TabularMDP, pi: torch.Tensor, *, rewards: torch.Tensor | None = None) -> PolicyEvaluation:
    """V, Q, A, d and J of the policies ``pi [..., S, A]`` (one LU factorisation per policy).

    ``rewards [..., S, A]`` (optional; a batch broadcasting with ``pi``'s) replaces the MDP's reward, e.g. to evaluate
    a shaped or pseudo-reward, or one reward table per policy.
    Differentiable with respect to ``pi`` (autograd goes through the linear solve).
    """
    pi = check_policy(mdp, pi)
    r = mdp.rewards if rewards is None else check_finite(as_tensor(rewards, "rewards", device=mdp.device), "rewards")
    if r.ndim < 2 or r.shape[-2:] != mdp.rewards.shape:
        raise ValueError(f"rewards: expected shape [..., {mdp.n_states}, {mdp.n_actions}], got {tuple(r.shape)}")
    if pi.ndim == 2 and r.ndim == 2 and mdp.n_states <= _LAPACK_MAX_STATES and _plain_cpu(pi, r, mdp):
        return _evaluate_lapack(mdp, pi, r)  # checks its objective itself
    batch = pi.shape[:-2]
    n, per = math.prod(batch), _chunk_policies(mdp.n_states)
    if n > 1 and r.ndim == 2 and _LAPACK_LOOP_MIN_STATES <= mdp.n_states and _plain_cpu(pi, r, mdp):
        # from about 128 states a loop of host LAPACK solves beats torch's batched solve (issue 17: a batched call must
        # never be slower than a loop of single calls); same equations, agreeing to round-off
        flat = pi.reshape(n, mdp.n_states, mdp.n_actions)
        parts = [_evaluate_lapack(mdp, flat[i], r) for i in range(n)]
        return PolicyEvaluation(*(torch.stack(f, 0).reshape(*batch, *f[0].shape) for f in zip(*parts)))
    if n > per and r.ndim == 2:
        # batches of large matrices fall out of cache (at S = 200, 256 policies in one call were slower than a loop
        # of single calls, issue 17): evaluate chunks of ≈ _CHUNK_BYTES of I − γP_π at a time
        flat = pi.reshape(n, mdp.n_states, mdp.n_actions)
        parts = [_evaluate_unchecked(mdp, flat[i:i + per], r) for i in range(0, n, per)]
        ev = PolicyEvaluation(*(torch.cat(f, 0).reshape(*batch, *f[0].shape[1:]) for f in zip(*parts)))
    else:
        ev = _evaluate_unchecked(mdp, pi, r)
    check_finite(ev.objective.detach(), "objective")
    return ev


#: one policy on at most this many states is evaluated by scipy's LAPACK wrappers on the host (no autograd needed):
#: torch's per-call overhead dominates a 50-state solve (issue 17: 0.3× scipy at S = 50); the same LAPACK routines.
#: Raised from 256 on 2026-12-02: on a quiet 2-core machine torch's LU factorisation took 17.4 ms at S = 1000 against
#: scipy's 15.6 ms, and evaluate_policy ran at 0.92–0.93× scipy there (its only issue-17 target still missed)
_LAPACK_MAX_STATES = 4096
#: a batch of plain CPU policies on at least this many states is evaluated by a loop of host LAPACK solves: measured
#: 2026-12-01 on the 2-core machine, 256 policies — loop/batched time 0.73–1.10 from S = 80 to 200 (a tie within noise)
#: and 0.41 at S = 256; at S = 50 the batched solve is 2× faster. No upper bound since 2026-12-01 (second): at
#: S = 1000 the chunked torch solve took 4.0 s for 256 policies against 3.4 s for a loop of single calls (0.86×)
_LAPACK_LOOP_MIN_STATES = 128


def _plain_cpu(pi: torch.Tensor, r: torch.Tensor, mdp: TabularMDP) -> bool:
    """True when no derivative is asked for (no autograd, no forward-mode AD, no torch.func transform) and every
    tensor is a plain CPU float64 tensor (numpy can share it)."""
    ts = (pi, r, mdp.transitions, mdp.initial)
    return plain_host_tensor(*ts) and all(t.dtype == torch.float64 for t in ts)


def _evaluate_lapack(mdp: TabularMDP, pi: torch.Tensor, r: torch.Tensor, occupancy: bool = True) -> PolicyEvaluation:
    """:func:`evaluate_policy` of one policy through LAPACK on the host (LU of I − γP_π, two triangular solves): the
    same equations as :func:`_evaluate_unchecked`, agreeing with it to round-off. ``occupancy=False`` skips d^π (NaN
    in the result: only V and Q are used, by policy iteration)."""
    from scipy.linalg.lapack import dgetrf, dgetrs  # the raw LAPACK calls: scipy's lu_factor/lu_solve wrappers cost more

    P, pn, rn, rho, g = mdp.transitions.numpy(), pi.numpy(), r.numpy(), mdp.initial.numpy(), mdp.discount
    m = np.einsum("sa,sat->st", pn, P) * (-g)
    m.flat[:: m.shape[0] + 1] += 1.0  # I − γP_π: strictly diagonally dominant, so getrf cannot fail (info = 0)
    lu, piv, _ = dgetrf(m, overwrite_a=True)
    v = dgetrs(lu, piv, (pn * rn).sum(1))[0]
    q = rn + g * (P @ v)
    occ = (1 - g) * dgetrs(lu, piv, rho, trans=1)[0] if occupancy else np.full_like(rho, np.nan)
    J = np.asarray(rho @ v)
    if not np.isfinite(J):
        raise ValueError("objective: contains NaN or inf (first at index ())")  # check_finite's message
    return PolicyEvaluation(torch.from_numpy(v), torch.from_numpy(q), torch.from_numpy(q - v[:, None]),
                            torch.from_numpy(occ), torch.from_numpy(J))


#: working-set size per chunk of a batched evaluation: the I − γP_π matrices of one chunk (2 MiB: on the 2-core test
#: machine, 1–4 MiB chunks all evaluated 256 policies 1.6–2× faster than one unchunked call, at S = 50 and 200)
_CHUNK_BYTES = 1 << 21


def _chunk_policies(n_states: int) -> int:
    """Policies per chunk of a batched evaluation: as many S × S float64 matrices as fit in ``_CHUNK_BYTES`` (≥ 1)."""
    return max(1, _CHUNK_BYTES // (8 * n_states * n_states))


def _evaluate_unchecked(mdp: TabularMDP, pi: torch.Tensor, r: torch.Tensor, r_pi: torch.Tensor | None = None) -> PolicyEvaluation:
    """The computation behind :func:`evaluate_policy`, free of data-dependent checks (safe under vmap).

    V solves (I − γP_π)V = r_π with r_π = Σ_a π r unless a per-state ``r_pi [..., S]`` is given (the
    regularised evaluation passes the penalised one); Q = r + γPV.
    """
    LU, piv = _lu(mdp, pi)
    v, q = _values_from_lu(mdp, pi, r, LU, piv, r_pi)
    rho = mdp.initial.expand(*pi.shape[:-2], mdp.n_states)
    occ = (1 - mdp.discount) * torch.linalg.lu_solve(LU, piv, rho.unsqueeze(-1), adjoint=True).squeeze(-1)
    return PolicyEvaluation(v, q, q - v.unsqueeze(-1), occ, (mdp.initial * v).sum(-1))


def _values_from_lu(mdp: TabularMDP, pi: torch.Tensor, r: torch.Tensor, LU, piv, r_pi=None) -> tuple[torch.Tensor, torch.Tensor]:
    """V solving (I − γP_π)V = r_π from the factorisation, and Q = r + γPV."""
    if r_pi is None:
        r_pi = (pi * r).sum(-1)
    v = torch.linalg.lu_solve(LU, piv, r_pi.unsqueeze(-1)).squeeze(-1)
    q = r + mdp.discount * (v @ mdp.transitions.reshape(-1, mdp.n_states).T).unflatten(-1, mdp.rewards.shape)
    return v, q


def _values_unchecked(mdp: TabularMDP, pi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(V^π, Q^π) only — no occupancy solve, no input checks: the inner loop of policy iteration."""
    if pi.ndim == 2 and mdp.n_states <= _LAPACK_MAX_STATES and _plain_cpu(pi, mdp.rewards, mdp):
        ev = _evaluate_lapack(mdp, pi, mdp.rewards, occupancy=False)
        return ev.v, ev.q
    LU, piv = _lu(mdp, pi)
    return _values_from_lu(mdp, pi, mdp.rewards, LU, piv)


def state_values(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """V^π, ``[..., S]``."""
    return evaluate_policy(mdp, pi).v


def action_values(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """Q^π, ``[..., S, A]``."""
    return evaluate_policy(mdp, pi).q


def advantages(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """A^π = Q^π − V^π, ``[..., S, A]``."""
    return evaluate_policy(mdp, pi).advantage


def occupancy(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    r"""Normalised discounted state occupancy d^π_ρ(s) = (1−γ) Σ_t γ^t Pr(s_t = s), ``[..., S]``."""
    return evaluate_policy(mdp, pi).occupancy


def state_action_occupancy(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """Normalised discounted state-action occupancy d^π_ρ(s) π(a|s), ``[..., S, A]``."""
    pi = check_policy(mdp, pi)
    return evaluate_policy(mdp, pi).occupancy.unsqueeze(-1) * pi


def objective(mdp: TabularMDP, pi: torch.Tensor) -> torch.Tensor:
    """J(π) = ρᵀV^π = E Σ_t γ^t r_t, ``[...]``."""
    return evaluate_policy(mdp, pi).objective


def bellman_residual(mdp: TabularMDP, pi: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """max_s |r_π + γ P_π v − v| for each policy in the batch, ``[...]``."""
    pi = check_policy(mdp, pi)
    backed = (pi * mdp.rewards).sum(-1) + mdp.discount * (_policy_matrix(mdp, pi) @ v.unsqueeze(-1)).squeeze(-1)
    return (backed - v).abs().amax(-1)
