"""Name → estimator registries: one short name per estimator, looked up by string (no if/else chains).

Keyword arguments are checked centrally. A registered function states its own hyper-parameters as named
parameters — ``**kwargs`` is refused at registration, so nothing is silently swallowed — and
:meth:`Registry.call` rejects a keyword the chosen entry does not take with a ``TypeError`` that names the
keyword and lists the ones it accepts (a misspelt ``basline=`` is an error, not "no baseline").
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Generic, Mapping, TypeVar

F = TypeVar("F", bound=Callable)

__all__ = ["Registry", "keyword_parameters", "check_keywords"]


def _signature(fn: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature
        return None


def keyword_parameters(fn: Callable, n_positional: int = 0) -> tuple[str, ...]:
    """Names ``fn`` accepts as keywords once its first ``n_positional`` parameters are given positionally."""
    sig = _signature(fn)
    if sig is None:
        return ()
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind == p.POSITIONAL_OR_KEYWORD and i < n_positional:
            continue
        out.append(p.name)
    return tuple(out)


def check_keywords(fn: Callable, kwargs: Mapping[str, Any], where: str, n_positional: int = 0) -> None:
    """Raise ``TypeError`` for a keyword in ``kwargs`` that ``fn`` does not take, or a required one that is missing.

    The message names the keyword, ``where`` it was passed, and the accepted keywords.
    """
    sig = _signature(fn)
    if sig is None or any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    accepted = keyword_parameters(fn, n_positional)
    listing = ", ".join(accepted) if accepted else "none"
    for k in kwargs:
        if k not in accepted:
            raise TypeError(f"{k}: unexpected keyword argument for {where}; accepted keywords: {listing}")
    for i, p in enumerate(sig.parameters.values()):
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and i < n_positional
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and not positional and p.name not in kwargs:
            raise TypeError(f"{p.name}: required keyword argument of {where} is missing; accepted keywords: {listing}")


class Registry(Generic[F]):
    """A dictionary of named functions with a decorator to fill it, a helpful lookup error and checked calls."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            if name in self._items:
                raise ValueError(f"name: {self.kind} {name!r} is already registered")
            if inspect.isfunction(fn) or inspect.ismethod(fn):
                sig = _signature(fn)
                if sig is not None and any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
                    raise TypeError(f"fn: {self.kind} {name!r} takes **kwargs; name its keyword parameters instead "
                                    "(unknown keywords must raise, not be swallowed)")
            self._items[name] = fn
            return fn

        return deco

    def get(self, name: str, arg: str = "name") -> F:
        """The entry called ``name``; an unknown one raises ``ValueError`` naming ``arg`` (the caller's argument)."""
        try:
            return self._items[name]
        except KeyError:
            raise ValueError(f"{arg}: unknown {self.kind} {name!r}; known: {', '.join(sorted(self._items))}") from None
        except TypeError:  # unhashable name
            raise TypeError(f"{arg}: expected a string naming a {self.kind}, got {type(name).__name__}") from None

    def accepted_keywords(self, name: str, n_positional: int) -> tuple[str, ...]:
        """The keywords entry ``name`` takes after ``n_positional`` positional arguments."""
        return keyword_parameters(self.get(name), n_positional)

    def resolve(self, name: str, kwargs: Mapping[str, Any], n_positional: int, arg: str = "name") -> F:
        """The entry ``name`` after checking it takes every keyword in ``kwargs`` (and gets its required ones)."""
        fn = self.get(name, arg)
        check_keywords(fn, kwargs, f"{self.kind} {name!r}", n_positional=n_positional)
        return fn

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``get(name)(*args, **kwargs)`` after checking every keyword is one the entry takes (``TypeError`` otherwise)."""
        return self.resolve(name, kwargs, len(args))(*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(self.names())
