"""Bandit testbeds: K-armed bandits and the multi-prompt binary-reward ("RLVR") bandit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_probabilities

__all__ = ["Bandit", "MultiPromptBandit"]


@dataclass(frozen=True, eq=False)
class Bandit:
    r"""A K-armed bandit with mean rewards ``means[K]``.

    ``kind='bernoulli'`` draws r ∈ {0, 1} with P(r = 1) = means[a] (means must lie in [0, 1]);
    ``kind='gaussian'`` draws r ~ N(means[a], std[a]²). Exact quantities use only the means:
    :math:`J(\pi) = \sum_a \pi_a \bar r_a`.
    """

    means: torch.Tensor
    kind: str = "bernoulli"
    std: Any = 1.0

    def __post_init__(self) -> None:
        m = check_finite(as_tensor(self.means, "means"), "means")
        if m.ndim != 1 or m.shape[0] == 0:
            raise ValueError(f"means: expected shape [K] with K >= 1, got {tuple(m.shape)}")
        if self.kind not in ("bernoulli", "gaussian"):
            raise ValueError(f"kind: expected 'bernoulli' or 'gaussian', got {self.kind!r}")
        if self.kind == "bernoulli" and bool(((m < 0) | (m > 1)).any()):
            raise ValueError("means: Bernoulli means must lie in [0, 1]")
        std = as_tensor(self.std, "std", device=m.device)
        std = std.expand(m.shape).clone() if std.ndim == 0 else std
        if std.shape != m.shape:
            raise ValueError(f"std: expected a scalar or shape {tuple(m.shape)}, got {tuple(std.shape)}")
        check_finite(std, "std")
        if bool((std < 0).any()):
            raise ValueError("std: must be non-negative")
        if self.kind == "bernoulli":
            std = (m * (1 - m)).sqrt()
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "std", std)

    @property
    def n_arms(self) -> int:
        return int(self.means.shape[0])

    @property
    def device(self) -> torch.device:
        return self.means.device


@dataclass(frozen=True, eq=False)
class MultiPromptBandit:
    r"""M prompts, K candidate answers each, binary verifiable reward.

    ``correct[q, a]`` is True when answer a is correct for prompt q. Under a policy π(·|q), the success
    probability is :math:`p(q) = \pi(C_q \mid q)` and :math:`J = \sum_q w_q\, p(q)` with prompt weights
    ``prompt_weights`` (uniform by default). This is the TB-RLVR testbed of CLAIMS.md.
    """

    correct: torch.Tensor
    prompt_weights: Any = None

    def __post_init__(self) -> None:
        c = self.correct
        if not isinstance(c, torch.Tensor):
            c = as_tensor(c, "correct", dtype=torch.float64) if not isinstance(c, bool) else c
        if not isinstance(c, torch.Tensor) or c.is_complex():
            raise TypeError(f"correct: expected a boolean (or 0/1) array [M, K], got {type(c).__name__}")
        if c.dtype != torch.bool:
            if bool(((c != 0) & (c != 1)).any()):
                raise ValueError("correct: entries must be boolean (or 0/1)")
            c = c.bool()
        if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
            raise ValueError(f"correct: expected shape [M, K] with M, K >= 1, got {tuple(c.shape)}")
        M = c.shape[0]
        if self.prompt_weights is None:
            w = torch.full((M,), 1.0 / M, dtype=DTYPE, device=c.device)
        else:
            w = as_tensor(self.prompt_weights, "prompt_weights", device=c.device)
            if tuple(w.shape) != (M,):
                raise ValueError(f"prompt_weights: expected shape [M] = {(M,)}, got {tuple(w.shape)}")
            w = check_probabilities(w, "prompt_weights")
        object.__setattr__(self, "correct", c)
        object.__setattr__(self, "prompt_weights", w)

    @property
    def n_prompts(self) -> int:
        return int(self.correct.shape[0])

    @property
    def n_answers(self) -> int:
        return int(self.correct.shape[1])

    @property
    def rewards(self) -> torch.Tensor:
        """Reward table [M, K] in float64 (1 for a correct answer)."""
        return self.correct.to(DTYPE)

    @property
    def device(self) -> torch.device:
        return self.correct.device
