"""Input validation shared by every layer.

Every check raises ``ValueError`` (or ``TypeError``) whose message names the offending argument and
what is wrong with it, so that bad input never turns into a silent NaN further down.

Precision of the input. :func:`as_tensor` converts to float64 but remembers the dtype the caller gave
(:func:`source_dtype`), so that :func:`check_probabilities` can judge a float32-normalised distribution by
float32's round-off, not float64's.
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
    "source_dtype",
    "probability_tolerance",
    "check_finite",
    "check_probabilities",
    "check_discount",
    "check_positive_int",
    "check_real",
    "check_shape",
    "check_mask",
    "check_finite_result",
]

_SOURCE_DTYPE = "_pgtheory_source_dtype"  # attribute set by as_tensor on a tensor it converted from another dtype


def as_tensor(x: Any, name: str, *, dtype: torch.dtype = DTYPE, device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``x`` (tensor, numpy array, sequence or scalar) to a tensor of ``dtype``.

    A tensor already on a device keeps it unless ``device`` is given; numpy arrays are converted once.
    When the conversion changes the dtype, the dtype of the input is remembered (:func:`source_dtype`).
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (np.ndarray, list, tuple, float, int, np.number, np.bool_)):
        try:
            t = torch.as_tensor(np.asarray(x), device="cpu")  # host data: never the default device (meta, CUDA)
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:  # ragged lists, objects, strings
            raise TypeError(f"{name}: cannot convert to a tensor ({exc})") from exc
    else:
        raise TypeError(f"{name}: expected a torch.Tensor, numpy array or sequence, got {type(x).__name__}")
    if not (t.dtype.is_floating_point or t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {t.dtype}")
    src = source_dtype(t)
    out = t.to(dtype=dtype, device=device if device is not None else t.device)
    if src != out.dtype and out is not t:
        try:
            setattr(out, _SOURCE_DTYPE, src)
        except (AttributeError, RuntimeError):  # pragma: no cover - exotic tensor subclasses
            pass
    return out


def source_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype ``x`` had before :func:`as_tensor` converted it (``x.dtype`` if it was not converted)."""
    return getattr(x, _SOURCE_DTYPE, x.dtype)


def _eps(dtype: torch.dtype) -> float:
    """Machine epsilon of a floating dtype; integers and booleans are exact (float64's epsilon)."""
    return torch.finfo(dtype).eps if dtype.is_floating_point else torch.finfo(DTYPE).eps


def probability_tolerance(n: int, dtype: torch.dtype, atol: float = 1e-8) -> float:
    r"""Tolerance on |Σ_i p_i − 1| for a probability vector of ``n`` entries normalised in ``dtype``:

    .. math:: \max\big(\mathrm{atol},\ 10\sqrt n\,\varepsilon_{\rm dtype}\big),

    since rounding the n entries (and the normaliser) adds errors of size ε whose sum grows like √n·ε.
    For float64 input and n < 10^{10} this is ``atol``; for float32 with n = 4 it is ≈ 2.4e-6.
    """
    return max(float(atol), 10.0 * math.sqrt(max(int(n), 1)) * _eps(dtype))


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or ±inf; return ``x``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).nonzero()[0].tolist()
        raise ValueError(f"{name}: contains NaN or inf (first at index {tuple(bad)})")
    return x


def no_transform_active() -> bool:
    """True when neither a torch.func transform (vmap, grad, jacrev, jvp, ...) nor a forward-mode AD level is active:
    only then may a computation leave torch for numpy/LAPACK (a forward-mode dual tensor has ``requires_grad`` False,
    and a tensor inside ``jacrev`` over another argument is plain — neither says a derivative flows through it)."""
    return torch._C._functorch.peek_interpreter_stack() is None and torch.autograd.forward_ad._current_level < 0


def plain_host_tensor(*tensors: torch.Tensor) -> bool:
    """Every tensor a plain CPU ``torch.Tensor`` that needs no derivative, outside any transform: numpy may share it."""
    return no_transform_active() and all(
        type(t) is torch.Tensor and t.device.type == "cpu" and not t.requires_grad for t in tensors)


