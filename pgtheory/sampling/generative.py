r"""A generative model (simulator) of a finite MDP: next-state *counts* for chosen state-action pairs, batched over runs.

With a generative model (Kearns & Singh 1999; Azar, Munos & Kappen 2013) the learner may query any pair (s, a) and
receives an independent draw s' ~ P(·|s, a). Algorithms such as (VW)LS-MDVI (Kitamura et al. 2023) only use the
draws through empirical means of functions of s',

.. math:: \hat P_{s,a} f = \frac1{n}\sum_{m=1}^{n} f(s'_m) = \frac1n\sum_{s'} c_{s,a}(s')\,f(s'),

so it suffices to draw the count vector :math:`c_{s,a}\sim\mathrm{Multinomial}(n, P(\cdot|s,a))`: the cost is then
independent of n. Counts are drawn exactly by the chain of conditional binomials

.. math:: c(s'_j) \mid c(s'_1),\dots,c(s'_{j-1}) \sim \mathrm{Binomial}\Big(n - \sum_{i<j} c(s'_i),\
          \frac{P(s'_j)}{\sum_{i\ge j} P(s'_i)}\Big),

S − 1 vectorised ``torch.binomial`` calls for any number of pairs, runs and samples per pair (the last state takes
the remainder). The law is the multinomial's: each marginal is Binomial(n, P(s')), the covariance is
n(diag P − PPᵀ), and the counts sum to n exactly (``tests/test_linear_mdvi.py`` checks the first two moments with a
twin).

Randomness: one ``torch.Generator`` drives the whole batch (runs are independent in law, but the draws of run r
depend on the batch they are drawn in).
"""
from __future__ import annotations

import torch

from .._checks import DTYPE, as_tensor, check_finite, check_probabilities
from ..problems.mdp import TabularMDP

__all__ = ["conditional_binomial_probabilities", "multinomial_counts", "sample_next_state_counts", "empirical_next_means",
           "sample_next_states"]


def _transition_rows(transitions) -> torch.Tensor:
    if isinstance(transitions, TabularMDP):
        P = transitions.transitions
        return P.reshape(-1, P.shape[-1])
    P = check_finite(as_tensor(transitions, "transitions"), "transitions")
    if P.ndim == 3:
        P = P.reshape(-1, P.shape[-1])
    if P.ndim != 2 or 0 in P.shape:
        raise ValueError(f"transitions: expected P [S, A, S'] or rows [n_pairs, S'], got shape {tuple(P.shape)}")
    return check_probabilities(P, "transitions")


def sample_next_state_counts(transitions, pairs, samples_per_pair, generator: torch.Generator, *,
                             runs: int | None = None) -> torch.Tensor:
    r"""Next-state counts of a generative model: ``counts[..., i, s'] ~ Multinomial(n[..., i], P(·|pair_i))``.

    Parameters
    ----------
    transitions : TabularMDP, Tensor [S, A, S'] or Tensor [SA, S']
        The transition kernel; rows are indexed by the flat pair index ``s·A + a``.
    pairs : LongTensor [C]
        Flat indices ``s·A + a`` of the queried pairs.
    samples_per_pair : int or integer Tensor [C] or [R, C]
        n, the number of draws of each pair (per run when [R, C]); 0 gives a zero row.
    generator : torch.Generator
        Source of all randomness (on the device of ``transitions``).
    runs : int, optional
        R, the number of independent runs when ``samples_per_pair`` has no run dimension (default 1, and then the
        run dimension is still present: the output is always ``[R, C, S']``).

    Returns
    -------
    Tensor [R, C, S'] (float64, integer-valued): the counts, each row summing to its n.
    """
    P = _transition_rows(transitions)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    idx = torch.as_tensor(pairs, device=P.device)
    if idx.dtype not in (torch.int64, torch.int32) or idx.ndim != 1 or idx.numel() == 0:
        raise ValueError(f"pairs: expected a non-empty 1-D integer tensor of flat pair indices, got {idx.dtype} {tuple(idx.shape)}")
    if bool((idx < 0).any()) or bool((idx >= P.shape[0]).any()):
        raise ValueError(f"pairs: indices must lie in [0, {P.shape[0]}) (flat s·A + a)")
    n = torch.as_tensor(samples_per_pair, device=P.device)
    if n.is_floating_point() or n.dtype == torch.bool:
        raise TypeError(f"samples_per_pair: expected integers, got {n.dtype}")
    if bool((n < 0).any()):
        raise ValueError("samples_per_pair: must be non-negative")
    C = idx.numel()
    if n.ndim == 0:
        n = n.expand(C)
    if n.ndim == 1:
        if n.shape[0] != C:
            raise ValueError(f"samples_per_pair: expected shape [C] = [{C}] or [R, C], got {tuple(n.shape)}")
        R = 1 if runs is None else runs
        if isinstance(R, bool) or not isinstance(R, int) or R < 1:
            raise ValueError(f"runs: expected a positive integer, got {runs!r}")
        n = n.expand(R, C)
    elif n.ndim == 2:
        if n.shape[1] != C or (runs is not None and n.shape[0] != runs):
            raise ValueError(f"samples_per_pair: expected shape [R, {C}], got {tuple(n.shape)} (runs={runs})")
    else:
        raise ValueError(f"samples_per_pair: expected a scalar, [C] or [R, C], got shape {tuple(n.shape)}")
    return multinomial_counts(conditional_binomial_probabilities(P[idx]), n, generator)


