r"""Walker/Vose alias tables: O(1) categorical sampling whose cost does not depend on the number of outcomes.

For a row p ∈ Δ_K the table holds ``prob[K]`` and ``alias[K]``; a draw takes one uniform u ∈ [0, 1):
j = ⌊uK⌋, f = uK − j, and returns j if f < prob[j] else alias[j]. Construction is Vose's algorithm,
run for all rows at once (≤ K vectorised rounds, each pairing one small bucket with one large bucket
in every row). Measured on 2 CPU cores at S = 100: 19 ms per 10⁶ draws, against 450 ms for a
row-wise ``searchsorted`` on gathered CDFs (see ``benchmarks/sampler_throughput.py``).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import check_probabilities

__all__ = ["AliasTable", "build_alias_table", "sample_alias"]


class AliasTable(NamedTuple):
    prob: torch.Tensor  #: [R, K] float64 acceptance thresholds
    alias: torch.Tensor  #: [R, K] int64 alias outcomes

    @property
    def n_outcomes(self) -> int:
        return int(self.prob.shape[-1])


def build_alias_table(p: torch.Tensor, *, validate: bool = True) -> AliasTable:
    """Alias tables for every row of ``p [R, K]`` (rows are probability vectors)."""
    if p.ndim != 2:
        raise ValueError(f"p: expected shape [R, K], got {tuple(p.shape)}")
    if validate:
        check_probabilities(p, "p", atol=1e-9)
    R, K = p.shape
    dev = p.device
    q = (p.to(torch.float64) / p.sum(-1, keepdim=True)) * K  # renormalise away round-off
    prob = torch.ones(R, K, dtype=torch.float64, device=dev)
    alias = torch.arange(K, device=dev).expand(R, K).clone()
    is_small = q < 1.0
    # stacks: small indices first (stable order), large ones in a second stack
    order = torch.argsort((~is_small).to(torch.int8), dim=1, stable=True)
    n_small = is_small.sum(1)
    n_large = K - n_small
    small_stack = order.clone()
    ar = torch.arange(K, device=dev).expand(R, K)
    large_stack = order.gather(1, (ar + n_small[:, None]).clamp_max(K - 1))
    rows = torch.arange(R, device=dev)
    for _ in range(K):
        active = (n_small > 0) & (n_large > 0)
        r = rows[active]
        if r.numel() == 0:
            break
        ls = small_stack[r, n_small[r] - 1]
        gs = large_stack[r, n_large[r] - 1]
        ql = q[r, ls]
        prob[r, ls] = ql
        alias[r, ls] = gs
        q[r, gs] = q[r, gs] + ql - 1.0
        n_small[r] -= 1
        n_large[r] -= 1
        to_small = q[r, gs] < 1.0
        rs, gsm = r[to_small], gs[to_small]
        small_stack[rs, n_small[rs]] = gsm
        n_small[rs] += 1
        rl, glg = r[~to_small], gs[~to_small]
        large_stack[rl, n_large[rl]] = glg
        n_large[rl] += 1
    # buckets left on either stack are full (prob 1) up to round-off — already initialised to 1
    return AliasTable(prob, alias)


def sample_alias(table: AliasTable, rows: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Draw one outcome for each entry of ``rows`` using the uniforms ``u`` (same shape), int64."""
    K = table.n_outcomes
    x = u * K
    j = x.long().clamp_max_(K - 1)
    idx = rows * K + j
    return torch.where(x.sub_(j) < table.prob.reshape(-1)[idx], j, table.alias.reshape(-1)[idx])