def check_probabilities(x: torch.Tensor, name: str, *, atol: float = 1e-8, input_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Check that the last axis of ``x`` is a probability vector (non-negative, sums to 1); return it.

    The tolerance on each row sum is :func:`probability_tolerance` for the precision the input was given in
    (``input_dtype``, default :func:`source_dtype` of ``x``), so that a float32-normalised distribution
    converted to float64 passes. Such lower-precision rows are renormalised in ``x``'s dtype before they are
    returned (use the return value); float64 input is returned unchanged.
    """
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least one dimension, got a scalar")
    if x.shape[-1] == 0:
        raise ValueError(f"{name}: the probability axis is empty")
    src = source_dtype(x) if input_dtype is None else input_dtype
    if x.numel() and x.dtype.is_floating_point and _eps(src) <= _eps(x.dtype):
        # fast path (one device sync; the issue-17 small-S overhead): a NaN fails min ≥ 0 (min propagates NaN), +inf
        # fails the row-sum test; any failure falls through to the checks below, which name the problem
        tol = probability_tolerance(x.shape[-1], src, atol)
        if plain_host_tensor(x) and x.dtype != torch.bfloat16 and not x.is_neg():
            xn = x.numpy()  # shares memory; numpy's reductions cost ~1 µs where torch's dispatch costs ~5
            if xn.min() >= 0 and np.abs(xn.sum(-1) - 1).max() <= tol:
                return x
        elif bool((x.min() >= 0) & ((x.sum(-1) - 1).abs().max() <= tol)):
            return x
    check_finite(x, name)
    if bool((x < 0).any()):
        bad = (x < 0).nonzero()[0].tolist()
        raise ValueError(f"{name}: negative probability {x[tuple(bad)].item():.3g} at index {tuple(bad)}")
    tol = probability_tolerance(x.shape[-1], src, atol)
    if x.numel() == 0:
        return x
    sums = x.sum(-1, dtype=x.dtype if x.dtype.is_floating_point else DTYPE)
    err = (sums - 1).abs()
    if bool((err > tol).any()):
        i = int(err.reshape(-1).argmax())
        idx = np.unravel_index(i, tuple(sums.shape)) if sums.ndim else ()
        raise ValueError(
            f"{name}: rows must sum to 1 within {tol:.3g} (the tolerance for input dtype {src} and "
            f"{x.shape[-1]} entries), but the row at index {tuple(int(j) for j in idx)} sums to "
            f"{sums.reshape(-1)[i].item():.12g}"
        )
    if x.dtype.is_floating_point and _eps(src) > _eps(x.dtype):
        x = x / sums.unsqueeze(-1)  # lower-precision input: renormalise in the working precision
    return x


def check_discount(gamma: Any, name: str = "discount") -> float:
    """Return ``gamma`` as a float after checking 0 <= gamma < 1."""
    if isinstance(gamma, (bool, str, bytes)):
        raise TypeError(f"{name}: expected a real number, got {type(gamma).__name__}")
    try:
        g = float(gamma)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name}: expected a real number, got {type(gamma).__name__}") from exc
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


def check_real(x: Any, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``x`` as a finite float after checking ``low <= x <= high`` (``<`` where the end is open).

    Accepts Python and numpy reals and one-element tensors; ``bool`` and strings raise ``TypeError``.
    """
    if isinstance(x, (bool, np.bool_)) or isinstance(x, (str, bytes)):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    if isinstance(x, torch.Tensor):
        if x.numel() != 1 or x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name}: expected a real number, got a tensor of shape {tuple(x.shape)} and dtype {x.dtype}")
        x = x.item()
    elif isinstance(x, np.ndarray):
        if x.size != 1 or x.dtype.kind not in "iuf":
            raise TypeError(f"{name}: expected a real number, got an array of shape {x.shape} and dtype {x.dtype}")
        x = x.reshape(()).item()
    try:
        v = float(x)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad and high is None and low == 0:
        raise ValueError(f"{name}: must be {'positive' if low_open else 'non-negative'}, got {v:g}")
    if lo_bad or hi_bad:
        lb = "-inf" if low is None else f"{low:g}"
        hb = "inf" if high is None else f"{high:g}"
        rng = f"{'(' if low_open or low is None else '['}{lb}, {hb}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name}: must lie in {rng}, got {v:g}")
    return v


def check_shape(x: torch.Tensor, name: str, expected: tuple[int, ...], what: str = "") -> torch.Tensor:
    """Raise ``ValueError`` (naming ``name``, the expected and the given shape) unless ``x.shape == expected``."""
    if tuple(x.shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {what + ' = ' if what else ''}{tuple(expected)}, got {tuple(x.shape)}")
    return x


def check_mask(mask: Any, name: str = "mask") -> torch.Tensor:
    """A token mask as a bool tensor: bool input, or 0/1 numbers; anything else raises naming ``name``."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name}: expected a boolean mask (or 0/1 entries), got dtype {mask.dtype} with other values")
    return mask != 0


def check_finite_result(out: torch.Tensor, inputs: str, what: str) -> torch.Tensor:
    """Guard on an output: raise ``ValueError`` naming the ``inputs`` it came from if it holds NaN or inf.

    Finite inputs can still overflow float64 (e.g. e^ℓ for a log-ratio ℓ > 709); this turns that into a named error.
    """
    if out.numel() and not bool(torch.isfinite(out).all()):
        bad = (~torch.isfinite(out)).nonzero()[0].tolist()
        raise ValueError(f"{inputs}: the {what} is not finite at index {tuple(bad)} (float64 overflow or 0/0 on extreme input)")
    return out
