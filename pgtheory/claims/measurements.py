r"""A claim's stored measurements: the arrays and scalars its figure is drawn from, as one ``.npz`` (issue 16).

Measure → decide → draw: a claim that declares ``Claim.draw`` returns ``Evidence.measurements`` (a possibly nested
dict of numpy arrays, torch tensors, numbers, strings and lists of them); the runner stores them next to the record
and draws the figure *from the stored file*, so that ``pgtheory figures`` redraws exactly the same figure later
without running the claim. Nested keys are joined with ``/`` in the file; :func:`load_measurements` restores the
nesting, with 0-d arrays back as Python scalars. Files are written atomically and read with ``allow_pickle=False``
(no code runs on load).
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["save_measurements", "load_measurements", "flatten_measurements"]

SEP = "/"


def _as_array(key: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except ValueError:  # numpy ≥ 1.24 refuses ragged nested lists outright
        arr = np.empty(0, dtype=object)
    if arr.dtype == object:
        raise TypeError(f"measurements: {key!r} is not an array of numbers or strings (ragged lists or objects "
                        f"cannot be stored without pickling); store each part under its own key")
    return arr


def flatten_measurements(m: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """``{"a": {"b": x}}`` → ``{"a/b": array(x)}``; keys must be non-empty strings without ``/``."""
    if not isinstance(m, Mapping):
        raise TypeError(f"measurements: expected a dict, got {type(m).__name__}")
    out: dict[str, np.ndarray] = {}
    for k, v in m.items():
        if not isinstance(k, str) or not k or SEP in k:
            raise ValueError(f"measurements: keys must be non-empty strings without {SEP!r}, got {k!r} under {prefix!r}")
        key = f"{prefix}{SEP}{k}" if prefix else k
        if isinstance(v, Mapping):
            if not v:
                raise ValueError(f"measurements: {key!r} is an empty dict (nothing to store)")
            out.update(flatten_measurements(v, key))
        else:
            out[key] = _as_array(key, v)
    return out


def save_measurements(path: str | Path, m: Mapping[str, Any]) -> Path:
    """Write ``m`` to ``path`` (``.npz``) atomically; returns the path."""
    flat = flatten_measurements(m)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **flat)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_measurements(path: str | Path) -> dict[str, Any]:
    """The nested dict :func:`save_measurements` wrote (arrays; 0-d arrays as Python scalars)."""
    out: dict[str, Any] = {}
    with np.load(Path(path), allow_pickle=False) as z:
        for key in z.files:
            arr = z[key]
            value = arr.item() if arr.ndim == 0 else arr
            node = out
            *parents, leaf = key.split(SEP)
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
    return out
