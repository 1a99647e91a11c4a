"""Input validation shared by every layer.

Every check raises ``ValueError`` (or ``TypeError``) whose message names the offending argument and
what is wrong with it, so that bad input never turns into a silent NaN further down.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

DTYPE = torch.float64

__all__ = [
    "DTYPE",
    "as_tensor",
    "check_finite",
    "check_probabilities",
    "check_discount",
    "check_positive_int",
]


def as_tensor(x: Any, name: str, *, dtype: torch.dtype = DTYPE, device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``x`` (tensor, numpy array, sequence or scalar) to a tensor of ``dtype``.

    A tensor already on a device keeps it unless ``device`` is given; numpy arrays are converted once.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (np.ndarray, list, tuple, float, int, np.number)):
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as exc:  # ragged lists, objects
            raise TypeError(f"{name}: cannot convert to a tensor ({exc})") from exc
    else:
        raise TypeError(f"{name}: expected a torch.Tensor, numpy array or sequence, got {type(x).__name__}")
    if not (t.dtype.is_floating_point or t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {t.dtype}")
    return t.to(dtype=dtype, device=device if device is not None else t.device)


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or ±inf; return ``x``."""
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).nonzero()[0].tolist()
        raise ValueError(f"{name}: contains NaN or inf (first at index {tuple(bad)})")
    return x


def check_probabilities(x: torch.Tensor, name: str, *, atol: float = 1e-8) -> torch.Tensor:
    """Check that the last axis of ``x`` is a probability vector (non-negative, sums to 1 within ``atol``)."""
    check_finite(x, name)
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least one dimension, got a scalar")
    if x.shape[-1] == 0:
        raise ValueError(f"{name}: the probability axis is empty")
    if bool((x < 0).any()):
        bad = (x < 0).nonzero()[0].tolist()
        raise ValueError(f"{name}: negative probability {x[tuple(bad)].item():.3g} at index {tuple(bad)}")
    sums = x.sum(-1)
    err = (sums - 1).abs()
    if bool((err > atol).any()):
        i = int(err.reshape(-1).argmax())
        idx = np.unravel_index(i, tuple(sums.shape)) if sums.ndim else ()
        raise ValueError(
            f"{name}: rows must sum to 1, but the row at index {tuple(int(j) for j in idx)} sums to "
            f"{sums.reshape(-1)[i].item():.12g}"
        )
    return x


def check_discount(gamma: Any, name: str = "discount") -> float:
    """Return ``gamma`` as a float after checking 0 <= gamma < 1."""
    try:
        g = float(gamma)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a real number, got {gamma!r}") from exc
    if not math.isfinite(g) or not (0.0 <= g < 1.0):
        raise ValueError(f"{name}: must lie in [0, 1), got {gamma!r}")
    return g


def check_positive_int(n: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``n`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {n}")
    return int(n)