def conditional_binomial_probabilities(rows: torch.Tensor) -> torch.Tensor:
    r"""The chain's probabilities P(s'_j) / Σ_{i≥j} P(s'_i) (0 where the tail is empty), ``[C, S']`` from rows ``[C, S']``.

    Computed once per kernel, so that repeated draws (one per iteration of an algorithm) skip it.
    """
    tail = rows.flip(-1).cumsum(-1).flip(-1)
    return torch.where(tail > 0, rows / tail.clamp_min(1e-300), torch.zeros_like(rows)).clamp(0.0, 1.0)


def multinomial_counts(conditional: torch.Tensor, samples_per_pair: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    r"""Multinomial counts by the conditional-binomial chain: ``conditional [C, S']`` (from
    :func:`conditional_binomial_probabilities`), ``samples_per_pair [R, C]`` (integers ≥ 0) → ``[R, C, S']`` float64.

    The unchecked core of :func:`sample_next_state_counts` (which validates its inputs); S' − 1 ``torch.binomial`` calls.
    """
    remaining = samples_per_pair.to(DTYPE).clone()  # [R, C]
    R, C = remaining.shape
    probs = conditional.T.unsqueeze(1).expand(-1, R, C).contiguous()  # [S', R, C]
    out = torch.empty(conditional.shape[1], R, C, dtype=DTYPE, device=conditional.device)
    for j in range(conditional.shape[1] - 1):
        c = torch.binomial(remaining, probs[j], generator=generator)
        out[j] = c
        remaining = remaining - c
    out[-1] = remaining
    return out.permute(1, 2, 0)


def empirical_next_means(counts: torch.Tensor, values: torch.Tensor, samples_per_pair: torch.Tensor) -> torch.Tensor:
    r"""Empirical means :math:`\hat P_i f = \sum_{s'} c_i(s') f(s') / n_i` per run and pair, ``[R, C]`` (0 where n_i = 0).

    ``counts [R, C, S']`` from :func:`sample_next_state_counts`; ``values [R, S']`` or ``[S']`` (f, e.g. V or V²);
    ``samples_per_pair`` (n) broadcastable to ``[R, C]``.
    """
    counts = check_finite(as_tensor(counts, "counts"), "counts")
    if counts.ndim != 3:
        raise ValueError(f"counts: expected shape [R, C, S'], got {tuple(counts.shape)}")
    v = torch.as_tensor(values, dtype=counts.dtype, device=counts.device)
    if v.shape[-1] != counts.shape[-1] or v.ndim not in (1, 2):
        raise ValueError(f"values: expected shape [R, {counts.shape[-1]}] or [{counts.shape[-1]}], got {tuple(v.shape)}")
    if v.ndim == 1:
        v = v.expand(counts.shape[0], -1)
    tot = torch.einsum("rct,rt->rc", counts, v)
    n = torch.as_tensor(samples_per_pair, device=counts.device).to(counts.dtype).expand_as(tot)
    return torch.where(n > 0, tot / n.clamp_min(1.0), torch.zeros_like(tot))


def sample_next_states(cdf: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One draw s' ~ P(·|s, a) per (run, s, a) — a synchronous generative-model step — by inversion of ``cdf [B, S, A, S]`` (cumulative P): ``[B, S, A]`` int64."""
    u = torch.rand(cdf.shape[:-1], generator=generator, dtype=cdf.dtype, device=cdf.device)
    return (u.unsqueeze(-1) >= cdf).sum(-1).clamp_max(cdf.shape[-1] - 1)
