r"""Tabular MDPs with sparse transitions: each (s, a) reaches at most k next states (issue 17).

A dense :class:`~pgtheory.problems.TabularMDP` stores P as ``[S, A, S]``: 3.2 GB at S = 10,000, A = 4. Most
benchmark MDPs (Garnets, grids, chains) have a small branching factor k, so :class:`SparseTabularMDP` stores the
support in padded top-k form — ``support [S, A, k]`` (next-state indices) and ``probs [S, A, k]``
(P(support | s, a); padding entries have probability 0) — which is S·A·k·16 bytes: 64 MB at S = 100,000, A = 4,
k = 10. The sampler (:class:`~pgtheory.sampling.SparseTrajectorySampler`) and sparse policy evaluation
(:func:`~pgtheory.exact.evaluate_policy_sparse`) work on this form directly; :meth:`SparseTabularMDP.to_dense` gives
the dense MDP (every exact quantity of :mod:`pgtheory.exact`) where it fits in memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._checks import DTYPE, as_tensor, check_finite, check_positive_int
from .mdp import TabularMDP

__all__ = ["SparseTabularMDP", "sparse_garnet", "DENSE_LIMIT"]

#: the most entries S·A·S that :meth:`SparseTabularMDP.to_dense` builds (400 MB of float64)
DENSE_LIMIT = 5 * 10**7


@dataclass(frozen=True)
class SparseTabularMDP:
    """A discounted tabular MDP with padded top-k transitions (see the module docstring).

    ``support``: int64 ``[S, A, k]`` in ``0..S−1``; ``probs``: float64 ``[S, A, k]``, non-negative, each row summing to 1
    (within 1e-9; renormalised); ``rewards``: ``[S, A]`` mean rewards; ``discount`` γ ∈ [0, 1); ``initial``: ρ ``[S]``;
    ``reward_std``: scalar or ``[S, A]`` (Gaussian reward noise, default 0).
    """

    support: torch.Tensor
    probs: torch.Tensor
    rewards: torch.Tensor
    discount: float
    initial: torch.Tensor
    reward_std: torch.Tensor | float = 0.0
    name: str = "sparse MDP"

    def __post_init__(self) -> None:
        sup = self.support
        if not isinstance(sup, torch.Tensor) or sup.dtype not in (torch.int32, torch.int64) or sup.ndim != 3:
            raise ValueError(f"support: expected an integer tensor [S, A, k], got "
                             f"{getattr(sup, 'dtype', type(sup).__name__)} {tuple(getattr(sup, 'shape', ()))}")
        S, A, k = sup.shape
        if S < 1 or A < 1 or k < 1:
            raise ValueError(f"support: every dimension must be ≥ 1, got {tuple(sup.shape)}")
        dev = sup.device
        p = check_finite(as_tensor(self.probs, "probs", device=dev), "probs")
        if tuple(p.shape) != (S, A, k):
            raise ValueError(f"probs: expected shape {(S, A, k)} like support, got {tuple(p.shape)}")
        if bool((sup < 0).any()) or bool((sup >= S).any()):
            bad = ((sup < 0) | (sup >= S)).nonzero()[0].tolist()
            raise ValueError(f"support: next-state index {int(sup[tuple(bad)])} at (s={bad[0]}, a={bad[1]}, j={bad[2]}) "
                             f"is outside 0..{S - 1}")
        if bool((p < 0).any()):
            s, a, j = (int(i) for i in (p < 0).nonzero()[0])
            raise ValueError(f"probs: negative probability {float(p[s, a, j]):.3g} at (s={s}, a={a}, j={j})")
        sums = p.sum(-1)
        off = (sums - 1).abs() > 1e-9
        if bool(off.any()):
            s, a = (int(i) for i in off.nonzero()[0])
            raise ValueError(f"probs: the row of (s={s}, a={a}) sums to {float(sums[s, a]):.12g}, not 1")
        r = check_finite(as_tensor(self.rewards, "rewards", device=dev), "rewards")
        if tuple(r.shape) != (S, A):
            raise ValueError(f"rewards: expected shape {(S, A)}, got {tuple(r.shape)}")
        g = float(self.discount)
        if not 0 <= g < 1:
            raise ValueError(f"discount: must lie in [0, 1), got {self.discount!r}")
        rho = check_finite(as_tensor(self.initial, "initial", device=dev), "initial")
        if tuple(rho.shape) != (S,) or bool((rho < 0).any()) or abs(float(rho.sum()) - 1) > 1e-9:
            raise ValueError(f"initial: expected a probability vector of length {S}")
        std = as_tensor(self.reward_std, "reward_std", device=dev)
        std = check_finite(std.expand(S, A).clone() if std.ndim == 0 else std, "reward_std")
        if tuple(std.shape) != (S, A) or bool((std < 0).any()):
            raise ValueError(f"reward_std: expected a non-negative scalar or [S, A] = {(S, A)}")
        object.__setattr__(self, "support", sup.to(torch.int64))
        object.__setattr__(self, "probs", p / sums.unsqueeze(-1))
        object.__setattr__(self, "rewards", r)
        object.__setattr__(self, "discount", g)
        object.__setattr__(self, "initial", rho / rho.sum())
        object.__setattr__(self, "reward_std", std)

    @property
    def n_states(self) -> int:
        return int(self.support.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.support.shape[1])

    @property
    def branching(self) -> int:
        """k, the padded support size per (s, a)."""
        return int(self.support.shape[2])

    @property
    def device(self) -> torch.device:
        return self.support.device

    def to(self, device) -> "SparseTabularMDP":
        return SparseTabularMDP(self.support.to(device), self.probs.to(device), self.rewards.to(device), self.discount,
                                self.initial.to(device), self.reward_std.to(device), self.name)

    def to_dense(self) -> TabularMDP:
        """The same MDP with dense transitions ``[S, A, S]`` (repeated support entries are summed)."""
        S, A, k = self.support.shape
        if S * A * S > DENSE_LIMIT:
            raise ValueError(f"to_dense: S·A·S = {S * A * S:.3g} entries exceed DENSE_LIMIT = {DENSE_LIMIT:.0e}; "
                             "use the sparse sampler and evaluate_policy_sparse instead")
        P = torch.zeros(S, A, S, dtype=DTYPE, device=self.device)
        P.scatter_add_(2, self.support, self.probs)
        return TabularMDP(P, self.rewards, self.discount, self.initial, reward_std=self.reward_std, name=self.name)

    @classmethod
    def from_dense(cls, mdp: TabularMDP) -> "SparseTabularMDP":
        """The padded top-k form of a dense MDP, k = the largest number of non-zero P(·|s, a)."""
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        P = mdp.transitions
        k = max(1, int((P > 0).sum(-1).max()))
        probs, support = P.topk(k, dim=-1)
        return cls(support, probs, mdp.rewards, mdp.discount, mdp.initial, mdp.reward_std, f"sparse {mdp.name}")

    def __repr__(self) -> str:
        return f"SparseTabularMDP({self.name}: S={self.n_states}, A={self.n_actions}, k={self.branching}, γ={self.discount})"


def _distinct_columns(rng: np.random.Generator, rows: int, n: int, k: int) -> np.ndarray:
    """``[rows, k]`` indices, each row k distinct values of 0..n−1 drawn uniformly (no loop over rows)."""
    if 4 * k >= n:  # dense regime: a random permutation prefix per row
        return np.argsort(rng.random((rows, n)), axis=1)[:, :k]
    out = rng.integers(0, n, size=(rows, k))
    while True:  # redraw rows with a repeat; at k ≤ n/4 a row repeats with probability < k²/(2n) ≤ k/8
        srt = np.sort(out, axis=1)
        bad = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not bad.any():
            return out
        out[bad] = rng.integers(0, n, size=(int(bad.sum()), k))


def sparse_garnet(n_states: int, n_actions: int, branching: int, *, discount: float = 0.9, seed: int = 0,
                  reward_std: float = 0.0) -> SparseTabularMDP:
    r"""A Garnet MDP built sparse and vectorised (no loop over (s, a)): S = 100,000 with k = 10 in about a second.

    The law of :func:`~pgtheory.problems.garnet`: each (s, a) moves to ``branching`` distinct uniform next states with
    probabilities the gaps of k − 1 sorted uniform cut points; rewards U[0, 1]; ρ uniform. (Not the same draw as
    ``garnet(seed=...)``: the random streams differ.)
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    k = check_positive_int(branching, "branching")
    if k > S:
        raise ValueError(f"branching: must be <= n_states = {S}, got {k}")
    rng = np.random.default_rng(seed)
    support = _distinct_columns(rng, S * A, S, k).reshape(S, A, k)
    cuts = np.sort(rng.random((S * A, k - 1)), axis=1)
    probs = np.diff(np.concatenate([np.zeros((S * A, 1)), cuts, np.ones((S * A, 1))], axis=1), axis=1).reshape(S, A, k)
    rewards = rng.random((S, A))
    return SparseTabularMDP(torch.from_numpy(support), torch.from_numpy(probs), torch.from_numpy(rewards), discount,
                            torch.full((S,), 1.0 / S, dtype=DTYPE), reward_std, f"sparse_garnet(S={S},A={A},b={k})")
