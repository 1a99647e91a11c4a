r"""Streaming Monte Carlo: draw chunks, estimate, accumulate moments — bounded memory for any N.

``stream(estimate_chunk, n_total, chunk_size, generator)`` calls ``estimate_chunk(n, generator)`` —
which must return per-sample estimates ``[n, ...]`` — until ``n_total`` samples are summarised in a
:class:`~pgtheory.stats.MomentAccumulator`. Per-sample estimates for all N never exist at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from .._checks import check_positive_int
from .moments import MomentAccumulator

__all__ = ["StreamResult", "stream"]


@dataclass
class StreamResult:
    accumulator: MomentAccumulator
    seconds: float
    n_chunks: int


def stream(estimate_chunk: Callable[[int, torch.Generator], torch.Tensor], n_total: int, chunk_size: int,
           generator: torch.Generator, *, full_covariance: bool = True, progress: Callable[[int, int], None] | None = None) -> StreamResult:
    """Summarise ``n_total`` per-sample estimates drawn ``chunk_size`` at a time."""
    n_total = check_positive_int(n_total, "n_total")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    acc = MomentAccumulator(full_covariance)
    t0 = time.perf_counter()
    done = chunks = 0
    while done < n_total:
        n = min(chunk_size, n_total - done)
        x = estimate_chunk(n, generator)
        if x.shape[0] != n:
            raise ValueError(f"estimate_chunk: returned {x.shape[0]} samples, expected {n}")
        acc.update(x)
        done += n
        chunks += 1
        if progress is not None:
            progress(done, n_total)
    return StreamResult(acc, time.perf_counter() - t0, chunks)
