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
