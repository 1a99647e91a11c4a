"""Finite discounted Markov decision processes with exact, validated tensors."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .._checks import DTYPE, as_tensor, check_discount, check_finite, check_probabilities

__all__ = ["TabularMDP"]


@dataclass(frozen=True, eq=False)
class TabularMDP:
    r"""A finite discounted MDP :math:`(\mathcal S, \mathcal A, P, r, \gamma, \rho)`.

    Attributes
    ----------
    transitions : Tensor [S, A, S]
        ``transitions[s, a, s'] = P(s' | s, a)``; each row ``[s, a, :]`` sums to 1.
    rewards : Tensor [S, A]
        Expected immediate reward ``r(s, a)``.
    discount : float
        :math:`\gamma \in [0, 1)`.
    initial : Tensor [S]
        Initial-state distribution :math:`\rho`.
    reward_std : Tensor [S, A]
        Standard deviation of Gaussian noise that samplers add to ``r(s, a)`` (0: deterministic
        rewards). Exact quantities depend only on the mean.
    name : str
        A label used in figures and ledgers.

    The objective convention used throughout pgtheory is the *unnormalised* discounted return
    :math:`J(\pi) = \mathbb E_{s_0\sim\rho}\,\sum_{t\ge0}\gamma^t r(s_t,a_t) = \rho^\top V^\pi`.

    Everything is converted once to float64 on one device; construct on CPU and call :meth:`to` to move.
    """

    transitions: torch.Tensor
    rewards: torch.Tensor
    discount: float
    initial: torch.Tensor
    reward_std: Any = None
    name: str = "mdp"
    _validated: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        P = as_tensor(self.transitions, "transitions")
        dev = P.device
        r = as_tensor(self.rewards, "rewards", device=dev)
        rho = as_tensor(self.initial, "initial", device=dev)
        gamma = check_discount(self.discount, "discount")
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"transitions: expected shape [S, A, S], got {tuple(P.shape)}")
        S, A, _ = P.shape
        if S == 0 or A == 0:
            raise ValueError(f"transitions: need at least one state and one action, got shape {tuple(P.shape)}")
        P = check_probabilities(P, "transitions")  # tolerance of the input's dtype; lower precision is renormalised
        if tuple(r.shape) != (S, A):
            raise ValueError(f"rewards: expected shape [S, A] = {(S, A)}, got {tuple(r.shape)}")
        check_finite(r, "rewards")
        if tuple(rho.shape) != (S,):
            raise ValueError(f"initial: expected shape [S] = {(S,)}, got {tuple(rho.shape)}")
        rho = check_probabilities(rho, "initial")
        if self.reward_std is None:
            std = torch.zeros(S, A, dtype=DTYPE, device=dev)
        else:
            std = as_tensor(self.reward_std, "reward_std", device=dev)
            if std.ndim == 0:
                std = std.expand(S, A).clone()
            if tuple(std.shape) != (S, A):
                raise ValueError(f"reward_std: expected a scalar or shape [S, A] = {(S, A)}, got {tuple(std.shape)}")
            check_finite(std, "reward_std")
            if bool((std < 0).any()):
                raise ValueError("reward_std: must be non-negative")
        object.__setattr__(self, "transitions", P)
        object.__setattr__(self, "rewards", r)
        object.__setattr__(self, "initial", rho)
        object.__setattr__(self, "discount", gamma)
        object.__setattr__(self, "reward_std", std)
        object.__setattr__(self, "_validated", True)

    @property
    def n_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.transitions.shape[1])

    @property
    def device(self) -> torch.device:
        return self.transitions.device

    def to(self, device: torch.device | str) -> "TabularMDP":
        """A copy of this MDP with every tensor on ``device``."""
        return replace(
            self,
            transitions=self.transitions.to(device),
            rewards=self.rewards.to(device),
            initial=self.initial.to(device),
            reward_std=self.reward_std.to(device),
        )

    def with_discount(self, discount: float) -> "TabularMDP":
        """A copy with another discount factor."""
        return replace(self, discount=discount)

    def __repr__(self) -> str:
        return (
            f"TabularMDP(name={self.name!r}, S={self.n_states}, A={self.n_actions}, "
            f"discount={self.discount}, device={self.device})"
        )
