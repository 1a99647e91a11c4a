r"""Trajectories of a :class:`~pgtheory.problems.SparseTabularMDP`: alias tables over each (s, a)'s support only.

The dense :class:`~pgtheory.sampling.TrajectorySampler` draws (a, s′, continue) jointly from one alias table per state
over A·S + A outcomes: its tables are as large as P and take A·S vectorised rounds to build. Here the joint draw is
over the support only: one alias table per state over the A·k outcomes (a, j) — action a, then the j-th support entry
of (s, a) — plus, under geometric termination, A outcomes "take a, then stop": tables of S·(A·k + A) entries, built in
A·k + A vectorised rounds, one uniform per transition (S = 100,000, A = 4, k = 10: ≈ 70 MB). The output is the same
:class:`~pgtheory.sampling.Trajectories` as the dense sampler's, so every estimator applies; the random stream differs
from the dense sampler's, the law is the same (tested against the exact occupancy).

Revision 2026-12-01 (issue 17): the sampler drew a, s′ and the continuation with three uniforms from three tables; the
joint table halves the gathers per transition (same law, another random stream).
"""
from __future__ import annotations

import torch

from .._checks import check_positive_int
from ..problems.sparse_mdp import SparseTabularMDP
from .alias import build_alias_table
from .mdp import StepMajorSampler, checked_policy, resolve_horizon

__all__ = ["SparseTrajectorySampler"]


class SparseTrajectorySampler(StepMajorSampler):
    """Pre-built per-(s, a) alias tables for sampling trajectories of a sparse MDP under a behaviour policy.

    Arguments as :class:`~pgtheory.sampling.TrajectorySampler`: ``policy`` μ ``[S, A]`` generates the actions,
    ``target`` π (default μ) is recorded as log-probabilities, ``termination`` 'geometric' | 'truncate', ``horizon``.
    """

    def __init__(self, mdp: SparseTabularMDP, policy, *, target=None, termination: str = "geometric",
                 horizon: int | None = None, device: torch.device | str | None = None):
        if not isinstance(mdp, SparseTabularMDP):
            raise TypeError(f"mdp: expected a SparseTabularMDP, got {type(mdp).__name__}")
        if device is not None:
            mdp = mdp.to(device)
        S, A, k = mdp.support.shape
        mu = self._policy(mdp, policy, "policy")
        pi = mu if target is None else self._policy(mdp, target, "target")
        if target is not None and bool(((mu == 0) & (pi > 0)).any()):
            s, a = (int(i) for i in ((mu == 0) & (pi > 0)).nonzero()[0])
            raise ValueError(f"policy: the behaviour policy has probability 0 at (s={s}, a={a}) where the target does not; "
                             "importance weights are undefined")
        self.mdp, self.mu, self.pi, self.termination = mdp, mu, pi, termination
        self.horizon = resolve_horizon(termination, horizon, mdp.discount)
        joint = (mu[:, :, None] * mdp.probs).reshape(S, A * k)  # outcome a·k + j: action a, support entry j
        if termination == "geometric":
            joint = torch.cat([joint * mdp.discount, mu * (1 - mdp.discount)], 1)  # outcome A·k + a: take a, then stop
        self.table = build_alias_table(joint, validate=False)
        self.next_states = mdp.support.reshape(S * A, k)
        self.next_flat = self.next_states.reshape(-1)  # row-major: entry (s·A + a)·k + j
        self.initial_cdf = mdp.initial.cumsum(0)  # one row of S outcomes: inverse CDF (an alias build takes S rounds)
        self.log_mu = torch.where(mu > 0, mu.log(), torch.full_like(mu, -torch.inf))
        self.log_pi = torch.where(pi > 0, pi.log(), torch.full_like(pi, -torch.inf))
        self.has_noise = bool((mdp.reward_std > 0).any())

    _policy = staticmethod(checked_policy)

    def _initial_states(self, n: int, generator: torch.Generator) -> torch.Tensor:
        u0 = torch.rand(n, generator=generator, dtype=torch.float64, device=self.mdp.device) * self.initial_cdf[-1]
        return torch.searchsorted(self.initial_cdf, u0, right=True).clamp_max(self.mdp.n_states - 1)

    def _next_states(self, s: torch.Tensor, o: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        flat = s * (self.next_states.shape[1] * self.mdp.n_actions) + o  # (s·A + a)·k + j = s·A·k + o
        return self.next_flat[flat if keep is None else flat[keep]]
