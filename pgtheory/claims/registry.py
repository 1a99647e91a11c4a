"""The registry of claims (filled by importing :mod:`pgtheory.claims.library`)."""
from __future__ import annotations

import inspect

from .._registry import Registry
from .record import Claim

__all__ = ["CLAIMS", "ENTRY_POINT_GROUP", "register_claim", "all_claims", "load_claims"]

#: the entry-point group through which other packages register claims (``[project.entry-points."pgtheory.claims"]``)
ENTRY_POINT_GROUP = "pgtheory.claims"
_loaded = False  #: the entry points were loaded (once per process)

CLAIMS: Registry[Claim] = Registry("claim")


def register_claim(claim: Claim) -> Claim:
    CLAIMS.register(claim.id)(claim)
    return claim


def load_claims() -> None:
    """Register the built-in claims and those of installed packages (entry-point group :data:`ENTRY_POINT_GROUP`).

    An entry point names a module (importing it registers its claims with :func:`register_claim`) or an object: a
    :class:`Claim` or a list or tuple of them, registered here. Third-party claims pass through the same
    :class:`Claim` validation and, when run, the same protocol as built-in ones. A plugin that fails to load raises
    an ImportError naming its entry point.
    """
    global _loaded
    from . import library  # noqa: F401  (registers every built-in claim)

    if _loaded:
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - re-raised with the plugin's name
            raise ImportError(f"pgtheory.claims entry point {ep.name!r} ({ep.value}) failed to load: {e}") from e
        if isinstance(obj, Claim):
            obj = [obj]
        if not inspect.ismodule(obj):  # a module registered its claims on import; anything else lists them
            items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
            for c in items:
                if not isinstance(c, Claim):
                    raise TypeError(f"pgtheory.claims entry point {ep.name!r}: expected a module, a Claim or Claims, "
                                    f"got {type(c).__name__}")
                if c.id not in CLAIMS.names():
                    register_claim(c)
    _loaded = True


def all_claims() -> list[Claim]:
    """Every registered claim, built-in and from installed packages, sorted by id."""
    load_claims()
    return [CLAIMS.get(n) for n in CLAIMS.names()]
