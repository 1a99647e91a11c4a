r"""Exact set-level (polychromic) objectives over an enumerable response set, and pass@k under answer perturbations.

A prompt has K responses with rewards r ∈ {0, 1}^K and a softmax policy π = softmax(θ). For a set size n the
polychromic objective (Hamid et al., "Polychromic Objectives for Reinforcement Learning", arXiv:2509.25424) is

    J_poly(θ) = E_{y_1..y_n ∼ π i.i.d.} [ f(y_1..y_n) ],   f = (1/n Σ_i r(y_i)) · d(y_1..y_n),

with d = (number of distinct responses in the set)/n. The product "mean reward × diversity" is our reading of public
summaries (a set scores high only when it is both successful and diverse); the paper's exact d (semantic, not
exact-string distinctness) was not verified. Here J_poly is computed exactly by enumerating all K^n ordered sets:
J_poly = Σ_t Π_i π(t_i) f(t), and its gradient by autograd — equal to E[f · Σ_i ∇log π(y_i)] (score function).

Perturbed pass@k: each correct response stays correct independently with probability q (a held-out perturbation of
the task); pass@k = E_mask[1 − (1 − Σ_{y kept correct} π(y))^k], exact over the 2^C masks of the C correct answers.
"""
from __future__ import annotations

import itertools

import torch

__all__ = ["set_table", "polychromic_objective", "perturbed_pass_at_k", "correct_entropy"]


def set_table(rewards: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All K^n ordered sets ([K^n, n] long) and their scores f = mean reward × distinct/n ([K^n] float64)."""
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 1:
        raise TypeError("rewards: expected a 1-D torch tensor of per-response rewards")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 6:
        raise ValueError(f"n: set size must be an int in [1, 6] (K^n sets are enumerated), got {n!r}")
    k = rewards.shape[0]
    sets = torch.tensor(list(itertools.product(range(k), repeat=n)), dtype=torch.long).reshape(-1, n)
    distinct = torch.tensor([len(set(row)) for row in sets.tolist()], dtype=torch.float64) / n
    return sets, rewards.to(torch.float64)[sets].mean(-1) * distinct


def polychromic_objective(logits: torch.Tensor, sets: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """J_poly = Σ_t Π_i π(t_i) f(t) for π = softmax(logits) (differentiable; ``sets``/``scores`` from set_table)."""
    if logits.dim() != 1:
        raise ValueError(f"logits: expected a 1-D tensor, got shape {tuple(logits.shape)}")
    logp = torch.log_softmax(logits, -1)
    return (logp[sets].sum(-1).exp() * scores).sum()


def perturbed_pass_at_k(pi: torch.Tensor, rewards: torch.Tensor, k: int, keep: float) -> float:
    """E over masks m (each correct answer kept w.p. ``keep``) of 1 − (1 − Σ_{correct, m} π)^k."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k: expected an int >= 1, got {k!r}")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep: expected a probability in (0, 1], got {keep!r}")
    pc = pi[rewards > 0]
    c = pc.shape[0]
    if c > 16:
        raise ValueError(f"rewards: at most 16 correct answers (2^C masks are enumerated), got {c}")
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=c)), dtype=torch.float64).reshape(-1, c)
    prob = keep ** masks.sum(-1) * (1 - keep) ** (c - masks.sum(-1))
    return float((prob * (1 - (1 - masks @ pc) ** k)).sum())


def correct_entropy(pi: torch.Tensor, rewards: torch.Tensor) -> float:
    """Entropy of π restricted to the correct answers and renormalised, divided by log C (1 = uniform; 0 for C = 1)."""
    pc = pi[rewards > 0]
    if pc.shape[0] < 2:
        return 0.0
    w = pc / pc.sum()
    return float(-(w * torch.log(w.clamp_min(1e-300))).sum() / torch.log(torch.tensor(float(pc.shape[0]), dtype=torch.float64)))
