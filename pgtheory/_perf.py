"""Process-level performance settings, applied by entry points (CLI, benchmarks), never on import."""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Keep freed large blocks in glibc's heap instead of unmapping them.

    torch's CPU allocator hands tensors of more than 128 KiB to glibc, which by default ``mmap``s
    them afresh, so every batched operation on tens of MB pays page faults on first touch; on a 2-core
    machine that was half the run time of a batched exact gradient (72 ms → 38 ms for 256 policies,
    S = 100). Raises the mmap threshold to its maximum (32 MiB) and the trim threshold to 4 GiB.
    Returns False where glibc's ``mallopt`` is unavailable (not Linux/glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    ok &= mallopt(_M_TRIM_THRESHOLD, 2**32 - 1 if ctypes.sizeof(ctypes.c_int) > 4 else 2**31 - 1)
    ok &= mallopt(_M_TOP_PAD, 64 * 1024 * 1024)
    return bool(ok)


#: environment variable read by :func:`resolve_threads` when no thread count is given on the command line
THREADS_ENV = "PGTHEORY_THREADS"


def resolve_threads(requested=None, *, jobs: int = 1, cpus: int | None = None) -> int:
    """Torch intra-op threads per process (per claim worker when ``jobs`` > 1): the package's thread policy.

    ``requested``: a positive int, ``"auto"`` (the CPUs shared out over the ``jobs`` workers, at least 1) or None —
    then the environment variable ``PGTHEORY_THREADS`` (same forms), else **1**. One thread is the default because
    the package's work is many small tensor operations: on 2 busy cores torch's default (one thread per core) made a
    50-state matrix-vector product take 38 ms instead of 24 µs and value iteration at S = 50 49× slower than numpy
    (issue 17; ``pgtheory bench threads`` measures it on your machine). Large batched solves (S ≥ 1000, thousands of
    policies) can gain from more threads: ask for them (``--threads auto`` or a number).
    """
    import os

    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    src = "threads"
    if requested is None:
        requested = os.environ.get(THREADS_ENV) or 1
        src = THREADS_ENV
    if isinstance(requested, str):
        if requested.strip().lower() == "auto":
            return max(1, cpus // max(int(jobs), 1))
        try:
            requested = int(requested)
        except ValueError:
            raise ValueError(f"{src}: expected a positive integer or 'auto', got {requested!r}") from None
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ValueError(f"{src}: expected a positive integer or 'auto', got {requested!r}")
    return requested


def apply_threads(n: int) -> int:
    """Set torch's intra-op threads of this process to ``n`` (see :func:`resolve_threads`); returns the old count."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    return old
