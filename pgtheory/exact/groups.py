r"""Exact expectations over groups of G i.i.d. responses by enumerating all N^G ordered groups.

For group estimators whose normalisers depend on the whole group (token-mean, ΔL, std-normalised advantages),
E over groups has no closed form; with N enumerated responses and small G the sum over N^G groups is exact.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_positive_int, check_probabilities

__all__ = ["enumerate_groups"]


def enumerate_groups(probs, group_size: int, *, max_groups: int = 2_000_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ordered group of ``group_size`` draws from ``probs [N]``: (index ``[N^G, G]`` int64, probability ``[N^G]``).

    Refuses more than ``max_groups`` groups (memory); drop zero-probability responses first to shrink N.
    """
    p = check_probabilities(as_tensor(probs, "probs"), "probs")
    if p.ndim != 1:
        raise ValueError(f"probs: expected a vector [N], got shape {tuple(p.shape)}")
    G = check_positive_int(group_size, "group_size")
    N = p.numel()
    if N**G > max_groups:
        raise ValueError(f"group_size: {N}^{G} = {N**G} groups exceed max_groups = {max_groups}")
    grids = torch.meshgrid(*[torch.arange(N, device=p.device)] * G, indexing="ij")
    idx = torch.stack([g.reshape(-1) for g in grids], -1)
    return idx, p[idx].prod(-1)
