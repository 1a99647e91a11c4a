"""Seeds of second random streams that never coincide with a first stream's.

torch's CPU generator (mt19937) keeps only the low 32 bits of a seed: ``manual_seed(s + 2**32)`` is the stream of
``s`` itself. A run seeded ``s`` that needs a second, independent stream (mini-batch orders beside its batch, sampled
trajectories beside its instance's parameters) takes :func:`second_stream_seed` ``(s)`` = s + 2³¹, which lies outside
[0, 2³¹) — where every first-stream seed of this package lies — and differs from s in the 32 bits torch keeps.
"""
from __future__ import annotations

from ._checks import check_positive_int

__all__ = ["SECOND_STREAM_OFFSET", "second_stream_seed"]

#: Offset of a run's second stream from its seed (first-stream seeds are below it; torch keeps 32 bits).
SECOND_STREAM_OFFSET = 2**31


def second_stream_seed(seed: int) -> int:
    """``seed + 2³¹`` for a first-stream ``seed`` in [0, 2³¹); raises naming ``seed`` outside that range."""
    seed = check_positive_int(seed, "seed", minimum=0)
    if seed >= SECOND_STREAM_OFFSET:
        raise ValueError(f"seed: a first-stream seed must be below 2**31 (torch keeps 32 bits), got {seed}")
    return seed + SECOND_STREAM_OFFSET
