r"""Exact objectives and gradients for softmax policies on bandits.

K-armed bandit with softmax logits z: :math:`J = \sum_a \pi_a \bar r_a`, :math:`\nabla_z J = \pi\odot(\bar r - J)`.
Multi-prompt bandit: :math:`p(q) = \sum_{a\in C_q}\pi(a|q)`, :math:`\nabla_{z_q} J = w_q\,\pi_q\odot(1_{C_q} - p(q))`.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_positive_int
from ..problems.bandits import Bandit, MultiPromptBandit

__all__ = ["bandit_objective", "bandit_gradient", "prompt_success_probability", "multiprompt_objective",
           "multiprompt_gradient", "multiprompt_pass_at_k"]


def _logits(z, K: int, name: str = "logits", extra: tuple[int, ...] = ()) -> torch.Tensor:
    z = check_finite(as_tensor(z, name), name)
    want = (*extra, K)
    if z.ndim < len(want) or tuple(z.shape[z.ndim - len(want):]) != want:
        raise ValueError(f"{name}: expected shape [..., {', '.join(map(str, want))}], got {tuple(z.shape)}")
    return z


def bandit_objective(bandit: Bandit, logits) -> torch.Tensor:
    """J(z) = Σ_a softmax(z)_a r̄_a, ``[...]``."""
    z = _logits(logits, bandit.n_arms)
    return (torch.softmax(z, -1) * bandit.means.to(z.device)).sum(-1)


def bandit_gradient(bandit: Bandit, logits) -> torch.Tensor:
    """∇_z J = π ⊙ (r̄ − J), ``[..., K]``."""
    z = _logits(logits, bandit.n_arms)
    pi = torch.softmax(z, -1)
    r = bandit.means.to(z.device)
    return pi * (r - (pi * r).sum(-1, keepdim=True))


def prompt_success_probability(bandit: MultiPromptBandit, logits) -> torch.Tensor:
    """p(q) = π(C_q | q) for logits ``[..., M, K]``: ``[..., M]``."""
    z = _logits(logits, bandit.n_answers, extra=(bandit.n_prompts,))
    return (torch.softmax(z, -1) * bandit.rewards.to(z.device)).sum(-1)


def multiprompt_objective(bandit: MultiPromptBandit, logits) -> torch.Tensor:
    """J = Σ_q w_q p(q), ``[...]``."""
    return (prompt_success_probability(bandit, logits) * bandit.prompt_weights).sum(-1)


def multiprompt_gradient(bandit: MultiPromptBandit, logits) -> torch.Tensor:
    """∇_z J = w_q π_q ⊙ (1_{C_q} − p(q)), ``[..., M, K]``."""
    z = _logits(logits, bandit.n_answers, extra=(bandit.n_prompts,))
    pi = torch.softmax(z, -1)
    c = bandit.rewards.to(z.device)
    p = (pi * c).sum(-1, keepdim=True)
    return bandit.prompt_weights.to(z.device).unsqueeze(-1) * pi * (c - p)


def multiprompt_pass_at_k(bandit: MultiPromptBandit, logits, k: int) -> torch.Tensor:
    """pass@k(q) = 1 − (1 − p(q))^k, ``[..., M]``."""
    k = check_positive_int(k, "k")
    return 1 - (1 - prompt_success_probability(bandit, logits)) ** k
